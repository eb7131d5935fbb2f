"""Schedules that ramp up linearly, then hold, decay exponentially or as 1/sqrt(t)."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from fromax.schedules._base import (
    Schedule,
    as_flag,
    as_float_scalar,
    as_int_step,
    as_step_count,
)
from fromax.schedules._basic import exponential_value, interpolate

__all__ = ["inverse_sqrt", "warmup_constant", "warmup_exponential_decay"]


def linear_ramp(t: jax.Array, start: jax.Array, end: jax.Array, length: jax.Array) -> jax.Array:
    """From ``start`` at t = 0 to ``end`` at t = length (length 0: ``end``); int32 t, length."""
    return jnp.where(length > 0, interpolate(start, end, t, length), end)


class warmup_constant(Schedule):
    """Linear warm-up from ``init_value`` to ``peak_value``, then constant.

    value(t) = init_value + (peak_value - init_value) * t / W for t < W,
    ``peak_value`` from W = ``warmup_steps`` on. As optax's
    ``warmup_constant_schedule``, except with ``warmup_steps=0``: fromax
    starts at the peak, optax stays at ``init_value`` for ever.

    Args:
        init_value: the value at step 0.
        peak_value: the value from the end of the warm-up on.
        warmup_steps: W, >= 0.

    Example:
        >>> from fromax import schedules
        >>> s = schedules.warmup_constant(0.0, 1.0, warmup_steps=4)
        >>> [float(s(t)) for t in (0, 1, 4, 1000)]
        [0.0, 0.25, 1.0, 1.0]

    References:
        Goyal et al., Accurate, large minibatch SGD, 2017 (arXiv 1706.02677).
    """

    _leaves = ("init_value", "peak_value", "warmup_steps")

    def __init__(self, init_value: Any, peak_value: Any, warmup_steps: Any):
        self.init_value = as_float_scalar(init_value, "init_value")
        self.peak_value = as_float_scalar(peak_value, "peak_value")
        self.warmup_steps = as_step_count(warmup_steps, "warmup_steps")

    def _value(self, step: Any) -> jax.Array:
        t = as_int_step(step)
        ramp = linear_ramp(t, self.init_value, self.peak_value, self.warmup_steps)
        return jnp.where(t < self.warmup_steps, ramp, self.peak_value)

    def _boundaries(self, until: int) -> list[float]:
        return [float(self.warmup_steps)]


class warmup_exponential_decay(Schedule):
    """Linear warm-up to ``peak_value``, then exponential decay.

    For t < W (``warmup_steps``) as :class:`warmup_constant`; from W on,
    :class:`exponential_decay` with ``init_value=peak_value`` evaluated at
    t - W (so ``transition_begin`` counts from the end of the warm-up). As
    optax's ``warmup_exponential_decay_schedule``.

    Args:
        init_value: the value at step 0.
        peak_value: the value at the end of the warm-up.
        warmup_steps: W, >= 0.
        transition_steps: steps per factor of ``decay_rate``, positive.
        decay_rate: the factor per ``transition_steps``, positive.
        transition_begin: steps after the warm-up before decay starts, >= 0.
        staircase: decay in steps rather than continuously.
        end_value: optional bound on the value (a floor when decaying), or None.

    Example:
        >>> from fromax import schedules
        >>> s = schedules.warmup_exponential_decay(
        ...     0.0, 1.0, warmup_steps=10, transition_steps=10, decay_rate=0.5)
        >>> [float(s(t)) for t in (0, 5, 10, 20, 30)]
        [0.0, 0.5, 1.0, 0.5, 0.25]
    """

    _leaves = (
        "init_value",
        "peak_value",
        "warmup_steps",
        "transition_steps",
        "decay_rate",
        "transition_begin",
        "end_value",
    )
    _static = ("staircase",)

    def __init__(
        self,
        init_value: Any,
        peak_value: Any,
        warmup_steps: Any,
        transition_steps: Any,
        decay_rate: Any,
        transition_begin: Any = 0,
        staircase: bool = False,
        end_value: Any = None,
    ):
        self.init_value = as_float_scalar(init_value, "init_value")
        self.peak_value = as_float_scalar(peak_value, "peak_value")
        self.warmup_steps = as_step_count(warmup_steps, "warmup_steps")
        self.transition_steps = as_step_count(transition_steps, "transition_steps", positive=True)
        self.decay_rate = as_float_scalar(decay_rate, "decay_rate", positive=True)
        self.transition_begin = as_step_count(transition_begin, "transition_begin")
        self.staircase = as_flag(staircase, "staircase")
        self.end_value = None if end_value is None else as_float_scalar(end_value, "end_value")

    def _value(self, step: Any) -> jax.Array:
        t = as_int_step(step)
        warmup = self.warmup_steps
        ramp = linear_ramp(t, self.init_value, self.peak_value, self.warmup_steps)
        # Clamped before the second subtraction: t - W - b could pass -2**31.
        decay = exponential_value(
            jnp.maximum(t - warmup, 0) - self.transition_begin,
            self.peak_value,
            self.transition_steps,
            self.decay_rate,
            self.staircase,
            self.end_value,
        )
        return jnp.where(t < warmup, ramp, decay)

    def _boundaries(self, until: int) -> list[float]:
        warmup = float(self.warmup_steps)
        return [warmup, warmup + float(self.transition_begin)]


class inverse_sqrt(Schedule):
    """Linear warm-up, then decay as one over the square root of the step.

    value(t) = init_value + (peak_value - init_value) * t / W for t < W, and
    peak_value * sqrt(W / t) from W = ``warmup_steps`` on: the Transformer's
    schedule, which equals peak_value * min(t / W, sqrt(W / t)) when
    ``init_value`` is 0. It decays for ever (about peak_value / 1000 at
    t = 10**6 W). optax has no inverse-sqrt schedule.

    Args:
        init_value: the value at step 0.
        peak_value: the value at the end of the warm-up.
        warmup_steps: W, positive.

    Example:
        >>> from fromax import schedules
        >>> s = schedules.inverse_sqrt(0.0, 1.0, warmup_steps=100)
        >>> [float(s(t)) for t in (0, 50, 100, 400, 10_000)]
        [0.0, 0.5, 1.0, 0.5, 0.1]

    References:
        Vaswani et al., Attention is all you need, NeurIPS 2017 (arXiv 1706.03762).
    """

    _leaves = ("init_value", "peak_value", "warmup_steps")

    def __init__(self, init_value: Any, peak_value: Any, warmup_steps: Any):
        self.init_value = as_float_scalar(init_value, "init_value")
        self.peak_value = as_float_scalar(peak_value, "peak_value")
        self.warmup_steps = as_step_count(warmup_steps, "warmup_steps", positive=True)

    def _value(self, step: Any) -> jax.Array:
        t = as_int_step(step)
        ramp = linear_ramp(t, self.init_value, self.peak_value, self.warmup_steps)
        # W / t needs no exact t: a relative error of 2**-24 in t is half that in the value.
        decay = self.peak_value * jnp.sqrt(
            self.warmup_steps.astype(jnp.float32)
            / jnp.maximum(t, self.warmup_steps).astype(jnp.float32)
        )
        return jnp.where(t < self.warmup_steps, ramp, decay)

    def _boundaries(self, until: int) -> list[float]:
        return [float(self.warmup_steps)]
