"""Cosine decay with warm restarts (SGDR), each cycle longer and lower."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from fromax.schedules._base import (
    Schedule,
    as_float_scalar,
    as_int_step,
    as_step_count,
    concrete_number,
)
from fromax.schedules._cosine import cosine_fraction

__all__ = ["sgdr"]


class sgdr(Schedule):
    """Cosine decay restarted at the end of every cycle (SGDR).

    Cycle i (from 0) lasts L_i = T * t_mult ** i steps (T = ``decay_steps``)
    and peaks at P_i = init_value * m_mul ** i. Within it, at local step s:
    a linear warm-up from alpha * P_i to P_i over the first
    ``warmup_steps`` (W), then alpha * P_i + (1 - alpha) * P_i * c with
    c = (1 + cos(pi * (s - W) / (L_i - W))) / 2. It restarts for ever.

    Keras' ``CosineDecayRestarts`` (``t_mul``, ``m_mul``, ``alpha``) when
    W = 0. optax's ``sgdr_schedule`` takes a list of per-cycle
    ``warmup_cosine_decay`` arguments instead; this equals it with cycle i's
    ``init_value = end_value = alpha * P_i``, ``peak_value = P_i``,
    ``decay_steps = L_i``.

    Long runs: with a whole ``t_mult`` (1, 2, 3, ...) every cycle starts at a
    whole step, found in int32 arithmetic: exact at every step below 2**31.
    With a fractional one a cycle starts at a fraction of a step,
    T (t_mult**i - 1) / (t_mult - 1), computed in float32: past 2**24 a
    restart may come up to 2e-7 of its step early or late (a few hundred steps
    at 10**9); elsewhere the value is within float32 rounding of the formula.

    Args:
        init_value: P_0, the first cycle's peak.
        decay_steps: T, the first cycle's length (warm-up included), positive.
        t_mult: the factor on each next cycle's length, >= 1.
        m_mul: the factor on each next cycle's peak, positive.
        alpha: the value at the end of each cycle as a fraction of its peak.
        warmup_steps: W, the warm-up at the start of every cycle, < T.

    Example:
        >>> from fromax import schedules
        >>> s = schedules.sgdr(1.0, decay_steps=10, t_mult=2.0, m_mul=0.5)
        >>> [round(float(s(t)), 4) for t in (0, 5, 10, 20, 30, 70)]
        [1.0, 0.5, 0.5, 0.25, 0.25, 0.125]

    References:
        Loshchilov & Hutter, SGDR: Stochastic gradient descent with warm
        restarts, ICLR 2017 (arXiv 1608.03983).
    """

    _leaves = ("init_value", "decay_steps", "t_mult", "m_mul", "alpha", "warmup_steps")

    def __init__(
        self,
        init_value: Any,
        decay_steps: Any,
        t_mult: Any = 1.0,
        m_mul: Any = 1.0,
        alpha: Any = 0.0,
        warmup_steps: Any = 0,
    ):
        self.init_value = as_float_scalar(init_value, "init_value")
        self.decay_steps = as_step_count(decay_steps, "decay_steps", positive=True)
        self.t_mult = as_float_scalar(t_mult, "t_mult", minimum=1.0)
        self.m_mul = as_float_scalar(m_mul, "m_mul", positive=True)
        self.alpha = as_float_scalar(alpha, "alpha")
        self.warmup_steps = as_step_count(warmup_steps, "warmup_steps")
        warmup, total = concrete_number(self.warmup_steps), concrete_number(self.decay_steps)
        if warmup is not None and total is not None and not warmup < total:
            raise ValueError(
                f"warmup_steps ({int(warmup)}) must be less than decay_steps ({int(total)}), "
                "the first cycle's length"
            )

    def _value(self, step: Any) -> jax.Array:
        t = as_int_step(step)
        first = self.decay_steps
        ratio = self.t_mult
        # Three ways to the cycle's index and the position in it, each exact where it
        # applies (a float32 step past 2**24 is rounded: sgdr(0.1, 100) once gave
        # -12.8 at step 2**31 - 129). All are computed; the t_mult chooses.
        equal_index = t // first
        equal_local = (t - equal_index * first).astype(jnp.float32)
        whole_index, whole_local = _whole_ratio_cycle(t, first, ratio)
        real_index, real_local = _real_ratio_cycle(t, first, ratio)
        equal = ratio == 1.0
        whole = (ratio >= 2.0) & (ratio == jnp.floor(ratio)) & (ratio <= _MAX_WHOLE_RATIO)
        index = jnp.where(
            equal,
            equal_index.astype(jnp.float32),
            jnp.where(whole, whole_index.astype(jnp.float32), real_index),
        )
        local = jnp.where(equal, equal_local, jnp.where(whole, whole_local, real_local))
        length = first.astype(jnp.float32) * jnp.where(equal, 1.0, ratio**index)
        # A cycle found one off near a restart (float32 rounding) stays within it.
        local = jnp.clip(local, 0.0, length)
        peak = self.init_value * self.m_mul**index
        low = self.alpha * peak
        warmup = self.warmup_steps.astype(jnp.float32)
        ramp = low + (peak - low) * local / jnp.maximum(warmup, 1.0)
        anneal = low + (peak - low) * cosine_fraction((length - local) / (length - warmup), 1.0)
        return jnp.where(local < warmup, ramp, anneal)

    def _boundaries(self, until: int) -> list[float]:
        steps: list[float] = []
        start, length = 0.0, float(self.decay_steps)
        warmup = float(self.warmup_steps)
        while start <= until and len(steps) < 1000:
            steps += [start + warmup] if warmup else []
            start += length
            length *= float(self.t_mult)
            steps.append(start)
        return steps


_INT32_MAX = int(np.iinfo(np.int32).max)
# Whole ratios up to this are walked cycle by cycle in int32 (at most 31 cycles
# fit below 2**31); larger ones go the float32 way, exact enough there.
_MAX_WHOLE_RATIO = 2.0**15


def _whole_ratio_cycle(t: jax.Array, first: jax.Array, ratio: jax.Array) -> tuple[Any, Any]:
    """The cycle holding step t and t's position in it, for a whole ratio >= 2.

    Every cycle's start and length is a whole number of steps: walked in int32,
    exactly, saturating where a start passes int32 (no step reaches it).
    """
    r = jnp.clip(ratio, 2.0, _MAX_WHOLE_RATIO).astype(jnp.int32)
    start, length = jnp.zeros((), jnp.int32), first
    fits, length_fits = jnp.ones((), bool), jnp.ones((), bool)
    index, current = jnp.zeros((), jnp.int32), jnp.zeros((), jnp.int32)
    for i in range(1, 32):  # with a ratio >= 2, cycle 31 starts past 2**31 - 1
        fits = fits & length_fits & (start <= _INT32_MAX - length)
        start = jnp.where(fits, start + length, start)
        length_fits = length_fits & (length <= _INT32_MAX // r)
        length = jnp.where(length_fits, length * r, length)
        reached = fits & (start <= t)
        index = jnp.where(reached, i, index)
        current = jnp.where(reached, start, current)
    return index, (t - current).astype(jnp.float32)


def _real_ratio_cycle(t: jax.Array, first: jax.Array, ratio: jax.Array) -> tuple[Any, Any]:
    """The cycle holding step t and t's position in it, for any ratio > 1, in float32.

    A cycle's start L (r**i - 1) / (r - 1) is a fraction of a step; it is rounded
    to float32 (relative error about 1e-7), then t's position is taken from its
    integer part exactly, so the only error is that of the start itself.
    """
    size = first.astype(jnp.float32)
    growing = ratio > 1.0
    r = jnp.where(growing, ratio, 2.0)  # a safe ratio for the unused branch

    def start_of(i: jax.Array) -> jax.Array:
        return size * (r**i - 1.0) / (r - 1.0)

    steps = t.astype(jnp.float32)
    guess = jnp.floor(jnp.log1p(steps / size * (r - 1.0)) / jnp.log(r))
    # The logarithm may round to the neighbouring cycle near a restart.
    guess = jnp.where(start_of(guess) > steps, guess - 1.0, guess)
    index = jnp.maximum(jnp.where(start_of(guess + 1.0) <= steps, guess + 1.0, guess), 0.0)
    start = start_of(index)
    whole = jnp.minimum(jnp.floor(start), float(2**31 - 128))  # float32 below 2**31
    local = (t - whole.astype(jnp.int32)).astype(jnp.float32) - (start - jnp.floor(start))
    return index, local
