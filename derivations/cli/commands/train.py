"""``python -m derivations train TASK …``: one sub-command per module in ``derivations.backend.tasks``.

A task module exposes ``NAME``, ``HELP``, ``add_arguments(parser)`` and ``run(args)``, and
imports nothing heavy at the top, so adding a task is adding a file.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil

NAME = "train"
HELP = "Train a numeric task (e.g. mnist-mlp) with the NumPy backend."


def task_modules():
    from derivations.backend import tasks
    for info in sorted(pkgutil.iter_modules(tasks.__path__), key=lambda m: m.name):
        if not info.name.startswith("_"):
            yield importlib.import_module(f"derivations.backend.tasks.{info.name}")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="task", metavar="TASK", required=True)
    for module in task_modules():
        name = getattr(module, "NAME", module.__name__.rsplit(".", 1)[1].replace("_", "-"))
        task = sub.add_parser(name, help=module.HELP, description=module.HELP)
        module.add_arguments(task)
        task.set_defaults(task_run=module.run)


def run(args) -> int:
    return args.task_run(args)
