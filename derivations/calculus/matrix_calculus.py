"""Numerator-layout derivatives of matrix expressions, and a finite-difference check for them.

Layout (the one the sheets use): for a column vector ``y`` (q×1) and column vector ``x`` (p×1),
``∂y/∂x`` is q×p; for a scalar ``ℓ``, ``∂ℓ/∂x`` is a 1×p row and ``∂ℓ/∂W`` for an r×c matrix
``W`` is c×r — the shape of ``Wᵀ``. The gradient an optimiser subtracts from ``W`` has ``W``'s
own shape, so it is the transpose ``(∂ℓ/∂W)ᵀ``.

The reverse pass is one small function, :func:`vjp`, that walks an expression and asks the rule
table in :mod:`derivations.calculus.rules` for each operation's contributions to its operands
(writing ``N`` for ``∂ℓ/∂Y`` in numerator layout, the shape of ``Yᵀ``), adding them up at the
matrix symbols. :func:`gradient` is the transpose of a scalar's derivative, shaped like the
parameter, the form an optimiser subtracts.

:func:`backward` runs them over a named forward pass (``z1 = W1 x + b1``, ``z2 = f(z1)``, ...) and
can keep chosen Jacobians opaque (``∂z2/∂z1``), which is how the sheets ask for answers "in terms
of" them. :func:`gradient_error` and :func:`jacobian_error` compare a claimed answer with central
differences, handling the layout transpose explicitly; use rectangular shapes, since square ones
hide a missing transpose.
"""

from __future__ import annotations

import keyword
from functools import lru_cache
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import sympy as sp
from sympy.matrices.expressions.matexpr import MatrixExpr

from derivations.calculus.checks import max_abs_error, numeric_gradient, numeric_jacobian
from derivations.calculus.functions import numpy_function
from derivations.calculus.rules import (RULES, Diag, Elementwise, Eye, LogSumExp, NoRuleError, Norm,  # noqa: F401
                                        Softmax, applied_for_display, contributions, cross_entropy, divide,
                                        total)


# ---------------------------------------------------------------------------------------------
# The reverse pass.

def vjp(expr: sp.Basic, upstream: sp.Basic, wrt: Sequence[sp.MatrixSymbol] | None = None) -> dict:
    """``{X: N_X}``: the numerator-layout derivative of ℓ with respect to every matrix symbol
    ``X`` in ``expr`` (or only those in ``wrt``), given ``upstream = ∂ℓ/∂expr``.

    With ``upstream`` an identity matrix this is the Jacobian ``∂expr/∂X`` itself."""
    grads: dict = {}
    _vjp(expr, upstream, grads)
    keep = set(wrt) if wrt is not None else set(grads)
    return {k: _tidy(v) for k, v in grads.items() if k in keep}


def _vjp(expr, upstream, grads) -> None:
    if isinstance(expr, sp.MatrixSymbol):
        grads[expr] = grads[expr] + upstream if expr in grads else upstream
        return
    for child, contribution in contributions(expr, upstream):
        _vjp(child, contribution, grads)


def _tidy(expr):
    """``doit`` and then, for a sum, pull out a common number and a common transpose, so a
    result reads 2(ŷ − y)ᵀ rather than 2ŷᵀ − 2yᵀ."""
    expr = expr.doit()
    if not isinstance(expr, sp.MatAdd):
        return expr
    coeffs, terms = zip(*(t.as_coeff_mmul() for t in expr.args))
    common = sp.gcd_list(list(coeffs))
    terms = [t.doit() for t in terms]
    scaled = [(c / common) * t for c, t in zip(coeffs, terms)]
    if all(isinstance(t, sp.Transpose) for t in terms):
        body = sp.Transpose(sp.MatAdd(*[(c / common) * t.arg for c, t in zip(coeffs, terms)]))
    else:
        body = sp.MatAdd(*scaled)
    return body if common == 1 else sp.MatMul(common, body)


def derivative(expr: sp.Basic, wrt: sp.MatrixSymbol) -> sp.Basic:
    """``∂expr/∂wrt`` in numerator layout, for a column-vector or 1×1 ``expr``."""
    if expr.shape[1] != 1:
        raise ValueError(f"derivative needs a column vector or a 1×1 matrix, not shape {expr.shape}")
    seed = sp.Identity(1) if expr.shape == (1, 1) else Eye(expr.shape[0])
    return vjp(expr, seed, [wrt]).get(wrt, sp.ZeroMatrix(*derivative_shape(expr.shape, wrt.shape)))


def derivative_shape(of: tuple, wrt: tuple) -> tuple:
    """The numerator-layout shape of ``∂Y/∂X`` for a column or 1×1 ``Y``: q×p for columns
    (q×1 over p×1), c×r for a scalar over an r×c matrix."""
    return (of[0], wrt[0]) if wrt[1] == 1 else (wrt[1], wrt[0])


def gradient(expr: sp.Basic, wrt: sp.MatrixSymbol) -> sp.Basic:
    """The gradient of a 1×1 ``expr`` with ``wrt``'s own shape: ``(∂expr/∂wrt)ᵀ``, what an
    optimiser subtracts (PyTorch's ``wrt.grad``)."""
    if expr.shape != (1, 1):
        raise ValueError(f"gradient needs a 1×1 expression, not shape {expr.shape}")
    return _tidy(derivative(expr, wrt).T)


def backward(forward: Sequence[tuple[sp.MatrixSymbol, sp.Basic]], seed: sp.Basic,
             opaque: Mapping[sp.MatrixSymbol, sp.Basic] | None = None) -> dict:
    """Reverse-mode through a named forward pass ``[(z1, W1*x + b1), (z2, f(z1)), ...]``.

    ``seed`` is ``∂ℓ/∂(last node)``. A node listed in ``opaque`` (node -> Jacobian symbol, e.g.
    ``z2 -> ∂z2/∂z1``) passes ``N · J`` to its single input instead of expanding its own rule.
    Returns ``∂ℓ/∂s`` for every node and leaf ``s``, still written with node symbols; use
    :func:`expand_nodes` to write them in the inputs alone."""
    opaque = dict(opaque or {})
    grads = {forward[-1][0]: seed}
    for node, expr in reversed(forward):
        if node not in grads:
            continue
        upstream = grads[node]
        if node in opaque:
            inputs = expr.atoms(sp.MatrixSymbol)
            if len(inputs) != 1:
                raise ValueError(f"an opaque Jacobian needs a node of one input; {node} = {expr}")
            contributions = {inputs.pop(): upstream * opaque[node]}
        else:
            contributions = vjp(expr, upstream)
        for leaf, grad in contributions.items():
            grads[leaf] = grads[leaf] + grad if leaf in grads else grad
    return {k: _tidy(v) for k, v in grads.items()}


def expand_nodes(expr: sp.Basic, forward: Sequence[tuple[sp.MatrixSymbol, sp.Basic]]) -> sp.Basic:
    """Replace every node symbol by its definition, latest first, so only inputs remain."""
    for node, definition in reversed(forward):
        expr = expr.xreplace({node: definition})
    return _flatten(expr)


def _flatten(expr):
    """Merge sums nested by substitution, (a + (b + c)) -> a + b + c, without expanding."""
    if not isinstance(expr, MatrixExpr) or not expr.args:
        return expr
    rebuilt = expr.func(*[_flatten(a) for a in expr.args])
    return rebuilt.doit(deep=False) if isinstance(rebuilt, (sp.MatAdd, sp.MatMul)) else rebuilt


# ---------------------------------------------------------------------------------------------
# Numbers.

def numeric(expr: sp.Basic, values: Mapping[str, Any]) -> np.ndarray:
    """A matrix expression evaluated in float64 at ``values`` (name -> array or number)."""
    names, f, shapes = _compiled(expr)
    values = {**_dimensions(shapes, values), **values}
    missing = [n for n in names if n not in values]
    if missing:
        raise KeyError(f"no value for {', '.join(missing)}")
    args = [_argument(values[n], shapes.get(n)) for n in names]
    return np.asarray(f(*args), dtype=float)


def _argument(value: Any, shape: tuple | None) -> Any:
    """A value as ``lambdify`` needs it: arrays as float arrays, and a number given for a 1×1
    matrix symbol (a scalar target y) as a 1×1 array, so that yᵀ and products work."""
    if shape == (1, 1) and np.size(value) == 1:
        return np.reshape(np.asarray(value, dtype=float), (1, 1))
    return np.asarray(value, dtype=float) if np.ndim(value) else value


@lru_cache(maxsize=512)
def _compiled(expr: sp.Basic) -> tuple[list[str], Callable, dict[str, tuple]]:
    """The NumPy function of ``expr``, the names of its arguments and the shapes of its matrix
    symbols, found once: checks evaluate one expression at many points, and ``lambdify`` costs
    milliseconds (a walk over a large expression, a millisecond as well)."""
    matrices = {m.name: m for m in expr.atoms(sp.MatrixSymbol)}
    symbols = {s.name: s for s in expr.free_symbols} | matrices
    names = sorted(symbols)
    safe_expr, renames = lambdify_safe(expr)
    function = numpy_function([renames.get(symbols[n], symbols[n]) for n in names], safe_expr)
    return names, function, {name: m.shape for name, m in matrices.items()}


def lambdify_safe(expr: sp.Basic) -> tuple[sp.Basic, dict]:
    """``expr`` with every MatrixSymbol whose name is not an identifier (such as ∂ℓ/∂ŷ) renamed,
    and the renaming. ``lambdify`` would replace such a symbol by a *scalar* Dummy, silently
    turning its matrix products into elementwise ones."""
    unsafe = sorted((m for m in expr.atoms(sp.MatrixSymbol)
                     if not m.name.isidentifier() or keyword.iskeyword(m.name)), key=lambda m: m.name)
    renames = {m: sp.MatrixSymbol(f"_matrix{i}", *m.shape) for i, m in enumerate(unsafe)}
    return (expr.xreplace(renames) if renames else expr), renames


def _dimensions(shapes: Mapping[str, tuple], values) -> dict[str, int]:
    """Sizes such as ``K``, read off the arrays given for the matrix symbols that carry them."""
    sizes = {}
    for name, shape in shapes.items():
        given = np.shape(values.get(name, ()))
        if len(given) == 2:
            sizes.update({d.name: size for d, size in zip(shape, given) if isinstance(d, sp.Symbol)})
    return sizes


def numerator_gradient(loss: Callable[[np.ndarray], float], at: np.ndarray) -> np.ndarray:
    """Central-difference ``∂ℓ/∂X`` in numerator layout: the transpose of the gradient, so an
    r×c ``X`` gives a c×r result and a column vector gives a row."""
    return numeric_gradient(loss, at).T


def gradient_error(claimed: Any, loss: Callable[[Mapping[str, np.ndarray]], float], wrt: str,
                   values: Mapping[str, np.ndarray]) -> float:
    """Max |claimed − ∂ℓ/∂values[wrt]|, the reference from central differences of ``loss``
    (a function of the whole ``values`` dict) in numerator layout. ``claimed`` is an array or a
    matrix expression evaluated at ``values``. A wrong shape (a missing transpose on
    rectangular inputs) or an expression that does not evaluate gives ``inf``."""
    reference = numerator_gradient(lambda w: loss({**values, wrt: w}), values[wrt])
    return max_abs_error(_claimed(claimed, values), reference)


def jacobian_error(claimed: Any, function: Callable[[np.ndarray], np.ndarray], at: np.ndarray,
                   values: Mapping[str, np.ndarray] | None = None) -> float:
    """Max |claimed − ∂f/∂x| for column vectors, the reference a central-difference Jacobian
    (rows index outputs, columns inputs: numerator layout)."""
    return max_abs_error(_claimed(claimed, values or {}), numeric_jacobian(function, at))


def _claimed(claimed, values):
    if isinstance(claimed, sp.Basic):
        try:
            return numeric(claimed, values)
        except (ValueError, TypeError, KeyError):  # e.g. a product whose shapes do not chain
            return np.full((0,), np.nan)
    return np.asarray(claimed, dtype=float)
