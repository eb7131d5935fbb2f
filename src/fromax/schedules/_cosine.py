"""Cosine decay, alone and after a linear warm-up (Loshchilov & Hutter 2017)."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from fromax.schedules._base import (
    Schedule,
    _concrete,
    as_float_scalar,
    as_int_step,
    as_step_count,
)

__all__ = ["cosine_decay", "warmup_cosine_decay"]


def cosine_fraction(remaining: jax.Array, exponent: jax.Array | float) -> jax.Array:
    """((1 + cos(pi p)) / 2) ** exponent with p = 1 - ``remaining``, clipped to [0, 1].

    Computed as sin(pi (1 - p) / 2) ** (2 exponent): the same number, but
    float32 does not cancel it near the end of the decay, where 1 + cos(pi p)
    loses most of its digits (optax's form is 4e-5 off there).
    """
    remaining = jnp.clip(remaining, 0.0, 1.0)
    return jnp.sin(0.5 * jnp.pi * remaining) ** (2.0 * exponent)


class cosine_decay(Schedule):
    """Cosine decay from ``init_value`` to ``alpha * init_value``.

    value(t) = init_value * ((1 - alpha) * c(t) ** exponent + alpha), with
    c(t) = (1 + cos(pi * min(t, T) / T)) / 2 and T = ``decay_steps``; it
    stays at ``alpha * init_value`` after T. As optax's
    ``cosine_decay_schedule``.

    Args:
        init_value: the value at step 0.
        decay_steps: T, the length of the decay, positive.
        alpha: the final value as a fraction of ``init_value``.
        exponent: the power applied to the cosine factor, positive.

    Example:
        >>> from fromax import schedules
        >>> s = schedules.cosine_decay(1.0, decay_steps=100, alpha=0.1)
        >>> [round(float(s(t)), 4) for t in (0, 50, 100, 500)]
        [1.0, 0.55, 0.1, 0.1]

    References:
        Loshchilov & Hutter, SGDR: Stochastic gradient descent with warm
        restarts, ICLR 2017 (arXiv 1608.03983).
    """

    _leaves = ("init_value", "decay_steps", "alpha", "exponent")

    def __init__(self, init_value: Any, decay_steps: Any, alpha: Any = 0.0, exponent: Any = 1.0):
        self.init_value = as_float_scalar(init_value, "init_value")
        self.decay_steps = as_step_count(decay_steps, "decay_steps", positive=True)
        self.alpha = as_float_scalar(alpha, "alpha")
        self.exponent = as_float_scalar(exponent, "exponent", positive=True)

    def _value(self, step: Any) -> jax.Array:
        # T - t in int32 first: exact at every step (float32 steps are rounded past 2**24).
        remaining = (self.decay_steps - as_int_step(step)).astype(jnp.float32)
        fraction = cosine_fraction(remaining / self.decay_steps.astype(jnp.float32), self.exponent)
        return self.init_value * ((1.0 - self.alpha) * fraction + self.alpha)

    def _boundaries(self, until: int) -> list[float]:
        return [float(self.decay_steps)]


class warmup_cosine_decay(Schedule):
    """Linear warm-up to ``peak_value``, then cosine decay to ``end_value``.

    For t < W (``warmup_steps``): init_value + (peak_value - init_value) * t / W.
    From W to T (``decay_steps``, which counts the warm-up, as in optax):
    end_value + (peak_value - end_value) * c ** exponent, with
    c = (1 + cos(pi * (t - W) / (T - W))) / 2. From T on: ``end_value``.
    As optax's ``warmup_cosine_decay_schedule``.

    Args:
        init_value: the value at step 0.
        peak_value: the value at the end of the warm-up.
        warmup_steps: W, >= 0 (0: start at the peak).
        decay_steps: T, the total length, greater than ``warmup_steps``.
        end_value: the value from T on.
        exponent: the power applied to the cosine factor, positive.

    Example:
        >>> from fromax import schedules
        >>> s = schedules.warmup_cosine_decay(
        ...     init_value=0.0, peak_value=1.0, warmup_steps=10, decay_steps=110)
        >>> [round(float(s(t)), 4) for t in (0, 5, 10, 60, 110, 1000)]
        [0.0, 0.5, 1.0, 0.5, 0.0, 0.0]

    References:
        Goyal et al., Accurate, large minibatch SGD, 2017 (arXiv 1706.02677);
        Loshchilov & Hutter, SGDR, ICLR 2017 (arXiv 1608.03983).
    """

    _leaves = ("init_value", "peak_value", "warmup_steps", "decay_steps", "end_value", "exponent")

    def __init__(
        self,
        init_value: Any,
        peak_value: Any,
        warmup_steps: Any,
        decay_steps: Any,
        end_value: Any = 0.0,
        exponent: Any = 1.0,
    ):
        self.init_value = as_float_scalar(init_value, "init_value")
        self.peak_value = as_float_scalar(peak_value, "peak_value")
        self.warmup_steps = as_step_count(warmup_steps, "warmup_steps")
        self.decay_steps = as_step_count(decay_steps, "decay_steps", positive=True)
        self.end_value = as_float_scalar(end_value, "end_value")
        self.exponent = as_float_scalar(exponent, "exponent", positive=True)
        warmup, total = _concrete(self.warmup_steps), _concrete(self.decay_steps)
        if warmup is not None and total is not None and not total > warmup:
            raise ValueError(
                f"decay_steps ({int(total)}) must be greater than warmup_steps "
                f"({int(warmup)}): decay_steps is the total length, warm-up included"
            )

    def _value(self, step: Any) -> jax.Array:
        t = as_int_step(step)
        warmup = self.warmup_steps.astype(jnp.float32)
        ramp = self.init_value + (self.peak_value - self.init_value) * t.astype(
            jnp.float32
        ) / jnp.maximum(warmup, 1.0)
        # Step differences in int32 first: exact at every step.
        remaining = (self.decay_steps - t).astype(jnp.float32)
        length = (self.decay_steps - self.warmup_steps).astype(jnp.float32)
        fraction = cosine_fraction(remaining / length, self.exponent)
        anneal = self.end_value + (self.peak_value - self.end_value) * fraction
        return jnp.where(t < self.warmup_steps, ramp, anneal)

    def _boundaries(self, until: int) -> list[float]:
        return [float(self.warmup_steps), float(self.decay_steps)]
