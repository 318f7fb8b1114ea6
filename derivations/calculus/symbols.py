"""Symbol types the problems share, so that every renderer prints them the same way."""

from __future__ import annotations

import sympy as sp


PARTIAL = "∂"


def partial(numerator: str, denominator: str) -> sp.Symbol:
    """An opaque derivative such as ∂L/∂ŷ, for answers "in terms of" an upstream gradient.
    Printers show it as a fraction of partials."""
    return sp.Symbol(f"{PARTIAL}{numerator}/{PARTIAL}{denominator}", real=True)


def partial_matrix(numerator: str, denominator: str, rows, cols) -> sp.MatrixSymbol:
    """An opaque Jacobian ∂a/∂b of the given shape (numerator layout)."""
    return sp.MatrixSymbol(f"{PARTIAL}{numerator}/{PARTIAL}{denominator}", rows, cols)


def split_partial(name: str) -> tuple[str, str] | None:
    """``("L", "yhat")`` for the name of ``partial("L", "yhat")``, else ``None``."""
    if name.startswith(PARTIAL) and f"/{PARTIAL}" in name:
        numerator, denominator = name[1:].split(f"/{PARTIAL}", 1)
        return numerator, denominator
    return None


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
