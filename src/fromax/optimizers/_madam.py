"""Madam: multiplicative weight updates (Bernstein et al., NeurIPS 2020)."""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from fromax._core._bounds import DECAY_RATE, NONNEGATIVE, POSITIVE
from fromax._core._hyperparams import scheduled_transformation
from fromax._core._numerics import bias_correction, divide_by_root
from fromax._core._registry import Hyperparameter, Number, declare, schedulable
from fromax._core._state_dtypes import NU_DTYPE
from fromax._core._storage import StateDType, load, store, zeros_for_state
from fromax._core._transformation import GradientTransformation
from fromax._core._tree import compute_dtype, map_arrays
from fromax._core._types import Params, PyTree, ScalarOrSchedule, Updates

__all__ = ["MadamState", "madam"]


class MadamState(NamedTuple):
    """Madam's own state: the second moments, and the scale that bounds each tensor.

    Attributes:
        second_moments: v, like the parameters, in float32 (or wider).
        initial_rms: per tensor, the float32 RMS of the initial tensor.

    Example:
        >>> import jax.numpy as jnp, fromax
        >>> fromax.madam().init({'w': jnp.array([3.0, -4.0])}).inner.initial_rms  # sqrt(12.5)
        {'w': Array(3.535534, dtype=float32)}
    """

    second_moments: PyTree
    initial_rms: PyTree


def _madam_update(grad, second_moment, param, initial_rms, lr, beta, p_scale, g_bound, correction):
    dtype = compute_dtype(param.dtype)
    w = param.astype(dtype)
    g = grad.astype(dtype)
    new_moment = beta * second_moment + (1 - beta) * g * g
    corrected = new_moment / correction.astype(dtype)
    # 0/0 -> 0: an entry whose gradients have all been zero does not move.
    normalised = divide_by_root(g, corrected)
    normalised = jnp.clip(normalised, -g_bound, g_bound)
    # w exp(x) - w = w expm1(x), without cancellation for small steps.
    change = w * jnp.expm1(-lr * normalised * jnp.sign(w))
    bound = p_scale * initial_rms
    new_w = w + change
    clipped = jnp.abs(new_w) > bound
    change = jnp.where(clipped, jnp.sign(w) * bound - w, change)
    return change.astype(param.dtype), new_moment


@declare(
    Hyperparameter("learning_rate", Number(NONNEGATIVE), "lr: the multiplicative step"),
    Hyperparameter("p_scale", Number(POSITIVE), "the bound on |w|, in initial RMS units"),
    Hyperparameter("g_bound", Number(POSITIVE), "the bound on the normalised gradient"),
    Hyperparameter("beta", Number(DECAY_RATE), "the second moment's decay"),
    NU_DTYPE,
    summary=(
        "Madam: multiplicative steps, signs never flip, |w| bounded by p_scale times the "
        "initial RMS (Bernstein et al., NeurIPS 2020, arXiv 2006.14560)"
    ),
)
def madam(
    learning_rate: ScalarOrSchedule = 0.01,
    p_scale: ScalarOrSchedule = 3.0,
    g_bound: ScalarOrSchedule = 10.0,
    beta: ScalarOrSchedule = 0.999,
    *,
    nu_dtype: StateDType = None,
) -> GradientTransformation:
    """Madam: multiplicative steps on each weight's magnitude, its sign kept.

    For every array w with gradient g, at update t = 1, 2, ...::

        v <- beta v + (1 - beta) g**2                                  (v_0 = 0)
        h = clip(g / sqrt(v / (1 - beta**t)), -g_bound, g_bound)       (0/0 -> 0)
        w <- w * exp(-lr * h * sign(w))
        w <- clip(w, -bound, bound),  bound = p_scale * RMS(W_0)

    Signs never flip and zero entries stay zero, so initialise with
    nonzero values (a zero-initialised bias never moves under Madam).

    - ``RMS(W_0)`` is recorded per tensor at ``init``; the bound is
      ``p_scale_t * RMS(W_0)`` with the current ``p_scale``, so ``p_scale``
      may be scheduled. A tensor that starts at zero stays at zero.
    - ``w exp(x) - w`` is computed as ``w expm1(x)``, exact for small steps
      in float32.
    - With ``beta`` scheduled, the bias correction uses the current beta:
      ``1 - beta_t**t``.

    Args:
        learning_rate: lr >= 0, default 0.01 (the paper's).
        p_scale: > 0, the bound on |w| in units of the initial RMS, default 3.
        g_bound: > 0, the bound on the normalised gradient, default 10.
        beta: the second moment's decay in [0, 1), default 0.999.
        nu_dtype: the second moment's storage dtype: None (float32, or the
            parameters' dtype if wider), a float dtype or its name, or
            :class:`~fromax.StochasticRounding`; the maths stays in float32.

    Each is a number, a JAX scalar, a schedule or a callable ``step -> scalar``.

    Returns:
        A :class:`~fromax.GradientTransformation`. ``update`` needs ``params``.

    Example:
        >>> import jax.numpy as jnp, fromax
        >>> params = jnp.array([1.0, -1.0, 0.0])
        >>> opt = fromax.madam(learning_rate=0.5)
        >>> state = opt.init(params)
        >>> updates, state = opt.update(jnp.array([1.0, 1.0, 1.0]), state, params)
        >>> fromax.apply_updates(params, updates)  # exp(-0.5) and -exp(0.5)
        Array([ 0.60653067, -1.6487212 ,  0.        ], dtype=float32)

    References:
        Bernstein, Zhao, Meister, Liu, Anandkumar, Yue, Learning
        compositional functions via multiplicative weight updates, NeurIPS
        2020 (arXiv 2006.14560).
    """

    def init(params: Params) -> MadamState:
        def initial_rms(p):
            w = p.astype(compute_dtype(p.dtype))
            return jnp.sqrt(jnp.mean(w * w)).astype(jnp.float32)

        return MadamState(
            zeros_for_state(params, nu_dtype), map_arrays(initial_rms, params, names=("params",))
        )

    def update(
        updates: Updates, state: MadamState, params: Params, hyper: dict[str, jax.Array], step
    ):
        lr, beta_t = hyper["learning_rate"], hyper["beta"]
        p_scale_t, g_bound_t = hyper["p_scale"], hyper["g_bound"]
        correction = bias_correction(beta_t, step.astype(jnp.float32) + 1)  # once per step

        def one(g, v, p, r):
            return _madam_update(g, v, p, r, lr, beta_t, p_scale_t, g_bound_t, correction)

        new, moments = map_arrays(
            one,
            updates,
            load(state.second_moments, updates),
            params,
            per_tensor=(state.initial_rms,),
            names=("updates", "state.second_moments", "params", "state.initial_rms"),
            outputs=2,
        )
        return new, MadamState(store(moments, nu_dtype, step=step, salt=1), state.initial_rms)

    return scheduled_transformation(
        "madam",
        schedulable(
            "madam", learning_rate=learning_rate, p_scale=p_scale, g_bound=g_bound, beta=beta
        ),
        init,
        update,
        needs_params=True,
        complex_refused=(
            "its steps multiply each weight by exp(-lr h sign(w)); a complex number has no sign"
        ),
    )
