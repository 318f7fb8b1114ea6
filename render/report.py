"""A solution as a plain dictionary: the ``solve --format json`` contract.

Keys: ``id``, ``title``, ``parameters`` (name -> value used), ``assumptions`` (strings),
``answers`` (``name``, ``latex``, ``value``, ``text``), ``checks`` (``name``, ``passed``,
``max_abs_error``, ``tolerance``); with ``--values``, ``undefined`` (answer name -> why it has
no value there, e.g. a division by zero) when some formula answer is not defined at them.
"""

from __future__ import annotations

from typing import Any

from derivations.core.evaluate import NotDefinedThere, evaluate, json_value, with_definitions
from derivations.core.model import CheckResult, Solution
from derivations.render.latex import latex_equation


def solution_dict(solution: Solution, results: list[CheckResult], values: dict[str, Any] | None = None) -> dict:
    answers, undefined = [], {}
    known = with_definitions(solution, values) if values is not None else None
    for answer in solution.answers:
        value = json_value(answer.value)
        if value is None and values is not None and answer.value is not None and answer.text is None:
            try:
                value = evaluate(answer.value, known)
            except NotDefinedThere as exc:
                undefined[answer.name] = str(exc)
        answers.append({
            "name": answer.name,
            "latex": latex_equation(answer.symbol, answer.value) if answer.value is not None else "",
            "value": value,
            "text": answer.text,
        })
    out = {
        "id": solution.problem.id,
        "title": solution.problem.title,
        "parameters": {k: _parameter_json(v) for k, v in solution.parameters.items()},
        "assumptions": list(solution.assumptions),
        "answers": answers,
        "checks": [
            {"name": r.name, "passed": r.passed, "max_abs_error": _finite_or_none(r.max_abs_error), "tolerance": r.tolerance}
            for r in results
        ],
    }
    if undefined:
        out["undefined"] = undefined
    return out


def answer_numbers(solution: Solution, data: dict) -> dict:
    """Each formula answer's value in ``data`` (:func:`solution_dict` at ``--values`` or a
    variant's drawn inputs), or why it is not defined there; answers that are numbers already
    need no repeating. Every renderer shows these beside the answers."""
    formulas = {a.name for a in solution.answers if json_value(a.value) is None}
    numbers = {a["name"]: a["value"] for a in data["answers"] if a["name"] in formulas and a["value"] is not None}
    return numbers | {name: f"not defined there ({why})" for name, why in data.get("undefined", {}).items()}


def _parameter_json(value: Any) -> Any:
    converted = json_value(value)
    return converted if converted is not None else str(value)


def _finite_or_none(x: float) -> float | None:
    return x if x == x and abs(x) != float("inf") else None
