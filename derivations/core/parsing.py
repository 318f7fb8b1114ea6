"""A restricted parser from user text to SymPy, with no ``eval`` anywhere, in bounded work.

User text is parsed by Python's ``ast`` module and walked node by node; only numbers,
whitelisted names and functions, and arithmetic operators are turned into SymPy objects.
Anything else (attributes, subscripts, lambdas, strings, comprehensions) is a
:class:`~derivations.core.errors.UserError`.

Every number is held to a magnitude budget *before* SymPy computes it: ``9^9^9`` would take
SymPy hours, so a power's size is estimated from logarithms first, and literals, exponents
and results outside the budget are refused with the reason.
"""

from __future__ import annotations

import ast
import math
import operator
from decimal import Decimal, InvalidOperation

import sympy as sp

from derivations.core.errors import UserError

FUNCTIONS = {
    "exp": sp.exp, "log": sp.log, "sqrt": sp.sqrt, "sin": sp.sin, "cos": sp.cos,
    "tan": sp.tan, "tanh": sp.tanh, "abs": sp.Abs, "erf": sp.erf,
    "max": sp.Max, "min": sp.Min,
}
CONSTANTS = {"pi": sp.pi, "E": sp.E, "e": sp.E}
BINARY = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
    ast.Div: operator.truediv, ast.Pow: operator.pow,
}
UNARY = {ast.USub: operator.neg, ast.UAdd: operator.pos}
MAX_LENGTH = 500
#: Numbers stay within 10^±MAX_DECADES; a power's exponent within ±MAX_EXPONENT.
MAX_DECADES = 100
MAX_EXPONENT = 100
#: How much of the user's text an error message repeats.
ECHO = 60


def parse_expression(text: str, symbols: dict[str, sp.Basic] | None = None) -> sp.Expr:
    """Parse ``text`` into a SymPy expression; decimals become exact rationals.

    >>> parse_expression("1/2 + 0.25")
    3/4
    """
    if len(text) > MAX_LENGTH:
        raise UserError(f"expression is longer than {MAX_LENGTH} characters")
    source = text.replace("^", "**")
    try:
        tree = ast.parse(source, mode="eval")
    except (SyntaxError, RecursionError, MemoryError):
        raise UserError(f"malformed expression {echo(text)}") from None
    try:
        return _Converter(source, text, symbols or {}).convert(tree.body)
    except RecursionError:
        raise UserError(f"expression {echo(text)} is nested too deeply") from None


def echo(text: str) -> str:
    """The user's text for an error message, cut short so the reason stays visible."""
    return repr(text if len(text) <= ECHO else text[:ECHO] + "…")


class _Converter:
    """Walks the tree of ``source`` (the text with ^ read as **); errors quote ``text``."""

    def __init__(self, source: str, text: str, symbols: dict[str, sp.Basic]):
        self.source, self.text, self.symbols = source, text, symbols

    def convert(self, node: ast.AST) -> sp.Expr:
        text = self.text
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
            return _literal(ast.get_source_segment(self.source, node) or repr(node.value))
        if isinstance(node, ast.BinOp) and type(node.op) in BINARY:
            left, right = self.convert(node.left), self.convert(node.right)
            if isinstance(node.op, ast.Pow):
                _check_power(left, right, text)
            return _within_budget(BINARY[type(node.op)](left, right), text)
        if isinstance(node, ast.UnaryOp) and type(node.op) in UNARY:
            return UNARY[type(node.op)](self.convert(node.operand))
        if isinstance(node, ast.Name):
            if node.id in self.symbols:
                return self.symbols[node.id]
            if node.id in CONSTANTS:
                return CONSTANTS[node.id]
            allowed = sorted(set(self.symbols) | set(CONSTANTS))
            raise UserError(f"unknown name {node.id!r} in {echo(text)} (allowed: {', '.join(allowed)})")
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and not node.keywords:
            if node.func.id not in FUNCTIONS:
                raise UserError(f"unknown function {node.func.id!r} in {echo(text)} "
                                f"(allowed: {', '.join(sorted(FUNCTIONS))})")
            args = [self.convert(arg) for arg in node.args]
            if not args:
                raise UserError(f"{node.func.id} needs an argument in {echo(text)}")
            try:
                value = FUNCTIONS[node.func.id](*args)
            except (TypeError, ValueError):  # a wrong count, or max of a complex number
                raise UserError(f"{node.func.id} cannot take the arguments in {echo(text)}") from None
            return _within_budget(value, text)
        raise UserError(f"unsupported syntax in {echo(text)}: only numbers, names, + - * / ^ and calls are allowed")


def _literal(source: str) -> sp.Rational:
    """A number as written, exact, after checking its size from the text alone (``1e999999999``
    never becomes a number)."""
    try:
        exponent = Decimal(source.replace("_", "")).adjusted()
    except InvalidOperation:
        raise UserError(f"malformed number {echo(source)}") from None
    if abs(exponent) > MAX_DECADES and Decimal(source.replace("_", "")) != 0:
        raise UserError(f"the number {echo(source)} is outside the supported range 10^±{MAX_DECADES}")
    return sp.Rational(source.replace("_", ""))


def _decades(value: sp.Expr) -> float | None:
    """log10 |value| for a number, estimated without computing huge digits; None if symbolic."""
    if not value.is_number:
        return None
    if value.is_Rational:
        if value == 0:
            return -math.inf
        return (abs(value.p).bit_length() - value.q.bit_length()) * math.log10(2)
    magnitude = abs(sp.N(value, 15, maxn=60))
    if not magnitude.is_Number:
        return None
    return -math.inf if magnitude == 0 else float(sp.log(magnitude, 10).evalf(15))


def _check_power(base: sp.Expr, exponent: sp.Expr, text: str) -> None:
    if exponent.is_number:
        size = _decades(exponent)
        if size is not None and size > math.log10(MAX_EXPONENT):
            raise UserError(f"the exponent in {echo(text)} is larger than {MAX_EXPONENT}")
    base_size, power = _decades(base), _decades(exponent)
    if base_size is not None and power is not None and base_size > 0:
        if base_size * 10 ** power > MAX_DECADES:
            raise UserError(f"{echo(text)} is larger than 10^{MAX_DECADES}")


def _within_budget(value: sp.Expr, text: str) -> sp.Expr:
    if value.has(sp.nan, sp.zoo, sp.oo, -sp.oo):
        raise UserError(f"{echo(text)} is not finite (a division by zero?)")
    if value.is_number and value.is_extended_real is False:
        raise UserError(f"{echo(text)} is not a real number")
    size = _decades(value)
    if size is not None and abs(size) > MAX_DECADES and size != -math.inf:
        raise UserError(f"{echo(text)} is outside the supported range 10^±{MAX_DECADES}")
    return value
