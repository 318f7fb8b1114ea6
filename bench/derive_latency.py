"""Time of ``derive`` on ten equations, as a ratio to ``python -c "import sympy"``.

Target: ``python -m derivations derive`` on ten equations in under 2 s. Both commands are
measured in this run, interleaved, several times (as ``bench/cli_latency.py`` does); medians
are reported, with the ten-equation matrix model as well.

    python bench/derive_latency.py [--repeat 7]
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cli_latency import wall  # noqa: E402  (the one timing helper of the benchmarks)

#: a three-layer scalar net with a regularised squared loss: 10 equations, 11 inputs, 11 derivatives
SCALAR = ("h1 = w1*x + b1; a1 = tanh(h1); h2 = w2*a1 + b2; a2 = sigmoid(h2); h3 = w3*a2 + b3; a3 = relu(h3); "
          "yhat = w4*a3 + b4; r = yhat - y; L = r^2/2; R = L + lam*(w1^2 + w2^2)")
#: the same with matrices (rectangular), differentiated by the three weight matrices
MATRIX = ("z1 = W1*x + b1; a1 = tanh(z1); z2 = W2*a1 + b2; a2 = sigmoid(z2); z3 = W3*a2 + b3; a3 = relu(z3); "
          "yhat = W4*a3; r = yhat - y; L = sum(r^2)/2; R = L + lam*sum(W1^2)")
MATRIX_SHAPES = "x: 3, W1: 4x3, b1: 4, W2: 5x4, b2: 5, W3: 4x5, b3: 4, W4: 2x4, y: 2, lam: 1x1"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    commands = {
        "import sympy": [sys.executable, "-c", "import sympy"],
        "derive, 10 scalar equations": [sys.executable, "-m", "derivations", "derive", SCALAR],
        "derive, 10 matrix equations": [sys.executable, "-m", "derivations", "derive", MATRIX, "--shapes",
                                        MATRIX_SHAPES, "--wrt", "W1,W2,W3"],
    }
    for command in commands.values():  # warm the file cache; a failed check would be an error here
        wall(command)
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(args.repeat):
        for name, command in commands.items():
            times[name].append(wall(command))
    medians = {name: statistics.median(t) for name, t in times.items()}
    sympy = medians["import sympy"]
    for name, median in medians.items():
        print(f"{name:30s} median {median:.3f} s over {args.repeat} runs" +
              ("" if name == "import sympy" else f"   ratio to import sympy {median / sympy:.2f}  (target: < 2 s)"))


if __name__ == "__main__":
    main()
