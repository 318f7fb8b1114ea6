"""hw1/problem3: hw1/problem2 re-solved with sigmoids and with ReLU/σ, checked against torch
autograd through the CLI and against wrong Jacobians; the depth demonstration's numbers against
the complex step and torch, and the bound behind them."""

import json
import unicodedata

import numpy as np
import pytest

from conftest import require_module
from derivations.calculus.functions import relu, sigmoid
from derivations.calculus.matrix_calculus import Diag, Elementwise, Eye
from derivations.core.registry import load
from helpers import assert_user_error, cli_in_process
from derivations.problems.hw1 import problem2 as p2
from derivations.problems.hw1 import problem3 as p3

PAIRS = {"a": ("sigmoid", "sigmoid"), "b": ("relu", "sigmoid")}
GRADIENTS = ("W1", "b1", "W2", "b2")


@pytest.fixture(scope="module")
def solution():
    return load("hw1/problem3").solve()


def test_every_check_passes(solution):
    results = solution.run_checks()
    assert results and all(r.passed for r in results), [(r.name, r.max_abs_error) for r in results if not r.passed]


def test_every_check_passes_for_another_depth_demonstration():
    results = load("hw1/problem3").solve({"depth": 6, "width": 8, "seed": 3}).run_checks()
    assert all(r.passed for r in results), [r.name for r in results if not r.passed]


def test_answers_are_hw1_problem2s_with_the_activations_set(solution):
    """Reuse, not a copy: the Jacobians are hw1/problem2's own answers for f, g."""
    a = solution.answer_values()
    for part, (f, g) in PAIRS.items():
        theirs = load("hw1/problem2").solve({"f": f, "g": g}).answer_values()
        for name in ("dz2_dz1", "dyhat_dz3"):  # equal up to the bound variable of each fresh Lambda
            assert a[f"{part}_{name}"].dummy_eq(theirs[name])
        assert a[f"{part}_dl_dW1"].dummy_eq(theirs["dl_dW1"].xreplace(
            {p2.dl_dyhat: theirs["dl_dyhat"], p2.dyhat_dz3: theirs["dyhat_dz3"], p2.dz2_dz1: theirs["dz2_dz1"]}))
    assert a["a_yhat"].dummy_eq(load("hw1/problem2").solve({"f": "sigmoid", "g": "sigmoid"}).answer_values()["yhat"])


def test_part_a_names_what_changed_and_what_did_not(solution):
    text = next(a.text for a in solution.answers if a.name == "a_changes")
    assert "z₂ = σ(z₁) (was ReLU(z₁))" in text and "ŷ = σ(z₃) (was z₃)" in text
    assert "(was diag(H(z₁)))" in text and "(was I_K)" in text
    # ∂ℓ/∂ŷ = 2(ŷ − y)ᵀ for both nets, although the sheet's, expanded, reads 2(W2·z2 + b2 − y)ᵀ
    assert "unchanged ∂ℓ/∂ŷ = 2·(-y + ŷ)ᵀ" in text
    assert "unchanged ∂ℓ/∂W₁ = x·∂ℓ/∂ŷ·∂ŷ/∂z₃·W₂·∂z₂/∂z₁" in text


def _torch_reference(torch, values, f, g):
    act = {"relu": torch.relu, "sigmoid": torch.sigmoid}
    t = {k: torch.tensor(v, dtype=torch.float64, requires_grad=k in GRADIENTS) for k, v in values.items()}
    yhat = act[g](t["W2"] @ act[f](t["W1"] @ t["x"] + t["b1"]) + t["b2"])
    loss = ((yhat - t["y"]) ** 2).sum()
    loss.backward()
    return {k: t[k].grad.numpy().T for k in GRADIENTS}, float(loss.detach()), yhat.detach().numpy()


@pytest.mark.parametrize("dims,seed", [((3, 4, 2), 11), ((5, 3, 4), 12)])
def test_gradients_from_the_cli_match_torch_autograd_for_both_pairs(capsys, dims, seed):
    torch = require_module("torch")
    values = p2.random_values(dims, seed)
    run = cli_in_process(capsys, "solve", "hw1/problem3", "--format", "json",
                         "--values", json.dumps({k: v.tolist() for k, v in values.items()}))
    assert run.code == 0, run.err
    got = {a["name"]: a["value"] for a in json.loads(run.out)["answers"]}
    for part, (f, g) in PAIRS.items():
        grads, loss, yhat = _torch_reference(torch, values, f, g)
        for name in GRADIENTS:  # numerator layout: the transpose of torch's .grad
            assert np.asarray(got[f"{part}_dl_d{name}"]).shape == grads[name].shape
            np.testing.assert_allclose(got[f"{part}_dl_d{name}"], grads[name], rtol=0, atol=1e-9)
    grads, loss, yhat = _torch_reference(torch, values, "sigmoid", "sigmoid")
    np.testing.assert_allclose(got["a_loss"], [[loss]], rtol=0, atol=1e-9)
    np.testing.assert_allclose(got["a_yhat"], yhat, rtol=0, atol=1e-9)


def _without_sigma_prime(answers):
    """Answers that lost σ′ = σ(1 − σ): σ itself in a Jacobian, or an identity where σ′'s diagonal
    belongs (the sheet's g, or a forgotten hidden factor)."""
    z1 = p2.W1 * p2.x + p2.b1
    return {
        "a_dz2_dz1": Diag(Elementwise(sigmoid, z1)),
        "a_dyhat_dz3": Eye(p2.K),
        "b_dyhat_dz3": Diag(Elementwise(sigmoid, p2.W2 * Elementwise(relu, z1) + p2.b2)),
        "a_dl_dW1": answers["a_dl_dW1"].xreplace({answers["a_dz2_dz1"]: Eye(p2.m)}),
        "a_dl_db2": answers["a_dl_db2"].xreplace({answers["a_dyhat_dz3"]: Eye(p2.K)}),
    }


@pytest.mark.parametrize("name", ["a_dz2_dz1", "a_dyhat_dz3", "b_dyhat_dz3", "a_dl_dW1", "a_dl_db2"])
def test_an_answer_without_its_sigma_prime_factor_is_caught(solution, name):
    answers = solution.answer_values()
    wrong = _without_sigma_prime(answers)[name]
    assert wrong != answers[name]
    own = [c for c in solution.checks if c.name.startswith(f"{name} vs ")]
    assert len(own) == 1 and not own[0].run({**answers, name: wrong}).passed
    assert own[0].run(answers).passed


def test_a_wrong_jacobian_step_is_caught(solution):
    step = next(s for s in solution.steps if s.lhs == p2.dz2_dz1 and "was" in s.text)
    check = next(c for c in solution.step_checks() if "∂z₂/∂z₁" in c.name and "sigmoid, g = sigmoid" in c.name)
    assert check.run({}).passed
    original, step.rhs = step.rhs, Diag(Elementwise(sigmoid, p2.z1))
    try:
        assert not check.run({}).passed
    finally:
        step.rhs = original


# --------------------------------------------------------------------------------------------
# The depth demonstration.

def _torch_norms(torch, f, depth, width, seed):
    """‖∂ℓ/∂W_k‖ and ‖∂ℓ/∂b_k‖ of the same nets by torch autograd, with the backend's weights."""
    x, linears, _ = p3.deep_net(f, depth, width, seed)
    act = {"sigmoid": torch.sigmoid, "relu": torch.relu}[f]
    params = [(torch.tensor(lin.W.data, requires_grad=True), torch.tensor(lin.b.data, requires_grad=True))
              for lin in linears]
    h = torch.tensor(x[0])
    for W, b in params[:-1]:
        h = act(W @ h + b)
    out = torch.sigmoid(params[-1][0] @ h + params[-1][1])
    ((out - torch.tensor(p3.TARGET[0])) ** 2).sum().backward()
    return ([float(W.grad.norm()) for W, _ in params[:-1]], [float(b.grad.norm()) for _, b in params[:-1]],
            [W.detach().numpy() for W, _ in params])


@pytest.mark.parametrize("f", ["sigmoid", "relu"])
@pytest.mark.parametrize("depth,width,seed", [(20, 32, 0), (7, 5, 4)])
def test_depth_norms_agree_with_the_complex_step_and_torch(f, depth, width, seed):
    torch = require_module("torch")
    backend = np.array(p3.backend_norms(f, depth, width, seed))
    assert backend.shape == (depth,) and np.all(backend > 0)
    np.testing.assert_allclose(np.log(p3.complex_step_norms(f, depth, width, seed)), np.log(backend),
                               rtol=0, atol=p3.RELATIVE_TOLERANCE)
    np.testing.assert_allclose(_torch_norms(torch, f, depth, width, seed)[0], backend, rtol=1e-12, atol=0)


def test_depth_answers_are_the_backends_numbers(solution):
    a, p = solution.answer_values(), solution.parameters
    for f in ("sigmoid", "relu"):
        norms = p3.backend_norms(f, p["depth"], p["width"], p["seed"])
        assert a[f"depth_norms_{f}"] == norms
        assert a[f"depth_ratio_{f}"] == norms[0] / norms[-1]
        assert a[f"depth_factor_{f}"] == pytest.approx((norms[0] / norms[-1]) ** (1 / (p["depth"] - 1)), rel=1e-15)


def test_sigmoid_gradients_vanish_with_depth_and_relu_gradients_do_not(solution):
    a, depth = solution.answer_values(), solution.parameters["depth"]
    assert a["depth_factor_sigmoid"] < 0.3 and a["depth_ratio_sigmoid"] < 0.3 ** (depth - 1)
    assert 0.1 < a["depth_ratio_relu"] < 10 and 0.8 < a["depth_factor_relu"] < 1.25
    assert np.all(np.diff(np.log(a["depth_norms_sigmoid"])) > 0)  # smaller at every layer further down


def test_each_sigmoid_layer_shrinks_the_gradient_by_at_most_a_quarter_of_the_weight_gain():
    """The bound behind the demonstration: ∂ℓ/∂z_k = diag(σ′(z_k))·W_{k+1}ᵀ·∂ℓ/∂z_{k+1} and
    σ′ ≤ 1/4, so ‖∂ℓ/∂b_k‖ ≤ ‖W_{k+1}‖₂/4 · ‖∂ℓ/∂b_{k+1}‖ (torch's gradients)."""
    torch = require_module("torch")
    _, bias_norms, weights = _torch_norms(torch, "sigmoid", 20, 32, 0)
    for k in range(len(bias_norms) - 1):
        assert bias_norms[k] <= np.linalg.norm(weights[k + 1], 2) / 4 * bias_norms[k + 1]


def test_depth_and_width_are_bounded(capsys):
    assert_user_error(cli_in_process(capsys, "solve", "hw1/problem3", "--set", "depth=1"), "depth")
    assert_user_error(cli_in_process(capsys, "solve", "hw1/problem3", "--set", "width=65"), "width")


def test_renders_the_changes_and_the_depth_numbers(capsys):
    run = cli_in_process(capsys, "solve", "hw1/problem3")
    assert run.code == 0, run.err
    out = unicodedata.normalize("NFC", run.out)  # the renderer writes ŷ as y + U+0302
    assert "z₂ was ReLU(z₁); now" in out and "∂ŷ/∂z₃ was I_K; now" in out
    assert "G_σ = [" in out and "ρ_ReLU = " in out
    latex = {a["name"]: a["latex"] for a in json.loads(cli_in_process(capsys, "solve", "hw1/problem3", "--format",
                                                                       "json").out)["answers"]}
    assert latex["depth_norms_sigmoid"].startswith(r"G_{\sigma} = ")
    assert latex["depth_ratio_relu"].startswith("r_{ReLU} = ")
