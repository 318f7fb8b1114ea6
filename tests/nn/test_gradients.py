"""Every layer and loss: backward against central differences (float64) and torch autograd."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import require_module

from derivations.backend.nn.activations import ELU, GELU, LeakyReLU, ReLU, Sigmoid, Softplus, Tanh
from derivations.backend.nn.gradcheck import GradientCheckError, check_layer, check_loss
from derivations.backend.nn.layers import Dropout, Flatten, Linear, Sequential
from derivations.backend.nn.losses import BCELoss, BCEWithLogitsLoss, MSELoss, SoftmaxCrossEntropy

RNG = np.random.default_rng(1234)


def rand(*shape):
    return RNG.standard_normal(shape)


def away_from_kinks(x):
    """Move entries off 0 so ReLU-like kinks don't sit inside the ±h of the difference."""
    return np.where(np.abs(x) < 1e-2, 0.5, x)


ACTIVATIONS = [Sigmoid, Tanh, ReLU, lambda: LeakyReLU(0.1), lambda: ELU(1.3), GELU,
               lambda: GELU("sigmoid"), Softplus]
ACTIVATION_IDS = ["sigmoid", "tanh", "relu", "leaky-relu", "elu", "gelu", "gelu-sigmoid", "softplus"]


@pytest.mark.parametrize("make", ACTIVATIONS, ids=ACTIVATION_IDS)
def test_activation_backward_matches_central_differences(make):
    check_layer(make(), away_from_kinks(rand(5, 7) * 3))


@pytest.mark.parametrize("layout", ["in_out", "out_in"])
def test_linear_backward_matches_central_differences(layout):
    layer = Linear(7, 4, layout=layout, rng=np.random.default_rng(0), dtype=np.float64)
    layer.b.data[:] = rand(4)
    layer.needs_input_grad = True
    check_layer(layer, rand(5, 7))


def test_sequential_backward_matches_central_differences():
    rng = np.random.default_rng(0)
    net = Sequential(Linear(6, 5, rng=rng, dtype=np.float64), Tanh(),
                     Linear(5, 3, rng=rng, dtype=np.float64, layout="out_in"), Softplus())
    net.require_input_grad()
    check_layer(net, rand(4, 6))


class FrozenRNG:
    """Replays one dropout draw so repeated forward passes use the same mask."""

    def __init__(self, seed):
        self._draw = None
        self._rng = np.random.default_rng(seed)

    def random(self, shape, dtype):
        if self._draw is None:
            self._draw = self._rng.random(shape, dtype=dtype)
        return self._draw


def test_dropout_backward_matches_central_differences_for_a_fixed_mask():
    layer = Dropout(0.4, rng=FrozenRNG(3))
    check_layer(layer, rand(6, 9))
    assert 0 < np.count_nonzero(layer.mask == 0) < layer.mask.size
    assert np.allclose(layer.mask[layer.mask != 0], 1 / 0.6)


def test_dropout_is_identity_in_eval_mode_and_keeps_the_mean_in_training():
    layer = Dropout(0.5, rng=np.random.default_rng(0))
    x = np.ones((200, 500), dtype=np.float32)
    assert layer.eval().forward(x) is x
    out = layer.train().forward(x)
    assert abs(out.mean() - 1) < 0.01 and set(np.unique(out)) == {0.0, 2.0}


def test_flatten_round_trips_shapes():
    layer = Flatten()
    x = rand(2, 3, 4)
    assert layer.forward(x).shape == (2, 12)
    assert layer.backward(np.ones((2, 12))).shape == (2, 3, 4)


# -- a deliberately wrong backward must be caught -------------------------------------------
class LinearMissingTranspose(Linear):
    """∂L/∂W computed as dzᵀx instead of xᵀdz: the classic missing transpose (square W hides it
    from the shapes, so only the values can tell)."""

    def backward(self, dz):
        np.matmul(dz.T, self.x, out=self.W.grad)
        self.b.grad[:] = dz.sum(axis=0)
        return dz @ self.W.data.T


class SigmoidWrongDerivative(Sigmoid):
    def _backward(self, da):
        return da * self.a            # forgot the (1 − a)


def test_gradient_check_catches_a_missing_transpose():
    layer = LinearMissingTranspose(4, 4, rng=np.random.default_rng(0), dtype=np.float64)
    layer.needs_input_grad = True
    with pytest.raises(GradientCheckError, match=r"Linear\(4→4\): ∂L/∂W"):
        check_layer(layer, rand(3, 4))


def test_gradient_check_catches_a_wrong_activation_derivative():
    with pytest.raises(GradientCheckError, match="Sigmoid"):
        check_layer(SigmoidWrongDerivative(), rand(3, 5))


# -- losses ---------------------------------------------------------------------------------
def test_softmax_ce_backward_matches_central_differences_for_labels_and_distributions():
    z = rand(5, 4)
    check_loss(SoftmaxCrossEntropy(), z, RNG.integers(0, 4, 5))
    p = RNG.random((5, 4))
    check_loss(SoftmaxCrossEntropy(), z, p / p.sum(axis=1, keepdims=True))
    check_loss(SoftmaxCrossEntropy(label_smoothing=0.2), z, RNG.integers(0, 4, 5))
    check_loss(SoftmaxCrossEntropy(reduction="sum"), z, RNG.integers(0, 4, 5))


@pytest.mark.parametrize("loss,make_target", [
    (MSELoss(), lambda s: RNG.standard_normal(s)),
    (BCEWithLogitsLoss(), lambda s: RNG.random(s)),
], ids=["mse", "bce-logits"])
def test_regression_losses_backward_match_central_differences(loss, make_target):
    check_loss(loss, rand(4, 3), make_target((4, 3)))


def test_bce_backward_matches_central_differences():
    check_loss(BCELoss(), RNG.uniform(0.05, 0.95, (4, 3)), RNG.random((4, 3)))


def test_softmax_ce_is_finite_and_exact_for_huge_logits():
    loss = SoftmaxCrossEntropy()
    z = np.array([[1e4, -1e4, 0.0], [-1e4, -1e4, 1e4]], dtype=np.float32)
    value = loss.forward(z, np.array([1, 2]))
    grad = loss.backward()
    assert value == pytest.approx(1e4)                   # (2e4 + 0) / 2
    assert np.all(np.isfinite(grad))
    assert np.allclose(grad, [[0.5, -0.5, 0.0], [0.0, 0.0, 0.0]])


# -- against torch autograd -----------------------------------------------------------------
def torch_activation(torch, name):
    F = torch.nn.functional
    return {
        "sigmoid": torch.sigmoid, "tanh": torch.tanh, "relu": torch.relu,
        "leaky-relu": lambda x: F.leaky_relu(x, 0.1), "elu": lambda x: F.elu(x, 1.3),
        "gelu": F.gelu, "gelu-sigmoid": lambda x: x * torch.sigmoid(1.702 * x),
        "softplus": lambda x: F.softplus(x, threshold=1e9),
    }[name]


@pytest.mark.parametrize("make,name", list(zip(ACTIVATIONS, ACTIVATION_IDS)), ids=ACTIVATION_IDS)
def test_activation_matches_torch_autograd(make, name):
    torch = require_module("torch")
    x = rand(6, 5) * 4
    x[0, :3] = [30.0, -30.0, 0.0]          # saturated tails and the kink
    layer = make()
    R = rand(6, 5)
    out = layer.forward(x)
    dx = layer.backward(R)
    xt = torch.tensor(x, requires_grad=True)
    yt = torch_activation(torch, name)(xt)
    yt.backward(torch.tensor(R))
    np.testing.assert_allclose(out, yt.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(dx, xt.grad.numpy(), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("layout", ["in_out", "out_in"])
def test_linear_matches_torch_autograd(layout):
    torch = require_module("torch")
    layer = Linear(7, 3, layout=layout, rng=np.random.default_rng(5), dtype=np.float64)
    layer.b.data[:] = rand(3)
    layer.needs_input_grad = True
    x, R = rand(4, 7), rand(4, 3)
    out = layer.forward(x)
    dx = layer.backward(R)
    ref = torch.nn.Linear(7, 3).double()
    with torch.no_grad():
        ref.weight.copy_(torch.tensor(layer.W.data.T if layout == "in_out" else layer.W.data))
        ref.bias.copy_(torch.tensor(layer.b.data))
    xt = torch.tensor(x, requires_grad=True)
    ref(xt).backward(torch.tensor(R))
    np.testing.assert_allclose(out, ref(xt).detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(dx, xt.grad.numpy(), rtol=1e-12)
    dW = ref.weight.grad.numpy()
    np.testing.assert_allclose(layer.W.grad, dW.T if layout == "in_out" else dW, rtol=1e-12)
    np.testing.assert_allclose(layer.b.grad, ref.bias.grad.numpy(), rtol=1e-12)


def _torch_loss_check(torch, ours, theirs, pred, target, torch_target=None, rtol=1e-10):
    value = ours.forward(pred, target)
    grad = ours.backward()
    pt = torch.tensor(pred, requires_grad=True)
    ref = theirs(pt, torch.tensor(target) if torch_target is None else torch_target)
    ref.backward()
    assert value == pytest.approx(ref.item(), rel=rtol, abs=1e-12)
    np.testing.assert_allclose(grad, pt.grad.numpy(), rtol=rtol, atol=1e-12)


def test_softmax_ce_matches_torch_for_labels_probabilities_smoothing_and_huge_logits():
    torch = require_module("torch")
    z, y = rand(6, 5) * 3, RNG.integers(0, 5, 6)
    _torch_loss_check(torch, SoftmaxCrossEntropy(), torch.nn.CrossEntropyLoss(), z, y)
    p = RNG.random((6, 5))
    p /= p.sum(axis=1, keepdims=True)
    _torch_loss_check(torch, SoftmaxCrossEntropy(), torch.nn.CrossEntropyLoss(), z, p)
    _torch_loss_check(torch, SoftmaxCrossEntropy(label_smoothing=0.1),
                      torch.nn.CrossEntropyLoss(label_smoothing=0.1), z, y)
    _torch_loss_check(torch, SoftmaxCrossEntropy(reduction="sum"),
                      torch.nn.CrossEntropyLoss(reduction="sum"), z, y)
    huge = np.array([[1e4, -1e4, 3.0], [-1e4, 0.0, 1e4]])
    _torch_loss_check(torch, SoftmaxCrossEntropy(), torch.nn.CrossEntropyLoss(), huge, np.array([0, 0]))


def test_mse_bce_and_bce_with_logits_match_torch_including_saturation():
    torch = require_module("torch")
    pred, target = rand(5, 3), rand(5, 3)
    _torch_loss_check(torch, MSELoss(), torch.nn.MSELoss(), pred, target)
    probs = RNG.uniform(0.01, 0.99, (5, 3))
    probs[0, :2] = [0.0, 1.0]                            # saturated sigmoid outputs
    labels = RNG.integers(0, 2, (5, 3)).astype(np.float64)
    labels[0, :2] = [1.0, 0.0]
    _torch_loss_check(torch, BCELoss(), torch.nn.BCELoss(), probs, labels)
    logits = rand(5, 3) * 5
    logits[0, :2] = [1e4, -1e4]
    _torch_loss_check(torch, BCEWithLogitsLoss(), torch.nn.BCEWithLogitsLoss(), logits, RNG.random((5, 3)))


def test_normal_cdf_fallback_without_scipy_agrees(monkeypatch):
    import builtins
    from derivations.backend.nn.activations import normal_cdf
    z = np.array([-40.0, -8.0, -1.0, 0.0, 0.5, 8.0])
    with_scipy = normal_cdf(z)
    real_import = builtins.__import__

    def no_scipy(name, *args, **kwargs):
        if name.startswith("scipy"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_scipy)
    np.testing.assert_allclose(normal_cdf(z), with_scipy, rtol=1e-13, atol=0)
    assert normal_cdf(z.astype(np.float32)).dtype == np.float32
