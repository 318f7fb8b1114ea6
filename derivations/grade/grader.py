"""Grading one student's answers to one problem: each answer correct, incorrect or invalid,
with a diagnosis, partial credit, and a weighted score for the problem."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import sympy as sp

from derivations.core import registry
from derivations.core.errors import UserError
from derivations.core.model import Answer
from derivations.grade.diagnoses import diagnose, evaluated_variants
from derivations.grade.equivalence import (FORMULA_TOLERANCE, NUMBER_TOLERANCE, Evaluator, NotEvaluable, close,
                                           error, symbolically_equal)
from derivations.grade.parse import is_matrix, parse_answer, student_name, vocabulary

STATUSES = ("correct", "incorrect", "invalid", "missing")


@dataclass
class Verdict:
    """One graded answer: ``tag`` names the diagnosis (``exact``, ``equivalent-form``,
    ``transpose``, …), ``message`` is for the student, ``note`` for the instructor."""

    name: str
    status: str
    credit: float
    tag: str
    message: str
    note: str = ""
    weight: float = 1.0
    method: str = ""
    answer: str = ""

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class Report:
    """Every verdict of one submission and its weighted score in [0, 1]."""

    problem: str
    verdicts: list[Verdict] = field(default_factory=list)
    #: the variant graded against (None: the problem as stated)
    seed: int | None = None

    @property
    def score(self) -> float:
        total = sum(v.weight for v in self.verdicts)
        return sum(v.weight * v.credit for v in self.verdicts) / total if total else 0.0

    def counts(self) -> dict[str, int]:
        return {s: sum(v.status == s for v in self.verdicts) for s in STATUSES}

    def as_dict(self) -> dict:
        return {"problem": self.problem, "seed": self.seed, "score": round(self.score, 6), "counts": self.counts(),
                "answers": [v.as_dict() for v in self.verdicts]}


def prepare(value: Any) -> Any:
    """A key as a student could write it: hw3's slope symbols (``df1``) become f₁′ at their point."""
    if isinstance(value, (list, tuple)):
        return [prepare(v) for v in value]
    if isinstance(value, sp.Basic) and not isinstance(value, sp.MatrixBase):
        slopes = {s: s.prime() for s in value.atoms(sp.Symbol) if hasattr(s, "prime")}
        return value.xreplace(slopes) if slopes else value
    return value


class Key:
    """One answer of the solution, its numbers at the shared points, and its mutations
    (computed once, on first need, and shared by every student)."""

    def __init__(self, answer: Answer, arrays: list[np.ndarray], evaluator: Evaluator):
        self.answer, self.name, self.value, self.arrays = answer, answer.name, prepare(answer.value), arrays
        constant = not is_matrix(self.value) and not any(
            getattr(v, "free_symbols", None) for v in _flat(self.value))
        self.tolerance = None if constant else FORMULA_TOLERANCE
        self.floor = 0.0 if constant else 1.0
        self._evaluator, self._variants = evaluator, {}

    def variants(self, kind: str) -> list:
        if kind not in self._variants:
            self._variants[kind] = evaluated_variants(kind, self.value, self._evaluator.evaluate)
        return self._variants[kind]


def _flat(value):
    if isinstance(value, sp.MatrixBase):
        return list(value)
    if isinstance(value, (list, tuple)):
        return [e for v in value for e in _flat(v)]
    return [value]


@dataclass
class Attempt:
    """A parsed answer, its numbers, and the key it is judged against (what rules read)."""

    grader: "Grader"
    key: Key
    value: Any
    arrays: list[np.ndarray]
    tolerance: float

    def matches(self, arrays: list[np.ndarray]) -> bool:
        return close(self.arrays, arrays, self.tolerance, self.key.floor)

    def alternatives(self):
        return self.grader.alternatives(self.key.name)

    def setting(self, other: str) -> str:
        name = other.split("=", 1)[0]
        return f"{name}={self.grader.solution.parameters[name]}"


class Grader:
    """Grades answers to one problem solved with ``settings``, or to the variant of ``seed``
    (the key a student's seeded sheet was made from). Numbers are held to the relative
    ``tolerance``; formulas, evaluated in float64, to :data:`FORMULA_TOLERANCE`."""

    def __init__(self, problem_id: str, settings: dict | None = None, tolerance: float = NUMBER_TOLERANCE,
                 seed: int | None = None):
        if not (0 < tolerance < 1):
            raise UserError(f"--tolerance must lie in (0, 1), got {tolerance}")
        self.problem = registry.load(problem_id)
        self.seed = seed
        if seed is None:
            self.settings = dict(settings or {})
            self.solution = self.problem.solve(self.settings)
        else:
            if settings:
                raise UserError("--seed fixes the problem's values; it cannot be combined with --set")
            from derivations.variants import draw

            variant = draw(self.problem, seed)
            self.settings, self.solution = dict(variant.values), variant.solution
        self.tolerance = tolerance
        self.answers = {a.name: a for a in self.solution.answers}
        values = [a.value for a in self.solution.answers if _gradable(a.value)]
        self.evaluator = Evaluator([prepare(v) for v in values])
        self.table = vocabulary(values)
        self.keys: dict[str, Key | str] = {}
        self._alternatives: dict[str, list] = {}
        self._cache: dict[tuple[str, str], Verdict] = {}
        self._seeded: dict[int, Grader] = {}

    def for_seed(self, seed: int | None) -> "Grader":
        """The grader of variant ``seed`` (this one for None or its own seed), made once per seed."""
        if seed is None or seed == self.seed:
            return self
        if self.seed is not None:
            raise UserError(f"the answers are for seed {seed}, but --seed {self.seed} was given")
        if self.settings:
            raise UserError(f"a submission for seed {seed} cannot be graded with --set (the seed fixes the values)")
        if seed not in self._seeded:
            self._seeded[seed] = Grader(self.problem.id, tolerance=self.tolerance, seed=seed)
        return self._seeded[seed]

    def key(self, name: str) -> Key:
        """The key of answer ``name``, or a :class:`UserError` saying why it cannot be graded."""
        if name not in self.answers:
            raise UserError(f"{self.problem.id} has no answer {name!r} (answers: {', '.join(self.gradable())})")
        if name not in self.keys:
            answer = self.answers[name]
            try:
                if not _gradable(answer.value):
                    raise NotEvaluable("a worded answer")
                self.keys[name] = Key(answer, self.evaluator.evaluate(prepare(answer.value)), self.evaluator)
            except NotEvaluable as exc:
                self.keys[name] = f"{name} is not graded automatically ({exc})"
        if isinstance(self.keys[name], str):
            raise UserError(self.keys[name])
        return self.keys[name]

    def gradable(self) -> list[str]:
        """The answers this grader can grade, in the solution's order."""
        names = []
        for name in self.answers:
            try:
                self.key(name)
                names.append(name)
            except UserError:
                pass
        return names

    def grade(self, name: str, text: str, weight: float = 1.0) -> Verdict:
        """One answer, from the student's text; never raises for bad input."""
        cached = self._cache.get((name, text))
        if cached is None:
            cached = self._cache[(name, text)] = self._grade(name, text)
        return Verdict(**{**cached.as_dict(), "weight": weight})

    def _grade(self, name: str, text: str) -> Verdict:
        try:
            key = self.key(name)
            value = parse_answer(text, self.table)
        except UserError as exc:
            return Verdict(name, "invalid", 0.0, "invalid", f"Invalid answer: {exc}.", "unreadable or unknown",
                           answer=text)
        tolerance = key.tolerance or self.tolerance
        if symbolically_equal(value, key.value):
            return self._correct(key, value, text, "symbolic")
        try:
            arrays = self.evaluator.evaluate(value)
        except NotEvaluable as exc:
            return Verdict(name, "incorrect", 0.0, "not-evaluable", f"Your answer has no value where the correct "
                           f"one has: {exc}.", "does not evaluate", method="numeric", answer=text)
        attempt = Attempt(self, key, value, arrays, tolerance)
        if attempt.matches(key.arrays):
            return self._correct(key, value, text, "numeric")
        finding = diagnose(attempt)
        if finding:
            return Verdict(name, "incorrect", finding.credit, finding.tag, finding.message, finding.note,
                           method="numeric", answer=text)
        gap = error(arrays, key.arrays, key.floor)
        where = "" if key.tolerance is None else " at random points"
        return Verdict(name, "incorrect", 0.0, "no-diagnosis",
                       f"Your answer differs from the correct one by up to {gap:.3g} (relative){where}, more than the "
                       f"tolerance {tolerance:.0e}; {_unused_names(key.value, value)}recheck the derivation step by "
                       "step.", f"relative gap {gap:.3g}", method="numeric", answer=text)

    def _correct(self, key: Key, value: Any, text: str, method: str) -> Verdict:
        if key.tolerance is None or value == key.value or str(value) == str(key.value):
            return Verdict(key.name, "correct", 1.0, "exact", "Correct.", "", method=method, answer=text)
        return Verdict(key.name, "correct", 1.0, "equivalent-form", "Correct, in a different but equivalent form.",
                       "equivalent form", method=method, answer=text)

    def grade_all(self, answers: dict[str, tuple[str, float]]) -> Report:
        """Every ``name -> (text, weight)`` of one submission."""
        return Report(self.problem.id, [self.grade(name, text, weight) for name, (text, weight) in answers.items()],
                      self.seed)

    def alternatives(self, name: str) -> list[tuple[list[np.ndarray], str, str]]:
        """The numbers of answer ``name`` under each other choice of the problem's choice
        parameters (another reading of the question), with the setting and its help."""
        if name not in self._alternatives:
            found = []
            key = self.key(name)
            for param in self.problem.params:
                for choice in param.choices:
                    if param.kind != "choice" or choice == self.solution.parameters[param.name]:
                        continue
                    try:
                        other = self.problem.solve({**self.settings, param.name: choice})
                        value = next(a.value for a in other.answers if a.name == name)
                        arrays = self.evaluator.evaluate(prepare(value))
                    except (UserError, StopIteration, NotEvaluable):
                        continue
                    if not close(arrays, key.arrays, key.tolerance or self.tolerance, key.floor):
                        found.append((arrays, f"{param.name}={choice}", param.help))
            self._alternatives[name] = found
        return self._alternatives[name]


def _unused_names(key: Any, value: Any) -> str:
    """A hint when the key is written with names (such as the Jacobian dl_dyhat) that the answer
    leaves out: the question asks for the answer in those terms, and the grader takes each such
    name as a quantity of its own."""
    names = sorted(student_name(s.name) or s.name for s in _symbols(key) - _symbols(value)
                   if getattr(s, "name", "").startswith("∂"))
    return f"the correct answer is written with {', '.join(names)}, which yours does not use; " if names else ""


def _symbols(value: Any) -> set:
    return {s for v in _flat(value) for s in getattr(v, "free_symbols", ())}


def _gradable(value: Any) -> bool:
    if value is None or isinstance(value, str):
        return False
    if isinstance(value, (list, tuple)):
        return bool(value) and all(_gradable(v) for v in value)
    return isinstance(value, (sp.Basic, bool, int, float, np.number, np.bool_))
