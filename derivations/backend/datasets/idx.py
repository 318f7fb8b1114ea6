"""Reader for the IDX format of MNIST and Fashion-MNIST (LeCun et al.), raw or gzipped.

Header: two zero bytes, a type code (0x08 = uint8, …), the number of dimensions, then one
big-endian uint32 per dimension; the data follow in C order, big-endian. Images are magic
2051 (uint8, 3-D) and labels 2049 (uint8, 1-D).
"""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path

import numpy as np

from derivations.core.errors import UserError

TYPE_CODES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_bytes(path: Path) -> bytes:
    """The file's content, decompressed when it is gzipped (detected by its magic bytes)."""
    path = Path(path)
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as err:
        raise UserError(f"cannot read {path}: {err.strerror}") from None
    if raw[:2] == b"\x1f\x8b":
        try:
            return gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as err:
            raise UserError(f"{path}: corrupt gzip data ({err})") from None
    return raw


def parse_idx(raw: bytes, source: str = "<bytes>") -> np.ndarray:
    """Parse IDX bytes into an array of the stored type and shape (native byte order)."""
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise UserError(f"{source}: not an IDX file (bad magic number)")
    code, ndim = raw[2], raw[3]
    if code not in TYPE_CODES:
        raise UserError(f"{source}: unknown IDX data type 0x{code:02x}")
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise UserError(f"{source}: truncated IDX header")
    shape = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    dtype = np.dtype(TYPE_CODES[code])
    expected = header + int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(raw) != expected:
        raise UserError(
            f"{source}: IDX header says shape {shape} ({expected} bytes) but the file holds "
            f"{len(raw)} bytes; the file is truncated or corrupt")
    data = np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape)
    return data.astype(dtype.newbyteorder("="), copy=False)


def read_idx(path, expect_ndim: int | None = None) -> np.ndarray:
    """Read an IDX file (``.gz`` or raw) into a NumPy array."""
    array = parse_idx(read_bytes(path), str(path))
    if expect_ndim is not None and array.ndim != expect_ndim:
        raise UserError(f"{path}: expected a {expect_ndim}-D IDX array, got shape {array.shape}")
    return array


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
