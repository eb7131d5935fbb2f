"""Fromage: Frobenius matched gradient descent (Bernstein et al., NeurIPS 2020)."""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from fromax._core._bounds import NONNEGATIVE, POSITIVE
from fromax._core._hyperparams import scheduled_transformation
from fromax._core._numerics import safe_ratio, squared_norm
from fromax._core._registry import Hyperparameter, Number, declare, schedulable
from fromax._core._transformation import GradientTransformation
from fromax._core._tree import compute_dtype, map_arrays
from fromax._core._types import Params, PyTree, ScalarOrSchedule, Updates

__all__ = ["FromageState", "fromage", "fromage_update"]


class FromageState(NamedTuple):
    """Fromage's own state: each tensor's initial norm, kept only for ``p_bound``.

    Attributes:
        initial_norms: a pytree like the parameters of float32 scalars
            ``||W_0||``, or None when ``p_bound`` is off.

    Example:
        >>> import jax.numpy as jnp, fromax
        >>> fromax.fromage(0.01, p_bound=2.0).init({'w': jnp.array([3.0, 4.0])}).inner
        FromageState(initial_norms={'w': Array(5., dtype=float32)})
    """

    initial_norms: PyTree


def fromage_update(
    param: jax.Array,
    grad: jax.Array,
    learning_rate: jax.Array,
    initial_norm: jax.Array | None = None,
    p_bound: jax.Array | None = None,
) -> jax.Array:
    """Fromage's update for one tensor: the new tensor minus the old one.

    The paper's step, with eta = ``learning_rate``::

        W_new = (W - eta * (||W|| / ||g||) * g) / sqrt(1 + eta**2)

    returned as ``W_new - W = (m - 1) W - eta m r g`` with m = 1/sqrt(1 + eta**2)
    and r = ||W|| / ||g||. ``m - 1`` is computed as
    ``-eta**2 / (sqrt(1 + eta**2) (1 + sqrt(1 + eta**2)))``, which float32 does
    not cancel (``1/sqrt(1 + eta**2) - 1`` is exactly 0 for eta <= 3e-4).

    If ``||W|| = 0`` or ``||g|| = 0`` the relative step is undefined and r = 1
    (the paper's plain step), the prefactor still applied. With ``p_bound``
    and ``initial_norm > 0``, a W_new whose norm exceeds ``p_bound *
    initial_norm`` is scaled back to that norm; a tensor with
    ``initial_norm = 0`` is not bounded (its bound would pin it at zero).

    The maths runs in float32 (or the tensor's dtype if wider); the update is
    returned in the tensor's dtype.

    Args:
        param: W.
        grad: g, the same shape.
        learning_rate: eta, a scalar.
        initial_norm: ``||W_0||``, needed with ``p_bound``.
        p_bound: the bound on ``||W|| / ||W_0||``, or None.

    Returns:
        ``W_new - W``, in ``param``'s dtype.

    Example:
        >>> import jax.numpy as jnp, fromax
        >>> w, g = jnp.array([3.0, 4.0]), jnp.array([0.0, 1.0])
        >>> fromax.fromage_update(w, g, jnp.float32(0.1))
        Array([-0.01489..., -0.51737...], dtype=float32)
    """
    dtype = compute_dtype(param.dtype)
    w = param.astype(dtype)
    g = grad.astype(dtype)
    eta = jnp.asarray(learning_rate).astype(dtype)

    w_sq, g_sq = squared_norm(w), squared_norm(g)
    relative = (w_sq > 0) & (g_sq > 0)
    ratio = safe_ratio(jnp.sqrt(w_sq), jnp.sqrt(jnp.where(relative, g_sq, 1)), relative, 1)

    root = jnp.sqrt(1 + eta * eta)
    shrink = -(eta * eta) / (root * (1 + root))  # m - 1, without cancellation
    step = eta * ratio / root  # eta * m * r

    if p_bound is not None:
        if initial_norm is None:
            raise ValueError("fromage_update's p_bound needs initial_norm: pass ||W_0||")
        # ||W_new||^2 from the norms already taken: m^2 ||W - eta r g||^2.
        c = eta * ratio
        new_sq = (w_sq - 2 * c * jnp.sum(w * g) + c * c * g_sq) / (1 + eta * eta)
        new_norm = jnp.sqrt(jnp.maximum(new_sq, 0))
        limit = jnp.asarray(p_bound).astype(dtype) * initial_norm.astype(dtype)
        clipped = (initial_norm > 0) & (new_norm > limit)
        scale = safe_ratio(limit, new_norm, clipped, 1)
        scale_minus_1 = safe_ratio(limit - new_norm, new_norm, clipped, 0)
        # m * scale - 1 = (m - 1) * scale + (scale - 1)
        shrink = shrink * scale + scale_minus_1
        step = step * scale

    return (shrink * w - step * g).astype(param.dtype)


@declare(
    Hyperparameter("learning_rate", Number(NONNEGATIVE), "eta: the step, relative to ||W||"),
    Hyperparameter(
        "p_bound", Number(POSITIVE), "the largest ||W|| / ||W_0|| allowed", optional=True
    ),
    summary=(
        "Fromage: steps relative to each tensor's norm, exactly as in the paper "
        "(Bernstein et al., NeurIPS 2020, arXiv 2002.03432)"
    ),
)
def fromage(
    learning_rate: ScalarOrSchedule = 0.01, *, p_bound: ScalarOrSchedule | None = None
) -> GradientTransformation:
    """Fromage, exactly as in the paper, with any hyperparameter scheduled.

    For every tensor W (weights, biases and gains alike) with gradient g,
    using whole-tensor Frobenius norms and the learning rate eta_t of step t::

        W <- (W - eta_t * (||W|| / ||g||) * g) / sqrt(1 + eta_t**2)

    The same eta_t is used in the step and in the prefactor. Edge cases:

    - ``||W|| = 0`` or ``||g|| = 0``: the plain step ``(W - eta_t g) /
      sqrt(1 + eta_t**2)``, as in the paper's reference. A zero-initialised
      bias therefore moves (optax floors both norms and freezes it), and a
      tensor whose gradient is all zero shrinks by ``1/sqrt(1 + eta_t**2)``
      each step: mask frozen tensors out.
    - ``p_bound``: ``||W_0||`` is recorded at ``init``; after each step a
      tensor with ``||W|| > p_bound * ||W_0||`` is scaled back to that norm.
      A tensor that starts at zero has no bound (``p_bound * 0`` would pin it
      at zero for ever).
    - The shrink ``1/sqrt(1 + eta**2) - 1`` is computed without float32
      cancellation, so it is right at eta = 1e-4 (optax's is exactly 0).
    - Parameters of any float dtype: the maths in float32 (at least), the
      updates in the parameters' dtype.

    Args:
        learning_rate: eta, >= 0: a number, a JAX scalar, a schedule or a
            callable ``step -> scalar``. The authors use 0.01 (0.001 to
            fine-tune), decayed during training.
        p_bound: None (off), or the largest ``||W|| / ||W_0||`` allowed, > 0:
            a number or a schedule.

    Returns:
        A :class:`~fromax.GradientTransformation`. ``update`` needs ``params``.

    Example:
        >>> import jax, jax.numpy as jnp, fromax
        >>> from fromax import schedules
        >>> lr = schedules.warmup_cosine_decay(0.0, 0.01, warmup_steps=10, decay_steps=100)
        >>> opt = fromax.fromage(lr)
        >>> params = {"w": jnp.ones((2, 2)), "b": jnp.zeros(2)}
        >>> state = opt.init(params)
        >>> loss = lambda p: jnp.sum((p["w"] @ jnp.ones(2) + p["b"] - 1.0) ** 2)
        >>> @jax.jit
        ... def step(params, state):
        ...     updates, state = opt.update(jax.grad(loss)(params), state, params)
        ...     return fromax.apply_updates(params, updates), state
        >>> for _ in range(20):
        ...     params, state = step(params, state)
        >>> round(float(fromax.hyperparams(state)["learning_rate"]), 6)
        0.009755

    References:
        Bernstein, Vahdat, Yue, Liu, On the distance between two neural
        networks and the stability of learning, NeurIPS 2020 (arXiv 2002.03432).
    """

    def init(params: Params) -> FromageState:
        if p_bound is None:
            return FromageState(initial_norms=None)
        norms = map_arrays(
            lambda p: jnp.sqrt(squared_norm(p.astype(compute_dtype(p.dtype)))),
            params,
            names=("params",),
        )
        return FromageState(initial_norms=norms)

    def update(
        updates: Updates, state: FromageState, params: Params, hyper: dict[str, jax.Array], step
    ):
        del step
        lr, bound = hyper["learning_rate"], hyper.get("p_bound")
        norms: tuple[Any, ...] = ()
        names: tuple[str, ...] = ("updates", "params")
        if state.initial_norms is not None:  # p_bound is on
            norms, names = (state.initial_norms,), (*names, "state.initial_norms")
        new = map_arrays(
            lambda g, p, n=None: fromage_update(p, g, lr, n, bound),
            updates,
            params,
            per_tensor=norms,
            names=names,
        )
        return new, state

    return scheduled_transformation(
        "fromage",
        schedulable("fromage", learning_rate=learning_rate, p_bound=p_bound),
        init,
        update,
        needs_params=True,
        complex_refused="its step has not been checked against a complex reference yet",
    )
