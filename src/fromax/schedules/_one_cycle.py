"""The one-cycle schedule: up to a peak and down far below the start."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from fromax.schedules._base import (
    Schedule,
    as_choice,
    as_flag,
    as_float_scalar,
    as_int_step,
    as_step_count,
    concrete_number,
)
from fromax.schedules._cosine import cosine_fraction

__all__ = ["one_cycle"]


def _since(t: jax.Array, point: jax.Array) -> jax.Array:
    """``t - point`` in float32 for an int32 step t and a point that is an int32 step
    or a float32 fraction of one: the whole steps are subtracted in int32, exactly
    (a float32 t past 2**24 is rounded), then the point's fraction."""
    if jnp.issubdtype(point.dtype, jnp.integer):
        return (t - point).astype(jnp.float32)
    # float32(2**31 - 1) is 2**31, past int32; every point here is at most T.
    whole = jnp.minimum(jnp.floor(point), float(2**31 - 128))
    return (t - whole.astype(jnp.int32)).astype(jnp.float32) - (point - whole)


def _anneal(
    start: jax.Array,
    end: jax.Array,
    t: jax.Array,
    begin: jax.Array,
    finish: jax.Array,
    strategy: str,
) -> jax.Array:
    """From ``start`` at step ``begin`` to ``end`` at step ``finish``, linear or half cosine.

    ``t`` is an int32 step; ``begin`` and ``finish`` int32 or float32 steps.
    """
    length = finish.astype(jnp.float32) - begin.astype(jnp.float32)
    done = jnp.clip(_since(t, begin) / length, 0.0, 1.0)
    left = jnp.clip(-_since(t, finish) / length, 0.0, 1.0)  # not 1 - done: no cancellation
    if strategy == "linear":
        from_start, from_end = start + (end - start) * done, end + (start - end) * left
    else:
        from_start = start + (end - start) * cosine_fraction(done, 1.0)
        from_end = end + (start - end) * cosine_fraction(left, 1.0)
    # Anchored at the end nearer zero, so that small values keep their digits.
    return jnp.where(jnp.abs(start) <= jnp.abs(end), from_start, from_end)


class one_cycle(Schedule):
    """One cycle: up from peak_value / div_factor to the peak, then far down.

    With T = ``transition_steps``, U = pct_start * T, start value
    a = peak_value / div_factor and final value
    z = a / final_div_factor, annealing (``"cos"``: by a half cosine,
    ``"linear"``: by a straight line):

    - two phases: a to peak_value over [0, U], then peak_value to z over [U, T];
    - ``three_phase=True``: a to peak_value over [0, U], back to a over
      [U, 2U], then to z over [2U, T].

    It stays at z from T on. optax's ``cosine_onecycle_schedule`` is the
    two-phase cosine, and ``linear_onecycle_schedule(pct_final=2 * pct_start)``
    the three-phase linear one, except that optax rounds U down to a whole
    step (``int(pct_start * T)``) where fromax uses it as it is.

    Long runs: U = pct_start * T is a float32 number (as pct_start is), so past
    2**24 it is rounded to within 6e-8 of itself; the steps' positions
    relative to it and to T are exact. The value is continuous at U.

    Args:
        transition_steps: T, the length of the cycle, positive.
        peak_value: the value at the top of the cycle.
        pct_start: U / T, the fraction of the cycle spent going up, in (0, 1)
            (in (0, 0.5) with ``three_phase``).
        div_factor: peak_value / the start value, positive.
        final_div_factor: the start value / the final value, positive.
        anneal_strategy: ``"cos"`` or ``"linear"``.
        three_phase: come back to the start value before the final anneal.

    Example:
        >>> from fromax import schedules
        >>> s = schedules.one_cycle(100, peak_value=1.0, pct_start=0.25, div_factor=10.0,
        ...                         final_div_factor=100.0, anneal_strategy="linear")
        >>> [round(float(s(t)), 4) for t in (0, 25, 100, 1000)]
        [0.1, 1.0, 0.001, 0.001]

    References:
        Smith & Topin, Super-convergence, 2017 (arXiv 1708.07120).
    """

    _leaves = ("transition_steps", "peak_value", "pct_start", "div_factor", "final_div_factor")
    _static = ("anneal_strategy", "three_phase")

    def __init__(
        self,
        transition_steps: Any,
        peak_value: Any,
        pct_start: Any = 0.3,
        div_factor: Any = 25.0,
        final_div_factor: Any = 1e4,
        anneal_strategy: str = "cos",
        three_phase: bool = False,
    ):
        self.transition_steps = as_step_count(transition_steps, "transition_steps", positive=True)
        self.peak_value = as_float_scalar(peak_value, "peak_value")
        self.pct_start = as_float_scalar(pct_start, "pct_start", positive=True)
        self.div_factor = as_float_scalar(div_factor, "div_factor", positive=True)
        self.final_div_factor = as_float_scalar(final_div_factor, "final_div_factor", positive=True)
        self.anneal_strategy = as_choice(anneal_strategy, "anneal_strategy", ("cos", "linear"))
        self.three_phase = as_flag(three_phase, "three_phase")
        pct = concrete_number(self.pct_start)
        limit = 0.5 if self.three_phase else 1.0
        if pct is not None and not pct < limit:
            raise ValueError(
                f"pct_start must be less than {limit}"
                f"{' with three_phase=True' if self.three_phase else ''}, got {pct}"
            )

    def _value(self, step: Any) -> jax.Array:
        t = as_int_step(step)
        total = self.transition_steps
        up = self.pct_start * total.astype(jnp.float32)
        start = self.peak_value / self.div_factor
        final = start / self.final_div_factor
        strategy = self.anneal_strategy
        rise = _anneal(start, self.peak_value, t, jnp.zeros((), jnp.int32), up, strategy)
        # Which phase: t < U exactly as t - U < 0, whole steps compared in int32.
        before_up = _since(t, up) < 0.0
        if self.three_phase:
            back = _anneal(self.peak_value, start, t, up, 2 * up, strategy)
            down = _anneal(start, final, t, 2 * up, total, strategy)
            return jnp.where(before_up, rise, jnp.where(_since(t, 2 * up) < 0.0, back, down))
        down = _anneal(self.peak_value, final, t, up, total, strategy)
        return jnp.where(before_up, rise, down)

    def _boundaries(self, until: int) -> list[float]:
        total = float(self.transition_steps)
        up = float(self.pct_start) * total
        return [up, 2 * up, total] if self.three_phase else [up, total]
