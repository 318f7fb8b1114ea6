"""Sheet a1's template names: a client trained on real MNIST CSV files, gradients against
autograd, and wrong gradient conventions that must make both fail."""

from __future__ import annotations

import doctest
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import IN_CI, require_module
from course_scripts import MISSING_TRANSPOSE_PATCH
from helpers import cli

from derivations.backend.datasets.digits_csv import write_digits_csv
from derivations.core.errors import UserError
from derivations.backend.templates import a1_p1
from derivations.backend.templates.a1_p1 import (MLP, Identity, ReLU, Sigmoid, SoftmaxCrossEntropy, Tanh,
                                         get_one_hot, random_normal_weight_init, zeros_bias_init)

REPO = Path(__file__).resolve().parents[2]
SHARED_DATA = REPO.parent / "shared" / "datasets"

CLIENT = '''\
"""An a1 client: only the template's names (from p1.py), trained through get_training_stats."""
import json

import numpy as np

from p1 import (MLP, Identity, Sigmoid, SoftmaxCrossEntropy, get_training_stats,
                load_mnist_csv, random_normal_weight_init, zeros_bias_init)

np.random.seed(0)
dset = load_mnist_csv(".", validation=1000)
mlp = MLP(784, 10, [64], [Sigmoid(), Identity()], random_normal_weight_init, zeros_bias_init,
          SoftmaxCrossEntropy(), lr=0.5, momentum=0.9)
train_loss, train_error, val_loss, val_error = get_training_stats(mlp, dset, nepochs=2, batch_size=32)
test_x, test_y = dset[2]
mlp.eval()
mlp.forward(test_x)
print(json.dumps({"train_loss": train_loss, "train_error": train_error, "val_loss": val_loss,
                  "val_error": val_error, "test_error": mlp.get_error(test_y) / len(test_x),
                  "samples": [len(x) for x, _ in dset]}))
'''

LOADTXT_CLIENT = '''\
"""An a1 client written as the sheet's own code: np.loadtxt (float labels), its own
initialisation assigned as whole lists (net.W = [...], net.b = [...]), gradients zeroed by
assigning net.dW and net.db, then the template's get_training_stats."""
import json

import numpy as np

from p1 import (MLP, Identity, ReLU, SoftmaxCrossEntropy, get_one_hot, get_training_stats,
                random_normal_weight_init, zeros_bias_init)

train = np.loadtxt("mnist_train.csv", delimiter=",")
test = np.loadtxt("mnist_test.csv", delimiter=",")
x, y = train[:, 1:] / 255, get_one_hot(train[:, 0], 10)          # labels are floats here
cut = len(x) - 10000
dset = [[x[:cut], y[:cut]], [x[cut:], y[cut:]], [test[:, 1:] / 255, get_one_hot(test[:, 0], 10)]]

np.random.seed(0)
net = MLP(784, 10, [128], [ReLU(), Identity()], random_normal_weight_init, zeros_bias_init,
          SoftmaxCrossEntropy(), lr=0.1, momentum=0.9)
W = [np.random.randn(784, 128) * np.sqrt(2 / 784), np.random.randn(128, 10) * np.sqrt(2 / 128)]
b = [np.full(128, 0.01), np.zeros(10)]
net.W, net.b = W, b                                              # He initialisation, by assignment
net.dW, net.db = [np.zeros_like(w) for w in W], [np.zeros_like(v) for v in b]
by_hand = np.maximum(x[:5] @ W[0] + b[0], 0) @ W[1] + b[1]
reached = bool(np.allclose(net.forward(x[:5]), by_hand))
net.W[1] = net.W[1] * 1.0                                          # one entry, assigned back
train_loss, train_error, val_loss, val_error = get_training_stats(net, dset, nepochs=4, batch_size=64)
net.eval()
net.forward(dset[2][0])
print(json.dumps({"reached": reached, "val_error": val_error, "samples": [len(s[0]) for s in dset],
                  "test_error": net.get_error(dset[2][1]) / len(dset[2][0])}))
'''

SUM_INSTEAD_OF_MEAN = '''\
# A wrong p1.py: dW and db are the gradients of the summed loss over the batch.
from derivations.backend.templates import a1_p1
from derivations.backend.templates.a1_p1 import *  # noqa: F401,F403


class MLP(a1_p1.MLP):
    def backward(self, labels):
        loss = super().backward(labels)
        for grad in [*self.dW, *self.db]:
            grad *= len(self.output)
        return loss
'''

MISSING_TRANSPOSE = "from derivations.backend.templates.a1_p1 import *  # noqa: F401,F403\n" + MISSING_TRANSPOSE_PATCH


@pytest.fixture(scope="module")
def csv_folder(tmp_path_factory):
    """6,000 training and 1,000 test images of real MNIST, written as the course's CSV files."""
    from derivations.backend.datasets import mnist
    data_dir = SHARED_DATA if (SHARED_DATA / "mnist").is_dir() else None   # else env var / cache
    try:
        data = mnist.load("mnist", data_dir, download_missing=False, progress=False)
    except UserError as err:
        if IN_CI:
            pytest.fail(f"MNIST is required in CI: {err}")
        pytest.skip(f"MNIST not available: {err}")
    folder = tmp_path_factory.mktemp("a1-data")
    write_digits_csv(folder / "mnist_train.csv", data.train_images[:6000], data.train_labels[:6000])
    write_digits_csv(folder / "mnist_test.csv", data.test_images[:1000], data.test_labels[:1000])
    return folder


@pytest.fixture(scope="module")
def full_csv_folder(tmp_path_factory):
    """All of real MNIST (60,000 training and 10,000 test images) as the course's CSV files."""
    from derivations.backend.datasets import mnist
    data_dir = SHARED_DATA if (SHARED_DATA / "mnist").is_dir() else None
    try:
        data = mnist.load("mnist", data_dir, download_missing=False, progress=False)
    except UserError as err:
        if IN_CI:
            pytest.fail(f"MNIST is required in CI: {err}")
        pytest.skip(f"MNIST not available: {err}")
    folder = tmp_path_factory.mktemp("a1-full")
    write_digits_csv(folder / "mnist_train.csv", data.train_images, data.train_labels)
    write_digits_csv(folder / "mnist_test.csv", data.test_images, data.test_labels)
    return folder


def run_client(csv_folder, folder, p1_py: str | None = None, client: str = CLIENT) -> dict:
    """Generate p1.py (or write the given one) beside the CSV files and the client; run it."""
    run = cli("template", "a1/p1", "--out", str(folder))
    assert run.code == 0, run.err
    if p1_py is not None:
        (folder / "p1.py").write_text(p1_py)
    for name in ("mnist_train.csv", "mnist_test.csv"):
        (folder / name).symlink_to(csv_folder / name)
    (folder / "client.py").write_text(client)
    # One BLAS thread: on a busy two-core machine OpenBLAS threads make this run 20× slower.
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    result = subprocess.run([sys.executable, "client.py"], cwd=folder, capture_output=True,
                            text=True, timeout=300, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout)


def learned(stats: dict) -> bool:
    """What a working template reaches in 314 steps of 784-64-10 (chance is 90 % error)."""
    return (stats["train_loss"][1] < stats["train_loss"][0]
            and stats["val_error"][1] < 0.2 and stats["test_error"] < 0.25)


def test_client_trains_a_few_hundred_steps_on_real_mnist_csv(csv_folder, tmp_path):
    stats = run_client(csv_folder, tmp_path)
    assert stats["samples"] == [5000, 1000, 1000]
    assert len(stats["train_loss"]) == len(stats["val_error"]) == 2
    assert learned(stats), stats


def test_a_client_that_assigns_weights_and_reads_loadtxt_labels_reaches_under_5_percent(full_csv_folder, tmp_path):
    """The sheet's full data and 4 epochs (about 15 s here, 9 of them writing the CSV files)."""
    stats = run_client(full_csv_folder, tmp_path, client=LOADTXT_CLIENT)
    assert stats["reached"] and stats["samples"] == [50000, 10000, 10000]
    assert stats["test_error"] < 0.05 and stats["val_error"][-1] < 0.05, stats


@pytest.mark.parametrize("wrong_p1_py", [SUM_INSTEAD_OF_MEAN, MISSING_TRANSPOSE],
                         ids=["sum-instead-of-mean", "missing-transpose"])
def test_the_client_fails_with_a_wrong_gradient_convention(csv_folder, tmp_path, wrong_p1_py):
    stats = run_client(csv_folder, tmp_path, wrong_p1_py)
    assert not learned(stats), stats


# -- gradients against autograd -------------------------------------------------------------

def autograd_gradients(mlp: MLP, x: np.ndarray, labels: np.ndarray, activations):
    """dW, db of the mean softmax cross-entropy, by torch autograd in float64."""
    torch = require_module("torch")
    functions = {Sigmoid: torch.sigmoid, Tanh: torch.tanh, ReLU: torch.relu, Identity: lambda z: z}
    Ws = [torch.tensor(np.array(W), requires_grad=True) for W in mlp.W]
    bs = [torch.tensor(np.array(b), requires_grad=True) for b in mlp.b]
    a = torch.tensor(x)
    for W, b, activation in zip(Ws, bs, activations):
        a = functions[type(activation)](a @ W + b)
    torch.nn.functional.cross_entropy(a, torch.tensor(labels)).backward()
    return [W.grad.numpy() for W in Ws], [b.grad.numpy() for b in bs]


def gradients_match(mlp_class=MLP, seed=0) -> bool:
    rng = np.random.default_rng(seed)
    np.random.seed(seed)
    activations = [Sigmoid(), Tanh(), ReLU(), Identity()]
    mlp = mlp_class(7, 4, [6, 5, 3], activations, random_normal_weight_init, zeros_bias_init,
                    SoftmaxCrossEntropy(), lr=0.1)
    for b in mlp.b:                      # non-zero biases, so db and the forward depend on them
        b[...] = rng.standard_normal(b.shape)
    x, labels = rng.standard_normal((9, 7)), rng.integers(0, 4, 9)
    mlp.forward(x)
    mlp.backward(get_one_hot(labels, 4))
    dW, db = autograd_gradients(mlp, x, labels, activations)
    return all(np.allclose(ours, ref, rtol=1e-7, atol=1e-10)
               for ours, ref in zip([*mlp.dW, *mlp.db], [*dW, *db]))


def test_backward_gives_the_gradients_of_the_mean_loss():
    assert all(gradients_match(seed=seed) for seed in range(3))


def test_the_gradient_check_fails_for_sum_instead_of_mean():
    class SumMLP(MLP):
        def backward(self, labels):
            loss = super().backward(labels)
            for grad in [*self.dW, *self.db]:
                grad *= len(self.output)
            return loss
    assert not gradients_match(SumMLP)


def test_the_gradient_check_fails_for_a_missing_transpose(monkeypatch):
    from derivations.backend.nn.layers import Linear
    namespace = {}
    exec(MISSING_TRANSPOSE_PATCH.replace("Linear.backward = _transposed_backward", ""), namespace)
    monkeypatch.setattr(Linear, "backward", namespace["_transposed_backward"])
    assert not gradients_match()


# -- the template's other names ---------------------------------------------------------------

def test_activations_have_forward_derivative_and_call():
    z = np.array([[-2.0, 0.0, 3.0]])
    for activation, value, slope in [
        (Sigmoid(), 1 / (1 + np.exp(-z)), np.exp(-z) / (1 + np.exp(-z)) ** 2),
        (Tanh(), np.tanh(z), 1 - np.tanh(z) ** 2),
        (ReLU(), np.maximum(z, 0), np.array([[0.0, 0.0, 1.0]])),
        (Identity(), z, np.ones_like(z)),
    ]:
        np.testing.assert_allclose(activation(z), value, rtol=1e-12)
        np.testing.assert_allclose(activation.derivative(), slope, rtol=1e-12)


def test_softmax_cross_entropy_is_per_sample_and_its_derivative_is_softmax_minus_y():
    x = np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 1000.0]])
    y = get_one_hot(np.array([2, 0]), 3)
    losses = SoftmaxCrossEntropy().forward(x, y)
    criterion = SoftmaxCrossEntropy()
    np.testing.assert_allclose(criterion(x, y), [np.log(np.exp(x[0]).sum()) - 3.0, 1000.0])
    softmax = np.exp(x - x.max(axis=1, keepdims=True))
    softmax /= softmax.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(criterion.derivative(), softmax - y, atol=1e-15)
    assert losses.shape == (2,)


def test_init_functions_and_one_hot():
    np.random.seed(0)
    W = random_normal_weight_init(300, 200)
    assert W.shape == (300, 200) and abs(W.mean()) < 0.01 and abs(W.std() - 1) < 0.01
    assert zeros_bias_init(5).tolist() == [0.0] * 5
    assert get_one_hot(np.array([1, 0]), 3).tolist() == [[0, 1, 0], [1, 0, 0]]
    assert get_one_hot(np.array([1.0, 0.0, 2.0]), 3).tolist() == [[0, 1, 0], [1, 0, 0], [0, 0, 1]]
    for bad in (np.array([0.5]), np.array([3.0]), np.array([-1]), np.array([np.nan])):
        with pytest.raises(ValueError, match="whole numbers in 0…2"):
            get_one_hot(bad, 3)


def small_mlp(**kwargs) -> MLP:
    np.random.seed(1)
    return MLP(3, 2, [4], [Sigmoid(), Identity()], random_normal_weight_init, zeros_bias_init,
               SoftmaxCrossEntropy(), **{"lr": 0.1, **kwargs})


def test_attributes_and_item_assignment_reach_the_network():
    mlp = small_mlp()
    assert mlp.nlayers == 2 and mlp.train_mode
    assert [W.shape for W in mlp.W] == [(3, 4), (4, 2)] and [b.shape for b in mlp.b] == [(4,), (2,)]
    mlp.W[1] = np.zeros((4, 2))
    mlp.b[1] = np.array([1.0, -1.0])
    assert (mlp(np.ones((5, 3))).argmax(axis=1) == 0).all()
    with pytest.raises(ValueError, match=r"expected an array of shape \(4, 2\)"):
        mlp.W[1] = np.zeros((2, 4, 1))
    W, b = [np.full((3, 4), 0.5), np.ones((4, 2))], [np.zeros(4), np.array([[2.0, -2.0]])]
    mlp.W, mlp.b = W, b                                   # whole lists, as the template keeps them
    assert all(np.array_equal(layer.W.data, w) for layer, w in zip(mlp._linears, W))
    np.testing.assert_array_equal(mlp.b[1], [2.0, -2.0])
    mlp.dW = [np.ones((3, 4)), np.ones((4, 2))]
    mlp.db = [np.ones(4), np.ones(2)]
    assert all(layer.W.grad.all() and layer.b.grad.all() for layer in mlp._linears)
    mlp.W[:1] = [np.zeros((3, 4))]
    assert not mlp._linears[0].W.data.any()
    with pytest.raises(ValueError, match="expected 2 arrays, one per layer, got 1"):
        mlp.W = [np.zeros((3, 4))]
    with pytest.raises(ValueError, match=r"expected an array of shape \(4, 2\)"):
        mlp.W = [np.ones((3, 4)), np.zeros((2, 4))]
    assert not mlp._linears[0].W.data.any()                # nothing assigned when one is wrong
    mlp.eval()
    assert not mlp.train_mode
    with pytest.raises(RuntimeError, match="eval mode"):
        mlp.backward(get_one_hot(np.array([0] * 5), 2))
    mlp.train()
    assert mlp.train_mode


def test_step_is_sgd_with_momentum_and_zero_grads_clears():
    mlp = small_mlp(lr=0.1, momentum=0.5)
    x, y = np.ones((2, 3)), get_one_hot(np.array([0, 1]), 2)
    W0 = mlp.W[0].copy()
    mlp.forward(x)
    mlp.backward(y)
    g1 = mlp.dW[0].copy()
    mlp.step()
    np.testing.assert_allclose(mlp.W[0], W0 - 0.1 * g1)
    mlp.zero_grads()
    assert not any(dW.any() for dW in mlp.dW)
    mlp.forward(x)
    mlp.backward(y)
    g2 = mlp.dW[0].copy()
    mlp.step()
    np.testing.assert_allclose(mlp.W[0], W0 - 0.1 * g1 - 0.1 * (0.5 * g1 + g2))


def test_loss_is_summed_and_error_is_a_count():
    mlp = small_mlp()
    x, labels = np.random.default_rng(0).standard_normal((6, 3)), np.array([0, 1, 1, 0, 1, 0])
    logits = mlp.forward(x)
    per_sample = SoftmaxCrossEntropy()(logits, get_one_hot(labels, 2))
    assert mlp.get_loss(get_one_hot(labels, 2)) == pytest.approx(per_sample.sum())
    assert mlp.get_error(get_one_hot(labels, 2)) == np.count_nonzero(logits.argmax(axis=1) != labels)


def test_activations_for_hidden_layers_only_and_bad_lists_or_shapes():
    np.random.seed(0)
    args = (random_normal_weight_init, zeros_bias_init, SoftmaxCrossEntropy())
    assert MLP(3, 2, [4, 5], [ReLU(), ReLU()], *args, lr=0.1).nlayers == 3
    with pytest.raises(ValueError, match="3 layers need 3 activations"):
        MLP(3, 2, [4, 5], [ReLU()], *args, lr=0.1)
    with pytest.raises(ValueError, match=r"weight_init_fn returned shape \(2,\); expected \(3, 4\)"):
        MLP(3, 2, [4], [ReLU()], lambda d0, d1: np.zeros(2), zeros_bias_init,
            SoftmaxCrossEntropy(), lr=0.1)


def test_save_model_writes_p1_model_npz_that_the_backend_loads(tmp_path, monkeypatch):
    from derivations.backend.nn.mlp import MLP as BackendMLP
    monkeypatch.chdir(tmp_path)
    mlp = small_mlp()
    mlp.save_model()
    x = np.random.default_rng(0).standard_normal((4, 3))
    loaded = BackendMLP.load(tmp_path / "p1_model.npz")
    np.testing.assert_allclose(loaded.forward(x), mlp.forward(x), rtol=1e-12)


def test_load_mnist_csv_scales_splits_and_one_hots(tmp_path):
    rng = np.random.default_rng(0)
    images, labels = rng.integers(0, 256, (12, 28, 28), dtype=np.uint8), rng.integers(0, 10, 12)
    write_digits_csv(tmp_path / "mnist_train.csv", images[:10], labels[:10])
    write_digits_csv(tmp_path / "mnist_test.csv", images[10:], labels[10:])
    (train_x, train_y), (val_x, val_y), (test_x, test_y) = a1_p1.load_mnist_csv(tmp_path, validation=3)
    assert train_x.shape == (7, 784) and val_x.shape == (3, 784) and test_x.shape == (2, 784)
    np.testing.assert_allclose(val_x[0] * 255, images[7].reshape(-1), rtol=1e-6)
    assert val_y[0].argmax() == labels[7] and test_y.sum(axis=1).tolist() == [1, 1]
    with pytest.raises(UserError, match="not found"):
        a1_p1.load_mnist_csv(tmp_path / "nowhere")


def test_module_examples_run():
    assert doctest.testmod(a1_p1).failed == 0
