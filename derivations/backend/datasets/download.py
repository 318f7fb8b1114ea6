"""Download a file with a progress bar, verify its checksum, and move it into place."""

from __future__ import annotations

import hashlib
import os
import urllib.error
import urllib.request
from pathlib import Path

from derivations.core.errors import UserError

CHUNK = 1 << 16


def file_digests(path: Path, algorithms) -> dict[str, str]:
    """Hex digests of ``path`` for each algorithm, in one pass over the file."""
    hashes = {name: hashlib.new(name) for name in algorithms}
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            for h in hashes.values():
                h.update(block)
    return {name: h.hexdigest() for name, h in hashes.items()}


def verify_checksums(path: Path, checksums: dict[str, str]) -> None:
    """Raise :class:`UserError` unless every known digest (``md5``, ``sha256``) of ``path`` matches."""
    actual = file_digests(path, checksums)
    for algorithm, expected in checksums.items():
        if actual[algorithm] != expected:
            raise UserError(
                f"{path}: {algorithm} checksum mismatch (expected {expected[:12]}…, got "
                f"{actual[algorithm][:12]}…); corrupt or not the official release: delete it and download again")


def download(urls: list[str], dest: Path, checksums: dict[str, str], *, timeout: float = 30,
             progress: bool = True) -> Path:
    """Fetch the first URL that works into ``dest`` (via a temporary file), then verify it."""
    created = [p for p in (dest.parent, *dest.parent.parents) if not p.exists()]   # deepest first
    dest.parent.mkdir(parents=True, exist_ok=True)
    try:
        return _fetch(urls, dest, checksums, timeout, progress)
    except BaseException:
        for folder in created:          # leave no empty folders behind a failed download
            try:
                folder.rmdir()
            except OSError:
                break
        raise


def _fetch(urls, dest: Path, checksums, timeout: float, progress: bool) -> Path:
    from tqdm import tqdm
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
