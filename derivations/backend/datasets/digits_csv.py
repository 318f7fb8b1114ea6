"""The MNIST CSV files that sheet ``a1`` hands out: ``mnist_train.csv`` and ``mnist_test.csv``.

One image per line: the label (0–9), then the 784 pixel values (0–255, row by row), comma
separated, no header. (A first line that starts with a non-number, such as the ``label,…``
header of other copies of these files, is skipped.) NumPy's C parser reads the 60,000-line
training file in about 1.5 s; only when it rejects a file is the file scanned line by line,
so that the error names the first bad line and says what is wrong with it.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from derivations.backend.errors import brief
from derivations.core.errors import UserError

FILENAMES = {"train": "mnist_train.csv", "test": "mnist_test.csv"}
SIDE = 28
FIELDS = 1 + SIDE * SIDE


def find_csv(folder) -> dict[str, Path] | None:
    """``{"train": path, "test": path}`` when ``folder`` (or ``folder/mnist``) holds both files."""
    folder = Path(folder)
    for candidate in (folder, folder / "mnist"):
        paths = {split: candidate / name for split, name in FILENAMES.items()}
        if all(p.is_file() for p in paths.values()):
            return paths
    return None


def read_digits_csv(path) -> tuple[np.ndarray, np.ndarray]:
    """Images as uint8 (n, 28, 28) and labels as int64 (n,) from one MNIST CSV file."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path} does not exist")
    skip = 1 if _has_header(path) else 0
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)     # "input contained no data"
            rows = np.loadtxt(path, delimiter=",", dtype=np.uint8, skiprows=skip, ndmin=2)
    except (ValueError, UnicodeDecodeError) as err:
        _raise_first_bad_line(path, skip, fallback=brief(err))
    if rows.shape[0] == 0:
        raise UserError(f"{path}: no data rows")
    if rows.shape[1] != FIELDS or rows[:, 0].max() > 9:
        _raise_first_bad_line(path, skip, fallback=f"{rows.shape[1]} values a line")
    labels = rows[:, 0]
    images = np.ascontiguousarray(rows[:, 1:]).reshape(-1, SIDE, SIDE)
    return images, labels.astype(np.int64)


def load_csv_split(paths: dict[str, Path]) -> dict[str, np.ndarray]:
    """``train_images``, ``train_labels``, ``test_images``, ``test_labels`` from :func:`find_csv`."""
    arrays = {}
    for split, path in paths.items():
        arrays[f"{split}_images"], arrays[f"{split}_labels"] = read_digits_csv(path)
    return arrays


def write_digits_csv(path, images: np.ndarray, labels: np.ndarray) -> Path:
    """Write images and labels in the course's format (used by tests and examples)."""
    path = Path(path)
    rows = np.concatenate([np.asarray(labels).reshape(-1, 1),
                           np.asarray(images).reshape(len(labels), -1)], axis=1)
    np.savetxt(path, rows.astype(np.int64), fmt="%d", delimiter=",")
    return path


def _has_header(path: Path) -> bool:
    with open(path, "rb") as f:
        first = f.readline().split(b",", 1)[0].strip()
    try:
        float(first)             # a number, even "3.0", is data (then reported if not an integer)
    except ValueError:
        return bool(first)
    return False


def _raise_first_bad_line(path: Path, skip: int, fallback: str):
    """Scan the file for the first line that is not a valid record and raise a UserError naming it."""
    with open(path, encoding="utf-8", errors="replace") as f:
        for number, line in enumerate(f, start=1):
            if number <= skip or not line.strip():
                continue
            problem = _line_problem(line)
            if problem:
                raise UserError(f"{path}, line {number}: {problem}")
    raise UserError(f"{path}: not an MNIST CSV file ({fallback})")


def _line_problem(line: str) -> str | None:
    fields = line.strip().split(",")
    if len(fields) != FIELDS:
        return (f"{len(fields)} values; expected {FIELDS} (a label, then {SIDE}×{SIDE} "
                f"pixel values)")
    for column, text in enumerate(fields):
        what = "label" if column == 0 else f"pixel {column}"
        limit = 9 if column == 0 else 255
        try:
            value = int(text)
        except ValueError:
            return f"{what} is {brief(repr(text.strip()), 40)}, not an integer"
        if not 0 <= value <= limit:
            return f"{what} is {value}, outside 0–{limit}"
    return None
