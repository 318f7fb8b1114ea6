"""Command-line interface: ``python -m derivations COMMAND ...``.

Each command lives in its own module under ``derivations.cli.commands`` and exposes
``HELP`` (one line), ``add_arguments(parser)`` and ``run(args) -> int``. Command modules
import only argparse-level code at the top, so ``--help`` and start-up stay fast; the heavy
imports (SymPy, NumPy) happen inside ``run``.
"""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import sys

from derivations import __version__
from derivations.cli import commands
from derivations.core.errors import UserError

USER_ERROR_EXIT = 2


def _command_modules():
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        if not info.name.startswith("_"):
            yield importlib.import_module(f"derivations.cli.commands.{info.name}")


class _Parser(argparse.ArgumentParser):
    """argparse, with a usage mistake as one line (the command's --help has the rest) and exit 2."""

    def error(self, message: str):
        self.exit(USER_ERROR_EXIT, f"derivations: error: {message[:200]} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="python -m derivations",
        description="Solve, check and render deep-learning theory problems; train the numeric tasks.",
    )
    parser.add_argument("--version", action="version", version=f"derivations {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in _command_modules():
        name = getattr(module, "NAME", module.__name__.rsplit(".", 1)[1])
        cmd = sub.add_parser(name, help=module.HELP, description=module.HELP)
        module.add_arguments(cmd)
        cmd.set_defaults(run=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.run(args) or 0)
    except UserError as err:
        print(f"derivations: error: {err}", file=sys.stderr)
        return USER_ERROR_EXIT
    except KeyboardInterrupt:
        print("derivations: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into `head` and closed early: not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except OSError as err:  # a path the user gave cannot be read or written (--out, --data-dir, @FILE)
        where = f": {err.filename}" if err.filename else ""
        print(f"derivations: error: {err.strerror or err}{where}", file=sys.stderr)
        return USER_ERROR_EXIT
