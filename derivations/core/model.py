"""The problem model: what a problem is, and the solution record the engine fills in.

A problem is a restated question, typed parameters with defaults, and a ``solve`` function
that returns a :class:`Solution`: assumptions, steps, answers and deferred numeric checks.
Checks read the answers through the :class:`Solution` rather than closing over local values,
so a test can replace an answer with a wrong one and watch the checks fail.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from derivations.core.errors import UserError


@dataclass(frozen=True)
class Param:
    """A user-settable parameter (``--set NAME=VALUE``) with its default and expected kind.

    ``kind`` is one of ``"int"``, ``"number"`` (exact rational or decimal), ``"choice"``,
    ``"bool"``, ``"array"`` (a JSON list of numbers, nested for matrices) or ``"expression"``
    (a formula in x, parsed by :mod:`derivations.core.parsing`).
    """

    name: str
    default: Any
    help: str
    kind: str = "number"
    choices: tuple[str, ...] = ()
    minimum: float | None = None


@dataclass
class Step:
    """One line of a derivation: prose saying why, and optionally ``lhs = rhs`` saying what."""

    text: str
    lhs: Any = None
    rhs: Any = None


@dataclass
class Answer:
    """A final answer. ``value`` is a SymPy object, a number, a shape tuple or ``None``;
    ``text`` holds a worded answer; ``symbol`` is what the answer is *of* (printed as
    ``symbol = value``)."""

    name: str
    symbol: Any
    value: Any = None
    text: str | None = None


@dataclass
class CheckResult:
    name: str
    max_abs_error: float
    tolerance: float
    detail: str = ""

    @property
    def passed(self) -> bool:
        return bool(np.isfinite(self.max_abs_error) and self.max_abs_error <= self.tolerance)


@dataclass
class Check:
    """A numeric check run against the current answers: ``measure(answers) -> max abs error``."""

    name: str
    measure: Callable[[dict[str, Any]], float]
    tolerance: float

    def run(self, answers: dict[str, Any]) -> CheckResult:
        try:
            error = float(self.measure(answers))
        except Exception as exc:  # a wrong answer may not even evaluate: that is a failed check, with the reason
            return CheckResult(self.name, float("inf"), self.tolerance, f"{type(exc).__name__}: {exc}")
        return CheckResult(self.name, error, self.tolerance)


@dataclass
class Solution:
    """Everything the engine knows about one solved problem, ready for any renderer."""

    problem: "Problem"
    parameters: dict[str, Any]
    assumptions: list[str] = field(default_factory=list)
    steps: list[Step] = field(default_factory=list)
    answers: list[Answer] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)
    graphs: dict[str, Any] = field(default_factory=dict)
    #: numeric definitions of derived names (e.g. a Jacobian from its element formula),
    #: evaluated in order before formula answers are evaluated at user ``--values``.
    definitions: list[tuple[str, Callable[[dict[str, Any]], Any]]] = field(default_factory=list)

    def assume(self, text: str) -> None:
        self.assumptions.append(text)

    def step(self, text: str, lhs: Any = None, rhs: Any = None) -> None:
        self.steps.append(Step(text, lhs, rhs))

    def answer(self, name: str, symbol: Any, value: Any = None, text: str | None = None) -> Any:
        self.answers.append(Answer(name, symbol, value, text))
        return value

    def check(self, name: str, measure: Callable[[dict[str, Any]], float], tolerance: float) -> None:
        self.checks.append(Check(name, measure, tolerance))

    def answer_values(self) -> dict[str, Any]:
        return {a.name: a.value for a in self.answers}

    def run_checks(self) -> list[CheckResult]:
        values = self.answer_values()
        return [check.run(values) for check in self.checks]


@dataclass(frozen=True)
class Problem:
    """A catalogue entry: identity, restated statement, parameters and the solver."""

    id: str
    title: str
    kind: str
    statement: str
    solve_fn: Callable[[dict[str, Any], Solution], None]
    params: tuple[Param, ...] = ()

    @property
    def sheet(self) -> str:
        return self.id.split("/", 1)[0]

    def defaults(self) -> dict[str, Any]:
        return {p.name: p.default for p in self.params}

    def solve(self, overrides: dict[str, Any] | None = None) -> Solution:
        params = self.defaults()
        for name, value in (overrides or {}).items():
            if name not in params:
                known = ", ".join(params) or "none"
                raise UserError(f"{self.id} has no parameter {name!r} (parameters: {known})")
            params[name] = value
        solution = Solution(self, params)
        self.solve_fn(params, solution)
        return solution
