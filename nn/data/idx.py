"""Read and write the IDX file format used by MNIST and Fashion-MNIST.

An IDX file is a 4-byte magic number ``00 00 TT NN`` (``TT`` = element type
code, ``NN`` = number of dimensions), then ``NN`` big-endian uint32 sizes,
then the elements in C order, big-endian. Files may be gzip-compressed; this
is detected from the content, whatever the file is called.

This module uses only NumPy and the standard library.
"""

from __future__ import annotations

import gzip
import math
import os
import struct
import zlib
from pathlib import Path

import numpy as np
from numpy.typing import ArrayLike

__all__ = ["read_idx", "write_idx", "IDX_DTYPES"]

#: IDX element type codes and the big-endian NumPy dtypes they stand for.
IDX_DTYPES: dict[int, np.dtype] = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_CODE_NAMES = ", ".join(f"0x{c:02X}={d.name}" for c, d in IDX_DTYPES.items())
_GZIP_MAGIC = b"\x1f\x8b"


def _parse(raw: bytes, where: str) -> np.ndarray:
    if len(raw) < 4:
        raise ValueError(
            f"{where}: only {len(raw)} bytes; expected at least the 4-byte IDX magic number "
            "(is the file empty or truncated?)"
        )
    magic = int.from_bytes(raw[:4], "big")
    code, ndim = raw[2], raw[3]
    if raw[0] != 0 or raw[1] != 0:
        raise ValueError(
            f"{where}: bad IDX magic number 0x{magic:08X}; expected 0x0000TTNN (two zero "
            "bytes, a type code, the number of dimensions), e.g. 0x00000803 for MNIST "
            "images. This is not an IDX file (an HTML page or a different format?)"
        )
    if code not in IDX_DTYPES:
        raise ValueError(
            f"{where}: unknown IDX type code 0x{code:02X} in magic number 0x{magic:08X}; "
            f"expected one of {_CODE_NAMES}"
        )
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(
            f"{where}: truncated header: the magic number says {ndim} dimensions, which "
            f"needs {header} header bytes, but the file has only {len(raw)} bytes"
        )
    dims = struct.unpack(f">{ndim}I", raw[4:header])
    dtype = IDX_DTYPES[code]
    expected = math.prod(dims) * dtype.itemsize
    found = len(raw) - header
    if found < expected:
        raise ValueError(
            f"{where}: truncated: the header says shape {dims} of {dtype.name}, i.e. "
            f"{expected} data bytes, but only {found} bytes follow the header "
            "(incomplete download?)"
        )
    if found > expected:
        raise ValueError(
            f"{where}: {found - expected} unexpected bytes after the data: the header says "
            f"shape {dims} of {dtype.name} ({expected} data bytes) but {found} bytes follow "
            "the header"
        )
    data = np.frombuffer(raw, dtype=dtype, count=math.prod(dims), offset=header)
    try:
        return data.astype(dtype.newbyteorder("="), copy=True).reshape(dims)
    except ValueError as err:  # more dimensions than numpy arrays can have (64 in numpy 2)
        raise ValueError(f"{where}: the header gives {ndim} dimensions: {err}") from None


def read_idx(path: str | os.PathLike[str]) -> np.ndarray:
    """Read an IDX file (plain or gzip-compressed) into a NumPy array.

    Args:
        path: the file to read.

    Returns:
        A writable array in native byte order with the shape and element type
        stored in the file (uint8, int8, int16, int32, float32 or float64).

    Raises:
        FileNotFoundError: ``path`` does not exist.
        ValueError: the file is not IDX, is truncated, has trailing bytes, or
            is gzip data that cannot be decompressed; the message names the
            file, what was found and what was expected.

    Example:
        >>> import os, tempfile
        >>> import numpy as np
        >>> path = os.path.join(tempfile.mkdtemp(), "tiny-idx1-ubyte.gz")
        >>> _ = write_idx(path, np.array([3, 1, 4], dtype=np.uint8))
        >>> read_idx(path)
        array([3, 1, 4], dtype=uint8)
    """
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"IDX file not found: {p}")
    if not p.is_file():
        raise ValueError(f"{p}: expected an IDX file but this is a directory or special file")
    raw = p.read_bytes()
    if raw[:2] == _GZIP_MAGIC:
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as exc:
            raise ValueError(
                f"{p}: starts like gzip data but could not be decompressed ({exc}); the "
                "file is probably truncated or corrupt"
            ) from None
    return _parse(raw, str(p))


def write_idx(path: str | os.PathLike[str], array: ArrayLike) -> Path:
    """Write ``array`` to ``path`` in IDX format (gzip-compressed if the name ends in .gz).

    Args:
        path: destination file; parent directories must exist.
        array: an array of dtype uint8, int8, int16, int32, float32 or float64
            (either byte order) with 1 to 255 dimensions (as many as numpy allows),
            each smaller than 2**32.

    Returns:
        The path written, as a :class:`pathlib.Path`.

    Raises:
        ValueError: unsupported dtype or shape.

    Example:
        >>> import os, tempfile
        >>> import numpy as np
        >>> path = os.path.join(tempfile.mkdtemp(), "images-idx3-ubyte")
        >>> _ = write_idx(path, np.zeros((2, 28, 28), dtype=np.uint8))
        >>> read_idx(path).shape
        (2, 28, 28)
    """
    a = np.asarray(array)
    # Any byte order will do (np.fromfile(..., ">f4") gives big-endian arrays): the bytes
    # are written big-endian below whatever order they are in now.
    native = a.dtype.newbyteorder("=")
    code = next((c for c, d in IDX_DTYPES.items() if d.newbyteorder("=") == native), None)
    if code is None:
        names = ", ".join(d.name for d in IDX_DTYPES.values())
        raise ValueError(
            f"write_idx array has dtype {a.dtype}, which IDX cannot store; expected one of "
            f"{names} (convert with .astype first)"
        )
    if not 1 <= a.ndim <= 255:
        raise ValueError(f"write_idx array must have 1 to 255 dimensions; got shape {a.shape}")
    if any(s >= 2**32 for s in a.shape):
        raise ValueError(f"write_idx array dimensions must be < 2**32; got shape {a.shape}")
    header = bytes([0, 0, code, a.ndim]) + struct.pack(f">{a.ndim}I", *a.shape)
    payload = header + np.ascontiguousarray(a, dtype=IDX_DTYPES[code]).tobytes()
    p = Path(path)
    if p.name.endswith(".gz"):
        payload = gzip.compress(payload, mtime=0)
    p.write_bytes(payload)
    return p
