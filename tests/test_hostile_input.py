"""Hostile user text: every input ends in a result or a one-line user error, quickly.

Hypothesis generates expressions and JSON; the listed regressions run through the CLI as a
user would (a subprocess killed after 30 s would fail the test instead of hanging it)."""

import json
import subprocess
import sys

import pytest
import sympy as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from derivations.core.errors import UserError
from derivations.core.parsing import parse_expression
from derivations.core.params import parse_values_json
from helpers import allocation_peak, assert_user_error, cli

x = sp.Symbol("x", real=True)
FUZZ = settings(max_examples=300, deadline=2000, suppress_health_check=[HealthCheck.too_slow])

atoms = st.one_of(st.sampled_from(["x", "pi", "e", "0", "1", "2", "9", "10", "0.5", "1e99", "1e-99", "-3"]),
                  st.integers(-10**6, 10**6).map(str))


def _combine(children):
    binary = st.tuples(children, st.sampled_from(["+", "-", "*", "/", "^", "**"]), children).map(
        lambda t: f"({t[0]}){t[1]}({t[2]})")
    call = st.tuples(st.sampled_from(["exp", "log", "sqrt", "sin", "tanh", "abs", "max", "erf"]), children).map(
        lambda t: f"{t[0]}({t[1]})")
    return binary | call


expressions = st.recursive(atoms, _combine, max_leaves=12)


@FUZZ
@given(expressions)
def test_any_expression_parses_or_is_a_user_error(text):
    try:
        value = parse_expression(text, {"x": x})
    except UserError as exc:
        assert len(str(exc)) < 300
        return
    assert not value.has(sp.zoo, sp.nan, sp.oo)


@FUZZ
@given(st.text(max_size=80))
def test_arbitrary_text_parses_or_is_a_user_error(text):
    try:
        parse_expression(text, {"x": x})
    except UserError as exc:
        assert len(str(exc)) < 300


json_values = st.recursive(st.none() | st.booleans() | st.floats(allow_nan=True) | st.integers() | st.text(max_size=5),
                           lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=3), c, max_size=3),
                           max_leaves=20)


@FUZZ
@given(json_values)
def test_any_json_is_values_or_a_user_error(value):
    try:
        parsed = parse_values_json(json.dumps(value))
    except UserError as exc:
        assert len(str(exc)) < 300
        return
    assert isinstance(parsed, dict) and parsed


HOSTILE_SETTINGS = [
    ("hw3/problem2", "x0=9^9^9", "exponent"),
    ("hw3/problem2", "x0=10**10**10", "exponent"),
    ("hw3/problem2", "x0=1e999999999", "outside the supported range"),
    ("hw3/problem2", "x0=1.5e-9999999", "outside the supported range"),
    ("hw3/problem2", "x0=10^5000", "exponent"),
    ("hw3/problem1", "f1=x^(10**10**10)", "exponent"),
    ("hw3/problem1", "f1=oo", "unknown name"),
    ("hw3/problem1", "f1=1/(x-x)", "not finite"),
    ("hw3/problem2", "x0=" + "(" * 400 + "1" + ")" * 400, "longer than"),
    ("hw3/problem3", "hidden_width=10^9", "an integer"),
    ("hw3/problem3", "hidden_width=" + "9" * 5000, "an integer"),
    ("midterm/problem3", "height=10^9", "an integer from 4 to 256"),
    ("a1/problem1", "digits=100000", "an integer"),
    ("a1/problem1", "eta_a=10^300", "exponent"),
    ("hw3/problem4", "income_range=10^5000", "exponent"),
]


@pytest.mark.parametrize("problem, setting, reason", HOSTILE_SETTINGS)
def test_hostile_settings_are_one_line_errors(problem, setting, reason):
    run = cli("solve", problem, "--set", setting, timeout=30)
    assert_user_error(run, reason)
    assert len(run.err) < 300


HOSTILE_VALUES = [
    ("{}", "is empty"),
    ('{"x": []}', "empty list"),
    ('{"q": 1}', "has no input 'q'"),
    ('{"x": ' + "1" * 5000 + "}", "float range"),
    ("[" * 100 + "]" * 100, "must be a JSON object"),
    ('{"x": ' + "[" * 100 + "1" + "]" * 100 + "}", "levels of lists"),
    ('{"x": [[1, 2], [3]]}', "rows of one length"),
    ('{"x": true}', "a number"),
]


@pytest.mark.parametrize("values, reason", HOSTILE_VALUES)
def test_hostile_values_are_one_line_errors(values, reason):
    run = cli("solve", "midterm/problem2", "--values", values, timeout=30)
    assert_user_error(run, reason)
    assert len(run.err) < 300


def test_values_from_a_file_and_from_stdin(tmp_path):
    path = tmp_path / "v.json"
    path.write_text('{"v": [3, 4], "g": 2, "dL_dw": [1, 0]}')
    from_file = cli("solve", "midterm/problem5", "--values", f"@{path}", "--format", "json")
    assert from_file.code == 0, from_file.err
    answers = {a["name"]: a["value"] for a in json.loads(from_file.out)["answers"]}
    assert answers["dL_dg"][0] == pytest.approx([0.6], abs=1e-15)
    assert_user_error(cli("solve", "midterm/problem5", "--values", f"@{tmp_path / 'missing.json'}"), "no such file")
    from_stdin = subprocess.run([sys.executable, "-m", "derivations", "solve", "midterm/problem5", "--values", "-",
                                 "--format", "json"], input=path.read_text(), capture_output=True, text=True, timeout=60)
    assert json.loads(from_stdin.stdout)["answers"] == json.loads(from_file.out)["answers"]


def test_parsing_a_huge_power_neither_hangs_nor_allocates():
    with allocation_peak() as memory:
        for text in ("9^9^9", "(10^50)^(10^50)", "2^(2^(2^(2^(2^2))))", "exp(exp(exp(exp(10))))"):
            with pytest.raises(UserError):
                parse_expression(text, {"x": x})
    assert memory["peak"] < 100e6


def test_the_allocation_peak_sees_a_block_allocating_more():
    """The memory bound above can fail: 240 MB allocated in a block is seen, whatever came before."""
    import numpy as np

    with allocation_peak() as memory:
        np.ones(30_000_000).sum()
    assert memory["peak"] > 200e6


@pytest.mark.parametrize("x0", ["exp(-1)", "pi", "sqrt(2)", "1/3"])
def test_exact_irrational_settings_pass_their_checks(x0):
    run = cli("solve", "hw3/problem2", "--set", f"x0={x0}")
    assert run.code == 0, run.out[-2000:]
