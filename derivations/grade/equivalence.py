"""Whether an answer equals the key: exact symbolic comparison under a time limit, then
evaluation at shared random points.

The points come from :func:`derivations.calculus.oracles.sample_points` (rectangular sizes, so a
missing transpose cannot hide behind a square matrix), and every value is evaluated by
:func:`derivations.calculus.matrix_calculus.numeric`. Undefined functions (hw3's f₁, f₂, f₃) get
concrete random smooth bodies first, so f₁′(u) at the wrong u is caught too.
"""

from __future__ import annotations

import math
import signal
import threading
from contextlib import contextmanager
from typing import Any, Sequence

import numpy as np
import sympy as sp
from sympy.core.function import AppliedUndef

from derivations.calculus.matrix_calculus import numeric
from derivations.calculus.oracles import sample_points
from derivations.grade.parse import is_matrix

#: Relative tolerance of formulas evaluated in float64, and the default for numbers.
FORMULA_TOLERANCE = 1e-8
NUMBER_TOLERANCE = 1e-7
POINTS = 3
#: Seconds the exact comparison may take before the random points decide.
SYMBOLIC_SECONDS = 0.5


class NotEvaluable(Exception):
    """A value with no number at the sample points (a wrong function of a matrix, a NaN)."""


class TimeLimit(Exception):
    pass


@contextmanager
def time_limit(seconds: float):
    """Raise :class:`TimeLimit` in the body after ``seconds`` (a real-time alarm; off the main
    thread, where signals cannot be used, the body is not run at all)."""
    if threading.current_thread() is not threading.main_thread():
        raise TimeLimit()

    def expire(*_):
        raise TimeLimit()

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def symbolically_equal(answer: Any, key: Any, seconds: float = SYMBOLIC_SECONDS) -> bool:
    """True only when SymPy proves ``answer == key`` in time (structurally, or by expanding
    the difference to zero); False means "not proved", not "different"."""
    if isinstance(answer, list) or isinstance(key, list):
        return answer == key
    if answer == key:
        return True
    try:
        with time_limit(seconds):
            if is_matrix(answer) and is_matrix(key):
                difference = (answer - key).doit()
                return isinstance(difference, sp.ZeroMatrix) or difference == sp.zeros(*difference.shape) \
                    if difference.shape == key.shape else False
            if is_matrix(answer) or is_matrix(key):
                return False
            return sp.expand(answer - key) == 0
    except (TimeLimit, TypeError, ValueError, AttributeError, sp.ShapeError, RecursionError):
        return False


class Evaluator:
    """Evaluates values of one problem at the same random points, so answers, keys and the
    keys' mutations are compared entry by entry."""

    def __init__(self, values: Sequence[Any], seed: int = 0, count: int = POINTS):
        exprs = [e for v in values for e in _leaves(v)]
        self.points = [{getattr(k, "name", str(k)): v for k, v in point.items()}
                       for point in sample_points(exprs, count, seed)]
        functions = sorted({a.func for e in exprs for a in e.atoms(AppliedUndef)}, key=str)
        rng = np.random.default_rng(seed + 1)
        t = sp.Dummy("t")
        self.functions = {f: sp.Lambda(t, sp.Rational(int(rng.integers(5, 15)), 10) * sp.sin(t + sp.Rational(
            int(rng.integers(-9, 9)), 10)) + sp.Rational(int(rng.integers(-9, 9)), 20) * t) for f in functions}

    def evaluate(self, value: Any) -> list[np.ndarray]:
        """``value`` at every point, as float arrays; :class:`NotEvaluable` when it has none."""
        if isinstance(value, sp.MatrixBase):
            value = value.tolist()
        if isinstance(value, (list, tuple)):
            entries = [self.evaluate(v) for v in value]
            try:
                return [np.array([e[i] for e in entries], dtype=float) for i in range(len(self.points))]
            except ValueError:
                raise NotEvaluable("its rows differ in length") from None
        if isinstance(value, (bool, np.bool_, int, float)):
            value = sp.Integer(int(value)) if isinstance(value, (bool, np.bool_)) else sp.sympify(value)
        if not isinstance(value, sp.Basic):
            raise NotEvaluable(f"{type(value).__name__} is not a number or formula")
        concrete = self._concrete(value)
        try:
            if not is_matrix(concrete) and not concrete.free_symbols:
                number = complex(sp.N(concrete, 20))
                if abs(number.imag) > 0:
                    raise NotEvaluable("not a real number")
                arrays = [np.asarray(number.real)] * len(self.points)
            else:
                with np.errstate(all="ignore"):
                    arrays = [np.asarray(numeric(concrete, point), dtype=float) for point in self.points]
        except (TypeError, ValueError, KeyError, AttributeError, ZeroDivisionError, OverflowError,
                sp.ShapeError, NameError, RecursionError) as exc:
            raise NotEvaluable(str(exc)[:120]) from None
        if any(np.isnan(a).all() for a in arrays):
            raise NotEvaluable("it is not defined at the sample points")
        return arrays

    def _concrete(self, value: sp.Basic) -> sp.Basic:
        for f, body in self.functions.items():
            if value.has(f):
                value = value.subs(f, body).doit()
        return value


def _leaves(value):
    if isinstance(value, sp.MatrixBase):
        return [e for e in value if isinstance(e, sp.Basic)]
    if isinstance(value, (list, tuple)):
        return [e for v in value for e in _leaves(v)]
    return [value] if isinstance(value, sp.Basic) else []


def aligned(answer: list[np.ndarray], key: list[np.ndarray]) -> list[np.ndarray] | None:
    """The answer's arrays in the key's shape, where only the layout of a vector or a 1×1
    differs (a flat list for a column, a number for a 1×1); None if the shapes differ."""
    a, k = answer[0], key[0]
    if a.shape == k.shape:
        return answer
    if a.size == k.size and (a.size == 1 or sorted(a.shape)[:-1] in ([], [1], [1, 1]) and
                             sorted(k.shape)[:-1] in ([], [1], [1, 1]) and a.ndim != k.ndim):
        return [np.reshape(x, k.shape) for x in answer]
    return None


def close(answer: list[np.ndarray], key: list[np.ndarray], tolerance: float, floor: float = 1.0) -> bool:
    """Every entry within ``tolerance`` of the key, relative to the key's largest entry or
    ``floor`` if that is larger (1 for formulas in float64, whose tiny values carry rounding
    noise; 0 for numbers, so 3e-12 is not "close" to −3e-12); entries where the key itself is
    undefined are skipped."""
    answer = aligned(answer, key)
    if answer is None:
        return False
    for a, k in zip(answer, key):
        defined = np.isfinite(k)
        if not defined.any():
            continue
        scale = max(floor, float(np.max(np.abs(k[defined]))), 1e-300)
        with np.errstate(invalid="ignore"):
            gap = np.abs(a[defined] - k[defined])
        if not np.all(gap <= tolerance * scale):
            return False
    return True


def error(answer: list[np.ndarray], key: list[np.ndarray], floor: float = 1.0) -> float:
    """The largest gap relative to the key's scale, for a report; inf for a shape mismatch."""
    answer = aligned(answer, key)
    if answer is None:
        return math.inf
    gaps = [float(np.nanmax(np.abs(a - k)) / max(floor, float(np.nanmax(np.abs(k))), 1e-300))
            for a, k in zip(answer, key)]
    return max(gaps)
