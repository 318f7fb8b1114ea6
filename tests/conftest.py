"""Shared test helpers.

``require(name)`` imports an optional dependency (torch, a TeX engine, ``dot``). On a user's
machine a missing one skips the test with a reason; under CI (``CI=true``) it fails, because
CI installs everything and nothing may be skipped there.
"""

from __future__ import annotations

import importlib
import os
import shutil

import pytest

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def _missing(what: str):
    if IN_CI:
        pytest.fail(f"{what} is required in CI but is not installed")
    pytest.skip(f"{what} is not installed")


def require_module(name: str):
    """Import and return an optional module, or skip (fail in CI) when it is absent."""
    try:
        return importlib.import_module(name)
    except ImportError:
        _missing(f"Python module {name!r}")


def require_program(name: str) -> str:
    """Return the path of an external program, or skip (fail in CI) when it is absent."""
    path = shutil.which(name)
    if path is None:
        _missing(f"program {name!r}")
    return path
