"""Quoting a library's exception, or a file's content, inside a one-line
:class:`~derivations.core.errors.UserError`."""

from __future__ import annotations


def brief(what, limit: int = 100) -> str:
    """``str(what)`` on one line and at most ``limit`` characters: zipfile, gzip, JSON and
    Pillow messages may quote whole headers of the damaged file, and a CSV field may be long."""
    text = " ".join(str(what).split()) or type(what).__name__
    return text if len(text) <= limit else text[:limit - 1] + "…"
