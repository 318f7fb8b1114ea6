"""Numeric checks that are independent of the derivations they check.

Every answer is compared with something computed another way: derivatives with central
finite differences (mpmath at high precision for scalar formulas, float64 for matrix
functions), iterates with a plain float loop, shapes with real array operations. Each
function returns a max absolute error; :class:`derivations.core.model.Check` compares it with a
tolerance. Random points use rectangular shapes because square ones hide transposes.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable, Sequence

import mpmath
import numpy as np
import sympy as sp

from derivations.calculus.finite_differences import STEP, central_differences

DIGITS = 30


def max_abs_error(claimed: Any, reference: Any) -> float:
    """Largest absolute difference; ``inf`` when shapes differ or values are not finite."""
    a = np.asarray(to_float(claimed), dtype=float)
    b = np.asarray(to_float(reference), dtype=float)
    if a.shape != b.shape:
        return float("inf")
    if a.size == 0:
        return 0.0
    diff = np.abs(a - b)
    return float(diff.max()) if np.all(np.isfinite(diff)) else float("inf")


def to_float(value: Any) -> Any:
    """SymPy numbers and matrices to floats and nested lists (shape tuples pass through)."""
    if isinstance(value, sp.MatrixBase):
        return [[float(v) for v in row] for row in value.tolist()]
    if isinstance(value, sp.Basic):
        return float(value)
    if isinstance(value, (list, tuple)):
        return [to_float(v) for v in value]
    return value


def random_points(symbols: Sequence[sp.Symbol], count: int, seed: int = 0, low: float = -2.0, high: float = 2.0):
    """``count`` dicts symbol -> float, reproducible from ``seed``."""
    rng = np.random.default_rng(seed)
    return [{s: float(rng.uniform(low, high)) for s in symbols} for _ in range(count)]


def scalar_derivative_error(function: sp.Expr, claimed: sp.Expr, wrt: sp.Symbol,
                            points: Iterable[dict[sp.Symbol, float]]) -> float:
    """Max |claimed − d(function)/d(wrt)|, the derivative taken by mpmath's numeric
    differentiation of ``function`` (never by ``sympy.diff``), at each point."""
    symbols = sorted(function.free_symbols | claimed.free_symbols | {wrt}, key=str)
    f = sp.lambdify(symbols, function, "mpmath")
    g = sp.lambdify(symbols, claimed, "mpmath")
    worst = 0.0
    with mpmath.workdps(DIGITS):
        for point in points:
            args = [mp_number(point[s]) for s in symbols]
            i = symbols.index(wrt)
            numeric = mpmath.diff(lambda t: f(*args[:i], t, *args[i + 1:]), args[i])
            worst = max(worst, float(abs(g(*args) - numeric)))
    return worst


def mp_number(value: Any) -> mpmath.mpf:
    """A point's coordinate at the working precision: a float as it is, an exact SymPy number
    (1/3, exp(-1)) to all the digits, so a check at an exact point is not limited by float64."""
    if isinstance(value, sp.Basic):
        return mpmath.mpmathify(str(sp.N(value, DIGITS + 10)))
    return mpmath.mpf(value)


def numeric_gradient(f: Callable[[np.ndarray], float], x: np.ndarray, eps: float = STEP) -> np.ndarray:
    """Central-difference gradient of a scalar function of one float64 array, same shape as ``x``."""
    return central_differences(f, np.array(x, dtype=float), eps)


def numeric_jacobian(f: Callable[[np.ndarray], np.ndarray], x: np.ndarray, eps: float = STEP) -> np.ndarray:
    """Central-difference Jacobian in numerator layout: rows index outputs, columns inputs
    (both flattened in row-major order)."""
    x = np.array(x, dtype=float)
    return central_differences(lambda v: np.ravel(f(v)), x, eps).reshape(x.size, -1).T
