"""Turning ``--set NAME=VALUE`` text and ``--values`` JSON into typed values, with clear errors."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import sympy as sp

from derivations.core.errors import UserError
from derivations.core.model import Param, Problem
from derivations.core.parsing import FUNCTIONS, echo, parse_expression

#: The variable of user-supplied one-argument functions (``--set f1="tanh(x)"``).
EXPRESSION_VARIABLE = sp.Symbol("x", real=True)
BOOLEANS = {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}
#: ``--values`` budgets: the JSON text, the entries of all arrays, and their dimensions.
MAX_VALUES_BYTES = 20_000_000
MAX_VALUES_ENTRIES = 1_000_000
MAX_VALUES_DIMENSIONS = 2


def parse_settings(problem: Problem, settings: list[str]) -> dict[str, Any]:
    """Parse every ``NAME=VALUE`` against the problem's declared parameters."""
    params = {p.name: p for p in problem.params}
    parsed: dict[str, Any] = {}
    for item in settings:
        name, sep, text = item.partition("=")
        name = name.strip()
        if not sep:
            raise UserError(f"--set expects NAME=VALUE, got {item!r}")
        if name not in params:
            known = ", ".join(params) or "none"
            raise UserError(f"{problem.id} has no parameter {name!r} (parameters: {known})")
        parsed[name] = parse_value(params[name], text.strip())
    return parsed


def parse_value(param: Param, text: str) -> Any:
    expected = _expectation(param)
    try:
        value = _PARSERS[param.kind](param, text)
    except UserError as exc:  # the parser's own reason (too large, unknown name, …), then what fits
        raise UserError(f"bad value for {param.name}: {exc}; expected {expected}") from None
    except (ValueError, TypeError, json.JSONDecodeError):
        raise UserError(f"bad value {echo(text)} for {param.name}: expected {expected}") from None
    if param.kind in ("int", "number") and not param.within_bounds(value):
        raise UserError(f"bad value {echo(text)} for {param.name}: expected {expected}")
    return value


def _parse_int(param: Param, text: str) -> int:
    if len(text.strip().lstrip("+-")) > 18:  # far past any bound, and int() of a huge text is slow
        raise ValueError("too many digits")
    return int(text)


def _parse_number(param: Param, text: str) -> sp.Expr:
    value = parse_expression(text)
    if not value.is_number or not value.is_real or not value.is_finite:
        raise ValueError("not a finite real number")
    return value


def _parse_expression(param: Param, text: str) -> sp.Expr:
    return parse_expression(text, {"x": EXPRESSION_VARIABLE})


def _parse_choice(param: Param, text: str) -> str:
    if text not in param.choices:
        raise ValueError(text)
    return text


def _parse_bool(param: Param, text: str) -> bool:
    if text.lower() not in BOOLEANS:
        raise ValueError(text)
    return BOOLEANS[text.lower()]


def _parse_array(param: Param, text: str) -> np.ndarray:
    array = _finite_array(json.loads(text, parse_int=_json_int), "the array")
    if array.ndim == 0 or array.size == 0:
        raise ValueError("not a non-empty array of finite numbers")
    return array


_PARSERS = {"expression": _parse_expression, "int": _parse_int, "number": _parse_number, "choice": _parse_choice, "bool": _parse_bool, "array": _parse_array}


def _expectation(param: Param) -> str:
    low, high = param.bounds
    bound = (f" from {low} to {high}" if low is not None and high is not None
             else f" >= {low}" if low is not None else f" <= {high}" if high is not None else "")
    return {
        "expression": "a formula in x such as tanh(x) or x^2/2 (functions: " + ", ".join(sorted(FUNCTIONS)) + ")",
        "int": f"an integer{bound}",
        "number": f"a real number such as 0.1, 1/3 or exp(-1){bound}",
        "choice": "one of " + ", ".join(param.choices),
        "bool": "true or false",
        "array": "a JSON list of numbers, e.g. [[1, 2], [3, 4]]",
    }[param.kind]


def read_values_argument(argument: str) -> str:
    """``--values`` text: given inline, ``@FILE`` for a file, ``-`` for standard input (a
    command line holds ~128 kB at most); none may exceed ``MAX_VALUES_BYTES``."""
    import sys
    from pathlib import Path

    if argument == "-":
        text = sys.stdin.read(MAX_VALUES_BYTES + 1)
    elif argument.startswith("@"):
        path = Path(argument[1:])
        if not path.is_file():
            raise UserError(f"--values: no such file {echo(argument[1:])}")
        if path.stat().st_size > MAX_VALUES_BYTES:
            raise UserError(f"--values: {echo(argument[1:])} is larger than {MAX_VALUES_BYTES // 10**6} MB")
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise UserError(f"--values: cannot read {echo(argument[1:])}: {exc.__class__.__name__}") from None
    else:
        text = argument
    if len(text) > MAX_VALUES_BYTES:
        raise UserError(f"--values is larger than {MAX_VALUES_BYTES // 10**6} MB")
    return text


def parse_values_json(text: str) -> dict[str, Any]:
    """Parse ``--values`` JSON: an object mapping names to numbers, vectors or matrices."""
    try:
        raw = json.loads(text, parse_int=_json_int)
    except json.JSONDecodeError as exc:
        raise UserError(f"--values is not valid JSON: {exc.msg} at position {exc.pos}") from None
    except RecursionError:
        raise UserError(f"--values is nested too deeply (at most {MAX_VALUES_DIMENSIONS} levels of lists)") from None
    if not isinstance(raw, dict):
        raise UserError('--values must be a JSON object such as {"x": 0.5, "W1": [[1, 2]]}')
    if not raw:
        raise UserError('--values is empty: give at least one name, such as {"x": 0.5}')
    values, entries = {}, 0
    for name, value in raw.items():
        array = _finite_array(value, f"--values: {echo(str(name))}")
        entries += array.size
        if entries > MAX_VALUES_ENTRIES:
            raise UserError(f"--values holds more than {MAX_VALUES_ENTRIES} numbers")
        values[name] = float(array) if array.ndim == 0 else array
    return values


def _json_int(digits: str) -> float:
    """A JSON integer as a float, refused past the float range before Python converts it."""
    if len(digits.lstrip("-")) > 309:
        raise UserError("--values holds an integer beyond the float range (±1.8e308)")
    return float(digits)


def _finite_array(value: Any, label: str) -> np.ndarray:
    """A JSON number, list or list of rows as a float array, with the reason when it is not one
    (``label`` names it in the message)."""
    depth, probe = 0, value
    while isinstance(probe, list):
        depth += 1
        if depth > MAX_VALUES_DIMENSIONS:
            raise UserError(f"{label} has more than {MAX_VALUES_DIMENSIONS} levels of lists "
                            "(a number, a vector or a matrix)")
        if not probe:
            raise UserError(f"{label} is an empty list")
        probe = probe[0]
    shape_error = UserError(f"{label} must be a number, a list of numbers or a list of rows of one length")
    if _holds_bool(value):
        raise shape_error
    try:
        array = np.asarray(value)
    except (ValueError, TypeError):
        raise shape_error from None
    if array.dtype.kind not in "if" or array.ndim > MAX_VALUES_DIMENSIONS:  # strings, nulls, ragged rows
        raise shape_error
    array = array.astype(float)
    if not np.all(np.isfinite(array)):
        raise UserError(f"{label} must be finite")
    return array


def _holds_bool(value: Any) -> bool:
    """JSON true/false among numbers: NumPy would read them as 1 and 0."""
    if isinstance(value, list):
        return any(_holds_bool(v) for v in value)
    return isinstance(value, bool)
