"""Checkpoints: any pytree of arrays saved to one .npz file, safely.

A checkpoint is a single NumPy ``.npz`` file: one entry per leaf, plus one
JSON document (stored as a string entry) that records each leaf's path,
shape and dtype and the caller's metadata. Nothing is pickled: it loads with
``allow_pickle=False``. It is written to a temporary file beside the target
and renamed over it, so a crash mid-write leaves the previous checkpoint
whole.

Restoring needs a template of the same structure (for an optimiser state,
``optimizer.init(params)``): the template supplies the tree structure and
everything static (schedule kinds, a user's schedule function), the file
supplies every number: parameters, moments, the step count, each
hyperparameter's schedule parameters.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

__all__ = ["load_checkpoint_metadata", "restore_checkpoint", "save_checkpoint"]

_FORMAT = "fromax-checkpoint"
_VERSION = 1
_INDEX = "__fromax__"


def _leaf_name(i: int) -> str:
    return f"leaf_{i:06d}"


def _to_numpy(leaf: Any) -> tuple[np.ndarray, str]:
    """The array to store and its dtype's name; types NumPy can't save go as bits."""
    array = np.asarray(jax.device_get(leaf))
    dtype = jnp.dtype(array.dtype)
    if dtype.name in ("bfloat16",) or dtype.kind == "V" or dtype.name.startswith("float8"):
        bits = np.dtype(f"uint{8 * dtype.itemsize}")
        return array.view(bits), dtype.name
    return array, dtype.name


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
    index = {"format": _FORMAT, "version": _VERSION, "leaves": leaves, "metadata": metadata}
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


def _read_index(archive: Any, path: Path) -> dict[str, Any]:
    if _INDEX not in archive.files:
        raise ValueError(f"{path} is not a fromax checkpoint (no {_INDEX} entry)")
    index = json.loads(str(archive[_INDEX]))
    if index.get("format") != _FORMAT or index.get("version") != _VERSION:
        raise ValueError(
            f"{path} has format {index.get('format')!r} version {index.get('version')!r}; "
            f"this fromax reads {_FORMAT!r} version {_VERSION}"
        )
    return index


def _open(path: str | os.PathLike) -> tuple[Path, Any]:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}")
    return path, np.load(path, allow_pickle=False)


def load_checkpoint_metadata(path: str | os.PathLike) -> Any:
    """The metadata saved with the checkpoint at ``path``.

    Example:
        >>> import tempfile, os, jax.numpy as jnp, fromax
        >>> path = os.path.join(tempfile.mkdtemp(), "run.npz")
        >>> _ = fromax.save_checkpoint(path, {"w": jnp.ones(2)}, metadata={"step": 7})
        >>> fromax.load_checkpoint_metadata(path)["step"]
        7
    """
    path, archive = _open(path)
    with archive:
        return _read_index(archive, path)["metadata"]


def restore_checkpoint(path: str | os.PathLike, template: Any) -> Any:
    """The tree saved at ``path``, rebuilt on the structure of ``template``.

    Args:
        path: a file written by :func:`save_checkpoint`.
        template: a pytree of the same structure, paths, shapes and dtypes
            (for an optimiser state: ``optimizer.init(params)``). Its values
            are not used.

    Returns:
        The saved tree, as JAX arrays.

    Raises:
        ValueError: naming the first leaf whose path, shape or dtype differs.

    Example:
        >>> import tempfile, os, jax.numpy as jnp, fromax
        >>> path = os.path.join(tempfile.mkdtemp(), "params.npz")
        >>> _ = fromax.save_checkpoint(path, {"w": jnp.arange(3.0)})
        >>> fromax.restore_checkpoint(path, {"w": jnp.zeros(3)})
        {'w': Array([0., 1., 2.], dtype=float32)}
    """
    path, archive = _open(path)
    with archive:
        index = _read_index(archive, path)
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
            shape, dtype = list(np.shape(leaf)), jnp.dtype(jnp.result_type(leaf)).name
            if entry["path"] != where or entry["shape"] != shape or entry["dtype"] != dtype:
                raise ValueError(
                    f"{path} does not match the template at tree{where}: saved "
                    f"tree{entry['path']} {entry['dtype']}{entry['shape']}, template "
                    f"{dtype}{shape}"
                )
            array = archive[_leaf_name(i)]
            if array.dtype.name != dtype:
                array = array.view(jnp.dtype(dtype))
            restored.append(jnp.asarray(array))
        return jax.tree.unflatten(treedef, restored)
