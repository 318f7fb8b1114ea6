"""``template``: write a course's starter-code file as a shim over ``derivations.backend.templates``.

``template a1/p1 --out DIR`` writes ``p1.py``; ``template hw1/impl --out DIR`` writes
``mlp.py``. Each comes with a short README named after the template (``README-a1-p1.md``,
``README-hw1-impl.md``), so both templates can share a folder; both are meant to sit beside
the course's own files (the CSV data, the grading scripts), which then run against the project.
"""

from __future__ import annotations

NAME = "template"
HELP = "Write a course template file (a1/p1 → p1.py, hw1/impl → mlp.py) that uses the project."

P1 = '''\
"""Sheet a1, programming problem 1: the template's names, implemented by derivations.

Run `python p1.py` beside mnist_train.csv and mnist_test.csv to train the sheet's
784-128-10 sigmoid network and save p1_model.npz.
"""
from derivations.backend.templates.a1_p1 import *  # noqa: F401,F403

if __name__ == "__main__":
    import numpy as np

    np.random.seed(0)
    dset = load_mnist_csv(".")
    mlp = MLP(784, 10, [128], [Sigmoid(), Identity()], random_normal_weight_init,
              zeros_bias_init, SoftmaxCrossEntropy(), lr=0.5, momentum=0.9)
    stats = get_training_stats(mlp, dset, nepochs=20, batch_size=64)
    for epoch, (loss, error) in enumerate(zip(stats[2], stats[3]), start=1):
        print(f"epoch {epoch:2d}  validation loss {loss:.4f}  error {100 * error:.2f}%")
    test_x, test_y = dset[2]
    mlp.eval()
    mlp.forward(test_x)
    print(f"test error {100 * mlp.get_error(test_y) / len(test_x):.2f}%")
    mlp.save_model("p1_model.npz")
'''

P1_README = '''\
# Sheet a1, programming problem 1

`p1.py` exports the template's names (`Identity`, `Sigmoid`, `Tanh`, `ReLU`,
`SoftmaxCrossEntropy`, `random_normal_weight_init`, `zeros_bias_init`, `MLP`,
`get_training_stats`, `get_one_hot`) from `derivations.backend.templates.a1_p1`, where they run on
the project's NumPy backend.

Put `mnist_train.csv` and `mnist_test.csv` in this folder and run

    python p1.py

It trains a 784-128-10 network (sigmoid hidden units, standard-normal weights, zero
biases) for 20 epochs, prints the validation error per epoch and the test error, and
writes `p1_model.npz`. Or `import p1` from your own script.
'''

MLP_PY = '''\
# Sheet hw1, implementation part: the graded mlp.py, implemented by derivations
# (MLP, mse_loss, bce_loss over the project's NumPy backend; needs torch for tensors).
from derivations.backend.templates.hw1_mlp import *  # noqa: F401,F403
'''

MLP_README = '''\
# Sheet hw1, implementation part

`mlp.py` exports `MLP`, `mse_loss` and `bce_loss` from `derivations.backend.templates.hw1_mlp`:
the template's names and conventions (tensors in and out, `W` as out×in, no autograd),
computed by the project's NumPy backend.

Put the course's test scripts in this folder and run them as the course does:

    python test1.py

Each comparison they print should read `tensor(True)`.
'''

TEMPLATES = {
    "a1/p1": {"p1.py": P1, "README-a1-p1.md": P1_README},
    "hw1/impl": {"mlp.py": MLP_PY, "README-hw1-impl.md": MLP_README},
}


def add_arguments(parser) -> None:
    parser.add_argument("name", metavar="TEMPLATE", help="one of: " + ", ".join(TEMPLATES))
    parser.add_argument("--out", metavar="DIR", required=True,
                        help="folder to write into (created if missing)")
    parser.add_argument("--force", action="store_true", help="overwrite files that exist")


def run(args) -> int:
    from pathlib import Path

    from derivations.core.errors import UserError

    files = TEMPLATES.get(args.name)
    if files is None:
        raise UserError(f"unknown template {args.name!r}; choose one of {', '.join(TEMPLATES)}")
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise UserError(f"--out {out} is not a folder")
    existing = [name for name in files if (out / name).exists()]
    if existing and not args.force:
        raise UserError(f"{out / existing[0]} exists; pass --force to overwrite")
    out.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (out / name).write_text(text)
    print("wrote " + ", ".join(str(out / name) for name in files))
    return 0
