"""Adafactor: factored second moments, relative steps (Shazeer & Stern, ICML 2018)."""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from fromax._core._bounds import NONNEGATIVE, POSITIVE, UNIT_INTERVAL
from fromax._core._hyperparams import scheduled_transformation
from fromax._core._registry import (
    DType,
    Flag,
    Hyperparameter,
    Integer,
    Number,
    declare,
    schedulable,
)
from fromax._core._storage import StateDType, load, storage_dtype, store
from fromax._core._transformation import GradientTransformation
from fromax._core._tree import compute_dtype, map_arrays, zeros_along
from fromax._core._types import Params, PyTree, ScalarOrSchedule, Updates

__all__ = ["AdafactorState", "adafactor"]

_MIN_PARAMETER_SCALE = 1e-3


class AdafactorState(NamedTuple):
    """Adafactor's own state, in float32 (or wider); None where a tensor has no such part.

    Attributes:
        row_moments: for a factored tensor, the moving average of g**2
            averaged over its largest axis (that axis removed).
        column_moments: for a factored tensor, the same averaged over its
            second largest axis.
        moments: for an unfactored tensor, the moving average of g**2.
        momentum: the moving average of the updates (``momentum`` given).

    Example:
        >>> import jax, jax.numpy as jnp, fromax
        >>> state = fromax.adafactor().init({'w': jnp.ones((256, 128)), 'b': jnp.ones(3)})
        >>> shapes = jax.tree.map(jnp.shape, state.inner)
        >>> shapes.row_moments, shapes.column_moments, shapes.moments
        ({'b': None, 'w': (128,)}, {'b': None, 'w': (256,)}, {'b': (3,), 'w': None})
    """

    row_moments: PyTree
    column_moments: PyTree
    moments: PyTree
    momentum: PyTree


def _factored_axes(shape: tuple[int, ...], factored: bool, min_size: int):
    """(second largest axis, largest axis), or None if the tensor is not factored."""
    if not factored or len(shape) < 2:
        return None
    order = np.argsort(shape, kind="stable")
    if shape[order[-2]] < min_size:
        return None
    return int(order[-2]), int(order[-1])


def _rms(x: jax.Array) -> jax.Array:
    return jnp.sqrt(jnp.mean(x * x))


def _adafactor_update(
    grad,
    param,
    row,
    column,
    full,
    momentum_buffer,
    hyper,
    step,
    *,
    axes,
    decay_offset,
    scale_by_param,
):
    dtype = compute_dtype(grad.dtype)
    g = grad.astype(dtype)
    # The 1-based index in float: int32 step + 1 wraps to -2**31 at the saturated count.
    t = jnp.maximum(step - decay_offset, 0).astype(dtype) + 1
    beta2 = 1 - t ** -hyper["decay_rate"]
    squared = g * g + hyper["eps"]
    new_row = new_column = new_full = None
    if axes is not None:
        second, largest = axes
        new_row = beta2 * row + (1 - beta2) * jnp.mean(squared, axis=largest)
        new_column = beta2 * column + (1 - beta2) * jnp.mean(squared, axis=second)
        # V = R C / mean(R): R, C the row and column means of g**2 (the paper's eq. with sums).
        row_axis = second if second < largest else second - 1
        row_factor = jax.lax.rsqrt(new_row / jnp.mean(new_row, axis=row_axis, keepdims=True))
        u = (
            g
            * jnp.expand_dims(row_factor, largest)
            * jnp.expand_dims(jax.lax.rsqrt(new_column), second)
        )
    else:
        new_full = beta2 * full + (1 - beta2) * squared
        u = g * jax.lax.rsqrt(new_full)
    if "clipping_threshold" in hyper:
        u = u / jnp.maximum(1, _rms(u) / hyper["clipping_threshold"])
    if "learning_rate" in hyper:
        u = hyper["learning_rate"] * u
    if scale_by_param:
        u = u * jnp.maximum(_rms(param.astype(dtype)), _MIN_PARAMETER_SCALE)
    new_buffer = None
    if momentum_buffer is not None:
        momentum = hyper["momentum"]
        new_buffer = momentum * momentum_buffer + (1 - momentum) * u
        u = new_buffer
    if "weight_decay_rate" in hyper:
        u = u + hyper["weight_decay_rate"] * param.astype(dtype)
    return (-u).astype(grad.dtype), new_row, new_column, new_full, new_buffer


@declare(
    Hyperparameter(
        "learning_rate",
        Number(NONNEGATIVE),
        "the step size",
        optional=True,
        none_means="no step size",
    ),
    Hyperparameter(
        "min_dim_size_to_factor",
        Integer(minimum=1),
        "factor a tensor whose second largest axis has at least this size",
    ),
    Hyperparameter("decay_rate", Number(NONNEGATIVE), "c in beta2 = 1 - t**(-c)"),
    Hyperparameter("decay_offset", Integer(minimum=0), "the update count at which t restarts"),
    Hyperparameter(
        "multiply_by_parameter_scale", Flag(), "scale the step by the tensor's RMS (relative)"
    ),
    Hyperparameter(
        "clipping_threshold", Number(POSITIVE), "the largest RMS of an update", optional=True
    ),
    Hyperparameter("momentum", Number(UNIT_INTERVAL), "the updates' average decay", optional=True),
    Hyperparameter(
        "weight_decay_rate",
        Number(NONNEGATIVE),
        "decay, not times the learning rate",
        optional=True,
    ),
    Hyperparameter("eps", Number(NONNEGATIVE), "added to g**2"),
    Hyperparameter("factored", Flag(), "whether to factor the second moments at all"),
    Hyperparameter(
        "dtype_momentum",
        DType(),
        "the momentum's storage dtype",
        optional=True,
        none_means="the compute dtype (float32, or the parameters' if wider)",
    ),
    summary=(
        "Adafactor: factored second moments for matrices, update clipping, steps relative to "
        "the parameter scale (Shazeer & Stern, ICML 2018, arXiv 1804.04235)"
    ),
)
def adafactor(
    learning_rate: ScalarOrSchedule | None = None,
    min_dim_size_to_factor: int = 128,
    decay_rate: ScalarOrSchedule = 0.8,
    decay_offset: int = 0,
    multiply_by_parameter_scale: bool = True,
    clipping_threshold: ScalarOrSchedule | None = 1.0,
    momentum: ScalarOrSchedule | None = None,
    weight_decay_rate: ScalarOrSchedule | None = None,
    eps: ScalarOrSchedule = 1e-30,
    factored: bool = True,
    *,
    dtype_momentum: StateDType = None,
) -> GradientTransformation:
    """Adafactor: Adam-like steps from factored second moments, clipped and relative.

    For every array w with gradient g, at update t = 1, 2, ... (counted from
    ``decay_offset``)::

        beta2 = 1 - t**(-decay_rate)
        G = g**2 + eps
        factored (>= 2 dims, two axes >= min_dim_size_to_factor):
            R <- beta2 R + (1 - beta2) mean(G, largest axis)
            C <- beta2 C + (1 - beta2) mean(G, second largest axis)
            u = g / sqrt(R C / mean(R))
        otherwise:
            V <- beta2 V + (1 - beta2) G;  u = g / sqrt(V)
        u <- u / max(1, RMS(u) / clipping_threshold)        (update clipping)
        u <- learning_rate u                                 (when given)
        u <- u max(RMS(w), 1e-3)                             (multiply_by_parameter_scale)
        m <- momentum m + (1 - momentum) u;  u = m           (momentum given)
        w <- w - (u + weight_decay_rate w)                   (weight_decay_rate given)

    Arguments, defaults and order of operations are optax's, so results
    agree with ``optax.adafactor``. Like optax, and unlike the paper's
    relative step ``min(1e-2, 1/sqrt(t))``, ``learning_rate=None`` applies no
    step size at all (pass a schedule for the paper's). The weight decay is
    not multiplied by the learning rate (optax's choice). Where optax would
    take ``t**(-decay_rate)`` of a count below ``decay_offset`` (NaN), fromax
    counts from 1. The moments are kept in float32 (or wider): optax's
    ``dtype_momentum`` and ``weight_decay_mask`` are not offered.

    Args:
        learning_rate: None (no step size), or >= 0.
        min_dim_size_to_factor: factor a tensor only if its second largest
            axis has at least this size (static).
        decay_rate: the exponent c >= 0 of ``beta2 = 1 - t**(-c)``, default 0.8.
        decay_offset: the update count at which t restarts from 1, >= 0
            (static; for fine-tuning).
        multiply_by_parameter_scale: scale the step by the tensor's RMS
            (at least 1e-3): the paper's relative step (static).
        clipping_threshold: None (off), or the largest RMS of an update, > 0.
        momentum: None (off), or the moving average's decay in [0, 1].
        weight_decay_rate: None (off), or >= 0.
        eps: >= 0, added to g**2, default 1e-30.
        factored: whether to factor the second moments at all (static).
        dtype_momentum: the momentum's storage dtype (optax's name): None
            (float32, or the parameters' dtype if wider), a float dtype or its
            name, or :class:`~fromax.StochasticRounding`; the maths stays in
            float32. The factored second moments are small and stay float32.

    The other numeric arguments are each a number, a JAX scalar, a schedule
    or a callable ``step -> scalar``.

    Returns:
        A :class:`~fromax.GradientTransformation`. ``update`` needs ``params``
        when ``multiply_by_parameter_scale`` or ``weight_decay_rate`` is on.

    Example:
        >>> import jax.numpy as jnp, fromax
        >>> opt = fromax.adafactor(0.1, min_dim_size_to_factor=2,
        ...                        multiply_by_parameter_scale=False)
        >>> params = jnp.zeros((2, 3))
        >>> state = opt.init(params)
        >>> state.inner.row_moments.shape, state.inner.column_moments.shape
        ((2,), (3,))
        >>> updates, state = opt.update(jnp.ones((2, 3)), state, params)
        >>> updates[0]
        Array([-0.1, -0.1, -0.1], dtype=float32)

    References:
        Shazeer and Stern, Adafactor: adaptive learning rates with sublinear
        memory cost, ICML 2018 (arXiv 1804.04235).
    """
    min_size = int(min_dim_size_to_factor)
    offset = int(decay_offset)
    factored = bool(factored)
    scale_by_param = bool(multiply_by_parameter_scale)

    def axes_of(p: jax.Array):
        return _factored_axes(tuple(p.shape), factored, min_size)

    def init(params: Params) -> AdafactorState:
        # Built from the parameter, so that each moment is sharded as it is.
        def zeros(p, dropped=None):
            return zeros_along(p, [axis for axis in range(p.ndim) if axis != dropped])

        def row(p):
            axes = axes_of(p)
            return None if axes is None else zeros(p, dropped=axes[1])

        def column(p):
            axes = axes_of(p)
            return None if axes is None else zeros(p, dropped=axes[0])

        def full(p):
            return zeros(p) if axes_of(p) is None else None

        names = ("params",)
        return AdafactorState(
            row_moments=map_arrays(row, params, names=names),
            column_moments=map_arrays(column, params, names=names),
            moments=map_arrays(full, params, names=names),
            momentum=(
                None
                if momentum is None
                else map_arrays(
                    lambda p: zeros_along(p, range(p.ndim), storage_dtype(dtype_momentum, p)),
                    params,
                    names=names,
                )
            ),
        )

    uses_params = scale_by_param or weight_decay_rate is not None

    def update(
        updates: Updates, state: AdafactorState, params: Params, hyper: dict[str, jax.Array], step
    ):
        trees, names = [updates], ["updates"]
        if uses_params:
            trees.append(params)
            names.append("params")
        per_tensor = [state.row_moments, state.column_moments, state.moments]
        names += ["state.row_moments", "state.column_moments", "state.moments"]
        if momentum is not None:
            per_tensor.append(load(state.momentum, updates))
            names.append("state.momentum")

        def one(g, *rest):
            p, rest = (rest[0], rest[1:]) if uses_params else (None, rest)
            row, column, full, *buffer = rest
            return _adafactor_update(
                g,
                p,
                row,
                column,
                full,
                buffer[0] if buffer else None,
                hyper,
                step,
                axes=axes_of(g),
                decay_offset=offset,
                scale_by_param=scale_by_param,
            )

        new, rows, columns, fulls, buffers = map_arrays(
            one, *trees, per_tensor=tuple(per_tensor), names=tuple(names), outputs=5
        )
        if momentum is not None:
            buffers = store(buffers, dtype_momentum, step=step, salt=0)
        return new, AdafactorState(rows, columns, fulls, None if momentum is None else buffers)

    return scheduled_transformation(
        "adafactor",
        schedulable(
            "adafactor",
            learning_rate=learning_rate,
            decay_rate=decay_rate,
            clipping_threshold=clipping_threshold,
            momentum=momentum,
            weight_decay_rate=weight_decay_rate,
            eps=eps,
        ),
        init,
        update,
        needs_params=uses_params,
        complex_refused="its factored moments are not yet checked against a complex reference",
    )
