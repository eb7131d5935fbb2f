"""Reading a user's ``.npz`` data file without trusting it.

``numpy.load`` on a file that is not an archive tries to unpickle it (and its
error suggests ``allow_pickle``, which must never be suggested), and loads a
member whatever size its header declares. Here the file must be a zip
archive, each member's ``.npy`` header is read before its data, and a member
whose declared size disagrees with what the archive holds, or exceeds
``MAX_BYTES``, or holds Python objects, is refused in one line naming the file.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from fromax._npy import UNREADABLE, declared_size_is_held, member_size, npy_header, to_array

__all__ = ["MAX_BYTES", "read_npz"]

MAX_BYTES = 4 * 2**30
"""The largest member read: 4 GiB (the lab trains small models on small data)."""

_UNREADABLE = (*UNREADABLE, OSError)


def _unreadable(path: Path, error: BaseException | str) -> ValueError:
    reason = str(error).splitlines()[0][:120] if str(error) else type(error).__name__
    return ValueError(
        f"{path} is not a readable .npz file ({reason}): it is empty, truncated or another "
        "kind of file; save one with numpy.savez(path, x=..., y=...)"
    )


def _header(f, path: Path, name: str) -> tuple[tuple[int, ...], bool, np.dtype]:
    try:
        return npy_header(f)
    except ValueError as error:
        raise _unreadable(path, f"member {name}: {error}") from None


def _member(archive: zipfile.ZipFile, path: Path, name: str) -> np.ndarray:
    info = archive.getinfo(f"{name}.npy")
    with archive.open(info) as f:
        shape, fortran, dtype = _header(f, path, name)
        if dtype.hasobject:
            raise ValueError(
                f"{path}: {name} holds Python objects ({dtype}); save numbers, not objects"
            )
        size = member_size(shape, dtype)
        if not declared_size_is_held(info, f.tell(), size):
            raise _unreadable(
                path, f"{name} declares {dtype}{list(shape)} but the archive holds less"
            )
        if size > MAX_BYTES:
            raise ValueError(
                f"{path}: {name} is {dtype}{list(shape)}, {size / 2**30:.1f} GiB; "
                f"the lab reads at most {MAX_BYTES // 2**30} GiB per array"
            )
        data = f.read(size)
    if len(data) != size:
        raise _unreadable(path, f"{name} ends early")
    return to_array(data, shape, fortran, dtype).copy()


def read_npz(path: Path, names: tuple[str, ...]) -> dict[str, np.ndarray]:
    """The arrays ``names`` of the ``.npz`` file at ``path``, or a one-line ValueError.

    Example:
        >>> import os, tempfile, numpy as np
        >>> from fromax.lab._npz import read_npz
        >>> path = os.path.join(tempfile.mkdtemp(), "data.npz")
        >>> np.savez(path, x=np.zeros((2, 3)), y=np.arange(2))
        >>> {k: v.shape for k, v in read_npz(path, ("x", "y")).items()}
        {'x': (2, 3), 'y': (2,)}
    """
    path = Path(path)
    try:
        with zipfile.ZipFile(path) as archive:
            found = sorted(n[: -len(".npy")] for n in archive.namelist() if n.endswith(".npy"))
            missing = [name for name in names if name not in found]
            if missing:
                raise ValueError(
                    f"{path} must hold arrays {', '.join(map(repr, names))}; missing "
                    f"{missing}, found {found}"
                )
            return {name: _member(archive, path, name) for name in names}
    except _UNREADABLE as error:
        raise _unreadable(path, error) from None
