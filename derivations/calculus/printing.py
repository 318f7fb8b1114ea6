"""One-line unicode for any expression of the toolkit: ``W₁·x + b₁``, ``(∂ℓ/∂W)ᵀ``, ``√v̂``, ``|g|``.

It is the form for places a picture cannot go (step prose, check names, graph edge labels,
table cells), so it lives at the bottom of the package where the problem model can use it.
"""

from __future__ import annotations

import sympy as sp
from sympy.printing.precedence import PRECEDENCE
from sympy.printing.pretty.pretty_symbology import pretty_symbol
from sympy.printing.str import StrPrinter

from derivations.calculus.symbols import PartialMatrix, prime_of

_SUPERSCRIPTS = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")


class InlinePrinter(StrPrinter):
    """SymPy's ``str`` printer taught the notation of the sheets."""

    # A StrPrinter asks an object's own ``_sympystr`` before any ``_print_<Class>`` method, so
    # Partial and PartialMatrix print here as in plain ``str``: ∂L/∂ŷ (see calculus/symbols.py).

    def _print_Symbol(self, expr):
        return pretty_symbol(expr.name)

    def _print_MatrixSymbol(self, expr):
        return self._print_Symbol(sp.Symbol(expr.name))

    def _print_Transpose(self, expr):
        if isinstance(expr.arg, PartialMatrix):  # (∂ℓ/∂W)ᵀ, not ∂ℓ/∂Wᵀ
            return f"({self._print(expr.arg)})ᵀ"
        return self.parenthesize(expr.arg, PRECEDENCE["Pow"], strict=True) + "ᵀ"

    def _print_MatMul(self, expr):
        coefficient, factors = expr.as_coeff_matrices()
        text = "·".join(self.parenthesize(f, PRECEDENCE["Mul"], strict=False) for f in factors)
        number, rest = coefficient.as_coeff_Mul()
        sign = "-" if number.is_extended_negative else ""
        size = abs(number) * rest
        return sign + (text if size == 1 else f"{self.parenthesize(size, PRECEDENCE['Mul'], strict=True)}·{text}")

    def _print_HadamardProduct(self, expr):
        return " ⊙ ".join(self.parenthesize(a, PRECEDENCE["Mul"], strict=True) for a in expr.args)

    def _print_HadamardPower(self, expr):  # X^(∘-1): entry by entry, never a matrix inverse
        return f"{self.parenthesize(expr.base, PRECEDENCE['Pow'], strict=True)}^(∘{self._print(expr.exp)})"

    def _print_Derivative(self, expr):
        if prime_of(expr) is not None:
            return self._print_Subs(expr)
        if not expr.expr.is_Symbol:
            return f"d/{''.join(f'd{self._print(v)}' for v in expr.variables)} {self.parenthesize(expr.expr, PRECEDENCE['Mul'], strict=True)}"
        return f"d{self._print(expr.expr)}/" + "".join(f"d{self._print(v)}" for v in expr.variables)

    def _print_Subs(self, expr):
        prime = prime_of(expr)
        if prime is None:
            return super()._print_Subs(expr)
        function, point = prime
        return f"{pretty_symbol(function.__name__)}′({self._print(point)})"

    def _print_sigmoid(self, expr):
        return f"σ({self._print(expr.args[0])})"

    def _print_relu(self, expr):
        return f"ReLU({self._print(expr.args[0])})"

    def _print_Abs(self, expr):
        return f"|{self._print(expr.args[0])}|"

    def _print_Max(self, expr):
        return f"max({', '.join(self._print(a) for a in expr.args)})"

    def _print_Min(self, expr):
        return f"min({', '.join(self._print(a) for a in expr.args)})"

    def _print_Pow(self, expr, rational=False):
        base, exponent = expr.args
        if exponent is sp.S.Half:
            return "√" + self.parenthesize(base, PRECEDENCE["Atom"], strict=True)
        if exponent.is_Integer and 1 < exponent < 10 and not rational:
            return self.parenthesize(base, PRECEDENCE["Pow"], strict=True) + str(exponent).translate(_SUPERSCRIPTS)
        if exponent.is_Rational or exponent.is_Atom or rational:
            return super()._print_Pow(expr, rational)
        return f"{self.parenthesize(base, PRECEDENCE['Pow'], strict=True)}^({self._print(exponent)})"

    def _print_MatPow(self, expr):
        """A matrix power; a 1×1 one such as ‖v‖⁻¹ keeps its exponent, as 1/M has no meaning."""
        if expr.exp.is_Integer and -10 < expr.exp < 0:
            power = str(expr.exp).translate(_SUPERSCRIPTS)
            return self.parenthesize(expr.base, PRECEDENCE["Pow"], strict=True) + power
        return self._print_Pow(expr)

    _print_Inverse = _print_MatPow

    def _print_MatrixBase(self, expr):
        """A small explicit matrix as nested lists: [[1, 1/2], [0, 3]]."""
        return "[" + ", ".join("[" + ", ".join(self._print(v) for v in row) + "]" for row in expr.tolist()) + "]"

    _print_ImmutableDenseMatrix = _print_MutableDenseMatrix = _print_MatrixBase

    def _print_Relational(self, expr):
        operator = {">=": "≥", "<=": "≤", "!=": "≠", "==": "="}.get(expr.rel_op, expr.rel_op)
        return f"{self._print(expr.lhs)} {operator} {self._print(expr.rhs)}"

    def _print_Mul(self, expr):
        return super()._print_Mul(expr).replace("*", "·")


def inline(expr) -> str:
    """One-line unicode rendering, e.g. ``2·x`` or ``σ(h)·(1 - σ(h))``; a NumPy array as
    nested lists."""
    if isinstance(expr, tuple):
        return "(" + ", ".join(inline(e) for e in expr) + ")"
    if hasattr(expr, "tolist") and not isinstance(expr, sp.Basic):
        return str(expr.tolist())
    return InlinePrinter().doprint(sp.sympify(expr))
