"""Grade a generated class of answer files for one problem and report the time and histogram.

``python bench/grade_batch.py [--students 200] [--problem hw1/problem2]``: writes one answer file
per student (the key, a rewrite, its transpose, a sign error, a missing factor, a wrong shape,
unparseable text, mixed at random) into a temporary folder and runs ``grade --answers-dir``.
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from pathlib import Path

ANSWERS = {  # hw1/problem2: several forms of each of three answers
    "dl_dW2": ["relu(W1 @ x + b1) @ dl_dyhat @ dyhat_dz3", "(dyhat_dz3^T @ dl_dyhat^T @ relu(W1 @ x + b1)^T)^T",
               "dyhat_dz3^T @ dl_dyhat^T @ relu(W1 @ x + b1)^T", "-relu(W1 @ x + b1) @ dl_dyhat @ dyhat_dz3",
               "relu(W1 @ x + b1) @ dl_dyhat", "x @ dl_dyhat", "relu(W1 @ x + b1) @@ dl_dyhat"],
    "dl_db2": ["dl_dyhat @ dyhat_dz3", "dl_dyhat", "2*dl_dyhat @ dyhat_dz3", "(dyhat_dz3^T @ dl_dyhat^T)^T"],
    "dl_dyhat": ["2*(W2 @ relu(W1 @ x + b1) + b2 - y)^T", "(W2 @ relu(W1 @ x + b1) + b2 - y)^T",
                 "2*(W2 @ relu(W1 @ x + b1) + b2 - y)", "2*(y - W2 @ relu(W1 @ x + b1) - b2)^T"],
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    from derivations.cli import main as cli

    with tempfile.TemporaryDirectory() as folder:
        for i in range(args.students):
            answers = {name: rng.choice(forms) + " " * rng.randrange(3) for name, forms in ANSWERS.items()}
            Path(folder, f"student{i:03d}.json").write_text(json.dumps(answers))
        start = time.perf_counter()
        code = cli(["grade", "hw1/problem2", "--answers-dir", folder])
        elapsed = time.perf_counter() - start
    print(f"\ngraded {args.students} answer files ({len(ANSWERS)} answers each) in {elapsed:.1f} s")
    return code


if __name__ == "__main__":
    raise SystemExit(main())
