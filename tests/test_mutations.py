"""Every check must catch a wrong answer: replace each checked answer with a perturbed one
and require that some check fails, and that every check fails when all answers are wrong."""

import numpy as np
import pytest
import sympy as sp

from derivations.core import registry


def mutate(value):
    """A plausible-looking wrong answer of the same type and shape."""
    if isinstance(value, sp.MatrixBase):
        return value * sp.Rational(11, 10) + sp.ones(*value.shape)
    if isinstance(value, sp.matrices.MatrixExpr):
        return sp.Rational(11, 10) * value
    if isinstance(value, sp.Basic):
        return value * sp.Rational(11, 10) + 1
    if isinstance(value, np.ndarray):
        return value * 1.1 + 1
    if isinstance(value, bool):
        return not value
    if isinstance(value, (int, float)):
        return value * 1.1 + 1
    if isinstance(value, (list, tuple)):
        return type(value)(mutate(v) for v in value)
    return value


def checked(solution):
    return [a for a in solution.answers if a.value is not None]


@pytest.mark.parametrize("problem_id", registry.problem_ids())
def test_all_answers_wrong_fails_every_check(problem_id):
    solution = registry.load(problem_id).solve()
    assert all(r.passed for r in solution.run_checks())
    for answer in checked(solution):
        answer.value = mutate(answer.value)
    failed = [r.name for r in solution.run_checks() if not r.passed]
    assert failed == [c.name for c in solution.checks], "checks that cannot fail"


@pytest.mark.parametrize("problem_id", registry.problem_ids())
def test_each_wrong_answer_is_caught_by_some_check(problem_id):
    solution = registry.load(problem_id).solve()
    for answer in checked(solution):
        original = answer.value
        answer.value = mutate(original)
        assert not all(r.passed for r in solution.run_checks()), f"no check catches a wrong {answer.name}"
        answer.value = original


@pytest.mark.parametrize("problem_id", registry.problem_ids())
def test_each_wrong_step_is_caught_by_its_check(problem_id):
    """Corrupt the right side of every checked step in turn: its own check must fail, and
    the untouched solution passes all of them."""
    solution = registry.load(problem_id).solve()
    assert all(c.run({}).passed for c in solution.step_checks())
    for step in [s for s in solution.steps if s.check is not None]:
        original = step.rhs
        step.rhs = mutate(original)
        failed = [c.name for c in solution.step_checks() if not c.run({}).passed]
        step.rhs = original
        assert len(failed) == 1, f"a wrong right side of {step.lhs} = {original} is not caught exactly once: {failed}"
