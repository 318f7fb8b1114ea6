"""Evaluating formula answers at user-given numbers (``solve --values``)."""

from __future__ import annotations

from typing import Any

import numpy as np
import sympy as sp

from derivations.core.errors import UserError
from derivations.core.model import Solution


def json_value(value: Any) -> Any:
    """An answer's value as JSON: a number, a (nested) list of numbers, or ``None`` for a
    formula that still has free symbols."""
    if value is None or isinstance(value, str):
        return None
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value)
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (list, tuple)):
        items = [json_value(v) for v in value]
        return None if any(i is None for i in items) else items
    if isinstance(value, sp.MatrixBase):
        return json_value([list(row) for row in value.tolist()])
    if isinstance(value, sp.Basic):
        if value.free_symbols or not value.is_number:
            return None
        if value.is_Integer:
            return int(value)
        return float(sp.N(value, 17))
    return None


def free_names(expr: sp.Basic) -> set[str]:
    names = {s.name for s in expr.free_symbols}
    names |= {m.name for m in expr.atoms(sp.MatrixSymbol)}
    return names


def conform(values: dict[str, Any], shapes: dict[str, tuple]) -> dict[str, Any]:
    """The user's values in the shapes a solution declares, plus the sizes they fix: a flat list
    becomes the declared column (or row), and each size symbol (n, m, …) must take one value
    across all inputs, so a formula with I_n can be evaluated."""
    known, sizes, source = dict(values), {}, {}
    for name, shape in shapes.items():
        if name not in known:
            continue
        given = np.shape(known[name])
        if len(shape) == 2 and len(given) == 1 and 1 in shape:
            given = (given[0], 1) if shape[1] == 1 else (1, given[0])
            known[name] = np.reshape(known[name], given)
        if len(given) != len(shape):
            raise UserError(f"--values: {name} must be {_shape_text(shape)}, got shape {given}")
        for size, length in zip(shape, given):
            if isinstance(size, int):
                if size != length:
                    raise UserError(f"--values: {name} has shape {given}, which does not fit: it must be "
                                    f"{_shape_text(shape)}")
                continue
            expected = sizes.setdefault(str(size), length)
            source.setdefault(str(size), name)
            if expected != length:
                fixed = ", ".join(f"{n}: {_shape_text(s)}" for n, s in shapes.items())
                raise UserError(f"--values: {name} has shape {given}, which does not fit: {source[str(size)]} makes "
                                f"{size} = {expected} ({fixed})"[:290])
    return {**sizes, **known}


def inputs_text(shapes: dict[str, tuple]) -> str:
    """What ``--values`` takes, for the renderers: ``x: n×1, W: m×n, y: a number``; names
    that are all numbers as one list."""
    if not any(shapes.values()):
        return f"the numbers {', '.join(shapes)}"
    text = ", ".join(f"{name}: {'×'.join(map(str, shape)) if shape else 'a number'}" for name, shape in shapes.items())
    return text + " (a flat list fills a column or row)"


def _shape_text(shape: tuple) -> str:
    if not shape:
        return "a number"
    kind = "a column vector" if shape[-1] == 1 else "a row vector" if shape[0] == 1 else "a matrix"
    return f"{kind} of shape {'×'.join(map(str, shape))}"


def accepted_names(solution: Solution) -> set[str]:
    """The names ``--values`` may give: the declared inputs, and the free names of the formula
    answers (numbers and worded answers take none)."""
    names = set(solution.inputs)
    for answer in solution.answers:
        if isinstance(answer.value, sp.Basic) and answer.text is None:
            names |= free_names(answer.value)
    return names


def with_definitions(solution: Solution, values: dict[str, Any]) -> dict[str, Any]:
    """The user's values (in their declared shapes) plus every derived name the solution
    defines from them (once). A name the solution does not take is an error, not ignored."""
    accepted = accepted_names(solution)
    unknown = sorted(set(values) - accepted)
    if unknown:
        takes = f"it takes {', '.join(sorted(accepted))}" if accepted else "it has no formula answers to evaluate"
        raise UserError(f"--values: {solution.problem.id} has no input {', '.join(map(repr, unknown))[:120]}; {takes}")
    missing = [name for name in solution.inputs if name not in values]
    if missing:
        raise UserError(f"--values is missing {', '.join(missing)} ({solution.problem.id} takes "
                        f"{', '.join(solution.inputs)})")
    known = conform(values, solution.inputs)
    for name, define in solution.definitions:
        if name not in known:
            try:
                known[name] = define(known)
            except KeyError:
                pass
    return known


class NotDefinedThere(UserError):
    """A formula answer with no value at the given numbers (a division by zero, an overflow):
    the other answers still have theirs."""


def evaluate(expr: sp.Basic, known: dict[str, Any]) -> Any:
    """Evaluate a formula answer at ``known`` (see :func:`with_definitions`); ``None`` if it
    involves undefined functions."""
    if expr.atoms(sp.core.function.AppliedUndef):
        return None
    needed = sorted(free_names(expr))
    missing = [n for n in needed if n not in known]
    if missing:
        raise UserError(f"--values is missing {', '.join(missing)} for answer formula {expr}")
    from derivations.calculus.matrix_calculus import numeric  # here: the renderers import this module

    try:
        with np.errstate(all="raise"):
            result = numeric(expr, known)
    except FloatingPointError as exc:
        raise NotDefinedThere(str(exc).replace(" encountered in", " in")) from None
    except ZeroDivisionError:  # Python's own float arithmetic on scalar values
        raise NotDefinedThere("division by zero") from None
    except OverflowError:
        raise NotDefinedThere("overflow") from None
    except (ValueError, TypeError) as exc:
        raise UserError(f"cannot evaluate {expr} at the given --values: {exc}") from None
    return result.tolist() if result.ndim else float(result)
