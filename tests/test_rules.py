"""The numerator-layout rule table: every entry against central differences on rectangular
shapes, a deliberately wrong entry caught, an unknown operation named."""

import numpy as np
import pytest
import sympy as sp

from derivations.calculus.checks import numeric_gradient
from derivations.calculus.functions import sigmoid
from derivations.calculus.matrix_calculus import derivative, gradient, gradient_error, numeric
from derivations.calculus.rules import (RULES, Elementwise, LogSumExp, NoRuleError, Norm, Ones, Softmax,
                                        contributions, cross_entropy, divide, total)

TOLERANCE = 1e-6  # relative to the size of the derivative, float64 central differences


def M(name, rows, cols):
    return sp.MatrixSymbol(name, rows, cols)


A, B, C = M("A", 3, 2), M("B", 2, 4), M("C", 4, 5)
P, Q, R = M("P", 3, 2), M("Q", 3, 2), M("R", 3, 2)
a, s = M("a", 4, 1), M("s", 1, 1)


def _softmax(z):
    e = np.exp(z - z.max())
    return e / e.sum()


_t = sp.Dummy("t", real=True)

#: for every entry of the table, operations Y (their operands leaves) with a NumPy forward pass
#: written independently of the printers; a rule added without a case here fails the coverage test
CASES = {
    sp.MatAdd: [(P + Q + R, lambda v: v["P"] + v["Q"] + v["R"])],
    sp.MatMul: [(2 * A * B * C, lambda v: 2 * v["A"] @ v["B"] @ v["C"]),
                (a * s, lambda v: v["a"] * v["s"])],
    sp.Transpose: [(sp.Transpose(A), lambda v: v["A"].T)],
    Elementwise: [(Elementwise(sigmoid, A), lambda v: 1 / (1 + np.exp(-v["A"]))),  # a matrix
                  (Elementwise(sp.Lambda(_t, _t**3), a), lambda v: v["a"] ** 3),    # a column
                  (Elementwise(sp.exp, s), lambda v: np.exp(v["s"]))],               # a 1×1
    sp.HadamardProduct: [(sp.HadamardProduct(P, Q, R), lambda v: v["P"] * v["Q"] * v["R"])],
    Norm: [(Norm(a), lambda v: np.array([[np.linalg.norm(v["a"])]]))],
    Softmax: [(Softmax(a), lambda v: _softmax(v["a"]))],
    LogSumExp: [(LogSumExp(a), lambda v: np.log(np.exp(v["a"]).sum(keepdims=True)))],
    sp.Identity: [(sp.Identity(3), lambda v: np.eye(3))],
    sp.ZeroMatrix: [(sp.ZeroMatrix(3, 2), lambda v: np.zeros((3, 2)))],
    sp.OneMatrix: [(Ones(3, 2), lambda v: np.ones((3, 2)))],
}
ALL_CASES = [pytest.param(op, Y, forward, id=f"{op.__name__}-{i}")
             for op, cases in CASES.items() for i, (Y, forward) in enumerate(cases)]


def random_values(expr, seed=0):
    rng = np.random.default_rng(seed)
    return {m.name: rng.normal(size=(int(m.rows), int(m.cols))) for m in expr.atoms(sp.MatrixSymbol)}


def relative_error(claimed, loss, wrt, values):
    scale = max(1.0, float(np.abs(numeric_gradient(lambda w: loss({**values, wrt: w}), values[wrt])).max()))
    return gradient_error(claimed, loss, wrt, values) / scale


def rule_errors(Y, forward, seed=0):
    """``{child: error}`` for the table's contributions of ``Y``, with a random upstream ``N``:
    ℓ = tr(N Y) has ∂ℓ/∂Y = N exactly, so each contribution must be ∂ℓ/∂child."""
    N = M("N", Y.shape[1], Y.shape[0])
    values = random_values(Y + sp.ZeroMatrix(*Y.shape) if Y.atoms(sp.MatrixSymbol) else N, seed)
    values["N"] = np.random.default_rng(seed + 1).normal(size=(int(N.rows), int(N.cols)))

    def loss(v):
        return float(np.trace(v["N"] @ forward(v)))

    return {child: relative_error(part, loss, child.name, values) for child, part in contributions(Y, N)}


def test_every_rule_has_a_test_case():
    assert set(CASES) == set(RULES)


@pytest.mark.parametrize("op, Y, forward", ALL_CASES)
def test_rule_matches_central_differences(op, Y, forward):
    assert type(Y) is op or isinstance(Y, op)
    assert np.allclose(numeric(Y, random_values(Y) if Y.atoms(sp.MatrixSymbol) else {}),
                       forward(random_values(Y)))
    errors = rule_errors(Y, forward)
    assert set(errors) == Y.atoms(sp.MatrixSymbol)  # one contribution per operand, constants none
    for child, error in errors.items():
        assert error < TOLERANCE, f"{op.__name__}: ∂ℓ/∂{child} off by {error:.2e}"


def test_a_transpose_rule_that_drops_its_transpose_is_caught(monkeypatch):
    monkeypatch.setitem(RULES, sp.Transpose, lambda Y, N: [(Y.arg, N)])
    (Y, forward), = CASES[sp.Transpose]
    assert rule_errors(Y, forward)[A] > TOLERANCE
    # and through a whole loss: ℓ = cᵀ Aᵀ d
    c, d = M("c", 2, 1), M("d", 3, 1)
    values = random_values(c.T * A.T * d)
    loss = lambda v: (v["c"].T @ v["A"].T @ v["d"]).item()  # noqa: E731
    assert relative_error(derivative(c.T * A.T * d, A), loss, "A", values) > TOLERANCE


def test_a_matmul_rule_in_gradient_layout_is_caught(monkeypatch):
    right = RULES[sp.MatMul]
    monkeypatch.setitem(RULES, sp.MatMul, lambda Y, N: [(f, part.T) for f, part in right(Y, N)])
    Y, forward = CASES[sp.MatMul][0]
    assert all(error > TOLERANCE for error in rule_errors(Y, forward).values())


def test_an_elementwise_rule_using_f_for_f_prime_is_caught(monkeypatch):
    monkeypatch.setattr(Elementwise, "derivative_function", lambda self: self.function)
    Y, forward = CASES[Elementwise][0]
    assert rule_errors(Y, forward)[A] > TOLERANCE


def test_an_unknown_operation_raises_an_error_naming_it():
    S = M("S", 3, 3)
    with pytest.raises(NoRuleError, match="Inverse"):
        contributions(sp.Inverse(S), M("N", 3, 3))
    with pytest.raises(NotImplementedError, match="Inverse"):
        derivative(M("c", 3, 1).T * sp.Inverse(S) * M("d", 3, 1), S)
    assert NoRuleError(sp.Inverse(S)).op == "Inverse"


def test_gradient_has_the_parameters_shape_and_value():
    c, d = M("c", 3, 1), M("d", 4, 1)
    W = M("W", 3, 4)
    loss = c.T * Elementwise(sp.tanh, W) * d
    grad = gradient(loss, W)
    assert grad.shape == W.shape and derivative(loss, W).shape == (4, 3)
    values = random_values(loss)
    reference = numeric_gradient(lambda w: (values["c"].T @ np.tanh(w) @ values["d"]).item(), values["W"])
    assert np.allclose(numeric(grad, values), reference, atol=1e-8)


def test_weight_norm_derivatives_through_divide_and_norm():
    # w = g·v/‖v‖ with a scalar parameter g as a 1×1 matrix, ℓ = cᵀw
    v, g, c = M("v", 4, 1), M("g", 1, 1), M("c", 4, 1)
    w = divide(v * g, Norm(v))
    assert w.shape == (4, 1)
    values = random_values(c.T * w)

    def loss(x):
        return (x["c"].T @ (x["g"] * x["v"] / np.linalg.norm(x["v"]))).item()

    for wrt in (v, g, c):
        assert relative_error(derivative(c.T * w, wrt), loss, wrt.name, values) < TOLERANCE
    assert gradient(c.T * w, g).shape == (1, 1)


def test_divide_a_row_and_total():
    r, s_ = M("r", 1, 4), M("s", 1, 1)
    X = M("X", 3, 2)
    values = random_values(total(X) + divide(r, s_) * M("d", 4, 1))
    loss = lambda x: x["X"].sum() + ((x["r"] / x["s"]) @ x["d"]).item()  # noqa: E731
    expr = total(X) + divide(r, s_) * M("d", 4, 1)
    for wrt in ("X", "r", "s"):
        assert relative_error(derivative(expr, M(wrt, *values[wrt].shape)), loss, wrt, values) < TOLERANCE


def test_cross_entropy_is_minus_y_log_softmax_and_its_derivative():
    y, z = M("y", 5, 1), M("z", 5, 1)
    ce = cross_entropy(y, z)
    values = random_values(ce)
    values["y"] = np.abs(values["y"])

    def loss(x):
        return float(-(x["y"].T @ np.log(_softmax(x["z"]))).item())

    assert np.isclose(numeric(ce, values).item(), loss(values))
    for wrt in ("y", "z"):
        assert relative_error(derivative(ce, M(wrt, 5, 1)), loss, wrt, values) < TOLERANCE


def test_new_operations_print_readably():
    from derivations.calculus.printing import inline
    from derivations.render.pretty import pretty
    z, v = M("z", 4, 1), M("v", 4, 1)
    assert inline(Norm(v)) == "‖v‖" and sp.latex(Norm(v)) == r"\left\|v\right\|"
    assert inline(Softmax(z)) == "softmax(z)" and pretty(Softmax(z)) == "softmax(z)"
    assert inline(LogSumExp(z)) == "LSE(z)" and sp.latex(LogSumExp(z)) == r"\operatorname{LSE}\left(z\right)"
    assert pretty(Norm(v)) == "‖v‖"
    assert "LSE(z)" in inline(cross_entropy(M("y", 4, 1), z))
