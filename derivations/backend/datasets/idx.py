"""Reader for the IDX format of MNIST and Fashion-MNIST (LeCun et al.), raw or gzipped.

Header: two zero bytes, a type code (0x08 = uint8, …), the number of dimensions, then one
big-endian uint32 per dimension; the data follow in C order, big-endian. Images are magic
2051 (uint8, 3-D) and labels 2049 (uint8, 1-D).
"""

from __future__ import annotations

import gzip
import math
import os
import zlib
from pathlib import Path

import numpy as np

from derivations.backend.errors import brief
from derivations.core.errors import UserError

CHUNK = 1 << 20
TYPE_CODES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


MAX_GZIP_RATIO = 1032      # DEFLATE's largest expansion: a .gz of n bytes holds at most ~1032·n


def read_idx(path, expect_ndim: int | None = None) -> np.ndarray:
    """Read an IDX file (``.gz`` or raw) into a NumPy array.

    The header is read first and its claimed size compared with what the file can hold
    (its size, or 1032× that when gzipped) before any data is read, and the data are read
    in chunks: a header claiming 10⁹ images in a 1 kB file allocates nothing.
    """
    path = Path(path)
    try:
        with open(path, "rb") as raw:
            size = os.fstat(raw.fileno()).st_size
            gzipped = raw.read(2) == b"\x1f\x8b"
            raw.seek(0)
            if gzipped:
                with gzip.GzipFile(fileobj=raw) as stream:
                    array = _read_stream(stream, str(path), MAX_GZIP_RATIO * size)
            else:
                array = _read_stream(raw, str(path), size)
    except (gzip.BadGzipFile, EOFError, zlib.error) as err:
        raise UserError(f"{path}: corrupt gzip data ({brief(err)})") from None
    except OSError as err:
        raise UserError(f"cannot read {path}: {err.strerror or err}") from None
    if expect_ndim is not None and array.ndim != expect_ndim:
        raise UserError(f"{path}: expected a {expect_ndim}-D IDX array, got shape {array.shape}")
    return array


def _read_stream(stream, source: str, limit: int) -> np.ndarray:
    """Parse IDX from a binary stream holding at most ``limit`` bytes (native byte order out)."""
    head = stream.read(4)
    if len(head) < 4 or head[0] != 0 or head[1] != 0:
        raise UserError(f"{source}: not an IDX file (bad magic number)")
    code, ndim = head[2], head[3]
    if code not in TYPE_CODES:
        raise UserError(f"{source}: unknown IDX data type 0x{code:02x}")
    dims = stream.read(4 * ndim)
    if len(dims) < 4 * ndim:
        raise UserError(f"{source}: truncated IDX header")
    shape = tuple(int.from_bytes(dims[4 * i: 4 * i + 4], "big") for i in range(ndim))
    dtype = np.dtype(TYPE_CODES[code])
    header = 4 + 4 * ndim
    expected = header + math.prod(shape) * dtype.itemsize
    claim = f"{source}: IDX header says shape {shape} ({expected} bytes)"
    if expected > limit:
        raise UserError(f"{claim}, more than the file can hold; the file is truncated or corrupt")
    data = bytearray()
    while len(data) < expected - header:
        chunk = stream.read(min(CHUNK, expected - header - len(data)))
        if not chunk:
            break
        data += chunk
    if len(data) != expected - header or stream.read(1):
        held = "more" if len(data) == expected - header else header + len(data)
        raise UserError(f"{claim} but the file holds {held} bytes; the file is truncated or corrupt")
    array = np.frombuffer(data, dtype=dtype).reshape(shape)
    return array.astype(dtype.newbyteorder("="), copy=False)


def write_idx(path, array: np.ndarray, compress: bool | None = None) -> Path:
    """Write ``array`` as IDX (gzipped when the name ends in ``.gz``); used by tests."""
    path = Path(path)
    codes = {np.dtype(v).newbyteorder(">") if np.dtype(v).itemsize > 1 else np.dtype(v): k
             for k, v in TYPE_CODES.items()}
    dtype = np.dtype(array.dtype).newbyteorder(">") if array.dtype.itemsize > 1 else array.dtype
    header = bytes([0, 0, codes[dtype], array.ndim]) + b"".join(
        int(n).to_bytes(4, "big") for n in array.shape)
    raw = header + np.ascontiguousarray(array, dtype=dtype).tobytes()
    if compress if compress is not None else path.suffix == ".gz":
        raw = gzip.compress(raw)
    path.write_bytes(raw)
    return path
