"""``skip_nonfinite``: a step whose updates hold NaN or Inf changes nothing."""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from fromax._core._registry import Hyperparameter, declare
from fromax._core._transformation import (
    TRANSFORMATION,
    GradientTransformation,
    check_state,
    forward_extra,
)
from fromax._core._tree import map_arrays
from fromax._core._types import PyTree, TransformationLike

__all__ = ["SkipNonfiniteState", "all_finite", "skip_nonfinite"]


class SkipNonfiniteState(NamedTuple):
    """``skip_nonfinite``'s state: the steps skipped, and the inner transformation's state.

    Attributes:
        skipped: int32, the number of steps skipped so far.
        inner: the inner transformation's state.

    Example:
        >>> import jax.numpy as jnp, fromax
        >>> state = fromax.skip_nonfinite(fromax.sgd(0.1)).init({'w': jnp.ones((2, 2))})
        >>> type(state).__name__, int(state.skipped), int(state.inner.count)
        ('SkipNonfiniteState', 0, 0)
    """

    skipped: jax.Array
    inner: Any


def all_finite(tree: PyTree) -> jax.Array:
    """True when every element of every array in ``tree`` is finite.

    Example:
        >>> import jax.numpy as jnp, fromax
        >>> bool(fromax.all_finite({"a": jnp.ones(2), "b": jnp.array([1.0, jnp.nan])}))
        False
    """
    flags = [jnp.all(jnp.isfinite(x)) for x in jax.tree.leaves(tree)]
    return jnp.all(jnp.stack(flags)) if flags else jnp.array(True)


@declare(
    Hyperparameter("inner", TRANSFORMATION, "the transformation to run"),
    summary="runs a transformation except on steps whose updates hold NaN or Inf",
    role="transform",
)
def skip_nonfinite(inner: TransformationLike) -> GradientTransformation:
    """Runs ``inner``, except on steps whose incoming updates hold NaN or Inf.

    On such a step the updates returned are zeros (the parameters do not
    move), ``inner``'s state is left exactly as it was (moments, step count,
    schedules), and ``state.skipped`` goes up by one. Wrap the whole
    optimiser: ``skip_nonfinite(fromax.adam(1e-3))``. Unlike optax's
    ``apply_if_finite``, there is no limit after which non-finite steps are
    applied anyway. Extra keyword arguments to ``update`` are passed on to
    ``inner``'s.

    Args:
        inner: a transformation (fromax's or optax's).

    Returns:
        A :class:`~fromax.GradientTransformation` whose state is a
        :class:`SkipNonfiniteState`.

    Example:
        >>> import jax.numpy as jnp, fromax
        >>> opt = fromax.skip_nonfinite(fromax.sgd(0.1))
        >>> state = opt.init(jnp.zeros(2))
        >>> updates, state = opt.update(jnp.array([1.0, jnp.nan]), state)
        >>> updates, int(state.skipped), int(state.inner.count)
        (Array([0., 0.], dtype=float32), 1, 0)
    """
    inner_update = forward_extra(inner)

    def init(params: Any) -> SkipNonfiniteState:
        return SkipNonfiniteState(jnp.zeros((), jnp.int32), inner.init(params))

    def update(
        updates: Any, state: SkipNonfiniteState, params: Any = None, **extra: Any
    ) -> tuple[Any, SkipNonfiniteState]:
        check_state(state, SkipNonfiniteState, "skip_nonfinite")
        finite = all_finite(updates)
        new, inner_state = inner_update(updates, state.inner, params, **extra)
        new = map_arrays(
            lambda n, u: jnp.where(finite, n, jnp.zeros_like(n)).astype(u.dtype),
            new,
            updates,
            names=("inner's updates", "updates"),
        )
        inner_state = jax.tree.map(lambda a, b: jnp.where(finite, a, b), inner_state, state.inner)
        skipped = state.skipped + jnp.where(finite, 0, 1).astype(jnp.int32)
        return new, SkipNonfiniteState(skipped, inner_state)

    return GradientTransformation(init, update)
