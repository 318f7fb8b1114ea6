"""Task ``mnist-mlp``: the MLP of sheet a1 (programming problem 1) on MNIST or Fashion-MNIST.

The defaults reach ≤ 1.3 % MNIST test error in under two minutes on two CPU cores:
784-512-512-10 ReLU, He initialisation, SGD with Nesterov momentum under a one-cycle
schedule, random ±2-pixel shifts of the training images (MNIST only), label smoothing 0.1.
"""

from __future__ import annotations

import argparse

NAME = "mnist-mlp"
HELP = "Train the sheet-a1 MLP on MNIST or Fashion-MNIST with the NumPy backend."

ACTIVATION_CHOICES = ("relu", "sigmoid", "tanh", "leaky-relu", "elu", "gelu", "gelu-sigmoid", "softplus")
SCHEDULE_CHOICES = ("constant", "step", "cosine", "one-cycle")
INIT_CHOICES = ("he", "xavier", "normal")
DEFAULT_SHIFT = {"mnist": 2, "fashion-mnist": 0}
# Per-dataset pixel statistics (train split, [0,1] units) for standardising the inputs.
PIXEL_STATS = {"mnist": (0.1307, 0.3081), "fashion-mnist": (0.2860, 0.3530)}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    data = parser.add_argument_group("data")
    data.add_argument("--data-dir", metavar="DIR",
                      help="folder with the four IDX files (or sheet a1's mnist_train.csv and mnist_test.csv), or with mnist/ and fashion-mnist/ inside "
                           "(default: $DERIVATIONS_DATA, else the user cache; downloaded when missing)")
    data.add_argument("--dataset", choices=("mnist", "fashion-mnist"), default="mnist")
    data.add_argument("--no-download", action="store_true", help="fail instead of downloading missing files")
    data.add_argument("--train-limit", type=int, metavar="N", help="train on the first N images only")
    data.add_argument("--shift", type=int, default=None, metavar="PX",
                      help="random translation of training images by up to PX pixels, 0 for none "
                           "(default: 2 for MNIST, 0 for Fashion-MNIST, whose items are centred)")
    model = parser.add_argument_group("model")
    model.add_argument("--hidden", default="512,512", metavar="W1,W2,…",
                       help="hidden layer widths (default 512,512)")
    model.add_argument("--activation", choices=ACTIVATION_CHOICES, default="relu")
    model.add_argument("--init", choices=INIT_CHOICES, default="he",
                       help="weight initialiser (normal: the sheet's N(0,1)); biases start at zero")
    model.add_argument("--dropout", type=float, default=0.0, metavar="P")
    opt = parser.add_argument_group("optimisation")
    opt.add_argument("--optimizer", choices=("sgd", "adam"), default="sgd")
    opt.add_argument("--lr", type=float, default=None,
                     help="(peak) learning rate (default 0.1 for sgd, 1e-3 for adam)")
    opt.add_argument("--momentum", type=float, default=0.9, help="SGD momentum (default 0.9)")
    opt.add_argument("--no-nesterov", dest="nesterov", action="store_false",
                     help="classical instead of Nesterov momentum")
    opt.add_argument("--weight-decay", type=float, default=0.0, metavar="L2")
    opt.add_argument("--label-smoothing", type=float, default=0.1, metavar="EPS")
    opt.add_argument("--schedule", choices=SCHEDULE_CHOICES, default="one-cycle")
    opt.add_argument("--epochs", type=int, default=20)
    opt.add_argument("--batch-size", type=int, default=128)
    opt.add_argument("--seed", type=int, default=0)
    opt.add_argument("--threads", type=int, default=1, metavar="N",
                     help="BLAS threads (default 1; 0 = the cores the load average shows idle). "
                          "Results are reproducible for a given seed and thread count; one thread "
                          "is also immune to other processes taking a core, which stalls "
                          "multi-threaded OpenBLAS")
    out = parser.add_argument_group("output")
    out.add_argument("--out", metavar="DIR", help="write curve.png, model.npz and metrics.json here")
    out.add_argument("--no-progress", action="store_true",
                     help="no progress bar on a terminal either (piped or redirected output never has one)")


def _parse_hidden(text: str) -> list[int]:
    from derivations.core.errors import UserError
    try:
        widths = [int(part) for part in text.split(",") if part.strip()] if text.strip() else []
    except ValueError:
        raise UserError(f"--hidden must be comma-separated integers such as 512,512, got {text!r}") from None
    if any(w < 1 for w in widths):
        raise UserError(f"--hidden widths must be positive, got {text!r}")
    return widths


def validate(args) -> None:
    from derivations.core.errors import UserError
    checks = [
        (args.epochs >= 1, f"--epochs must be at least 1, got {args.epochs}"),
        (args.batch_size >= 1, f"--batch-size must be at least 1, got {args.batch_size}"),
        (args.lr is None or args.lr > 0, f"--lr must be positive, got {args.lr}"),
        (0 <= args.momentum < 1, f"--momentum must be in [0, 1), got {args.momentum}"),
        (0 <= args.dropout < 1, f"--dropout must be in [0, 1), got {args.dropout}"),
        (args.weight_decay >= 0, f"--weight-decay must be ≥ 0, got {args.weight_decay}"),
        (0 <= args.label_smoothing < 1, f"--label-smoothing must be in [0, 1), got {args.label_smoothing}"),
        (args.shift is None or 0 <= args.shift <= 8, f"--shift must be between 0 and 8 pixels, got {args.shift}"),
        (args.train_limit is None or args.train_limit >= 1, f"--train-limit must be ≥ 1, got {args.train_limit}"),
        (args.threads >= 0, f"--threads must be ≥ 0, got {args.threads}"),
        (args.seed >= 0, f"--seed must be ≥ 0, got {args.seed}"),
    ]
    for ok, message in checks:
        if not ok:
            raise UserError(message)
    _parse_hidden(args.hidden)
    from pathlib import Path

    from derivations.backend.datasets.cache import check_data_dir
    check_data_dir(args.data_dir)
    if args.out is not None:
        try:
            Path(args.out).mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise UserError(f"--out {args.out}: cannot create the folder ({err.strerror})") from None


def peak_lr(args) -> float:
    return args.lr if args.lr is not None else (0.1 if args.optimizer == "sgd" else 1e-3)


def build(args, steps_per_epoch: int):
    """The model, optimizer and schedule the options describe."""
    from derivations.backend.nn import schedules
    from derivations.backend.nn.losses import SoftmaxCrossEntropy
    from derivations.backend.nn.mlp import MLP
    from derivations.backend.nn.optim import SGD, Adam

    model = MLP(784, 10, _parse_hidden(args.hidden), args.activation, weight_init=args.init,
                dropout=args.dropout, seed=args.seed,
                criterion=SoftmaxCrossEntropy(label_smoothing=args.label_smoothing))
    lr = peak_lr(args)
    if args.optimizer == "sgd":
        model.optimizer = SGD(model.parameters(), lr, momentum=args.momentum,
                              nesterov=args.nesterov and args.momentum > 0,
                              weight_decay=args.weight_decay, flatten=True)
    else:
        model.optimizer = Adam(model.parameters(), lr, weight_decay=args.weight_decay, decoupled=True,
                               flatten=True)
    total = steps_per_epoch * args.epochs
    schedule = {
        "constant": lambda: schedules.Constant(lr),
        "step": lambda: schedules.StepLR(lr, step_size=max(total // 3, 1), gamma=0.1),
        "cosine": lambda: schedules.CosineLR(lr, total, warmup_steps=min(steps_per_epoch, total // 10)),
        "one-cycle": lambda: schedules.OneCycleLR(lr, max(total, 2), pct_start=0.15),
    }[args.schedule]()
    return model, schedule


def run(args) -> int:
    import time
    from functools import partial
    from pathlib import Path

    import numpy as np
    from tqdm import tqdm

    from derivations.backend.datasets import mnist
    from derivations.backend.datasets.augment import random_shift
    from derivations.backend.nn.data import BatchLoader
    from derivations.backend.nn.training import fit
    from derivations.backend.tasks import _report

    validate(args)
    from derivations.backend.nn.threads import auto_threads, set_blas_threads
    threads = args.threads or auto_threads()
    set_blas_threads(threads)
    progress = _report.show_progress(args)
    data = mnist.load(args.dataset, args.data_dir, download_missing=not args.no_download, progress=progress)
    train_x, train_y = data.train_images, data.train_labels
    if args.train_limit:
        train_x, train_y = train_x[:args.train_limit], train_y[:args.train_limit]
    mean, std = PIXEL_STATS[args.dataset]
    scale, shift = 1.0 / (255.0 * std), -mean / std
    rng = np.random.default_rng(args.seed)
    if args.shift is None:
        args.shift = DEFAULT_SHIFT[args.dataset]
    augment = partial(random_shift, max_shift=args.shift) if args.shift else None
    train = BatchLoader(train_x, train_y, args.batch_size, rng=rng, scale=scale, shift=shift,
                        augment=augment)
    test = BatchLoader(data.test_images, data.test_labels, 2000, shuffle=False, scale=scale, shift=shift)
    model, schedule = build(args, len(train))

    print(f"{data.name}: {len(train_x)} train / {len(data.test_images)} test images from {data.folder}")
    print(f"model {model.label} {args.activation}, {args.optimizer} peak lr {peak_lr(args):g} ({args.schedule}), "
          f"batch {args.batch_size}, {_report.plural(args.epochs, 'epoch')}, seed {args.seed}, "
          f"{_report.plural(threads, 'BLAS thread')}")
    bar = tqdm(total=len(train) * args.epochs, unit="batch", disable=not progress,
               leave=False, dynamic_ncols=True)

    def on_batch(n, loss):
        bar.update(1)
        if bar.n % 50 == 0:
            bar.set_postfix(loss=f"{loss:.4f}")

    def on_epoch(s):
        tqdm.write(f"epoch {s.epoch:3d}  train loss {s.train_loss:.4f} err {100 * s.train_error:6.2f}%  "
                   f"test loss {s.test_loss:.4f} err {100 * s.test_error:6.2f}%  "
                   f"lr {s.lr:.4g}  {s.seconds:.1f}s")

    start = time.perf_counter()
    history = fit(model, train, test, args.epochs, schedule, on_epoch=on_epoch, on_batch=on_batch)
    elapsed = time.perf_counter() - start
    bar.close()
    final = history.epochs[-1]
    train_seconds = sum(e.seconds for e in history.epochs)
    print(f"final test error {100 * final.test_error:.2f}% (accuracy {100 * (1 - final.test_error):.2f}%) "
          f"after {_report.plural(args.epochs, 'epoch')}: {train_seconds:.1f}s training, {elapsed:.1f}s with evaluation; "
          f"peak memory {_report.peak_rss_mib():.0f} MiB")

    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        model.save(out / "model.npz")
        _report.plot_curves(history, out / "curve.png",
                            f"{data.name} {model.label} — test error {100 * final.test_error:.2f}%",
                            "cross-entropy loss" + (f" (label smoothing {args.label_smoothing:g})"
                                                    if args.label_smoothing else ""))
        options = {k: v for k, v in vars(args).items() if k not in ("run", "task_run") and not callable(v)}
        _report.write_json(out / "metrics.json", {
            "task": NAME, "dataset": data.name, "options": options,
            "final_test_error": final.test_error, "final_test_loss": final.test_loss,
            "train_seconds": train_seconds, "total_seconds": elapsed,
            "peak_rss_mib": _report.peak_rss_mib(), "blas_threads": threads,
            "epochs": [vars(e) for e in history.epochs],
        })
        print(f"wrote {out / 'curve.png'}, {out / 'model.npz'}, {out / 'metrics.json'}")
    return 0
