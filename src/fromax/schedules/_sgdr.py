"""Cosine decay with warm restarts (SGDR), each cycle longer and lower."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from fromax.schedules._base import (
    Schedule,
    as_float_scalar,
    as_float_step,
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

    def _cycle(self, t: jax.Array) -> tuple[jax.Array, jax.Array, jax.Array]:
        """The cycle index of float step t, where that cycle starts, and its length."""
        first = self.decay_steps.astype(jnp.float32)
        growing = self.t_mult > 1.0
        ratio = jnp.where(growing, self.t_mult, 2.0)  # a safe ratio for the unused branch

        def start(i: jax.Array) -> jax.Array:
            geometric = first * (ratio**i - 1.0) / (ratio - 1.0)
            return jnp.where(growing, geometric, first * i)

        guess = jnp.where(
            growing,
            jnp.floor(jnp.log1p(t / first * (ratio - 1.0)) / jnp.log(ratio)),
            jnp.floor(t / first),
        )
        # The logarithm may round to the neighbouring cycle near a restart.
        guess = jnp.where(start(guess) > t, guess - 1.0, guess)
        index = jnp.where(start(guess + 1.0) <= t, guess + 1.0, guess)
        length = first * jnp.where(growing, ratio**index, 1.0)
        return index, start(index), length

    def _value(self, step: Any) -> jax.Array:
        t = as_float_step(step)
        index, start, length = self._cycle(t)
        local = t - start
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
