"""Structural layers: Linear, Dropout, Flatten, Sequential.

Symbols follow the sheets: a Linear layer maps its input ``x`` to ``z = x W + b`` (row
vectors, batch first, sheet ``a1``) or ``z = x Wᵀ + b`` with ``W`` of shape (out, in) (the
PyTorch and sheet ``hw1`` layout, ``z = W x + b`` for one column vector ``x``).
"""

from __future__ import annotations

import numpy as np

from derivations.backend.nn.base import Layer, LayerInputError
from derivations.backend.nn.init import get_initialiser
from derivations.backend.nn.parameter import Parameter

LAYOUTS = ("in_out", "out_in")


class Linear(Layer):
    """Affine map. ``backward`` writes ``W.grad`` and ``b.grad`` in place and returns ∂L/∂x.

    ``layout="in_out"`` stores W as (in, out) (sheet a1: ``z = xW + b``); ``"out_in"``
    stores it as (out, in) (PyTorch, sheet hw1). BLAS reads either without a copy.
    """

    def __init__(self, in_features: int, out_features: int, *, bias: bool = True,
                 weight_init="he", bias_init="zeros", layout: str = "in_out",
                 rng: np.random.Generator | None = None, dtype=np.float32):
        if layout not in LAYOUTS:
            raise ValueError(f"Linear: layout must be one of {LAYOUTS}, got {layout!r}")
        rng = rng if rng is not None else np.random.default_rng()
        self.in_features, self.out_features, self.layout = in_features, out_features, layout
        shape = (in_features, out_features) if layout == "in_out" else (out_features, in_features)
        fans = dict(fan_in=in_features, fan_out=out_features, rng=rng, dtype=dtype)
        self.W = Parameter(get_initialiser(weight_init)(shape, **fans), "W")
        self.b = Parameter(get_initialiser(bias_init)((out_features,), **fans), "b") if bias else None
        self.x: np.ndarray | None = None

    @property
    def label(self) -> str:
        return f"Linear({self.in_features}→{self.out_features})"

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.check_input(x, self.in_features, dtype=self.W.data.dtype)
        self.x = x
        W = self.W.data if self.layout == "in_out" else self.W.data.T
        z = np.matmul(x, W)
        if self.b is not None:
            z += self.b.data
        return z

    def backward(self, dz: np.ndarray) -> np.ndarray | None:
        x = self.x
        if x is None:
            raise LayerInputError(f"{self.label}.backward called before forward")
        self.check_grad_output(dz, (x.shape[0], self.out_features))
        if self.layout == "in_out":          # ∂L/∂W = xᵀ dz, shape (in, out)
            np.matmul(x.T, dz, out=self.W.grad)
        else:                                # ∂L/∂W = dzᵀ x, shape (out, in)
            np.matmul(dz.T, x, out=self.W.grad)
        if self.b is not None:
            np.sum(dz, axis=0, out=self.b.grad)
        if not self.needs_input_grad:
            return None
        W = self.W.data if self.layout == "in_out" else self.W.data.T
        return np.matmul(dz, W.T)            # ∂L/∂x = dz Wᵀ


class Dropout(Layer):
    """Inverted dropout: in training, zero each unit with probability ``p`` and scale the
    survivors by 1/(1−p), so evaluation is the identity."""

    def __init__(self, p: float = 0.5, rng: np.random.Generator | None = None):
        if not 0.0 <= p < 1.0:
            raise ValueError(f"Dropout: p must be in [0, 1), got {p}")
        self.p = p
        self._rng = rng if rng is not None else np.random.default_rng()
        self.mask: np.ndarray | None = None

    @property
    def label(self) -> str:
        return f"Dropout(p={self.p})"

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.check_input(x, ndim=None)
        if not self.training or self.p == 0.0:
            self.mask = None
            return x
        keep = self._rng.random(x.shape, dtype=np.float32) >= self.p
        self.mask = keep.astype(x.dtype) * x.dtype.type(1.0 / (1.0 - self.p))
        return x * self.mask

    def backward(self, da: np.ndarray) -> np.ndarray:
        return da if self.mask is None else da * self.mask


class Flatten(Layer):
    """(batch, d1, d2, …) → (batch, d1·d2·…); a view, no copy."""

    def __init__(self):
        self.input_shape: tuple[int, ...] | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.check_input(x, ndim=None)
        self.input_shape = x.shape
        return x.reshape(x.shape[0], -1)

    def backward(self, grad: np.ndarray) -> np.ndarray:
        return grad.reshape(self.input_shape)


class Sequential(Layer):
    """Layers applied in order; backward runs them in reverse.

    The first layer is told it need not return ∂L/∂x (the data needs no gradient), which
    saves the largest matmul of the backward pass for an MLP on images. Call
    ``require_input_grad()`` when the gradient with respect to the input is wanted.
    """

    def __init__(self, *layers: Layer):
        self.layers = list(layers)
        self.needs_input_grad = False

    @property
    def needs_input_grad(self) -> bool:
        return bool(self.layers) and self.layers[0].needs_input_grad

    @needs_input_grad.setter
    def needs_input_grad(self, flag: bool) -> None:
        if self.layers:
            self.layers[0].needs_input_grad = flag

    def require_input_grad(self, flag: bool = True) -> Sequential:
        self.needs_input_grad = flag
        return self

    def __getitem__(self, i):
        return self.layers[i]

    def __len__(self) -> int:
        return len(self.layers)

    def __iter__(self):
        return iter(self.layers)

    @property
    def label(self) -> str:
        return "Sequential(" + ", ".join(layer.label for layer in self.layers) + ")"

    def forward(self, x: np.ndarray) -> np.ndarray:
        for layer in self.layers:
            x = layer.forward(x)
        return x

    def backward(self, grad: np.ndarray) -> np.ndarray | None:
        for layer in reversed(self.layers):
            grad = layer.backward(grad)
        return grad
