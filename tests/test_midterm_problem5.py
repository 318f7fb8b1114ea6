"""midterm/problem5: weight-normalisation gradients through --values against torch autograd and
plain NumPy, the checks against deliberately wrong answers, and the batch-norm demonstration."""

import json

import numpy as np
import pytest
import sympy as sp

from conftest import require_module
from derivations.calculus.matrix_calculus import Eye, Norm, divide
from derivations.calculus.oracles import Identity
from derivations.calculus.rules import reciprocal
from derivations.cli import main
from derivations.core import registry
from helpers import Run, assert_user_error, cli
from problems.midterm import problem5 as p5


def solve(**settings):
    return registry.load("midterm/problem5").solve(settings)


@pytest.fixture(scope="module")
def solution():
    return solve()


@pytest.fixture
def run(capsys):
    """The CLI in this process (no interpreter start-up per call)."""
    def invoke(*args):
        code = main(["solve", "midterm/problem5", *args])
        out, err = capsys.readouterr()
        return Run(code, out, err)
    return invoke


def random_inputs(size, seed):
    rng = np.random.default_rng(seed)
    return {"v": rng.standard_normal(size), "g": float(rng.uniform(-2, 2)), "dL_dw": rng.standard_normal(size)}


def numpy_reference(v, g, upstream):
    """∂L/∂g and ∂L/∂v (rows) from the projection formula, written directly in NumPy."""
    norm = np.linalg.norm(v)
    unit = v / norm
    return upstream @ unit, g / norm * (upstream - (upstream @ unit) * unit)


def torch_reference(v, g, upstream):
    """The same two gradients by autograd through w = g·v/‖v‖ with L = ∂L/∂w · w."""
    torch = require_module("torch")
    v_t = torch.tensor(v, dtype=torch.float64, requires_grad=True)
    g_t = torch.tensor(g, dtype=torch.float64, requires_grad=True)
    w = g_t * v_t / v_t.norm()
    (torch.tensor(upstream, dtype=torch.float64) * w).sum().backward()
    return g_t.grad.item(), v_t.grad.numpy()


def values_answers(run, inputs):
    result = run("--format", "json", "--values", json.dumps({k: np.asarray(x).tolist() for k, x in inputs.items()}))
    assert result.code == 0, result.err
    return {a["name"]: a["value"] for a in json.loads(result.out)["answers"]}


def test_all_checks_pass_at_the_defaults(solution):
    results = solution.run_checks()
    assert results and all(r.passed for r in results), [r.name for r in results if not r.passed]


@pytest.mark.parametrize("settings", [{"seed": 1}, {"seed": 7}, {"rho": 0}, {"rho": sp.Rational(-1, 4)}])
def test_checks_pass_for_other_seeds_and_correlations(settings):
    assert all(r.passed for r in solve(**settings).run_checks())


@pytest.mark.parametrize("size,seed", [(1, 0), (2, 1), (3, 2), (5, 3), (8, 4)])
def test_values_match_torch_autograd_and_numpy(run, size, seed):
    inputs = random_inputs(size, seed)
    got = values_answers(run, inputs)
    d_g, d_v = np.asarray(got["dL_dg"]), np.asarray(got["dL_dv"])
    assert d_g.shape == (1, 1) and d_v.shape == (1, size)       # numerator layout: ∂L/∂v is a row
    torch_g, torch_v = torch_reference(inputs["v"], inputs["g"], inputs["dL_dw"])
    numpy_g, numpy_v = numpy_reference(inputs["v"], inputs["g"], inputs["dL_dw"])
    for ref_g, ref_v in ((torch_g, torch_v), (numpy_g, numpy_v)):
        np.testing.assert_allclose(d_g[0, 0], ref_g, rtol=0, atol=1e-9)
        np.testing.assert_allclose(d_v[0], ref_v, rtol=0, atol=1e-9)


def test_worked_values_by_hand(run):
    # v = (1, 2, 2), ‖v‖ = 3, g = 3, ∂L/∂w = (1, 0, −1): ∂L/∂g = (1 − 2)/3; ∂L/∂v = ∂L/∂w + (1/3)·v/3.
    got = values_answers(run, {"v": [1, 2, 2], "g": 3, "dL_dw": [1, 0, -1]})
    np.testing.assert_allclose(got["dL_dg"], [[-1 / 3]], rtol=0, atol=1e-15)
    np.testing.assert_allclose(got["dL_dv"], [[10 / 9, 2 / 9, -7 / 9]], rtol=0, atol=1e-15)


@pytest.mark.parametrize("size", [2, 6])
def test_gradient_with_respect_to_v_is_orthogonal_to_v(run, size):
    inputs = random_inputs(size, 10 + size)
    d_v = np.asarray(values_answers(run, inputs)["dL_dv"])
    assert abs((d_v @ inputs["v"]).item()) < 1e-12
    assert np.linalg.norm(d_v) > 1e-3                          # not orthogonal by being 0


def test_a_real_subprocess_gives_the_same_numbers():
    inputs = random_inputs(4, 99)
    result = cli("solve", "midterm/problem5", "--format", "json",
                 "--values", json.dumps({k: np.asarray(x).tolist() for k, x in inputs.items()}))
    assert result.code == 0, result.err
    got = {a["name"]: a["value"] for a in json.loads(result.out)["answers"]}
    np.testing.assert_allclose(got["dL_dv"][0], numpy_reference(inputs["v"], inputs["g"], inputs["dL_dw"])[1],
                               rtol=0, atol=1e-9)


def test_formula_answers_are_the_projection_and_the_unit_vector(solution):
    answers = solution.answer_values()
    u = divide(p5.v, Norm(p5.v))
    for expected, name in ((p5.g * reciprocal(Norm(p5.v)) * p5.dL_dw * (Eye(p5.n) - u * u.T), "dL_dv"),
                           (p5.dL_dw * u, "dL_dg")):
        assert Identity(of=expected, sizes={p5.n: 4}, tolerance=1e-12).error(answers[name]) < 1e-12
    assert answers["dL_dg"].shape == (1, 1) and answers["dL_dv"].shape == (1, p5.n)
    assert answers["orthogonal"] == 0


def _failed(solution, name, value):
    answers = {**solution.answer_values(), name: value}
    return [c.name for c in solution.checks if c.name.startswith(f"{name} ") and not c.run(answers).passed]


@pytest.mark.parametrize("wrong", [
    lambda: p5.g * reciprocal(Norm(p5.v)) * p5.dL_dw,                                  # projection missing
    lambda: p5.g * reciprocal(Norm(p5.v)) * p5.dL_dw * (Eye(p5.n) + p5.v * p5.v.T * reciprocal(Norm(p5.v)) ** 2),
    lambda: p5.dL_dw * (Eye(p5.n) - p5.v * p5.v.T * reciprocal(Norm(p5.v)) ** 2),         # g/‖v‖ missing
    lambda: (p5.g * reciprocal(Norm(p5.v)) * p5.dL_dw).T,                                # a column, not a row
])
def test_wrong_dL_dv_is_caught_by_its_check(solution, wrong):
    assert _failed(solution, "dL_dv", wrong())


@pytest.mark.parametrize("wrong", [lambda: p5.dL_dw * p5.v, lambda: p5.g * reciprocal(Norm(p5.v)) * p5.dL_dw * p5.v])
def test_wrong_dL_dg_is_caught_by_its_check(solution, wrong):
    assert _failed(solution, "dL_dg", wrong())


def test_a_nonzero_component_along_v_is_caught(solution):
    assert _failed(solution, "orthogonal", sp.Rational(1, 100))


def test_batch_norm_equals_weight_norm_only_for_whitened_inputs(solution):
    weight_norm = solution.answer_values()["bn_is_weight_norm"]
    whitened = p5.Exact(statistic=p5._batch_norm_exact)
    correlated = p5.Exact(statistic=p5._batch_norm_exact, whitened=False, correlated=True)
    assert whitened.error(weight_norm) < 1e-12
    assert correlated.error(weight_norm) > 1e-2


def test_exact_laws_are_zero_mean_unit_variance():
    for law in p5.LAWS:
        assert sum(law.values()) == 1
        assert sum(p * x for x, p in law.items()) == 0
        assert sum(p * x * x for x, p in law.items()) == 1


def test_demo_gaps_shrink_like_one_over_root_b_and_the_correlated_gap_levels_off(solution):
    answers = solution.answer_values()
    rows = np.array(answers["bn_gaps"].tolist(), dtype=float)
    assert list(rows[:, 0]) == list(p5.BATCH_SIZES)
    white, corr = rows[:, 1], rows[:, 2]
    assert np.all(np.diff(white) < 0)
    assert white[-1] < white[0] / 10
    assert abs(float(answers["gap_exponent"]) + 0.5) < p5.EXPONENT_BAND
    limit = float(answers["correlated_gap_limit"])
    assert limit > 0.05 and abs(corr[-1] - limit) < 0.1 * limit      # levels off near its limit, not 0


def test_demo_gaps_agree_with_torch_batch_norm(solution):
    torch = require_module("torch")
    demo = p5._demo(0, 0.5)
    rows = solution.answer_values()["bn_gaps"].tolist()
    for row, (size, pair) in zip(rows, demo["batches"].items()):
        for column, s_ in zip(row[1:], pair):
            t = torch.tensor(s_, dtype=torch.float64)
            gain = torch.full((t.shape[1],), demo["g"], dtype=torch.float64)
            # torch refuses ε = 0 in training; 1e-300 vanishes next to any variance here
            out = torch.nn.functional.batch_norm(t, None, None, weight=gain, training=True, eps=1e-300).numpy()
            gap = np.sqrt(np.mean((out - demo["g"] * s_ / np.linalg.norm(demo["v"])) ** 2))
            assert abs(float(column) - gap) < 1e-12


@pytest.mark.parametrize("values,message", [
    ({"v": [1, 2], "g": 1, "dL_dw": [1, 2, 3]}, "dL_dw has shape (1, 3), which does not fit"),
    ({"v": [0, 0, 0], "g": 1, "dL_dw": [1, 2, 3]}, "v must not be the zero vector"),
    ({"v": [1, 2, 3], "g": [1, 2], "dL_dw": [1, 2, 3]}, "g must be a number"),
    ({"v": [1, 2, 3], "g": 1}, "--values is missing dL_dw"),
    ({"v": [[1, 2], [3, 4]], "g": 1, "dL_dw": [1, 2]}, "v has shape (2, 2)"),
])
def test_bad_values_exit_2_with_one_line(run, values, message):
    assert_user_error(run("--values", json.dumps(values)), message)


def test_rho_outside_the_positive_definite_range_is_refused(run):
    assert_user_error(run("--set", "rho=1"), "rho must lie strictly between")
