"""``GroupKey``: the pytree key under which a group of ``partition`` keeps its state.

:func:`~fromax.hyperparams` keys every hyperparameter found under a
``GroupKey(label)`` as ``"<label>/<name>"``, always, not only where the name
is ambiguous: a group's keys then do not change when another group is added.
"""

from __future__ import annotations

import dataclasses

__all__ = ["GroupKey", "GroupLabel"]


@dataclasses.dataclass(frozen=True)
class GroupKey:
    """A pytree path key naming one group (``partition``'s label)."""

    label: str

    def __str__(self) -> str:
        # What jax.tree_util.keystr prints: the same as a dict key's.
        return f"[{self.label!r}]"


class GroupLabel(str):
    """A group's label as one part of a hyperparameter's path (a str that says it scopes)."""

    __slots__ = ()
