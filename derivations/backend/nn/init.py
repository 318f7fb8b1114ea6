"""Weight initialisers: standard normal (as sheet ``a1`` asks), He and Xavier/Glorot, zeros.

Every initialiser has the signature ``init(shape, *, fan_in, fan_out, rng, dtype)`` so a
layer states its own fan-in and fan-out (for a Linear layer the input and output widths;
for a convolution later, ``C_in·k·k`` and ``C_out·k·k``) and the initialiser never guesses
them from the shape.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

Initialiser = Callable[..., np.ndarray]


def standard_normal(shape, *, fan_in, fan_out, rng: np.random.Generator, dtype=np.float32):
    """N(0, 1) entries: the sheet's ``random_normal_weight_init``."""
    return rng.standard_normal(shape).astype(dtype, copy=False)


def zeros(shape, *, fan_in=None, fan_out=None, rng=None, dtype=np.float32):
    """All zeros: the sheet's ``zeros_bias_init``."""
    return np.zeros(shape, dtype=dtype)


def he_normal(shape, *, fan_in, fan_out, rng: np.random.Generator, dtype=np.float32):
    """N(0, 2/fan_in): keeps the activation variance constant through ReLU layers (He 2015)."""
    return (rng.standard_normal(shape) * math.sqrt(2.0 / fan_in)).astype(dtype, copy=False)


def he_uniform(shape, *, fan_in, fan_out, rng: np.random.Generator, dtype=np.float32):
    """U(−b, b) with b = √(6/fan_in): the same variance as :func:`he_normal`."""
    bound = math.sqrt(6.0 / fan_in)
    return rng.uniform(-bound, bound, shape).astype(dtype, copy=False)


def xavier_uniform(shape, *, fan_in, fan_out, rng: np.random.Generator, dtype=np.float32):
    """U(−b, b) with b = √(6/(fan_in+fan_out)): Glorot & Bengio (2010), for tanh/sigmoid."""
    bound = math.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-bound, bound, shape).astype(dtype, copy=False)


def xavier_normal(shape, *, fan_in, fan_out, rng: np.random.Generator, dtype=np.float32):
    """N(0, 2/(fan_in+fan_out))."""
    std = math.sqrt(2.0 / (fan_in + fan_out))
    return (rng.standard_normal(shape) * std).astype(dtype, copy=False)


INITIALISERS: dict[str, Initialiser] = {
    "normal": standard_normal,
    "zeros": zeros,
    "he": he_normal,
    "he-uniform": he_uniform,
    "xavier": xavier_uniform,
    "xavier-normal": xavier_normal,
}


def get_initialiser(spec: str | Initialiser) -> Initialiser:
    """Look up an initialiser by name, or pass a callable through."""
    if callable(spec):
        return spec
    try:
        return INITIALISERS[spec]
    except KeyError:
        raise ValueError(f"unknown initialiser {spec!r}; choose one of {', '.join(INITIALISERS)}") from None
