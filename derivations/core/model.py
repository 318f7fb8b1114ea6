"""The problem model: what a problem is, and the solution record the engine fills in.

A problem is a restated question, typed parameters with defaults, and a ``solve`` function
that returns a :class:`Solution`: assumptions, steps, answers and deferred numeric checks.
Checks read the answers through the :class:`Solution` rather than closing over local values,
so a test can replace an answer with a wrong one and watch the checks fail.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import re

import numpy as np

from derivations.calculus.printing import inline
from derivations.core.errors import UserError

_PLACEHOLDER = re.compile(r"\{(\w+)\}")
#: The bound of an ``int`` parameter that declares none (steps, digits, sizes); a ``seed``
#: takes any 32-bit value, as NumPy's generators do.
DEFAULT_INT_MAXIMUM = 1000
SEED_MAXIMUM = 2**32 - 1


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
    #: the largest value accepted; ``int`` parameters without one stop at
    #: ``DEFAULT_INT_MAXIMUM`` so that no setting asks for unbounded work
    maximum: float | None = None
    #: how the parameter varies across seeded variants (a :class:`Pick`, :class:`Ints`,
    #: :class:`Fractions` or :class:`IntArray`); None: every variant keeps the default
    vary: Any = None
    #: False for a value that only places the key's checks (a seed of their random points) and
    #: changes no answer: a variant's question does not show it, and two variants differing only
    #: there are the same (a test holds every such value to changing no answer)
    shown: bool = True

    @property
    def bounds(self) -> tuple[float | None, float | None]:
        """(minimum, maximum) a value must lie within; None where unbounded."""
        if self.maximum is not None or self.kind != "int":
            return self.minimum, self.maximum
        return self.minimum, SEED_MAXIMUM if self.name == "seed" else DEFAULT_INT_MAXIMUM

    def within_bounds(self, value: Any) -> bool:
        low, high = self.bounds
        return (low is None or value >= low) and (high is None or value <= high)


@dataclass(frozen=True)
class Pick:
    """Vary over a list of choices (activations, formulas, forms)."""

    options: tuple

    def draw(self, rng: np.random.Generator) -> Any:
        return self.options[int(rng.integers(len(self.options)))]


@dataclass(frozen=True)
class Ints:
    """Vary over the integers ``low … high``, optionally in steps of ``step``."""

    low: int
    high: int
    step: int = 1

    def draw(self, rng: np.random.Generator) -> int:
        return self.low + self.step * int(rng.integers((self.high - self.low) // self.step + 1))


@dataclass(frozen=True)
class Fractions:
    """Vary over the exact rationals k/denominator in [low, high] (well-conditioned step sizes,
    starting points, bounds): a student can work with them by hand."""

    low: Any
    high: Any
    denominator: int = 1
    nonzero: bool = False

    def draw(self, rng: np.random.Generator) -> Any:
        import sympy as sp
        low, high = int(sp.ceiling(self.low * self.denominator)), int(sp.floor(self.high * self.denominator))
        while True:
            k = low + int(rng.integers(high - low + 1))
            if k or not self.nonzero:
                return sp.Rational(k, self.denominator)


@dataclass(frozen=True)
class IntArray:
    """Vary over arrays of small integers in ``low … high``, of one of the ``shapes`` (a shape
    ``(n,)`` is a tuple, ``(r, c)`` a matrix, as the parameter's default is)."""

    shapes: tuple[tuple[int, ...], ...]
    low: int = -3
    high: int = 3

    def draw(self, rng: np.random.Generator) -> Any:
        import sympy as sp
        shape = self.shapes[int(rng.integers(len(self.shapes)))]
        entries = [sp.Integer(int(v)) for v in rng.integers(self.low, self.high + 1, size=int(np.prod(shape)))]
        return tuple(entries) if len(shape) == 1 else sp.ImmutableMatrix(shape[0], shape[1], entries)


@dataclass(frozen=True)
class Variation:
    """How a problem varies beyond its parameters' ``vary`` ranges.

    ``degenerate(values)`` names why a drawn combination must be redrawn (None: it is fine);
    ``values`` holds the parameters and any drawn inputs. ``inputs(rng, params)`` draws concrete
    ``--values`` at which the key evaluates the formula answers; ``restate(params)`` rewrites the statement with the variant's numbers; ``fixed``
    says why nothing varies, for a problem whose parameters declare no ranges."""

    degenerate: Callable[[dict[str, Any]], str | None] | None = None
    inputs: Callable[[np.random.Generator, dict[str, Any]], dict[str, Any]] | None = None
    restate: Callable[[dict[str, Any]], str] | None = None
    fixed: str = ""


@dataclass
class Step:
    """One line of a derivation: prose saying why, and optionally ``lhs = rhs`` saying what.

    ``text`` holds prose only; math inside it is written ``{name}`` and given in ``math``
    (name -> SymPy object), so each renderer prints it its own way. ``check`` is an oracle
    (:mod:`derivations.calculus.oracles`) that verifies ``rhs`` independently; a step
    without one states a definition or an argument, not an identity."""

    text: str
    lhs: Any = None
    rhs: Any = None
    math: dict[str, Any] = field(default_factory=dict)
    check: Any = None

    def pieces(self) -> list[str | Any]:
        """The text split into prose strings and math objects, for renderers."""
        return split_math(self.text, self.math)


def split_math(text: str, math: dict[str, Any]) -> list[str | Any]:
    """``"at {x0}"`` with math {"x0": 0} -> ["at ", 0]: prose and math objects in order.
    A brace group that names nothing in ``math`` stays prose."""
    out: list[str | Any] = []
    for i, part in enumerate(_PLACEHOLDER.split(text)):
        if i % 2 and part in math:
            out.append(MathPiece(math[part]))
        elif i % 2:
            out.append("{" + part + "}")
        elif part:
            out.append(part)
    return out


@dataclass(frozen=True)
class MathPiece:
    """A formula inside step prose (kept apart from strings, which are prose)."""

    value: Any


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
    #: "answer" (a check of the answers) or "step" (the identity a step states)
    kind: str = "answer"

    @property
    def passed(self) -> bool:
        return bool(np.isfinite(self.max_abs_error) and self.max_abs_error <= self.tolerance)


@dataclass
class Check:
    """A numeric check run against the current answers: ``measure(answers) -> max abs error``."""

    name: str
    measure: Callable[[dict[str, Any]], float]
    tolerance: float
    kind: str = "answer"

    def run(self, answers: dict[str, Any]) -> CheckResult:
        try:
            error = float(self.measure(answers))
        except Exception as exc:  # a wrong answer may not even evaluate: that is a failed check, with the reason
            return CheckResult(self.name, float("inf"), self.tolerance, f"{type(exc).__name__}: {exc}", self.kind)
        return CheckResult(self.name, error, self.tolerance, kind=self.kind)


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
    #: the shape each ``--values`` name must have (sizes are ints or size Symbols, ``()`` a
    #: scalar); a flat list fills a declared column or row (see ``evaluate.conform``).
    inputs: dict[str, tuple] = field(default_factory=dict)

    def assume(self, text: str) -> None:
        self.assumptions.append(text)

    def step(self, text: str, lhs: Any = None, rhs: Any = None, *, math: dict[str, Any] | None = None,
             check: Any = None) -> Step:
        """Add a step; ``{name}`` in ``text`` prints ``math[name]``; ``check`` verifies ``rhs``."""
        unknown = set(_PLACEHOLDER.findall(text)) - set(math or {})
        if math and unknown:
            raise ValueError(f"step text names {sorted(unknown)} but math has no such entry")
        step = Step(text, lhs, rhs, dict(math or {}), check)
        self.steps.append(step)
        return step

    def answer(self, name: str, symbol: Any, value: Any = None, text: str | None = None,
               check: Any = None) -> Any:
        """Add an answer; each oracle in ``check`` (one or a list) becomes a check of it."""
        self.answers.append(Answer(name, symbol, value, text))
        for oracle in ([] if check is None else check if isinstance(check, (list, tuple)) else [check]):
            self.check(f"{name} vs {oracle.describe}",
                       lambda a, o=oracle: o.error(a[name], symbol), oracle.tolerance)
        return value

    def check(self, name: str, measure: Callable[[dict[str, Any]], float], tolerance: float) -> None:
        self.checks.append(Check(name, measure, tolerance))

    def answer_values(self) -> dict[str, Any]:
        return {a.name: a.value for a in self.answers}

    def step_checks(self) -> list[Check]:
        """One check per step that carries an oracle; it reads the step's current ``rhs``.
        Named by the step number a reader sees (a second check in one step gets a letter)."""
        checks, seen = [], {}
        for number, step in self.numbered_steps():
            if step.check is None:
                continue
            seen[number] = seen.get(number, 0) + 1
            label = f"{number}" + ("" if seen[number] == 1 else "abcdefghijklmnopqrstuvwxyz"[seen[number] - 2])
            what = "" if step.lhs is None else f" {inline(step.lhs)}"
            checks.append(Check(f"step {label}:{what} vs {step.check.describe}",
                                lambda _, s=step: s.check.error(s.rhs, s.lhs), step.check.tolerance, kind="step"))
        return checks

    def numbered_steps(self) -> list[tuple[int, Step]]:
        """Steps with the number a reader sees: prose steps are numbered 1, 2, …; a bare
        equation belongs to the step before it."""
        out, number = [], 0
        for step in self.steps:
            number += bool(step.text)
            out.append((max(number, 1), step))
        return out

    def run_checks(self) -> list[CheckResult]:
        """Answer checks first, then step checks."""
        values = self.answer_values()
        return [check.run(values) for check in self.checks + self.step_checks()]


@dataclass(frozen=True)
class Problem:
    """A catalogue entry: identity, restated statement, parameters and the solver."""

    id: str
    title: str
    kind: str
    statement: str
    solve_fn: Callable[[dict[str, Any], Solution], None]
    params: tuple[Param, ...] = ()
    variation: Variation = Variation()

    @property
    def varied(self) -> tuple[Param, ...]:
        """The parameters a seeded variant draws anew."""
        return tuple(p for p in self.params if p.vary is not None)

    @property
    def sheet(self) -> str:
        return self.id.split("/", 1)[0]

    def defaults(self) -> dict[str, Any]:
        return {p.name: p.default for p in self.params}

    def solve(self, overrides: dict[str, Any] | None = None) -> Solution:
        params, declared = self.defaults(), {p.name: p for p in self.params}
        for name, value in (overrides or {}).items():
            if name not in params:
                known = ", ".join(params) or "none"
                raise UserError(f"{self.id} has no parameter {name!r} (parameters: {known})")
            if declared[name].kind in ("int", "number") and not declared[name].within_bounds(value):
                low, high = declared[name].bounds
                raise UserError(f"{self.id}: {name} = {value} is outside [{low}, {high}]")
            params[name] = value
        solution = Solution(self, params)
        self.solve_fn(params, solution)
        return solution
