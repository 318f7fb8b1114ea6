"""Unicode formulas for the terminal: SymPy's pretty printer, taught f′(u) and ∂L/∂ŷ."""

from __future__ import annotations

import sys
import threading
import types

import sympy as sp
from sympy.printing.precedence import PRECEDENCE, precedence
from sympy.printing.pretty.pretty import PrettyPrinter
from sympy.printing.pretty.pretty_symbology import pretty_symbol
from sympy.printing.pretty.stringpict import prettyForm

from derivations.calculus.symbols import PartialMatrix, prime_of


#: What SymPy's ``_print_Mul`` imports from ``sympy.physics.units`` while no unit exists.
_NO_UNITS = types.ModuleType("sympy.physics.units", "Stands in while sympy.physics.units is not imported.")
_NO_UNITS.Quantity = type("Quantity", (), {"__doc__": "Matches nothing: no unit exists yet."})


class TerminalPrinter(PrettyPrinter):
    def _print_Mul(self, product):
        """SymPy's, without importing ``sympy.physics.units`` (75 ms, a seventh of ``solve``'s
        start) just to set units apart: no unit can exist while that module is not imported.
        Only in a single-threaded process, where no other import can meet the stand-in."""
        if "sympy.physics.units" in sys.modules or threading.active_count() > 1:
            return super()._print_Mul(product)
        sys.modules["sympy.physics.units"] = _NO_UNITS
        try:
            return super()._print_Mul(product)
        finally:
            if sys.modules.get("sympy.physics.units") is _NO_UNITS:
                del sys.modules["sympy.physics.units"]

    def _print_Subs(self, expr):
        prime = prime_of(expr)
        if prime is None:
            return super()._print_Subs(expr)
        function, point = prime
        return self._print(sp.Function(pretty_symbol(function.__name__) + "′")(point))

    def _print_Partial(self, expr):
        return prettyForm(f"∂{pretty_symbol(expr.numerator)}/∂{pretty_symbol(expr.denominator)}")

    def _print_PartialMatrix(self, expr):
        return self._print_Partial(expr)

    def _print_sigmoid(self, expr):
        return self._print(sp.Function("σ")(*expr.args))

    def _print_relu(self, expr):
        return self._print(sp.Function("ReLU")(*expr.args))

    def _print_MatrixSymbol(self, expr):
        return self._print_Symbol(sp.Symbol(expr.name))

    def _print_HadamardProduct(self, expr):
        return self._print_seq(expr.args, None, None, " ⊙ ", parenthesize=lambda a: precedence(a) < PRECEDENCE["Mul"])

    def _print_Heaviside(self, expr):  # H(u), as the assumptions name it
        return self._print(sp.Function("H")(expr.args[0]))

    def _print_Indexed(self, expr):  # ℓ[s] as ℓₛ
        return self._print(sp.Symbol(f"{expr.base}_{'_'.join(map(str, expr.indices))}"))

    def _print_Max(self, expr):
        return self._print(sp.Function("max")(*expr.args))

    def _print_Min(self, expr):
        return self._print(sp.Function("min")(*expr.args))

    def _print_Transpose(self, expr):
        if isinstance(expr.arg, PartialMatrix):  # (∂ℓ/∂W)ᵀ, not ∂ℓ/∂Wᵀ
            return prettyForm(*self._print(expr.arg).parens()) ** prettyForm("T")
        return super()._print_Transpose(expr)

    def _print_Derivative(self, expr):
        if prime_of(expr) is not None:
            return self._print_Subs(expr)
        if not (expr.expr.is_Symbol and all(n == 1 for _, n in expr.variable_count)):
            return super()._print_Derivative(expr)
        d = "∂" if len(expr.variables) > 1 else "d"
        bottom = "".join(f"{d}{pretty_symbol(v.name)}" for v in expr.variables)
        return prettyForm(f"{d}{pretty_symbol(expr.expr.name)}/{bottom}")


def pretty(expr) -> str:
    """Unicode rendering of a SymPy object, a number, or a shape tuple."""
    if isinstance(expr, tuple):
        return "(" + ", ".join(pretty(e) for e in expr) + ")"
    return TerminalPrinter({"use_unicode": True, "wrap_line": False}).doprint(sp.sympify(expr))


def pretty_equation(lhs, rhs) -> str:
    """``lhs = rhs`` side by side, multi-line pictures aligned on their baselines."""
    forms = [TerminalPrinter({"use_unicode": True})._print(sp.sympify(s)) if not isinstance(s, tuple)
             else prettyForm(pretty(s)) for s in (lhs, rhs) if s is not None]
    if len(forms) == 1:
        return str(forms[0])
    return str(prettyForm(*forms[0].right(" = ", forms[1])))
