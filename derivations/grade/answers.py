"""Reading students' answers: ``--answer NAME=EXPR`` pairs, an answer file (JSON, YAML or a plain
``name = expression`` text file), a folder of such files, or a CSV with one student per row.

Every reader returns ``name -> (text, weight)``; numbers and lists in JSON/YAML become text, so
each answer goes through the same restricted parser. A weight is declared with its answer
(``{"answer": "...", "weight": 2}``, or ``name = expression ; weight = 2``) and defaults to 1.
The name ``seed`` is reserved: it says which variant (``variant ID --seed N``) the answers are
for, and :func:`pop_seed` takes it out.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

from derivations.core.errors import UserError

#: Bounds on what is read: one file's bytes, the answers in it, the files of a folder or rows of a CSV.
MAX_FILE_BYTES = 1_000_000
MAX_ANSWERS = 500
MAX_NAME = 60
MAX_SUBMISSIONS = 20_000
FILE_SUFFIXES = (".json", ".yaml", ".yml", ".txt", ".ans")

Answers = dict[str, tuple[str, float]]
#: the reserved answer name that holds a submission's variant seed
SEED = "seed"


def from_pairs(pairs: list[str], weights: dict[str, float] | None = None) -> Answers:
    """``["NAME=EXPR", …]`` from the command line."""
    out: Answers = {}
    for pair in pairs:
        name, sep, text = pair.partition("=")
        if not sep or not name.strip():
            raise UserError(f"--answer expects NAME=EXPR, got {pair[:60]!r}")
        name = _name(name, "--answer")
        if name in out:
            raise UserError(f"--answer {name} is given twice")
        out[name] = (text.strip(), (weights or {}).get(name, 1.0))
    return out


def _name(name, source) -> str:
    """An answer name, stripped and of a sane length (it is echoed in every report)."""
    name = str(name).strip()
    if len(name) > MAX_NAME:
        raise UserError(f"{source}: the answer name {name[:40]!r}… is longer than {MAX_NAME} characters")
    return name


def read_file(path: str | Path) -> Answers:
    """One student's answer file; the format follows the suffix (text for any other)."""
    path = Path(path)
    if path.stat().st_size > MAX_FILE_BYTES:
        raise UserError(f"{path}: larger than {MAX_FILE_BYTES} bytes")
    text = path.read_text(encoding="utf-8", errors="replace")
    if path.suffix == ".json":
        try:
            return from_mapping(json.loads(text), path)
        except (json.JSONDecodeError, RecursionError) as exc:
            raise UserError(f"{path}: not valid JSON ({str(exc)[:80]})") from None
    if path.suffix in (".yaml", ".yml"):
        import yaml  # a declared dependency, imported only when a YAML file is read

        try:
            return from_mapping(yaml.safe_load(text), path)
        except (yaml.YAMLError, RecursionError) as exc:
            raise UserError(f"{path}: not valid YAML ({str(exc)[:80]})") from None
    return from_text(text, path)


def from_mapping(data, source) -> Answers:
    """``{"name": "expr" | number | list | {"answer": …, "weight": w}}``, optionally under ``"answers"``."""
    if isinstance(data, dict) and isinstance(data.get("answers"), dict):
        data = {**data["answers"], **({SEED: data[SEED]} if SEED in data else {})}
    if not isinstance(data, dict):
        raise UserError(f"{source}: expected a mapping of answer names to answers")
    if len(data) > MAX_ANSWERS:
        raise UserError(f"{source}: more than {MAX_ANSWERS} answers")
    out: Answers = {}
    for name, item in data.items():
        weight = 1.0
        if isinstance(item, dict):
            if "answer" not in item:
                raise UserError(f"{source}: answer {str(name)[:40]!r} has no 'answer' field")
            weight, item = item.get("weight", 1.0), item["answer"]
        out[_name(name, source)] = (item if isinstance(item, str) else json.dumps(item), _weight(weight, source, name))
    return out


def from_text(text: str, source) -> Answers:
    """Lines ``name = expression`` (optionally ``; weight = w``); ``#`` starts a comment."""
    out: Answers = {}
    for number, line in enumerate(text.splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        body, _, extra = line.partition(";")
        name, sep, expression = body.partition("=")
        if not sep or not name.strip():
            raise UserError(f"{source}, line {number}: expected 'name = expression'")
        weight = 1.0
        if extra.strip():
            key, sep, value = extra.partition("=")
            if key.strip() != "weight" or not sep:
                raise UserError(f"{source}, line {number}: after ';' only 'weight = W' is allowed")
            weight = value.strip()
        out[_name(name, source)] = (expression.strip(), _weight(weight, source, name.strip()))
        if len(out) > MAX_ANSWERS:
            raise UserError(f"{source}: more than {MAX_ANSWERS} answers")
    return out


def pop_seed(answers: Answers, source: str = "the answers") -> int | None:
    """Remove and return the submission's seed (None when it names none)."""
    if SEED not in answers:
        return None
    from derivations.variants import parse_seed

    try:
        return parse_seed(answers.pop(SEED)[0])
    except UserError as exc:
        raise UserError(f"{source}: {exc}".replace("--seed", "the seed")) from None


def _weight(value, source, name) -> float:
    try:
        weight = float(value)
    except (TypeError, ValueError):
        weight = -1.0
    if not (0 <= weight <= 1000):
        raise UserError(f"{source}: the weight of {str(name)[:40]!r} must be a number in [0, 1000]")
    return weight


def read_folder(path: str | Path) -> list[tuple[str, Answers | UserError]]:
    """Every answer file of a folder, by name: (student, answers) with the student the file's
    stem; a file that cannot be read keeps its row, with the reason."""
    files = sorted(p for p in Path(path).iterdir() if p.is_file() and p.suffix in FILE_SUFFIXES)
    if not files:
        raise UserError(f"{path}: no answer files ({', '.join(FILE_SUFFIXES)})")
    if len(files) > MAX_SUBMISSIONS:
        raise UserError(f"{path}: more than {MAX_SUBMISSIONS} answer files")
    out = []
    for file in files:
        try:
            out.append((file.stem, read_file(file)))
        except UserError as exc:
            out.append((file.stem, exc))
    return out


def read_csv(path: str | Path) -> list[tuple[str, Answers | UserError]]:
    """A CSV with a header: the first column names the student, the others are answers."""
    path = Path(path)
    if path.stat().st_size > MAX_FILE_BYTES * 20:
        raise UserError(f"{path}: larger than {MAX_FILE_BYTES * 20} bytes")
    with path.open(newline="", encoding="utf-8", errors="replace") as handle:
        rows = list(csv.reader(handle))
    if len(rows) < 2 or len(rows[0]) < 2:
        raise UserError(f"{path}: expected a header (student, answer names…) and one row per student")
    if len(rows) - 1 > MAX_SUBMISSIONS:
        raise UserError(f"{path}: more than {MAX_SUBMISSIONS} students")
    header = [_name(h, path) for h in rows[0]]
    return [(row[0].strip() or f"row {i}", {name: (cell.strip(), 1.0) for name, cell in zip(header[1:], row[1:])
                                             if cell.strip()}) for i, row in enumerate(rows[1:], 2) if row]
