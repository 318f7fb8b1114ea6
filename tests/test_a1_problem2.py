"""a1/problem2: the smallest sigmoid MLPs for AND, OR, XOR, XNOR; exact certificates; the NOT example."""

import json
from fractions import Fraction

import pytest
import sympy as sp

from derivations.core import registry
from helpers import assert_user_error, cli_in_process
from problems.a1 import problem2 as p2
from test_mutations import mutate

R = sp.Rational
GATE_TABLES = {"and": [0, 0, 0, 1], "or": [0, 1, 1, 1], "xor": [0, 1, 1, 0], "xnor": [1, 0, 0, 1]}


def solve(**settings):
    return registry.load("a1/problem2").solve(settings)


def failing(solution):
    return [r.name for r in solution.run_checks() if not r.passed]


def answer(solution, name):
    return next(a for a in solution.answers if a.name == name)


@pytest.fixture(scope="module")
def default():
    return solve()


def test_all_checks_pass_at_the_defaults_and_another_seed(default):
    assert failing(default) == []
    assert failing(solve(seed=1)) == []


def test_single_units_for_and_or_have_margin_one(default):
    a = default.answer_values()
    assert a["and_network"] == [[2, 2, -3]]
    assert a["or_network"] == [[2, 2, -1]]
    for gate in ("and", "or"):
        z = p2.forward(a[f"{gate}_network"], p2.INPUTS, 0, False)
        assert all((v >= 1) if t else (v <= -1) for v, t in zip(z, GATE_TABLES[gate]))


def test_every_network_computes_its_truth_table(default):
    a = default.answer_values()
    assert a["truth_tables"] == list(GATE_TABLES.values())
    assert a["hidden_units"] == [0, 0, 2, 2]
    assert [len(a[f"{g}_network"]) - 1 for g in GATE_TABLES] == [0, 0, 2, 2]


@pytest.mark.parametrize("name, row, col, value", [
    ("and_network", 0, 2, -1),          # bias −3 → −1 makes the unit OR
    ("or_network", 0, 2, -3),           # and OR → AND
    ("xor_network", 2, 2, 1),           # the output bias flipped
    ("xnor_network", 0, 0, 0),          # a hidden weight removed
    ("not_network", 0, 1, R(-1, 2)),    # the sheet's bias back in
])
def test_a_corrupted_weight_is_caught_by_the_truth_table(name, row, col, value):
    solution = solve()
    network = [list(r) for r in answer(solution, name).value]
    network[row][col] = value
    answer(solution, name).value = network
    assert failing(solution) == [f"{name} vs its truth table run in NumPy, with margin"]


def test_a_network_of_the_wrong_shape_is_rejected():
    solution = solve()
    answer(solution, "xor_network").value = [[2, 2, -1]]
    assert failing(solution) == ["xor_network vs its truth table run in NumPy, with margin"]


def test_xor_and_xnor_certificates_are_exact(default):
    a = default.answer_values()
    for gate in ("xor", "xnor"):
        y = a[f"{gate}_certificate"]
        assert y == [R(1, 4)] * 4 and all(isinstance(v, sp.Rational) for v in y)
        rows = p2.constraint_rows(p2.INPUTS, GATE_TABLES[gate])
        assert all(isinstance(v, Fraction) for row in rows for v in row)
        assert [sum(Fraction(int(v.p), int(v.q)) * row[j] for v, row in zip(y, rows)) for j in range(3)] == [0, 0, 0]


@pytest.mark.parametrize("wrong", [
    [R(1, 2), R(1, 4), R(1, 4), 0],           # sums to 1, but the combination is not 0
    [R(1, 2)] * 4,                            # the combination is 0, but not normalised
    [R(1, 2), R(1, 2), R(-1, 2), R(1, 2)],    # a negative multiplier
    [R(1, 4)] * 3,                            # one inequality left out
    [0.25 + 1e-12, 0.25, 0.25, 0.25 - 1e-12],  # off in the twelfth digit: exact means exact
])
def test_a_wrong_multiplier_is_rejected(wrong):
    solution = solve()
    answer(solution, "xor_certificate").value = wrong
    assert failing(solution) == ["xor_certificate vs the Farkas combination in exact fractions"]


def test_a_combination_without_strict_weight_is_no_contradiction():
    oracle = p2.FarkasCertificate
    rows = [(Fraction(1),), (Fraction(-1),)]       # a ≥ 0 and −a ≥ 0: 0 = 0, not 0 > 0
    assert oracle(rows=rows, strict=[False, False]).error([R(1, 2), R(1, 2)]) == 1
    assert oracle(rows=rows, strict=[True, False]).error([R(1, 2), R(1, 2)]) == 0


def test_gordan_alternative_holds_for_all_sixteen_tables():
    separable = 0
    for code in range(16):
        table = [int(c) for c in format(code, "04b")]
        rows = p2.constraint_rows(p2.INPUTS, table)
        unit, y = p2.separating_unit(rows), p2.farkas_multipliers(rows)
        assert (unit is None) != (y is None), table
        separable += unit is not None
        if unit is not None:
            assert all(sum(a * t for a, t in zip(row, unit)) >= 1 for row in rows)
    assert separable == 14 and len(p2.separable_tables()) == 14


def test_one_hidden_unit_search_never_reaches_xor_but_two_do():
    one, two = (p2.searched_tables(h, False, 300, 3, "class1") for h in (1, 2))
    assert 0b0110 not in one and 0b1001 not in one and len(one) == 14
    assert {0b0110, 0b1001} <= two
    best = next(s for s in solve().steps if s.lhs == (sp.Symbol("best_XOR"), sp.Symbol("best_XNOR")))
    assert best.rhs == [3, 3]


def test_skip_connections_make_one_hidden_unit_enough():
    solution = solve(skip=True)
    a = solution.answer_values()
    assert failing(solution) == []
    assert a["hidden_units"] == [0, 0, 1, 1]
    assert a["xor_network"] == [[4, 4, -6], [2, 2, -4, -1]]
    assert a["truth_tables"] == list(GATE_TABLES.values())
    assert not any(s.lhs == (sp.Symbol("best_XOR"), sp.Symbol("best_XNOR")) for s in solution.steps)


def test_the_sheets_not_example_is_not_a_not_gate(default):
    a = default.answer_values()
    assert a["not_example_table"] == [0, 0]           # z = −1/2 at A = 0, −3/2 at A = 1
    assert "constant 0" in answer(default, "not_example_table").text
    assert a["not_network"] == [[-1, R(1, 2)]]


@pytest.mark.parametrize("settings, table", [
    ({"not_bias": R(0)}, [1, 0]),                     # z(0) = 0 is class 1 under z ≥ 0 …
    ({"not_bias": R(0), "tie": "class0"}, [0, 0]),    # … and class 0 under z > 0
    ({"not_weight": R(1)}, [0, 1]),                   # the identity
    ({"not_bias": R(1, 2)}, [1, 0]),
])
def test_not_example_settings(settings, table):
    solution = solve(**settings)
    assert solution.answer_values()["not_example_table"] == table
    assert failing(solution) == []


@pytest.mark.parametrize("settings", [{"skip": True}, {"tie": "class0"}, {"not_weight": R(-3), "tie": "class0"}])
def test_mutations_are_caught_in_the_other_settings(settings):
    solution = solve(**settings)
    for a in [a for a in solution.answers if a.value is not None]:
        original, a.value = a.value, mutate(a.value)
        assert failing(solution), f"no check catches a wrong {a.name}"
        a.value = original
    for step in [s for s in solution.steps if s.check is not None]:
        original, step.rhs = step.rhs, mutate(step.rhs)
        assert sum(not c.run({}).passed for c in solution.step_checks()) == 1
        step.rhs = original


def test_cli_solve_check_and_json(capsys):
    run = cli_in_process(capsys, "solve", "a1/problem2")
    assert run.code == 0, run.err
    assert "[FAIL]" not in run.out and "0 > 0" in run.out and "not a NOT gate" in run.out
    assert cli_in_process(capsys, "check", "a1/problem2").code == 0
    run = cli_in_process(capsys, "solve", "a1/problem2", "--set", "skip=true", "--format", "json")
    values = {a["name"]: a["value"] for a in json.loads(run.out)["answers"]}
    assert values["hidden_units"] == [0, 0, 1, 1]
    assert values["xor_certificate"] == [0.25] * 4
    assert values["not_network"] == [[-1, 0.5]]


@pytest.mark.parametrize("setting, fragment", [("samples=10", "samples"), ("tie=maybe", "tie"),
                                               ("skip=perhaps", "skip"), ("not_bias=abc", "not_bias")])
def test_bad_settings_are_one_line_errors(capsys, setting, fragment):
    assert_user_error(cli_in_process(capsys, "solve", "a1/problem2", "--set", setting), fragment)
