"""a1/problem1: GD and momentum on x·σ(1.702x), values pinned against mpmath."""

import json
import subprocess
import sys

import pytest
import sympy as sp

from derivations.core import registry

# Reference values: an mpmath loop at 40 digits with mpmath.diff, independent of SymPy.
A_X = [-0.05, -0.0957501302185, -0.137637718426]
A_GELU = [-0.0239368915094, -0.0439826546966, -0.0607947885268]
B_X = [-0.5, -0.620778088035, -0.676497308917]
B_GELU = [-0.149611563394, -0.160139992597, -0.162517484487]
C_GD_X = [-2.99754516761, -2.99508270875, -2.99261257913]
C_GD_GELU = [-0.018131665295, -0.0181923967335, -0.0182535073845]
C_MOM_NEW_X = [-2.99754516761, -2.99508957257, -2.99263252622]
C_MOM_NEW_GELU = [-0.018131665295, -0.018192227189, -0.0182530131329]
C_MOM_OLD_X = [-2.99754516761, -2.99509033522, -2.99263474018]
C_MOM_OLD_GELU = [-0.018131665295, -0.0181922083508, -0.0182529582758]


@pytest.fixture(scope="module")
def solution():
    return registry.load("a1/problem1").solve()


def floats(values):
    return [float(v) for v in values]


def test_part_a_first_iterate_is_exact(solution):
    answers = solution.answer_values()
    assert answers["a_x"][0] == sp.Rational(-1, 20)


@pytest.mark.parametrize("name, expected", [
    ("a_x", A_X), ("a_gelu", A_GELU), ("b_x", B_X), ("b_gelu", B_GELU),
    ("c_gd_x", C_GD_X), ("c_gd_gelu", C_GD_GELU),
    ("c_momentum_x", C_MOM_NEW_X), ("c_momentum_gelu", C_MOM_NEW_GELU),
])
def test_iterates_and_gelu_values_to_nine_significant_digits(solution, name, expected):
    assert floats(solution.answer_values()[name]) == pytest.approx(expected, rel=1e-10)


def test_old_momentum_reading():
    answers = registry.load("a1/problem1").solve({"momentum_reading": "old"}).answer_values()
    assert floats(answers["c_momentum_x"]) == pytest.approx(C_MOM_OLD_X, rel=1e-10)
    assert floats(answers["c_momentum_gelu"]) == pytest.approx(C_MOM_OLD_GELU, rel=1e-10)
    assert floats(answers["c_gd_x"]) == pytest.approx(C_GD_X, rel=1e-10)


def test_minimiser_and_comparisons(solution):
    answers = {a.name: a for a in solution.answers}
    assert float(answers["x_min"].value) == pytest.approx(-0.751154255441289, abs=1e-12)
    assert "η = 1 gets the lower value" in answers["b_comparison"].text
    assert "plain gradient descent is ahead" in answers["c_comparison"].text
    assert any("eta_c" in a and "0.1" in a for a in solution.assumptions)
    assert any("momentum_reading=old" in a for a in solution.assumptions)


def test_all_checks_pass(solution):
    results = solution.run_checks()
    assert len(solution.checks) == 11                       # answer checks
    # step checks: f′, f′(0), x*, v₀, every assignment of every update (3 + 3 + 3 + 6) and four GELU rows
    assert len(solution.step_checks()) == 4 + 15 + 4
    assert all(r.passed for r in results), [r for r in results if not r.passed]


def test_step_text_is_prose_with_math_placeholders(solution):
    """Computed numbers live in ``math``, never in the prose."""
    import re

    for step in solution.steps:
        assert not re.search(r"\d\.\d", step.text), step.text
        assert set(re.findall(r"\{(\w+)\}", step.text)) <= set(step.math), step.text
    updates = [s for s in solution.steps if s.check is not None and str(s.lhs).startswith(("x_", "v_"))]
    assert all(s.math.get("update") is not None or s.lhs == sp.Symbol("v_0") for s in updates)


def test_iterate_steps_are_checked_against_the_float_loop(solution):
    step = next(s for s in solution.steps if s.lhs == sp.Symbol("x_2") and "a" in s.text[:3])
    assert step.check.error(step.rhs) < 1e-8
    assert step.check.error(step.rhs + sp.Rational(1, 10**6)) > 1e-8
    derivative = solution.steps[0]
    assert derivative.check.error(derivative.rhs, derivative.lhs) < 1e-20
    assert derivative.check.error(derivative.rhs * 2, derivative.lhs) > 1e-3


def _wrong(value):
    if isinstance(value, list):
        return [value[0] + sp.Rational(1, 10**5)] + list(value[1:])
    if isinstance(value, sp.Expr) and value.free_symbols:
        return value * (1 + sp.Rational(1, 10**6))
    return value + sp.Rational(1, 10**5)


def test_every_check_fails_for_a_wrong_answer():
    solution = registry.load("a1/problem1").solve()
    checked = [a for a in solution.answers if a.text is None or isinstance(a.value, list)]
    assert {a.name for a in checked} >= {"a_x", "a_gelu", "b_x", "b_gelu", "c_gd_x", "c_gd_gelu",
                                          "c_momentum_x", "c_momentum_gelu", "dgelu_dx", "x_min", "gelu_min"}
    caught = set()
    for answer in checked:
        good = answer.value
        answer.value = _wrong(good)
        failed = [r.name for r in solution.run_checks() if not r.passed]
        answer.value = good
        assert failed, f"no check caught a wrong {answer.name}"
        caught.update(failed)
    assert caught == {c.name for c in solution.checks}    # every check fails for some wrong answer
    # A list of the wrong length fails too.
    solution.answers[[a.name for a in solution.answers].index("a_x")].value = A_X[:2]
    assert not all(r.passed for r in solution.run_checks())


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "derivations", "solve", "a1/problem1", *args],
                          capture_output=True, text=True, timeout=60)


def test_cli_json_and_set_eta_c():
    done = run_cli("--set", "eta_c=0.5", "--format", "json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    values = {a["name"]: a["value"] for a in report["answers"]}
    assert report["parameters"]["eta_c"] == 0.5
    assert values["a_x"] == pytest.approx(A_X, rel=1e-10)
    assert values["c_gd_x"] == pytest.approx([-2.98772583805, -2.97525998722, -2.96259681145], rel=1e-10)
    assert values["c_momentum_x"] == pytest.approx([-2.98772583805, -2.97543250721, -2.96310246679], rel=1e-10)
    assert all(c["passed"] for c in report["checks"])


def test_cli_momentum_reading_switch():
    report = json.loads(run_cli("--set", "momentum_reading=old", "--format", "json").stdout)
    values = {a["name"]: a["value"] for a in report["answers"]}
    assert values["c_momentum_x"] == pytest.approx(C_MOM_OLD_X, rel=1e-10)


@pytest.mark.parametrize("setting", ["eta_c=abc", "momentum_reading=middle", "steps=0", "beta=1",
                                     "digits=5", "nope=1", "steps=1.5"])
def test_bad_settings_exit_2_with_one_line(setting):
    done = run_cli("--set", setting)
    assert done.returncode == 2
    assert done.stdout == ""
    assert len(done.stderr.strip().splitlines()) == 1 and "error" in done.stderr


def test_text_prints_each_caption_before_its_lists():
    """Every renderer prints an answer's value before its text: a caption is an answer of its
    own, placed before the two lists it describes, and the lists carry none."""
    done = run_cli()
    assert done.returncode == 0, done.stderr
    answers_section = done.stdout.split("\nAnswers\n", 1)[1].split("\nChecks\n", 1)[0]
    lines = [line.strip() for line in answers_section.splitlines()]
    lists = [i for i, line in enumerate(lines) if line.startswith("(x₁, x₂, x₃) =")]
    assert len(lists) == 4
    captions = ["(a) gradient descent", "(b) gradient descent", "(c) gradient descent", "(c) momentum"]
    for i, caption in zip(lists, captions):
        block = " ".join(lines[max(0, i - 2):i])
        assert caption in block and block.endswith("GELU at each of them."), block
        assert lines[i + 1].startswith("(GELU(x₁), GELU(x₂), GELU(x₃)) =")
    # the comparisons follow the runs they compare
    assert lines.index(next(l for l in lines if l.startswith("(b) Comparison:"))) == lists[1] + 2
    assert lines.index(next(l for l in lines if l.startswith("(c) Comparison:"))) == lists[3] + 2


def test_list_answers_carry_no_caption_and_each_run_has_one(solution):
    answers = {a.name: a for a in solution.answers}
    names = [a.name for a in solution.answers]
    for run in ("a", "b", "c_gd", "c_momentum"):
        assert answers[f"{run}_x"].text is None and answers[f"{run}_gelu"].text is None
        method = answers[f"{run}_method"]
        assert method.value is None and method.text.endswith("GELU at each of them.")
        assert names.index(f"{run}_method") + 1 == names.index(f"{run}_x")
