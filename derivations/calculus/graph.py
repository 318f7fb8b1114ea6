"""Computational graphs from equations, and reverse-mode derivatives as path sums.

A graph is built from equations ``v = expression``. Nodes are values: the inputs, the
defined variables, and (with ``decompose=True``) one anonymous node per intermediate
operation. Each edge ``u → v`` carries the local derivative ∂v/∂u as a SymPy expression in
node symbols. Then

    dy/dx = Σ over paths x → … → y of the product of the edge derivatives,

computed in reverse topological order over the nodes that lie on some path from x to y. No
path gives an empty sum: 0 by construction, not by a special case.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import networkx as nx
import sympy as sp


@dataclass
class ComputationalGraph:
    graph: nx.DiGraph

    @property
    def inputs(self) -> list[sp.Symbol]:
        return [n for n in nx.topological_sort(self.graph) if self.graph.in_degree(n) == 0]

    def expression(self, node: sp.Symbol) -> sp.Expr | None:
        """The node's operation applied to its children's symbols (``None`` for an input)."""
        return self.graph.nodes[node].get("expr")

    def local_derivative(self, child: sp.Symbol, parent: sp.Symbol) -> sp.Expr:
        return self.graph.edges[child, parent]["derivative"]

    def in_terms_of_inputs(self, expr: sp.Expr) -> sp.Expr:
        """Replace every non-input node symbol by its definition, recursively."""
        for node in reversed(list(nx.topological_sort(self.graph))):
            definition = self.expression(node)
            if definition is not None:
                expr = expr.subs(node, definition)
        return expr

    def derivative(self, y: sp.Symbol, x: sp.Symbol) -> sp.Expr:
        """dy/dx as a sum over paths, in node symbols (reverse mode: one sweep from y)."""
        on_path = (nx.descendants(self.graph, x) | {x}) & (nx.ancestors(self.graph, y) | {y})
        adjoint = {y: sp.Integer(1)}
        for node in reversed(list(nx.topological_sort(self.graph.subgraph(on_path)))):
            if node != y:
                adjoint[node] = sp.Add(*(adjoint[p] * self.local_derivative(node, p)
                                         for p in self.graph.successors(node) if p in on_path))
        return adjoint.get(x, sp.Integer(0))

    def paths(self, x: sp.Symbol, y: sp.Symbol) -> list[list[sp.Symbol]]:
        return [] if x not in self.graph or y not in self.graph else list(nx.all_simple_paths(self.graph, x, y))

    def cached_values(self, target: sp.Symbol) -> list[sp.Symbol]:
        """Values the backward pass from ``target`` must keep from the forward pass: the node
        symbols that appear inside some local derivative on a path to ``target``."""
        relevant = nx.ancestors(self.graph, target) | {target}
        needed = set()
        for child, parent, data in self.graph.edges(data=True):
            if parent in relevant:
                needed |= data["derivative"].free_symbols & set(self.graph.nodes)
        return [n for n in nx.topological_sort(self.graph) if n in needed]


def build_graph(equations: Sequence[tuple[sp.Symbol, sp.Expr]], decompose: bool = False,
                prefix: str = "u") -> ComputationalGraph:
    """Graph of ``[(v, expression), …]``. With ``decompose``, every compound sub-expression
    becomes its own node (named ``prefix_1``, ``prefix_2``, …), so the graph shows each
    elementary operation; constants stay inside the operation that uses them."""
    graph = nx.DiGraph()
    defined = {v for v, _ in equations}
    counter = iter(range(1, 10_000))

    def node_for(expr: sp.Expr) -> sp.Symbol:
        if expr.is_Symbol:
            graph.add_node(expr, kind="variable" if expr in defined else "input")
            return expr
        name = sp.Symbol(f"{prefix}_{next(counter)}", real=True)
        add_operation(name, expr, kind="intermediate")
        return name

    def add_operation(name: sp.Symbol, expr: sp.Expr, kind: str) -> None:
        if decompose and not _is_elementary(expr):
            replaced = {arg: node_for(arg) for arg in _operands(expr)}
            local = expr.xreplace(replaced)
        else:
            local = expr
            for s in expr.free_symbols:
                graph.add_node(s, kind="variable" if s in defined else "input")
        graph.add_node(name, kind=kind, expr=local)
        for child in local.free_symbols:
            graph.add_edge(child, name, derivative=sp.diff(local, child))

    for variable, expression in equations:
        add_operation(variable, sp.sympify(expression), kind="variable")
    if not nx.is_directed_acyclic_graph(graph):
        raise ValueError("the equations define a cycle")
    return ComputationalGraph(graph)


def _operands(expr: sp.Expr) -> list[sp.Expr]:
    return [a for a in expr.args if not a.is_number]


def _is_elementary(expr: sp.Expr) -> bool:
    """True when every operand is already a symbol or a constant (nothing left to split)."""
    return all(a.is_Symbol or a.is_number for a in expr.args)
