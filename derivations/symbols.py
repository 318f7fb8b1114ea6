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

    SymPy writes f′(u) as ``Subs(Derivative(f(ξ), ξ), ξ, u)``; printers use this to show f′(u).
    """
    if not isinstance(expr, sp.Subs):
        return None
    inner = expr.expr
    if (isinstance(inner, sp.Derivative) and len(inner.variables) == 1 and len(expr.variables) == 1
            and isinstance(inner.expr, sp.core.function.AppliedUndef)
            and inner.expr.args == (inner.variables[0],) == expr.variables):
        return inner.expr.func, expr.point[0]
    return None
