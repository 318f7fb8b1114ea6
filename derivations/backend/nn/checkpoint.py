"""The model file format, ``.npz``: one array per parameter plus the architecture as JSON.
``save_arrays`` writes it; ``MLP.load`` and ``CifarCNN.load`` read it through the checks here.

The parameter names are the dotted attribute paths (``net.layers.0.W``), so any layer
built on :class:`~derivations.backend.nn.base.Layer` round-trips without per-layer code.

A file is never trusted to describe itself: :class:`NpzFile` checks that every array's
header matches the bytes the file really holds before anything is allocated, and
:class:`StoredConfig` checks each field of the stored architecture (type, range) before a
model is built from it. The loaders then compare the shapes the configuration implies with
the stored headers, so a 200-byte file cannot make the loader build a network of gigabytes.
"""

from __future__ import annotations

import json
import math
import zipfile
from pathlib import Path

import numpy as np

from derivations.backend.errors import brief
from derivations.core.errors import UserError

CONFIG_KEY = "__config__"
MAX_TEXT = 1 << 20                 # a stored configuration is a few hundred characters
ZIP_LOCAL_HEADER = 30              # fixed part of a ZIP local file header, before the name
# what zipfile and np.lib.format raise on damaged input (NotImplementedError: a bogus "version needed")
READ_ERRORS = (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError)


def save_arrays(path, arrays: dict[str, np.ndarray], config: dict) -> Path:
    """Write ``arrays`` and the architecture ``config`` (stored as JSON) to the ``.npz`` ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as f:          # a file object keeps the exact name (no added .npz)
        np.savez(f, **arrays, **{CONFIG_KEY: np.array(json.dumps(config))})
    return path


def save_model(model, path) -> Path:
    """Save a model's parameters by dotted name, with its class and ``config``."""
    return save_arrays(path, {name: p.data for name, p in model.named_parameters()},
                       {"class": type(model).__name__, **model.config})


def copy_arrays(data: NpzFile, wanted: dict[str, np.ndarray], prefix: str = "") -> None:
    """Copy ``data[prefix + name]`` into each array of ``wanted`` (same shapes required)."""
    missing = sorted(name for name in wanted if prefix + name not in data)
    if missing:
        raise UserError(f"{data.path}: not a checkpoint of this model (missing {', '.join(missing[:3])})")
    for name, array in wanted.items():
        array[...] = data.read(prefix + name, array.shape, array.dtype)


class NpzFile:
    """An ``.npz`` opened for reading without trusting its content.

    Only what ``np.savez`` writes is accepted: uncompressed members that do not overlap and
    lie inside the file, each an ``.npy`` array whose header (shape × item size) accounts for
    exactly the member's bytes, with no Python objects. Every array read is therefore
    bounded by the file's real size. Errors are :class:`UserError` naming the file.
    """

    def __init__(self, path, what: str = "model"):
        self.path, self.what = Path(path), what
        self.zip: zipfile.ZipFile | None = None
        self.members: dict[str, zipfile.ZipInfo] = {}

    def __enter__(self) -> NpzFile:
        path = self.path
        if path.is_dir():
            raise UserError(f"{path} is a folder, not a {self.what} file (.npz)")
        if not path.exists():
            raise UserError(f"{self.what} file {path} does not exist")
        try:
            size = path.stat().st_size
            with open(path, "rb") as f:
                signature = f.read(4)
            if signature not in (b"PK\x03\x04", b"PK\x05\x06"):
                raise self.error("not a .npz file (no ZIP signature)"
                                 if size else "the file is empty")
            self.zip = zipfile.ZipFile(path)
        except READ_ERRORS as err:
            raise self.error(f"not a readable .npz file ({brief(err)})") from None
        try:
            self._check_members(size)
        except UserError:
            self.close()
            raise
        return self

    def _check_members(self, size: int) -> None:
        """Uncompressed members, in order, each inside the file and none overlapping the one
        before: then no array read can exceed the file's ``size``."""
        end = 0
        for info in sorted(self.zip.infolist(), key=lambda i: i.header_offset):
            member = brief(repr(info.filename), 60)
            if info.flag_bits & 0x1:
                raise self.error(f"member {member} is encrypted")
            if info.compress_type != zipfile.ZIP_STORED or info.compress_size != info.file_size:
                raise self.error(f"member {member} is compressed; this project reads the "
                                 "uncompressed .npz that np.savez writes")
            if info.header_offset < end or info.header_offset + info.compress_size > size:
                raise self.error("truncated or corrupt .npz (its members overlap or extend past the end)")
            end = info.header_offset + ZIP_LOCAL_HEADER + len(info.filename) + info.compress_size
            if info.filename.endswith(".npy"):
                self.members[info.filename[:-4]] = info

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self.zip is not None:
            self.zip.close()

    def error(self, message: str) -> UserError:
        return UserError(f"{self.path}: {message}")

    @property
    def files(self) -> list[str]:
        return list(self.members)

    def __contains__(self, name: str) -> bool:
        return name in self.members

    def header(self, name: str) -> tuple[tuple[int, ...], np.dtype]:
        """Shape and dtype of member ``name``, from its header only (checked against its size)."""
        info = self.members.get(name)
        if info is None:
            raise self.error(f"no array {name!r} in the file")
        fmt = np.lib.format
        try:
            with self.zip.open(info) as f:
                version = fmt.read_magic(f)
                if version == (1, 0):
                    shape, _, dtype = fmt.read_array_header_1_0(f)
                elif version == (2, 0):
                    shape, _, dtype = fmt.read_array_header_2_0(f)
                else:
                    raise ValueError(f"unsupported .npy version {version}")
                offset = f.tell()
        except (*READ_ERRORS, SyntaxError, TypeError) as err:
            raise self.error(f"array {name!r} has a corrupt header ({brief(err)})") from None
        if any(n < 0 for n in shape):
            raise self.error(f"array {name!r} has a negative dimension in its header {shape}")
        if dtype.hasobject:
            raise self.error(f"array {name!r} holds Python objects, which are never loaded")
        data_bytes = math.prod(shape) * dtype.itemsize
        if offset + data_bytes != info.file_size:
            raise self.error(f"array {name!r}: its header says shape {shape} of {dtype} ({data_bytes} bytes) "
                             f"but it holds {info.file_size - offset}; truncated or corrupt")
        return shape, dtype

    def read(self, name: str, shape: tuple[int, ...] | None = None, dtype=None) -> np.ndarray:
        """Member ``name`` as an array, after checking its header (and ``shape``/``dtype`` when given)."""
        stored_shape, stored_dtype = self.header(name)
        if shape is not None and stored_shape != tuple(shape):
            raise self.error(f"{name} has shape {stored_shape}, expected {tuple(shape)}")
        if dtype is not None and stored_dtype != np.dtype(dtype):
            raise self.error(f"{name} is {stored_dtype}, expected {np.dtype(dtype)}")
        try:
            with self.zip.open(self.members[name]) as f:
                return np.lib.format.read_array(f, allow_pickle=False)
        except READ_ERRORS as err:
            raise self.error(f"array {name!r} is corrupt ({brief(err)})") from None

    def text(self, name: str, limit: int = MAX_TEXT) -> str:
        """A string stored as a 0-d text array (how the configuration is saved)."""
        shape, dtype = self.header(name)
        if shape != () or dtype.kind not in "US" or dtype.itemsize > 4 * limit:
            raise self.error(f"{name} is not a stored text (shape {shape}, {dtype})")
        value = self.read(name)[()]
        return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)

    def check_shapes(self, shapes: dict[str, tuple[int, ...]], dtype) -> None:
        """Every array of ``shapes`` is stored with that shape and ``dtype`` (headers only)."""
        missing = [name for name in shapes if name not in self]
        if missing:
            raise self.error(f"its configuration implies arrays it does not hold (missing {', '.join(missing[:3])})")
        for name, shape in shapes.items():
            stored, stored_dtype = self.header(name)
            if stored != tuple(shape) or stored_dtype != dtype:
                raise self.error(f"{name} is stored as {stored} {stored_dtype} but the stored configuration "
                                 f"implies {tuple(shape)} {dtype}")


class StoredConfig:
    """The JSON configuration of a saved model, read field by field: each accessor checks the
    type and the range and raises a one-line :class:`UserError` naming the file and field."""

    def __init__(self, fields: dict, source: Path):
        self.fields, self.source = fields, source

    @classmethod
    def read(cls, data: NpzFile, kind: str, key: str = CONFIG_KEY) -> StoredConfig:
        if key not in data:
            raise data.error(f"no model configuration stored; not a derivations model (expected {kind})")
        try:
            fields = json.loads(data.text(key))
        except (ValueError, RecursionError) as err:
            raise data.error(f"the stored configuration is not valid JSON ({brief(err)})") from None
        if not isinstance(fields, dict):
            raise data.error(f"the stored configuration is a {type(fields).__name__}, not a JSON object")
        config = cls(fields, data.path)
        found = config.fields.get("class")
        if found != kind:
            raise data.error(f"holds a {_short(found)} model, expected {kind}")
        return config

    def _bad(self, key: str, expected: str) -> UserError:
        return UserError(f"{self.source}: stored configuration: {key} must be {expected}, "
                         f"got {_short(self.fields.get(key))}")

    def _get(self, key: str, default):
        if key not in self.fields:
            if default is _REQUIRED:
                raise UserError(f"{self.source}: stored configuration has no {key}")
            return default
        return self.fields[key]

    def integer(self, key: str, low: int, high: int, default=None) -> int:
        value = self._get(key, _REQUIRED if default is None else default)
        if type(value) is not int or not low <= value <= high:
            raise self._bad(key, f"an integer in [{low}, {high}]")
        return value

    def integers(self, key: str, low: int, high: int, length: tuple[int, int]) -> list[int]:
        value = self._get(key, _REQUIRED)
        if (not isinstance(value, list) or not length[0] <= len(value) <= length[1]
                or any(type(v) is not int or not low <= v <= high for v in value)):
            count = f"{length[0]}" if length[0] == length[1] else f"{length[0]} to {length[1]}"
            raise self._bad(key, f"a list of {count} integers in [{low}, {high}]")
        return value

    def number(self, key: str, low: float, high: float, default: float) -> float:
        value = self._get(key, default)
        if type(value) not in (int, float) or not low <= value <= high:
            raise self._bad(key, f"a number in [{low:g}, {high:g}]")
        return float(value)

    def flag(self, key: str, default: bool) -> bool:
        value = self._get(key, default)
        if type(value) is not bool:
            raise self._bad(key, "true or false")
        return value

    def choice(self, key: str, choices, default=None) -> str:
        value = self._get(key, _REQUIRED if default is None else default)
        if not isinstance(value, str) or value not in choices:
            raise self._bad(key, "one of " + ", ".join(choices))
        return value

    def choices(self, key: str, choices, length: int) -> list[str]:
        value = self._get(key, _REQUIRED)
        if (not isinstance(value, list) or len(value) != length
                or not all(isinstance(v, str) and v in choices for v in value)):
            raise self._bad(key, f"a list of {length} of " + ", ".join(choices))
        return value


_REQUIRED = object()


def _short(value, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 1] + "…"


def machine_memory() -> int | None:
    """Physical memory in bytes, where the system says (Linux, macOS); else None."""
    try:
        import os
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None


def check_memory(source, needed: int, what: str) -> None:
    """Refuse work whose estimated memory exceeds the machine's."""
    available = machine_memory()
    if available is not None and needed > available:
        raise UserError(f"{source}: {what} would need about {needed / 2 ** 30:.1f} GiB, more than this "
                        f"machine's {available / 2 ** 30:.1f} GiB")
