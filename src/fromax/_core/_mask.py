"""Masks: which parameters a transformation applies to, as one bool per leaf.

A mask is a pytree of Python bools shaped like the parameters (or a prefix
of them: a bool stands for every leaf under it), or a callable ``params ->
such a pytree`` (optax's convention, e.g. ``lambda p: jax.tree.map(lambda x:
x.ndim > 1, p)`` for "no weight decay on biases"). A pytree that is also
callable (an Equinox module) is a tree when its leaves are bools. Masks are static: they
choose which maths runs on which leaf, so they are Python bools, not arrays.
"""

from __future__ import annotations

from typing import Any

import jax
import numpy as np

from fromax._core._registry import Tree
from fromax._core._tree import is_none

__all__ = ["MASK", "check_mask", "resolve_mask"]


def _is_bools(leaf: Any) -> bool:
    return isinstance(leaf, bool | np.bool_)


def _used_as_callable(mask: Any) -> bool:
    """Whether ``mask`` is a function of the parameters rather than a tree of bools.

    A pytree can be callable too (an Equinox module): when its leaves are bools,
    it is a tree (optax's rule: a mask is called only if its leaves are callables).
    """
    if not callable(mask):
        return False
    leaves = jax.tree.leaves(mask)
    return not (leaves and all(_is_bools(leaf) for leaf in leaves))


def check_mask(mask: Any, where: str) -> None:
    """A TypeError naming ``where`` unless ``mask`` is None, a callable or a pytree of bools."""
    if mask is None or _used_as_callable(mask):
        return
    leaves = jax.tree.leaves(mask)
    bad = [leaf for leaf in leaves if not _is_bools(leaf)]
    if bad:
        raise TypeError(
            f"{where} must be a pytree of Python bools (True: apply) or a callable "
            f"params -> such a pytree, got a leaf {bad[0]!r} of type {type(bad[0]).__name__}"
        )


# The kind every mask argument is declared with (see _registry.declare).
MASK = Tree("a pytree of bools like the parameters, or a callable params -> bools", check_mask)


def resolve_mask(mask: Any, tree: Any, name: str, owner: str) -> Any:
    """One Python bool per leaf of ``tree`` (None leaves stay None).

    Args:
        mask: None (every leaf), a bool, a pytree of bools that is ``tree``'s
            structure or a prefix of it, or a callable ``tree -> such a pytree``.
        tree: the parameters or updates.
        name, owner: for messages (``"mask"``, ``"adamw"``).

    Returns:
        A pytree of bools with ``tree``'s structure.

    Example:
        >>> import jax.numpy as jnp
        >>> from fromax._core._mask import resolve_mask
        >>> resolve_mask({"w": True, "b": False}, {"w": jnp.ones(2), "b": jnp.ones(1)}, "mask", "m")
        {'b': False, 'w': True}
    """
    if mask is None:
        mask = True
    if _used_as_callable(mask):
        mask = mask(tree)
        check_mask(mask, f"{owner}'s {name} (as returned by the callable)")

    def broadcast(flag: Any, subtree: Any) -> Any:
        return jax.tree.map(
            lambda leaf: None if leaf is None else bool(flag), subtree, is_leaf=is_none
        )

    try:
        return jax.tree.map(broadcast, mask, tree, is_leaf=is_none)
    except ValueError as error:
        raise ValueError(
            f"{owner}'s {name} must have the parameters' tree structure (or a prefix of it): "
            f"{str(error).splitlines()[0]}"
        ) from None
