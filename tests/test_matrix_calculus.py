"""The numerator-layout toolkit: its reverse-mode rules, and its check catching layout mistakes."""

import numpy as np
import sympy as sp

from derivations.calculus.functions import relu, sigmoid
from derivations.calculus.matrix_calculus import (Diag, Elementwise, Eye, backward, derivative, expand_nodes,
                                         gradient_error, jacobian_error, numeric, numerator_gradient)
from derivations.calculus.symbols import partial_matrix

n, m, K = sp.symbols("n m K", integer=True, positive=True)
x, y = sp.MatrixSymbol("x", n, 1), sp.MatrixSymbol("y", m, 1)
W = sp.MatrixSymbol("W", m, n)
RNG = np.random.default_rng(7)
VALUES = {"x": RNG.normal(size=(3, 1)), "y": RNG.normal(size=(4, 1)), "W": RNG.normal(size=(4, 3))}


def squared_error(v):
    r = v["W"] @ v["x"] - v["y"]
    return float(np.sum(r ** 2))


def test_numerator_layout_gradient_of_a_matrix_has_the_transposed_shape():
    grad = numerator_gradient(lambda w: squared_error({**VALUES, "W": w}), VALUES["W"])
    assert grad.shape == (3, 4)  # W is 4×3


def test_derivative_of_squared_error_is_x_times_a_row():
    loss = sp.Transpose(W * x - y) * (W * x - y)
    claim = derivative(loss, W)
    assert claim.shape == (n, m)
    assert gradient_error(claim, squared_error, "W", VALUES) < 1e-7
    # and the symbolic form is the textbook one, 2·x·(Wx − y)ᵀ
    expected = 2 * VALUES["x"] @ (VALUES["W"] @ VALUES["x"] - VALUES["y"]).T
    assert np.allclose(numeric(claim, VALUES), expected)


def test_check_catches_a_missing_transpose():
    residual = W * x - y
    right = 2 * x * residual.T          # n×m: numerator layout
    missing_t = 2 * residual * x.T      # m×n: the gradient shape, i.e. the transpose is missing
    assert gradient_error(right, squared_error, "W", VALUES) < 1e-7
    assert gradient_error(missing_t, squared_error, "W", VALUES) == float("inf")
    # even when shapes agree, the values do not: (∂ℓ/∂x) for x is a row, 2 (Wx − y)ᵀ W
    assert gradient_error(2 * residual.T * W, squared_error, "x", VALUES) < 1e-7
    assert gradient_error(2 * W.T * residual, squared_error, "x", VALUES) == float("inf")


def test_check_catches_a_swapped_product():
    # ℓ = uᵀ A B v with rectangular A (4×3), B (3×2): ∂ℓ/∂A = B v uᵀ (3×4); swapping gives garbage
    A, B = sp.MatrixSymbol("A", m, n), sp.MatrixSymbol("B", n, K)
    u, v = sp.MatrixSymbol("u", m, 1), sp.MatrixSymbol("v", K, 1)
    rng = np.random.default_rng(3)
    vals = {"A": rng.normal(size=(4, 3)), "B": rng.normal(size=(3, 2)), "u": rng.normal(size=(4, 1)),
            "v": rng.normal(size=(2, 1))}
    loss = lambda d: (d["u"].T @ d["A"] @ d["B"] @ d["v"]).item()  # noqa: E731
    assert derivative(u.T * A * B * v, A) == B * v * u.T
    assert gradient_error(B * v * u.T, loss, "A", vals) < 1e-7
    assert gradient_error(u.T * B * v, loss, "A", vals) == float("inf")   # does not even chain
    # ∂ℓ/∂B = v uᵀ A (2×3); the swapped (uᵀA)ᵀ vᵀ has B's shape, the transposed shape
    assert gradient_error(v * u.T * A, loss, "B", vals) < 1e-7
    assert gradient_error((u.T * A).T * v.T, loss, "B", vals) == float("inf")


def test_square_shapes_can_hide_a_transposed_layout_but_rectangular_ones_cannot():
    # With W square the missing-transpose claim at least has the right shape; rectangular W
    # turns the mistake into a shape mismatch (inf), which no tolerance can absorb.
    Ws = sp.MatrixSymbol("W", n, n)
    sq = {"x": VALUES["x"], "y": RNG.normal(size=(3, 1)), "W": RNG.normal(size=(3, 3))}
    wrong = 2 * (Ws * x - sp.MatrixSymbol("y", n, 1)) * x.T
    err = gradient_error(wrong, squared_error, "W", sq)
    assert np.isfinite(err) and err > 1e-3


def test_backward_with_opaque_jacobians_gives_the_chain_in_order():
    z, a = sp.MatrixSymbol("z", m, 1), sp.MatrixSymbol("a", m, 1)
    J = partial_matrix("a", "z", m, m)
    N = partial_matrix("ℓ", "a", 1, m)
    forward = [(z, W * x), (a, Elementwise(relu, z))]
    grads = backward(forward, N, opaque={a: J})
    assert grads[W] == x * N * J
    assert grads[x] == N * J * W


def test_elementwise_jacobians_are_diagonal_and_numerically_right():
    u = sp.MatrixSymbol("u", m, 1)
    point = np.array([[0.7], [-1.2], [2.0], [-0.1]])
    for fn, f_np in ((relu, lambda t: np.maximum(t, 0)), (sigmoid, lambda t: 1 / (1 + np.exp(-t)))):
        J = derivative(Elementwise(fn, u), u)
        assert isinstance(J, Diag)
        assert jacobian_error(J, f_np, point, {"u": point}) < 1e-8
    assert derivative(u, u) == Eye(m)
    assert np.array_equal(numeric(Eye(m), {"m": 3}), np.eye(3))


def test_expand_nodes_writes_a_result_in_the_inputs_only():
    z = sp.MatrixSymbol("z", m, 1)
    expr = expand_nodes(Elementwise(relu, z), [(z, W * x)])
    assert expr.atoms(sp.MatrixSymbol) == {W, x}
    assert np.allclose(numeric(expr, VALUES), np.maximum(VALUES["W"] @ VALUES["x"], 0))


def test_unparseable_claim_scores_inf_rather_than_raising():
    assert gradient_error(x * W, squared_error, "W", VALUES) == float("inf")


def test_a_number_given_for_a_1x1_matrix_symbol_is_a_1x1_matrix():
    y, v = sp.MatrixSymbol("y", 1, 1), sp.MatrixSymbol("v", 3, 1)
    assert np.array_equal(numeric(y.T * v.T, {"y": 2.0, "v": np.ones((3, 1))}), [[2.0, 2.0, 2.0]])
