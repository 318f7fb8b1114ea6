"""Sheet ``hw1``'s ``mlp.py`` template over the NumPy backend: Linear1 → f → Linear2 → g.

The course grades a file named ``mlp.py`` by running its own scripts beside it; a file
holding only ``from derivations.backend.templates.hw1_mlp import *`` passes them. The names and
conventions are the template's: ``W`` is (out, in) as in ``torch.nn.Linear``, ``x`` is
(batch, in), and ``mse_loss`` / ``bce_loss`` return ``(J, dJ/dŷ)`` for the mean loss with
the semantics of ``torch.nn.MSELoss()`` / ``torch.nn.BCELoss()`` (BCE clamps each log at
−100, so ŷ exactly 0 or 1 gives a finite loss, and its gradient divides by
max(ŷ(1 − ŷ), 1e−12); both in PyTorch's operations and order, so that for the same ŷ
dJ/dŷ is PyTorch's to the bit, ±1e12/N included).

The forward pass is NumPy's, so ŷ agrees with PyTorch's to float32 rounding, not to the
bit (another GEMM summation order, another exp). A course line comparing dJ/dŷ with
autograd's gradient at PyTorch's *own* ŷ to 1e−3 therefore holds for outputs that are
exactly 0 or 1 and for ordinary ones, but not where an output is a few ulps from 0 or 1
without reaching it: there one ulp of ŷ moves the gradient by far more than 1e−3.

Every forward and backward step is a backend layer or loss (:mod:`derivations.backend.nn`); this
module only converts at the boundary. Tensors are turned into NumPy arrays of their own
dtype, so a float32 network computes in float32 as PyTorch does (a saturated sigmoid gives
exactly 1.0, and the backward pass sees that 1.0), and results go back as tensors of that
dtype. NumPy arrays in give NumPy arrays out, and torch is imported only once a tensor is
seen (or when the template's ``torch.randn`` parameters are created; pass
``backend="numpy"`` for NumPy parameters without importing torch).

The cache names the sheet's symbols: ``z1`` = Linear1(x), ``z2`` = f(z1),
``z3`` = Linear2(z2), ``y_hat`` = g(z3).
"""

from __future__ import annotations

import sys

import numpy as np

from derivations.backend.nn.activations import Identity, ReLU, Sigmoid
from derivations.backend.nn.layers import Linear
from derivations.backend.nn.losses import BCELoss, MSELoss
from derivations.backend.nn.parameter import Parameter

__all__ = ["MLP", "mse_loss", "bce_loss"]

BACKENDS = ("torch", "numpy")


class _TorchSigmoid(Sigmoid):
    """σ(z) = 1 / (1 + e^−z), evaluated as ``torch.sigmoid`` does.

    Works around the backend's ½(1 + tanh(z/2)), which in float32 rounds σ(z) to 0 for
    z < −17 (PyTorch gives 2e−9 at z = −20) and so breaks BCE on saturated outputs.
    The derivative a(1 − a) is the backend's.
    """

    def _forward(self, z):
        with np.errstate(over="ignore"):      # e^−z = inf gives σ = 0, as in torch
            return np.reciprocal(np.exp(-z) + z.dtype.type(1))


FUNCTIONS = {"relu": ReLU, "sigmoid": _TorchSigmoid, "identity": Identity}


def _torch():
    return sys.modules.get("torch")


def _is_tensor(value) -> bool:
    torch = _torch()     # a tensor cannot exist unless torch has been imported
    return torch is not None and isinstance(value, torch.Tensor)


def _to_numpy(value, dtype=None) -> np.ndarray:
    array = value.detach().cpu().numpy() if _is_tensor(value) else np.asarray(value)
    if dtype is None:
        dtype = array.dtype if array.dtype.kind == "f" else np.float64
    return np.ascontiguousarray(array, dtype=dtype)


def _like(array: np.ndarray, as_tensor: bool):
    """``array`` as a tensor (a copy) when ``as_tensor``, else as it is."""
    return _torch().from_numpy(array.copy()) if as_tensor else array


def _scalar(value: float, dtype, as_tensor: bool):
    """A 0-d tensor of ``dtype`` when ``as_tensor``, else a NumPy scalar of ``dtype``."""
    scalar = np.array(value, dtype=dtype)
    return _torch().from_numpy(scalar) if as_tensor else scalar[()]


def _add_into(target, array: np.ndarray) -> None:
    """``target += array`` in place, for a tensor or an array ``target`` of any float dtype."""
    if _is_tensor(target):
        target += _torch().from_numpy(np.ascontiguousarray(array)).to(target.dtype)
    else:
        target += array.astype(target.dtype, copy=False)


class MLP:
    """Two affine layers with activations f and g: ŷ = g(W2 f(W1 x + b1) + b2) per row of x.

    ``parameters`` {W1, b1, W2, b2} start as ``torch.randn`` tensors like the template's
    (standard-normal NumPy float64 arrays with ``backend="numpy"``, or when torch is not
    installed). ``forward`` accepts tensors or NumPy arrays; when their kind differs from the
    parameters', ``parameters`` and ``grads`` are converted to the input's kind (sharing
    memory), so a network fed NumPy arrays holds NumPy arrays. ``backward`` adds to
    ``grads`` (as autograd does); ``clear_grad_and_cache`` zeroes them.
    """

    def __init__(self, linear_1_in_features, linear_1_out_features, f_function,
                 linear_2_in_features, linear_2_out_features, g_function, *,
                 backend: str | None = None, seed: int | None = None):
        for name, value in (("f_function", f_function), ("g_function", g_function)):
            if value not in FUNCTIONS:
                raise ValueError(f"{name} must be one of {', '.join(FUNCTIONS)}; got {value!r}")
        if linear_1_out_features != linear_2_in_features:
            raise ValueError(f"linear_1_out_features ({linear_1_out_features}) must equal "
                             f"linear_2_in_features ({linear_2_in_features})")
        if backend is None:
            backend = "torch" if _torch_available() else "numpy"
        if backend not in BACKENDS:
            raise ValueError(f"backend must be one of {', '.join(BACKENDS)}; got {backend!r}")
        self.f_function, self.g_function = f_function, g_function
        shapes = {"W1": (linear_1_out_features, linear_1_in_features), "b1": (linear_1_out_features,),
                  "W2": (linear_2_out_features, linear_2_in_features), "b2": (linear_2_out_features,)}
        if backend == "torch":
            import torch
            if seed is not None:
                torch.manual_seed(seed)
            self.parameters = {k: torch.randn(*shape) for k, shape in shapes.items()}
            self.grads = {f"dJd{k}": torch.zeros(*shape) for k, shape in shapes.items()}
        else:
            rng = np.random.default_rng(seed)
            self.parameters = {k: rng.standard_normal(shape) for k, shape in shapes.items()}
            self.grads = {f"dJd{k}": np.zeros(shape) for k, shape in shapes.items()}
        self.cache = {}
        self._layers: list | None = None

    # -- the template's interface --------------------------------------------------------
    def forward(self, x):
        """ŷ for a batch ``x`` of shape (batch, linear_1_in_features)."""
        as_tensor = _is_tensor(x)
        self._match_kind(as_tensor)
        x_np = _to_numpy(x)
        dtype = x_np.dtype
        p = {k: _to_numpy(v, dtype) for k, v in self.parameters.items()}
        linear_1, linear_2 = (self._linear(p[f"W{i}"], p[f"b{i}"]) for i in (1, 2))
        layers = [linear_1, FUNCTIONS[self.f_function](), linear_2, FUNCTIONS[self.g_function]()]
        linear_1.needs_input_grad = False
        values = [x_np]
        for layer in layers:
            values.append(layer.forward(values[-1]))
        self._layers = layers
        names = ("x", "z1", "z2", "z3", "y_hat")
        self.cache = {name: _like(value, as_tensor) for name, value in zip(names, values)}
        return _like(values[-1], as_tensor)

    def backward(self, dJdy_hat):
        """Add ∂J/∂W1, ∂J/∂b1, ∂J/∂W2, ∂J/∂b2 to ``grads``, given ∂J/∂ŷ of the last forward."""
        if self._layers is None or not self.cache:
            raise RuntimeError("MLP.backward: call forward first (the cache is empty)")
        linear_1, _, linear_2, _ = self._layers
        grad = _to_numpy(dJdy_hat, linear_1.W.dtype)
        for layer in reversed(self._layers):
            grad = layer.backward(grad)
        for i, layer in ((1, linear_1), (2, linear_2)):
            _add_into(self.grads[f"dJdW{i}"], layer.W.grad)
            _add_into(self.grads[f"dJdb{i}"], layer.b.grad)

    def clear_grad_and_cache(self):
        for grad in self.grads.values():
            grad[...] = 0
        self.cache = {}
        self._layers = None

    __call__ = forward

    # -- helpers -------------------------------------------------------------------------
    @staticmethod
    def _linear(W: np.ndarray, b: np.ndarray) -> Linear:
        out_features, in_features = W.shape
        layer = Linear(in_features, out_features, layout="out_in", weight_init="zeros",
                       dtype=W.dtype)
        layer.W, layer.b = Parameter(W, "W"), Parameter(b, "b")
        return layer

    def _match_kind(self, as_tensor: bool) -> None:
        """Convert parameters and grads to tensors or NumPy arrays (sharing memory)."""
        for table in (self.parameters, self.grads):
            for key, value in table.items():
                if _is_tensor(value) and not as_tensor:
                    table[key] = value.detach().numpy()
                elif as_tensor and not _is_tensor(value):
                    table[key] = _torch().from_numpy(np.ascontiguousarray(value))


def _torch_available() -> bool:
    if _torch() is not None:
        return True
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


def _loss(loss, y, y_hat):
    as_tensor = _is_tensor(y_hat)
    prediction = _to_numpy(y_hat)
    target = _to_numpy(y, prediction.dtype)
    J = loss.forward(prediction, target)
    return _scalar(J, prediction.dtype, as_tensor), _like(loss.backward(), as_tensor)


def mse_loss(y, y_hat):
    """(J, ∂J/∂ŷ) of J = mean((ŷ − y)²), as ``torch.nn.MSELoss()``."""
    return _loss(MSELoss(), y, y_hat)


def bce_loss(y, y_hat):
    """(J, ∂J/∂ŷ) of J = mean(−y log ŷ − (1 − y) log(1 − ŷ)), as ``torch.nn.BCELoss()``."""
    return _loss(BCELoss(), y, y_hat)
