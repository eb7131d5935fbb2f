"""Constant, linear and exponential schedules."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from fromax.schedules._base import Schedule, as_float_scalar, as_int_step, as_step_count

__all__ = ["constant", "exponential_decay", "linear"]


class constant(Schedule):
    """The same value at every step.

    fromax turns a number given as a hyperparameter into this.

    Args:
        value: the value, a finite number.

    Example:
        >>> from fromax import schedules
        >>> s = schedules.constant(0.01)
        >>> s
        constant(value=0.01)
        >>> float(s(1000))
        0.01
    """

    _leaves = ("value",)

    def __init__(self, value: Any):
        self.value = as_float_scalar(value, "value")

    def _value(self, step: Any) -> jax.Array:
        del step
        return self.value


class linear(Schedule):
    """Linear interpolation from ``init_value`` to ``end_value``.

    value(t) = init_value for t < b; init_value + (end_value - init_value) *
    (t - b) / transition_steps for b <= t < b + transition_steps; end_value
    from then on (b = ``transition_begin``). As optax's ``linear_schedule``.

    Args:
        init_value: the value up to ``transition_begin``.
        end_value: the value from ``transition_begin + transition_steps`` on.
        transition_steps: the length of the ramp, positive.
        transition_begin: the step the ramp starts at, >= 0.

    Example:
        >>> from fromax import schedules
        >>> s = schedules.linear(init_value=0.0, end_value=1.0, transition_steps=10)
        >>> [float(s(t)) for t in (0, 5, 10, 20)]
        [0.0, 0.5, 1.0, 1.0]
    """

    _leaves = ("init_value", "end_value", "transition_steps", "transition_begin")

    def __init__(
        self,
        init_value: Any,
        end_value: Any,
        transition_steps: Any,
        transition_begin: Any = 0,
    ):
        self.init_value = as_float_scalar(init_value, "init_value")
        self.end_value = as_float_scalar(end_value, "end_value")
        self.transition_steps = as_step_count(transition_steps, "transition_steps", positive=True)
        self.transition_begin = as_step_count(transition_begin, "transition_begin")

    def _value(self, step: Any) -> jax.Array:
        t = as_int_step(step) - self.transition_begin
        return interpolate(self.init_value, self.end_value, t, self.transition_steps)

    def _boundaries(self, until: int) -> list[float]:
        begin = float(self.transition_begin)
        return [begin, begin + float(self.transition_steps)]


def interpolate(start: jax.Array, end: jax.Array, t: jax.Array, length: jax.Array) -> jax.Array:
    """``start`` at t <= 0, ``end`` at t >= ``length``, a straight line between.

    ``t`` and ``length`` are int32 step counts. Computed as (1 - f) * start + f *
    end with both weights from exact step counts (t and length - t in int32, then
    float32), so that each end is exact: in float32, start + (end - start) * f
    ends a ramp from 1.0 to 1e-4 at 1.00017e-4, and a float32 t past 2**24 is
    rounded.
    """
    length = jnp.maximum(length.astype(jnp.int32), 1)
    t = jnp.clip(t.astype(jnp.int32), 0, length)
    size = length.astype(jnp.float32)
    done = t.astype(jnp.float32) / size
    left = (length - t).astype(jnp.float32) / size
    return left * start + done * end


class exponential_decay(Schedule):
    """Exponential decay: ``init_value * decay_rate ** (t / transition_steps)``.

    With t counted from ``transition_begin`` (the value is ``init_value``
    before it); ``staircase=True`` floors the exponent, so the value drops
    once every ``transition_steps``. ``end_value``, if given, bounds the
    value: a floor when ``decay_rate < 1``, a ceiling when it is > 1. As
    optax's ``exponential_decay``.

    Args:
        init_value: the value at the start.
        transition_steps: steps per factor of ``decay_rate``, positive.
        decay_rate: the factor per ``transition_steps``, positive.
        transition_begin: the step decay starts at, >= 0.
        staircase: decay in steps rather than continuously.
        end_value: optional bound on the value, or None.

    Example:
        >>> from fromax import schedules
        >>> s = schedules.exponential_decay(1.0, transition_steps=10, decay_rate=0.5)
        >>> [float(s(t)) for t in (0, 10, 20)]
        [1.0, 0.5, 0.25]
        >>> stairs = s.replace(staircase=True)
        >>> float(stairs(19))
        0.5
    """

    _leaves = ("init_value", "transition_steps", "decay_rate", "transition_begin", "end_value")
    _static = ("staircase",)

    def __init__(
        self,
        init_value: Any,
        transition_steps: Any,
        decay_rate: Any,
        transition_begin: Any = 0,
        staircase: bool = False,
        end_value: Any = None,
    ):
        self.init_value = as_float_scalar(init_value, "init_value")
        self.transition_steps = as_step_count(transition_steps, "transition_steps", positive=True)
        self.decay_rate = as_float_scalar(decay_rate, "decay_rate", positive=True)
        self.transition_begin = as_step_count(transition_begin, "transition_begin")
        if not isinstance(staircase, bool):
            raise TypeError(f"staircase must be True or False, got {staircase!r}")
        self.staircase = staircase
        self.end_value = None if end_value is None else as_float_scalar(end_value, "end_value")

    def _value(self, step: Any) -> jax.Array:
        return exponential_value(
            as_int_step(step) - self.transition_begin,
            self.init_value,
            self.transition_steps,
            self.decay_rate,
            self.staircase,
            self.end_value,
        )

    def _boundaries(self, until: int) -> list[float]:
        return [float(self.transition_begin)]


def exponential_value(
    t: jax.Array,
    init_value: jax.Array,
    transition_steps: jax.Array,
    decay_rate: jax.Array,
    staircase: bool,
    end_value: jax.Array | None,
) -> jax.Array:
    """``init_value * decay_rate ** (t / transition_steps)`` for t >= 0, bounded by end_value.

    ``t`` is an int32 step count: the staircase's floor is an integer division,
    exact at every step (a float32 one is off by a stair near 2**27).
    """
    t = jnp.maximum(t.astype(jnp.int32), 0)
    if staircase:
        exponent = (t // transition_steps).astype(jnp.float32)
    else:
        exponent = t.astype(jnp.float32) / transition_steps.astype(jnp.float32)
    value = init_value * decay_rate**exponent
    if end_value is not None:
        value = jnp.where(
            decay_rate < 1, jnp.maximum(value, end_value), jnp.minimum(value, end_value)
        )
    return value
