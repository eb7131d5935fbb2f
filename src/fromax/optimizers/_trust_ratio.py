"""Layer-wise trust ratios: ``scale_by_trust_ratio``, LARS and LAMB.

Norms are whole-tensor Frobenius norms, computed as plain fused reductions
(``jnp.sum(x * x)``), as in Fromage: optax's ``safe_norm`` costs extra passes
that XLA:CPU runs poorly.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from fromax._core._bounds import NONNEGATIVE, UNIT_INTERVAL
from fromax._core._hyperparams import scheduled_transformation
from fromax._core._mask import MASK, resolve_mask
from fromax._core._numerics import safe_ratio, squared_norm
from fromax._core._registry import Flag, Hyperparameter, Number, declare, schedulable
from fromax._core._state_dtypes import MU_DTYPE, NU_DTYPE
from fromax._core._storage import StateDType, load, store, zeros_for_state
from fromax._core._transformation import GradientTransformation
from fromax._core._tree import compute_dtype, map_arrays
from fromax._core._types import Mask, PyTree, ScalarOrSchedule
from fromax.optimizers._adam_direction import (
    ADAM_MOMENTS,
    _direction,
    _hyper_step_scalars,
    _stored_moments,
    _zero_moments,
)
from fromax.transforms._building_blocks import momentum_update

__all__ = ["LarsState", "lamb", "lars", "scale_by_trust_ratio", "trust_ratio"]


def trust_ratio(
    param_norm: jax.Array,
    update_norm: jax.Array,
    trust_coefficient: float | jax.Array = 1.0,
    eps: float | jax.Array = 0.0,
) -> jax.Array:
    """``trust_coefficient * ||w|| / (||u|| + eps)``, or 1 where either norm is 0.

    A zero tensor (a zero-initialised bias) or a zero update has no relative
    scale; ratio 1 takes the plain step, as optax and the LAMB paper's
    reference do (a ratio of 0 would freeze a zero-initialised tensor).

    Args:
        param_norm: ``||w||``, a scalar.
        update_norm: the norm the ratio divides by, a scalar.
        trust_coefficient, eps: scalars.

    Returns:
        The ratio, a scalar.

    Example:
        >>> import jax.numpy as jnp, fromax
        >>> float(fromax.trust_ratio(jnp.float32(3.0), jnp.float32(6.0))), float(
        ...     fromax.trust_ratio(jnp.float32(0.0), jnp.float32(6.0)))
        (0.5, 1.0)
    """
    relative = (param_norm > 0) & (update_norm > 0)
    return safe_ratio(trust_coefficient * param_norm, update_norm + eps, relative, 1)


_TRUST_COEFFICIENT = Hyperparameter(
    "trust_coefficient", Number(NONNEGATIVE), "the trust ratio's multiplier"
)
_TRUST_EPS = Hyperparameter("eps", Number(NONNEGATIVE), "added to the ratio's denominator")


@declare(
    Hyperparameter("min_norm", Number(NONNEGATIVE), "a floor on both norms"),
    _TRUST_COEFFICIENT,
    _TRUST_EPS,
    summary="scales each tensor's update by its trust ratio ||w|| / ||u||, a building block",
    role="transform",
)
def scale_by_trust_ratio(
    min_norm: ScalarOrSchedule = 0.0,
    trust_coefficient: ScalarOrSchedule = 1.0,
    eps: ScalarOrSchedule = 0.0,
) -> GradientTransformation:
    """Scales each tensor's update by its trust ratio: a building block.

    For each tensor w with update u, with n_w = max(||w||, min_norm) and
    n_u = max(||u||, min_norm)::

        u <- u * trust_coefficient * n_w / (n_u + eps)    (u unchanged if n_w or n_u is 0)

    optax's ``scale_by_trust_ratio``, with its names and defaults.

    Args:
        min_norm: a floor on both norms, >= 0.
        trust_coefficient: the ratio's multiplier, >= 0.
        eps: added to the denominator, >= 0.

    Returns:
        A :class:`~fromax.GradientTransformation`. ``update`` needs ``params``.

    Example:
        >>> import jax.numpy as jnp, fromax
        >>> opt = fromax.scale_by_trust_ratio()
        >>> params = {"w": jnp.array([3.0, 4.0]), "b": jnp.zeros(2)}
        >>> grads = {"w": jnp.array([0.0, 10.0]), "b": jnp.ones(2)}
        >>> updates, _ = opt.update(grads, opt.init(params), params)
        >>> updates["w"], updates["b"]  # ||w|| = 5 = ||u'||; b is zero: unchanged
        (Array([0., 5.], dtype=float32), Array([1., 1.], dtype=float32))

    References:
        You, Gitman, Ginsburg, Large batch training of convolutional networks,
        2017 (arXiv 1708.03888).
    """

    def update(updates, state, params, hyper, step):
        del step
        floor, coefficient, eps = hyper["min_norm"], hyper["trust_coefficient"], hyper["eps"]

        def one(u, p):
            dtype = compute_dtype(p.dtype)
            x, w = u.astype(dtype), p.astype(dtype)
            w_norm = jnp.maximum(jnp.sqrt(squared_norm(w)), floor)
            u_norm = jnp.maximum(jnp.sqrt(squared_norm(x)), floor)
            return (x * trust_ratio(w_norm, u_norm, coefficient, eps)).astype(u.dtype)

        return map_arrays(one, updates, params, names=("updates", "params")), state

    return scheduled_transformation(
        "scale_by_trust_ratio",
        schedulable(
            "scale_by_trust_ratio",
            min_norm=min_norm,
            trust_coefficient=trust_coefficient,
            eps=eps,
        ),
        lambda params: None,
        update,
        needs_params=True,
    )


class LarsState(NamedTuple):
    """``lars``'s own state: the velocity of its momentum.

    Attributes:
        velocity: a pytree like the parameters in float32 (or wider).

    Example:
        >>> import jax.numpy as jnp, fromax
        >>> opt, params = fromax.lars(0.1, trust_coefficient=1.0), jnp.array([3.0, 4.0])
        >>> _, state = opt.update(jnp.array([0.0, 1.0]), opt.init(params), params)
        >>> state.inner.velocity  # -0.1 * (||w|| / ||g|| = 5) * g
        Array([ 0. , -0.5], dtype=float32)
    """

    velocity: PyTree


@declare(
    Hyperparameter("learning_rate", Number(NONNEGATIVE), "eta, the step size"),
    Hyperparameter("weight_decay", Number(NONNEGATIVE), "added to the gradient, times w"),
    Hyperparameter(
        "weight_decay_mask",
        MASK,
        "True where the decay applies",
        optional=True,
        none_means="every tensor",
    ),
    _TRUST_COEFFICIENT,
    _TRUST_EPS,
    Hyperparameter(
        "trust_ratio_mask",
        MASK,
        "True where the trust ratio applies",
        optional=True,
        none_means="every tensor",
    ),
    Hyperparameter("momentum", Number(UNIT_INTERVAL), "the velocity's decay"),
    Hyperparameter("nesterov", Flag(), "Nesterov's look-ahead"),
    MU_DTYPE,
    summary=(
        "LARS: momentum SGD with a per-tensor trust ratio, the paper's denominator "
        "||g|| + wd ||w|| (You, Gitman, Ginsburg, arXiv 1708.03888)"
    ),
)
def lars(
    learning_rate: ScalarOrSchedule,
    weight_decay: ScalarOrSchedule = 0.0,
    weight_decay_mask: Mask = True,
    trust_coefficient: ScalarOrSchedule = 0.001,
    eps: ScalarOrSchedule = 0.0,
    trust_ratio_mask: Mask = True,
    momentum: ScalarOrSchedule = 0.9,
    nesterov: bool = False,
    *,
    mu_dtype: StateDType = None,
) -> GradientTransformation:
    """LARS: momentum SGD with a layer-wise trust ratio, every hyperparameter schedulable.

    For each tensor w with gradient g and values at step t (the paper's
    Algorithm 1, with optax's names)::

        lambda = trust_coefficient * ||w|| / (||g|| + weight_decay * ||w|| + eps)
        v <- momentum * v - eta_t * lambda * (g + weight_decay * w)
        w <- w + v      (nesterov: w + momentum * v - eta_t * lambda * (g + weight_decay * w))

    Choices, and where they differ from optax 0.2.8's ``lars``:

    - The denominator is the paper's ``||g|| + weight_decay * ||w||``; optax
      uses ``||g + weight_decay * w||``, which is smaller when g and w are not
      aligned. The two agree when ``weight_decay = 0``.
    - Every tensor gets the trust ratio and the decay by default (optax's
      defaults too); many LARS recipes exclude biases and normalisation
      gains: pass ``trust_ratio_mask`` and ``weight_decay_mask`` (pytrees
      of bools or callables ``params -> bools``) to do so. Tensors outside
      ``trust_ratio_mask`` take ``lambda = 1``.
    - Zero norms: if ``||w|| = 0`` or the denominator is 0, ``lambda = 1``
      (as optax); note that this is the plain step, not ``trust_coefficient``
      times it.
    - The velocity is float32 (or wider) and accumulates learning-rate-scaled
      steps, so a scheduled learning rate does not rescale past steps.

    PyTorch has no LARS.

    Args:
        learning_rate: eta, >= 0.
        weight_decay: >= 0.
        weight_decay_mask: True (every tensor), or a pytree of bools / a
            callable ``params -> pytree of bools``.
        trust_coefficient: >= 0; the paper's 0.001.
        eps: added to the ratio's denominator, >= 0.
        trust_ratio_mask: like ``weight_decay_mask``, for the trust ratio.
        momentum: in [0, 1].
        nesterov: Nesterov's look-ahead.
        mu_dtype: the velocity's storage dtype: None (float32, or the
            parameters' dtype if wider), a float dtype or its name, or
            :class:`~fromax.StochasticRounding`; the maths stays in float32.

    Returns:
        A :class:`~fromax.GradientTransformation`. ``update`` needs ``params``.

    Example:
        >>> import jax, jax.numpy as jnp, fromax
        >>> opt = fromax.lars(fromax.schedules.cosine_decay(20.0, 300), trust_coefficient=0.01)
        >>> params = jnp.array([1.0, -2.0])
        >>> state = opt.init(params)
        >>> loss = lambda p: jnp.sum((p - 3.0) ** 2)
        >>> for _ in range(300):
        ...     updates, state = opt.update(jax.grad(loss)(params), state, params)
        ...     params = fromax.apply_updates(params, updates)
        >>> bool(loss(params) < 1e-3)
        True

    References:
        You, Gitman, Ginsburg, Large batch training of convolutional networks,
        2017 (arXiv 1708.03888).
    """
    nesterov = bool(nesterov)

    def update(updates, state, params, hyper, step):
        lr, decay = hyper["learning_rate"], hyper["weight_decay"]
        coefficient, eps, mu = hyper["trust_coefficient"], hyper["eps"], hyper["momentum"]
        decay_on = resolve_mask(weight_decay_mask, params, "weight_decay_mask", "lars")
        ratio_on = resolve_mask(trust_ratio_mask, params, "trust_ratio_mask", "lars")

        def one(g, p, v, decays, scales):
            dtype = v.dtype
            w, x = p.astype(dtype), g.astype(dtype)
            scale = lr
            if scales:
                w_norm = jnp.sqrt(squared_norm(w))
                denominator = jnp.sqrt(squared_norm(x))
                if decays:
                    denominator = denominator + decay * w_norm
                scale = lr * trust_ratio(w_norm, denominator, coefficient, eps)
            # The norms and the scale are real; the update keeps v's dtype (complex
            # for a complex parameter).
            u = x + decay.astype(dtype) * w if decays else x
            direction, v = momentum_update(-scale.astype(dtype) * u, v, mu, nesterov)
            return direction.astype(p.dtype), v

        new, velocity = map_arrays(
            one,
            updates,
            params,
            load(state.velocity, updates),
            per_tensor=(decay_on, ratio_on),
            names=(
                "updates",
                "params",
                "state.velocity",
                "weight_decay_mask",
                "trust_ratio_mask",
            ),
            outputs=2,
        )
        return new, LarsState(store(velocity, mu_dtype, step=step, salt=0))

    return scheduled_transformation(
        "lars",
        schedulable(
            "lars",
            learning_rate=learning_rate,
            weight_decay=weight_decay,
            trust_coefficient=trust_coefficient,
            eps=eps,
            momentum=momentum,
        ),
        lambda params: LarsState(zeros_for_state(params, mu_dtype)),
        update,
        needs_params=True,
    )


@declare(
    Hyperparameter("learning_rate", Number(NONNEGATIVE), "eta, the step size"),
    *ADAM_MOMENTS,
    Hyperparameter("weight_decay", Number(NONNEGATIVE), "added to Adam's direction, times w"),
    Hyperparameter(
        "mask", MASK, "True where the decay applies", optional=True, none_means="every tensor"
    ),
    MU_DTYPE,
    NU_DTYPE,
    summary=(
        "LAMB: Adam's direction with a per-tensor trust ratio, phi = identity "
        "(You et al., ICLR 2020, arXiv 1904.00962)"
    ),
)
def lamb(
    learning_rate: ScalarOrSchedule,
    b1: ScalarOrSchedule = 0.9,
    b2: ScalarOrSchedule = 0.999,
    eps: ScalarOrSchedule = 1e-6,
    eps_root: ScalarOrSchedule = 0.0,
    weight_decay: ScalarOrSchedule = 0.0,
    mask: Mask = None,
    *,
    mu_dtype: StateDType = None,
    nu_dtype: StateDType = None,
) -> GradientTransformation:
    """LAMB: Adam's direction with a layer-wise trust ratio, every hyperparameter schedulable.

    For each tensor w, with Adam's direction r (see :func:`adam_direction`)
    and values at step t (the paper's Algorithm 2)::

        u = r + weight_decay * w            (weight_decay only where mask is True)
        w <- w - eta_t * (||w|| / ||u||) * u

    Choices: phi is the identity (the paper's experiments; some
    implementations clamp ``||w||`` to [0, 10], which changes large
    tensors' steps); if ``||w|| = 0`` or ``||u|| = 0`` the ratio is 1 (a
    zero-initialised bias takes Adam's step). Both as optax's ``lamb``,
    whose names and defaults (eps = 1e-6) these are. Moments are float32 (or
    wider) whatever the parameters' dtype unless ``mu_dtype`` / ``nu_dtype``
    ask for less, and ``1 - b**t`` is computed
    without float32 cancellation.

    Args:
        learning_rate: eta, >= 0.
        b1, b2, eps, eps_root: as in :func:`~fromax.adam`.
        weight_decay: >= 0.
        mask: None (decay every tensor), a pytree of bools or a callable
            ``params -> pytree of bools``.
        mu_dtype, nu_dtype: the moments' storage dtypes, as in :func:`~fromax.adam`.

    Returns:
        A :class:`~fromax.GradientTransformation`. ``update`` needs ``params``.

    Example:
        >>> import jax.numpy as jnp, fromax
        >>> opt = fromax.lamb(fromax.schedules.cosine_decay(0.1, 300))
        >>> params = jnp.array([3.0, -4.0])
        >>> updates, state = opt.update(jnp.array([1.0, 0.5]), opt.init(params), params)
        >>> updates  # Adam's first direction is sign(g), rescaled to eta_0 ||w|| = 0.1 * 5
        Array([-0.35355..., -0.35355...], dtype=float32)
        >>> round(float(jnp.linalg.norm(updates)), 6)
        0.5

    References:
        You, Li, Reddi, Hseu, Kumar, Bhojanapalli, Song, Demmel, Keutzer,
        Hsieh, Large batch optimization for deep learning: training BERT in 76
        minutes, ICLR 2020 (arXiv 1904.00962).
    """

    def update(updates, state, params, hyper, step):
        lr, decay = hyper["learning_rate"], hyper["weight_decay"]
        decay_on = resolve_mask(mask, params, "mask", "lamb")
        scalars = _hyper_step_scalars(hyper, step, False)

        def one(g, p, m, v, decays):
            r, m, v = _direction(g, m, v, scalars)
            w = p.astype(r.dtype)
            u = r + decay.astype(r.dtype) * w if decays else r
            w_norm = jnp.sqrt(squared_norm(w))
            u_norm = jnp.sqrt(squared_norm(u))
            # The norms are real; the step takes the update's dtype (complex for a
            # complex parameter).
            scale = (-lr * trust_ratio(w_norm, u_norm)).astype(u.dtype)
            return (scale * u).astype(p.dtype), m, v

        new, mu, nu = map_arrays(
            one,
            updates,
            params,
            load(state.mu, updates),
            load(state.nu, updates),
            per_tensor=(decay_on,),
            names=("updates", "params", "state.mu", "state.nu", "mask"),
            outputs=3,
        )
        return new, _stored_moments(mu, nu, mu_dtype, nu_dtype, step)

    return scheduled_transformation(
        "lamb",
        schedulable(
            "lamb",
            learning_rate=learning_rate,
            b1=b1,
            b2=b2,
            eps=eps,
            eps_root=eps_root,
            weight_decay=weight_decay,
        ),
        lambda params: _zero_moments(params, mu_dtype, nu_dtype),
        update,
        needs_params=True,
    )
