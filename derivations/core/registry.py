"""Finding problems by id: the catalogue on disk, bare-name resolution, close-match hints."""

from __future__ import annotations

import difflib
import importlib
import pkgutil

from derivations import problems
from derivations.core.errors import UserError
from derivations.core.model import Problem


def problem_ids() -> list[str]:
    """Every catalogue id, in sheet order, without importing the problem modules."""
    ids = []
    for sheet in problems.SHEETS:
        package = importlib.import_module(f"{problems.__name__}.{sheet}")
        names = sorted(m.name for m in pkgutil.iter_modules(package.__path__) if not m.name.startswith("_"))
        ids.extend(f"{sheet}/{name}" for name in sorted(names, key=_natural))
    return ids


def _natural(name: str):
    digits = "".join(ch for ch in name if ch.isdigit())
    return (name.rstrip("0123456789"), int(digits) if digits else 0, name)


def resolve(text: str) -> str:
    """Turn a user's id (full, or a bare problem name) into a catalogue id."""
    ids = problem_ids()
    key = text.strip().strip("/").lower()
    if key in ids:
        return key
    bare = [i for i in ids if i.split("/", 1)[1] == key]
    if bare:
        return bare[0]
    close = difflib.get_close_matches(key, ids + sorted({i.split("/", 1)[1] for i in ids}), n=3, cutoff=0.5)
    hint = f"; did you mean {' or '.join(close)}?" if close else "; `python -m derivations list` shows the catalogue"
    raise UserError(f"unknown problem {text!r}{hint}")


def others_with_name(problem_id: str) -> list[str]:
    """Other sheets' problems that a bare name would also have matched."""
    name = problem_id.split("/", 1)[1]
    return [i for i in problem_ids() if i != problem_id and i.split("/", 1)[1] == name]


def load(problem_id: str) -> Problem:
    sheet, name = resolve(problem_id).split("/", 1)
    module = importlib.import_module(f"{problems.__name__}.{sheet}.{name}")
    return module.PROBLEM


def load_sheet(sheet: str) -> list[Problem]:
    if sheet not in problems.SHEETS:
        close = difflib.get_close_matches(sheet, problems.SHEETS, n=1)
        hint = f"; did you mean {close[0]}?" if close else f" (sheets: {', '.join(problems.SHEETS)})"
        raise UserError(f"unknown sheet {sheet!r}{hint}")
    return [load(i) for i in problem_ids() if i.startswith(sheet + "/")]


def missing_from_sheet(sheet: str) -> list[str]:
    """Problems the sheet poses that the catalogue does not hold yet."""
    have = set(problem_ids())
    return [f"{sheet}/{name}" for name in problems.SHEET_PROBLEMS.get(sheet, ()) if f"{sheet}/{name}" not in have]
