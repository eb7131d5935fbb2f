"""Schedules built from schedules: scaled, multiplied, clipped, shifted in time."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from fromax.schedules._base import (
    Schedule,
    _concrete,
    as_float_scalar,
    as_int_step,
    as_step_count,
)
from fromax.schedules._convert import as_schedule

__all__ = ["clip", "multiply", "offset", "product", "scale"]


class scale(Schedule):
    """A schedule multiplied by a constant: ``factor * schedule(t)``.

    ``factor * schedule`` and ``schedule * factor`` build one.

    Args:
        schedule: a schedule (or a number or callable, converted).
        factor: the constant factor, finite.

    Example:
        >>> from fromax import schedules
        >>> s = 0.5 * schedules.linear(0.0, 1.0, transition_steps=10)
        >>> s
        scale(schedule=linear(init_value=0.0, end_value=1.0, transition_steps=10,
        transition_begin=0), factor=0.5)
        >>> float(s(10))
        0.5
    """

    _leaves = ("schedule", "factor")

    def __init__(self, schedule: Any, factor: Any):
        self.schedule = as_schedule(schedule, "schedule")
        self.factor = as_float_scalar(factor, "factor")

    def _value(self, step: Any) -> jax.Array:
        return self.factor * self.schedule(step)

    def _boundaries(self, until: int) -> list[float]:
        return self.schedule._boundaries(until)


class product(Schedule):
    """Schedules multiplied together, step by step: ``s_0(t) * s_1(t) * ...``.

    ``schedule * schedule`` builds one, e.g. a warm-up factor times a decay.

    Args:
        schedules: the factors, at least one (numbers and callables are converted).

    Example:
        >>> from fromax import schedules
        >>> warmup = schedules.linear(0.0, 1.0, transition_steps=10)
        >>> s = warmup * schedules.rex(1e-3, decay_steps=100)
        >>> [round(float(s(t)), 7) for t in (0, 5, 50)]
        [0.0, 0.0004872, 0.0006667]
    """

    _leaves = ("schedules",)

    def __init__(self, schedules: Sequence[Any]):
        if isinstance(schedules, Schedule | str) or not isinstance(schedules, Sequence):
            raise TypeError(f"schedules must be a list of schedules, got {schedules!r}")
        if len(schedules) == 0:
            raise ValueError("schedules must hold at least one schedule")
        self.schedules = tuple(as_schedule(s, f"schedules[{i}]") for i, s in enumerate(schedules))

    def _value(self, step: Any) -> jax.Array:
        value = self.schedules[0](step)
        for factor in self.schedules[1:]:
            value = value * factor(step)
        return value

    def _boundaries(self, until: int) -> list[float]:
        return sorted({b for s in self.schedules for b in s._boundaries(until)})


class clip(Schedule):
    """A schedule held within [``min_value``, ``max_value``].

    Args:
        schedule: a schedule (or a number or callable, converted).
        min_value: the lower bound, or None for none.
        max_value: the upper bound, or None for none; at least one is given,
            and ``min_value <= max_value``.

    Example:
        >>> from fromax import schedules
        >>> s = schedules.clip(schedules.inverse_sqrt(0.0, 1.0, warmup_steps=100), min_value=0.2)
        >>> [float(s(t)) for t in (0, 100, 400, 10_000)]
        [0.2, 1.0, 0.5, 0.2]
    """

    _leaves = ("schedule", "min_value", "max_value")

    def __init__(self, schedule: Any, min_value: Any = None, max_value: Any = None):
        self.schedule = as_schedule(schedule, "schedule")
        if min_value is None and max_value is None:
            raise ValueError("give min_value, max_value or both")
        self.min_value = None if min_value is None else as_float_scalar(min_value, "min_value")
        self.max_value = None if max_value is None else as_float_scalar(max_value, "max_value")
        if self.min_value is not None and self.max_value is not None:
            low, high = _concrete(self.min_value), _concrete(self.max_value)
            if low is not None and high is not None and float(low) > float(high):
                raise ValueError(
                    f"min_value ({float(low)}) must not exceed max_value ({float(high)})"
                )

    def _value(self, step: Any) -> jax.Array:
        return jnp.clip(self.schedule(step), self.min_value, self.max_value)

    def _boundaries(self, until: int) -> list[float]:
        return self.schedule._boundaries(until)


class offset(Schedule):
    """A schedule shifted in time: ``schedule(max(t - steps, 0))``.

    A positive ``steps`` delays it, holding its first value meanwhile; a
    negative one starts it part-way, e.g. to resume a run at step ``-steps``.

    Args:
        schedule: a schedule (or a number or callable, converted).
        steps: the shift, a whole number of steps (either sign).

    Example:
        >>> from fromax import schedules
        >>> s = schedules.linear(0.0, 1.0, transition_steps=10)
        >>> [float(schedules.offset(s, 5)(t)) for t in (0, 5, 10, 15)]
        [0.0, 0.0, 0.5, 1.0]
        >>> float(schedules.offset(s, -5)(0))
        0.5
    """

    _leaves = ("schedule", "steps")

    def __init__(self, schedule: Any, steps: Any):
        self.schedule = as_schedule(schedule, "schedule")
        self.steps = as_step_count(steps, "steps", signed=True)

    def _value(self, step: Any) -> jax.Array:
        step = as_int_step(step)
        # Shifted back (steps < 0) past 2**31 - 1, the step saturates there as the
        # optimiser's count does, instead of wrapping to a negative int32.
        limit = np.iinfo(np.int32).max + jnp.minimum(self.steps, 0)
        shifted = jnp.where(step > limit, np.iinfo(np.int32).max, step - self.steps)
        return self.schedule(jnp.maximum(shifted, 0))

    def _boundaries(self, until: int) -> list[float]:
        shift = float(self.steps)
        inner = self.schedule._boundaries(int(until - shift))
        return [shift, *(b + shift for b in inner)] if shift > 0 else [b + shift for b in inner]


def multiply(left: Any, right: Any) -> Schedule:
    """``left * right``, one of them a schedule: ``product`` of two schedules, or
    ``scale`` by a number (``Schedule.__mul__`` and ``__rmul__``)."""
    if isinstance(left, Schedule) and isinstance(right, Schedule):
        return product([left, right])
    schedule, factor = (left, right) if isinstance(left, Schedule) else (right, left)
    if isinstance(factor, int | float) and not isinstance(factor, bool):
        return scale(schedule, factor)
    return NotImplemented
