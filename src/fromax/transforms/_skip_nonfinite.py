"""``skip_nonfinite``: a step whose updates (or outcome) hold NaN or Inf changes nothing."""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from fromax._core._registry import INT32_MAX, Flag, Hyperparameter, Integer, declare
from fromax._core._transformation import (
    TRANSFORMATION,
    GradientTransformation,
    forward_extra,
)
from fromax._core._transformation import (
    check_state as check_state_type,
)
from fromax._core._tree import map_arrays
from fromax._core._types import PyTree, TransformationLike

__all__ = ["SkipNonfiniteState", "all_finite", "skip_nonfinite"]


class SkipNonfiniteState(NamedTuple):
    """``skip_nonfinite``'s state: the steps skipped, and the inner transformation's state.

    Attributes:
        skipped: int32, the number of steps skipped so far (saturates at 2**31 - 1).
        consecutive: int32, how many steps in a row, up to the latest, were
            non-finite (0 after a finite one), whether skipped or, past
            ``max_consecutive``, applied: optax's ``notfinite_count``.
        inner: the inner transformation's state.

    Example:
        >>> import jax.numpy as jnp, fromax
        >>> state = fromax.skip_nonfinite(fromax.sgd(0.1)).init({'w': jnp.ones((2, 2))})
        >>> type(state).__name__, int(state.skipped), int(state.inner.count)
        ('SkipNonfiniteState', 0, 0)
    """

    skipped: jax.Array
    consecutive: jax.Array
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


def _floats_finite(tree: PyTree) -> jax.Array:
    """``all_finite`` over the floating-point arrays of a state (counters and keys pass)."""
    floats = [
        x
        for x in jax.tree.leaves(tree)
        if hasattr(x, "dtype") and jnp.issubdtype(x.dtype, jnp.inexact)
    ]
    return all_finite(floats)


def _saturating_increment(count: jax.Array, by: jax.Array | bool) -> jax.Array:
    return jnp.where((count < INT32_MAX) & by, count + 1, count).astype(jnp.int32)


@declare(
    Hyperparameter("inner", TRANSFORMATION, "the transformation to run"),
    Hyperparameter(
        "max_consecutive",
        Integer(minimum=0),
        "how many non-finite steps in a row to skip; the next ones are applied",
        optional=True,
        none_means="every non-finite step is skipped",
    ),
    Hyperparameter(
        "check_state",
        Flag(),
        "also skip a step whose new inner state or updates hold NaN or Inf",
    ),
    summary="runs a transformation except on steps whose updates hold NaN or Inf",
    role="transform",
)
def skip_nonfinite(
    inner: TransformationLike, max_consecutive: int | None = None, check_state: bool = False
) -> GradientTransformation:
    """Runs ``inner``, except on steps whose incoming updates hold NaN or Inf.

    On such a step the updates returned are zeros (the parameters do not
    move), ``inner``'s state is left exactly as it was (moments, step count,
    schedules), and ``state.skipped`` goes up by one. Wrap the whole
    optimiser: ``skip_nonfinite(fromax.adam(1e-3))``. Extra keyword
    arguments to ``update`` are passed on to ``inner``'s.

    ``max_consecutive=n`` is optax's ``apply_if_finite(inner,
    max_consecutive_errors=n)``: the first n non-finite steps in a row are
    skipped, and from the (n + 1)-th on, as long as they stay non-finite,
    they are applied (``inner`` runs on them); one finite step starts the
    count again. None (the default) skips every one.

    ``check_state=True`` also skips a step whose gradients are finite but
    whose result is not: ``inner``'s new state or updates hold NaN or Inf.
    One gradient of 1e30 overflows Adam's second moment (1e60 in float32 is
    inf), and an inf moment stays inf for ever, stopping training; with
    this option that step is skipped and the moments stay as they were.
    Only floating-point arrays of the state are checked (one more pass over
    the state each step).

    Args:
        inner: a transformation (fromax's or optax's).
        max_consecutive: None, or n >= 0 (static): after n skipped steps in a
            row, the next non-finite ones are applied.
        check_state: whether to also skip steps whose outcome is non-finite.

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
        >>> opt = fromax.skip_nonfinite(fromax.adam(0.1), check_state=True)
        >>> state = opt.init(jnp.zeros(2))
        >>> updates, state = opt.update(jnp.array([1e30, 1.0]), state)  # v = 1e60: inf
        >>> int(state.skipped), state.inner.inner.nu
        (1, Array([0., 0.], dtype=float32))
    """
    inner_update = forward_extra(inner)
    limit = None if max_consecutive is None else int(max_consecutive)

    def init(params: Any) -> SkipNonfiniteState:
        zero = jnp.zeros((), jnp.int32)
        return SkipNonfiniteState(zero, jnp.zeros((), jnp.int32), inner.init(params))

    def update(
        updates: Any, state: SkipNonfiniteState, params: Any = None, **extra: Any
    ) -> tuple[Any, SkipNonfiniteState]:
        check_state_type(state, SkipNonfiniteState, "skip_nonfinite")
        finite = all_finite(updates)
        new, inner_state = inner_update(updates, state.inner, params, **extra)
        if check_state:
            finite = finite & _floats_finite(inner_state) & _floats_finite(new)
        # As optax's apply_if_finite: the count of non-finite steps in a row, and past
        # the limit they are applied.
        consecutive = jnp.where(
            finite, jnp.zeros((), jnp.int32), _saturating_increment(state.consecutive, True)
        )
        apply = finite if limit is None else finite | (consecutive > limit)
        new = map_arrays(
            lambda n, u: jnp.where(apply, n, jnp.zeros_like(n)).astype(u.dtype),
            new,
            updates,
            names=("inner's updates", "updates"),
        )
        inner_state = jax.tree.map(lambda a, b: jnp.where(apply, a, b), inner_state, state.inner)
        skipped = _saturating_increment(state.skipped, ~apply)
        return new, SkipNonfiniteState(skipped, consecutive.astype(jnp.int32), inner_state)

    return GradientTransformation(init, update)
