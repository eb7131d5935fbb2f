"""The two name-keyed dicts of a ``TransformState``, as pytrees of their own.

A state holds each hyperparameter twice under the same name: its schedule
and the value the latest update used. optax's ``tree_utils.tree_get`` and
``tree_set`` match any dict (and NamedTuple field) holding the key they are
given, so with two plain dicts ``tree_get(state, "learning_rate")`` found
both and raised, and ``tree_set`` put a number where the schedule belongs.

So the schedules live in :class:`ScheduleMap`, a read-only mapping that is
not a dict (optax does not look into it), and the values in
:class:`ValueDict`, a dict subclass (optax finds it: ``tree_get`` returns the
current value). ``tree_set`` rebuilds a matched dict as a plain ``dict``,
which is how ``TransformState`` recognises it and refuses it: a value set
there would be overwritten by the schedule at the next update.

Both flatten like a dict (keys sorted, ``DictKey`` paths), so a state's
leaves, their order and their paths (``['learning_rate']``, as checkpoints
record them) are those of plain dicts.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import jax
from jax.tree_util import DictKey

__all__ = ["ScheduleMap", "ValueDict"]


class ScheduleMap(Mapping):
    """``{name: schedule}``, read-only; a Mapping but not a dict.

    Example:
        >>> from fromax import schedules
        >>> from fromax._core._state_dicts import ScheduleMap
        >>> held = ScheduleMap({"learning_rate": schedules.constant(0.1)})
        >>> held, held["learning_rate"] == schedules.constant(0.1), isinstance(held, dict)
        ({'learning_rate': constant(value=0.1)}, True, False)
    """

    __slots__ = ("_items",)

    def __init__(self, items: Mapping[str, Any] | None = None) -> None:
        self._items = dict(items or {})

    def __getitem__(self, name: str) -> Any:
        return self._items[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __repr__(self) -> str:
        return repr(self._items)


class ValueDict(dict):
    """``{name: value}``: a dict, so that optax's ``tree_get`` finds the values.

    Example:
        >>> import jax.numpy as jnp
        >>> from fromax._core._state_dicts import ValueDict
        >>> ValueDict(learning_rate=jnp.float32(0.1))
        {'learning_rate': Array(0.1, dtype=float32)}
    """


def _flatten(mapping: Mapping[str, Any]) -> tuple[list[tuple[DictKey, Any]], tuple[str, ...]]:
    names = tuple(sorted(mapping))
    return [(DictKey(name), mapping[name]) for name in names], names


def _register(cls: type) -> None:
    jax.tree_util.register_pytree_with_keys(
        cls,
        _flatten,
        lambda names, children: cls(zip(names, children, strict=True)),
        lambda mapping: (
            [mapping[name] for name in sorted(mapping)],
            tuple(sorted(mapping)),
        ),
    )


_register(ScheduleMap)
_register(ValueDict)
