"""Losses with explicit gradients.

A loss has ``forward(prediction, target) -> float`` and ``backward() -> ∂L/∂prediction``
for the reduced loss (``reduction="mean"`` by default, as PyTorch). The per-sample (or
per-element) values of the last forward pass are kept in ``losses``.
"""

from __future__ import annotations

import numpy as np

from derivations.backend.nn.base import LayerInputError

REDUCTIONS = ("mean", "sum", "none")


class Loss:
    def __init__(self, reduction: str = "mean"):
        if reduction not in REDUCTIONS:
            raise ValueError(f"{type(self).__name__}: reduction must be one of {REDUCTIONS}, got {reduction!r}")
        self.reduction = reduction
        self.losses: np.ndarray | None = None

    def __call__(self, prediction, target):
        return self.forward(prediction, target)

    def _reduce(self, losses: np.ndarray):
        self.losses = losses
        if self.reduction == "mean":
            return float(losses.mean(dtype=np.float64))
        if self.reduction == "sum":
            return float(losses.sum(dtype=np.float64))
        return losses

    def _scale(self, count: int) -> float:
        """Factor that turns a per-element gradient into the gradient of the reduced loss."""
        return 1.0 / count if self.reduction == "mean" else 1.0

    def _check_same_shape(self, prediction, target):
        if not isinstance(prediction, np.ndarray) or prediction.dtype.kind != "f":
            raise LayerInputError(f"{type(self).__name__}: prediction must be a float array")
        if prediction.shape != np.shape(target):
            raise LayerInputError(
                f"{type(self).__name__}: prediction shape {prediction.shape} and target shape "
                f"{np.shape(target)} differ")


class SoftmaxCrossEntropy(Loss):
    """Softmax followed by cross-entropy, fused: L = logsumexp(z) − z_y.

    ``target`` is either integer class labels (batch,) or a probability/one-hot matrix
    (batch, classes). The max is subtracted before exponentiating, so logits of ±1e4 (or
    more) give finite losses and gradients. ∂L/∂z = softmax(z) − y (÷ batch for the mean).
    ``label_smoothing`` mixes the target with the uniform distribution.
    """

    def __init__(self, reduction: str = "mean", label_smoothing: float = 0.0):
        super().__init__(reduction)
        if not 0.0 <= label_smoothing < 1.0:
            raise ValueError(f"label_smoothing must be in [0, 1), got {label_smoothing}")
        self.label_smoothing = label_smoothing
        self.o: np.ndarray | None = None      # softmax output, as sheet a1 names it
        self.y: np.ndarray | None = None      # integer labels or target distribution

    def forward(self, z: np.ndarray, y) -> float:
        if not isinstance(z, np.ndarray) or z.ndim != 2 or z.dtype.kind != "f":
            raise LayerInputError(
                f"SoftmaxCrossEntropy: logits must be a 2-D float array (batch, classes), got "
                f"{getattr(z, 'shape', type(z).__name__)}")
        y = np.asarray(y)
        n, c = z.shape
        if y.ndim == 1:
            if y.shape[0] != n or y.dtype.kind not in "iu":
                raise LayerInputError(
                    f"SoftmaxCrossEntropy: integer labels of shape ({n},) expected for logits "
                    f"{z.shape}, got {y.shape} {y.dtype}")
            if n and (y.min() < 0 or y.max() >= c):
                raise LayerInputError(
                    f"SoftmaxCrossEntropy: labels must lie in 0…{c - 1} for {c} classes, "
                    f"got {y.min()}…{y.max()}")
        elif y.shape != z.shape:
            raise LayerInputError(
                f"SoftmaxCrossEntropy: target shape {y.shape} does not match logits {z.shape}")
        shifted = z - z.max(axis=1, keepdims=True)
        exp = np.exp(shifted)
        sum_exp = exp.sum(axis=1, keepdims=True)
        log_sum = np.log(sum_exp)
        exp /= sum_exp
        self.o, self.y = exp, y
        eps = self.label_smoothing
        if y.ndim == 1:
            picked = shifted[np.arange(n), y]
            losses = log_sum[:, 0] - picked
            if eps:
                losses = (1 - eps) * losses + eps * (log_sum[:, 0] - shifted.mean(axis=1))
        else:
            target = y if not eps else (1 - eps) * y + eps / c
            losses = log_sum[:, 0] * target.sum(axis=1) - np.einsum("ij,ij->i", target, shifted)
        return self._reduce(losses)

    def backward(self) -> np.ndarray:
        o, y = self.o, self.y
        n, c = o.shape
        grad = o.copy()
        eps = self.label_smoothing
        if y.ndim == 1:
            grad[np.arange(n), y] -= 1 - eps
            if eps:
                grad -= eps / c
        else:
            # L = s·logsumexp(z) − t·z with s = Σ t, so ∂L/∂z = s·o − t (= o − y for one-hot).
            target = (y if not eps else (1 - eps) * y + eps / c).astype(o.dtype, copy=False)
            grad *= target.sum(axis=1, keepdims=True)
            grad -= target
        scale = self._scale(n)
        if scale != 1.0:
            grad *= grad.dtype.type(scale)
        return grad


class MSELoss(Loss):
    """L = mean over all elements of (ŷ − y)², as ``torch.nn.MSELoss``; ∂L/∂ŷ = 2(ŷ − y)/N."""

    def forward(self, y_hat: np.ndarray, y) -> float:
        self._check_same_shape(y_hat, y)
        self.diff = y_hat - y
        return self._reduce(self.diff * self.diff)

    def backward(self) -> np.ndarray:
        return self.diff * self.diff.dtype.type(2.0 * self._scale(self.diff.size))


TORCH_BCE_EPS = float(np.float32(1e-12))   # PyTorch's clamp of ŷ(1 − ŷ): a float constant, also for double


class BCELoss(Loss):
    """Binary cross-entropy on probabilities ŷ ∈ [0, 1], exactly as ``torch.nn.BCELoss``
    (ATen's ``binary_cross_entropy`` and its backward), in the input's dtype:

        L = (y − 1)·max(log(1 − ŷ), −100) − y·max(log ŷ, −100)
        ∂L/∂ŷ = (ŷ − y) / max((1 − ŷ)·ŷ, 1e−12), then ÷ N for the mean

    The same operations in the same order: where ŷ saturates to exactly 0 or 1 the
    gradient is ±1e12/N, and a course script that compares it with PyTorch's to 1e−3
    needs every rounding to be PyTorch's (÷ N, not × 1/N; the clamp 1e−12 rounded to
    float32, as PyTorch's constant is, also for float64).
    """

    def forward(self, y_hat: np.ndarray, y) -> float:
        self._check_same_shape(y_hat, y)
        if y_hat.size and (y_hat.min() < 0 or y_hat.max() > 1):
            raise LayerInputError("BCELoss: predictions must lie in [0, 1]; use BCEWithLogitsLoss for logits")
        self.y_hat, self.y = y_hat, np.asarray(y, dtype=y_hat.dtype)
        floor = y_hat.dtype.type(-100)
        with np.errstate(divide="ignore"):
            log_q = np.maximum(np.log1p(-y_hat), floor)
            log_p = np.maximum(np.log(y_hat), floor)
        return self._reduce((self.y - 1) * log_q - self.y * log_p)

    def backward(self) -> np.ndarray:
        y_hat, f = self.y_hat, self.y_hat.dtype.type
        grad = (y_hat - self.y) / np.maximum((f(1) - y_hat) * y_hat, f(TORCH_BCE_EPS))
        if self.reduction == "mean":
            grad /= f(y_hat.size)
        return grad


class BCEWithLogitsLoss(Loss):
    """Binary cross-entropy on logits z, stable for any z:
    L = max(z, 0) − z y + log(1 + e^−|z|); ∂L/∂z = σ(z) − y."""

    def forward(self, z: np.ndarray, y) -> float:
        self._check_same_shape(z, y)
        self.z, self.y = z, np.asarray(y, dtype=z.dtype)
        return self._reduce(np.maximum(z, 0) - z * self.y + np.log1p(np.exp(-np.abs(z))))

    def backward(self) -> np.ndarray:
        from derivations.backend.nn.activations import sigmoid
        return (sigmoid(self.z) - self.y) * self.z.dtype.type(self._scale(self.z.size))


LOSSES = {
    "softmax-ce": SoftmaxCrossEntropy,
    "mse": MSELoss,
    "bce": BCELoss,
    "bce-logits": BCEWithLogitsLoss,
}
