"""Where datasets live: ``--data-dir`` > ``$DERIVATIONS_DATA`` > the user cache directory.

The default cache is ``$XDG_CACHE_HOME/derivations`` (``~/.cache/derivations``) on Linux,
``~/Library/Caches/derivations`` on macOS and ``%LOCALAPPDATA%\\derivations`` on Windows.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ENV_VAR = "DERIVATIONS_DATA"


def default_cache_dir() -> Path:
    if sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local"
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Caches"
    else:
        base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "derivations"


def check_data_dir(data_dir) -> None:
    """Refuse a ``--data-dir`` that is given but is not a folder (before any work starts)."""
    from derivations.core.errors import UserError
    if data_dir is not None and not Path(data_dir).expanduser().is_dir():
        raise UserError(f"--data-dir {data_dir} is not a folder")


def resolve_data_dir(data_dir=None) -> tuple[Path, str]:
    """The data folder and where it came from (``--data-dir``, the env var, or the cache)."""
    if data_dir:
        return Path(data_dir).expanduser(), "--data-dir"
    env = os.environ.get(ENV_VAR)
    if env:
        return Path(env).expanduser(), f"${ENV_VAR}"
    return default_cache_dir(), "the default cache"
