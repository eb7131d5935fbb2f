"""Cyclical schedules: triangles between a base and a peak value (Smith 2017)."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from fromax.schedules._base import (
    Schedule,
    as_choice,
    as_float_scalar,
    as_int_step,
    as_step_count,
)

__all__ = ["cyclic"]

_INT32_MAX = int(np.iinfo(np.int32).max)


class cyclic(Schedule):
    """Up from ``init_value`` to ``peak_value`` and back, again and again.

    Each cycle rises linearly for ``step_size_up`` steps and falls for
    ``step_size_down``. With f(t) in [0, 1] the triangle and k the cycle
    index (from 0): value(t) = init_value + (peak_value - init_value) * f(t) * h
    with h = 1 (``"triangular"``), 0.5 ** k (``"triangular2"``: the height
    halves each cycle) or gamma ** t (``"exp_range"``). It cycles for ever.
    As PyTorch's ``CyclicLR`` (base_lr = init_value, max_lr = peak_value);
    optax has none.

    Args:
        init_value: the value at the bottom of each cycle (and at step 0).
        peak_value: the value at the top of the first cycle.
        step_size_up: steps from the bottom to the top, positive.
        step_size_down: steps from the top back to the bottom, positive
            (None: the same as ``step_size_up``).
        mode: ``"triangular"``, ``"triangular2"`` or ``"exp_range"``.
        gamma: the height's factor per step for ``"exp_range"``, in (0, 1].

    Example:
        >>> from fromax import schedules
        >>> s = schedules.cyclic(0.0, 1.0, step_size_up=4, mode="triangular2")
        >>> [float(s(t)) for t in (0, 2, 4, 6, 8, 12, 16)]
        [0.0, 0.5, 1.0, 0.5, 0.0, 0.5, 0.0]

    References:
        Smith, Cyclical learning rates for training neural networks, WACV 2017
        (arXiv 1506.01186).
    """

    _leaves = ("init_value", "peak_value", "step_size_up", "step_size_down", "gamma")
    _static = ("mode",)

    def __init__(
        self,
        init_value: Any,
        peak_value: Any,
        step_size_up: Any,
        step_size_down: Any = None,
        mode: str = "triangular",
        gamma: Any = 1.0,
    ):
        self.init_value = as_float_scalar(init_value, "init_value")
        self.peak_value = as_float_scalar(peak_value, "peak_value")
        self.step_size_up = as_step_count(step_size_up, "step_size_up", positive=True)
        if step_size_down is None:
            step_size_down = self.step_size_up
        self.step_size_down = as_step_count(step_size_down, "step_size_down", positive=True)
        self.mode = as_choice(mode, "mode", ("triangular", "triangular2", "exp_range"))
        self.gamma = as_float_scalar(gamma, "gamma", positive=True, maximum=1.0)

    def _value(self, step: Any) -> jax.Array:
        # The cycle and the position in it in int32, exact at every step: in float32
        # they went wrong (negative values) from about step 2**27.
        t = as_int_step(step)
        up, down = self.step_size_up, self.step_size_down
        # A cycle longer than int32 holds (up + down > 2**31 - 1) is never completed.
        fits = up <= _INT32_MAX - down
        period = jnp.where(fits, up + down, _INT32_MAX)
        index = jnp.where(fits, t // period, 0)
        local = t - index * period
        rising = local.astype(jnp.float32) / up.astype(jnp.float32)
        # up + down - local, as down - (local - up): no int32 overflow.
        falling = (down - (local - up)).astype(jnp.float32) / down.astype(jnp.float32)
        triangle = jnp.where(local < up, rising, falling)
        if self.mode == "triangular2":
            triangle = triangle * 0.5 ** index.astype(jnp.float32)
        elif self.mode == "exp_range":
            # gamma ** t needs no exact t: its relative error is |t log(gamma)| 2**-24.
            triangle = triangle * self.gamma ** t.astype(jnp.float32)
        return self.init_value + (self.peak_value - self.init_value) * triangle

    def _boundaries(self, until: int) -> list[float]:
        up, down = float(self.step_size_up), float(self.step_size_down)
        count = min(int(until // (up + down)) + 1, 500)
        return [k * (up + down) + d for k in range(count) for d in (up, up + down)]
