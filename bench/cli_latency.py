"""Start-up cost of the CLI relative to importing SymPy, and the time of a full ``check``.

Target: ``python -m derivations solve problem3`` ≤ 1.86 × ``python -c "import sympy"`` (the ratio
measured when the open-toolkit work began; the first target was 2.0).
Both are measured in this run, interleaved, several times; medians are reported.

    python bench/cli_latency.py [--repeat 7]
"""

from __future__ import annotations

import argparse
import compileall
import statistics
import subprocess
import sys
import time
from pathlib import Path


def wall(command: list[str], check: bool = True) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=check, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    sympy_cmd = [sys.executable, "-c", "import sympy"]
    solve_cmd = [sys.executable, "-m", "derivations", "solve", "problem3"]
    # An installed package has its bytecode compiled (SymPy's is); a checkout run with
    # PYTHONDONTWRITEBYTECODE would recompile every module of ours on every start instead.
    root = Path(__file__).resolve().parents[1]
    compileall.compile_dir(root / "derivations", quiet=1)
    for folder in ("problems", "render"):
        compileall.compile_dir(root / folder, quiet=1)
    wall(sympy_cmd), wall(solve_cmd)  # warm the file cache
    sympy_times, solve_times = [], []
    for _ in range(args.repeat):
        sympy_times.append(wall(sympy_cmd))
        solve_times.append(wall(solve_cmd))
    sympy_median, solve_median = statistics.median(sympy_times), statistics.median(solve_times)
    check_time = wall([sys.executable, "-m", "derivations", "check"], check=False)
    print(f"import sympy          median {sympy_median:.3f} s over {args.repeat} runs")
    print(f"solve problem3        median {solve_median:.3f} s over {args.repeat} runs")
    print(f"ratio solve / sympy   {solve_median / sympy_median:.2f}  (target <= 1.86)")
    print(f"check (whole catalogue) {check_time:.2f} s")


if __name__ == "__main__":
    main()
