"""Schedules joined end to end at step boundaries."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from fromax.schedules._base import Schedule, _concrete, as_step_count

__all__ = ["join"]


class join(Schedule):
    """Schedules one after another: each later one sees ``step - boundary``.

    ``schedules[0]`` runs for t < boundaries[0]; ``schedules[i]`` for
    boundaries[i-1] <= t < boundaries[i], evaluated at t - boundaries[i-1];
    the last one runs from the last boundary on, for ever. As optax's
    ``join_schedules``. Plain numbers and callables are accepted as pieces.

    Args:
        schedules: the pieces, at least one.
        boundaries: ``len(schedules) - 1`` strictly increasing steps, >= 0.

    Example:
        >>> from fromax import schedules
        >>> s = schedules.join(
        ...     [schedules.linear(0.0, 1.0, transition_steps=10), 1.0,
        ...      schedules.exponential_decay(1.0, transition_steps=10, decay_rate=0.5)],
        ...     boundaries=[10, 20])
        >>> [float(s(t)) for t in (5, 10, 20, 30)]
        [0.5, 1.0, 1.0, 0.5]
    """

    _leaves = ("schedules", "boundaries")

    def __init__(self, schedules: Sequence[Any], boundaries: Sequence[Any]):
        from fromax.schedules._convert import as_schedule

        if isinstance(schedules, Schedule) or not isinstance(schedules, Sequence):
            raise TypeError("schedules must be a list of schedules")
        if len(schedules) == 0:
            raise ValueError("schedules must hold at least one schedule")
        if isinstance(boundaries, str) or not isinstance(
            boundaries, Sequence | np.ndarray | jax.Array
        ):
            raise TypeError("boundaries must be a list of steps")
        if len(boundaries) != len(schedules) - 1:
            raise ValueError(
                f"boundaries must hold len(schedules) - 1 = {len(schedules) - 1} steps, "
                f"got {len(boundaries)}"
            )
        self.schedules = tuple(as_schedule(s, f"schedules[{i}]") for i, s in enumerate(schedules))
        steps = [as_step_count(b, f"boundaries[{i}]") for i, b in enumerate(boundaries)]
        concrete = [_concrete(b) for b in steps]
        for i in range(1, len(concrete)):
            before, after = concrete[i - 1], concrete[i]
            if before is not None and after is not None and not after > before:
                raise ValueError(
                    f"boundaries must increase strictly, got {int(before)} "
                    f"then {int(after)} at boundaries[{i}]"
                )
        self.boundaries = jnp.stack(steps) if steps else jnp.zeros((0,), jnp.int32)

    def _value(self, step: Any) -> jax.Array:
        step = jnp.asarray(step)
        value = self.schedules[0](step)
        for i, piece in enumerate(self.schedules[1:]):
            start = self.boundaries[i]
            value = jnp.where(step >= start, piece(jnp.maximum(step - start, 0)), value)
        return value

    def _boundaries(self, until: int) -> list[float]:
        starts = [0.0, *(float(b) for b in np.asarray(self.boundaries))]
        ends = [*starts[1:], float("inf")]
        steps = starts[1:]
        for piece, start, end in zip(self.schedules, starts, ends, strict=True):
            steps += [start + b for b in piece._boundaries(until) if start + b < end]
        return steps
