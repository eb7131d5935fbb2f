"""Warm-up, a long constant phase, then a short cooldown (WSD)."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from fromax.schedules._base import (
    Schedule,
    as_choice,
    as_float_scalar,
    as_int_step,
    as_step_count,
    concrete_number,
)
from fromax.schedules._cosine import cosine_fraction
from fromax.schedules._warmup import linear_ramp

__all__ = ["warmup_stable_decay"]

COOLDOWN_SHAPES = ("linear", "cosine", "exponential", "1-sqrt")


class warmup_stable_decay(Schedule):
    """Warm-up, constant at ``peak_value``, then a cooldown to ``end_value``.

    With W = ``warmup_steps``, T = ``decay_steps`` (the total, warm-up
    included, as in :class:`warmup_cosine_decay`) and a cooldown of C steps
    (``cooldown_steps``, or ``cooldown_fraction * T``) starting at S = T - C:
    a linear ramp from ``init_value`` for t < W, ``peak_value`` for
    W <= t < S, then with p = (t - S) / C and
    d = peak_value - end_value:

    - ``"linear"``: end_value + d * (1 - p)
    - ``"cosine"``: end_value + d * (1 + cos(pi p)) / 2
    - ``"1-sqrt"``: end_value + d * (1 - sqrt(p))
    - ``"exponential"``: peak_value * (end_value / peak_value) ** p
      (geometric: needs peak_value and end_value of the same sign, non-zero)

    and ``end_value`` from T on. Give ``cooldown_steps`` or
    ``cooldown_fraction``, not both; with neither, the cooldown is the last
    20% of T. optax has no WSD schedule.

    Args:
        init_value: the value at step 0.
        peak_value: the value through the stable phase.
        warmup_steps: W, >= 0.
        decay_steps: T, the total length, warm-up and cooldown included.
        cooldown_steps: C, a number of steps (positive), or None.
        cooldown_fraction: C as a fraction of T, in (0, 1], or None.
        cooldown_shape: ``"linear"``, ``"cosine"``, ``"exponential"`` or ``"1-sqrt"``.
        end_value: the value at the end of the cooldown and after it.

    Example:
        >>> from fromax import schedules
        >>> s = schedules.warmup_stable_decay(
        ...     0.0, 1.0, warmup_steps=10, decay_steps=100, cooldown_steps=20,
        ...     cooldown_shape="1-sqrt")
        >>> [float(s(t)) for t in (0, 5, 10, 80, 85, 100, 500)]
        [0.0, 0.5, 1.0, 1.0, 0.5, 0.0, 0.0]

    References:
        Hu et al., MiniCPM, 2024 (arXiv 2404.06395); Hägele et al., Scaling
        laws and compute-optimal training beyond fixed training durations,
        NeurIPS 2024 (arXiv 2405.18392), for the 1-sqrt cooldown.
    """

    _leaves = (
        "init_value",
        "peak_value",
        "warmup_steps",
        "decay_steps",
        "cooldown_steps",
        "cooldown_fraction",
        "end_value",
    )
    _static = ("cooldown_shape",)

    def __init__(
        self,
        init_value: Any,
        peak_value: Any,
        warmup_steps: Any,
        decay_steps: Any,
        cooldown_steps: Any = None,
        cooldown_fraction: Any = None,
        cooldown_shape: str = "linear",
        end_value: Any = 0.0,
    ):
        self.init_value = as_float_scalar(init_value, "init_value")
        self.peak_value = as_float_scalar(peak_value, "peak_value")
        self.warmup_steps = as_step_count(warmup_steps, "warmup_steps")
        self.decay_steps = as_step_count(decay_steps, "decay_steps", positive=True)
        if cooldown_steps is not None and cooldown_fraction is not None:
            raise ValueError(
                "give cooldown_steps or cooldown_fraction, not both "
                f"(got {cooldown_steps!r} and {cooldown_fraction!r})"
            )
        if cooldown_steps is None and cooldown_fraction is None:
            cooldown_fraction = 0.2
        self.cooldown_steps = (
            None
            if cooldown_steps is None
            else as_step_count(cooldown_steps, "cooldown_steps", positive=True)
        )
        self.cooldown_fraction = (
            None
            if cooldown_fraction is None
            else as_float_scalar(cooldown_fraction, "cooldown_fraction", positive=True, maximum=1.0)
        )
        self.cooldown_shape = as_choice(cooldown_shape, "cooldown_shape", COOLDOWN_SHAPES)
        self.end_value = as_float_scalar(end_value, "end_value")
        self._check_lengths()
        if cooldown_shape == "exponential":
            peak, end = concrete_number(self.peak_value), concrete_number(self.end_value)
            if peak is not None and end is not None and not peak * end > 0:
                raise ValueError(
                    "cooldown_shape='exponential' needs peak_value and end_value of the same "
                    f"sign and non-zero (got {peak} and {end}); use '1-sqrt' or 'cosine' "
                    "to decay to 0"
                )

    def _check_lengths(self) -> None:
        total = concrete_number(self.decay_steps)
        warmup = concrete_number(self.warmup_steps)
        cooldown = concrete_number(self._cooldown_length())
        if total is None or warmup is None or cooldown is None:
            return
        if warmup + cooldown > total:
            raise ValueError(
                f"warmup_steps ({int(warmup)}) plus the cooldown ({cooldown:g} steps) must not "
                f"exceed decay_steps ({int(total)}), the total length"
            )

    def _cooldown_length(self) -> jax.Array:
        if self.cooldown_steps is not None:
            return self.cooldown_steps.astype(jnp.float32)
        assert self.cooldown_fraction is not None  # __init__ sets one of the two
        return self.cooldown_fraction * self.decay_steps.astype(jnp.float32)

    def _value(self, step: Any) -> jax.Array:
        t = as_int_step(step)
        cooldown = self._cooldown_length()
        # The fraction of the cooldown still to go, from T - t (in int32: exact at
        # every step), so exact near the end.
        remaining = jnp.clip((self.decay_steps - t).astype(jnp.float32) / cooldown, 0.0, 1.0)
        drop = self.peak_value - self.end_value
        if self.cooldown_shape == "linear":
            value = self.end_value + drop * remaining
        elif self.cooldown_shape == "cosine":
            value = self.end_value + drop * cosine_fraction(remaining, 1.0)
        elif self.cooldown_shape == "1-sqrt":
            # 1 - sqrt(p) = (1 - p) / (1 + sqrt(p)), without cancellation near p = 1.
            value = self.end_value + drop * remaining / (1.0 + jnp.sqrt(1.0 - remaining))
        else:
            value = self.peak_value * (self.end_value / self.peak_value) ** (1.0 - remaining)
        value = jnp.where(remaining <= 0.0, self.end_value, value)
        ramp = linear_ramp(t, self.init_value, self.peak_value, self.warmup_steps)
        return jnp.where(t < self.warmup_steps, ramp, value)

    def _boundaries(self, until: int) -> list[float]:
        total = float(self.decay_steps)
        return [float(self.warmup_steps), total - float(self._cooldown_length()), total]
