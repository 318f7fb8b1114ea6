"""Exact renderings of the notations SymPy does not print the way a sheet does."""

import unicodedata

import sympy as sp

from derivations.calculus.functions import sigmoid
from derivations.render.latex import latex
from derivations.render.pretty import inline, pretty
from derivations.render.sheet import tex_text
from derivations.calculus.symbols import partial

x, u = sp.symbols("x u", real=True)
f1 = sp.Function("f1")


def test_latex_prime_of_undefined_function():
    assert latex(sp.diff(f1(2 * x + 1), x)) == r"2 f_{1}'\left(2 x + 1\right)"
    assert latex(sp.diff(f1(u), u)) == r"f_{1}'\left(u\right)"


def test_pretty_prime_and_partials():
    assert pretty(sp.diff(f1(u), u)) == "f₁′(u)"
    assert unicodedata.normalize("NFC", pretty(partial("L", "yhat"))) == "∂L/∂ŷ"
    assert latex(partial("L", "w_1")) == r"\frac{\partial L}{\partial w_{1}}"


def test_sigmoid_prints_as_sigma():
    assert latex(sigmoid(x)) == r"\sigma\left(x\right)"
    assert inline(sigmoid(x) * (1 - sigmoid(x))) in {"σ(x)·(1 - σ(x))", "(1 - σ(x))·σ(x)"}


def test_prose_becomes_plain_ascii_latex():
    assert tex_text("σ′(h) ≥ 0 for ŷ₁ & 50%") == r"$\sigma'$(h) $\ge$ 0 for $\hat{y}_{1}$ \& 50\%"


def test_unicode_symbol_names_become_latex_commands():
    assert latex(partial("ℓ", "θ")) == r"\frac{\partial \ell}{\partial \theta}"
    assert latex(sp.Symbol("θ₁")) == r"\theta_{1}"
    assert latex(sp.Symbol("ŷ")) == r"\hat{y}"
