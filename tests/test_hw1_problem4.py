"""hw1/problem4: every demonstration's numbers against PyTorch (or a closed form), a small corruption of
each answer caught by its own check, other settings, and bad settings refused in one line."""

import json
import math

import numpy as np
import pytest
import sympy as sp
import torch

from derivations.core import registry
from helpers import assert_user_error, cli_in_process

PROBLEM = "hw1/problem4"


def solve(**settings):
    return registry.load(PROBLEM).solve(settings)


@pytest.fixture(scope="module")
def solution():
    return solve()


@pytest.fixture(scope="module")
def answers(solution):
    return solution.answer_values()


def floats(value):
    return np.asarray(sp.Matrix(value).tolist() if isinstance(value, sp.MatrixBase) else value, dtype=float)


def t64(values, dtype=torch.float64):
    return torch.tensor(np.asarray(values, dtype=float), dtype=dtype)


# (1) softmax as a soft arg max ----------------------------------------------------------------

def test_softmax_table_matches_torch(answers):
    z = t64([1, 2, 3])
    expected = [torch.softmax(z / t, dim=0).tolist() for t in (10, 1, 0.1, 0.01)]
    assert np.allclose(floats(answers["softmax_by_temperature"]), expected, rtol=0, atol=1e-15)
    rows = floats(answers["softmax_by_temperature"])
    assert np.all(np.diff(rows[:, -1]) > 0)            # colder: more mass on the arg max


def test_limits_are_one_hot_and_uniform(answers):
    assert answers["softmax_cold_limit"] == [0, 0, 1]
    assert answers["softmax_hot_limit"] == [sp.Rational(1, 3)] * 3


def test_tied_maxima_share_the_cold_limit():
    values = solve(logits=np.array([3.0, 1.0, 3.0])).answer_values()
    assert values["softmax_cold_limit"] == [sp.Rational(1, 2), 0, sp.Rational(1, 2)]


def test_softmax_is_the_gradient_of_logsumexp(answers):
    z = t64([0.3, -1.2, 2.0]).requires_grad_()
    torch.logsumexp(z, dim=0).backward()
    formula = sp.lambdify(sp.symbols("z1:4", real=True), answers["logsumexp_gradient"])
    assert formula(0.3, -1.2, 2.0) == pytest.approx(z.grad[0].item(), rel=1e-14)
    assert torch.allclose(z.grad, torch.softmax(z.detach(), dim=0))


# (2) instability and the max-shift ------------------------------------------------------------

@pytest.mark.parametrize("dtype, torch_dtype", [(np.float32, torch.float32), (np.float64, torch.float64)])
def test_exp_range_ends_are_where_torch_exp_overflows_and_underflows(answers, dtype, torch_dtype):
    low, high = (float(v) for v in answers[f"exp_range_{np.dtype(dtype).name}"])
    info = np.finfo(dtype)
    assert high == pytest.approx(math.log(float(info.max)), abs=1e-12)
    assert low == pytest.approx(math.log(float(info.smallest_subnormal)) - math.log(2), abs=1e-12)
    step = 2 * float(np.spacing(dtype(abs(low))))
    exp = lambda t: torch.exp(torch.tensor(t, dtype=torch_dtype)).item()  # noqa: E731
    assert math.isfinite(exp(high - step)) and math.isinf(exp(high + step))
    assert exp(low + step) > 0 and exp(low - step) == 0


def test_naive_softmax_breaks_where_predicted_and_the_shift_matches_torch(answers):
    for row, (np_dtype, dtype) in enumerate([(np.float32, torch.float32), (np.float64, torch.float64)]):
        for column, offset in enumerate((100, 1000, -1000)):
            z = torch.tensor([1.0 + offset, 2.0 + offset, 3.0 + offset], dtype=dtype)
            naive = torch.exp(z) / torch.exp(z).sum()
            assert answers["naive_nonfinite"][row][column] is (not bool(torch.isfinite(naive).all()))
            shifted = answers[f"softmax_shifted_{np.dtype(np_dtype).name}"][column]
            assert np.allclose(shifted, torch.softmax(z, dim=0).tolist(), rtol=0,
                               atol=4 * float(np.finfo(np_dtype).eps))
    assert answers["naive_nonfinite"] == [[True, True, True], [False, True, True]]


# (3) two consecutive linear layers ------------------------------------------------------------

def torch_layers(nonlinear):
    first, second = torch.nn.Linear(3, 2, dtype=torch.float64), torch.nn.Linear(2, 3, dtype=torch.float64)
    with torch.no_grad():
        first.weight.copy_(t64([[1, -2, 0], [3, 1, -1]]))
        first.bias.copy_(t64([1, -1]))
        second.weight.copy_(t64([[2, 1], [0, -1], [1, 3]]))
        second.bias.copy_(t64([0, 2, -1]))
    return torch.nn.Sequential(first, torch.nn.ReLU(), second) if nonlinear else torch.nn.Sequential(first, second)


def test_the_collapsed_layer_equals_two_torch_layers(answers):
    W, b = floats(answers["collapsed_weight"]), floats(answers["collapsed_bias"])[:, 0]
    x = torch.randn(50, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        assert torch.allclose(torch_layers(False)(x), x @ t64(W).T + t64(b), rtol=0, atol=1e-12)
    assert answers["collapsed_rank"] == torch.linalg.matrix_rank(t64(W)).item() == 2


def test_relu_between_the_layers_breaks_affinity_as_torch_shows(answers):
    e1 = t64([1, 0, 0])
    with torch.no_grad():
        f = torch_layers(True)
        defect = f(e1) + f(-e1) - 2 * f(torch.zeros(3, dtype=torch.float64))
    assert floats(answers["relu_defect"])[:, 0].tolist() == defect.tolist() == [2, -2, 6]


def test_collapse_formula_evaluates_like_the_stack(answers):
    rng = np.random.default_rng(1)
    W1, b1, W2, b2, x = (rng.standard_normal(s) for s in ((4, 3), (4, 1), (2, 4), (2, 1), (3, 1)))
    symbols = {s.name: s for s in answers["collapse"].atoms(sp.MatrixSymbol)}
    at = {symbols["W1"]: sp.Matrix(W1), symbols["b1"]: sp.Matrix(b1), symbols["W2"]: sp.Matrix(W2),
          symbols["b2"]: sp.Matrix(b2), symbols["x"]: sp.Matrix(x)}
    value = floats(answers["collapse"].subs(at).doit())
    assert np.allclose(value, W2 @ (W1 @ x + b1) + b2, rtol=0, atol=1e-12)


# (4) activation functions -----------------------------------------------------------------------

def torch_slopes(function, points):
    z = t64(points).requires_grad_()
    function(z).sum().backward()
    return z.grad.tolist()


def test_activation_slopes_match_torch_autograd(answers):
    points = [-10, -2, 2, 10]
    expected = [torch_slopes(torch.sigmoid, points), torch_slopes(torch.tanh, points), torch_slopes(torch.relu, points),
                torch_slopes(lambda t: torch.nn.functional.leaky_relu(t, 0.01), points)]
    assert np.allclose(floats(answers["activation_slopes"]), expected, rtol=0, atol=1e-15)
    grid = torch.linspace(-10, 10, 2001, dtype=torch.float64).tolist()
    assert answers["sigmoid_max_slope"] == sp.Rational(1, 4)
    assert float(answers["sigmoid_max_slope"]) == max(torch_slopes(torch.sigmoid, grid))
    assert answers["tanh_max_slope"] == 1 == max(torch_slopes(torch.tanh, grid))


def test_dead_relu_fraction_is_the_normal_tail_and_leaky_relu_has_none(answers):
    expected = float(answers["relu_dead_expected"])
    assert expected == pytest.approx(float(torch.distributions.Normal(-2.0, 1.0).cdf(torch.tensor(0.0))), abs=1e-7)
    # 10,000 samples: within four standard errors of the expectation.
    assert abs(answers["relu_dead_fraction"] - expected) < 4 * math.sqrt(expected * (1 - expected) / 10_000)
    z = torch.tensor(-2.0 + np.random.default_rng(0).standard_normal(10_000)).requires_grad_()
    torch.relu(z).sum().backward()
    assert answers["relu_dead_fraction"] == (z.grad == 0).double().mean().item()
    assert answers["leaky_dead_fraction"] == 0.0


# (5) linear maps ------------------------------------------------------------------------------

def test_kinds_and_the_svd_of_the_shear(answers):
    assert answers["kind_determinants"] == [1, -1, sp.Rational(3, 2), 1]
    assert answers["kind_orthogonal"] == [True, True, False, False]
    golden = (1 + math.sqrt(5)) / 2
    W = t64([[1, 1], [0, 1]])
    assert np.allclose(floats(answers["singular_values"]), [golden, 1 / golden], rtol=0, atol=1e-15)
    assert np.allclose(floats(answers["singular_values"]), torch.linalg.svdvals(W).tolist(), rtol=0, atol=1e-14)
    U, V = t64(floats(answers["svd_U"])), t64(floats(answers["svd_V"]))
    sigma = torch.diag(t64(floats(answers["singular_values"])))
    assert torch.allclose(U @ sigma @ V.T, W, rtol=0, atol=1e-13)
    assert torch.allclose(U.T @ U, torch.eye(2, dtype=torch.float64), rtol=0, atol=1e-14)
    assert torch.det(V).item() == pytest.approx(1) and torch.det(U).item() == pytest.approx(1)   # two rotations


def test_xor_needs_the_nonlinearity(answers):
    inputs = t64([[0, 0], [0, 1], [1, 0], [1, 1]])
    targets = t64([0, 1, 1, 0])
    A = torch.cat([torch.ones(4, 1, dtype=torch.float64), inputs], dim=1)
    fit = torch.linalg.lstsq(A, targets[:, None]).solution[:, 0]
    assert np.allclose(floats(answers["xor_affine_fit"]), fit.tolist(), rtol=0, atol=1e-14)
    assert answers["xor_affine_mse"] == sp.Rational(1, 4)
    net = torch.nn.Sequential(torch.nn.Linear(2, 2, dtype=torch.float64), torch.nn.ReLU(),
                              torch.nn.Linear(2, 1, bias=False, dtype=torch.float64))
    with torch.no_grad():
        net[0].weight.copy_(t64([[1, 1], [1, 1]]))
        net[0].bias.copy_(t64([0, -1]))
        net[2].weight.copy_(t64([[1, -2]]))
        assert net(inputs)[:, 0].tolist() == floats(answers["xor_relu_outputs"]).tolist() == [0, 1, 1, 0]


# (6) learning rate against batch size ---------------------------------------------------------

def torch_sgd(X, y, batch, lr, epochs, seed):
    """The experiment re-run with torch.nn.Linear, MSELoss and torch.optim.SGD, with the same
    permutations (one per epoch from np.random.default_rng(seed))."""
    model = torch.nn.Linear(X.shape[1], 1, dtype=torch.float64)
    torch.nn.init.zeros_(model.weight)
    torch.nn.init.zeros_(model.bias)
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    Xt, yt, rng = t64(X), t64(y), np.random.default_rng(seed)
    for _ in range(epochs):
        order = rng.permutation(len(X))
        for start in range(0, len(X), batch):
            idx = torch.from_numpy(order[start:start + batch])
            optimizer.zero_grad()
            torch.nn.functional.mse_loss(model(Xt[idx]), yt[idx]).backward()
            optimizer.step()
    with torch.no_grad():
        return torch.nn.functional.mse_loss(model(Xt), yt).item()


def test_sgd_losses_match_torch_and_show_the_scaling_rule(answers):
    from derivations.problems.hw1.problem4 import regression_data

    X, y = regression_data(0)
    scaled = [torch_sgd(X, y, b, 0.02 * b / 8, 5, 0) for b in (8, 32, 128)]
    fixed = [torch_sgd(X, y, b, 0.02, 5, 0) for b in (8, 32, 128)]
    assert np.allclose(answers["losses_scaled_lr"], scaled, rtol=1e-10, atol=0)
    assert np.allclose(answers["losses_fixed_lr"], fixed, rtol=1e-10, atol=0)
    assert max(scaled) < 1.05 * min(scaled)                 # scaled: about the same loss at every batch size
    assert fixed == sorted(fixed) and fixed[-1] > 100 * fixed[0]    # fixed: larger batches fall behind


def test_stability_limit_and_the_runs_either_side_of_it(answers):
    from derivations.problems.hw1.problem4 import regression_data

    X, y = regression_data(0)
    A = t64(np.column_stack([X, np.ones(len(X))]))
    hessian = 2 * A.T @ A / len(X)
    assert answers["lr_stability_limit"] == pytest.approx(2 / torch.linalg.eigvalsh(hessian).max().item(), rel=1e-13)
    start, below, above = answers["losses_at_the_limit"]
    assert start == pytest.approx(float(np.mean(y ** 2)), rel=1e-15)
    limit = answers["lr_stability_limit"]
    assert below == pytest.approx(torch_sgd(X, y, len(X), 0.9 * limit, 20, 0), rel=1e-10)
    assert above == pytest.approx(torch_sgd(X, y, len(X), 1.1 * limit, 20, 0), rel=1e-10)
    assert below < start < above


# Checks catch a small corruption of every answer ------------------------------------------------

def corrupt(value):
    """The answer with one number changed by 1/1000 (a boolean flipped), the rest untouched."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, sp.MatrixBase):
        changed = sp.Matrix(value)
        changed[0, 0] += sp.Rational(1, 1000)
        return changed
    if isinstance(value, list):
        return [corrupt(value[0]), *value[1:]]
    if isinstance(value, sp.MatrixExpr):                     # a formula: scaled by 1.001
        return sp.Rational(1001, 1000) * value
    return value + sp.Rational(1, 1000) if isinstance(value, sp.Basic) else value + 1e-3


@pytest.mark.parametrize("name", [a.name for a in solve().answers if a.value is not None])
def test_a_corrupted_number_is_caught_by_its_own_check(name):
    solution = solve()
    answer = next(a for a in solution.answers if a.name == name)
    answer.value = corrupt(answer.value)
    results = [r for r in solution.run_checks() if r.kind == "answer" and r.name.startswith(f"{name} vs ")]
    assert results and not any(r.passed for r in results)


# Other settings, bad settings, JSON ----------------------------------------------------------------

@pytest.mark.parametrize("settings", [
    dict(logits=np.array([-1.5, 0.25, 0.25, 4.0]), temperatures=np.array([100.0, 0.5, 0.001])),
    dict(offsets=np.array([50.0, -120.0, 800.0]), points=np.array([-3.0, 0.5, 7.0])),
    dict(W1=np.array([[1.0, 2.0], [0.5, -1.0], [2.0, 0.0]]), b1=np.array([0.0, -1.0, 1.0]),
         W2=np.array([[1.0, -1.0, 2.0]]), b2=np.array([0.5])),
    dict(W=np.array([[0.0, 2.0], [1.0, 0.0]]), leaky_slope=sp.Rational(1, 5), relu_bias=sp.Integer(1)),
    dict(W=np.array([[2.0, 0.0], [0.0, 2.0]])),
    dict(batch_sizes=np.array([4, 16, 64, 256]), base_lr=sp.Rational(1, 100), epochs=3, seed=7),
])
def test_all_checks_pass_for_other_settings(settings):
    results = solve(**settings).run_checks()
    assert results and all(r.passed for r in results), [r.name for r in results if not r.passed]


def test_a_reflection_gets_a_reflection_factor():
    values = solve(W=np.array([[0.0, 2.0], [1.0, 0.0]])).answer_values()
    assert [float(v) for v in values["singular_values"]] == pytest.approx([2, 1])
    assert np.linalg.det(floats(values["svd_U"])) == pytest.approx(-1)


@pytest.mark.parametrize("setting, fragment", [
    ("temperatures=[1, 0]", "temperatures"),
    ("logits=[1]", "logits"),
    ("logits=[1, 20000]", "logits"),
    ("temperatures=[1e-9]", "|z|/T"),
    ("offsets=[100000]", "offsets"),
    ("points=[0, 1]", "points"),
    ("leaky_slope=0", "leaky_slope"),
    ("W=[[1, 1], [1, 1]]", "W must be"),
    ("W=[[1, 2, 3], [4, 5, 6]]", "W must be"),
    ("W2=[[1, 2]]", "shapes do not chain"),
    ("b1=[1, 2, 3]", "shapes do not chain"),
    ("batch_sizes=[0, 8]", "batch_sizes"),
    ("batch_sizes=[1.5]", "batch_sizes"),
    ("base_lr=0", "base_lr"),
    ("base_lr=1/2", "stability limit"),
    ("epochs=50", "epochs"),
])
def test_bad_settings_are_one_line_errors(capsys, setting, fragment):
    assert_user_error(cli_in_process(capsys, "solve", PROBLEM, "--set", setting), fragment)


def test_a_diverging_small_batch_run_is_refused(capsys):
    run = cli_in_process(capsys, "solve", PROBLEM, "--set", "batch_sizes=[1, 2]", "--set", "base_lr=0.3")
    assert_user_error(run, "diverged")


def test_json_carries_every_demonstration_as_numbers(capsys):
    run = cli_in_process(capsys, "solve", PROBLEM, "--format", "json")
    assert run.code == 0, run.err
    data = json.loads(run.out)
    values = {a["name"]: a["value"] for a in data["answers"]}
    assert values["softmax_cold_limit"] == [0, 0, 1]
    assert values["naive_nonfinite"] == [[True, True, True], [False, True, True]]
    assert values["collapsed_weight"] == [[5, -3, -1], [-3, -1, 1], [10, 1, -3]]
    assert values["sigmoid_max_slope"] == 0.25 and values["xor_affine_mse"] == 0.25
    assert len(values["losses_scaled_lr"]) == 3 and all(isinstance(v, float) for v in values["losses_fixed_lr"])
    worded = [a for a in data["answers"] if a["text"]]
    assert [a["text"][:3] for a in worded] == ["(1)", "(2)", "(3)", "(4)", "(5)", "(6)"]
    assert all(c["passed"] for c in data["checks"])


def test_values_evaluate_the_formula_answers(capsys):
    values = {"z1": 1, "z2": 2, "z3": 3, "x": [1, -1], "W1": [[1, 2], [3, 4], [5, 6]], "b1": [1, 2, 3],
              "W2": [[1, 0, 1]], "b2": [2]}
    run = cli_in_process(capsys, "solve", PROBLEM, "--format", "json", "--values", json.dumps(values))
    assert run.code == 0, run.err
    got = {a["name"]: a["value"] for a in json.loads(run.out)["answers"]}
    assert got["logsumexp_gradient"] == pytest.approx(torch.softmax(t64([1, 2, 3]), 0)[0].item(), rel=1e-14)
    assert got["shift_invariance"] == got["logsumexp_gradient"]
    assert got["collapse"] == [[4.0]]
