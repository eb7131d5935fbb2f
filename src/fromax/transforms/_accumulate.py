"""``accumulate_gradients``: average k steps' gradients, apply once every k steps."""

from __future__ import annotations

import numbers
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from fromax._core._hyperparams import TransformState, scheduled_transformation
from fromax._core._registry import Hyperparameter, WholeNumber, declare, schedulable
from fromax._core._transformation import (
    TRANSFORMATION,
    GradientTransformation,
    check_state,
    forward_extra,
)
from fromax._core._tree import map_arrays, zeros_in_compute_dtype
from fromax._core._types import ScalarOrSchedule, TransformationLike
from fromax.transforms._scheduled_wrapper import whole_value

__all__ = ["AccumulateState", "accumulate_gradients"]


class AccumulateState(NamedTuple):
    """``accumulate_gradients``'s state: the running sum, its length, the inner state.

    Attributes:
        count: int32, the number of gradients in ``accumulated`` (0 to k - 1).
        accumulated: the sum of the gradients since the last applied step, a
            pytree like the parameters in float32 (or wider).
        inner: the inner transformation's state.
        clock: None where ``every_k`` is a Python int; otherwise the
            ``TransformState`` that holds ``every_k`` as data (its ``count``
            is the number of calls), read by ``hyperparams`` as ``every_k``.

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
    clock: TransformState | None = None


def _every_k_clock(every_k: Any) -> GradientTransformation:
    """A transformation whose update returns k for this call and counts the calls."""

    def tick(updates, inner, params, values, step):
        del updates, params, step
        return whole_value(values["every_k"], 1), inner

    hyper = schedulable("accumulate_gradients", every_k=every_k)
    return scheduled_transformation("accumulate_gradients", hyper, lambda params: None, tick)


@declare(
    Hyperparameter("inner", TRANSFORMATION, "the transformation to apply to the mean"),
    Hyperparameter("every_k", WholeNumber(minimum=1), "k: how many steps' gradients to average"),
    summary="averages k steps' gradients and applies a transformation to the mean every k steps",
    role="transform",
)
def accumulate_gradients(
    inner: TransformationLike, every_k: int | ScalarOrSchedule
) -> GradientTransformation:
    """Averages the gradients of ``every_k`` steps and applies ``inner`` to the mean.

    At steps k-1, 2k-1, ... (0-based) the updates are ``inner``'s update of
    the mean of the last k gradients; at the other steps they are zeros and
    ``inner``'s state does not change. So ``inner``'s step count, and its
    schedules, advance once per k steps: an optimiser scheduled over N
    applied steps runs N * k calls. The same semantics as optax's
    ``MultiSteps`` with ``use_grad_mean=True``; the sum is kept in float32
    (or wider). Extra keyword arguments to ``update`` are passed on to
    ``inner``'s on the steps that apply it.

    ``every_k`` takes two forms. A Python int is static: the state has no
    hyperparameter (``state.clock`` is None). A schedule, a callable or a
    JAX scalar is data, as every fromax hyperparameter: ``hyperparams``
    reports it as ``every_k`` and ``set_hyperparams`` changes it without a
    retrace (a growing batch: ``schedules.piecewise_constant``). Its value is
    read at each call, at the number of calls so far (not of applied
    steps), and rounded to the nearest integer >= 1: the mean is applied as
    soon as the sum holds that many gradients, and is the mean of the
    gradients it holds (so lowering k mid-way applies at once). No step
    count is taken modulo k, so nothing wraps when the int32 call count
    saturates at 2**31 - 1.

    Args:
        inner: a transformation (fromax's or optax's).
        every_k: k >= 1: a Python int (static), or a schedule, callable
            ``step -> k`` or JAX scalar (data, rounded each call).

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
        >>> opt = fromax.accumulate_gradients(fromax.sgd(1.0), fromax.schedules.constant(2))
        >>> state = fromax.set_hyperparams(opt.init(jnp.zeros(1)), every_k=1)
        >>> opt.update(jnp.array([1.0]), state)[0], fromax.hyperparams(state)["every_k"]
        (Array([-1.], dtype=float32), Array(1., dtype=float32))
    """
    k = int(every_k) if isinstance(every_k, numbers.Integral) else None
    clock = None if k is not None else _every_k_clock(every_k)
    inner_update = forward_extra(inner)

    def init(params: Any) -> AccumulateState:
        return AccumulateState(
            jnp.zeros((), jnp.int32),
            zeros_in_compute_dtype(params),
            inner.init(params),
            None if clock is None else clock.init(params),
        )

    def update(
        updates: Any, state: AccumulateState, params: Any = None, **extra: Any
    ) -> tuple[Any, AccumulateState]:
        check_state(state, AccumulateState, "accumulate_gradients")
        k_now: Any = k
        ticked = None
        if clock is not None:
            if not isinstance(state.clock, TransformState):
                raise TypeError(
                    "accumulate_gradients' update was given the state of one built with a "
                    "Python int every_k: pass the state that its init(params) returned"
                )
            k_now, ticked = clock.update(None, state.clock)
        total = map_arrays(
            lambda s, g: s + g.astype(s.dtype),
            state.accumulated,
            updates,
            names=("state.accumulated", "updates"),
        )
        zeros = map_arrays(jnp.zeros_like, updates, names=("updates",))
        # count < k <= 2**31 - 1 before this call, so count + 1 cannot wrap.
        count = state.count + 1

        def apply(total, inner_state):
            # A static k divides by the Python int (as always); a scheduled one by the
            # number of gradients actually in the sum.
            n = k if k is not None else count.astype(jnp.float32)
            mean = map_arrays(
                lambda s, g: (s / n).astype(g.dtype), total, updates, names=("sum", "updates")
            )
            new, inner_state = inner_update(mean, inner_state, params, **extra)
            new = map_arrays(
                lambda u, g: u.astype(g.dtype), new, updates, names=("inner's updates", "updates")
            )
            return new, map_arrays(jnp.zeros_like, total, names=("sum",)), inner_state

        def wait(total, inner_state):
            return zeros, total, inner_state

        full = count >= k_now
        new, total, inner_state = jax.lax.cond(full, apply, wait, total, state.inner)
        count = jnp.where(full, 0, count).astype(jnp.int32)
        return new, AccumulateState(count, total, inner_state, ticked)

    return GradientTransformation(init, update)
