"""What an instructor would mark down in hw3/problem1, problem2, problem3 and problem5, pinned."""

import json

import numpy as np
import pytest
import sympy as sp

from derivations.calculus.functions import sigmoid
from derivations.core import registry
from helpers import cli, cli_in_process


def solve(problem_id, **settings):
    return registry.load(problem_id).solve(settings)


def answers(solution):
    return {a.name: a for a in solution.answers}


# --- hw3/problem5: part (3) for general bounds a ≤ y ≤ b ---------------------------------------

@pytest.mark.parametrize("family, general, instance", [
    ("smooth", lambda a, b, z: a + (b - a) * sigmoid(z), 3 * sigmoid(sp.Symbol("z", real=True)) - 1),
    ("hard", lambda a, b, z: sp.Min(sp.Max(z, a), b), sp.Min(sp.Max(sp.Symbol("z", real=True), -1), 2)),
])
def test_hw3_problem5_part3_is_general_in_a_and_b_with_the_instance_beside_it(family, general, instance):
    from problems.hw3 import problem5 as p5

    got = answers(solve("hw3/problem5", family=family))
    a, b, z = p5.A, p5.B, p5.z
    assert got["f_bounded"].value.free_symbols == {a, b, z}
    assert sp.simplify(got["f_bounded"].value - general(a, b, z)) == 0
    assert sp.simplify(got["f_bounded_instance"].value - instance) == 0
    assert got["projection_bounded"].value == sp.Min(sp.Max(z, a), b)
    assert got["projection_bounded_instance"].value == sp.Min(sp.Max(z, -1), 2)
    # the symbol says which bounds: f₃(z, a, b) and f₃(z, −1, 2)
    assert got["f_bounded"].symbol.args == (z, a, b) and got["f_bounded_instance"].symbol.args == (z, -1, 2)


def test_hw3_problem5_general_part3_is_checked_at_several_bounds():
    solution = solve("hw3/problem5")
    general = [c for c in solution.checks if c.name.startswith(("f_bounded vs", "projection_bounded vs"))]
    assert len(general) == 2 and all("3 choices of (a, b)" in c.name for c in general)
    # a formula right only at the default bounds (a = −1, b = 2) fails the general check
    wrong = {**solution.answer_values(), "f_bounded": 3 * sigmoid(sp.Symbol("z", real=True)) - 1}
    assert not general[0].run(wrong).passed
    assert all(r.passed for r in solution.run_checks())


def test_hw3_problem5_latex_subscripts_hold_no_words_or_arguments(capsys):
    run = cli_in_process(capsys, "solve", "hw3/problem5", "--format", "latex")
    assert run.code == 0, run.err
    assert "_{nonnegative" not in run.out and "nonnegative(z)" not in run.out and "bounded(z)" not in run.out
    out = run.out.replace(", ", ",")
    assert r"P_{1}{\left(z \right)}" in out and r"f_{3}{\left(z,a,b \right)}" in out
    assert r"f_{3}{\left(z,-1,2 \right)}" in out
