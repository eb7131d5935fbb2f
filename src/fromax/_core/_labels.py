"""Labels given as a pytree that is the parameters' prefix: one label per leaf, once.

Muon's and Scion's ``labels`` (which maths runs on a leaf) and ``partition``'s
(which transformation) are both such a pytree: a label stands for every leaf
under it.
"""

from __future__ import annotations

from typing import Any

import jax

from fromax._core._tree import flatten_up_to, is_none

__all__ = ["labels_by_leaf"]


def labels_by_leaf(labels: Any, tree: Any, owner: str) -> tuple[list[tuple[Any, Any, Any]], Any]:
    """``[(path, leaf, label), ...]`` for every leaf of ``tree`` in flattening order, and
    ``tree``'s treedef (None leaves count as leaves).

    The label is None where the leaf is None (masked out) or where ``labels``
    gives None. A ``labels`` that is not a prefix of ``tree`` is a one-line
    ValueError naming ``owner``.

    Example:
        >>> import jax.numpy as jnp
        >>> from fromax._core._labels import labels_by_leaf
        >>> params = {"w": jnp.ones((2, 2)), "blocks": [jnp.ones(2), None]}
        >>> pairs, _ = labels_by_leaf({"w": "a", "blocks": "b"}, params, "owner")
        >>> [label for _, _, label in pairs]
        ['b', None, 'a']
    """

    def broadcast(label: Any, subtree: Any) -> Any:
        return jax.tree.map(lambda leaf: None if leaf is None else label, subtree, is_leaf=is_none)

    try:
        full = jax.tree.map(broadcast, labels, tree, is_leaf=is_none)
    except ValueError as error:
        raise ValueError(
            f"{owner}'s labels must have the parameters' tree structure (or a prefix of it): "
            f"{str(error).splitlines()[0]}"
        ) from None
    leaves = jax.tree_util.tree_flatten_with_path(tree, is_leaf=is_none)[0]
    treedef = jax.tree.structure(tree, is_leaf=is_none)
    flat = flatten_up_to(treedef, full)
    return [(path, leaf, label) for (path, leaf), label in zip(leaves, flat, strict=True)], treedef
