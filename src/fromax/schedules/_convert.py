"""Turning whatever a user passes as a hyperparameter into a schedule."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from fromax.schedules._base import (
    Schedule,
    _compiled_value,
    _is_numeric,
    as_float_scalar,
    function,
)
from fromax.schedules._basic import constant

__all__ = ["as_schedule"]


def as_schedule(value: Any, name: str) -> Schedule:
    """A schedule for ``value``: a number, a JAX scalar, a schedule or a callable.

    Numbers and scalar arrays become :class:`constant`; fromax schedules pass
    through; other callables are wrapped in :class:`function` and checked
    once, by tracing, to take an integer step and return a numeric scalar.

    Args:
        value: the hyperparameter as the user gave it.
        name: its name, for error messages.

    Returns:
        A schedule.

    Example:
        >>> import jax.numpy as jnp
        >>> from fromax import schedules
        >>> schedules.as_schedule(0.1, "learning_rate")
        constant(value=0.1)
        >>> inverse = lambda t: 0.1 / (1 + t.astype(jnp.float32))  # t: an int32 array
        >>> float(schedules.as_schedule(inverse, "learning_rate")(1))
        0.05
    """
    if isinstance(value, Schedule):
        schedule = value
    elif callable(value):
        schedule = function(value)
    elif isinstance(value, bool) or not _is_numeric(value):
        raise TypeError(
            f"{name} must be a number, a JAX scalar or a schedule, got {value!r} "
            f"of type {type(value).__name__}"
        )
    else:
        return constant(as_float_scalar(value, name))
    _check_output(schedule, name)
    return schedule


def _check_output(schedule: Schedule, name: str) -> None:
    """Traces the schedule once at an abstract step: scalar, numeric output."""
    try:
        # The schedule is an argument, not the traced function: one trace per kind
        # of schedule (tree structure). Traced as the function, each schedule was a
        # key of JAX's caches, where schedules of one kind share a hash and are told
        # apart by comparing their numbers: a cost growing with every schedule made.
        out = jax.eval_shape(_compiled_value, schedule, jax.ShapeDtypeStruct((), jnp.int32))
    except jax.errors.ConcretizationTypeError as error:
        raise TypeError(
            f"the schedule given for {name} cannot be traced with an array step: "
            f"write it with jnp operations (jnp.where, not if/else). JAX said: "
            f"{str(error).splitlines()[0]}"
        ) from None
    except Exception as error:  # whatever the user's callable raised
        raise TypeError(
            f"the schedule given for {name} failed when called with a traced integer "
            f"step; it must return a real scalar computed with jnp operations. It raised "
            f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"
        ) from None
    if not hasattr(out, "shape") or out.shape != ():
        shape = getattr(out, "shape", type(out).__name__)
        raise ValueError(
            f"the schedule given for {name} must return a scalar, but it returned {shape}"
        )
    if not jnp.issubdtype(out.dtype, jnp.number) or jnp.issubdtype(out.dtype, jnp.complexfloating):
        raise TypeError(
            f"the schedule given for {name} must return a real number, got dtype {out.dtype}"
        )
