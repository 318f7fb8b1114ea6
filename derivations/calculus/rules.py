"""Numerator-layout derivative rules as data: one table entry per operation.

Writing ``N`` for ``∂ℓ/∂Y`` in numerator layout (the shape of ``Yᵀ``), each entry maps
``(Y, N)`` to the pairs ``(child, N_child)``, the contribution that ``Y`` passes to each
operand::

    Y = A + B          N_A = N_B = N
    Y = c·M₁⋯Mₖ        N_Mᵢ = c · (Mᵢ₊₁⋯Mₖ) N (M₁⋯Mᵢ₋₁)
    Y = Xᵀ             N_X = Nᵀ
    Y = f(X)           N_X = N · diag(f′(X))        (X a column; N ⊙ f′(X)ᵀ otherwise)
    Y = A ⊙ B          N_A = N ⊙ Bᵀ
    Y = ‖v‖            N_v = ‖v‖⁻¹ · N · vᵀ
    Y = softmax(z)     N_z = N · diag(s) − N s sᵀ   (s = softmax(z))
    Y = LSE(z)         N_z = N · softmax(z)ᵀ

Constants (identity, zero and ones matrices, numbers) have no children. Derived operations
are defined through these primitives and get no rule of their own: :func:`divide`,
:func:`total` (the sum of entries, 1ᵀX1) and :func:`cross_entropy` (−yᵀz + (1ᵀy)·LSE(z)).
An operation missing from :data:`RULES` raises :class:`NoRuleError`, which names it.
"""

from __future__ import annotations

from typing import Callable

import sympy as sp
from sympy.matrices.expressions.matexpr import MatrixExpr
from sympy.printing.pretty.stringpict import prettyForm

from derivations.calculus.functions import elementary
from derivations.calculus.printing import inline


class NoRuleError(NotImplementedError):
    """An operation with no entry in the rule table; ``op`` is its class name."""

    def __init__(self, expr):
        self.op = type(expr).__name__
        super().__init__(f"no numerator-layout derivative rule for {self.op}: {expr}")


# ---------------------------------------------------------------------------------------------
# Operations SymPy lacks in printable, evaluable form.

class Elementwise(MatrixExpr):
    """``f(X)``: a scalar function applied to every entry of a matrix expression.

    ``function`` is a one-argument :class:`sympy.Lambda` (or a function class such as
    ``relu``). Printers show ``f(X)``; ``lambdify`` evaluates it entry by entry.
    """

    def __new__(cls, function, arg):
        if not isinstance(function, sp.Lambda):
            t = sp.Dummy("t", real=True)
            function = sp.Lambda(t, function(t))
        arg = sp.sympify(arg)
        t = function.variables[0]
        if function.expr == t:  # the identity: f(X) is X itself
            return arg
        return super().__new__(cls, function, arg)

    function = property(lambda self: self.args[0])
    arg = property(lambda self: self.args[1])
    shape = property(lambda self: self.arg.shape)

    def _entry(self, i, j, **kwargs):
        return self.function(self.arg._entry(i, j, **kwargs))

    def derivative_function(self) -> sp.Lambda:
        """``f′`` as a Lambda, so that ``Elementwise(f′, X)`` is the entrywise derivative."""
        t = self.function.variables[0]
        return sp.Lambda(t, sp.diff(self.function.expr, t))

    def _eval_transpose(self):
        return Elementwise(self.function, self.arg.T)

    def _display(self):
        return applied_for_display(self.function, self.arg)

    def _numpycode(self, printer):
        t = self.function.variables[0]
        body = printer._print(elementary(self.function.expr))
        return (f"{printer._module_format('numpy.vectorize')}(lambda {printer._print(t)}: {body}, "
                f"otypes=[float])({printer._print(self.arg)})")

    _pythoncode = _numpycode

    def _stand_in(self, printer):
        """``f(arg)`` with ``arg`` as a symbol named by its printed form, for a body (such as
        Max(0, t)) that takes no matrix argument."""
        text = printer._print(self.arg)
        text = text if isinstance(text, str) else inline(self.arg)  # a picture cannot be a name
        operator = isinstance(self.function.expr, (sp.Add, sp.Mul, sp.Pow))  # not a call such as max(0, t)
        if operator and not isinstance(self.arg, (sp.MatrixSymbol, _VectorOp)):
            text = f"({text})"
        return applied_for_display(self.function, sp.Symbol(text))

    @property
    def precedence(self):
        from sympy.printing.precedence import precedence
        try:
            return precedence(self._display())
        except (ValueError, TypeError, NotImplementedError):
            return precedence(applied_for_display(self.function, sp.Symbol("X")))

    def _sympystr(self, printer):
        try:
            return printer._print(self._display())
        except (ValueError, TypeError, NotImplementedError):  # Max(0, t), t·Φ(t) take no matrix argument
            return printer._print(self._stand_in(printer))

    _pretty = _latex = _inlinestr = _sympystr


def applied_for_display(function: sp.Lambda, arg: sp.Basic) -> sp.Basic:
    """``f(arg)`` as a stand-in for printing only (``arg`` may be a matrix or an entry's name),
    with Heaviside(u, 0) shown as H(u); the H(0) = 0 convention belongs in the assumptions.
    On a matrix (not 1×1), products of functions show as ⊙ and powers as entrywise powers, so
    that σ(X)(1 − σ(X)) cannot be read as a matrix product, nor −1/X as an inverse."""
    t = function.variables[0]
    body = function.expr.replace(lambda e: isinstance(e, sp.Heaviside), lambda e: sp.Function("H")(e.args[0]))
    if isinstance(arg, MatrixExpr) and arg.shape != (1, 1):  # a 1×1 reads as a number either way
        shown = _entrywise_algebra(body, t, arg)
        if shown is not None:
            return shown
    return body.xreplace({t: arg})


def _entrywise_algebra(body, t, arg):
    """``body`` at a matrix ``arg`` with its products as ⊙ and powers as entrywise powers; None
    when it has neither (a single function of ``arg`` prints as it is)."""
    def part(factor):
        return arg if factor == t else _entrywise_algebra(factor, t, arg) or Elementwise(sp.Lambda(t, factor), arg)

    if isinstance(body, sp.Pow) and body.exp.is_number and body.base.has(t):
        return sp.HadamardPower(part(body.base), body.exp)
    if isinstance(body, sp.Mul):
        varying = [f for f in body.args if f.has(t)]
        if len(varying) > 1 or any(isinstance(f, sp.Pow) for f in varying):
            constant = sp.Mul(*(f for f in body.args if not f.has(t)))
            parts = [part(f) for f in varying]
            product = parts[0] if len(parts) == 1 else sp.HadamardProduct(*parts)
            return product if constant == 1 else constant * product
    return None


class Diag(MatrixExpr):
    """``diag(v)``: the square matrix with the column vector ``v`` on its diagonal."""

    def __new__(cls, vector):
        return super().__new__(cls, sp.sympify(vector))

    vector = property(lambda self: self.args[0])
    shape = property(lambda self: (self.vector.rows, self.vector.rows))

    def _entry(self, i, j, **kwargs):
        return sp.KroneckerDelta(i, j) * self.vector._entry(i, 0, **kwargs)

    def _eval_transpose(self):
        return self

    def _numpycode(self, printer):
        return f"{printer._module_format('numpy.diagflat')}({printer._print(self.vector)})"

    _pythoncode = _numpycode

    def _sympystr(self, printer):
        return printer._print(sp.Function("diag")(self.vector))

    _pretty = _latex = _sympystr


class Eye(sp.Identity):
    """The identity matrix, evaluable when its size is a symbol: ``lambdify`` takes the size
    (``K`` in ``I_K``) as an argument instead of refusing a symbolic dimension."""

    def _numpycode(self, printer):
        return f"{printer._module_format('numpy.eye')}({printer._print(self.rows)})"

    _pythoncode = _numpycode

    def _sympystr(self, printer):
        return printer._print(sp.Symbol(f"I_{self.rows}"))

    _pretty = _latex = _sympystr


class Ones(sp.OneMatrix):
    """The all-ones matrix, printed 1 (a column) or 1ᵀ (a row) and evaluable when its size is
    a symbol, like :class:`Eye`."""

    def _numpycode(self, printer):
        return f"{printer._module_format('numpy.ones')}(({printer._print(self.rows)}, {printer._print(self.cols)}))"

    _pythoncode = _numpycode

    def _eval_transpose(self):
        return Ones(self.cols, self.rows)

    def _is_row(self):
        return self.rows == 1 and self.cols != 1

    def _sympystr(self, printer):
        return "1ᵀ" if self._is_row() else "1"

    _inlinestr = _sympystr

    def _pretty(self, printer):
        return prettyForm(self._sympystr(printer))

    def _latex(self, printer):
        return r"\mathbf{1}^{T}" if self._is_row() else r"\mathbf{1}"


class _VectorOp(MatrixExpr):
    """A named operation on one column vector; subclasses give the name, shape and NumPy body."""

    name = ""
    latex_name = ""

    def __new__(cls, arg):
        arg = sp.sympify(arg)
        if arg.shape[1] != 1:
            raise ValueError(f"{cls.name} needs a column vector, not shape {arg.shape}")
        return super().__new__(cls, arg)

    arg = property(lambda self: self.args[0])

    def _numpy_body(self, np: Callable[[str], str], a: str) -> str:
        """The operation on the array ``a``; ``np("exp")`` names a NumPy function."""
        raise NotImplementedError

    def _numpycode(self, printer):
        body = self._numpy_body(lambda name: printer._module_format(f"numpy.{name}"), "a")
        return f"(lambda a: {body})({printer._print(self.arg)})"

    _pythoncode = _numpycode

    def _sympystr(self, printer):
        return f"{self.name}({printer._print(self.arg)})"

    def _inlinestr(self, printer):
        return self._sympystr(printer)

    def _pretty(self, printer):
        return prettyForm(*prettyForm(*printer._print(self.arg).parens()).left(self.name))

    def _latex(self, printer):
        return rf"\operatorname{{{self.latex_name or self.name}}}\left({printer._print(self.arg)}\right)"


class Norm(_VectorOp):
    """``‖v‖``, the Euclidean norm of a column vector, as a 1×1 matrix so it composes."""

    name = "norm"
    shape = property(lambda self: (sp.S.One, sp.S.One))

    def _eval_transpose(self):
        return self

    def _numpy_body(self, np, a):
        return f"{np('array')}([[{np('sqrt')}({np('sum')}({a} ** 2))]])"

    def _sympystr(self, printer):
        return f"‖{printer._print(self.arg)}‖"

    def _pretty(self, printer):
        return prettyForm(*prettyForm(*printer._print(self.arg).left("‖")).right("‖"))

    def _latex(self, printer):
        return rf"\left\|{printer._print(self.arg)}\right\|"


class Softmax(_VectorOp):
    """``softmax(z)``: exp(z) / Σ exp(z) for a column vector ``z``."""

    name = "softmax"
    shape = property(lambda self: self.arg.shape)

    def _numpy_body(self, np, a):
        return f"{np('exp')}({a} - {a}.max()) / {np('exp')}({a} - {a}.max()).sum()"


class LogSumExp(_VectorOp):
    """``LSE(z)`` = log Σ exp(zᵢ) of a column vector, as a 1×1 matrix."""

    name = "LSE"
    shape = property(lambda self: (sp.S.One, sp.S.One))

    def _eval_transpose(self):
        return self

    def _numpy_body(self, np, a):
        return f"{np('array')}([[{a}.max() + {np('log')}({np('exp')}({a} - {a}.max()).sum())]])"


# ---------------------------------------------------------------------------------------------
# Derived operations: built from primitives, so they need no rule.

def reciprocal(s: sp.Basic) -> Elementwise:
    """``1/s`` for a 1×1 expression ``s``."""
    t = sp.Dummy("t", real=True)
    return Elementwise(sp.Lambda(t, 1 / t), s)


def divide(X: sp.Basic, s: sp.Basic) -> sp.Basic:
    """``X / s`` for a 1×1 expression ``s``: ``X · (1/s)`` for a column ``X``, ``(1/s) · X``
    for a row (a 1×1 factor only chains on that side)."""
    if s.shape != (1, 1):
        raise ValueError(f"divide needs a 1×1 divisor, not shape {s.shape}")
    return X * reciprocal(s) if X.shape[1] == 1 else reciprocal(s) * X


def total(X: sp.Basic) -> sp.Basic:
    """The sum of the entries of ``X``, ``1ᵀ X 1`` (a 1×1 matrix)."""
    return Ones(1, X.shape[0]) * X * Ones(X.shape[1], 1)


def cross_entropy(y: sp.Basic, z: sp.Basic) -> sp.Basic:
    """``−yᵀ log softmax(z)`` for target weights ``y`` and logits ``z`` (columns), written as
    ``−yᵀz + (1ᵀy)·LSE(z)``, since log softmax(z) = z − LSE(z)·1."""
    return -y.T * z + total(y) * LogSumExp(z)


# ---------------------------------------------------------------------------------------------
# The table.

def _product(factors):
    return sp.MatMul(*factors) if len(factors) > 1 else (factors[0] if factors else sp.S.One)


def _matmul(Y, N):
    coeff, factors = Y.as_coeff_matrices()
    return [(f, coeff * _product(factors[i + 1:]) * N * _product(factors[:i])) for i, f in enumerate(factors)]


def _elementwise(Y, N):
    slope = Elementwise(Y.derivative_function(), Y.arg)
    if not isinstance(slope, Elementwise):  # f′ is the identity's, 1 everywhere
        slope = sp.OneMatrix(*Y.shape)
    if Y.shape == (1, 1):
        return [(Y.arg, slope * N)]
    if Y.shape[1] == 1:
        return [(Y.arg, N * Diag(slope))]
    return [(Y.arg, sp.HadamardProduct(N, slope.T))]


def _hadamard(Y, N):
    """∂(a ⊙ b)/∂a: for a column, diag(b) (so any upstream N, a Jacobian's too); else N ⊙ bᵀ."""
    others = [_hadamard_of(Y.args[:i] + Y.args[i + 1:]) for i in range(len(Y.args))]
    if Y.shape[1] == 1:
        return [(a, N * Diag(b)) for a, b in zip(Y.args, others)]
    return [(a, sp.HadamardProduct(N, b.T)) for a, b in zip(Y.args, others)]


def _hadamard_of(factors):
    return sp.HadamardProduct(*factors) if len(factors) > 1 else factors[0]


def _softmax(Y, N):
    return [(Y.arg, N * Diag(Y) - N * Y * Y.T)]


def _no_children(Y, N):
    return []


Rule = Callable[[sp.Basic, sp.Basic], list]

RULES: dict[type, Rule] = {
    sp.MatAdd: lambda Y, N: [(term, N) for term in Y.args],
    sp.MatMul: _matmul,
    sp.Transpose: lambda Y, N: [(Y.arg, N.T)],
    Elementwise: _elementwise,
    sp.HadamardProduct: _hadamard,
    Norm: lambda Y, N: [(Y.arg, reciprocal(Y) * N * Y.arg.T)],
    Softmax: _softmax,
    LogSumExp: lambda Y, N: [(Y.arg, N * Softmax(Y.arg).T)],
    sp.Identity: _no_children,
    sp.ZeroMatrix: _no_children,
    sp.OneMatrix: _no_children,
}


def rule_for(expr: sp.Basic) -> Rule:
    """The table entry for ``expr``'s operation (or the nearest base class's, as SymPy's
    printers dispatch); constants without free symbols have no children."""
    for cls in type(expr).__mro__:
        if cls in RULES:
            return RULES[cls]
    if not isinstance(expr, MatrixExpr) and not expr.free_symbols:
        return _no_children
    raise NoRuleError(expr)


def contributions(expr: sp.Basic, upstream: sp.Basic) -> list[tuple[sp.Basic, sp.Basic]]:
    """``[(child, N_child), …]`` for one operation ``expr`` given ``upstream = N``."""
    return rule_for(expr)(expr, upstream)
