"""Symbol types the problems share, so that every renderer prints them the same way."""

from __future__ import annotations

import sympy as sp
from sympy.core.symbol import Str
from sympy.printing.pretty.pretty_symbology import pretty_symbol


PARTIAL = "∂"


def _partial_name(numerator: str, denominator: str) -> str:
    for part in (numerator, denominator):
        if not isinstance(part, str) or not part or f"/{PARTIAL}" in part:
            raise ValueError(f"partial: {part!r} is not a numerator or denominator name")
    return f"{PARTIAL}{numerator}/{PARTIAL}{denominator}"


def _partial_str(numerator: str, denominator: str) -> str:
    return f"{PARTIAL}{pretty_symbol(numerator)}/{PARTIAL}{pretty_symbol(denominator)}"


class Partial(sp.Symbol):
    """An opaque real derivative ∂numerator/∂denominator, such as ∂L/∂ŷ, for answers "in terms
    of" an upstream gradient: a Symbol named ``∂L/∂yhat`` that keeps its two parts. The LaTeX
    and terminal printers show it through their ``_print_Partial``; string printers (``str``,
    which SymPy asks ``_sympystr`` first) as ``∂L/∂ŷ``."""

    __slots__ = ("numerator", "denominator")

    def __new__(cls, numerator: str, denominator: str):
        obj = super().__new__(cls, _partial_name(numerator, denominator), real=True)
        obj.numerator, obj.denominator = numerator, denominator
        return obj

    def __getnewargs_ex__(self):
        return (self.numerator, self.denominator), {}

    @classmethod
    def class_key(cls):  # sorted among symbols by name, as the Symbol it replaced: same term order
        return sp.Symbol.class_key()

    def _sympystr(self, printer):
        return _partial_str(self.numerator, self.denominator)

    def _sympyrepr(self, printer):
        return f"{type(self).__name__}({self.numerator!r}, {self.denominator!r})"


class PartialName(Str):
    """The name of a :class:`PartialMatrix`: the string ``∂ℓ/∂W`` that keeps ℓ and W."""

    __slots__ = ("numerator", "denominator")

    def __new__(cls, numerator: str, denominator: str):
        obj = super().__new__(cls, _partial_name(numerator, denominator))
        obj.numerator, obj.denominator = numerator, denominator
        return obj

    def __getnewargs__(self):
        return self.numerator, self.denominator

    @classmethod
    def class_key(cls):
        return Str.class_key()

    def _sympyrepr(self, printer):
        return f"{type(self).__name__}({self.numerator!r}, {self.denominator!r})"


class PartialMatrix(sp.MatrixSymbol):
    """An opaque Jacobian ∂a/∂b of the given shape (numerator layout). Its args are
    ``(PartialName, rows, cols)``, so ``func(*args)`` (``xreplace``, ``subs`` of a dimension,
    ``doit``) rebuilds a PartialMatrix. Printed like :class:`Partial`, through
    ``_print_PartialMatrix`` or ``_sympystr``."""

    def __new__(cls, name: PartialName, rows, cols):
        if not isinstance(name, PartialName):
            raise TypeError(f"PartialMatrix needs a PartialName, not {name!r}; use partial_matrix()")
        return super().__new__(cls, name, rows, cols)

    @classmethod
    def class_key(cls):
        return sp.MatrixSymbol.class_key()

    @property
    def numerator(self) -> str:
        return self.args[0].numerator

    @property
    def denominator(self) -> str:
        return self.args[0].denominator

    def _sympystr(self, printer):
        return _partial_str(self.numerator, self.denominator)


def partial(numerator: str, denominator: str) -> Partial:
    """An opaque derivative such as ∂L/∂ŷ, for answers "in terms of" an upstream gradient."""
    return Partial(numerator, denominator)


def partial_matrix(numerator: str, denominator: str, rows, cols) -> PartialMatrix:
    """An opaque Jacobian ∂a/∂b of the given shape (numerator layout)."""
    return PartialMatrix(PartialName(numerator, denominator), rows, cols)


def prime_of(expr: sp.Basic):
    """``(f, u)`` when ``expr`` is f′(u) for an undefined function f, else ``None``.

    SymPy writes f′(u) as ``Derivative(f(u), u)`` when u is a symbol and as
    ``Subs(Derivative(f(ξ), ξ), ξ, u)`` otherwise; printers use this to show f′(u).
    """
    point = None
    if isinstance(expr, sp.Subs) and len(expr.variables) == 1:
        expr, point = expr.expr, expr.point[0]
    if (isinstance(expr, sp.Derivative) and len(expr.variables) == 1 and expr.derivative_count == 1
            and isinstance(expr.expr, sp.core.function.AppliedUndef) and expr.expr.args == expr.variables):
        return expr.expr.func, expr.variables[0] if point is None else point
    return None
