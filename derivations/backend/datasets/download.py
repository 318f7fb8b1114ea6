"""Download a file with a progress bar, verify its checksum, and move it into place."""

from __future__ import annotations

import hashlib
import os
import urllib.error
import urllib.request
from pathlib import Path

from derivations.core.errors import UserError

CHUNK = 1 << 16


def file_digest(path: Path, algorithm: str) -> str:
    h = hashlib.new(algorithm)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def verify_checksums(path: Path, checksums: dict[str, str]) -> None:
    """Raise :class:`UserError` unless every known digest (``md5``, ``sha256``) of ``path`` matches."""
    for algorithm, expected in checksums.items():
        actual = file_digest(path, algorithm)
        if actual != expected:
            raise UserError(
                f"{path}: {algorithm} checksum mismatch (expected {expected}, got {actual}); "
                f"the file is corrupt or not the official release: delete it and download again")


def download(urls: list[str], dest: Path, checksums: dict[str, str], *, timeout: float = 30,
             progress: bool = True) -> Path:
    """Fetch the first URL that works into ``dest`` (via a temporary file), then verify it."""
    from tqdm import tqdm
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(dest.name + ".part")
    errors = []
    for url in urls:
        try:
            with urllib.request.urlopen(url, timeout=timeout) as response, open(tmp, "wb") as out:
                total = int(response.headers.get("Content-Length") or 0) or None
                with tqdm(total=total, unit="B", unit_scale=True, desc=dest.name,
                          disable=not progress, leave=False) as bar:
                    for block in iter(lambda: response.read(CHUNK), b""):
                        out.write(block)
                        bar.update(len(block))
        except (urllib.error.URLError, OSError, TimeoutError) as err:
            errors.append(f"{url}: {getattr(err, 'reason', err)}")
            tmp.unlink(missing_ok=True)
            continue
        try:
            verify_checksums(tmp, checksums)
        except UserError:
            tmp.unlink(missing_ok=True)
            raise
        os.replace(tmp, dest)
        return dest
    raise DownloadError("; ".join(errors))


class DownloadError(Exception):
    """Every URL failed (offline, or the server refused); the caller turns it into advice."""
