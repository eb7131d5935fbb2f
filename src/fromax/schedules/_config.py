"""Schedules to and from plain JSON configs: ``{"name": ..., argument: value}``."""

from __future__ import annotations

import inspect
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
    return _from_config(config, "config")


def _from_config(config: Any, where: str) -> Schedule:
    if not isinstance(config, Mapping):
        raise TypeError(f"{where} must be a dict with a 'name', got {config!r}")
    name = config.get("name")
    known = schedule_classes()
    if name not in known:
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
