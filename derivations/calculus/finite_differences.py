"""The one central-difference routine every numeric check builds on (NumPy only, so the
backend's gradient checks can use it without importing SymPy)."""

from __future__ import annotations

from typing import Callable

import numpy as np


#: the default step: its rounding noise, about machine ε·|f|/STEP, is what a check must allow for
STEP = 1e-6


def central_differences(f: Callable[[np.ndarray], object], x: np.ndarray, h: float = STEP) -> np.ndarray:
    """(f(x + h·eᵢ) − f(x − h·eᵢ)) / 2h for every entry i of ``x``, perturbing ``x`` in place
    and restoring it. The result has shape ``x.shape + shape of f(x)``: a gradient for a
    scalar ``f``, the transposed Jacobian for an array-valued one."""
    columns = []
    for idx in np.ndindex(x.shape):
        saved = x[idx]
        x[idx] = saved + h
        up = np.array(f(x), dtype=np.float64)  # a copy: f may return x itself or a view of it
        x[idx] = saved - h
        down = np.array(f(x), dtype=np.float64)
        x[idx] = saved
        columns.append((up - down) / (2 * h))
    if not columns:
        return np.zeros(x.shape, dtype=np.float64)
    return np.stack(columns).reshape(x.shape + columns[0].shape)
