"""A solution for the terminal: statement, assumptions, numbered steps, answers, checks."""

from __future__ import annotations

import textwrap
from typing import Any

from derivations.core.evaluate import inputs_text
from derivations.core.model import CheckResult, Solution
from derivations.calculus.printing import inline
from derivations.render.pretty import pretty_equation

WIDTH = 88


def _wrap(text: str, indent: str = "", hanging: str | None = None) -> str:
    hanging = indent if hanging is None else hanging
    return "\n".join(textwrap.fill(p, WIDTH, initial_indent=indent, subsequent_indent=hanging)
                     for p in text.split("\n"))


def _math(lhs: Any, rhs: Any, indent: str = "    ") -> str:
    return textwrap.indent(pretty_equation(lhs, rhs), indent)


def step_prose(step) -> str:
    """A step's text with its math printed inline."""
    return "".join(p if isinstance(p, str) else inline(p.value) for p in step.pieces())


def solution_text(solution: Solution, results: list[CheckResult], numbers: dict[str, Any] | None = None) -> str:
    problem = solution.problem
    out = [f"{problem.id} — {problem.title}", "=" * min(WIDTH, len(problem.id) + len(problem.title) + 3), "",
           _wrap(problem.statement), ""]
    if solution.parameters:
        out.append("Parameters: " + ", ".join(f"{k} = {inline(v) if not isinstance(v, str) else v}"
                                              for k, v in solution.parameters.items()))
        out.append("")
    if solution.inputs:
        out.append(_wrap(f"--values takes {inputs_text(solution.inputs)}"))
        out.append("")
    if solution.assumptions:
        out.append("Assumptions")
        out += [_wrap(a, "  • ", "    ") for a in solution.assumptions]
        out.append("")
    out.append("Derivation")
    for number, step in solution.numbered_steps():
        if step.text:
            out.append(_wrap(f"{number}. {step_prose(step)}", "", "   "))
        if step.lhs is not None or step.rhs is not None:
            out.append(_math(step.lhs, step.rhs))
    out += ["", "Answers"]
    for answer in solution.answers:
        if answer.value is not None:
            out.append(_math(answer.symbol, answer.value, "  "))
        if numbers and numbers.get(answer.name) is not None:
            out.append(f"    at the given values: {numbers[answer.name]}")
        if answer.text:
            out.append(_wrap(answer.text, "  "))
    out += ["", "Checks"]
    for r in results:
        mark = "pass" if r.passed else "FAIL"
        out.append(f"  [{mark}] {r.name}: max error {r.max_abs_error:.2e} (tolerance {r.tolerance:.0e})"
                   + (f" — {r.detail}" if r.detail else ""))
    return "\n".join(out)
