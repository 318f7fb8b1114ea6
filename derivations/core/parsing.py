"""A restricted parser from user text to SymPy, with no ``eval`` anywhere.

User text is parsed by Python's ``ast`` module and walked node by node; only numbers,
whitelisted names and functions, and arithmetic operators are turned into SymPy objects.
Anything else (attributes, subscripts, lambdas, strings, comprehensions) is a
:class:`~derivations.core.errors.UserError`.
"""

from __future__ import annotations

import ast
import operator

import sympy as sp

from derivations.core.errors import UserError

FUNCTIONS = {
    "exp": sp.exp, "log": sp.log, "sqrt": sp.sqrt, "sin": sp.sin, "cos": sp.cos,
    "tan": sp.tan, "tanh": sp.tanh, "abs": sp.Abs, "erf": sp.erf,
    "max": sp.Max, "min": sp.Min,
}
CONSTANTS = {"pi": sp.pi, "E": sp.E, "e": sp.E, "oo": sp.oo}
BINARY = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
    ast.Div: operator.truediv, ast.Pow: operator.pow,
}
UNARY = {ast.USub: operator.neg, ast.UAdd: operator.pos}
MAX_LENGTH = 500


def parse_expression(text: str, symbols: dict[str, sp.Basic] | None = None) -> sp.Expr:
    """Parse ``text`` into a SymPy expression; decimals become exact rationals.

    >>> parse_expression("1/2 + 0.25")
    3/4
    """
    if len(text) > MAX_LENGTH:
        raise UserError(f"expression is longer than {MAX_LENGTH} characters")
    try:
        tree = ast.parse(text.replace("^", "**"), mode="eval")
    except SyntaxError:
        raise UserError(f"malformed expression {text!r}") from None
    return _convert(tree.body, text, symbols or {})


def _convert(node: ast.AST, text: str, symbols: dict[str, sp.Basic]) -> sp.Expr:
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
        return sp.Rational(ast.get_source_segment(text, node) or repr(node.value)) if isinstance(node.value, float) else sp.Integer(node.value)
    if isinstance(node, ast.BinOp) and type(node.op) in BINARY:
        return BINARY[type(node.op)](_convert(node.left, text, symbols), _convert(node.right, text, symbols))
    if isinstance(node, ast.UnaryOp) and type(node.op) in UNARY:
        return UNARY[type(node.op)](_convert(node.operand, text, symbols))
    if isinstance(node, ast.Name):
        if node.id in symbols:
            return symbols[node.id]
        if node.id in CONSTANTS:
            return CONSTANTS[node.id]
        allowed = sorted(set(symbols) | set(CONSTANTS))
        raise UserError(f"unknown name {node.id!r} in {text!r} (allowed: {', '.join(allowed)})")
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and not node.keywords:
        if node.func.id not in FUNCTIONS:
            raise UserError(f"unknown function {node.func.id!r} in {text!r} (allowed: {', '.join(sorted(FUNCTIONS))})")
        return FUNCTIONS[node.func.id](*(_convert(arg, text, symbols) for arg in node.args))
    raise UserError(f"unsupported syntax in {text!r}: only numbers, names, + - * / ^ and calls are allowed")
