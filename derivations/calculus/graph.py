"""Computational graphs whose nodes are operations, and reverse-mode derivatives as path sums.

A graph is built from equations ``v = expression``. Every node is either a leaf (an input or
parameter) or an operation (``dot``, ``add``, ``max``, ``mul``, ``pow``, ``σ``, ``exp``,
``log``, …) whose name is stored on the node as ``op``; with ``decompose=True`` each compound
sub-expression becomes its own operation node, named after the defined variable or, for an
intermediate, after its operation (``mul₁``). Nodes are SymPy symbols; matrix nodes are
``MatrixSymbol``\\ s and carry their ``shape``. Each edge ``u → v`` carries the local derivative:

* scalar nodes: ∂v/∂u, a SymPy expression in node symbols;
* matrix nodes: the contribution the rule table (:mod:`derivations.calculus.rules`) passes
  to ``u``, written with ``v``'s upstream symbol ``N = ∂ℓ/∂v`` (numerator layout), e.g. the
  edge ``W → dot₁`` of ``dot₁ = W x`` carries ``x·∂ℓ/∂dot₁``.

Then ``dy/dx`` is the sum over paths ``x → … → y`` of the chained edge derivatives, computed in
one reverse sweep over the nodes that lie on some path from x to y. A node with no path to y
sums no terms: its derivative is 0 (of the right shape) by construction, not by a special case.

Equations can be written with the small op vocabulary :func:`dot`, :func:`add`,
:func:`maximum`, :func:`mul`, :func:`power`, e.g. the two-layer model
``h = maximum(dot(W, x), 0)``, ``yhat = dot(w2, h)``, ``L = power(add(y, mul(-1, yhat)), 2)``.
"""

from __future__ import annotations

import operator
from collections import Counter
from dataclasses import dataclass
from functools import reduce
from typing import Sequence

import networkx as nx
import sympy as sp
from sympy.matrices.expressions.matexpr import MatrixExpr

from derivations.calculus.functions import gelu, relu, sigmoid, softplus
from derivations.calculus.matrix_calculus import _flatten, _tidy, derivative_shape, vjp
from derivations.calculus.rules import (Elementwise, Eye, LogSumExp, NoRuleError, Norm, Softmax, rule_for)
from derivations.calculus.symbols import partial_matrix

#: operation names of scalar SymPy heads (looked up along the class's MRO)
SCALAR_OPS: dict[type, str] = {
    sp.Add: "add", sp.Mul: "mul", sp.Pow: "pow", sp.Max: "max", sp.Min: "min", sp.exp: "exp",
    sp.log: "log", sigmoid: "σ", relu: "relu", sp.tanh: "tanh", sp.sin: "sin", sp.cos: "cos",
    sp.Abs: "abs", sp.erf: "erf", softplus: "softplus", gelu: "GELU",
}
#: operation names of matrix operations; each must also have a rule in the rule table
MATRIX_OPS: dict[type, str] = {
    sp.MatAdd: "add", sp.Transpose: "transpose", sp.HadamardProduct: "mul", Norm: "norm",
    Softmax: "softmax", LogSumExp: "LSE",
}


# ---------------------------------------------------------------------------------------------
# The op vocabulary: explicit operations for writing equations.

def _is_matrix(e) -> bool:
    return isinstance(e, MatrixExpr)


def dot(a, b):
    """``a·b``: the matrix product ``W x``; for two column vectors of one length, ``aᵀb``."""
    if _is_matrix(a) and a.shape[1] == 1 and b.shape[1] == 1 and a.shape[0] == b.shape[0] != 1:
        return a.T * b
    return a * b


def add(a, b):
    """``a + b``."""
    return a + b


def maximum(a, b):
    """``max(a, b)``; for a matrix ``a`` and a number ``b``, entry by entry (``max(Wx, 0)``)."""
    if _is_matrix(a):
        t = sp.Dummy("t", real=True)
        return Elementwise(sp.Lambda(t, sp.Max(t, b)), a)
    return sp.Max(a, b)


def mul(a, b):
    """``a·b``: a scalar multiple, a product of scalars, or the entrywise product of two
    matrices of one shape."""
    if _is_matrix(a) and _is_matrix(b) and a.shape == b.shape and a.shape != (1, 1):
        return sp.HadamardProduct(a, b)
    return a * b


def power(a, k):
    """``a**k``; entry by entry for a matrix ``a``."""
    if _is_matrix(a):
        t = sp.Dummy("t", real=True)
        return Elementwise(sp.Lambda(t, t**k), a)
    return a**k


# ---------------------------------------------------------------------------------------------
# Operation names.

def op_name(expr: sp.Basic) -> str:
    """The name of ``expr``'s outermost operation; :class:`NoRuleError` for one the graph
    cannot differentiate."""
    if isinstance(expr, (sp.Symbol, sp.MatrixSymbol)):
        return "id"
    if _is_matrix(expr):
        rule_for(expr)  # an operation without a rule is rejected here, by name
        if isinstance(expr, Elementwise):
            return op_name(expr.function.expr)
        if isinstance(expr, sp.MatMul):
            return "dot" if len(expr.as_coeff_matrices()[1]) > 1 else "mul"
        return _lookup(MATRIX_OPS, expr)
    if isinstance(expr, sp.core.function.AppliedUndef):
        return expr.func.__name__
    return _lookup(SCALAR_OPS, expr)


def _lookup(table, expr):
    for cls in type(expr).__mro__:
        if cls in table:
            return table[cls]
    raise NoRuleError(expr)


# ---------------------------------------------------------------------------------------------
# The graph.

@dataclass
class ComputationalGraph:
    graph: nx.DiGraph

    @property
    def inputs(self) -> list:
        return [n for n in nx.topological_sort(self.graph) if self.graph.in_degree(n) == 0]

    def expression(self, node) -> sp.Basic | None:
        """The node's operation applied to its children's symbols (``None`` for a leaf)."""
        return self.graph.nodes[node].get("expr")

    def op(self, node) -> str | None:
        """The node's operation name (``None`` for a leaf)."""
        return self.graph.nodes[node].get("op")

    def local_derivative(self, child, parent) -> sp.Basic:
        """∂parent/∂child for scalars; for matrix nodes the contribution to ∂ℓ/∂child written
        with :meth:`upstream` of ``parent``."""
        return self.graph.edges[child, parent]["derivative"]

    def upstream(self, node) -> sp.MatrixSymbol | None:
        """``∂ℓ/∂node``, the symbol a matrix node's outgoing local derivatives are written with."""
        return self.graph.nodes[node].get("upstream")

    def in_terms_of_inputs(self, expr: sp.Basic) -> sp.Basic:
        """Replace every non-leaf node symbol by its definition, recursively."""
        for node in reversed(list(nx.topological_sort(self.graph))):
            definition = self.expression(node)
            if definition is not None:
                expr = expr.xreplace({node: definition}) if _is_matrix(node) else expr.subs(node, definition)
        return _flatten(expr) if _is_matrix(expr) else expr

    def derivative(self, y, x) -> sp.Basic:
        """dy/dx as a sum over paths, in node symbols (reverse mode: one sweep from y). For a
        matrix graph ``y`` is a column or 1×1 and the result is in numerator layout."""
        keep = (nx.ancestors(self.graph, y) | {y}) & (nx.descendants(self.graph, x) | {x})
        adjoint = {y: self._seed(y)}
        for node in reversed(list(nx.topological_sort(self.graph.subgraph(keep | {x})))):
            if node != y:
                terms = [self._pull(node, p, adjoint[p]) for p in self.graph.successors(node) if p in keep]
                adjoint[node] = reduce(operator.add, terms, self._zero(y, node))
        return _tidy(adjoint[x]) if _is_matrix(x) else adjoint[x]

    def _seed(self, y):
        if not _is_matrix(y):
            return sp.Integer(1)
        if y.shape[1] != 1:
            raise ValueError(f"derivative needs a column or 1×1 {y}, not shape {y.shape}")
        return sp.Identity(1) if y.shape == (1, 1) else Eye(y.shape[0])

    def _zero(self, y, node):
        return sp.ZeroMatrix(*derivative_shape(y.shape, node.shape)) if _is_matrix(y) else sp.Integer(0)

    def _pull(self, child, parent, adjoint_parent):
        local = self.local_derivative(child, parent)
        if _is_matrix(parent):
            return local.xreplace({self.upstream(parent): adjoint_parent}).doit()
        return adjoint_parent * local

    def paths(self, x, y) -> list[list]:
        return [] if x not in self.graph or y not in self.graph else list(nx.all_simple_paths(self.graph, x, y))

    def cached_values(self, target) -> list:
        """Values the backward pass from ``target`` must keep from the forward pass: the node
        values that appear inside some local derivative on a path to ``target``."""
        needed = set()
        for child, parent in self._edges_to(target):
            needed |= self._nodes_in(self.local_derivative(child, parent))
        return [n for n in nx.topological_sort(self.graph) if n in needed]

    def why_cached(self, node, target) -> list[tuple]:
        """The edges ``(child, parent)`` on a path to ``target`` whose local derivative uses
        ``node``'s value: why it is cached, or, when empty, why it need not be (an add node's
        inputs, for instance, appear in no local derivative: add passes N through)."""
        if node not in self.graph:
            raise KeyError(f"{node} is not a node of the graph")
        return [(c, p) for c, p in self._edges_to(target) if node in self._nodes_in(self.local_derivative(c, p))]

    def _edges_to(self, target):
        relevant = nx.ancestors(self.graph, target) | {target}
        return [(c, p) for c, p in self.graph.edges if p in relevant]

    def _nodes_in(self, expr) -> set:
        return (expr.atoms(sp.MatrixSymbol) | expr.free_symbols) & set(self.graph.nodes)


def build_graph(equations: Sequence[tuple[sp.Basic, sp.Basic]], decompose: bool = False) -> ComputationalGraph:
    """Graph of ``[(v, expression), …]``: ``v`` an operation node with ``op`` its expression's
    outermost operation. With ``decompose``, every compound operand becomes its own operation
    node (``mul₁``, ``add₁``, …; one node per distinct sub-expression), so the graph shows
    each elementary operation; numbers, constant matrices and transposed leaves stay inside
    the operation that uses them. Rejects an unknown operation (:class:`NoRuleError`), a
    variable defined twice, a shape mismatch and a cycle (``ValueError``)."""
    graph = nx.DiGraph()
    defined = [v for v, _ in equations]
    if len(set(defined)) != len(defined):
        raise ValueError(f"a variable is defined twice: {[v for v, k in Counter(defined).items() if k > 1]}")
    counters: Counter = Counter()
    made: dict = {}

    def leaf(symbol):
        if symbol not in graph:
            graph.add_node(symbol, kind="variable" if symbol in defined else "input", op=None,
                           shape=symbol.shape if _is_matrix(symbol) else None)

    def node_for(expr):
        if isinstance(expr, (sp.Symbol, sp.MatrixSymbol)):
            leaf(expr)
            return expr
        if expr not in made:
            op = op_name(expr)
            counters[op] += 1
            name = f"{op}_{counters[op]}"
            made[expr] = sp.MatrixSymbol(name, *expr.shape) if _is_matrix(expr) else sp.Symbol(name, real=True)
            add_operation(made[expr], expr, kind="intermediate")
        return made[expr]

    def add_operation(name, expr, kind):
        op = op_name(expr)
        if _is_matrix(name) != _is_matrix(expr) or (_is_matrix(name) and name.shape != expr.shape):
            raise ValueError(f"{name} has shape {getattr(name, 'shape', ())}, its definition {expr} "
                             f"{getattr(expr, 'shape', ())}")
        local = expr.xreplace({a: node_for(a) for a in _operands(expr) if not _stays_inside(a)}) if decompose else expr
        children = sorted(_node_atoms(local), key=sp.default_sort_key)  # one order in every process
        for child in children:
            leaf(child)
        if _is_matrix(name):
            upstream = partial_matrix("ℓ", name.name, name.shape[1], name.shape[0])
            parts = vjp(local, upstream)
            graph.add_node(name, kind=kind, op=op, expr=local, shape=name.shape, upstream=upstream)
            for child in children:
                graph.add_edge(child, name, derivative=parts[child], upstream=upstream)
        else:
            graph.add_node(name, kind=kind, op=op, expr=local, shape=None)
            for child in children:
                graph.add_edge(child, name, derivative=sp.diff(local, child))

    for variable, expression in equations:
        add_operation(variable, sp.sympify(expression), kind="variable")
    if not nx.is_directed_acyclic_graph(graph):
        raise ValueError(f"the equations define a cycle: {' → '.join(str(e[0]) for e in nx.find_cycle(graph))}")
    return ComputationalGraph(graph)


def _operands(expr) -> list:
    if _is_matrix(expr):
        return [a for a in expr.args if _is_matrix(a)]
    return [a for a in expr.args if not a.is_number]


def _stays_inside(operand) -> bool:
    """Leaves, constants and transposed leaves are not operations of their own."""
    if isinstance(operand, sp.Transpose):
        operand = operand.arg
    return isinstance(operand, (sp.Symbol, sp.MatrixSymbol)) or not _node_atoms(operand)


def _node_atoms(expr) -> set:
    return expr.atoms(sp.MatrixSymbol) if _is_matrix(expr) else expr.free_symbols
