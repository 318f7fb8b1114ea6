"""Central-difference gradient checks for layers and losses (float64).

The objective is L = Σ R ⊙ layer(x) for a fixed random R, so ∂L/∂output = R and one
``backward(R)`` gives every analytic gradient. Each entry of the input and of every
parameter is then perturbed by ±h. On a mismatch the error names the layer, the input or
parameter and the worst entry, with both values side by side (as ``torch.autograd.gradcheck``).
"""

from __future__ import annotations

import numpy as np

from derivations.calculus.finite_differences import central_differences


class GradientCheckError(AssertionError):
    pass


def numeric_gradient(f, x: np.ndarray, h: float = 1e-6) -> np.ndarray:
    """∂f/∂x by central differences of the closure ``f()``, perturbing ``x`` in place."""
    return central_differences(lambda _: f(), x, h)


def _compare(what: str, analytic, numeric, rtol, atol):
    analytic = np.asarray(analytic, dtype=np.float64)
    err = np.abs(analytic - numeric)
    tol = atol + rtol * np.abs(numeric)
    if not np.all(err <= tol):
        i = np.unravel_index(np.argmax(err - tol), err.shape)
        raise GradientCheckError(
            f"{what}: analytic and numeric gradients differ at index {tuple(int(k) for k in i)}: "
            f"analytic {analytic[i]:.8g}, numeric {numeric[i]:.8g} "
            f"(max abs error {err.max():.3g}, shape {analytic.shape})")


def check_layer(layer, x: np.ndarray, *, seed: int = 0, h: float = 1e-6,
                rtol: float = 1e-5, atol: float = 1e-7) -> None:
    """Check ``layer.backward`` against central differences for its input and parameters.

    ``x`` must be float64 and the layer's parameters too. Stochastic layers must be put in
    a deterministic state by the caller (e.g. dropout in eval mode, or a fixed mask).
    """
    if x.dtype != np.float64:
        raise TypeError("gradient checks need float64 inputs")
    x = x.copy()
    rng = np.random.default_rng(seed)
    out = layer.forward(x)
    R = rng.standard_normal(out.shape)

    def objective():
        return float(np.sum(layer.forward(x) * R))

    layer.forward(x)
    dx = layer.backward(R.copy())
    analytic = {name: p.grad.copy() for name, p in layer.named_parameters()}
    if dx is not None:
        _compare(f"{layer.label}: ∂L/∂x", dx, numeric_gradient(objective, x, h), rtol, atol)
    for name, p in layer.named_parameters():
        _compare(f"{layer.label}: ∂L/∂{name}", analytic[name],
                 numeric_gradient(objective, p.data, h), rtol, atol)


def check_loss(loss, prediction: np.ndarray, target, *, h: float = 1e-6,
               rtol: float = 1e-5, atol: float = 1e-7) -> None:
    """Check ``loss.backward()`` against central differences of ``loss.forward``."""
    prediction = prediction.copy()
    loss.forward(prediction, target)
    analytic = loss.backward().copy()
    numeric = numeric_gradient(lambda: float(loss.forward(prediction, target)), prediction, h)
    _compare(f"{type(loss).__name__}: ∂L/∂prediction", analytic, numeric, rtol, atol)
