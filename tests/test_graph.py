"""Reverse-mode path sums on computational graphs built from equations."""

import sympy as sp

from derivations.calculus.functions import sigmoid
from derivations.calculus.graph import build_graph

x, h, z, y, w, b = sp.symbols("x h z y w b", real=True)


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


def test_decomposition_makes_one_node_per_operation():
    g = build_graph([(h, 2 * x + 1)], decompose=True)
    assert len(g.graph.nodes) == 3  # x, u_1 = 2x, h = u_1 + 1
    assert g.local_derivative(x, sp.Symbol("u_1", real=True)) == 2


def test_cached_values_are_those_inside_local_derivatives():
    g = build_graph([(h, w * x), (y, sigmoid(h))])
    assert set(g.cached_values(y)) == {w, x, h}
    g2 = build_graph([(h, 3 * x), (y, 2 * h)])
    assert g2.cached_values(y) == []
