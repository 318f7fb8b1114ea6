"""Running the CLI the way a user does: a subprocess, its exit code, stdout and stderr."""

from __future__ import annotations

import os
import subprocess
import sys
import tracemalloc
from contextlib import contextmanager
from dataclasses import dataclass


@dataclass
class Run:
    code: int
    out: str
    err: str


def cli(*args: str, env: dict | None = None, cwd=None, timeout: float = 120) -> Run:
    result = subprocess.run([sys.executable, "-m", "derivations", *args], capture_output=True, text=True,
                            env={**os.environ, **(env or {})}, cwd=cwd, timeout=timeout)
    return Run(result.returncode, result.stdout, result.stderr)


def cli_in_process(capsys, *args: str) -> Run:
    """The CLI as a user runs it, in this process (each subprocess re-imports SymPy: ~0.5 s)."""
    from derivations.cli import main

    code = main(list(args))
    captured = capsys.readouterr()
    return Run(code, captured.out, captured.err)


def assert_user_error(run: Run, *fragments: str) -> None:
    """Exit 2, one line on stderr that mentions every fragment, and no traceback."""
    assert run.code == 2, (run.code, run.out, run.err)
    assert "Traceback" not in run.err
    lines = run.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("derivations: error:"), run.err
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])


@contextmanager
def allocation_peak():
    """``{"peak": bytes}``: the most memory allocated at once inside the block (tracemalloc, which
    NumPy reports to), whatever the process held before; ``ru_maxrss`` cannot see a block's own peak."""
    measured = {}
    tracemalloc.start()
    try:
        yield measured
    finally:
        measured["peak"] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
