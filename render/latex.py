"""LaTeX for formulas: SymPy's printer, taught to print f′(u) and ∂L/∂ŷ the way a sheet does."""

from __future__ import annotations

import unicodedata
from typing import Any

import sympy as sp
from sympy.printing.latex import LatexPrinter
from sympy.printing.precedence import PRECEDENCE

from derivations.calculus.symbols import PartialMatrix, prime_of


SUBSCRIPT_DIGITS = dict(zip("₀₁₂₃₄₅₆₇₈₉", "0123456789"))


def ascii_symbol_name(name: str) -> str:
    """Spell Unicode in a symbol name the way SymPy's LaTeX printer understands:
    ``θ₁`` → ``theta_1``, ``ℓ`` → ``ell``, ``ŷ`` → ``yhat``."""
    out = ""
    for ch in unicodedata.normalize("NFC", name):
        if ch.isascii():
            out += ch
        elif ch in SUBSCRIPT_DIGITS:
            out += ("" if out.endswith("_") else "_") + SUBSCRIPT_DIGITS[ch]
        elif ch == "ℓ":
            out += "ell"
        elif unicodedata.name(ch, "").startswith("GREEK "):
            letter = unicodedata.name(ch).split()[-1].lower()
            out += letter.capitalize() if "CAPITAL" in unicodedata.name(ch) else letter
        elif len(unicodedata.normalize("NFD", ch)) == 2 and unicodedata.normalize("NFD", ch)[1] == "\u0302":
            out += unicodedata.normalize("NFD", ch)[0] + "hat"
        else:
            raise ValueError(f"symbol name {name!r}: no LaTeX spelling for {ch!r}")
    return out


class SheetLatexPrinter(LatexPrinter):
    def _print_Subs(self, expr):
        prime = prime_of(expr)
        if prime is None:
            return super()._print_Subs(expr)
        function, point = prime
        return rf"{self._print(sp.Symbol(function.__name__))}'\left({self._print(point)}\right)"

    def _print_Symbol(self, expr, style="plain"):
        ascii_name = ascii_symbol_name(expr.name)
        return super()._print_Symbol(expr if ascii_name == expr.name else sp.Symbol(ascii_name), style)

    def _print_Partial(self, expr):
        num, den = (self._print(sp.Symbol(ascii_symbol_name(p))) for p in (expr.numerator, expr.denominator))
        return rf"\frac{{\partial {num}}}{{\partial {den}}}"

    def _print_PartialMatrix(self, expr):
        return self._print_Partial(expr)

    def _print_Derivative(self, expr):
        if prime_of(expr) is not None:
            return self._print_Subs(expr)
        if not (expr.expr.is_Symbol and all(n == 1 for _, n in expr.variable_count)):
            return super()._print_Derivative(expr)
        d = r"\partial " if len(expr.variables) > 1 else "d "
        bottom = " ".join(f"{d}{self._print(v)}" for v in expr.variables)
        return rf"\frac{{{d}{self._print(expr.expr)}}}{{{bottom}}}"

    def _print_sigmoid(self, expr, exp=None):
        return self._named(r"\sigma", expr, exp)

    def _print_relu(self, expr, exp=None):
        return self._named(r"\operatorname{ReLU}", expr, exp)

    def _named(self, name, expr, exp):
        head = name if exp is None else f"{name}^{{{exp}}}"
        return rf"{head}\left({self._print(expr.args[0])}\right)"

    def _print_MatrixSymbol(self, expr):
        return self._print_Symbol(sp.Symbol(expr.name))

    def _print_HadamardProduct(self, expr):
        return r" \odot ".join(self.parenthesize(a, PRECEDENCE["Mul"], strict=True) for a in expr.args)

    def _print_Heaviside(self, expr, exp=None):  # H(u); its value at 0 is an assumption, stated in words
        return self._named("H", expr, exp)

    def _print_Transpose(self, expr):
        if isinstance(expr.arg, PartialMatrix):  # (∂ℓ/∂W)ᵀ, not ∂ℓ/∂Wᵀ
            return rf"\left({self._print(expr.arg)}\right)^{{T}}"
        return super()._print_Transpose(expr)


def latex(expr) -> str:
    """LaTeX of a SymPy object, a number, or a shape tuple."""
    if isinstance(expr, tuple):
        return r"\left(" + ", ".join(latex(e) for e in expr) + r"\right)"
    return SheetLatexPrinter({"mat_delim": "("}).doprint(sp.sympify(expr))


def latex_equation(lhs, rhs) -> str:
    """``lhs = rhs``, or whichever side is given."""
    return " = ".join(latex(side) for side in (lhs, rhs) if side is not None)


def numbers_latex(value: Any) -> str:
    """A value at the given numbers (a number or nested lists of them, as the JSON contract holds
    it) as LaTeX to six significant digits; a reason (text) as upright text."""
    if isinstance(value, bool) or not isinstance(value, (int, float, list)):
        return r"\text{" + "".join(_TEXT_ESCAPES.get(ch, ch) for ch in str(value)) + "}"
    if isinstance(value, list):
        rows = value if value and all(isinstance(r, list) for r in value) else [[v] for v in value]
        return latex(sp.Matrix(rows).applyfunc(lambda v: sp.Float(v, 6)))
    return latex(sp.Float(value, 6))


#: what LaTeX's text mode takes literally only when escaped
_TEXT_ESCAPES = {"\\": r"\textbackslash{}", "{": r"\{", "}": r"\}", "$": r"\$", "&": r"\&", "#": r"\#",
                 "^": r"\^{}", "_": r"\_", "%": r"\%", "~": r"\~{}"}
