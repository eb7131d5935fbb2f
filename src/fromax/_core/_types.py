"""Named types for public signatures: what each argument is, in a word.

Pytrees cannot be typed precisely in Python's type system, so ``Params``,
``Updates`` and ``OptState`` are aliases of ``Any`` that name the role; a
``ScalarOrSchedule`` is precise.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, TypeAlias

import jax
import numpy as np

from fromax.schedules._base import Schedule

__all__ = [
    "Mask",
    "OptState",
    "Params",
    "PyTree",
    "ScalarOrSchedule",
    "TransformationLike",
    "Updates",
]

PyTree: TypeAlias = Any
"""Any pytree of arrays."""

Params: TypeAlias = Any
"""The parameters: a pytree of arrays."""

Updates: TypeAlias = Any
"""Gradients or updates: a pytree shaped like the parameters."""

OptState: TypeAlias = Any
"""An optimiser's state: a pytree, usually holding ``TransformState`` nodes."""

ScalarOrSchedule: TypeAlias = (
    float | int | np.floating | jax.Array | Schedule | Callable[[jax.Array], jax.Array]
)
"""A hyperparameter: a number, a JAX scalar, a schedule, or a callable ``step -> scalar``."""

Mask: TypeAlias = Any
"""A pytree of Python bools shaped like the parameters (or a prefix), or a
callable ``params -> such a pytree``; None for every leaf."""


class TransformationLike(Protocol):
    """Anything with ``init`` and ``update``: fromax's ``GradientTransformation`` or optax's.

    What a wrapper (``masked``, ``skip_nonfinite``, ``accumulate_gradients``)
    takes as its inner transformation.
    """

    @property
    def init(self) -> Callable[..., Any]: ...

    @property
    def update(self) -> Callable[..., Any]: ...
