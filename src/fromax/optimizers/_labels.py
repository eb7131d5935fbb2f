"""Labels: one static choice per parameter leaf (Muon or AdamW; Scion's norm), resolved once.

A labels argument is None (the optimiser's default rule), a pytree shaped
like the parameters (or a prefix of them: a label stands for every leaf
under it), or a callable ``params -> such a pytree``. Labels are static: they
choose which maths runs on which leaf.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fromax._core._labels import labels_by_leaf
from fromax.optimizers._matrices import path_name

__all__ = ["resolve_labels"]


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

    pairs, _ = labels_by_leaf(labels, params, owner)
    return [(path, leaf, label) for path, leaf, label in pairs if leaf is not None]


def where(owner: str, path: tuple[Any, ...]) -> str:
    """``muon's labels at ['blocks'][0]``: the start of a message about one leaf."""
    return f"{owner}'s labels at {path_name(path)}"
