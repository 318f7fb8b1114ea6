"""Seeded problem variants: fresh numbers, shapes and functions with a checked key.

A variant is drawn from a generator seeded by the user's seed and a stable hash of the problem
id, so one seed gives one variant on every machine and different problems do not move in step.
Each draw is solved and all its checks run; a degenerate draw (the problem's ``Variation``
says why), one the solver refuses, or one whose checks fail is redrawn and counted, up to
``MAX_REDRAWS``. A class set gives each student one seed for every problem of a sheet and redraws
a student's seed when any problem would repeat a variant another student has.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from derivations.core.errors import UserError
from derivations.core.model import CheckResult, Problem, Solution

#: draws tried for one variant, and seeds tried for one student of a class set, before giving up
MAX_REDRAWS = 50
#: the largest count of variants (``check --variants``) or students (``sheet --variants``)
MAX_VARIANTS = 500
#: seeds are non-negative and fit NumPy's SeedSequence entropy comfortably
MAX_SEED = 2**63 - 1


def parse_seed(text: str) -> int:
    """A ``--seed`` argument as an int, or one clear error: plain ASCII digits only (Python's
    ``int`` would also take ``1_000`` and other scripts' digits, which print as other seeds)."""
    digits = text.strip()
    if not (digits.isascii() and digits.isdigit() and len(digits) <= 19) or int(digits) > MAX_SEED:
        raise UserError(f"--seed must be a whole number from 0 to {MAX_SEED}, got {text[:40]!r}")
    return int(digits)


def parse_count(text: str, what: str = "--variants") -> int:
    try:
        count = int(text.strip())
    except ValueError:
        count = 0
    if not 1 <= count <= MAX_VARIANTS:
        raise UserError(f"{what} must be a whole number from 1 to {MAX_VARIANTS}, got {text!r}")
    return count


def stable_hash(text: str) -> int:
    """A hash of ``text`` that is the same in every process (Python's ``hash`` is salted)."""
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "big")


def generator(problem_id: str, seed: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([seed, stable_hash(problem_id)]))


def can_vary(problem: Problem) -> bool:
    return bool(problem.varied or problem.variation.inputs)


@dataclass
class Variant:
    """One drawn, solved and checked version of a problem."""

    problem: Problem
    seed: int
    #: the drawn parameter values, in declaration order
    values: dict[str, Any]
    #: the drawn ``--values`` inputs the key evaluates formula answers at (None: none)
    inputs: dict[str, np.ndarray] | None
    solution: Solution
    results: list[CheckResult]
    #: why each rejected draw was redrawn, in order
    redrawn: list[str] = field(default_factory=list)
    _key: dict | None = field(default=None, repr=False)

    @property
    def identity(self) -> str:
        """The values the variant shows, as text: two variants showing the same are duplicates."""
        return json.dumps({name: text for name, text, _ in self.shown_values()}, sort_keys=True)

    def statement(self) -> str:
        return self.solution.problem.statement

    def shown_values(self) -> list[tuple[str, str, str]]:
        """(name, value as text, what it is) of every drawn value the question shows (not a seed
        of the checks), parameters then inputs."""
        params = {p.name: p for p in self.problem.params}
        rows = [(k, _shown(v), params[k].help) for k, v in self.values.items() if params[k].shown]
        return rows + [(k, json.dumps(_plain(v)), "an input of the key's numbers, as --values") for k, v in (self.inputs or {}).items()]

    def key_dict(self) -> dict:
        """The key in the JSON contract, its formula answers at the drawn inputs (made once)."""
        if self._key is None:
            from derivations.render.report import solution_dict
            self._key = solution_dict(self.solution, self.results, self.inputs)
        return self._key

    def numbers(self) -> dict | None:
        """The key's formula answers at the variant's drawn inputs (None when it draws none)."""
        from derivations.render.report import answer_numbers
        return answer_numbers(self.solution, self.key_dict()) if self.inputs else None


def _plain(array: np.ndarray) -> list:
    """An input array as nested lists, whole numbers printed without a decimal point."""
    return np.vectorize(lambda x: int(x) if float(x).is_integer() else float(x), otypes=[object])(array).tolist()


def _shown(value: Any) -> str:
    if isinstance(value, str):
        return value
    from derivations.calculus.printing import inline
    return inline(value)


def draw(problem: Problem, seed: int) -> Variant:
    """The variant of ``problem`` for ``seed``: drawn, solved and checked, or one clear error."""
    if not can_vary(problem):
        why = problem.variation.fixed or "it declares no varying parameters"
        raise UserError(f"{problem.id} cannot vary: {why}")
    rng, redrawn = generator(problem.id, seed), []
    for _ in range(MAX_REDRAWS):
        values = {p.name: p.vary.draw(rng) for p in problem.varied}
        params = problem.defaults() | values
        inputs = problem.variation.inputs(rng, params) if problem.variation.inputs else None
        reason = problem.variation.degenerate(params | (inputs or {})) if problem.variation.degenerate else None
        if reason is None:
            variant, reason = _solved(problem, seed, values, inputs)
            if variant is not None:
                variant.redrawn = redrawn
                return variant
        redrawn.append(reason)
    raise UserError(f"{problem.id}: no usable variant for seed {seed} in {MAX_REDRAWS} draws (last: {redrawn[-1]})")


def _solved(problem, seed, values, inputs) -> tuple[Variant | None, str | None]:
    """The solved variant, or None and why it must be redrawn."""
    try:
        solution = problem.solve(values)
    except UserError as exc:
        return None, f"refused: {exc}"
    if problem.variation.restate:  # every renderer of the key then shows the variant's own numbers
        solution.problem = dataclasses.replace(problem, statement=problem.variation.restate(solution.parameters))
    results = solution.run_checks()
    failed = [r.name for r in results if not r.passed]
    if failed:
        return None, f"failed checks: {', '.join(failed)}"
    variant = Variant(problem, seed, values, inputs, solution, results)
    if inputs is not None:
        try:
            undefined = variant.key_dict().get("undefined")
        except UserError as exc:
            return None, f"inputs refused: {exc}"
        if undefined:
            return None, f"answers undefined at the inputs: {', '.join(undefined)}"
    return variant, None


def student_seed(class_seed: int, student: int, attempt: int) -> int:
    """The seed of one student of a class set (a 32-bit number, short to print); ``attempt``
    moves on when the first seed would repeat another student's variant."""
    return int(np.random.SeedSequence([class_seed, student, attempt]).generate_state(1)[0])


def class_set(problems: list[Problem], count: int, class_seed: int) -> list[tuple[int, list[Variant]]]:
    """``count`` students' (seed, variants of the varying ``problems``), no variant repeated."""
    varying = [p for p in problems if can_vary(p)]
    if not varying:
        raise UserError("none of these problems can vary")
    seen: dict[str, set[str]] = {p.id: set() for p in varying}
    students = []
    for student in range(count):
        for attempt in range(MAX_REDRAWS):
            seed = student_seed(class_seed, student, attempt)
            variants = [draw(p, seed) for p in varying]
            if all(v.identity not in seen[v.problem.id] for v in variants):
                break
        else:
            raise UserError(f"student {student + 1}: every seed tried repeats a variant another student has; "
                            f"the sheet's problems vary too little for {count} students")
        for v in variants:
            seen[v.problem.id].add(v.identity)
        students.append((seed, variants))
    return students
