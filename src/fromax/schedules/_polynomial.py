"""Polynomial decay, and REX (a polynomial-like decay that stays high longer)."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from fromax.schedules._base import Schedule, as_float_scalar, as_int_step, as_step_count

__all__ = ["polynomial", "rex"]


class polynomial(Schedule):
    """Polynomial decay from ``init_value`` to ``end_value``.

    value(t) = (init_value - end_value) * (1 - s / T) ** power + end_value,
    with s = clip(t - ``transition_begin``, 0, T) and T = ``transition_steps``:
    ``init_value`` until the transition begins, ``end_value`` from its end
    on. ``power=1`` is :class:`linear`. As optax's ``polynomial_schedule``,
    except that a non-positive ``transition_steps`` or a negative
    ``transition_begin`` is an error (optax silently changes the schedule),
    and that from the end on the value is exactly ``end_value`` (optax's
    float32 1 - t / T can be 2**-24 there, which a power below 1 amplifies:
    2.4e-4 of the range at power 0.5).

    Args:
        init_value: the value up to ``transition_begin``.
        end_value: the value from ``transition_begin + transition_steps`` on.
        power: the exponent, positive.
        transition_steps: T, the length of the decay, positive.
        transition_begin: the step the decay starts at, >= 0.

    Example:
        >>> from fromax import schedules
        >>> s = schedules.polynomial(1.0, 0.0, power=2, transition_steps=10)
        >>> [float(s(t)) for t in (0, 5, 10, 100)]
        [1.0, 0.25, 0.0, 0.0]
    """

    _leaves = ("init_value", "end_value", "power", "transition_steps", "transition_begin")

    def __init__(
        self,
        init_value: Any,
        end_value: Any,
        power: Any,
        transition_steps: Any,
        transition_begin: Any = 0,
    ):
        self.init_value = as_float_scalar(init_value, "init_value")
        self.end_value = as_float_scalar(end_value, "end_value")
        self.power = as_float_scalar(power, "power", positive=True)
        self.transition_steps = as_step_count(transition_steps, "transition_steps", positive=True)
        self.transition_begin = as_step_count(transition_begin, "transition_begin")

    def _value(self, step: Any) -> jax.Array:
        total = self.transition_steps
        t = jnp.clip(as_int_step(step) - self.transition_begin, 0, total)
        # (T - s) / T rather than 1 - s / T: no cancellation near the end; T - s in
        # int32, exact at every step.
        remaining = (total - t).astype(jnp.float32) / total.astype(jnp.float32)
        return (self.init_value - self.end_value) * remaining**self.power + self.end_value

    def _boundaries(self, until: int) -> list[float]:
        begin = float(self.transition_begin)
        return [begin, begin + float(self.transition_steps)]


class rex(Schedule):
    """REX: decay that keeps the value high for longer than linear, then drops.

    value(t) = end_value + (init_value - end_value) * (1 - p) / (1 - p / 2),
    with p = min(t, T) / T and T = ``decay_steps``; ``end_value`` from T on.
    At the midpoint it is 2/3 of the way up, where linear decay is at 1/2.
    optax has no REX.

    Args:
        init_value: the value at step 0.
        decay_steps: T, the length of the decay, positive.
        end_value: the value from T on.

    Example:
        >>> from fromax import schedules
        >>> s = schedules.rex(1.0, decay_steps=100)
        >>> [round(float(s(t)), 4) for t in (0, 50, 100, 200)]
        [1.0, 0.6667, 0.0, 0.0]

    References:
        Chen, Wolfe & Kyrillidis, REX: Revisiting budgeted training with an
        improved schedule, MLSys 2022 (arXiv 2107.04197).
    """

    _leaves = ("init_value", "decay_steps", "end_value")

    def __init__(self, init_value: Any, decay_steps: Any, end_value: Any = 0.0):
        self.init_value = as_float_scalar(init_value, "init_value")
        self.decay_steps = as_step_count(decay_steps, "decay_steps", positive=True)
        self.end_value = as_float_scalar(end_value, "end_value")

    def _value(self, step: Any) -> jax.Array:
        total = self.decay_steps
        # (1 - p) / (1 - p / 2) = 2 r / (1 + r) with r = 1 - p, computed from T - t
        # (in int32: exact) so that the end of the decay keeps its digits.
        left = total - jnp.minimum(as_int_step(step), total)
        remaining = left.astype(jnp.float32) / total.astype(jnp.float32)
        factor = 2.0 * remaining / (1.0 + remaining)
        return self.end_value + (self.init_value - self.end_value) * factor

    def _boundaries(self, until: int) -> list[float]:
        return [float(self.decay_steps)]
