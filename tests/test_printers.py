"""Exact renderings of the notations SymPy does not print the way a sheet does."""

import pickle
import unicodedata

import numpy as np
import sympy as sp

from derivations.calculus.functions import sigmoid
from derivations.render.latex import latex
from derivations.calculus.printing import inline
from derivations.render.pretty import pretty
from derivations.render.sheet import tex_text
from derivations.calculus.symbols import Partial, PartialMatrix, PartialName, partial, partial_matrix
from derivations.calculus.matrix_calculus import lambdify_safe
from derivations.core.evaluate import evaluate

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


def test_runs_of_unicode_scripts_become_one_tex_group():
    assert tex_text("θₜ₋₁ and β₁ᵗ") == r"$\theta_{t-1}$ and $\beta_{1}^{t}$"
    assert tex_text("a ≠ b") == r"a $\ne$ b"


def test_inline_prints_the_sheet_notation():
    g, a, eps, t, b1, vhat = sp.symbols("g alpha epsilon t beta_1 vhat")
    W, X = sp.MatrixSymbol("W_1", 3, 2), sp.MatrixSymbol("x", 2, 1)
    assert inline(W * X + sp.MatrixSymbol("b_1", 3, 1)) == "W₁·x + b₁"
    assert inline(X.T * W.T) == "xᵀ·W₁ᵀ"
    assert inline(-2 * W * X) == "-2·W₁·x"
    assert inline(-2 * g * W * X) == "-2·g·W₁·x"
    assert inline(-a * g / (eps + sp.Abs(g))) == "-α·g/(ε + |g|)"
    assert inline(-a * sp.Symbol("mhat") / sp.sqrt(vhat)) == "-α·m̂/√v̂"
    assert inline(b1 ** (t - 1) * g) == "β₁^(t - 1)·g"
    assert inline(sp.Max(0, g)) == "max(0, g)"
    assert inline(sp.HadamardProduct(X, X)) == "x ⊙ x"
    assert inline(sp.Matrix([[1, sp.Rational(1, 2)], [0, g]])) == "[[1, 1/2], [0, g]]"
    assert inline(np.array([[1.0, 2.0]])) == "[[1.0, 2.0]]"
    assert inline(sp.Ge(g, 0)) == "g ≥ 0" and inline(sp.Ne(g, 1)) == "g ≠ 1"
    assert inline(X * sp.MatPow(sp.MatrixSymbol("s", 1, 1), -1)) == "x·s⁻¹"


def test_hadamard_and_heaviside_print_as_the_sheets_write_them():
    X = sp.MatrixSymbol("x", 3, 1)
    assert pretty(sp.HadamardProduct(X, X)) == "x ⊙ x" and latex(sp.HadamardProduct(X, X)) == r"x \odot x"
    assert pretty(sp.Heaviside(u, 0)) == "H(u)" and latex(sp.Heaviside(u, 0)) == r"H\left(u\right)"


def test_unicode_symbol_names_become_latex_commands():
    assert latex(partial("ℓ", "θ")) == r"\frac{\partial \ell}{\partial \theta}"
    assert latex(sp.Symbol("θ₁")) == r"\theta_{1}"
    assert latex(sp.Symbol("ŷ")) == r"\hat{y}"


m, n = sp.symbols("m n", integer=True, positive=True)
w3 = sp.Symbol("w3", real=True)
dL_dyhat = partial("L", "yhat")
dl_dW1 = partial_matrix("ℓ", "W1", n, m)
dl_dyhat = partial_matrix("ℓ", "yhat", 1, m)
dyhat_dz3 = partial_matrix("yhat", "z3", m, m)
W1 = sp.MatrixSymbol("W1", m, n)


def test_latex_partial_scalar():
    assert latex(dL_dyhat) == r"\frac{\partial L}{\partial \hat{y}}"
    assert latex(2 * dL_dyhat) == r"2 \frac{\partial L}{\partial \hat{y}}"


def test_latex_partial_sorts_like_the_symbol_it_replaced():
    assert latex(dL_dyhat * w3 * x) == r"w_{3} x \frac{\partial L}{\partial \hat{y}}"


def test_latex_partial_matrix():
    assert latex(dl_dW1) == r"\frac{\partial \ell}{\partial W_{1}}"
    assert latex(dl_dyhat * dyhat_dz3) == (r"\frac{\partial \ell}{\partial \hat{y}} "
                                           r"\frac{\partial \hat{y}}{\partial z_{3}}")


def test_latex_partial_matrix_transpose_is_parenthesized():
    assert latex(dl_dW1.T) == r"\left(\frac{\partial \ell}{\partial W_{1}}\right)^{T}"
    assert latex(W1 - dl_dW1.T) == r"W_{1} - \left(\frac{\partial \ell}{\partial W_{1}}\right)^{T}"


def test_pretty_partial_scalar():
    assert pretty(dL_dyhat) == "∂L/∂y\u0302"
    assert pretty(w3 * x * dL_dyhat) == "w₃⋅x⋅∂L/∂y\u0302"


def test_pretty_partial_matrix():
    assert pretty(dl_dW1) == "∂ℓ/∂W₁"
    assert pretty(dl_dyhat * dyhat_dz3) == "∂ℓ/∂y\u0302⋅∂y\u0302/∂z₃"


def test_pretty_partial_matrix_transpose_is_parenthesized():
    assert pretty(dl_dW1.T) == "        T\n(∂ℓ/∂W₁) "
    assert pretty(W1 - dl_dW1.T) == "         T     \n-(∂ℓ/∂W₁)  + W₁"


def test_pretty_partial_inline_and_str():
    assert inline(2 * dL_dyhat) == "2·∂L/∂y\u0302"
    assert inline(dl_dW1.T) == "(∂ℓ/∂W₁)ᵀ"
    assert inline(W1 - dl_dW1.T) == "W₁ - (∂ℓ/∂W₁)ᵀ"
    assert str(dL_dyhat) == "∂L/∂y\u0302"
    assert str(dl_dW1) == "∂ℓ/∂W₁"
    assert str(2 * dL_dyhat) == "2*∂L/∂y\u0302"


def test_partial_knows_its_parts_and_keeps_its_name():
    assert isinstance(dL_dyhat, Partial) and isinstance(dL_dyhat, sp.Symbol) and dL_dyhat.is_real
    assert (dL_dyhat.numerator, dL_dyhat.denominator, dL_dyhat.name) == ("L", "yhat", "∂L/∂yhat")
    assert isinstance(dl_dW1, PartialMatrix) and isinstance(dl_dW1, sp.MatrixSymbol)
    assert (dl_dW1.numerator, dl_dW1.denominator, dl_dW1.name, dl_dW1.shape) == ("ℓ", "W1", "∂ℓ/∂W1", (n, m))


def test_partial_equality_and_hashing():
    assert partial("L", "yhat") == dL_dyhat and hash(partial("L", "yhat")) == hash(dL_dyhat)
    assert partial("L", "y") != dL_dyhat and partial("ℓ", "yhat") != dL_dyhat
    assert dL_dyhat != sp.Symbol("∂L/∂yhat", real=True)
    assert partial_matrix("ℓ", "W1", n, m) == dl_dW1 and hash(partial_matrix("ℓ", "W1", n, m)) == hash(dl_dW1)
    assert partial_matrix("ℓ", "W1", m, n) != dl_dW1
    assert dl_dW1 != sp.MatrixSymbol("∂ℓ/∂W1", n, m)
    assert len({dL_dyhat, partial("L", "yhat"), dl_dW1, partial_matrix("ℓ", "W1", n, m)}) == 2


def test_partial_rejects_an_ambiguous_name():
    for bad in (("a/∂b", "c"), ("a", ""), ("a", 1)):
        try:
            partial(*bad)
        except ValueError:
            continue
        raise AssertionError(f"partial{bad} was accepted")
    try:
        PartialMatrix("∂ℓ/∂W1", n, m)
    except TypeError:
        pass
    else:
        raise AssertionError("PartialMatrix took a plain name")


def test_partial_survives_subs_xreplace_doit():
    expr = w3 * dL_dyhat + dL_dyhat ** 2
    for rebuilt in (expr.subs(w3, 2), expr.xreplace({w3: x}), expr.doit(), sp.expand(expr * x)):
        assert dL_dyhat in rebuilt.free_symbols
        assert all(type(s) is Partial for s in rebuilt.free_symbols if s.name == "∂L/∂yhat")
    assert expr.subs(dL_dyhat, 3) == 3 * w3 + 9
    assert dL_dyhat.doit() is dL_dyhat


def test_partial_pickles():
    for obj in (dL_dyhat, dl_dW1, 2 * dL_dyhat + x, dl_dyhat * dyhat_dz3 + dl_dyhat, dl_dW1.T):
        again = pickle.loads(pickle.dumps(obj))
        assert again == obj and type(again) is type(obj)
    again = pickle.loads(pickle.dumps(dl_dW1))
    assert (again.numerator, again.denominator) == ("ℓ", "W1")


def test_partial_srepr_rebuilds():
    namespace = {"Partial": Partial, "PartialMatrix": PartialMatrix, "PartialName": PartialName,
                 "Symbol": sp.Symbol, "Integer": sp.Integer}
    for obj in (dL_dyhat, dl_dW1):
        again = eval(sp.srepr(obj), namespace)
        assert again == obj and type(again) is type(obj)


def test_partial_matrix_func_args_rebuilds_same_class():
    name, rows, cols = dl_dW1.args
    assert isinstance(name, PartialName) and (rows, cols) == (n, m)
    again = dl_dW1.func(*dl_dW1.args)
    assert type(again) is PartialMatrix and again == dl_dW1
    assert (again.numerator, again.denominator) == ("ℓ", "W1")
    assert pickle.loads(pickle.dumps(name)) == name  # an atom: rebuilt from its parts, not args


def test_partial_matrix_survives_transpose_matmul_subs_doit():
    assert dl_dW1.T.T == dl_dW1 and type(dl_dW1.T.T) is PartialMatrix
    assert isinstance(dl_dW1.T, sp.Transpose) and dl_dW1.T.arg is dl_dW1
    product = dl_dyhat * dyhat_dz3 * W1 + dl_dyhat * dyhat_dz3 * W1
    assert isinstance(product, sp.MatMul) and product.shape == (1, n)
    assert product.atoms(PartialMatrix) == {dl_dyhat, dyhat_dz3}
    assert (dl_dyhat * dyhat_dz3 + dl_dyhat).doit().atoms(PartialMatrix) == {dl_dyhat, dyhat_dz3}
    assert (W1 - dl_dW1.T).xreplace({W1: dl_dW1.T}).doit() == sp.ZeroMatrix(m, n)
    three = dyhat_dz3.subs(m, 3)
    assert type(three) is PartialMatrix and three.shape == (3, 3) and three.numerator == "yhat"
    assert type(dl_dW1.doit()) is PartialMatrix and dl_dW1.doit() == dl_dW1
    assert (dl_dyhat * dyhat_dz3).T.doit() == dyhat_dz3.T * dl_dyhat.T


def test_partial_lambdifies():
    assert sp.lambdify([dL_dyhat], 2 * dL_dyhat)(3) == 6
    assert sp.lambdify([dL_dyhat, w3], w3 * dL_dyhat ** 2)(3, 2) == 18
    assert evaluate(2 * dL_dyhat + w3, {"∂L/∂yhat": 3, "w3": 1}) == 7


def test_partial_matrix_lambdifies_after_renaming():
    expr = dl_dyhat * dyhat_dz3
    safe, renames = lambdify_safe(expr)
    assert set(renames) == {dl_dyhat, dyhat_dz3} and not safe.atoms(PartialMatrix)
    a, b = np.array([[1.0, 2.0]]), np.array([[1.0, 2.0], [3.0, 4.0]])
    assert evaluate(expr.subs(m, 2), {"∂ℓ/∂yhat": a, "∂yhat/∂z3": b}) == [[7.0, 10.0]]


def test_pretty_products_print_as_sympys_without_importing_units():
    """The terminal printer skips SymPy's import of sympy.physics.units while no unit can exist,
    prints products exactly as SymPy does, and sets units apart once they are imported."""
    _runs_in_a_fresh_process(
        "import sys, sympy as sp\n"
        "from derivations.render.pretty import pretty\n"
        "x, y = sp.symbols('x y')\n"
        "forms = [2*x*sp.sin(x)/3, -x*y, x*(y + 1)**2/(3*y)]\n"
        "ours = [pretty(e) for e in forms]\n"
        "assert 'sympy.physics.units' not in sys.modules\n"
        "assert ours == [sp.pretty(e, use_unicode=True, wrap_line=False) for e in forms], ours\n"
        "from sympy.physics.units import meter\n"
        "assert pretty(3*meter*x) == sp.pretty(3*meter*x, use_unicode=True) == '3⋅x⋅meter'\n")


def _runs_in_a_fresh_process(script: str) -> None:
    """``script`` runs to its end in a new interpreter (what it imports is its own)."""
    import subprocess
    import sys

    run = subprocess.run([sys.executable, "-c", script + "print('ok')\n"], capture_output=True, text=True)
    assert run.returncode == 0 and run.stdout == "ok\n", run.stderr


def test_entrywise_products_and_powers_of_a_matrix_cannot_be_read_as_matrix_algebra():
    """σ′ of a column prints σ(z) ⊙ (1 − σ(z)), not a product of two columns; 1/o entry by entry
    prints as an entrywise power, not an inverse; a 1×1 keeps the plain power."""
    from derivations.calculus.rules import Elementwise

    z, o, s = sp.MatrixSymbol("z", 3, 1), sp.MatrixSymbol("o", 3, 1), sp.MatrixSymbol("s", 1, 1)
    slope = Elementwise(sp.Lambda(x, sigmoid(x) * (1 - sigmoid(x))), z)
    assert inline(slope) in ("σ(z) ⊙ (1 - σ(z))", "(1 - σ(z)) ⊙ σ(z)")
    assert r"\odot" in latex(slope) and "⊙" in pretty(slope)
    assert inline(Elementwise(sp.Lambda(x, 1 / x), o)) == "o^(∘-1)"
    assert inline(Elementwise(sp.Lambda(x, x**2), s)) == "s²"


def test_with_other_threads_alive_the_terminal_printer_imports_units_for_real():
    """The stand-in is used only where no other thread could import sympy.physics.units meanwhile."""
    _runs_in_a_fresh_process(
        "import sys, threading, sympy as sp\n"
        "from derivations.render.pretty import pretty\n"
        "stop = threading.Event(); t = threading.Thread(target=stop.wait); t.start()\n"
        "pretty(2*sp.Symbol('x')/3)\n"
        "units = sys.modules.get('sympy.physics.units')\n"
        "stop.set(); t.join()\n"
        "assert units is not None and units.__file__, 'the stand-in was used beside another thread'\n")


def test_scaled_entrywise_powers_of_a_matrix_are_not_inverses():
    from derivations.calculus.rules import Elementwise

    o = sp.MatrixSymbol("o", 3, 1)
    assert inline(Elementwise(sp.Lambda(x, -1 / x), o)) == "-o^(∘-1)"
    assert inline(Elementwise(sp.Lambda(x, x**2 / 2), o)) == "1/2·o^(∘2)"
    assert latex(Elementwise(sp.Lambda(x, 2 / x), o)) == r"2 o^{\circ \left({-1}\right)}"


def test_a_reason_shown_in_latex_text_is_escaped():
    from derivations.render.latex import numbers_latex

    assert numbers_latex("not defined (a_b & 50% {x} $ # ^ ~ \\)") == \
        r"\text{not defined (a\_b \& 50\% \{x\} \$ \# \^{} \~{} \textbackslash{})}"
