"""Which leaves are matrices, and how a leaf is seen as one (or as a stack of them).

JAX keeps a dense kernel as (fan_in, fan_out) (``y = x @ W``, flax's
``Dense``), a convolution kernel as (*spatial, in, out) (flax's ``Conv``),
and an embedding table as (vocab, width): all with the input axes first and
the output axis last. So:

- rank 2: the matrix itself, (fan_in, fan_out);
- rank 4 or 5 (a 2-D or 3-D convolution kernel): flattened to
  (prod(spatial) * in, out), as Jordan's Muon flattens PyTorch's conv weights;
- any other rank has no rule: rank 3 is a 1-D convolution (w, in, out) as
  often as a stack of layers (layers, in, out), so it must be said which, by a
  :class:`MatrixAxes`.

A :class:`MatrixAxes` names the fan-in (reduction) and fan-out (output) axes;
every other axis is a batch axis, each index of which is a matrix of its own.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import jax

__all__ = [
    "MatrixAxes",
    "MatrixView",
    "default_axes",
    "is_embedding",
    "is_embedding_or_head",
    "is_head",
    "path_name",
]


def _axes_tuple(value: Any) -> tuple[int, ...]:
    return (value,) if isinstance(value, int) else tuple(value)


@dataclasses.dataclass(frozen=True)
class MatrixAxes:
    """The axes of a leaf that form a matrix's fan-in and fan-out; the others are batch axes.

    Attributes:
        reduction: the fan-in axis or axes (what a layer sums over), flattened
            in order.
        output: the fan-out axis or axes, flattened in order.

    Example:
        >>> import fromax
        >>> stacked = fromax.MatrixAxes(reduction=1, output=2)  # (layers, in, out)
        >>> view = stacked.view((12, 768, 3072), "muon's labels at ['blocks']")
        >>> view.batch, view.fan_in, view.fan_out
        (12, 768, 3072)
    """

    reduction: int | tuple[int, ...] = 0
    output: int | tuple[int, ...] = 1

    def view(self, shape: tuple[int, ...], where: str) -> MatrixView:
        """How a leaf of ``shape`` is seen as matrices; a ValueError naming ``where`` if not."""
        rank = len(shape)
        reduction, output = _axes_tuple(self.reduction), _axes_tuple(self.output)
        for axis in (*reduction, *output):
            if not isinstance(axis, int) or isinstance(axis, bool) or not -rank <= axis < rank:
                raise ValueError(
                    f"{where}: {self} does not fit a leaf of shape {tuple(shape)}: axis {axis!r} "
                    f"is not an axis of a rank-{rank} array"
                )
        reduction = tuple(a % rank for a in reduction)
        output = tuple(a % rank for a in output)
        if not reduction or not output or len(set(reduction + output)) < len(reduction + output):
            raise ValueError(
                f"{where}: {self} does not fit a leaf of shape {tuple(shape)}: the reduction and "
                f"output axes must be non-empty and distinct"
            )
        batch = tuple(a for a in range(rank) if a not in reduction + output)
        return MatrixView(
            shape=tuple(shape),
            permutation=batch + reduction + output,
            batch=math.prod(shape[a] for a in batch),
            fan_in=math.prod(shape[a] for a in reduction),
            fan_out=math.prod(shape[a] for a in output),
        )


@dataclasses.dataclass(frozen=True)
class MatrixView:
    """A leaf seen as ``batch`` matrices of shape (fan_in, fan_out); static."""

    shape: tuple[int, ...]
    permutation: tuple[int, ...]
    batch: int
    fan_in: int
    fan_out: int

    def to_matrices(self, x: jax.Array) -> jax.Array:
        """The leaf as an array of shape (batch, fan_in, fan_out)."""
        return x.transpose(self.permutation).reshape(self.batch, self.fan_in, self.fan_out)

    def from_matrices(self, x: jax.Array) -> jax.Array:
        """The inverse of :meth:`to_matrices`."""
        permuted = tuple(self.shape[a] for a in self.permutation)
        inverse = sorted(range(len(self.permutation)), key=self.permutation.__getitem__)
        return x.reshape(permuted).transpose(inverse)


def default_axes(shape: tuple[int, ...]) -> MatrixAxes | None:
    """The matrix axes fromax assumes for a leaf of ``shape``: rank 2, 4 or 5; else None.

    Example:
        >>> from fromax.optimizers._matrices import default_axes
        >>> default_axes((3, 3, 16, 32)), default_axes((12, 64, 64))
        (MatrixAxes(reduction=(0, 1, 2), output=3), None)
    """
    rank = len(shape)
    if rank == 2:
        return MatrixAxes(0, 1)
    if rank in (4, 5):
        return MatrixAxes(tuple(range(rank - 1)), rank - 1)
    return None


def _key_name(key: Any) -> str:
    for attribute in ("key", "name", "idx"):
        if hasattr(key, attribute):
            return str(getattr(key, attribute))
    return str(key)


def path_name(path: tuple[Any, ...]) -> str:
    """``['blocks'][0]['w']``: a leaf's path, for messages."""
    return jax.tree_util.keystr(path) or "(the root)"


def _names(path: tuple[Any, ...]) -> list[str]:
    return [_key_name(key).lower() for key in path]


def is_head(path: tuple[Any, ...]) -> bool:
    """Whether a path names an output head: a key ``head``, ``*_head`` or ``*unembed*``."""
    return any(n == "head" or n.endswith("_head") or "unembed" in n for n in _names(path))


def is_embedding(path: tuple[Any, ...]) -> bool:
    """Whether a path names an embedding table: a key ``wte``, ``wpe`` or containing ``embed``
    (``embedding``, ``Embed_0``, ``embed_tokens``), and not an output head."""
    return not is_head(path) and any(n in ("wte", "wpe") or "embed" in n for n in _names(path))


def is_embedding_or_head(path: tuple[Any, ...]) -> bool:
    """Whether a path names an embedding table or an output head, by its keys (case-insensitive).

    Example:
        >>> import jax
        >>> from fromax.optimizers._matrices import is_embedding_or_head
        >>> paths = [p for p, _ in jax.tree_util.tree_leaves_with_path(
        ...     {"lm_head": 0, "Embed_0": 0, "mlp": 0})]
        >>> [is_embedding_or_head(p) for p in paths]
        [True, True, False]
    """
    return is_head(path) or is_embedding(path)
