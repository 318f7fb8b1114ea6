"""BatchNorm2d on NHWC arrays, with running statistics and an optional frozen scale.

Per channel c, over the m = N·H·W positions of the batch (training mode)::

    μ = mean(x),  σ² = mean((x − μ)²),  x̂ = (x − μ)/√(σ² + ε),  z = γ x̂ + β

    ∂L/∂β = Σ ∂L/∂z,   ∂L/∂γ = Σ ∂L/∂z · x̂,
    ∂L/∂x = γ/√(σ² + ε) · (∂L/∂z − ∂L/∂β / m − x̂ · ∂L/∂γ / m)

The running statistics follow PyTorch: r ← (1 − momentum)·r + momentum·batch statistic,
with the *unbiased* variance σ²·m/(m − 1) for the running variance. In eval mode
``z = γ (x − r_μ)/√(r_σ² + ε) + β`` and ∂L/∂x = ∂L/∂z · γ/√(r_σ² + ε).

In NHWC the channel is the last axis, so every per-channel sum is ``ones @ X`` for the
(m, C) matrix X: one BLAS matrix-vector product instead of a strided NumPy reduction.
"""

from __future__ import annotations

import numpy as np

from derivations.backend.nn.base import Layer, LayerInputError
from derivations.backend.nn.parameter import Parameter


class BatchNorm2d(Layer):
    """Batch normalisation of NHWC (or (N, C)) inputs over all but the channel axis.

    ``frozen_scale=True`` fixes γ = 1 (not a parameter; airbench does this), so only β is
    learnt. ``running_mean`` and ``running_var`` are buffers: saved with the model, updated
    in training mode, used in eval mode.
    """

    BUFFERS = ("running_mean", "running_var")

    def __init__(self, num_features: int, *, momentum: float = 0.1, eps: float = 1e-5,
                 frozen_scale: bool = False, dtype=np.float32):
        if not 0.0 <= momentum <= 1.0:
            raise ValueError(f"BatchNorm2d: momentum must be in [0, 1], got {momentum}")
        self.num_features, self.momentum, self.eps = int(num_features), momentum, eps
        self.frozen_scale = frozen_scale
        self.gamma = None if frozen_scale else Parameter(np.ones(num_features, dtype=dtype), "gamma")
        self.beta = Parameter(np.zeros(num_features, dtype=dtype), "beta")
        self.running_mean = np.zeros(num_features, dtype=dtype)
        self.running_var = np.ones(num_features, dtype=dtype)
        self.dtype = np.dtype(dtype)
        self.x_hat: np.ndarray | None = None
        self._ones: np.ndarray | None = None

    @property
    def label(self) -> str:
        return f"BatchNorm2d({self.num_features}{', frozen γ' if self.frozen_scale else ''})"

    def _scale(self) -> np.ndarray:
        return self.gamma.data if self.gamma is not None else np.ones(self.num_features, self.dtype)

    def _ones_for(self, m: int, dtype) -> np.ndarray:
        if self._ones is None or self._ones.shape[0] != m or self._ones.dtype != dtype:
            self._ones = np.ones(m, dtype=dtype)
        return self._ones

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.check_input(x, ndim=None, dtype=self.dtype)
        if x.ndim not in (2, 4) or x.shape[-1] != self.num_features:
            raise LayerInputError(f"{self.label}: expected an NHWC input (batch, H, W, {self.num_features}) "
                                  f"or (batch, {self.num_features}), got shape {x.shape}")
        self.input_shape = x.shape
        x2 = x.reshape(-1, self.num_features)
        m = x2.shape[0]
        if self.training:
            if m < 2:
                raise LayerInputError(f"{self.label}: training mode needs more than one value per "
                                      f"channel, got input shape {x.shape}")
            ones = self._ones_for(m, x.dtype)
            mu = (ones @ x2) / m
            x_hat = x2 - mu                               # x − μ, becomes x̂ in place
            var = (ones @ np.square(x_hat)) / m
            k = self.momentum
            self.running_mean *= 1 - k
            self.running_mean += k * mu
            self.running_var *= 1 - k
            self.running_var += (k * m / (m - 1)) * var
        else:
            x_hat = x2 - self.running_mean
            var = self.running_var
        self.inv_std = (1.0 / np.sqrt(var + self.eps)).astype(x.dtype)
        x_hat *= self.inv_std
        self.x_hat = x_hat
        z = x_hat * self.gamma.data if self.gamma is not None else x_hat.copy()
        z += self.beta.data
        return z.reshape(x.shape)

    def backward(self, dz: np.ndarray) -> np.ndarray:
        if self.x_hat is None:
            raise LayerInputError(f"{self.label}.backward called before forward")
        self.check_grad_output(dz, self.input_shape)
        dz2 = dz.reshape(-1, self.num_features)
        m = dz2.shape[0]
        ones = self._ones_for(m, dz.dtype)
        d_beta = ones @ dz2
        d_gamma = ones @ (dz2 * self.x_hat)
        self.beta.grad[...] = d_beta
        if self.gamma is not None:
            self.gamma.grad[...] = d_gamma
        scale = self._scale() * self.inv_std
        if not self.training:                             # eval: a fixed affine map per channel
            return (dz2 * scale).reshape(self.input_shape)
        dx = self.x_hat * (d_gamma / -m).astype(dz.dtype)
        dx += dz2
        dx -= (d_beta / m).astype(dz.dtype)
        dx *= scale
        return dx.reshape(self.input_shape)


def named_buffers(obj, prefix: str = ""):
    """Yield ``(dotted.name, array)`` for every buffer (e.g. BatchNorm running statistics)
    reachable from ``obj``, named like :func:`~derivations.backend.nn.parameter.named_parameters`."""
    for key, value in vars(obj).items():
        if key.startswith("_"):
            continue
        yield from _buffers_of(value, f"{prefix}{key}")


def _buffers_of(value, name):
    if isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            yield from _buffers_of(item, f"{name}.{i}")
    elif isinstance(value, Layer):
        for key in getattr(value, "BUFFERS", ()):
            yield f"{name}.{key}", getattr(value, key)
        yield from named_buffers(value, f"{name}.")
