"""Schedules to and from plain JSON configs: ``{"name": ..., argument: value}``."""

from __future__ import annotations

import inspect
import math
from collections.abc import Mapping
from typing import Any

import jax
import numpy as np

from fromax.schedules._base import _DEFINED, Schedule, _concrete, function

__all__ = ["from_config", "schedule_classes", "schedule_to_config"]


def schedule_classes() -> dict[str, type[Schedule]]:
    """The schedules a config or spec may name, by name: every schedule class of
    fromax.schedules but ``function``, which wraps Python code and has no text form."""
    return {name: kind for name, kind in _DEFINED.items() if kind is not function}


def _not_serialisable(where: str) -> TypeError:
    return TypeError(
        f"{where} is function(...), which wraps a Python callable and has no config or "
        "spec; build it from fromax.schedules (scale, product, join... compose them)"
    )


def schedule_to_config(schedule: Schedule) -> dict[str, Any]:
    """``schedule.to_config()``: the name, then each argument as JSON types."""
    if isinstance(schedule, function):
        raise _not_serialisable("this schedule")
    config: dict[str, Any] = {"name": schedule.name}
    for name, value in schedule._fields().items():
        config[name] = _to_json(value, f"{schedule.name}.{name}")
    return config


def _to_json(value: Any, where: str) -> Any:
    if isinstance(value, function):
        raise _not_serialisable(where)
    if isinstance(value, Schedule):
        return schedule_to_config(value)
    if value is None or isinstance(value, bool | str | int | float):
        return value
    if isinstance(value, list | tuple):
        return [_to_json(v, f"{where}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, jax.Array | np.ndarray | np.number):
        concrete = _concrete(value)
        if concrete is None:
            raise TypeError(f"{where} is being traced: a config needs concrete numbers")
        return _number(concrete)
    raise TypeError(f"{where} is {value!r}, which has no JSON form")


def _number(array: np.ndarray) -> Any:
    if array.ndim:
        return [_number(a) for a in array]
    if np.issubdtype(array.dtype, np.integer):
        return int(array)
    # The shortest decimal that reads back as the same float32 (0.1, not 0.10000000149).
    return float(str(array.astype(np.float32))) if array.dtype.itemsize <= 4 else float(array)


def from_config(config: Mapping[str, Any]) -> Schedule:
    """The schedule that ``to_config`` described.

    Args:
        config: ``{"name": schedule name, argument: value, ...}``, with nested
            schedules as nested configs (as ``to_config`` gives, or as read
            from JSON, YAML or TOML).

    Returns:
        The schedule, validated as when it is built in code.

    Raises:
        ValueError: for a config beyond the bounds below, before anything is
            built: nested more than 64 deep, a list of more than 10,000
            elements, more than 100,000 values in all, a number that is not
            finite in float32 (``10**400``, ``1e39``, NaN), or a string of
            more than 1,000 characters.
        TypeError: for a config that is not a dict with a ``"name"``, or an
            argument the schedule does not take.

    Example:
        >>> from fromax import schedules
        >>> config = {"name": "join", "boundaries": [100], "schedules": [
        ...     {"name": "linear", "init_value": 0.0, "end_value": 1e-3, "transition_steps": 100},
        ...     {"name": "rex", "init_value": 1e-3, "decay_steps": 900}]}
        >>> s = schedules.from_config(config)
        >>> round(float(s(50)), 6), round(float(s(550)), 6)
        (0.0005, 0.000667)
        >>> schedules.from_config(s.to_config()) == s
        True
    """
    _check_bounds(config)
    return _from_config(config, "config")


# Bounds on what a config may hold: a hostile or mistaken one (a 2,000-deep nesting,
# a 20,000-point piecewise_linear) is refused at once instead of exhausting the stack
# or taking minutes to build.
MAX_DEPTH = 64
MAX_LIST_LENGTH = 10_000
MAX_VALUES = 100_000
MAX_STRING_LENGTH = 1_000
_FLOAT32_MAX = float(np.finfo(np.float32).max)


def _check_bounds(config: Any) -> None:
    """Walks ``config`` without recursion and raises at the first value out of bounds."""
    pending: list[tuple[Any, str, int]] = [(config, "config", 1)]
    count = 0
    while pending:
        value, where, depth = pending.pop()
        count += 1
        if count > MAX_VALUES:
            raise ValueError(f"config holds more than {MAX_VALUES:,} values; at most that many")
        if isinstance(value, Mapping | list | tuple):
            if depth > MAX_DEPTH:
                shown = where if len(where) <= 80 else f"{where[:40]}...{where[-30:]}"
                raise ValueError(
                    f"config is nested more than {MAX_DEPTH} deep (at {shown}); "
                    f"at most {MAX_DEPTH} levels"
                )
            if isinstance(value, Mapping):
                for key in value:
                    if not isinstance(key, str) or len(key) > MAX_STRING_LENGTH:
                        raise ValueError(f"{where} has a key that is not a short string")
                children = [(v, f"{where}.{k}") for k, v in value.items()]
            else:
                if len(value) > MAX_LIST_LENGTH:
                    raise ValueError(
                        f"{where} has {len(value):,} elements; a config list holds at most "
                        f"{MAX_LIST_LENGTH:,}"
                    )
                children = [(v, f"{where}[{i}]") for i, v in enumerate(value)]
            pending.extend((v, w, depth + 1) for v, w in reversed(children))
        elif isinstance(value, bool) or value is None:
            continue
        elif isinstance(value, int):
            # Python ints have no bound and float(10**400) overflows: compare them as ints.
            if abs(value) > _FLOAT32_MAX:
                digits = int(value.bit_length() * math.log10(2)) + 1
                raise ValueError(
                    f"{where} is an integer of about {digits} digits, beyond float32 "
                    f"(at most {_FLOAT32_MAX:.4g})"
                )
        elif isinstance(value, float):
            if not (math.isfinite(value) and abs(value) <= _FLOAT32_MAX):
                raise ValueError(
                    f"{where} is {value:g}, not a finite float32 number "
                    f"(at most {_FLOAT32_MAX:.4g})"
                )
        elif isinstance(value, str) and len(value) > MAX_STRING_LENGTH:
            raise ValueError(
                f"{where} is a string of {len(value):,} characters; at most {MAX_STRING_LENGTH:,}"
            )


def _from_config(config: Any, where: str) -> Schedule:
    if not isinstance(config, Mapping):
        raise TypeError(f"{where} must be a dict with a 'name', got {config!r}")
    name = config.get("name")
    known = schedule_classes()
    if not isinstance(name, str) or name not in known:
        raise ValueError(
            f"{where} names an unknown schedule {name!r}; known: {', '.join(sorted(known))}"
        )
    cls = known[name]
    allowed = list(inspect.signature(cls.__init__).parameters)[1:]
    arguments = {k: v for k, v in config.items() if k != "name"}
    unknown = [k for k in arguments if k not in allowed]
    if unknown:
        raise TypeError(
            f"{where}: {name} has no argument {', '.join(map(repr, unknown))}; "
            f"its arguments are {', '.join(allowed)}"
        )
    return cls(**{k: _from_json(v, f"{where}.{k}") for k, v in arguments.items()})


def _from_json(value: Any, where: str) -> Any:
    if isinstance(value, Mapping):
        return _from_config(value, where)
    if isinstance(value, list | tuple):
        return [_from_json(v, f"{where}[{i}]") for i, v in enumerate(value)]
    return value
