"""Nero: per-neuron relative steps on constrained neurons (Liu et al., ICML 2021)."""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from fromax._core._bounds import DECAY_RATE, NONNEGATIVE
from fromax._core._hyperparams import scheduled_transformation
from fromax._core._numerics import bias_correction, divide_by_root
from fromax._core._registry import (
    INT32_MAX,
    Flag,
    Hyperparameter,
    Integer,
    Number,
    declare,
    schedulable,
)
from fromax._core._state_dtypes import NU_DTYPE
from fromax._core._storage import StateDType, load, storage_dtype, store
from fromax._core._transformation import GradientTransformation
from fromax._core._tree import compute_dtype, map_arrays, zeros_along
from fromax._core._types import Params, PyTree, ScalarOrSchedule, Updates

__all__ = ["NeroState", "nero", "nero_project"]

_FALLBACK_SCALE = 0.01


class NeroState(NamedTuple):
    """Nero's own state: per-neuron second moments and per-tensor step scales.

    Attributes:
        second_moments: per neuron, the moving average of ``||g_neuron||**2``
            in float32 (or wider): shape ``(rows,)`` for a tensor of more than
            one dimension, the tensor's shape otherwise.
        scales: per tensor, the float32 step scale fixed at ``init``.

    Example:
        >>> import jax, jax.numpy as jnp, fromax
        >>> state = fromax.nero().init({'w': jnp.ones((2, 3)), 'b': jnp.ones(3)})
        >>> jax.tree.map(jnp.shape, state.inner.second_moments)  # one per neuron
        {'b': (3,), 'w': (2,)}
    """

    second_moments: PyTree
    scales: PyTree


def _neuron_axes(x: jax.Array) -> tuple[int, ...]:
    # With the neuron axis moved to the front (see _to_front): a neuron is a
    # row of a tensor with more than one dimension, one element of a vector.
    return tuple(range(1, x.ndim)) if x.ndim > 1 else ()


def _to_front(x: jax.Array, neuron_axis: int) -> jax.Array:
    """``x`` with its neuron axis first (a no-op for vectors and for axis 0)."""
    return jnp.moveaxis(x, neuron_axis, 0) if x.ndim > 1 else x


def _from_front(x: jax.Array, neuron_axis: int) -> jax.Array:
    return jnp.moveaxis(x, 0, neuron_axis) if x.ndim > 1 else x


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
    return divide_by_root(centred, jnp.sum(centred * centred, axis=axes, keepdims=True))


def _constrained(x: jax.Array, constraints: bool) -> bool:
    return constraints and x.ndim > 1


_NEURON_AXIS = Hyperparameter(
    "neuron_axis",
    Integer(minimum=-INT32_MAX),
    "the axis that indexes a matrix's neurons: 0 for (out, in) weights, -1 for JAX's kernels",
)


def _check_rank(p: jax.Array, neuron_axis: int) -> None:
    if p.ndim > 1 and not -p.ndim <= neuron_axis < p.ndim:
        raise ValueError(
            f"neuron_axis={neuron_axis} is out of range for a parameter of shape {p.shape}"
        )


def nero_project(params: Params, *, neuron_axis: int = 0) -> Params:
    """Nero's constraint on the parameters: every neuron of every matrix centred and unit-norm.

    Tensors of more than one dimension have each neuron (the slice at one
    index of ``neuron_axis``: a row by default) mean-centred, then scaled to
    unit Euclidean norm; a neuron that is zero after centring stays zero.
    Vectors and scalars are returned unchanged.
    Nero (with ``constraints=True``) starts from projected parameters in
    the paper; a transformation cannot change the parameters at ``init``,
    so project them before training with this function (or let the first
    update project them, see :func:`nero`).

    Args:
        params: a pytree of arrays.
        neuron_axis: the axis that indexes neurons, as in :func:`nero`.

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

    _NEURON_AXIS.check(neuron_axis, "nero_project")
    neuron_axis = int(neuron_axis)

    def project(p: jax.Array) -> jax.Array:
        if p.ndim <= 1:
            return p
        _check_rank(p, neuron_axis)
        w = _to_front(p.astype(compute_dtype(p.dtype)), neuron_axis)
        return _from_front(_project(w), neuron_axis).astype(p.dtype)

    return map_arrays(project, params, names=("params",))


def _initial_scale(param: jax.Array, constraints: bool, neuron_axis: int) -> jax.Array:
    w = _to_front(param.astype(compute_dtype(param.dtype)), neuron_axis)
    if _constrained(w, constraints):
        w = _project(w)
    scale = jnp.mean(jnp.sqrt(_neuron_squared_norms(w))).astype(jnp.float32)
    return jnp.where(scale > 0, scale, jnp.float32(_FALLBACK_SCALE))


def _nero_update(grad, second_moment, param, scale, lr, beta, correction, constraints, neuron_axis):
    dtype = compute_dtype(param.dtype)
    w = _to_front(param.astype(dtype), neuron_axis)
    g = _to_front(grad.astype(dtype), neuron_axis)
    new_moment = beta * second_moment + (1 - beta) * _neuron_squared_norms(g)
    corrected = new_moment / correction.astype(dtype)
    # 0/0 -> 0: a neuron whose gradients have all been zero does not move.
    inverse_rms = divide_by_root(1.0, corrected)
    new_w = w - (lr * scale) * g * _per_neuron(inverse_rms, g)
    if _constrained(w, constraints):
        new_w = _project(new_w)
    return _from_front(new_w - w, neuron_axis).astype(param.dtype), new_moment


@declare(
    Hyperparameter("learning_rate", Number(NONNEGATIVE), "lr: the step, relative to the scale"),
    Hyperparameter("beta", Number(DECAY_RATE), "the second moment's decay"),
    Hyperparameter("constraints", Flag(), "keep matrices' neurons centred and unit-norm"),
    _NEURON_AXIS,
    NU_DTYPE,
    summary=(
        "Nero: per-neuron steps relative to the neuron's scale, neurons kept centred and "
        "unit-norm (Liu et al., ICML 2021, arXiv 2102.07227)"
    ),
)
def nero(
    learning_rate: ScalarOrSchedule = 0.01,
    beta: ScalarOrSchedule = 0.999,
    *,
    constraints: bool = True,
    neuron_axis: int = 0,
    nu_dtype: StateDType = None,
) -> GradientTransformation:
    """Nero: per-neuron steps relative to the neuron's scale, on centred unit-norm neurons.

    A neuron is the slice at one index of ``neuron_axis`` of a tensor of
    more than one dimension (a row, by default), and one element of a vector
    (bias, gain). The default, axis 0, is the paper's: PyTorch stores a
    layer's weights as (out, in), one row per neuron. JAX and Flax store a
    dense kernel as (in, out) and a convolution kernel as (h, w, in, out):
    there a neuron is a slice of the LAST axis, so pass ``neuron_axis=-1``. For every neuron w
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
        neuron_axis: the axis of a matrix (or kernel) that indexes its
            neurons: 0 for (out, in) weights as in the paper, -1 for JAX's
            (in, out) kernels (static).
        nu_dtype: the per-neuron second moments' storage dtype: None (float32, or the
            parameters' dtype if wider), a float dtype or its name, or
            :class:`~fromax.StochasticRounding`; the maths stays in float32.

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
        >>> norms = jnp.sum(new["w"] ** 2, axis=1)  # rows stay unit-norm
        >>> bool(jnp.allclose(norms, 1.0, atol=1e-6))
        True

    References:
        Liu, Bernstein, Meister, Yue, Learning by turning: neural
        architecture aware optimisation, ICML 2021 (arXiv 2102.07227).
    """
    constraints = bool(constraints)
    neuron_axis = int(neuron_axis)

    def moments_like(p: jax.Array) -> jax.Array:
        _check_rank(p, neuron_axis)
        # Built from the parameter, so that the moments are sharded as it is.
        axes = (neuron_axis % p.ndim,) if p.ndim > 1 else range(p.ndim)
        return zeros_along(p, axes, dtype=storage_dtype(nu_dtype, p))

    def init(params: Params) -> NeroState:
        moments = map_arrays(moments_like, params, names=("params",))
        scales = map_arrays(
            lambda p: _initial_scale(p, constraints, neuron_axis), params, names=("params",)
        )
        return NeroState(moments, scales)

    def update(
        updates: Updates, state: NeroState, params: Params, hyper: dict[str, jax.Array], step
    ):
        lr, beta_t = hyper["learning_rate"], hyper["beta"]
        correction = bias_correction(beta_t, step.astype(jnp.float32) + 1)  # once per step
        new, moments = map_arrays(
            lambda g, p, v, s: _nero_update(
                g, v, p, s, lr, beta_t, correction, constraints, neuron_axis
            ),
            updates,
            params,
            per_tensor=(load(state.second_moments, updates), state.scales),
            names=("updates", "params", "state.second_moments", "state.scales"),
            outputs=2,
        )
        return new, NeroState(store(moments, nu_dtype, step=step, salt=1), state.scales)

    return scheduled_transformation(
        "nero",
        schedulable("nero", learning_rate=learning_rate, beta=beta),
        init,
        update,
        needs_params=True,
        complex_refused=(
            "its per-neuron constraints (zero mean, fixed norm) are for real weights only"
        ),
    )
