"""Nero: per-neuron relative steps on constrained neurons (Liu et al., ICML 2021)."""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from fromax._base import GradientTransformation
from fromax._hyperparams import NONNEGATIVE, Bounds, scheduled_transformation
from fromax._tree import compute_dtype, map_arrays

__all__ = ["NeroState", "nero", "nero_project"]

_BETA_BOUNDS = Bounds(minimum=0.0, maximum=1.0, exclusive_maximum=True)
_FALLBACK_SCALE = 0.01


class NeroState(NamedTuple):
    """Nero's own state.

    Attributes:
        second_moments: per neuron, the moving average of ``||g_neuron||**2``
            in float32 (or wider): shape ``(rows,)`` for a tensor of more than
            one dimension, the tensor's shape otherwise.
        scales: per tensor, the float32 step scale fixed at ``init``.
    """

    second_moments: Any
    scales: Any


def _neuron_axes(x: jax.Array) -> tuple[int, ...]:
    # A neuron is a row (index along axis 0) of a tensor with more than one
    # dimension, and one element of a vector or scalar.
    return tuple(range(1, x.ndim)) if x.ndim > 1 else ()


def _neuron_squared_norms(x: jax.Array) -> jax.Array:
    axes = _neuron_axes(x)
    return jnp.sum(x * x, axis=axes) if axes else x * x


def _per_neuron(values: jax.Array, like: jax.Array) -> jax.Array:
    """Broadcasts one value per neuron against the tensor ``like``."""
    return values.reshape(values.shape + (1,) * (like.ndim - values.ndim))


def _project(w: jax.Array) -> jax.Array:
    """Each row mean-centred, then scaled to unit norm (a zero row stays zero)."""
    axes = _neuron_axes(w)
    centred = w - jnp.mean(w, axis=axes, keepdims=True)
    squared = jnp.sum(centred * centred, axis=axes, keepdims=True)
    return jnp.where(squared > 0, centred * jax.lax.rsqrt(jnp.where(squared > 0, squared, 1)), 0)


def _constrained(x: jax.Array, constraints: bool) -> bool:
    return constraints and x.ndim > 1


def nero_project(params: Any) -> Any:
    """Nero's constraint on the parameters: every row of every matrix centred and unit-norm.

    Tensors of more than one dimension have each row (index along axis 0)
    mean-centred, then scaled to unit Euclidean norm; a row that is zero
    after centring stays zero. Vectors and scalars are returned unchanged.
    Nero (with ``constraints=True``) starts from projected parameters in
    the paper; a transformation cannot change the parameters at ``init``,
    so project them before training with this function (or let the first
    update project them, see :func:`nero`).

    Args:
        params: a pytree of arrays.

    Returns:
        The projected parameters, each in its own dtype.

    Example:
        >>> import jax.numpy as jnp, fromax
        >>> params = {"w": jnp.array([[1.0, 3.0], [2.0, 2.0]]), "b": jnp.ones(2)}
        >>> projected = fromax.nero_project(params)
        >>> projected["w"]  # the second row is constant: zero once centred
        Array([[-0.70710677,  0.70710677],
               [ 0.        ,  0.        ]], dtype=float32)
        >>> projected["b"]
        Array([1., 1.], dtype=float32)

    References:
        Liu, Bernstein, Meister, Yue, Learning by turning: neural
        architecture aware optimisation, ICML 2021 (arXiv 2102.07227).
    """

    def project(p: jax.Array) -> jax.Array:
        if p.ndim <= 1:
            return p
        return _project(p.astype(compute_dtype(p.dtype))).astype(p.dtype)

    return map_arrays(project, params, names=("params",))


def _initial_scale(param: jax.Array, constraints: bool) -> jax.Array:
    w = param.astype(compute_dtype(param.dtype))
    if _constrained(w, constraints):
        w = _project(w)
    scale = jnp.mean(jnp.sqrt(_neuron_squared_norms(w))).astype(jnp.float32)
    return jnp.where(scale > 0, scale, jnp.float32(_FALLBACK_SCALE))


def _nero_update(grad, second_moment, param, scale, lr, beta, step, constraints):
    dtype = compute_dtype(param.dtype)
    w = param.astype(dtype)
    g = grad.astype(dtype)
    new_moment = beta * second_moment + (1 - beta) * _neuron_squared_norms(g)
    corrected = new_moment / (1 - beta ** (step + 1).astype(dtype))
    # 0/0 -> 0: a neuron whose gradients have all been zero does not move.
    inverse_rms = jnp.where(corrected > 0, jax.lax.rsqrt(jnp.where(corrected > 0, corrected, 1)), 0)
    new_w = w - (lr * scale) * g * _per_neuron(inverse_rms, g)
    if _constrained(w, constraints):
        new_w = _project(new_w)
    return (new_w - w).astype(param.dtype), new_moment


def nero(
    learning_rate: Any = 0.01, beta: Any = 0.999, *, constraints: bool = True
) -> GradientTransformation:
    """Nero: per-neuron steps relative to the neuron's scale, on centred unit-norm neurons.

    A neuron is a row (index along axis 0) of a tensor of more than one
    dimension, and one element of a vector (bias, gain). For every neuron w
    with gradient g, at update t = 1, 2, ...::

        v <- beta v + (1 - beta) ||g||**2                    (v_0 = 0)
        w <- w - lr * scale * g / sqrt(v / (1 - beta**t))    (0/0 -> 0)
        w <- (w - mean(w)) / ||w - mean(w)||                 (constraints, matrices)

    ``scale`` is fixed per tensor at ``init``: the mean neuron norm of the
    initial tensor after projection (1 for projected matrices, ``mean|b|``
    for vectors), or 0.01 where that is 0 (a zero-initialised bias).

    How fromax differs from the paper's reference, and why:

    - The paper projects the parameters at initialisation. A transformation
      cannot change the parameters at ``init``, so fromax leaves that to the
      user: call :func:`nero_project` on the parameters before training to
      follow the paper exactly. Without it, the first update projects: its
      step is taken from the unprojected W_0 and its result is projected.
      ``scale`` is computed from the projected W_0 either way.
    - A row that is zero after centring (all its entries equal) is left at
      zero by the projection instead of dividing by zero.
    - With ``beta`` scheduled, the bias correction uses the current beta:
      ``1 - beta_t**t`` (as optax does for Adam's betas).

    Args:
        learning_rate: lr >= 0, default 0.01 (the paper's).
        beta: the second moment's decay in [0, 1), default 0.999.
        constraints: whether matrices' neurons are kept centred and
            unit-norm (static).

    ``learning_rate`` and ``beta`` are each a number, a JAX scalar, a
    schedule or a callable ``step -> scalar``.

    Returns:
        A :class:`~fromax.GradientTransformation`. ``update`` needs ``params``.

    Example:
        >>> import jax.numpy as jnp, fromax
        >>> params = fromax.nero_project({"w": jnp.array([[1.0, 3.0], [0.0, 2.0]])})
        >>> opt = fromax.nero(0.1)
        >>> state = opt.init(params)
        >>> updates, state = opt.update({"w": jnp.array([[1.0, 0.0], [0.0, 0.0]])}, state, params)
        >>> new = fromax.apply_updates(params, updates)
        >>> jnp.sum(new["w"] ** 2, axis=1)  # rows stay unit-norm
        Array([1., 1.], dtype=float32)

    References:
        Liu, Bernstein, Meister, Yue, Learning by turning: neural
        architecture aware optimisation, ICML 2021 (arXiv 2102.07227).
    """
    constraints = bool(constraints)

    def init(params: Any) -> NeroState:
        moments = map_arrays(
            lambda p: jnp.zeros(p.shape[:1] if p.ndim > 1 else p.shape, compute_dtype(p.dtype)),
            params,
            names=("params",),
        )
        scales = map_arrays(lambda p: _initial_scale(p, constraints), params, names=("params",))
        return NeroState(moments, scales)

    def update(updates: Any, state: NeroState, params: Any, hyper: dict[str, jax.Array], step):
        lr, beta_t = hyper["learning_rate"], hyper["beta"]
        new, moments = map_arrays(
            lambda g, p, v, s: _nero_update(g, v, p, s, lr, beta_t, step, constraints),
            updates,
            params,
            per_tensor=(state.second_moments, state.scales),
            names=("updates", "params", "state.second_moments", "state.scales"),
            outputs=2,
        )
        return new, NeroState(moments, state.scales)

    return scheduled_transformation(
        "nero",
        {"learning_rate": (learning_rate, NONNEGATIVE), "beta": (beta, _BETA_BOUNDS)},
        init,
        update,
        needs_params=True,
    )
