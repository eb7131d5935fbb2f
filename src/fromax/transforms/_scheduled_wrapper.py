"""``scheduled_wrapper``: a scheduled transformation whose update sees the extra arguments.

``scheduled_transformation`` drops ``update``'s extra keyword arguments (a
named optimiser takes none); a wrapper with hyperparameters of its own
(``lookahead``'s alpha, ``schedule_free``'s b1) must pass them on to its
inner transformation, and ``reduce_on_plateau`` reads its ``value`` from
them. This builds the same ``TransformState`` (one counter, the schedules,
the values used) and hands the algorithm the extra arguments as well.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

import jax
import jax.numpy as jnp

from fromax._core._bounds import Bounds
from fromax._core._hyperparams import TransformState, scheduled_transformation
from fromax._core._transformation import GradientTransformation

__all__ = ["hyperparameter_clock", "scheduled_wrapper", "whole_value"]


def hyperparameter_clock(
    owner: str,
    hyperparams: Mapping[str, tuple[Any, Bounds]],
    init: Callable[[Any], Any],
    *,
    needs_params: bool = False,
) -> GradientTransformation:
    """A scheduled transformation whose ``update(None, state)`` returns ``(values, state)``.

    It evaluates the state's schedules once, at the state's count, counts the
    step and records the values, and leaves ``inner`` as it was: the caller
    runs the algorithm with the values and replaces ``inner``.
    """

    def tick(updates: Any, inner: Any, params: Any, values: Any, step: jax.Array):
        del updates, params, step
        return values, inner

    return scheduled_transformation(owner, hyperparams, init, tick, needs_params=needs_params)


def scheduled_wrapper(
    owner: str,
    hyperparams: Mapping[str, tuple[Any, Bounds]],
    init: Callable[[Any], Any],
    update: Callable[..., tuple[Any, Any]],
    *,
    needs_params: bool = False,
) -> GradientTransformation:
    """``scheduled_transformation`` whose ``update`` also gets the extra keyword arguments.

    ``update(updates, inner, params, values, step, **extra) -> (updates, inner)``.

    The state is a ``TransformState`` owned by ``owner``: ``hyperparams`` and
    ``set_hyperparams`` see the wrapper's hyperparameters, and those of the
    transformation it wraps (kept in its ``inner`` state) under ``inner/...``.
    """

    clock = hyperparameter_clock(owner, hyperparams, init, needs_params=needs_params)

    def update_fn(
        updates: Any, state: TransformState, params: Any = None, **extra: Any
    ) -> tuple[Any, TransformState]:
        values, ticked = clock.update(None, state, params)  # checks owner and params
        new_updates, inner = update(updates, state.inner, params, values, state.count, **extra)
        return new_updates, dataclasses.replace(ticked, inner=inner)

    return GradientTransformation(clock.init, update_fn)


# The largest float32 below 2**31: a count rounded from a float32 value stays in int32.
_LARGEST_COUNT = 2147483520.0


def whole_value(value: jax.Array, minimum: int) -> jax.Array:
    """A :class:`~fromax._core._registry.WholeNumber`'s float32 value as an int32 count.

    Rounded to the nearest integer and kept within [minimum, 2**31 - 128]
    (float32's largest below 2**31); NaN counts as ``minimum``.
    """
    value = jnp.where(jnp.isnan(value), float(minimum), value)
    return jnp.clip(jnp.round(value), float(minimum), _LARGEST_COUNT).astype(jnp.int32)
