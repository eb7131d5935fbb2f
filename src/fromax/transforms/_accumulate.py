"""``accumulate_gradients``: average k steps' gradients, apply once every k steps."""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from fromax._core._registry import Hyperparameter, Integer, declare
from fromax._core._transformation import (
    TRANSFORMATION,
    GradientTransformation,
    check_state,
    forward_extra,
)
from fromax._core._tree import map_arrays, zeros_in_compute_dtype
from fromax._core._types import TransformationLike

__all__ = ["AccumulateState", "accumulate_gradients"]


class AccumulateState(NamedTuple):
    """``accumulate_gradients``'s state: the running sum, its length, the inner state.

    Attributes:
        count: int32, the number of gradients in ``accumulated`` (0 to every_k - 1).
        accumulated: the sum of the gradients since the last applied step, a
            pytree like the parameters in float32 (or wider).
        inner: the inner transformation's state.

    Example:
        >>> import jax.numpy as jnp, fromax
        >>> opt = fromax.accumulate_gradients(fromax.sgd(0.1), every_k=2)
        >>> state = opt.init({'w': jnp.ones((2, 2))})
        >>> _, state = opt.update({'w': jnp.ones((2, 2))}, state)
        >>> type(state).__name__, int(state.count), int(state.inner.count)
        ('AccumulateState', 1, 0)
    """

    # Shadows tuple.count, as every fromax state names its step counter.
    count: jax.Array  # type: ignore[assignment]
    accumulated: Any
    inner: Any


@declare(
    Hyperparameter("inner", TRANSFORMATION, "the transformation to apply to the mean"),
    Hyperparameter("every_k", Integer(minimum=1), "k: how many steps' gradients to average"),
    summary="averages k steps' gradients and applies a transformation to the mean every k steps",
    role="transform",
)
def accumulate_gradients(inner: TransformationLike, every_k: int) -> GradientTransformation:
    """Averages the gradients of ``every_k`` steps and applies ``inner`` to the mean.

    At steps k-1, 2k-1, ... (0-based) the updates are ``inner``'s update of
    the mean of the last k gradients; at the other steps they are zeros and
    ``inner``'s state does not change. So ``inner``'s step count, and its
    schedules, advance once per k steps: an optimiser scheduled over N
    applied steps runs N * k calls. The same semantics as optax's
    ``MultiSteps`` with ``use_grad_mean=True``; the sum is kept in float32
    (or wider). Extra keyword arguments to ``update`` are passed on to
    ``inner``'s on the steps that apply it.

    Args:
        inner: a transformation (fromax's or optax's).
        every_k: k, a Python int >= 1 (static: it sets the state's cadence).

    Returns:
        A :class:`~fromax.GradientTransformation` whose state is an
        :class:`AccumulateState`.

    Example:
        >>> import jax.numpy as jnp, fromax
        >>> opt = fromax.accumulate_gradients(fromax.sgd(1.0), every_k=2)
        >>> state = opt.init(jnp.zeros(1))
        >>> first, state = opt.update(jnp.array([1.0]), state)
        >>> second, state = opt.update(jnp.array([3.0]), state)
        >>> first, second
        (Array([0.], dtype=float32), Array([-2.], dtype=float32))
    """
    k = int(every_k)
    inner_update = forward_extra(inner)

    def init(params: Any) -> AccumulateState:
        return AccumulateState(
            jnp.zeros((), jnp.int32), zeros_in_compute_dtype(params), inner.init(params)
        )

    def update(
        updates: Any, state: AccumulateState, params: Any = None, **extra: Any
    ) -> tuple[Any, AccumulateState]:
        check_state(state, AccumulateState, "accumulate_gradients")
        total = map_arrays(
            lambda s, g: s + g.astype(s.dtype),
            state.accumulated,
            updates,
            names=("state.accumulated", "updates"),
        )
        zeros = map_arrays(jnp.zeros_like, updates, names=("updates",))

        def apply(total, inner_state):
            mean = map_arrays(
                lambda s, g: (s / k).astype(g.dtype), total, updates, names=("sum", "updates")
            )
            new, inner_state = inner_update(mean, inner_state, params, **extra)
            new = map_arrays(
                lambda n, g: n.astype(g.dtype), new, updates, names=("inner's updates", "updates")
            )
            return new, map_arrays(jnp.zeros_like, total, names=("sum",)), inner_state

        def wait(total, inner_state):
            return zeros, total, inner_state

        count = state.count + 1
        full = count == k
        new, total, inner_state = jax.lax.cond(full, apply, wait, total, state.inner)
        count = jnp.where(full, 0, count).astype(jnp.int32)
        return new, AccumulateState(count, total, inner_state)

    return GradientTransformation(init, update)
