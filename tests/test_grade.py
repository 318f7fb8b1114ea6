"""The grader: the issue's examples, and generated answers for every problem's keys."""

from __future__ import annotations

import json
import time

import pytest
import sympy as sp

from derivations.core.registry import problem_ids
from derivations.grade.diagnoses import RULES, factor_variants, term_variants
from derivations.grade.equivalence import close
from derivations.grade.grader import Grader
from derivations.grade.parse import is_matrix, to_text
from helpers import cli_in_process

GRADERS: dict[str, Grader] = {}
TAGS = [rule.tag for rule in RULES]


def grader(problem_id: str, **settings) -> Grader:
    key = problem_id + repr(sorted(settings.items()))
    if key not in GRADERS:
        GRADERS[key] = Grader(problem_id, settings)
    return GRADERS[key]


# ---------------------------------------------------------------------------------------------
# The examples.

DL_DW2 = "relu(W1 @ x + b1) @ dl_dyhat @ dyhat_dz3"


def test_hw1_key_and_a_rewrite_are_accepted_and_the_transpose_is_named():
    g = grader("hw1/problem2")
    assert g.grade("dl_dW2", DL_DW2).status == "correct"
    rewrite = g.grade("dl_dW2", "(dyhat_dz3.T @ (relu(b1 + W1*x) @ dl_dyhat).T).T + 0*relu(W1 @ x + b1) @ dl_dyhat")
    assert (rewrite.status, rewrite.tag) == ("correct", "equivalent-form")
    wrong = g.grade("dl_dW2", "dyhat_dz3^T @ dl_dyhat^T @ relu(W1 @ x + b1)^T")
    assert (wrong.status, wrong.tag, wrong.credit) == ("incorrect", "transpose", 0.5)
    assert "transpose" in wrong.message and "numerator layout" in wrong.message and "K×m" in wrong.message


def test_hw3_missing_path_is_named():
    g = grader("hw3/problem1")
    full = "dL_dyhat*df3*(w1*w3*df1 + w2*w4*df2)"
    assert g.grade("dL_dx", full).status == "correct"
    assert g.grade("dL_dx", "dL_dyhat*f3'(w3*h1 + w4*h2 + b3)*(w1*w3*f1'(w1*x + b1) + w2*w4*df2(b2 + w2*x))"
                   ).status == "correct"
    one_path = g.grade("dL_dx", "dL_dyhat*df3*w1*w3*df1")
    assert (one_path.status, one_path.tag) == ("incorrect", "missing-term")
    assert "f₂′(b₂ + w₂·x)" in one_path.message and "path" in one_path.message
    # the slope at the wrong point is wrong: undefined functions get concrete bodies
    assert g.grade("dL_dx", "dL_dyhat*df3*(w1*w3*df1(w1*x) + w2*w4*df2)").status == "incorrect"


def test_a1_numbers_to_the_tolerance_and_the_other_momentum_reading_is_named():
    g = grader("a1/problem1")
    new = [float(v) for v in g.key("c_momentum_x").value]
    old = [float(v) for v in grader("a1/problem1", momentum_reading="old").key("c_momentum_x").value]
    assert g.grade("c_momentum_x", json.dumps([round(v, 10) for v in new])).status == "correct"
    assert g.grade("c_gd_x", to_text(g.key("c_gd_x").value)).status == "correct"
    verdict = g.grade("c_momentum_x", json.dumps(old))
    assert (verdict.status, verdict.tag) == ("incorrect", "other-reading")
    assert "momentum_reading=old" in verdict.message
    assert g.grade("c_momentum_x", json.dumps([round(v, 3) for v in new])).status == "incorrect"


def test_cli_single_answers_text_and_json(capsys):
    run = cli_in_process(capsys, "grade", "hw1/problem2", "--answer", f"dl_dW2={DL_DW2}",
                         "--answer", "dl_db2=(dyhat_dz3^T @ dl_dyhat^T)^T", "--format", "json")
    report = json.loads(run.out)
    assert run.code == 0 and report["answers"][0]["status"] == "correct"
    assert report["answers"][1]["status"] == "correct"
    run = cli_in_process(capsys, "grade", "hw1/problem2", "--answer", "dl_dW2=W1 @ W1", "--answer", "nope=1")
    assert run.code == 0 and run.out.count("invalid") >= 2 and "Traceback" not in run.err


# ---------------------------------------------------------------------------------------------
# Generated answers for every problem's printable keys.

def printable_keys(problem_id):
    g = grader(problem_id)
    for name in g.gradable():
        try:
            yield g, g.key(name), to_text(g.key(name).value)
        except ValueError:  # an entrywise σ(1 − σ) or 1/‖v‖: no answer-language spelling of the key
            continue


def rewrites(value, text):
    yield text
    yield f"{text} + 0" if not isinstance(value, (list, sp.MatrixBase)) else text.replace(",", " + 0,", 1)
    if not isinstance(value, (list, sp.MatrixBase)):
        yield f"1*({text})"
        yield f"({text})*2/2"
        if not is_matrix(value):
            for form in (sp.expand(value), sp.factor(value)):
                try:
                    yield to_text(form)
                except ValueError:
                    pass


@pytest.mark.parametrize("problem_id", problem_ids())
def test_keys_and_their_rewrites_are_accepted(problem_id):
    count = 0
    for g, key, text in printable_keys(problem_id):
        for rewrite in rewrites(key.value, text):
            verdict = g.grade(key.name, rewrite)
            assert verdict.status == "correct", (key.name, rewrite, verdict)
            count += 1
    assert count > 0


def _expect(g, key, text, tag):
    """A mutation is incorrect and named by its rule (or an earlier one in the fixed order, which
    also explains it); unless the mutation happens to equal the key."""
    verdict = g.grade(key.name, text)
    assert verdict.status == "incorrect", (key.name, text, verdict)
    assert verdict.tag in TAGS[:TAGS.index(tag) + 1], (key.name, text, tag, verdict)


@pytest.mark.parametrize("problem_id", problem_ids())
def test_mutations_are_diagnosed(problem_id):
    for g, key, text in printable_keys(problem_id):
        if all(close([a], [0 * a], 1e-12) for a in key.arrays):
            continue  # a zero key: a sign or a factor leaves it unchanged
        if isinstance(key.value, (list, sp.MatrixBase)):
            _expect(g, key, json.dumps((-key.arrays[0]).tolist()), "sign")
            _expect(g, key, json.dumps((2 * key.arrays[0]).tolist()), "constant-factor")
            if key.arrays[0].ndim == 2 and not close([key.arrays[0].T], key.arrays[:1], 1e-9):
                _expect(g, key, json.dumps(key.arrays[0].T.tolist()), "transpose")
            continue
        _expect(g, key, f"-({text})", "sign")
        _expect(g, key, f"3*({text})/2", "constant-factor")
        if is_matrix(key.value) and key.value.shape[0] != key.value.shape[1]:
            _expect(g, key, f"({text}).T", "transpose")
        for kind, variants in (("missing-factor", factor_variants), ("missing-term", term_variants)):
            for variant, _ in list(variants(key.value))[:6]:
                try:
                    mutated = to_text(variant)
                    differs = not close(g.evaluator.evaluate(variant), key.arrays, 1e-6)
                except Exception:
                    continue
                if differs:
                    _expect(g, key, mutated, kind)


@pytest.mark.parametrize("problem_id", problem_ids())
def test_random_wrong_answers_are_rejected(problem_id):
    for g, key, text in printable_keys(problem_id):
        if isinstance(key.value, (list, sp.MatrixBase)):
            wrong = key.arrays[0].copy()
            wrong.flat[0] += 0.37
            assert g.grade(key.name, json.dumps(wrong.tolist())).status == "incorrect", key.name
        elif is_matrix(key.value):
            shape = ", ".join(map(str, key.value.shape))
            assert g.grade(key.name, f"{text} + 0.37*ones({shape})").status == "incorrect", key.name
        else:
            assert g.grade(key.name, f"{text} + 0.37").status == "incorrect", key.name
            assert g.grade(key.name, f"({text})^2 + 1").status == "incorrect", key.name


HOSTILE = ["", "   ", "1 +", "__import__('os').system('true')", "x.__class__", "lambda: 1", "[1, 2", "[[1, 2], [3]]",
           "9^9^9^9", "1e999999", "(" * 300 + "1" + ")" * 300, "x" * 6000, "[" + "1, " * 5000 + "1]",
           "exp(exp(exp(exp(1000))))", "W1 @ W1", "foo(1)", "open('f')", "[]", "1/0", "'text'", "a if b else c",
           "[x for x in y]", "{1: 2}", "x; y", "sqrt(-1)", "W1 + 1", "df1(W1)"]


@pytest.mark.parametrize("problem_id", ["hw1/problem2", "hw3/problem1", "a1/problem1"])
def test_hostile_answers_are_invalid_with_a_reason_in_bounded_time(problem_id):
    g = grader(problem_id)
    name = g.gradable()[-1]
    for text in HOSTILE:
        start = time.perf_counter()
        verdict = g.grade(name, text)
        assert verdict.status in ("invalid", "incorrect"), (text, verdict)
        assert verdict.message and time.perf_counter() - start < 3, text
    assert g.grade("no_such_answer", "1").status == "invalid"


def test_nesting_costs_linear_work():
    """Each operand is converted once: 40 nested sums parse at once (doubling per level took 6.5 s at 18)."""
    import time

    import sympy as sp

    from derivations.grade.parse import parse_answer

    x = sp.Symbol("x")
    start = time.process_time()
    assert parse_answer("(" * 40 + "x" + "+1)" * 40, {"x": x}) == x + 40
    assert time.process_time() - start < 5  # a hang guard, far above the milliseconds it takes


# ---------------------------------------------------------------------------------------------
# Numbers: a ratio proves nothing for one number; rounding is named; factors inside a function's
# argument are not "missing factors"; sizes are bounded.

def test_a_wrong_number_gets_no_credit_unless_a_small_factor_or_rounding_explains_it():
    g = grader("a1/problem1")
    x_min = float(g.key("x_min").arrays[0].ravel()[0])
    for wrong in ("5", "-6.5", str(x_min + 0.37)):
        verdict = g.grade("x_min", wrong)
        assert (verdict.status, verdict.tag, verdict.credit) == ("incorrect", "no-diagnosis", 0.0), wrong
    assert g.grade("x_min", f"{x_min:.5g}").tag == "rounding"
    doubled = g.grade("x_min", f"{2 * x_min:.5g}")
    assert (doubled.tag, doubled.credit) == ("constant-factor", 0.5) and "2 times" in doubled.message
    assert grader("hw3/problem2").grade("dy_dx_at_x0", "7").credit == 0.0
    for wrong in ("[7, 2, 2, -7]", "[0, 2, 3, 0]"):  # a list: its entries must all agree, not one ratio
        verdict = grader("hw1/problem4").grade("xor_relu_outputs", wrong)
        assert (verdict.tag, verdict.credit) == ("no-diagnosis", 0.0), wrong


def test_a_dropped_term_is_not_called_a_missing_factor_inside_an_argument():
    from derivations.calculus.functions import sigmoid

    verdict = grader("a1/problem1").grade("dgelu_dx", "sigmoid(1.702*x)")
    assert verdict.tag == "missing-term" and "1 - σ" in verdict.message
    key = grader("a1/problem1").key("dgelu_dx").value
    variants = list(factor_variants(key))
    assert variants and all(v.atoms(sigmoid) <= key.atoms(sigmoid) for v, _ in variants)  # σ's argument kept


@pytest.mark.parametrize("text", ["eye(100000)", "ones(10**9, 10**9)", "diag(ones(100000, 1))", "ones(K + 1, 1)",
                                  "eye(2.5)", "eye(0)"])
def test_absurd_sizes_are_invalid_at_once(text):
    start = time.perf_counter()
    verdict = grader("hw1/problem2").grade("dl_dW2", text)
    assert verdict.status == "invalid" and "from 1 to 1000" in verdict.message
    assert time.perf_counter() - start < 3


def test_the_grader_tests_catch_a_grader_that_accepts_everything_or_rejects_rewrites(monkeypatch):
    """Mutation test of the grader: broken graders must fail the generated tests above."""
    import derivations.grade.grader as grading

    GRADERS.clear()
    monkeypatch.setattr(grading, "close", lambda *args, **kwargs: True)
    with pytest.raises(AssertionError):
        test_random_wrong_answers_are_rejected("a1/problem1")
    monkeypatch.undo()
    GRADERS.clear()
    monkeypatch.setattr(grading, "close", lambda *args, **kwargs: False)
    monkeypatch.setattr(grading, "symbolically_equal", lambda *args: False)
    with pytest.raises(AssertionError):
        test_keys_and_their_rewrites_are_accepted("hw3/problem1")
    monkeypatch.undo()
    GRADERS.clear()


def test_an_answer_without_the_jacobians_the_question_asks_for_is_told_so():
    verdict = grader("hw1/problem2").grade("dl_dW2", "2*relu(W1 @ x + b1) @ (W2 @ relu(W1 @ x + b1) + b2 - y)^T")
    assert verdict.tag == "no-diagnosis" and "written with dl_dyhat, dyhat_dz3, which yours does not use" \
        in verdict.message
    assert "written with" not in grader("hw1/problem2").grade("dl_dW2", "W1 @ x @ dl_dyhat @ dyhat_dz3").message
