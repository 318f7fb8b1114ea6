"""Computational graphs of named operations: reverse-mode path sums, cached values, rejections."""

import numpy as np
import pytest
import sympy as sp

from derivations.calculus.functions import sigmoid
from derivations.calculus.graph import add, build_graph, dot, maximum, mul, power
from derivations.calculus.matrix_calculus import gradient_error
from derivations.calculus.rules import NoRuleError, Norm

x, h, z, y, w, b = sp.symbols("x h z y w b", real=True)

# The midterm model h = max(Wx, 0), ŷ = w2ᵀh, L = (y − ŷ)², with dot/add/max/mul/pow only.
m, n = sp.symbols("m n", integer=True, positive=True)
W, X, w2 = sp.MatrixSymbol("W", m, n), sp.MatrixSymbol("x", n, 1), sp.MatrixSymbol("w2", m, 1)
H, YHAT = sp.MatrixSymbol("h", m, 1), sp.MatrixSymbol("yhat", 1, 1)
Y, L = sp.MatrixSymbol("y", 1, 1), sp.MatrixSymbol("L", 1, 1)
MIDTERM = [(H, maximum(dot(W, X), 0)), (YHAT, dot(w2, H)), (L, power(add(Y, mul(-1, YHAT)), 2))]


def midterm_values(seed=1):
    """Rectangular W (4×3); pre-activations away from ReLU's kink."""
    rng = np.random.default_rng(seed)
    while True:
        values = {"W": rng.normal(size=(4, 3)), "x": rng.normal(size=(3, 1)), "w2": rng.normal(size=(4, 1)),
                  "y": rng.normal(size=(1, 1))}
        if np.abs(values["W"] @ values["x"]).min() > 0.01:
            return values


def midterm_loss(v):
    return ((v["y"] - v["w2"].T @ np.maximum(v["W"] @ v["x"], 0)) ** 2).item()


def node(g, name):
    return next(nd for nd in g.graph.nodes if str(nd) == name)


def test_no_path_gives_zero_by_construction():
    g = build_graph([(h, 2 * x + 1), (z, x**2), (y, sigmoid(h))], decompose=True)
    assert g.derivative(y, z) == 0
    assert g.paths(z, y) == []


def test_path_sum_matches_sympy_diff_after_substitution():
    g = build_graph([(h, w * x + b), (z, h**2 + sp.sin(h) * x), (y, sigmoid(z) + h)], decompose=True)
    total = sigmoid((w * x + b) ** 2 + sp.sin(w * x + b) * x) + w * x + b
    for var in (x, w, b):
        ours = g.in_terms_of_inputs(g.derivative(y, var))
        assert sp.simplify(ours - sp.diff(total, var)) == 0


def test_nodes_are_named_operations_and_intermediates_are_named_after_them():
    g = build_graph([(h, 2 * x + 1), (z, x**2), (y, sigmoid(h))], decompose=True)
    assert len(g.graph.nodes) == 5  # x, mul₁ = 2x, h = mul₁ + 1, z = x², y = σ(h)
    mul_1 = sp.Symbol("mul_1", real=True)
    assert {nd: g.op(nd) for nd in g.graph.nodes} == {x: None, mul_1: "mul", h: "add", z: "pow", y: "σ"}
    assert g.local_derivative(x, mul_1) == 2
    assert g.expression(h) == mul_1 + 1


def test_the_midterm_graph_has_op_names_and_shapes():
    g = build_graph(MIDTERM, decompose=True)
    ops = {str(nd): g.op(nd) for nd in g.graph.nodes}
    assert ops == {"W": None, "x": None, "w2": None, "y": None, "dot_1": "dot", "h": "max", "yhat": "dot",
                   "mul_1": "mul", "add_1": "add", "L": "pow"}
    shapes = {str(nd): data["shape"] for nd, data in g.graph.nodes(data=True)}
    assert shapes["W"] == (m, n) and shapes["dot_1"] == (m, 1) and shapes["h"] == (m, 1)
    assert shapes["yhat"] == shapes["L"] == (1, 1)
    # a matrix edge carries the rule table's contribution, written with the upstream ∂ℓ/∂dot₁
    dot_1 = node(g, "dot_1")
    assert g.local_derivative(W, dot_1) == X * g.upstream(dot_1)
    assert g.local_derivative(X, dot_1) == g.upstream(dot_1) * W


def test_path_sum_on_the_vector_graph_matches_central_differences():
    g = build_graph(MIDTERM, decompose=True)
    values = midterm_values()
    for leaf in (W, X, w2, Y):
        claim = g.in_terms_of_inputs(g.derivative(L, leaf))
        assert claim.shape == (leaf.shape[1], leaf.shape[0])  # numerator layout
        assert gradient_error(claim, midterm_loss, leaf.name, values) < 1e-6
    # and a wrong (gradient-layout) answer is caught on these rectangular shapes
    wrong = g.in_terms_of_inputs(g.derivative(L, W)).T
    assert gradient_error(wrong, midterm_loss, "W", values) > 1e-3


def test_a_node_on_no_path_has_a_zero_matrix_derivative():
    g = build_graph(MIDTERM + [(sp.MatrixSymbol("r", 1, 1), dot(w2, w2))], decompose=True)
    r = sp.MatrixSymbol("r", 1, 1)
    assert g.derivative(L, r) == sp.ZeroMatrix(1, 1)
    assert g.derivative(r, X) == sp.ZeroMatrix(1, n)


def test_cached_values_of_the_midterm_model():
    g = build_graph(MIDTERM, decompose=True)
    assert {str(v) for v in g.cached_values(L)} == {"W", "x", "w2", "dot_1", "h", "add_1"}
    add_1, mul_1 = node(g, "add_1"), node(g, "mul_1")
    # the add node's inputs are not needed: add passes ∂ℓ/∂add₁ through unchanged
    assert g.why_cached(Y, L) == [] and g.why_cached(mul_1, L) == []
    assert g.why_cached(YHAT, L) == []
    # h is needed for w2's derivative, add₁ for pow's 2·add₁
    assert g.why_cached(H, L) == [(w2, YHAT)]
    assert g.why_cached(add_1, L) == [(add_1, L)]


def test_cached_values_are_those_inside_local_derivatives():
    g = build_graph([(h, w * x), (y, sigmoid(h))])
    assert set(g.cached_values(y)) == {w, x, h}
    g2 = build_graph([(h, 3 * x), (y, 2 * h)])
    assert g2.cached_values(y) == []


def test_an_unknown_operation_is_rejected_by_name():
    S = sp.MatrixSymbol("S", n, n)
    with pytest.raises(NoRuleError, match="Inverse"):
        build_graph([(sp.MatrixSymbol("T", n, n), sp.Inverse(S))])
    with pytest.raises(NoRuleError, match="Integral"):
        build_graph([(y, sp.Integral(x, x) + 1)], decompose=True)


def test_a_cycle_is_rejected():
    with pytest.raises(ValueError, match="cycle"):
        build_graph([(h, 2 * x), (x, h + 1)])


def test_a_shape_mismatch_is_rejected():
    with pytest.raises(ValueError, match="shape"):
        build_graph([(sp.MatrixSymbol("h", n, 1), dot(W, X))])


def test_matrix_ops_from_the_rule_table_build_nodes():
    v, g_ = sp.MatrixSymbol("v", n, 1), sp.MatrixSymbol("g", 1, 1)
    wn = build_graph([(sp.MatrixSymbol("w", n, 1), mul(v, g_) * Norm(v))], decompose=True)
    assert {wn.op(nd) for nd in wn.graph.nodes} >= {"norm", "dot"}


def test_graphviz_draws_ops_shapes_and_local_derivatives():
    from derivations.render.graphviz import to_dot
    source = to_dot(build_graph(MIDTERM, decompose=True))
    for label in ("max\\nh = ", "W\\nm×n", "pow\\nL = add₁²", "∂ℓ/∂W += x·∂ℓ/∂dot₁"):
        assert label in source, label
