"""One ``.npy`` member of a zip archive, read without trusting it.

Shared by the checkpoint reader and the application's data reader. The
header is read before the data; the data is read only when the size the
header declares agrees with what the archive says it holds (and, compressed,
with what DEFLATE can expand to), so a damaged or hostile file never
allocates what it claims. Nothing is unpickled. Each caller words its own
one-line errors.
"""

from __future__ import annotations

import math
import struct
import zipfile
import zlib
from typing import IO

import numpy as np

__all__ = ["UNREADABLE", "declared_size_is_held", "member_size", "npy_header", "to_array"]

# What a damaged, truncated or foreign archive raises while it is read.
UNREADABLE = (zipfile.BadZipFile, EOFError, zlib.error, struct.error, NotImplementedError)

# DEFLATE expands data at most about 1032 times: a member claiming more lies about its size.
_MAX_DEFLATE_RATIO = 1100


def npy_header(f: IO[bytes]) -> tuple[tuple[int, ...], bool, np.dtype]:
    """``(shape, fortran_order, dtype)`` from a ``.npy`` header; ValueError if there is none.

    Example:
        >>> import io, numpy as np
        >>> from fromax._npy import npy_header
        >>> buffer = io.BytesIO()
        >>> np.save(buffer, np.zeros((2, 3), np.float32))
        >>> _ = buffer.seek(0)
        >>> npy_header(buffer)
        ((2, 3), False, dtype('float32'))
    """
    version = np.lib.format.read_magic(f)
    if version == (1, 0):
        return np.lib.format.read_array_header_1_0(f)
    if version == (2, 0):
        return np.lib.format.read_array_header_2_0(f)
    raise ValueError(f"unsupported .npy version {version}")


def declared_size_is_held(info: zipfile.ZipInfo, header_end: int, size: int) -> bool:
    """Whether the member holds exactly the ``size`` data bytes its header declares
    after ``header_end`` bytes of header, and its compression could produce them."""
    if info.compress_type == zipfile.ZIP_STORED:
        plausible = info.compress_size == info.file_size
    else:
        plausible = info.file_size <= _MAX_DEFLATE_RATIO * max(info.compress_size, 1)
    return plausible and info.file_size == header_end + size


def to_array(data: bytes, shape: tuple[int, ...], fortran: bool, dtype: np.dtype) -> np.ndarray:
    """The array that ``data`` holds, read-only (a view of the bytes)."""
    flat = np.frombuffer(data, dtype=dtype)
    return flat.reshape(shape, order="F") if fortran else flat.reshape(shape)


def member_size(shape: tuple[int, ...], dtype: np.dtype) -> int:
    """The data bytes a header of ``shape`` and ``dtype`` declares."""
    return math.prod(shape) * dtype.itemsize
