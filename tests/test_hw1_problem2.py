"""hw1/problem2: the backward pass in numerator layout, checked against finite differences,
against torch autograd through the CLI, and against deliberately wrong answers."""

import json
import subprocess
import sys

import numpy as np
import pytest
import sympy as sp

from conftest import require_module
from derivations.calculus.matrix_calculus import Eye
from derivations.core.registry import load
from problems.hw1 import problem2 as p2

ACTIVATIONS = [("relu", "identity"), ("sigmoid", "sigmoid"), ("identity", "sigmoid"), ("relu", "sigmoid")]
GRADIENTS = ("W1", "b1", "W2", "b2")


def solve(f="relu", g="identity"):
    return load("hw1/problem2").solve({"f": f, "g": g})


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "derivations", "solve", "hw1/problem2", *args],
                          capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("f,g", ACTIVATIONS)
def test_every_check_passes(f, g):
    results = solve(f, g).run_checks()
    assert results and all(r.passed for r in results), [(r.name, r.max_abs_error) for r in results if not r.passed]


def test_default_is_the_sheets_relu_identity_and_gradients_have_transposed_shapes():
    sol = solve()
    assert sol.parameters == {"f": "relu", "g": "identity"}
    a = sol.answer_values()
    assert a["dl_dW1"].shape == (p2.n, p2.m)      # W1 is m×n
    assert a["dl_dW2"].shape == (p2.m, p2.K)      # W2 is K×m
    assert a["dl_db1"].shape == (1, p2.m) and a["dl_db2"].shape == (1, p2.K)
    assert a["dl_dW1"] == p2.x * p2.dl_dyhat * p2.dyhat_dz3 * p2.W2 * p2.dz2_dz1
    assert a["dyhat_dz3"] == Eye(p2.K)
    assert any("transpose" in s for s in sol.assumptions) and any("H(0) = 0" in s for s in sol.assumptions)


def _torch_reference(torch, values, f, g):
    act = {"relu": torch.relu, "sigmoid": torch.sigmoid, "identity": lambda t: t}
    t = {k: torch.tensor(v, dtype=torch.float64, requires_grad=k in GRADIENTS) for k, v in values.items()}
    z1 = t["W1"] @ t["x"] + t["b1"]
    yhat = act[g](t["W2"] @ act[f](z1) + t["b2"])
    loss = ((yhat - t["y"]) ** 2).sum()
    loss.backward()
    return {k: t[k].grad.numpy().T for k in GRADIENTS}, float(loss.detach()), yhat.detach().numpy()


@pytest.mark.parametrize("f,g", [("relu", "identity"), ("sigmoid", "sigmoid")])
@pytest.mark.parametrize("dims,seed", [((3, 4, 2), 11), ((5, 3, 4), 12)])
def test_gradients_from_the_cli_match_torch_autograd(f, g, dims, seed):
    torch = require_module("torch")
    values = p2.random_values(dims, seed)
    proc = run_cli("--set", f"f={f}", "--set", f"g={g}", "--format", "json",
                   "--values", json.dumps({k: v.tolist() for k, v in values.items()}))
    assert proc.returncode == 0, proc.stderr
    got = {a["name"]: a["value"] for a in json.loads(proc.stdout)["answers"]}
    grads, loss, yhat = _torch_reference(torch, values, f, g)
    for name in GRADIENTS:  # numerator layout: the transpose of torch's .grad
        assert np.asarray(got[f"dl_d{name}"]).shape == grads[name].shape
        np.testing.assert_allclose(got[f"dl_d{name}"], grads[name], rtol=0, atol=1e-9)
    np.testing.assert_allclose(got["loss"], [[loss]], rtol=0, atol=1e-9)
    np.testing.assert_allclose(got["yhat"], yhat, rtol=0, atol=1e-9)


def _mutations():
    x, y, W1, b1, W2, b2 = p2.x, p2.y, p2.W1, p2.b1, p2.W2, p2.b2
    Jl, Jg, Jf = p2.dl_dyhat, p2.dyhat_dz3, p2.dz2_dz1
    z1 = W1 * x + b1
    return {
        "dl_dW1": [lambda a: a.T, lambda a: x * Jl * Jg * W2, lambda a: Jf * W2.T * Jg.T * Jl.T * x.T],
        "dl_db1": [lambda a: a.T, lambda a: Jl * Jg * Jf],
        "dl_dW2": [lambda a: a.T, lambda a: z1 * Jl * Jg, lambda a: Jl * Jg * p2.Elementwise(p2.relu, z1)],
        "dl_db2": [lambda a: a.T, lambda a: 2 * a],
        "dz2_dz1": [lambda a: Eye(p2.m), lambda a: Eye(p2.m) - a],
        "dyhat_dz3": [lambda a: 2 * a],
        "dl_dyhat": [lambda a: a / 2, lambda a: a.T, lambda a: -a],
        "z2": [lambda a: z1],
        "z3": [lambda a: W2 * z1 + b2],
        "yhat": [lambda a: a - b2],
        "loss": [lambda a: a / p2.K],
    }


@pytest.mark.parametrize("name,index", [(k, i) for k, ms in _mutations().items() for i in range(len(ms))])
def test_checks_fail_for_a_mutated_answer(name, index):
    sol = solve()
    answers = sol.answer_values()
    mutated = {**answers, name: _mutations()[name][index](answers[name])}
    failed = [c.run(mutated) for c in sol.checks]
    failed = [r.name for r in failed if not r.passed]
    assert failed, f"no check caught the mutation {index} of {name}"
    assert all(c.run(answers).passed for c in sol.checks)


def test_mutating_each_gradient_answer_fails_its_own_check():
    sol = solve()
    answers = sol.answer_values()
    for name in GRADIENTS:
        wrong = {**answers, f"dl_d{name}": answers[f"dl_d{name}"].T}
        own = [c for c in sol.checks if c.name.startswith(f"dl_d{name} ")]
        assert len(own) == 1 and not own[0].run(wrong).passed


VALID = {"x": [[1], [2], [-1]], "W1": [[1, 0, 1], [0.5, -1, 2], [1, 1, 1], [-2, 0.3, 1]],
         "b1": [[0.1], [0.2], [-0.3], [0.4]], "W2": [[1, 2, 3, 4], [0, -1, 0.5, 2]], "b2": [[1], [2]],
         "y": [[0.5], [-1]]}


@pytest.mark.parametrize("values,message", [
    ('{"x": [[1], [2]', "not valid JSON"),
    (json.dumps({k: v for k, v in VALID.items() if k != "W2"}), "missing W2"),
    (json.dumps({**VALID, "x": [[1, 2, -1]]}), ("x ", "(1, 3)")),
    (json.dumps({**VALID, "b1": [[1], [2]]}), ("b1 ", "(2, 1)")),
])
def test_bad_values_exit_2_with_one_line(values, message):
    proc = run_cli("--values", values, "--format", "json")
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    fragments = (message,) if isinstance(message, str) else message  # the name and the shape it was given
    assert len(lines) == 1 and lines[0].startswith("derivations: error:")
    assert all(fragment in lines[0] for fragment in fragments), lines[0]


def test_values_evaluate_the_jacobians_of_part_d():
    proc = run_cli("--values", json.dumps(VALID), "--format", "json")
    assert proc.returncode == 0, proc.stderr
    got = {a["name"]: a["value"] for a in json.loads(proc.stdout)["answers"]}
    z1 = np.array(VALID["W1"]) @ np.array(VALID["x"]) + np.array(VALID["b1"])
    assert got["dz2_dz1"] == np.diag((z1.ravel() > 0).astype(float)).tolist()
    assert got["dyhat_dz3"] == np.eye(2).tolist()
    yhat = np.array(VALID["W2"]) @ np.maximum(z1, 0) + np.array(VALID["b2"])
    np.testing.assert_allclose(got["dl_dyhat"], 2 * (yhat - np.array(VALID["y"])).T, atol=1e-12)


def test_flat_vectors_read_as_columns_give_the_same_numbers():
    flat = {k: np.ravel(v).tolist() if k in ("x", "b1", "b2", "y") else v for k, v in VALID.items()}
    answers = [{a["name"]: a["value"] for a in json.loads(run_cli("--values", json.dumps(v), "--format", "json")
                                                           .stdout)["answers"]} for v in (VALID, flat)]
    assert answers[0] == answers[1] and answers[0]["dl_dW1"] is not None


def test_renders_transposes_and_the_partials():
    proc = run_cli()
    assert proc.returncode == 0, proc.stderr
    line = next(ln for ln in proc.stdout.splitlines() if ln.strip().startswith("∂ℓ/∂W₁ ="))
    assert line.strip().startswith("∂ℓ/∂W₁ = x⋅∂ℓ/∂") and line.endswith("⋅W₂⋅∂z₂/∂z₁")
    assert "diag(H(W₁⋅x + b₁))" in proc.stdout
    assert "(∂L/∂θ)" in proc.stdout
    latex = {a["name"]: a["latex"] for a in json.loads(run_cli("--format", "json").stdout)["answers"]}
    assert r"\left(\frac{\partial L}{\partial \theta}\right)^{T}" in latex["a5_step"]
    assert latex["dl_dW2"].startswith(r"\frac{\partial \ell}{\partial W_{2}} = \operatorname{ReLU}")


# --- part (a) on a batch, zero_grad said correctly, entrywise products, no dangling colon -----

def test_zero_grad_clears_the_gradient_buffer_and_claims_no_zero_derivative():
    a = {answer.name: answer for answer in solve().answers}
    zero = a["a1_zero_grad"]
    assert zero.symbol == a["a4_backward"].symbol == sp.MatrixSymbol("θ_grad", *zero.symbol.shape)
    assert zero.value == 0 and "None" in zero.text and "changes no derivative" in zero.text
    assert "∂ℓ/∂θ" not in str(zero.symbol)


def test_part_a_states_the_batch_loss_as_a_mean_and_the_gradient_as_the_batch_average():
    sol = solve()
    a = {answer.name: answer for answer in sol.answers}
    loss = a["a3_loss"].value
    assert loss.subs(p2.B, 2).doit() == (p2.ell_s[1] + p2.ell_s[2]) / 2
    assert "batch average" in a["a4_backward"].text
    assert a["a4_backward"].value == p2.partial_matrix("L", "θ", *reversed(a["a4_backward"].symbol.shape)).T
    assert any("reduction='mean'" in s and "1/K" in s and "/ B" in s for s in sol.assumptions)
    assert not any("batch is one data point" in s for s in sol.assumptions)
    # the checks read the batch: the sum instead of the mean, or a per-pair loss, is caught
    wrong = {**sol.answer_values(), "a3_loss": loss * p2.B}
    assert not all(c.run(wrong).passed for c in sol.checks if c.name.startswith("a3_loss"))


def test_the_pytorch_reading_of_the_batch_loss():
    torch = require_module("torch")
    rng = np.random.default_rng(4)
    yhat, y = rng.normal(size=(5, 3)), rng.normal(size=(5, 3))           # B = 5 pairs as rows, K = 3
    mean_of_pairs = np.mean(np.sum((yhat - y) ** 2, axis=1))              # L of part (a)
    t_yhat, t_y = torch.tensor(yhat), torch.tensor(y)
    assert float(torch.nn.MSELoss(reduction="sum")(t_yhat, t_y)) / 5 == pytest.approx(mean_of_pairs, rel=1e-14)
    assert float(torch.nn.MSELoss()(t_yhat, t_y)) == pytest.approx(mean_of_pairs / 3, rel=1e-14)  # L/K


def test_entrywise_products_are_hadamard_products():
    from derivations.calculus.printing import inline

    a = solve("sigmoid", "sigmoid").answer_values()
    for name in ("dz2_dz1", "dyhat_dz3"):
        assert a[name].atoms(sp.HadamardProduct), a[name]
        assert "⊙" in inline(a[name])
    assert "⊙" in inline(a["dz2_dz1"]) and "σ(W₁·x + b₁) ⊙ (-σ(W₁·x + b₁) + 1)" in inline(a["dz2_dz1"])


def test_no_step_ends_on_a_colon_without_an_equation():
    for f, g in ACTIVATIONS:
        for step in solve(f, g).steps:
            if step.text.rstrip().endswith(":"):
                assert step.lhs is not None or step.rhs is not None, step.text


def test_values_names_are_listed_in_the_assumptions():
    sol = solve()
    listed = next(s for s in sol.assumptions if s.startswith("--values names:"))
    assert all(name in listed for name in sol.inputs)
