"""Checkpoints: any pytree of arrays saved to one .npz file, safely.

A checkpoint is a single NumPy ``.npz`` file: one entry per leaf, plus one
JSON document (stored as a string entry) that records each leaf's path,
shape and dtype, the owner of each fromax optimiser state in the tree, and
the caller's metadata. Nothing is pickled: members are read with
``allow_pickle=False``. It is written to a temporary file beside the target
and renamed over it, so a crash mid-write leaves the previous checkpoint
whole.

Restoring needs a template of the same structure (for an optimiser state,
``optimizer.init(params)``): the template supplies the tree structure and
everything static (schedule kinds, a user's schedule function), the file
supplies every number: parameters, moments, the step count, each
hyperparameter's schedule parameters.

Nothing in the file is trusted: each member's shape and dtype are read from
its ``.npy`` header, before any data, and must agree with the index and the
template (so a member that declares a 100000 x 100000 array is refused
without allocating it), and the state of one optimiser is not restored into
another's template (Adam's moments into NAdam).
"""

from __future__ import annotations

import json
import os
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from fromax._core._hyperparams import TransformState
from fromax._npy import UNREADABLE, declared_size_is_held, member_size, npy_header, to_array

__all__ = ["load_checkpoint_metadata", "restore_checkpoint", "save_checkpoint"]

_FORMAT = "fromax-checkpoint"
# Version 2 records the owner of each optimiser state; version 1 files (without
# owners) are still read, their leaves checked as strictly.
_VERSION = 2
_READABLE_VERSIONS = (1, 2)
_INDEX = "__fromax__"


def _leaf_name(i: int) -> str:
    return f"leaf_{i:06d}"


def _stored_dtype(dtype: np.dtype) -> np.dtype:
    """The dtype a leaf of ``dtype`` is stored as: types NumPy can't save go as bits."""
    if dtype.name == "bfloat16" or dtype.kind == "V" or dtype.name.startswith("float8"):
        return np.dtype(f"uint{8 * dtype.itemsize}")
    return dtype


def _to_numpy(leaf: Any) -> tuple[np.ndarray, str]:
    """The array to store and its dtype's name."""
    array = np.asarray(jax.device_get(leaf))
    dtype = jnp.dtype(array.dtype)
    stored = _stored_dtype(dtype)
    return (array.view(stored) if stored != dtype else array), dtype.name


def _owners(tree: Any) -> list[dict[str, str]]:
    """``[{"path": ..., "owner": ...}]`` for every fromax optimiser state in ``tree``,
    nested ones (a wrapper's inner state) included, in a fixed order."""
    found: list[dict[str, str]] = []

    def visit(prefix: tuple[Any, ...], subtree: Any) -> None:
        flat, _ = jax.tree_util.tree_flatten_with_path(
            subtree, is_leaf=lambda x: isinstance(x, TransformState)
        )
        for key_path, node in flat:
            if isinstance(node, TransformState):
                where = (*prefix, *key_path)
                found.append({"path": jax.tree_util.keystr(where), "owner": node.owner})
                visit((*where, jax.tree_util.GetAttrKey("inner")), node.inner)

    visit((), tree)
    return found


def save_checkpoint(path: str | os.PathLike, tree: Any, *, metadata: Any = None) -> Path:
    """Saves the arrays of ``tree`` to ``path`` (an .npz file), atomically.

    Args:
        path: the file to write; its folder is created if missing. An existing
            file is replaced only once the new one is complete.
        tree: a pytree of arrays, e.g. ``(params, opt_state)``.
        metadata: anything JSON can encode (the step, a config); read it back
            with :func:`load_checkpoint_metadata`.

    Returns:
        The path written.

    Example:
        >>> import tempfile, os, jax.numpy as jnp, fromax
        >>> opt = fromax.fromage(fromax.schedules.linear(0.1, 0.0, transition_steps=10))
        >>> params = {"w": jnp.ones(3)}
        >>> state = opt.init(params)
        >>> path = os.path.join(tempfile.mkdtemp(), "checkpoint.npz")
        >>> _ = fromax.save_checkpoint(path, (params, state), metadata={"step": 0})
        >>> params, state = fromax.restore_checkpoint(path, (params, opt.init(params)))
        >>> fromax.load_checkpoint_metadata(path)
        {'step': 0}
    """
    path = Path(path)
    try:
        json.dumps(metadata)
    except (TypeError, ValueError) as error:
        raise TypeError(f"metadata must be JSON-serialisable: {error}") from None
    flat, _ = jax.tree_util.tree_flatten_with_path(tree)
    arrays: dict[str, np.ndarray] = {}
    leaves = []
    for i, (key_path, leaf) in enumerate(flat):
        if not isinstance(leaf, jax.Array | np.ndarray | np.generic | int | float | bool):
            raise TypeError(
                f"tree{jax.tree_util.keystr(key_path)} is a {type(leaf).__name__}, "
                "not an array: a checkpoint holds arrays only"
            )
        array, dtype = _to_numpy(leaf)
        arrays[_leaf_name(i)] = array
        leaves.append(
            {"path": jax.tree_util.keystr(key_path), "shape": list(array.shape), "dtype": dtype}
        )
    index = {
        "format": _FORMAT,
        "version": _VERSION,
        "leaves": leaves,
        "owners": _owners(tree),
        "metadata": metadata,
    }
    arrays[_INDEX] = np.array(json.dumps(index))

    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            # The keys are leaf names, never numpy's allow_pickle (a keyword from numpy 2.1
            # on, which the 1.26 floor lacks), but the stubs cannot know that.
            np.savez(f, **arrays)  # type: ignore[arg-type]
            f.flush()
            os.fsync(f.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


class _Archive:
    """A checkpoint file opened for reading: members checked before they are loaded."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        if not self.path.is_file():
            raise FileNotFoundError(f"no checkpoint at {self.path}")
        try:
            self.zip = zipfile.ZipFile(self.path)
        except UNREADABLE as error:
            raise self.unreadable(error) from None

    def __enter__(self) -> _Archive:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.zip.close()

    def unreadable(self, error: BaseException) -> ValueError:
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        return ValueError(
            f"{self.path} is not a readable fromax checkpoint ({reason}): it is truncated, "
            "damaged or another kind of file; use a file written by fromax.save_checkpoint"
        )

    def member(self, name: str, what: str, shape: tuple[int, ...] | None, dtype: np.dtype) -> Any:
        """Member ``name`` (``what``, for messages) as an array, after its header matches.

        ``shape`` None admits any shape with no elements beyond the one a string
        scalar has (the index); ``dtype`` of kind ``"U"`` admits a string of any length.
        """
        try:
            info = self.zip.getinfo(f"{name}.npy")
        except KeyError:
            raise ValueError(
                f"{self.path} has no member {name} ({what}): it is damaged or was not "
                "written by fromax.save_checkpoint"
            ) from None
        try:
            with self.zip.open(info) as f:
                found_shape, fortran, found_dtype = self._header(f, name)
                declared = f"{found_dtype.name}{list(found_shape)}"
                expected = "a string" if dtype.kind == "U" else f"{dtype.name}{list(shape or ())}"
                same_kind = (
                    found_dtype.kind == "U" and found_dtype.itemsize > 0
                    if dtype.kind == "U"
                    else found_dtype == dtype
                )
                if not same_kind or found_shape != (shape if shape is not None else ()):
                    raise ValueError(
                        f"{self.path} does not match its index at {what}: member {name} "
                        f"holds {declared} where the index says {expected}; the file is "
                        "damaged or was not written by fromax.save_checkpoint"
                    )
                size = member_size(found_shape, found_dtype)
                if not declared_size_is_held(info, f.tell(), size):
                    raise ValueError(
                        f"{self.path}: member {name} ({what}) declares {declared} "
                        f"({size:,} bytes) but holds {info.file_size - f.tell():,}; "
                        "the file is truncated or damaged"
                    )
                data = f.read(size)
        except UNREADABLE as error:
            raise self.unreadable(error) from None
        if len(data) != size:
            raise self.unreadable(EOFError(f"member {name} ends early"))
        return to_array(data, found_shape, fortran, found_dtype)

    def _header(self, f: Any, name: str) -> tuple[tuple[int, ...], bool, np.dtype]:
        try:
            return npy_header(f)
        except ValueError as error:
            raise ValueError(
                f"{self.path}: member {name} has no valid .npy header "
                f"({str(error).splitlines()[0][:120]}); the file is damaged"
            ) from None

    def index(self) -> dict[str, Any]:
        """The JSON index, its every field checked."""
        text = str(self.member(_INDEX, "the index", None, np.dtype("U1"))[()])
        try:
            index = json.loads(text)
        except (ValueError, RecursionError):
            raise ValueError(f"{self.path} has an index that is not valid JSON") from None
        if not isinstance(index, dict):
            raise ValueError(f"{self.path} has an index that is not a JSON object")
        if index.get("format") != _FORMAT or index.get("version") not in _READABLE_VERSIONS:
            raise ValueError(
                f"{self.path} has format {str(index.get('format'))[:40]!r} version "
                f"{str(index.get('version'))[:20]!r}; this fromax reads {_FORMAT!r} versions "
                f"{', '.join(map(str, _READABLE_VERSIONS))}"
            )
        leaves, owners = index.get("leaves"), index.get("owners", [])
        if not (isinstance(leaves, list) and all(map(_valid_leaf, leaves))):
            raise ValueError(f"{self.path} has a malformed index (its 'leaves' list)")
        if not (isinstance(owners, list) and all(map(_valid_owner, owners))):
            raise ValueError(f"{self.path} has a malformed index (its 'owners' list)")
        return index


def _valid_leaf(entry: Any) -> bool:
    return (
        isinstance(entry, dict)
        and isinstance(entry.get("path"), str)
        and isinstance(entry.get("dtype"), str)
        and isinstance(entry.get("shape"), list)
        and all(type(n) is int and n >= 0 for n in entry["shape"])
    )


def _valid_owner(entry: Any) -> bool:
    return (
        isinstance(entry, dict)
        and isinstance(entry.get("path"), str)
        and isinstance(entry.get("owner"), str)
    )


def load_checkpoint_metadata(path: str | os.PathLike) -> Any:
    """The metadata saved with the checkpoint at ``path``.

    Raises:
        FileNotFoundError: when there is no file at ``path``.
        ValueError: one line naming the file, for a file that is empty,
            truncated, damaged, not an .npz archive or not a fromax checkpoint.

    Example:
        >>> import tempfile, os, jax.numpy as jnp, fromax
        >>> path = os.path.join(tempfile.mkdtemp(), "run.npz")
        >>> _ = fromax.save_checkpoint(path, {"w": jnp.ones(2)}, metadata={"step": 7})
        >>> fromax.load_checkpoint_metadata(path)["step"]
        7
    """
    with _Archive(path) as archive:
        return archive.index().get("metadata")


def _check_owners(path: Path, saved: list[dict[str, str]], template: Any) -> None:
    expected = _owners(template)
    for mine, theirs in zip(saved, expected, strict=False):
        if mine != theirs:
            raise ValueError(
                f"{path} holds {mine['owner']}'s state at tree{mine['path']}, but the template "
                f"has {theirs['owner']}'s at tree{theirs['path']}: restore it into a template "
                f"built by {mine['owner']} (its init(params))"
            )
    if len(saved) != len(expected):
        found = ", ".join(o["owner"] for o in saved) or "none"
        wanted = ", ".join(o["owner"] for o in expected) or "none"
        raise ValueError(
            f"{path} holds the states of [{found}] but the template has [{wanted}]: restore "
            "with a template built like the saved tree"
        )


def restore_checkpoint(path: str | os.PathLike, template: Any) -> Any:
    """The tree saved at ``path``, rebuilt on the structure of ``template``.

    Args:
        path: a file written by :func:`save_checkpoint`.
        template: a pytree of the same structure, paths, shapes and dtypes
            (for an optimiser state: ``optimizer.init(params)``, of the same
            optimiser). Its values are not used.

    Returns:
        The saved tree, as JAX arrays.

    Raises:
        FileNotFoundError: when there is no file at ``path``.
        ValueError: one line, naming the first leaf whose path, shape or dtype
            differs between the template, the file's index and the stored
            array, or the optimiser whose state is restored into another's
            template, or the file when it is not a readable checkpoint.

    Example:
        >>> import tempfile, os, jax.numpy as jnp, fromax
        >>> path = os.path.join(tempfile.mkdtemp(), "params.npz")
        >>> _ = fromax.save_checkpoint(path, {"w": jnp.arange(3.0)})
        >>> fromax.restore_checkpoint(path, {"w": jnp.zeros(3)})
        {'w': Array([0., 1., 2.], dtype=float32)}
    """
    with _Archive(path) as archive:
        path = archive.path
        index = archive.index()
        if "owners" in index:
            _check_owners(path, index["owners"], template)
        flat, treedef = jax.tree_util.tree_flatten_with_path(template)
        saved = index["leaves"]
        if len(saved) != len(flat):
            raise ValueError(
                f"{path} holds {len(saved)} arrays but the template has {len(flat)}: "
                "restore with a template built like the saved tree (same optimiser, "
                "same schedules, same parameters)"
            )
        restored = []
        for i, ((key_path, leaf), entry) in enumerate(zip(flat, saved, strict=True)):
            where = jax.tree_util.keystr(key_path)
            shape, dtype = list(np.shape(leaf)), jnp.dtype(jnp.result_type(leaf))
            if entry["path"] != where or entry["shape"] != shape or entry["dtype"] != dtype.name:
                raise ValueError(
                    f"{path} does not match the template at tree{where}: saved "
                    f"tree{entry['path'][:200]} {entry['dtype'][:40]}{entry['shape'][:8]}, "
                    f"template {dtype.name}{shape}"
                )
            stored = _stored_dtype(dtype)
            array = archive.member(_leaf_name(i), f"tree{where}", tuple(shape), stored)
            restored.append(jnp.asarray(array.view(dtype) if stored != dtype else array))
        return jax.tree.unflatten(treedef, restored)
