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
from functools import lru_cache
from typing import Callable

import sympy as sp
from sympy.matrices.expressions.matexpr import MatrixExpr

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
            return self.combine(node.op, self.convert(node.left), self.convert(node.right))
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

    def combine(self, op: ast.operator, left: sp.Basic, right: sp.Basic) -> sp.Basic:
        """``left op right`` for one of :data:`BINARY`, within the magnitude budget."""
        if isinstance(op, ast.Pow):
            _check_power(left, right, self.text)
        return _within_budget(BINARY[type(op)](left, right), self.text)


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


# ---------------------------------------------------------------------------------------------
# Formulas in the toolkit's operations, with matrices (the right sides of ``derive``'s equations).

def parse_formula(text: str, lookup: Callable[[str], sp.Basic | None], quote: str | None = None) -> sp.Basic:
    """``text`` written with the toolkit's operations: names given by ``lookup`` (a scalar
    symbol, a matrix symbol, or ``None`` for a name it does not know), numbers, ``+ - * / ^``,
    ``@``, ``.T`` and the functions of :func:`formula_functions`, within the same length and
    magnitude budgets as :func:`parse_expression`.

    Matrices combine as the toolkit's op vocabulary does: ``*`` is the matrix product where the
    shapes chain, else the entrywise product of equal shapes, or a scaling by a 1×1; a number
    added to a matrix is added to every entry; ``^`` and every scalar function act entry by
    entry. Errors quote ``quote`` (the whole equation) and name both shapes of a mismatch."""
    quote = text if quote is None else quote
    if len(text) > MAX_LENGTH:
        raise UserError(f"{echo(quote)} is longer than {MAX_LENGTH} characters")
    source = text.replace("^", "**")
    try:
        tree = ast.parse(source, mode="eval")
    except (SyntaxError, RecursionError, MemoryError, ValueError):
        raise UserError(f"malformed formula {echo(quote)}") from None
    try:
        return _FormulaConverter(source, quote, lookup).convert(tree.body)
    except RecursionError:
        raise UserError(f"{echo(quote)} is nested too deeply") from None


def shape_text(shape: tuple | None) -> str:
    """``3×2`` for a matrix's shape, ``a number`` for a scalar's (None)."""
    return "a number" if shape is None else "×".join(map(str, shape))


def _shape(value: sp.Basic) -> tuple | None:
    return tuple(value.shape) if _is_matrix(value) else None


def _is_matrix(value) -> bool:
    return isinstance(value, MatrixExpr)


def _number(value: sp.Basic) -> sp.Basic:
    """A number that meets a matrix (a scaling, a shift, an exponent); a scalar *name* cannot,
    since the rule table differentiates matrix symbols only."""
    if not value.is_number:
        raise ValueError(f"{value} is a scalar name among matrices: declare it 1x1")
    return value


def _transpose(a):
    return a.T if _is_matrix(a) else a


def _scaled(X, s):
    """``X`` times the 1×1 ``s``: on the side where the product chains, or for a matrix with
    more than one row and column, entry by entry with ``s`` copied into every entry."""
    from derivations.calculus.rules import Ones

    if X.shape[1] == 1:
        return X * s
    if X.shape[0] == 1:
        return s * X
    return sp.HadamardProduct(Ones(X.shape[0], 1) * s * Ones(1, X.shape[1]), X)


def _times(a, b):
    """``a * b``: a scaling by a number, the matrix product where the shapes chain, else the
    entrywise product of equal shapes, else a scaling by a 1×1."""
    if not (_is_matrix(a) and _is_matrix(b)):
        _number(b if _is_matrix(a) else a)
        return a * b
    if a.shape[1] == b.shape[0]:
        return a * b
    if a.shape == b.shape:
        return sp.HadamardProduct(a, b)
    if (1, 1) in (a.shape, b.shape):
        return _scaled(b, a) if a.shape == (1, 1) else _scaled(a, b)
    raise sp.ShapeError("the shapes neither chain nor agree")


def _plus(a, b):
    from derivations.calculus.rules import Ones

    if not _is_matrix(a):
        a = _number(a) * Ones(*b.shape)
    if not _is_matrix(b):
        b = _number(b) * Ones(*a.shape)
    return a + b


def _divide(a, b):
    """``a / b``: by a number, by a 1×1 (as a scaling), or entry by entry by a matrix of the
    same shape."""
    from derivations.calculus.rules import Elementwise, reciprocal

    if not _is_matrix(b):
        return a * (1 / _number(b))
    if b.shape == (1, 1):
        return _times(a, reciprocal(b))
    t = sp.Dummy("t", real=True)
    inverse = Elementwise(sp.Lambda(t, 1 / t), b)
    if not _is_matrix(a):
        return _number(a) * inverse
    if a.shape != b.shape:
        raise sp.ShapeError("entrywise division needs equal shapes")
    return sp.HadamardProduct(a, inverse)


def _power(a, k):
    from derivations.calculus.graph import power

    if _is_matrix(k):
        raise ValueError("an exponent must be a number, not a matrix")
    return power(a, _number(k))


def _matmul(a, b):
    if not (_is_matrix(a) and _is_matrix(b)):
        raise ValueError("@ multiplies two matrices; use * with a number")
    return a * b


#: ``left op right`` when a matrix takes part, and the verb a shape mismatch is reported with
MATRIX_BINARY = {ast.Add: (_plus, "add"), ast.Sub: (lambda a, b: _plus(a, -b), "subtract"),
                 ast.Mult: (_times, "multiply"), ast.MatMult: (_matmul, "multiply"),
                 ast.Div: (_divide, "divide"), ast.Pow: (_power, "raise")}


@lru_cache(maxsize=1)
def formula_functions() -> dict[str, tuple[Callable, int]]:
    """Function name -> (the operation, its number of arguments) for :func:`parse_formula`: the
    toolkit's activations and scalar functions (entry by entry on a matrix), then its vector and
    matrix operations. Built on first use: the toolkit imports NumPy and networkx."""
    from derivations.calculus import graph, rules
    from derivations.calculus.functions import gelu, relu, sigmoid, softplus

    def entrywise(f):
        return lambda a: rules.Elementwise(f, a) if _is_matrix(a) else f(a)

    def vector(op):
        def apply(*args):
            if not all(_is_matrix(a) for a in args):
                raise ValueError("it takes vectors: declare the shape of its arguments")
            return op(*args)
        return apply

    def maximum(a, b):
        if _is_matrix(a) and _is_matrix(b):
            raise ValueError("max and min take a matrix and a number (entry by entry), not two matrices")
        a, b = (b, a) if _is_matrix(b) else (a, b)
        return graph.maximum(a, _number(b)) if _is_matrix(a) else sp.Max(a, b)

    scalar = {"sigmoid": sigmoid, "σ": sigmoid, "tanh": sp.tanh, "relu": relu, "ReLU": relu, "softplus": softplus,
              "gelu": gelu, "GELU": gelu, "exp": sp.exp, "log": sp.log, "sqrt": sp.sqrt, "sin": sp.sin,
              "cos": sp.cos, "abs": sp.Abs, "erf": sp.erf}
    return {
        **{name: (entrywise(f), 1) for name, f in scalar.items()},
        "max": (maximum, 2), "min": (lambda a, b: -maximum(-a, -b), 2),
        "softmax": (vector(rules.Softmax), 1), "logsumexp": (vector(rules.LogSumExp), 1),
        "LSE": (vector(rules.LogSumExp), 1), "norm": (vector(rules.Norm), 1),
        "sum": (lambda a: rules.total(a) if _is_matrix(a) else a, 1), "transpose": (_transpose, 1),
        "dot": (lambda a, b: graph.dot(a, b) if _is_matrix(a) and _is_matrix(b) else _times(a, b), 2),
        "hadamard": (vector(lambda a, b: sp.HadamardProduct(a, b)), 2),
        "cross_entropy": (vector(rules.cross_entropy), 2),
    }


class _FormulaConverter(_Converter):
    """The formula converter with names from a lookup, matrices, ``@``, ``.T`` and the
    toolkit's functions."""

    def __init__(self, source: str, text: str, lookup: Callable[[str], sp.Basic | None]):
        super().__init__(source, text, {})
        self.lookup = lookup

    def convert(self, node: ast.AST) -> sp.Basic:
        if isinstance(node, ast.Name):
            value = self.lookup(node.id)
            if value is None:
                raise UserError(f"unknown name {echo(node.id)} in {echo(self.text)}")
            return value
        if isinstance(node, ast.Attribute) and node.attr == "T":
            return _transpose(self.convert(node.value))
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.MatMult):
            return self.combine(node.op, self.convert(node.left), self.convert(node.right))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and not node.keywords:
            return self._call(node.func.id, node.args)
        return super().convert(node)

    def combine(self, op: ast.operator, left: sp.Basic, right: sp.Basic) -> sp.Basic:
        if not (_is_matrix(left) or _is_matrix(right)) and not isinstance(op, ast.MatMult):
            return super().combine(op, left, right)
        if isinstance(op, ast.Pow):
            _check_power(left, right, self.text)
        function, verb = MATRIX_BINARY[type(op)]
        try:
            return _within_budget(function(left, right), self.text)
        except sp.ShapeError:
            raise UserError(f"shape mismatch in {echo(self.text)}: cannot {verb} {_shown(left)} "
                            f"({shape_text(_shape(left))}) and {_shown(right)} ({shape_text(_shape(right))})") from None
        except (ValueError, TypeError) as exc:
            raise UserError(f"in {echo(self.text)}: {_reason(exc)}") from None

    def _call(self, name: str, nodes: list[ast.AST]) -> sp.Basic:
        functions = formula_functions()
        if name not in functions:
            raise UserError(f"unknown function {name!r} in {echo(self.text)} (allowed: {', '.join(functions)})"[:270])
        function, arity = functions[name]
        if len(nodes) != arity:
            raise UserError(f"{name} takes {arity} argument{'s' * (arity > 1)}, not {len(nodes)}, in {echo(self.text)}")
        args = [self.convert(a) for a in nodes]
        try:
            return _within_budget(function(*args), self.text)
        except (sp.ShapeError, ValueError, TypeError) as exc:
            shapes = ", ".join(f"{_shown(a)} ({shape_text(_shape(a))})" for a in args)
            raise UserError(f"{name} cannot take {shapes} in {echo(self.text)}: {_reason(exc)}") from None


def _reason(exc: Exception) -> str:
    """An exception's message without its extra arguments (SymPy's ShapeError carries sizes)."""
    first = exc.args[0] if exc.args and isinstance(exc.args[0], str) else str(exc)
    return first[:100]


def _shown(value: sp.Basic) -> str:
    """An operand for an error message: its one-line form, cut short."""
    from derivations.calculus.printing import inline

    text = inline(value)
    return text if len(text) <= 30 else text[:29] + "…"
