"""One naming convention for `solve --values`: the ASCII name of a symbol with no underscore
between a letter and its index (z1, W1, b1, yhat for ŷ), or a derivative dA_dB of two such
names (dL_dyhat for ∂L/∂ŷ, dL_dw); a problem that declares inputs lists them in its
assumptions."""

import json
import re

import pytest

from derivations.core import registry
from helpers import cli_in_process

NAME = r"[A-Za-z]+[0-9]*(?:hat)?"
CONVENTION = re.compile(rf"^(?:{NAME}|d{NAME}_d{NAME})$")
#: problems whose assumptions already list their names (the rest are reported, not failed here)
LISTING = ("hw1/problem2", "hw3/problem1", "hw3/problem2", "hw3/problem3")


def test_the_convention_accepts_and_refuses_what_it_should():
    assert all(CONVENTION.match(n) for n in ("x", "z1", "W1", "b2", "yhat", "w2", "dL_dyhat", "dL_dw", "df3"))
    assert not any(CONVENTION.match(n) for n in ("z_1", "W_1", "y_hat", "∂L/∂yhat", "1x", "d_1"))


@pytest.mark.parametrize("problem_id", registry.problem_ids())
def test_declared_values_names_follow_the_convention(problem_id):
    solution = registry.load(problem_id).solve()
    bad = [name for name in solution.inputs if not CONVENTION.match(name)]
    assert not bad, f"{problem_id}: --values names {bad} break the convention"


@pytest.mark.parametrize("problem_id", LISTING)
def test_declared_values_names_are_listed_in_the_assumptions(problem_id):
    solution = registry.load(problem_id).solve()
    assert solution.inputs
    listed = [a for a in solution.assumptions if a.startswith("--values names:")]
    assert len(listed) == 1
    assert all(re.search(rf"\b{name}\b", listed[0]) for name in solution.inputs), listed[0]


@pytest.mark.parametrize("problem_id", ["hw3/problem1", "hw3/problem2", "hw3/problem3"])
def test_scalar_inputs_turn_every_formula_answer_into_a_number(capsys, problem_id):
    solution = registry.load(problem_id).solve()
    values = {name: 0.3 + 0.1 * i for i, name in enumerate(solution.inputs)}
    run = cli_in_process(capsys, "solve", problem_id, "--format", "json", "--values", json.dumps(values))
    assert run.code == 0, run.err
    formulas = {a.name for a in solution.answers if a.value is not None and a.text is None}
    got = {a["name"]: a["value"] for a in json.loads(run.out)["answers"]}
    assert formulas and all(isinstance(got[name], (int, float)) for name in formulas), got


def test_hw3_problem3_takes_z1_and_z2(capsys):
    run = cli_in_process(capsys, "solve", "hw3/problem3", "--format", "json",
                         "--values", '{"z1": 0.5, "z2": -1, "y": 1}')
    assert run.code == 0, run.err
    got = {a["name"]: a["value"] for a in json.loads(run.out)["answers"]}
    assert got["softmax_class1"] == pytest.approx(1 / (1 + 2.718281828459045 ** 1.5), rel=1e-12)
    assert got["ce_logit_gradient"] == pytest.approx(got["softmax_class1"] - 1, rel=1e-12)
