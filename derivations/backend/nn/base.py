"""The layer base class every layer (dense now, convolutional later) derives from.

A layer has ``forward(x)`` and ``backward(grad_output) -> grad_input``. ``forward`` keeps what
``backward`` needs in attributes named after the symbols of the derivation (``x``, ``z``,
``a``), so the numeric code reads like the sheets. Parameters are :class:`Parameter`
attributes and are found generically; ``backward`` writes their ``grad`` in place.
"""

from __future__ import annotations

import numpy as np

from derivations.backend.nn.parameter import Parameter, named_parameters


class LayerInputError(ValueError):
    """A layer got an input of the wrong shape or dtype; the message names layer and shapes."""


class Layer:
    """Base class: train/eval mode, parameter discovery, and input checks.

    Subclasses implement ``forward`` and ``backward``. ``needs_input_grad`` may be set to
    False on a first layer so ``backward`` skips the (unused) gradient with respect to the
    data, as autograd frameworks do for inputs that do not require a gradient.
    """

    training: bool = True
    needs_input_grad: bool = True

    # -- the two methods a layer implements ---------------------------------------------
    def forward(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def backward(self, grad_output: np.ndarray) -> np.ndarray | None:
        raise NotImplementedError

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return self.forward(x)

    # -- generic machinery ---------------------------------------------------------------
    def named_parameters(self, prefix: str = ""):
        return named_parameters(self, prefix)

    def parameters(self) -> list[Parameter]:
        return [p for _, p in self.named_parameters()]

    def zero_grad(self) -> None:
        for p in self.parameters():
            p.zero_grad()

    def children(self) -> list[Layer]:
        found = []
        for key, value in vars(self).items():
            if key.startswith("_"):
                continue
            items = value if isinstance(value, (list, tuple)) else [value]
            found.extend(item for item in items if isinstance(item, Layer))
        return found

    def train(self, mode: bool = True) -> Layer:
        self.training = mode
        for child in self.children():
            child.train(mode)
        return self

    def eval(self) -> Layer:
        return self.train(False)

    @property
    def label(self) -> str:
        """How error messages name this layer, e.g. ``Linear(784→512)``."""
        return type(self).__name__

    def __repr__(self) -> str:
        return self.label

    # -- input checks --------------------------------------------------------------------
    def check_input(self, x, features: int | None = None, ndim: int | None = 2,
                    dtype: np.dtype | None = None) -> None:
        """Raise :class:`LayerInputError` unless ``x`` is a float array of the expected shape."""
        if not isinstance(x, np.ndarray):
            raise LayerInputError(f"{self.label}: expected a NumPy array, got {type(x).__name__}")
        if x.dtype.kind != "f":
            raise LayerInputError(
                f"{self.label}: expected a floating-point input, got dtype {x.dtype} with shape {x.shape}")
        if dtype is not None and x.dtype != dtype:
            raise LayerInputError(
                f"{self.label}: input dtype {x.dtype} (shape {x.shape}) does not match the layer's "
                f"parameters ({np.dtype(dtype)}); convert with x.astype(np.{np.dtype(dtype)})")
        if ndim is not None and x.ndim != ndim:
            raise LayerInputError(
                f"{self.label}: expected a {ndim}-D input (batch, features), got shape {x.shape}")
        if features is not None and x.shape[-1] != features:
            raise LayerInputError(
                f"{self.label}: expected input shape (batch, {features}), got {x.shape}")

    def check_grad_output(self, grad: np.ndarray, expected_shape: tuple[int, ...]) -> None:
        if grad.shape != expected_shape:
            raise LayerInputError(
                f"{self.label}.backward: gradient shape {grad.shape} does not match the output "
                f"shape {expected_shape} of the last forward pass")
