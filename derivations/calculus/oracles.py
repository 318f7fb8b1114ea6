"""Reusable references that checks attach to answers and to steps.

An oracle knows, independently of the derivation, what a claimed value must be: it measures
the largest absolute error of a claim and carries the tolerance that error is held to. The
engine attaches one to an answer (``sol.answer(..., check=oracle)``) or to a step
(``sol.step(..., check=oracle)``); a check then reads the *current* answer or step, so a test
that swaps in a wrong one sees the check fail.

* :class:`Identity`: both sides of ``lhs = rhs`` evaluated at random points (mpmath at 30
  digits for scalars; float64 on random rectangular arrays for matrices). An unevaluated
  ``Derivative(f, x)`` on the left is taken by numeric differentiation, never by ``sympy.diff``,
  so ``Identity(Derivative(f, x))`` is the scalar finite-difference oracle.
* :class:`Gradient`: a matrix derivative against central differences of a loss, in full
  (every entry) or along one random direction (vᵀJu, one pair of loss evaluations).
* :class:`Reference`: the claim against a value computed another way (a plain float loop, a
  real array operation, the NumPy backend).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Callable, Mapping, Sequence

import mpmath
import numpy as np
import sympy as sp

from derivations.calculus.checks import DIGITS, max_abs_error, mp_number, to_float
from derivations.calculus.functions import elementary

#: Tolerances: mpmath at DIGITS digits, and float64 central differences / array arithmetic.
EXACT_TOLERANCE = 1e-20
FLOAT_TOLERANCE = 1e-6


class Oracle:
    """Something that measures how far a claim is from the truth.

    ``error(claimed, lhs)`` returns the max absolute error (``inf`` when the claim cannot be
    evaluated or has the wrong shape); ``lhs`` is the left side of the step or answer, which
    :class:`Identity` uses when it is not given its own reference expression."""

    describe: str = "an independent reference"
    tolerance: float = FLOAT_TOLERANCE

    def error(self, claimed: Any, lhs: Any = None) -> float:  # pragma: no cover - interface
        raise NotImplementedError


# --------------------------------------------------------------------------------------------
# Random points: scalars and rectangular matrices.

def sample_points(exprs: Sequence[Any], count: int = 4, seed: int = 0,
                  sizes: Mapping[sp.Symbol, int] | None = None) -> list[dict]:
    """``count`` dicts {symbol: value} covering every free symbol and matrix symbol of
    ``exprs``. Scalars are uniform in [−2, 2] ([0.5, 2] when declared positive); a matrix
    symbol gets a standard-normal array of its shape, symbolic dimensions taking distinct
    sizes (2, 3, 4, …) so that no matrix is square by accident."""
    rng = np.random.default_rng(seed)
    exprs = [sp.sympify(e) for e in exprs if e is not None and not isinstance(e, (str, tuple, list))]
    matrices = sorted(set().union(*(e.atoms(sp.MatrixSymbol) for e in exprs)), key=lambda m: m.name)
    dims = sorted({d for m in matrices for d in m.shape if isinstance(d, sp.Symbol)}, key=str)
    scalars = set().union(*(e.free_symbols for e in exprs)) - set(matrices) - set(dims)
    scalars = sorted((s for s in scalars if isinstance(s, sp.Symbol)), key=str)
    size = {d: 2 + i for i, d in enumerate(dims)} | dict(sizes or {})
    points = []
    for _ in range(count):
        point: dict = {d: size[d] for d in dims}
        for s in scalars:
            point[s] = float(rng.uniform(0.5, 2.0) if s.is_positive else rng.uniform(-2.0, 2.0))
        for m in matrices:
            shape = tuple(int(size.get(d, d)) for d in m.shape)
            point[m] = rng.standard_normal(shape)
        points.append(point)
    return points


def _is_matrix(expr: Any) -> bool:
    return isinstance(expr, (sp.MatrixBase, sp.MatrixExpr)) or bool(getattr(expr, "is_Matrix", False))


# --------------------------------------------------------------------------------------------
# The oracles.

@dataclass
class Identity(Oracle):
    """``lhs = rhs`` holds at random points. ``of`` is the reference side (default: the step's
    own left side); ``points`` come from :func:`sample_points` unless given."""

    of: Any = None
    points: Sequence[Mapping] | None = None
    count: int = 4
    seed: int = 0
    sizes: Mapping[sp.Symbol, int] | None = None
    tolerance: float = EXACT_TOLERANCE
    describe: str = "both sides at random points"

    def error(self, claimed: Any, lhs: Any = None) -> float:
        reference = self.of if self.of is not None else lhs
        if reference is None:
            raise ValueError("an identity check needs the reference side")
        reference, claimed = sp.sympify(reference), sp.sympify(claimed)
        points = self.points or sample_points([reference, claimed], self.count, self.seed, self.sizes)
        if _is_matrix(reference) or _is_matrix(claimed):
            return max(_matrix_gap(reference, claimed, p) for p in points)
        left, right = _mp_evaluator(reference), _mp_evaluator(claimed)
        with mpmath.workdps(DIGITS):
            return max(float(abs(left(p) - right(p))) for p in points)


@lru_cache(maxsize=512)
def _mp_evaluator(expr: sp.Expr) -> Callable[[Mapping], Any]:
    """``expr`` as a function of a point, compiled once for mpmath (SymPy's ``lambdify`` costs
    milliseconds, the evaluation microseconds); ``Derivative(f, x)`` by mpmath's numeric
    derivative of ``f``."""
    derivative = isinstance(expr, sp.Derivative) and len(expr.variables) == 1
    body = expr.expr if derivative else expr
    x = expr.variables[0] if derivative else None
    symbols = ([x] if derivative else []) + sorted(body.free_symbols - {x}, key=str)
    f = sp.lambdify(symbols, elementary(body), "mpmath")

    def at(point: Mapping):
        missing = [s for s in symbols if s not in point]
        if missing:
            raise KeyError(f"no value for {', '.join(map(str, missing))}")
        args = [mp_number(point[s]) for s in symbols]
        if derivative:
            return mpmath.diff(lambda t: f(t, *args[1:]), args[0], expr.derivative_count)
        value = f(*args)
        if isinstance(value, mpmath.mpc) and abs(value.imag) > 0:
            raise ValueError(f"{expr} is complex at the check point")
        return mpmath.mpf(value.real if isinstance(value, mpmath.mpc) else value)

    return at


def _matrix_gap(reference: Any, claimed: Any, point: Mapping) -> float:
    from derivations.calculus.matrix_calculus import numeric

    values = {getattr(k, "name", str(k)): v for k, v in point.items()}
    try:
        right = numeric(claimed, values)
    except (ValueError, TypeError, KeyError, sp.ShapeError):  # products whose shapes do not chain
        return float("inf")
    return max_abs_error(right, numeric(reference, values))


def _array(claimed: Any, values: Mapping[str, Any]) -> np.ndarray:
    """A claim as a float array: a matrix expression evaluated at ``values``; NaN when it
    does not evaluate (e.g. a product whose shapes do not chain)."""
    from derivations.calculus.matrix_calculus import numeric

    if isinstance(claimed, sp.Basic) and not isinstance(claimed, sp.MatrixBase):
        try:
            return np.atleast_2d(numeric(claimed, values))
        except (ValueError, TypeError, KeyError, sp.ShapeError):
            return np.full((0, 0), np.nan)
    return np.atleast_2d(np.asarray(to_float(claimed), dtype=float))


@dataclass
class Gradient(Oracle):
    """A numerator-layout derivative ∂ℓ/∂X (shape of Xᵀ) against central differences of
    ``loss`` (a function of a dict name -> array) at ``values``. ``layout="gradient"`` takes
    the claim in the parameter's own shape instead. ``direction=True`` compares only the
    derivative along one random direction U: ⟨claim, U⟩ against (ℓ(X + hU) − ℓ(X − hU))/2h."""

    loss: Callable[[Mapping[str, np.ndarray]], float] = None
    wrt: str = ""
    values: Mapping[str, np.ndarray] = field(default_factory=dict)
    layout: str = "numerator"
    direction: bool = False
    seed: int = 0
    tolerance: float = FLOAT_TOLERANCE
    describe: str = "central differences"

    def error(self, claimed: Any, lhs: Any = None) -> float:
        from derivations.calculus.checks import numeric_gradient

        at = np.asarray(self.values[self.wrt], dtype=float)
        claim = _array(claimed, self.values)
        if self.layout == "numerator":
            claim = claim.T
        if claim.shape != at.shape:
            return float("inf")
        f = lambda w: float(self.loss({**self.values, self.wrt: w}))  # noqa: E731
        if not self.direction:
            return max_abs_error(claim, numeric_gradient(f, at))
        u = np.random.default_rng(self.seed).standard_normal(at.shape)
        along = numeric_gradient(lambda t: f(at + t[0] * u), np.zeros(1))[0]
        return abs(float(np.sum(claim * u)) - along)


@dataclass
class Reference(Oracle):
    """The claim against ``compute()``, a value obtained another way (a float loop, a real
    array operation, the NumPy backend). ``convert`` maps the claim first (e.g. a shape tuple
    to a list)."""

    compute: Callable[[], Any] = None
    describe: str = "an independent computation"
    tolerance: float = FLOAT_TOLERANCE
    convert: Callable[[Any], Any] | None = None
    _cache: list = field(default_factory=list, repr=False)

    def error(self, claimed: Any, lhs: Any = None) -> float:
        if not self._cache:
            self._cache.append(self.compute())
        claim = self.convert(claimed) if self.convert else claimed
        return max_abs_error(to_float(claim), self._cache[0])
