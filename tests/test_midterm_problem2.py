"""midterm/problem2: the ReLU regressor's gradients at --values against plain NumPy and torch
autograd, its graph's operations, the cached set, and wrong answers and inputs being refused."""

import json

import numpy as np
import pytest
import sympy as sp

from conftest import require_module
from derivations.calculus.graph import build_graph
from derivations.calculus.matrix_calculus import Elementwise
from derivations.core import registry
from helpers import assert_user_error, cli, cli_in_process
from problems.midterm import problem2 as p2

ALLOWED_OPS = {"dot", "add", "max", "mul", "pow"}
CACHED = {"W", "x", "w2", "z", "h", "r"}


def solve(**settings):
    return registry.load("midterm/problem2").solve(settings)


def random_inputs(seed, m, n, bias):
    rng = np.random.default_rng(seed)
    values = {"x": rng.normal(size=n), "W": rng.normal(size=(m, n)), "w2": rng.normal(size=m),
              "y": float(rng.normal())}
    if bias:
        values["b"] = rng.normal(size=m)
    return values


def numpy_gradients(values, bias):
    """The gradients by hand in float64 NumPy, in parameter shape (columns for vectors)."""
    x, W, w2 = (np.asarray(values[k], dtype=float).reshape(s) for k, s in
                (("x", (-1, 1)), ("W", np.shape(values["W"])), ("w2", (-1, 1))))
    b = np.asarray(values["b"], dtype=float).reshape(-1, 1) if bias else 0.0
    z = W @ x + b
    residual = values["y"] - (w2.T @ np.maximum(z, 0.0)).item()
    delta = -2.0 * residual * w2 * (z > 0)          # ∂L/∂z as a column
    grads = {"W": delta @ x.T, "w2": -2.0 * residual * np.maximum(z, 0.0), "x": W.T @ delta}
    if bias:
        grads["b"] = delta
    return grads


def torch_gradients(torch, values, bias):
    t = {k: torch.tensor(np.asarray(v, dtype=float), dtype=torch.float64, requires_grad=True)
         for k, v in values.items()}
    x, w2 = t["x"].reshape(-1, 1), t["w2"].reshape(-1, 1)
    z = t["W"] @ x + (t["b"].reshape(-1, 1) if bias else 0.0)
    loss = (t["y"] - (w2.T @ torch.relu(z)).squeeze()) ** 2
    loss.backward()
    return {k: t[k].grad.numpy().reshape(np.shape(numpy_gradients(values, bias)[k])) for k in t if k != "y"}


def cli_answers(capsys, values, bias):
    args = ["solve", "midterm/problem2", "--format", "json", "--values", json.dumps(values)]
    run = cli_in_process(capsys, *(args + (["--set", "bias=true"] if bias else [])))
    assert run.code == 0, run.err
    return {a["name"]: a["value"] for a in json.loads(run.out)["answers"]}


def as_json(values, columns):
    """Lists for JSON; vectors flat, or as n×1 columns when ``columns``."""
    return {k: (np.reshape(v, (-1, 1)) if columns and k in ("x", "w2", "b") else np.asarray(v)).tolist()
            if k != "y" else v for k, v in values.items()}


# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("bias", [False, True])
@pytest.mark.parametrize("seed", [0, 3])
def test_every_check_passes(bias, seed):
    results = solve(bias=bias, seed=seed).run_checks()
    assert results and all(r.passed for r in results), [r.name for r in results if not r.passed]


@pytest.mark.parametrize("bias", [False, True])
@pytest.mark.parametrize("columns", [False, True])
@pytest.mark.parametrize("seed, m, n", [(1, 4, 3), (2, 2, 5), (3, 6, 1)])
def test_values_match_numpy_and_torch_autograd(capsys, bias, columns, seed, m, n):
    torch = require_module("torch")
    values = random_inputs(seed, m, n, bias)
    got = cli_answers(capsys, as_json(values, columns), bias)
    expected = numpy_gradients(values, bias)
    autograd = torch_gradients(torch, values, bias)
    for name in ("W", "w2", "x", "b") if bias else ("W", "w2", "x"):
        # numerator layout is the transpose of the parameter-shaped gradient
        np.testing.assert_allclose(got[f"dL_d{name}"], expected[name].T, rtol=0, atol=1e-9)
        np.testing.assert_allclose(got[f"dL_d{name}"], autograd[name].T, rtol=0, atol=1e-9)
        if name != "x":
            np.testing.assert_allclose(got[f"grad_{name}"], expected[name], rtol=0, atol=1e-9)
            np.testing.assert_allclose(got[f"grad_{name}"], autograd[name], rtol=0, atol=1e-9)
    assert np.shape(got["dL_dW"]) == (n, m) and np.shape(got["grad_W"]) == (m, n)
    assert np.shape(got["dL_dw2"]) == (1, m) and np.shape(got["grad_w2"]) == (m, 1)


def test_a_preactivation_of_exactly_zero_takes_relu_slope_zero_as_torch(capsys):
    torch = require_module("torch")
    values = {"x": [1.0, -2.0, 0.5], "W": [[2.0, 1.0, 0.0], [1.0, -1.0, 2.0], [-1.0, 0.0, 1.0], [0.0, 0.5, 1.0]],
              "w2": [1.0, -2.0, 0.5, 3.0], "y": 0.25}
    z = np.asarray(values["W"]) @ np.asarray(values["x"])
    assert (z == 0).any() and (z > 0).any()
    got = cli_answers(capsys, values, False)
    autograd = torch_gradients(torch, values, False)
    np.testing.assert_allclose(got["grad_W"], autograd["W"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(got["dL_dx"], autograd["x"].T, rtol=0, atol=1e-12)


def test_text_output_prints_every_gradient_as_numbers(capsys):
    values = as_json(random_inputs(5, 3, 2, True), False)
    run = cli_in_process(capsys, "solve", "midterm/problem2", "--set", "bias=true", "--values", json.dumps(values))
    assert run.code == 0, run.err
    assert run.out.count("at the given values:") == 7      # four numerator-layout, three parameter-shaped


@pytest.mark.parametrize("bias", [False, True])
def test_graph_uses_only_the_five_operations_and_subtracts_by_add_and_mul(bias):
    graph = solve(bias=bias).graphs["graph"]
    operations = {nd: graph.op(nd) for nd in graph.graph.nodes if graph.op(nd) is not None}
    assert set(operations.values()) <= ALLOWED_OPS
    assert {"dot", "max", "pow"} <= set(operations.values())
    r = next(nd for nd in operations if str(nd) == "r")
    assert operations[r] == "add"
    negation = next(c for c in graph.graph.predecessors(r) if graph.op(c) is not None)
    assert operations[negation] == "mul" and graph.expression(negation) == -p2.yhat
    leaves = {str(nd) for nd in graph.graph.nodes if graph.op(nd) is None}
    assert leaves == ({"x", "W", "w2", "y", "b"} if bias else {"x", "W", "w2", "y"})


def test_the_drawn_graph_has_only_those_operation_nodes(capsys, tmp_path):
    out = tmp_path / "g.dot"
    run = cli_in_process(capsys, "graph", "midterm/problem2", "--out", str(out))
    assert run.code == 0, run.err
    source = out.read_text(encoding="utf-8")
    heads = [line.split('label="', 1)[1].split("\\n", 1)[0] for line in source.splitlines()
             if "shape=box" in line]
    assert heads and set(heads) <= ALLOWED_OPS
    assert "∂ℓ/∂W += x·∂ℓ/∂z" in source                 # local derivatives on the edges


@pytest.mark.parametrize("bias", [False, True])
def test_cached_values_are_the_claimed_set_and_what_a_numpy_backward_reads(bias):
    solution = solve(bias=bias)
    cached = dict((a.name, a.value) for a in solution.answers)["cached"]
    assert {str(c) for c in cached} == CACHED
    names = [str(nd) for nd in solution.graphs["graph"].graph.nodes]
    reads = p2.values_read_by_backward(p2.random_values(7, bias), bias, names)
    assert {name for name, flag in zip(names, reads) if flag} == CACHED


@pytest.mark.parametrize("wrong", [
    lambda c: [nd for nd in c if str(nd) != "r"],                    # the square's 2r needs r
    lambda c: [nd for nd in c if str(nd) != "z"],                    # the mask needs z
    lambda c: c + [p2.yhat],                                         # a dot node's output is not read
    lambda c: c + [p2.y],                                            # an add node's input is not read
    lambda c: c + [c[0]],                                            # a duplicate
])
def test_a_wrong_cached_set_is_caught(wrong):
    solution = solve()
    answer = next(a for a in solution.answers if a.name == "cached")
    answer.value = wrong(list(answer.value))
    assert not all(r.passed for r in solution.run_checks())


def _own_check_fails(solution, name, value):
    answer = next(a for a in solution.answers if a.name == name)
    original, answer.value = answer.value, value
    own = [c.run(solution.answer_values()) for c in solution.checks if c.name.startswith(f"{name} vs")]
    answer.value = original
    return len(own) == 1 and not own[0].passed


def test_a_dropped_transpose_or_a_missing_mask_is_caught_by_the_answers_check():
    solution = solve(bias=True)
    answers = solution.answer_values()
    W, x, b, w2, y = p2.W, p2.x, p2.b, p2.w2, p2.y
    hidden = Elementwise(p2.relu, W * x + b)
    unmasked = -2 * (y - w2.T * hidden) * w2.T        # ∂L/∂z without diag(H(z))
    assert _own_check_fails(solution, "dL_dW", answers["dL_dW"].T)
    assert _own_check_fails(solution, "grad_W", answers["dL_dW"])
    assert _own_check_fails(solution, "dL_dW", x * unmasked)
    assert _own_check_fails(solution, "dL_db", unmasked)
    assert _own_check_fails(solution, "dL_dx", unmasked * W)
    assert _own_check_fails(solution, "grad_w2", -2 * (y - w2.T * hidden) * (W * x + b))   # mask-free h = z


def test_the_graphs_path_sums_are_checked_against_part_one():
    solution = solve()
    step = next(s for s in solution.steps if s.text.startswith("Summing") and s.lhs.denominator == "W")
    step.rhs = step.rhs.T
    failed = [c.name for c in solution.step_checks() if not c.run({}).passed]
    assert len(failed) == 1 and "part (1)" in failed[0]


def test_graph_of_test_graph_model_matches_this_one():
    """The same model built the way tests/test_graph.py writes it has the same operations."""
    from derivations.calculus.graph import add, dot, maximum, mul, power
    g = build_graph([(p2.h, maximum(dot(p2.W, p2.x), 0)), (p2.yhat, dot(p2.w2, p2.h)),
                     (p2.L, power(add(p2.y, mul(-1, p2.yhat)), 2))], decompose=True)
    ours = solve().graphs["graph"]
    count = lambda graph: sorted(graph.op(nd) for nd in graph.graph.nodes if graph.op(nd))  # noqa: E731
    assert count(g) == count(ours)


VALID = {"x": [1.0, -0.5, 2.0], "W": [[1.0, 0.0, 1.0], [0.5, -1.0, 2.0]], "w2": [1.0, -2.0], "y": 0.5}


@pytest.mark.parametrize("values, settings, fragment", [
    ({**VALID, "W": [[1.0, 0.0], [0.5, -1.0]]}, [], "W has shape (2, 2), which does not fit"),
    ({**VALID, "y": [0.5]}, [], "y must be a number"),
    ({**VALID, "x": [[1.0, -0.5, 2.0]]}, [], "x has shape (1, 3), which does not fit"),
    ({k: v for k, v in VALID.items() if k != "W"}, [], "missing W"),
    ({**VALID, "b": [0.1, 0.2]}, [], "has no input 'b'; it takes W, w2, x, y"),
    (VALID, ["--set", "bias=true"], "missing b"),
    ({**VALID, "b": [0.1, 0.2, 0.3]}, ["--set", "bias=true"], "b has shape (3, 1), which does not fit"),
])
def test_bad_values_are_one_line_errors(capsys, values, settings, fragment):
    run = cli_in_process(capsys, "solve", "midterm/problem2", *settings, "--values", json.dumps(values))
    assert_user_error(run, fragment)


def test_bad_values_exit_2_from_a_real_process():
    run = cli("solve", "midterm/problem2", "--values", json.dumps({**VALID, "w2": [1.0, 2.0, 3.0]}))
    assert_user_error(run, "w2 has shape (3, 1), which does not fit")


def test_answers_are_formulas_in_the_inputs_only():
    answers = solve(bias=True).answer_values()
    inputs = {"x", "W", "w2", "y", "b"}
    for name in ("dL_dW", "dL_dw2", "dL_db", "dL_dx", "grad_W", "grad_w2", "grad_b"):
        assert {s.name for s in answers[name].atoms(sp.MatrixSymbol)} <= inputs, name
