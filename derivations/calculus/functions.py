"""Named activation functions as SymPy functions, so formulas print as σ(h) rather than as
their exponential form, while differentiation and evaluation still work."""

from __future__ import annotations

import sympy as sp


class sigmoid(sp.Function):
    """The logistic function σ(x) = 1/(1 + e^(−x)), with σ′ = σ(1 − σ)."""

    @classmethod
    def eval(cls, arg):
        if arg.is_zero:
            return sp.S.Half

    def fdiff(self, argindex=1):
        s = sigmoid(self.args[0])
        return s * (1 - s)

    def _eval_rewrite_as_exp(self, arg, **kwargs):
        return 1 / (1 + sp.exp(-arg))

    def _eval_evalf(self, prec):
        return self.rewrite(sp.exp)._eval_evalf(prec)

    def _eval_is_real(self):
        return self.args[0].is_real


class relu(sp.Function):
    """max(0, x), with derivative the Heaviside step H(x) (taking H(0) = 0)."""

    def fdiff(self, argindex=1):
        return sp.Heaviside(self.args[0], 0)

    def _eval_rewrite_as_Max(self, arg, **kwargs):
        return sp.Max(0, arg)

    def _eval_evalf(self, prec):
        return sp.Max(0, self.args[0])._eval_evalf(prec)


class softplus(sp.Function):
    """log(1 + eˣ), the smooth ReLU, with softplus′ = σ."""

    def fdiff(self, argindex=1):
        return sigmoid(self.args[0])

    def _eval_rewrite_as_log(self, arg, **kwargs):
        return sp.log(1 + sp.exp(arg))

    def _eval_evalf(self, prec):
        return self.rewrite(sp.log)._eval_evalf(prec)

    def _eval_is_real(self):
        return self.args[0].is_real


class gelu(sp.Function):
    """GELU(x) = x·Φ(x), Φ the standard normal CDF ½(1 + erf(x/√2)), with GELU′ = Φ(x) + x·φ(x)."""

    @classmethod
    def eval(cls, arg):
        if arg.is_zero:
            return sp.S.Zero

    def fdiff(self, argindex=1):
        x = self.args[0]
        return (1 + sp.erf(x / sp.sqrt(2))) / 2 + x * sp.exp(-x**2 / 2) / sp.sqrt(2 * sp.pi)

    def _eval_rewrite_as_erf(self, arg, **kwargs):
        return arg * (1 + sp.erf(arg / sp.sqrt(2))) / 2

    def _eval_evalf(self, prec):
        return self.rewrite(sp.erf)._eval_evalf(prec)

    def _eval_is_real(self):
        return self.args[0].is_real


def elementary(expr: sp.Basic) -> sp.Basic:
    """Rewrite named activations into exp/log/erf/Max so lambdify and mpmath can evaluate them."""
    expr = expr.replace(gelu, lambda a: a * (1 + sp.erf(a / sp.sqrt(2))) / 2).replace(
        softplus, lambda a: sp.log(1 + sp.exp(a)))
    return expr.replace(sigmoid, lambda a: 1 / (1 + sp.exp(-a))).replace(relu, lambda a: sp.Max(0, a))


def numpy_function(args, expr: sp.Basic):
    """``lambdify`` to NumPy without ``from numpy import *`` (which drags in numpy.f2py,
    numpy.testing and numpy.ma, a third of the CLI's start-up), and without printing the
    expression into the function's docstring (for matrix expressions, most of the time)."""
    import numpy

    return sp.lambdify(args, elementary(expr), modules=[numpy], docstring_limit=0)
