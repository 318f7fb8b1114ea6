"""Turning ``--set NAME=VALUE`` text and ``--values`` JSON into typed values, with clear errors."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import sympy as sp

from derivations.core.errors import UserError
from derivations.core.model import Param, Problem
from derivations.core.parsing import FUNCTIONS, parse_expression

#: The variable of user-supplied one-argument functions (``--set f1="tanh(x)"``).
EXPRESSION_VARIABLE = sp.Symbol("x", real=True)
BOOLEANS = {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}


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
    except (UserError, ValueError, TypeError, json.JSONDecodeError) as exc:
        raise UserError(f"bad value {text!r} for {param.name}: expected {expected}") from exc
    if param.minimum is not None and value < param.minimum:
        raise UserError(f"bad value {text!r} for {param.name}: expected {expected}")
    return value


def _parse_int(param: Param, text: str) -> int:
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
    array = np.asarray(json.loads(text), dtype=float)
    if array.ndim == 0 or array.size == 0 or not np.all(np.isfinite(array)):
        raise ValueError("not a non-empty array of finite numbers")
    return array


_PARSERS = {"expression": _parse_expression, "int": _parse_int, "number": _parse_number, "choice": _parse_choice, "bool": _parse_bool, "array": _parse_array}


def _expectation(param: Param) -> str:
    bound = f" >= {param.minimum}" if param.minimum is not None else ""
    return {
        "expression": "a formula in x such as tanh(x) or x^2/2 (functions: " + ", ".join(sorted(FUNCTIONS)) + ")",
        "int": f"an integer{bound}",
        "number": f"a real number such as 0.1, 1/3 or exp(-1){bound}",
        "choice": "one of " + ", ".join(param.choices),
        "bool": "true or false",
        "array": "a JSON list of numbers, e.g. [[1, 2], [3, 4]]",
    }[param.kind]


def parse_values_json(text: str) -> dict[str, Any]:
    """Parse ``--values`` JSON: an object mapping names to numbers or (nested) lists."""
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UserError(f"--values is not valid JSON: {exc.msg} at position {exc.pos}") from None
    if not isinstance(raw, dict):
        raise UserError('--values must be a JSON object such as {"x": 0.5, "W1": [[1, 2]]}')
    values = {}
    for name, value in raw.items():
        try:
            array = np.asarray(value, dtype=float)
        except (ValueError, TypeError):
            raise UserError(f"--values: {name!r} must be a number or a (nested) list of numbers") from None
        if not np.all(np.isfinite(array)):
            raise UserError(f"--values: {name!r} must be finite")
        values[name] = float(array) if array.ndim == 0 else array
    return values
