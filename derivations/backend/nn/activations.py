"""Elementwise activations with explicit derivatives.

Each caches what its derivative needs under the sheet's symbols: ``z`` (the
pre-activation, the layer's input) and/or ``a`` (the activation, its output). Derivatives
are written next to the forward formula. All are stable for large |z| in float32.
"""

from __future__ import annotations

import math

import numpy as np

from derivations.backend.nn.base import Layer, LayerInputError


class Activation(Layer):
    """Base for elementwise maps: subclasses define ``_forward(z)`` and ``_backward(da)``."""

    def __init__(self):
        self.z: np.ndarray | None = None
        self.a: np.ndarray | None = None

    def forward(self, z: np.ndarray) -> np.ndarray:
        self.check_input(z, ndim=None)
        self.z = z
        self.a = self._forward(z)
        return self.a

    def backward(self, da: np.ndarray) -> np.ndarray:
        if self.a is None:
            raise LayerInputError(f"{self.label}.backward called before forward")
        self.check_grad_output(da, self.a.shape)
        return self._backward(da)

    # Activations hold no parameters; skip the attribute walk.
    def named_parameters(self, prefix: str = ""):
        return iter(())

    def derivative(self) -> np.ndarray:
        """da/dz at the last forward input (sheet a1's ``derivative()``)."""
        return self._backward(np.ones_like(self.a))

    def _forward(self, z):
        raise NotImplementedError

    def _backward(self, da):
        raise NotImplementedError


def sigmoid(z: np.ndarray) -> np.ndarray:
    """σ(z) from e^(−|z|): no overflow for any z, and full relative precision in the lower
    tail (the ½(1 + tanh(z/2)) form rounds σ(−20) to 0 in float32, making BCE's log blow up)."""
    e = np.abs(z)
    np.negative(e, out=e)
    np.exp(e, out=e)
    denominator = e + 1
    return np.divide(np.where(z >= 0, 1, e), denominator, out=e)


def normal_cdf(z: np.ndarray) -> np.ndarray:
    """Φ(z), accurate in both tails: SciPy's ``ndtr`` when SciPy is installed, else
    ½·erfc(−z/√2) element by element with the standard library (slower, same values)."""
    try:
        from scipy.special import ndtr
    except ImportError:
        erfc = np.frompyfunc(math.erfc, 1, 1)
        return (0.5 * erfc(-np.asarray(z, dtype=np.float64) / math.sqrt(2.0))).astype(z.dtype)
    return ndtr(z).astype(z.dtype, copy=False)


class Identity(Activation):
    def _forward(self, z):
        return z

    def _backward(self, da):
        return da


class Sigmoid(Activation):
    """a = σ(z); da/dz = a(1 − a)."""

    def _forward(self, z):
        return sigmoid(z)

    def _backward(self, da):
        a = self.a
        return da * a * (1 - a)


class Tanh(Activation):
    """a = tanh z; da/dz = 1 − a²."""

    def _forward(self, z):
        return np.tanh(z)

    def _backward(self, da):
        a = self.a
        return da * (1 - a * a)


class ReLU(Activation):
    """a = max(z, 0); da/dz = 1 if z > 0 else 0 (0 at z = 0, as PyTorch)."""

    def _forward(self, z):
        return np.maximum(z, 0)

    def _backward(self, da):
        return np.multiply(da, self.a > 0)


class LeakyReLU(Activation):
    """a = z if z > 0 else s·z; da/dz = 1 or s."""

    def __init__(self, negative_slope: float = 0.01):
        super().__init__()
        self.negative_slope = negative_slope

    @property
    def label(self):
        return f"LeakyReLU({self.negative_slope})"

    def _forward(self, z):
        return np.where(z > 0, z, z * z.dtype.type(self.negative_slope))

    def _backward(self, da):
        slope = np.where(self.z > 0, 1, self.negative_slope).astype(da.dtype)
        return da * slope


class ELU(Activation):
    """a = z if z > 0 else α(eᶻ − 1); da/dz = 1 or a + α."""

    def __init__(self, alpha: float = 1.0):
        super().__init__()
        self.alpha = alpha

    @property
    def label(self):
        return f"ELU({self.alpha})"

    def _forward(self, z):
        negative = np.expm1(np.minimum(z, 0)) * z.dtype.type(self.alpha)
        return np.where(z > 0, z, negative)

    def _backward(self, da):
        return da * np.where(self.z > 0, 1, self.a + self.alpha).astype(da.dtype)


class GELU(Activation):
    """a = z Φ(z) (``approximate="none"``) or z σ(1.702 z) (``approximate="sigmoid"``).

    Exact:   da/dz = Φ(z) + z φ(z).
    Sigmoid: da/dz = σ(1.702z) + 1.702 z σ(1.702z)(1 − σ(1.702z)).
    """

    APPROXIMATIONS = ("none", "sigmoid")

    def __init__(self, approximate: str = "none"):
        super().__init__()
        if approximate not in self.APPROXIMATIONS:
            raise ValueError(f"GELU: approximate must be one of {self.APPROXIMATIONS}, got {approximate!r}")
        self.approximate = approximate
        self.s: np.ndarray | None = None   # Φ(z) or σ(1.702 z)

    @property
    def label(self):
        return "GELU" if self.approximate == "none" else "GELU(x·σ(1.702x))"

    def _forward(self, z):
        if self.approximate == "sigmoid":
            self.s = sigmoid(z * z.dtype.type(1.702))
        else:
            self.s = normal_cdf(z)
        return z * self.s

    def _backward(self, da):
        z, s = self.z, self.s
        if self.approximate == "sigmoid":
            local = s + z.dtype.type(1.702) * z * s * (1 - s)
        else:
            phi = np.exp(-0.5 * z * z) * z.dtype.type(1.0 / math.sqrt(2.0 * math.pi))
            local = s + z * phi
        return da * local


class Softplus(Activation):
    """a = log(1 + eᶻ) = max(z, 0) + log1p(e^−|z|); da/dz = σ(z)."""

    def _forward(self, z):
        return np.maximum(z, 0) + np.log1p(np.exp(-np.abs(z)))

    def _backward(self, da):
        return da * sigmoid(self.z)


ACTIVATIONS: dict[str, type[Activation]] = {
    "identity": Identity,
    "sigmoid": Sigmoid,
    "tanh": Tanh,
    "relu": ReLU,
    "leaky-relu": LeakyReLU,
    "elu": ELU,
    "gelu": GELU,
    "softplus": Softplus,
}


def make_activation(name: str) -> Activation:
    """An activation by name; ``gelu-sigmoid`` gives the x·σ(1.702x) approximation."""
    if name == "gelu-sigmoid":
        return GELU("sigmoid")
    try:
        return ACTIVATIONS[name]()
    except KeyError:
        choices = ", ".join([*ACTIVATIONS, "gelu-sigmoid"])
        raise ValueError(f"unknown activation {name!r}; choose one of {choices}") from None
