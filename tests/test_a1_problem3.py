"""a1/problem3: the row-vector sigmoid/softmax classifier's gradients at --values against a NumPy
backward pass and torch autograd (labels summing to one or not), wrong answers being caught, and
bad --values being one-line errors."""

import json

import numpy as np
import pytest
import sympy as sp

from conftest import require_module
from derivations.calculus.functions import sigmoid
from derivations.calculus.matrix_calculus import Elementwise
from derivations.core import registry
from helpers import assert_user_error, cli, cli_in_process
from problems.a1 import problem3 as p3

VARIABLES = ("x", "W1", "b1", "W2", "b2")


def solve(**settings):
    return registry.load("a1/problem3").solve(settings)


def random_inputs(seed, n, m, k, labels):
    """Row-vector inputs as flat lists; ``labels`` picks targets with Σy ≠ 1 ("weights",
    "multi-label") or Σy = 1 ("one-hot", "smoothed")."""
    rng = np.random.default_rng(seed)
    values = {"x": rng.normal(size=n), "W1": rng.normal(size=(n, m)), "b1": rng.normal(size=m),
              "W2": rng.normal(size=(m, k)), "b2": rng.normal(size=k)}
    hot = np.eye(k)[rng.integers(k)]
    values["y"] = {"weights": rng.uniform(0.2, 2.0, size=k), "multi-label": hot + np.roll(hot, 1),
                   "one-hot": hot, "smoothed": 0.8 * hot + 0.2 / k}[labels]
    return values


def numpy_gradients(values):
    """Backprop by hand in float64 NumPy, each gradient shaped like its variable (rows)."""
    x, W1, W2 = np.reshape(values["x"], (1, -1)), np.asarray(values["W1"]), np.asarray(values["W2"])
    y = np.reshape(values["y"], (1, -1))
    a = 1.0 / (1.0 + np.exp(-(x @ W1 + np.reshape(values["b1"], (1, -1)))))
    f2 = a @ W2 + np.reshape(values["b2"], (1, -1))
    o = np.exp(f2 - f2.max()) / np.exp(f2 - f2.max()).sum()
    delta2 = y.sum() * o - y
    delta1 = (delta2 @ W2.T) * a * (1.0 - a)
    return {"f2": delta2, "W2": a.T @ delta2, "b2": delta2, "W1": x.T @ delta1, "b1": delta1, "x": delta1 @ W1.T}


def torch_gradients(torch, values):
    """PyTorch's .grad in float64, with E = cross_entropy(f2, y, reduction='sum') (probability targets)."""
    t = {k: torch.tensor(np.asarray(values[k], dtype=float), dtype=torch.float64, requires_grad=True)
         for k in VARIABLES}
    x, b1, b2 = t["x"].reshape(1, -1), t["b1"].reshape(1, -1), t["b2"].reshape(1, -1)
    y = torch.tensor(np.asarray(values["y"], dtype=float), dtype=torch.float64).reshape(1, -1)
    f2 = torch.sigmoid(x @ t["W1"] + b1) @ t["W2"] + b2
    f2.retain_grad()
    torch.nn.functional.cross_entropy(f2, y, reduction="sum").backward()
    grads = {k: t[k].grad.numpy().reshape(1, -1) if k in ("x", "b1", "b2") else t[k].grad.numpy() for k in t}
    return {**grads, "f2": f2.grad.numpy(), "o": torch.softmax(f2, dim=1).detach().numpy()}


def cli_answers(capsys, values):
    run = cli_in_process(capsys, "solve", "a1/problem3", "--format", "json", "--values", json.dumps(values))
    assert run.code == 0, run.err
    return {a["name"]: a["value"] for a in json.loads(run.out)["answers"]}


def as_json(values, nested):
    """Lists for JSON: row vectors flat, or as 1×k nested lists when ``nested``."""
    return {k: (np.reshape(v, (1, -1)) if nested and np.ndim(v) == 1 else np.asarray(v)).tolist()
            for k, v in values.items()}


# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("seed", [0, 3, 11])
def test_every_check_passes(seed):
    results = solve(seed=seed).run_checks()
    assert results and all(r.passed for r in results), [r.name for r in results if not r.passed]


@pytest.mark.parametrize("labels", ["weights", "multi-label", "one-hot", "smoothed"])
@pytest.mark.parametrize("nested", [False, True])
@pytest.mark.parametrize("seed, n, m, k", [(1, 3, 5, 4), (2, 6, 2, 3), (3, 1, 4, 7)])
def test_values_match_numpy_and_torch_autograd(capsys, labels, nested, seed, n, m, k):
    torch = require_module("torch")
    values = random_inputs(seed, n, m, k, labels)
    got = cli_answers(capsys, as_json(values, nested))
    expected, autograd = numpy_gradients(values), torch_gradients(torch, values)
    for name in VARIABLES + ("f2",):
        # the parameter-shaped gradient is .grad; numerator layout is its transpose
        for reference in (expected[name], autograd[name]):
            np.testing.assert_allclose(got[f"grad_{name}"], reference, rtol=0, atol=1e-9)
            np.testing.assert_allclose(got[f"dE_d{name}"], reference.T, rtol=0, atol=1e-9)
    assert np.shape(got["dE_dx"]) == (n, 1) and np.shape(got["grad_x"]) == (1, n)
    assert np.shape(got["dE_dW1"]) == (m, n) and np.shape(got["grad_W1"]) == (n, m)
    assert np.shape(got["dE_dW2"]) == (k, m) and np.shape(got["grad_W2"]) == (m, k)
    total = float(np.sum(values["y"]))
    # o − y is .grad of f2 exactly when the labels sum to one, and off by (Σy − 1)·o otherwise
    np.testing.assert_allclose(np.asarray(got["grad_f2_labels_sum_to_one"]) + (total - 1.0) * autograd["o"],
                               autograd["f2"], rtol=0, atol=1e-9)
    if labels in ("weights", "multi-label"):
        assert abs(total - 1.0) > 0.1
        assert np.abs(np.asarray(got["grad_f2_labels_sum_to_one"]) - autograd["f2"]).max() > 0.05


def test_text_output_prints_every_gradient_as_numbers(capsys):
    values = as_json(random_inputs(5, 2, 3, 4, "weights"), False)
    run = cli_in_process(capsys, "solve", "a1/problem3", "--values", json.dumps(values))
    assert run.code == 0, run.err
    assert run.out.count("at the given values:") == 13     # f2 three ways, five variables two ways


def _own_check_fails(solution, name, value):
    answer = next(a for a in solution.answers if a.name == name)
    original, answer.value = answer.value, value
    own = [c.run(solution.answer_values()) for c in solution.checks if c.name.startswith(f"{name} vs")]
    answer.value = original
    return len(own) == 1 and not own[0].passed


def test_a_dropped_transpose_is_caught_by_the_answers_check():
    solution = solve()
    answers = solution.answer_values()
    for name in ("x", "W1", "b1", "W2", "b2"):
        assert _own_check_fails(solution, f"dE_d{name}", answers[f"grad_{name}"])
        assert _own_check_fails(solution, f"grad_{name}", answers[f"dE_d{name}"])
    assert _own_check_fails(solution, "dE_df2", answers["grad_f2"])


def test_a_missing_sigmoid_slope_is_caught_by_the_answers_check():
    solution = solve()
    delta2 = p3.SUM_Y * p3.o - p3.y                                # (Σy)·o − y, a row
    t = sp.Dummy("t", real=True)
    slope = Elementwise(sp.Lambda(t, sigmoid(t) * (1 - sigmoid(t))), p3.f1)
    assert not _own_check_fails(solution, "grad_b1", sp.HadamardProduct(delta2 * p3.W2.T, slope))
    for delta1 in (delta2 * p3.W2.T,                               # no σ′ at all
                   sp.HadamardProduct(delta2 * p3.W2.T, p3.a)):    # σ(f1) where σ′(f1) belongs
        assert _own_check_fails(solution, "grad_b1", delta1)
        assert _own_check_fails(solution, "grad_W1", p3.x.T * delta1)
        assert _own_check_fails(solution, "grad_x", delta1 * p3.W1.T)
        assert _own_check_fails(solution, "dE_dx", p3.W1 * delta1.T)


def test_o_minus_y_is_caught_when_the_labels_do_not_sum_to_one():
    solution = solve()
    o_minus_y = p3.o - p3.y
    assert _own_check_fails(solution, "grad_f2", o_minus_y)
    assert _own_check_fails(solution, "dE_df2", o_minus_y.T)
    assert _own_check_fails(solution, "grad_W2", p3.a.T * o_minus_y)
    assert _own_check_fails(solution, "grad_b2", o_minus_y)
    # at labels that sum to one, (Σy)·o − y is o − y: that answer's check holds it too
    assert not _own_check_fails(solution, "grad_f2_labels_sum_to_one", p3.SUM_Y * p3.o - p3.y)


def test_the_labels_of_the_checks_do_and_do_not_sum_to_one():
    weights, smoothed = p3.random_values(0)
    assert weights["y"].sum() >= 2.0
    assert smoothed["y"].sum() == pytest.approx(1.0, abs=1e-15) and (smoothed["y"] > 0).all()


def test_the_check_sizes_are_rectangular():
    assert len(set(p3.CHECK_SIZES.values())) == 3


def test_answers_are_formulas_in_the_inputs_and_forward_values():
    answers = solve().answer_values()
    allowed = set(p3.INPUTS) | set(p3.DERIVED)
    for name, value in answers.items():
        if value is not None:
            assert {s.name for s in value.atoms(sp.MatrixSymbol)} <= allowed, name
    assert {s.name for s in answers["dE_df2"].atoms(sp.MatrixSymbol)} == {"o", "y"}


VALID = {"x": [1.0, -0.5, 2.0], "W1": [[1.0, 0.0], [0.5, -1.0], [0.0, 2.0]], "b1": [0.1, 0.2],
         "W2": [[1.0, 0.0, -1.0, 0.5], [0.5, -1.0, 2.0, 0.0]], "b2": [0.0, 0.1, 0.2, 0.3], "y": [0.0, 1.0, 1.0, 0.0]}


@pytest.mark.parametrize("values, fragment", [
    ({**VALID, "W1": [[1.0, 0.0], [0.5, -1.0]]}, "W1 has shape (2, 2), which does not fit"),
    ({**VALID, "y": [0.0, 1.0, 0.0]}, "y has shape (1, 3), which does not fit"),
    ({**VALID, "x": [[1.0], [-0.5], [2.0]]}, "x has shape (3, 1), which does not fit"),
    ({**VALID, "W2": [[1.0, 0.0, -1.0, 0.5]]}, "W2 has shape (1, 4), which does not fit"),
    ({**VALID, "b1": 0.5}, "b1 must be a row vector"),
    ({k: v for k, v in VALID.items() if k != "b2"}, "--values is missing b2"),
    ({**VALID, "o": [0.25, 0.25, 0.25, 0.25]}, "gives o, but the forward values"),
    ({**VALID, "E": 1.0}, "no input 'E'"),
])
def test_bad_values_are_one_line_errors(capsys, values, fragment):
    run = cli_in_process(capsys, "solve", "a1/problem3", "--values", json.dumps(values))
    assert_user_error(run, fragment)


def test_bad_values_exit_2_from_a_real_process():
    run = cli("solve", "a1/problem3", "--format", "json", "--values", json.dumps({**VALID, "b2": [0.0, 0.1]}))
    assert_user_error(run, "b2 has shape (1, 2), which does not fit")
