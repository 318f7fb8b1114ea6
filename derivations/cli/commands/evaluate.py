"""``python -m derivations evaluate TASK --model M.npz``: test accuracy of a saved model.

One sub-command per task that can be evaluated (``cifar-cnn`` for now). Heavy imports
happen inside ``run``.
"""

from __future__ import annotations

import argparse

NAME = "evaluate"
HELP = "Report the test accuracy of a saved model (e.g. cifar-cnn), with and without TTA."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="task", metavar="TASK", required=True)
    cifar = sub.add_parser("cifar-cnn", help="a model.npz written by 'train cifar-cnn'",
                           description="Test accuracy of a CIFAR-10 CNN saved by 'train cifar-cnn'.")
    cifar.add_argument("--model", required=True, metavar="M.npz", help="the saved model")
    cifar.add_argument("--data-dir", metavar="DIR", help="as for 'train cifar-cnn'")
    cifar.add_argument("--no-download", action="store_true", help="fail instead of downloading")
    cifar.add_argument("--test-limit", type=int, metavar="N", help="the first N test images only")
    cifar.add_argument("--threads", type=int, metavar="N", help="threads (default: all cores)")
    cifar.add_argument("--no-progress", action="store_true",
                       help="no progress bar on a terminal either (piped or redirected output never has one)")
    cifar.set_defaults(evaluate=_cifar_cnn)


def _cifar_cnn(args) -> int:
    import os
    import time

    from derivations.backend.datasets import cifar10
    from derivations.backend.nn.cnn import CifarCNN
    from derivations.backend.nn.memory import reuse_freed_memory
    from derivations.backend.nn.threads import set_layer_threads
    from derivations.backend.tasks._report import show_progress
    from derivations.backend.tasks.cifar_cnn import check_common, evaluate
    from derivations.core.errors import UserError

    check_common(args)
    reuse_freed_memory()
    set_layer_threads(args.threads or os.cpu_count() or 1)
    model = CifarCNN.load(args.model)
    if model.config["classes"] != len(cifar10.CLASSES):
        raise UserError(f"{args.model}: a model of {model.config['classes']} classes cannot be evaluated "
                        f"on CIFAR-10's {len(cifar10.CLASSES)}")
    data = cifar10.load(args.data_dir, download_missing=not args.no_download, progress=show_progress(args))
    x, y = data.test_images[:args.test_limit], data.test_labels[:args.test_limit]
    print(f"{model.label} from {args.model} on {len(x)} CIFAR-10 test images ({data.source.name})")
    for level, name in ((0, "no TTA"), (1, "mirror TTA"), (2, "mirror + translate TTA")):
        start = time.perf_counter()
        loss, accuracy, _ = evaluate(model, x, y, tta=level)
        print(f"test accuracy {100 * accuracy:6.2f}%  loss {loss:.4f}  ({name}, {time.perf_counter() - start:.1f}s)")
    return 0


def run(args) -> int:
    return args.evaluate(args)
