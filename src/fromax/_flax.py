"""Flax's serialization (``flax.serialization.to_bytes`` / ``from_bytes``) of fromax's states.

Flax serializes a type only if it is in its registry (NamedTuples, dicts and
lists are). fromax's ``TransformState``, its two name-keyed containers and
its schedule classes are registered here, each as a dict of its pytree
children named by their keys (``count``, ``schedules``, ``learning_rate``,
``value`` ...), so a state's bytes hold only arrays and names.

Flax is not a dependency: registration happens when Flax is there. If
``flax.serialization`` is already imported when fromax is, at once;
otherwise an import hook registers right after Flax's module loads.
:func:`register_flax_serialization` does it explicitly (and registers
schedule classes defined after fromax was imported).
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
from typing import Any

import jax

__all__ = ["register_flax_serialization"]

_FLAX_MODULE = "flax.serialization"


def _name(key: Any) -> str:
    for attribute in ("name", "key", "idx"):
        if hasattr(key, attribute):
            return str(getattr(key, attribute))
    return str(key)


def _children(node: Any) -> tuple[list[tuple[str, Any]], Any]:
    """``node``'s direct pytree children with their names, and how to rebuild it."""
    pairs, treedef = jax.tree_util.tree_flatten_with_path(node, is_leaf=lambda x: x is not node)
    return [(_name(path[0]), child) for path, child in pairs], treedef


def _to_state_dict(node: Any) -> dict[str, Any]:
    from flax import serialization

    children, _ = _children(node)
    return {name: serialization.to_state_dict(child) for name, child in children}


def _from_state_dict(target: Any, state: dict[str, Any]) -> Any:
    from flax import serialization

    children, treedef = _children(target)
    missing = [name for name, _ in children if name not in state]
    if missing:
        raise ValueError(
            f"the serialized {type(target).__name__} has no {missing[0]!r}; restore it "
            f"with a target built by the same optimiser (its fields: "
            f"{', '.join(name for name, _ in children)})"
        )
    restored = [
        serialization.from_state_dict(child, state[name], name=name) for name, child in children
    ]
    return jax.tree.unflatten(treedef, restored)


def _types() -> list[type]:
    from fromax._core._hyperparams import TransformState
    from fromax._core._state_dicts import ScheduleMap, ValueDict
    from fromax.schedules import Schedule

    found, stack = [], [Schedule]
    while stack:
        cls = stack.pop()
        found.append(cls)
        stack.extend(cls.__subclasses__())
    return [TransformState, ScheduleMap, ValueDict, *found]


def register_flax_serialization() -> None:
    """Registers fromax's states and schedules with ``flax.serialization`` (idempotent).

    Done automatically when Flax is imported; call it again after defining a
    schedule class of your own after that.

    Example:
        >>> import jax.numpy as jnp, fromax
        >>> from flax import serialization
        >>> fromax.register_flax_serialization()
        >>> opt = fromax.adam(fromax.schedules.cosine_decay(0.1, 100))
        >>> state = opt.init({"w": jnp.ones(2)})
        >>> back = serialization.from_bytes(state, serialization.to_bytes(state))
        >>> back.schedules["learning_rate"]
        cosine_decay(init_value=0.1, decay_steps=100, alpha=0.0, exponent=1.0)
    """
    from flax import serialization

    for cls in _types():
        serialization.register_serialization_state(
            cls, _to_state_dict, _from_state_dict, override=True
        )


class _RegisterAfterImport(importlib.abc.MetaPathFinder):
    """Wraps ``flax.serialization``'s loader so that fromax registers once it has run."""

    def find_spec(self, fullname: str, path: Any, target: Any = None) -> Any:
        if fullname != _FLAX_MODULE:
            return None
        sys.meta_path.remove(self)  # once, and not to find itself below
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or spec.loader is None:
            return spec
        exec_module = spec.loader.exec_module

        def exec_then_register(module: Any) -> None:
            exec_module(module)
            register_flax_serialization()

        spec.loader.exec_module = exec_then_register  # type: ignore[method-assign]
        return spec


def install() -> None:
    """Registers now if Flax's serialization is loaded, else once it is."""
    if _FLAX_MODULE in sys.modules:
        register_flax_serialization()
    elif not any(isinstance(f, _RegisterAfterImport) for f in sys.meta_path):
        sys.meta_path.insert(0, _RegisterAfterImport())
