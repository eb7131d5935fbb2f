"""Piecewise schedules: constant between boundaries, or linear between points."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from fromax.schedules._base import (
    Schedule,
    _concrete,
    as_float_scalar,
    as_increasing_steps,
    as_int_step,
    plain_numbers,
)

__all__ = ["piecewise_constant", "piecewise_linear"]


_FLOAT32_MAX = float(np.finfo(np.float32).max)


def _float_vector(values: Sequence[Any], names: Any, minimum: float | None = None) -> jax.Array:
    """Validated float32 numbers as one vector; ``names(i)`` names the i-th in errors."""
    fast = plain_numbers(values)
    if fast is not None and np.all(np.abs(fast) <= _FLOAT32_MAX):
        if minimum is None or np.all(fast >= minimum):
            return jnp.asarray(fast, dtype=jnp.float32)
    checked = [as_float_scalar(v, names(i), minimum=minimum) for i, v in enumerate(values)]
    return jnp.stack(checked) if checked else jnp.zeros((0,), jnp.float32)


def _is_list(value: Any) -> bool:
    """A list, tuple or one-dimensional array (as ``replace`` passes a stored one)."""
    if isinstance(value, np.ndarray | jax.Array):
        return value.ndim == 1
    return isinstance(value, Sequence) and not isinstance(value, str)


class piecewise_constant(Schedule):
    """``init_value``, multiplied by a scale at each boundary it passes.

    value(t) = init_value * product of scale_i over the boundaries b_i <= t.
    As optax's ``piecewise_constant_schedule``: ``boundaries_and_scales``
    takes its ``{step: scale}`` dict, or a list of ``[step, scale]`` pairs
    (the form a spec or a JSON config uses). Past the last boundary the value
    stays at init_value times all the scales.

    Args:
        init_value: the value before the first boundary.
        boundaries_and_scales: ``{step: scale}`` or ``[[step, scale], ...]``,
            steps >= 0 (distinct), scales >= 0; None for a constant.

    Example:
        >>> from fromax import schedules
        >>> s = schedules.piecewise_constant(1.0, {100: 0.1, 200: 0.1})
        >>> s
        piecewise_constant(init_value=1.0, boundaries_and_scales=[[100, 0.1], [200, 0.1]])
        >>> [round(float(s(t)), 6) for t in (99, 100, 199, 200, 10**6)]
        [1.0, 0.1, 0.1, 0.01, 0.01]
    """

    _leaves = ("init_value", "boundaries", "scales")

    def __init__(self, init_value: Any, boundaries_and_scales: Any = None):
        self.init_value = as_float_scalar(init_value, "init_value")
        if boundaries_and_scales is None:
            pairs = []
        elif isinstance(boundaries_and_scales, Mapping):
            pairs = sorted(boundaries_and_scales.items(), key=lambda item: float(item[0]))
        elif _is_list(boundaries_and_scales):
            pairs = list(boundaries_and_scales)
        else:
            raise TypeError(
                "boundaries_and_scales must be a {step: scale} dict or a list of "
                f"[step, scale] pairs, got {boundaries_and_scales!r}"
            )
        for i, pair in enumerate(pairs):
            if not _is_list(pair) or len(pair) != 2:
                raise ValueError(
                    f"boundaries_and_scales[{i}] must be a [step, scale] pair, got {pair!r}"
                )
        self.boundaries = as_increasing_steps([p[0] for p in pairs], "boundaries_and_scales steps")
        self.scales = _float_vector(
            [p[1] for p in pairs],
            lambda i: f"boundaries_and_scales scale at step {pairs[i][0]}",
            minimum=0.0,
        )

    def _fields(self) -> dict[str, Any]:
        boundaries, scales = _concrete(self.boundaries), _concrete(self.scales)
        if boundaries is not None and scales is not None:
            # 0-d NumPy arrays: indexing a JAX array 10,000 times takes seconds.
            pairs: list[list[Any]] = [
                [np.asarray(b), np.asarray(c)] for b, c in zip(boundaries, scales, strict=True)
            ]
        else:
            pairs = [[self.boundaries[i], self.scales[i]] for i in range(self.boundaries.shape[0])]
        return {"init_value": self.init_value, "boundaries_and_scales": pairs}

    def _value(self, step: Any) -> jax.Array:
        passed = as_int_step(step) >= self.boundaries
        return self.init_value * jnp.prod(jnp.where(passed, self.scales, 1.0))

    def _boundaries(self, until: int) -> list[float]:
        return [float(b) for b in np.asarray(self.boundaries)]


class piecewise_linear(Schedule):
    """Straight lines between points ``(boundaries[i], values[i])``.

    ``values[0]`` before the first point, ``values[-1]`` from the last one
    on. optax's nearest is ``piecewise_interpolate_schedule('linear', ...)``,
    which takes scales rather than values.

    Args:
        boundaries: the points' steps, strictly increasing, >= 0.
        values: the value at each point, as many as ``boundaries``.

    Example:
        >>> from fromax import schedules
        >>> s = schedules.piecewise_linear(boundaries=[0, 10, 30], values=[0.0, 1.0, 0.5])
        >>> [float(s(t)) for t in (0, 5, 10, 20, 30, 99)]
        [0.0, 0.5, 1.0, 0.75, 0.5, 0.5]
    """

    _leaves = ("boundaries", "values")

    def __init__(self, boundaries: Sequence[Any], values: Sequence[Any]):
        if not _is_list(boundaries):
            raise TypeError(f"boundaries must be a list of steps, got {boundaries!r}")
        if not _is_list(values):
            raise TypeError(f"values must be a list of numbers, got {values!r}")
        if len(boundaries) == 0:
            raise ValueError("boundaries must hold at least one step")
        if len(values) != len(boundaries):
            raise ValueError(
                f"values must hold one value per boundary: {len(boundaries)} boundaries, "
                f"{len(values)} values"
            )
        self.boundaries = as_increasing_steps(boundaries, "boundaries")
        self.values = _float_vector(values, lambda i: f"values[{i}]")

    def _value(self, step: Any) -> jax.Array:
        if self.values.shape[0] == 1:
            return self.values[0]
        # Steps and points compared and subtracted in int32: exact at every step.
        t = as_int_step(step)
        points = self.boundaries
        segment = jnp.clip(jnp.searchsorted(points, t, side="right") - 1, 0, points.shape[0] - 2)
        start, end = points[segment], points[segment + 1]
        done = (t - start).astype(jnp.float32) / (end - start).astype(jnp.float32)
        fraction = jnp.clip(done, 0.0, 1.0)
        # Weighted, so that the ends of a segment are its values exactly.
        return (1.0 - fraction) * self.values[segment] + fraction * self.values[segment + 1]

    def _boundaries(self, until: int) -> list[float]:
        return [float(b) for b in np.asarray(self.boundaries)]
