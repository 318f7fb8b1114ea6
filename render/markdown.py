"""A solution as Markdown with ``$…$`` math, for notebooks, wikis and course pages."""

from __future__ import annotations

from derivations.calculus.printing import inline
from derivations.core.evaluate import inputs_text
from derivations.core.model import CheckResult, Solution
from derivations.render.latex import latex, latex_equation, numbers_latex


def solution_markdown(solution: Solution, results: list[CheckResult], numbers: dict | None = None) -> str:
    """The solution as Markdown; ``numbers`` (see :func:`~derivations.render.report.answer_numbers`)
    are shown beside the answers."""
    problem = solution.problem
    out = [f"## {problem.id}: {problem.title}", "", problem.statement, ""]
    if solution.parameters:
        out += ["**Parameters:** " + ", ".join(f"`{k} = {inline(v) if not isinstance(v, str) else v}`"
                                               for k, v in solution.parameters.items()), ""]
    if solution.inputs:
        out += [f"**`--values` takes** {inputs_text(solution.inputs)}", ""]
    if solution.assumptions:
        out += ["**Assumptions**", ""] + [f"- {a}" for a in solution.assumptions] + [""]
    out += ["**Derivation**", ""]
    for number, step in solution.numbered_steps():
        if step.text:
            prose = "".join(p if isinstance(p, str) else f"${latex(p.value)}$" for p in step.pieces())
            out.append(f"{number}. {prose}")
        if step.lhs is not None or step.rhs is not None:
            out.append(f"   $$ {latex_equation(step.lhs, step.rhs)} $$")
    out += ["", "**Answers**", ""]
    for answer in solution.answers:
        if answer.value is not None:
            out.append(f"$$ \\boxed{{{latex_equation(answer.symbol, answer.value)}}} $$")
        if numbers and numbers.get(answer.name) is not None:
            out.append(f"at the given values: ${numbers_latex(numbers[answer.name])}$")
        if answer.text:
            out += [answer.text, ""]
    out += ["", "| check | max error | tolerance | result |", "|---|---:|---:|---|"]
    out += [f"| {r.name} | {r.max_abs_error:.2e} | {r.tolerance:.0e} | {'pass' if r.passed else 'FAIL'} |" for r in results]
    return "\n".join(out)

