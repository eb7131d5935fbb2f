"""RMSprop (Hinton's lecture notes), with Graves's centred variant and momentum."""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from fromax._core import _numerics
from fromax._core._bounds import NONNEGATIVE, UNIT_INTERVAL
from fromax._core._hyperparams import scheduled_transformation
from fromax._core._numerics import abs_squared
from fromax._core._registry import Flag, Hyperparameter, Number, Real, declare, schedulable
from fromax._core._state_dtypes import MU_DTYPE, NU_DTYPE
from fromax._core._storage import StateDType, load, storage_dtype, store, zeros_for_state
from fromax._core._transformation import GradientTransformation
from fromax._core._tree import compute_dtype, map_arrays
from fromax._core._types import Params, PyTree, ScalarOrSchedule, Updates

__all__ = ["RMSpropState", "rmsprop"]


class RMSpropState(NamedTuple):
    """RMSprop's own state, arrays like the parameters in float32 (or wider).

    Attributes:
        nu: the moving average of g**2.
        mu: the moving average of g (``centered=True``), else None.
        momentum: the momentum buffer (``momentum`` given), else None.

    Example:
        >>> import jax.numpy as jnp, fromax
        >>> fromax.rmsprop(0.1, initial_scale=1.0).init(jnp.zeros(2)).inner
        RMSpropState(nu=Array([1., 1.], dtype=float32), mu=None, momentum=None)
    """

    nu: PyTree
    mu: PyTree
    momentum: PyTree


def _rmsprop_update(
    grad, nu, mu, buffer, lr, decay, eps, momentum, correction, *, eps_in_sqrt, nesterov
):
    """One array's step; ``correction`` is ``1 - decay**t``, or None without bias correction."""
    dtype = compute_dtype(grad.dtype)
    # nu holds |g|**2 (real; as optax for a complex gradient), mu and the momentum
    # the gradient's own dtype: scalars are cast to each explicitly.
    real = nu.dtype
    g = grad.astype(dtype)
    new_nu = decay.astype(real) * nu + (1 - decay).astype(real) * abs_squared(g)
    variance = new_nu if correction is None else new_nu / correction.astype(real)
    new_mu = None
    if mu is not None:
        new_mu = decay.astype(dtype) * mu + (1 - decay).astype(dtype) * g
        mean = new_mu if correction is None else new_mu / correction.astype(dtype)
        # >= 0 in exact arithmetic; float rounding must not make sqrt NaN.
        variance = jnp.maximum(variance - abs_squared(mean), 0)
    if eps_in_sqrt:
        inverse = jax.lax.rsqrt(variance + eps.astype(real))
    else:
        inverse = 1 / (jnp.sqrt(variance) + eps.astype(real))
    scaled = lr.astype(dtype) * g * inverse.astype(dtype)
    new_buffer = None
    if buffer is not None:
        beta = momentum.astype(dtype)
        new_buffer = beta * buffer + scaled
        scaled = scaled + beta * new_buffer if nesterov else new_buffer
    return (-scaled).astype(grad.dtype), new_nu, new_mu, new_buffer


@declare(
    Hyperparameter("learning_rate", Number(NONNEGATIVE), "lr, the step size"),
    Hyperparameter("decay", Number(UNIT_INTERVAL), "the moving averages' decay"),
    Hyperparameter("eps", Number(NONNEGATIVE), "added to the mean square (or its root)"),
    Hyperparameter("initial_scale", Real(NONNEGATIVE), "the mean square's initial value"),
    Hyperparameter("eps_in_sqrt", Flag(), "whether eps goes inside the square root"),
    Hyperparameter("centered", Flag(), "subtract the squared mean gradient (Graves)"),
    Hyperparameter("momentum", Number(UNIT_INTERVAL), "the momentum's decay", optional=True),
    Hyperparameter("nesterov", Flag(), "Nesterov momentum (needs momentum)"),
    Hyperparameter("bias_correction", Flag(), "divide the moving averages by 1 - decay**t"),
    MU_DTYPE,
    NU_DTYPE,
    summary=(
        "RMSprop: the gradient over a moving RMS; centred, momentum, Nesterov and bias "
        "correction as options (Tieleman & Hinton 2012; Graves, arXiv 1308.0850)"
    ),
)
def rmsprop(
    learning_rate: ScalarOrSchedule,
    decay: ScalarOrSchedule = 0.9,
    eps: ScalarOrSchedule = 1e-8,
    initial_scale: float = 0.0,
    eps_in_sqrt: bool = True,
    centered: bool = False,
    momentum: ScalarOrSchedule | None = None,
    nesterov: bool = False,
    bias_correction: bool = False,
    *,
    mu_dtype: StateDType = None,
    nu_dtype: StateDType = None,
) -> GradientTransformation:
    """RMSprop: the gradient divided by a moving root mean square of past gradients.

    For every array with gradient g (t = 1, 2, ... counts the updates)::

        nu <- decay nu + (1 - decay) g**2                (nu_0 = initial_scale)
        mu <- decay mu + (1 - decay) g                   (centred only, mu_0 = 0)
        s = nu (- mu**2 if centred), both divided by 1 - decay**t with bias_correction
        u = lr g / sqrt(s + eps)       (eps_in_sqrt, the default)
        u = lr g / (sqrt(s) + eps)     (eps_in_sqrt=False)
        b <- momentum b + u;  u = b, or u + momentum b with nesterov   (momentum given)
        w <- w - u

    The arguments, defaults and order of operations are optax's, so results
    agree with ``optax.rmsprop``. As in optax the learning rate is applied
    before the momentum buffer; PyTorch applies it after (``b <- momentum b
    + g / sqrt(s)``, ``w <- w - lr b``), which differs only while the
    learning rate changes. PyTorch puts eps outside the square root
    (``eps_in_sqrt=False``). The centred variant is Graves (2013), eq. 38-41;
    its ``nu - mu**2`` is floored at 0, where rounding could make it
    slightly negative (optax would return NaN there).

    Args:
        learning_rate: lr >= 0.
        decay: the moving averages' decay in [0, 1], default 0.9.
        eps: >= 0, default 1e-8.
        initial_scale: nu's initial value, >= 0 (a number: it is used once, at
            ``init``).
        eps_in_sqrt: whether eps goes inside the square root.
        centered: subtract the square of the moving average of g (Graves).
        momentum: None (off), or the momentum in [0, 1].
        nesterov: Nesterov momentum (with ``momentum``).
        bias_correction: divide the moving averages by ``1 - decay**t``.
        mu_dtype: the storage dtype of the centred mean and the momentum
            buffer: None (float32, or the parameters' dtype if wider), a float
            dtype or its name, or :class:`~fromax.StochasticRounding`; the
            maths stays in float32.
        nu_dtype: nu's, likewise.

    ``learning_rate``, ``decay``, ``eps`` and ``momentum`` are each a number,
    a JAX scalar, a schedule or a callable ``step -> scalar``.

    Returns:
        A :class:`~fromax.GradientTransformation`.

    Example:
        >>> import jax.numpy as jnp, fromax
        >>> opt = fromax.rmsprop(0.1, decay=0.75, eps=0.0)
        >>> state = opt.init(jnp.zeros(2))
        >>> updates, state = opt.update(jnp.array([2.0, -1.0]), state)
        >>> updates  # -0.1 g / sqrt(0.25 g**2) = -0.2 sign(g)
        Array([-0.2,  0.2], dtype=float32)

    References:
        Tieleman and Hinton, Lecture 6.5, Neural Networks for Machine
        Learning (Coursera), 2012. Graves, Generating sequences with
        recurrent neural networks, 2013 (arXiv 1308.0850).
    """
    if nesterov and momentum is None:
        raise ValueError("rmsprop's nesterov=True needs a momentum: pass momentum=0.9, say")
    options = {"eps_in_sqrt": bool(eps_in_sqrt), "nesterov": bool(nesterov)}
    corrected = bool(bias_correction)

    def init(params: Params) -> RMSpropState:
        nu = map_arrays(
            lambda p: jnp.full_like(p, initial_scale, dtype=storage_dtype(nu_dtype, p, real=True)),
            params,
            names=("params",),
        )
        return RMSpropState(
            nu=nu,
            mu=zeros_for_state(params, mu_dtype) if centered else None,
            momentum=zeros_for_state(params, mu_dtype) if momentum is not None else None,
        )

    def update(
        updates: Updates, state: RMSpropState, params: Params, hyper: dict[str, jax.Array], step
    ):
        del params
        lr, decay_t, eps_t = hyper["learning_rate"], hyper["decay"], hyper["eps"]
        momentum_t = hyper.get("momentum")
        # Once per step, not per array.
        correction = (
            _numerics.bias_correction(decay_t, step.astype(jnp.float32) + 1) if corrected else None
        )
        trees = [updates, load(state.nu, updates)]
        names = ["updates", "state.nu"]
        for tree, name in ((state.mu, "state.mu"), (state.momentum, "state.momentum")):
            if tree is not None:
                trees.append(load(tree, updates))
                names.append(name)

        def one(g, nu, *rest):
            rest = list(rest)
            mu = rest.pop(0) if centered else None
            buffer = rest.pop(0) if momentum is not None else None
            return _rmsprop_update(
                g, nu, mu, buffer, lr, decay_t, eps_t, momentum_t, correction, **options
            )

        new, nu, mu, buffer = map_arrays(one, *trees, names=tuple(names), outputs=4)
        return new, RMSpropState(
            nu=store(nu, nu_dtype, step=step, salt=1),
            mu=store(mu, mu_dtype, step=step, salt=0) if centered else None,
            momentum=store(buffer, mu_dtype, step=step, salt=2) if momentum is not None else None,
        )

    return scheduled_transformation(
        "rmsprop",
        schedulable(
            "rmsprop", learning_rate=learning_rate, decay=decay, eps=eps, momentum=momentum
        ),
        init,
        update,
    )
