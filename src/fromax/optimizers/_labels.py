"""Labels: one static choice per parameter leaf (Muon or AdamW; Scion's norm), resolved once.

A labels argument is None (the optimiser's default rule), a pytree shaped
like the parameters (or a prefix of them: a label stands for every leaf
under it), or a callable ``params -> such a pytree``. Labels are static: they
choose which maths runs on which leaf.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax

from fromax._core._tree import flatten_up_to
from fromax.optimizers._matrices import path_name

__all__ = ["resolve_labels"]


def _is_none(x: Any) -> bool:
    return x is None


def resolve_labels(
    labels: Any,
    params: Any,
    default: Callable[[Any], Any],
    owner: str,
) -> list[tuple[tuple[Any, ...], Any, Any]]:
    """``[(path, leaf, label), ...]`` for every array leaf of ``params``, in flattening order.

    None leaves of ``params`` (masked out) are left out of the list.
    """
    if labels is None:
        labels = default(params)
    elif callable(labels):
        labels = labels(params)
    if labels is None:
        raise ValueError(f"{owner}'s labels callable returned None; return a pytree of labels")

    def broadcast(label: Any, subtree: Any) -> Any:
        return jax.tree.map(lambda leaf: None if leaf is None else label, subtree, is_leaf=_is_none)

    try:
        full = jax.tree.map(broadcast, labels, params, is_leaf=_is_none)
    except ValueError as error:
        raise ValueError(
            f"{owner}'s labels must have the parameters' tree structure (or a prefix of it): "
            f"{str(error).splitlines()[0]}"
        ) from None
    leaves = jax.tree_util.tree_flatten_with_path(params, is_leaf=_is_none)[0]
    treedef = jax.tree.structure(params, is_leaf=_is_none)
    flat_labels = flatten_up_to(treedef, full)
    return [
        (path, leaf, label)
        for (path, leaf), label in zip(leaves, flat_labels, strict=True)
        if leaf is not None
    ]


def where(owner: str, path: tuple[Any, ...]) -> str:
    """``muon's labels at ['blocks'][0]``: the start of a message about one leaf."""
    return f"{owner}'s labels at {path_name(path)}"
