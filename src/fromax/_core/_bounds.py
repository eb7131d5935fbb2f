"""``Bounds``: the values a hyperparameter may take, and the few that fromax uses."""

from __future__ import annotations

import dataclasses
import math

__all__ = [
    "ANY",
    "DECAY_RATE",
    "NONNEGATIVE",
    "POSITIVE",
    "POSITIVE_FRACTION",
    "UNIT_INTERVAL",
    "Bounds",
]


@dataclasses.dataclass(frozen=True)
class Bounds:
    """The values a hyperparameter may take, checked on constants.

    A schedule's values are traced, so they cannot be checked; a constant's
    are, when the transformation is built and when it is changed. fromax
    exports three: ``ANY``, ``NONNEGATIVE`` (a learning rate) and ``POSITIVE``.

    Example:
        >>> import fromax
        >>> unit = fromax.Bounds(minimum=0.0, maximum=1.0, exclusive_maximum=True)
        >>> unit.describe(), unit.admits(0.999), unit.admits(1.0)
        ('a finite number >= 0 and < 1', True, False)
        >>> fromax.NONNEGATIVE.admits(-0.1)
        False
    """

    minimum: float = -math.inf
    maximum: float = math.inf
    exclusive_minimum: bool = False
    exclusive_maximum: bool = False

    def describe(self) -> str:
        parts = []
        if self.minimum > -math.inf:
            parts.append(f"{'>' if self.exclusive_minimum else '>='} {self.minimum:g}")
        if self.maximum < math.inf:
            parts.append(f"{'<' if self.exclusive_maximum else '<='} {self.maximum:g}")
        return "a finite number " + " and ".join(parts) if parts else "a finite number"

    def admits(self, value: float) -> bool:
        if not math.isfinite(value):
            return False
        low = value > self.minimum if self.exclusive_minimum else value >= self.minimum
        high = value < self.maximum if self.exclusive_maximum else value <= self.maximum
        return low and high


ANY = Bounds()
NONNEGATIVE = Bounds(minimum=0.0)  # a learning rate, a weight decay, an epsilon
POSITIVE = Bounds(minimum=0.0, exclusive_minimum=True)
# A momentum or an interpolation weight: 1 never forgets; above 1 diverges.
UNIT_INTERVAL = Bounds(minimum=0.0, maximum=1.0)
# An exponential decay rate whose bias correction divides by 1 - beta**t.
DECAY_RATE = Bounds(minimum=0.0, maximum=1.0, exclusive_maximum=True)
# A weight that must move something: in (0, 1].
POSITIVE_FRACTION = Bounds(minimum=0.0, maximum=1.0, exclusive_minimum=True)
