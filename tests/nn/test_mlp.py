"""The sheet-a1 MLP API, the hw1 shapes, shape/dtype errors, and save/load."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import require_module

from derivations.core.errors import UserError
from derivations.backend.nn.base import LayerInputError
from derivations.backend.nn.layers import Linear
from derivations.backend.nn.losses import BCELoss, MSELoss, SoftmaxCrossEntropy
from derivations.backend.nn.activations import ReLU, Sigmoid
from derivations.backend.nn.mlp import MLP
from derivations.backend.nn.training import get_one_hot, get_training_stats


def small_mlp(**kw):
    return MLP(6, 4, [5, 3], ["sigmoid", "tanh"], seed=3, dtype=np.float64, **kw)


def test_mlp_backward_matches_torch_autograd_for_the_mean_loss():
    torch = require_module("torch")
    mlp = small_mlp()
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((7, 6)), rng.integers(0, 4, 7)
    mlp.forward(x)
    loss = mlp.backward(y)
    params = [torch.tensor(a, requires_grad=True) for a in (*mlp.W, *mlp.b)]
    W, b = params[:3], params[3:]
    h = torch.sigmoid(torch.tensor(x) @ W[0] + b[0])
    h = torch.tanh(h @ W[1] + b[1])
    ref = torch.nn.functional.cross_entropy(h @ W[2] + b[2], torch.tensor(y))
    ref.backward()
    assert loss == pytest.approx(ref.item(), rel=1e-12)
    for ours, theirs in zip((*mlp.dW, *mlp.db), params):
        np.testing.assert_allclose(ours, theirs.grad.numpy(), rtol=1e-10, atol=1e-14)


def test_get_loss_is_the_batch_sum_and_get_error_counts_mistakes():
    mlp = small_mlp()
    x = np.random.default_rng(1).standard_normal((5, 6))
    logits = mlp.forward(x)
    y = logits.argmax(axis=1)
    y[:2] = (y[:2] + 1) % 4
    assert mlp.get_error(y) == 2
    assert mlp.get_error(get_one_hot(y, 4)) == 2
    per_sample = SoftmaxCrossEntropy(reduction="none").forward(logits, y)
    assert mlp.get_loss(y) == pytest.approx(per_sample.sum())


def test_cache_names_follow_the_derivation():
    mlp = small_mlp()
    x = np.ones((2, 6))
    mlp.forward(x)
    cache = mlp.cache
    assert list(cache) == ["x", "z1", "a1", "z2", "a2", "z3"]
    np.testing.assert_allclose(cache["z1"], x @ mlp.W[0] + mlp.b[0])
    np.testing.assert_allclose(cache["a1"], 1 / (1 + np.exp(-cache["z1"])))


def test_step_and_zero_grads_update_every_parameter_generically():
    mlp = small_mlp(lr=0.5)
    before = [w.copy() for w in mlp.W]
    mlp.forward(np.ones((3, 6)))
    mlp.backward(np.array([0, 1, 2]))
    mlp.step()
    assert all(not np.allclose(a, b) for a, b in zip(before, mlp.W))
    mlp.zero_grads()
    assert all(not g.any() for g in (*mlp.dW, *mlp.db))


def test_save_and_load_round_trip(tmp_path):
    mlp = MLP(6, 4, [5], "relu", seed=1)
    path = tmp_path / "p1_model.npz"
    mlp.save_model(path)
    loaded = MLP.load(path)
    x = np.random.default_rng(0).random((3, 6), dtype=np.float32)
    np.testing.assert_array_equal(mlp.forward(x), loaded.forward(x))


def test_loading_a_missing_or_corrupt_model_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match="does not exist"):
        MLP.load(tmp_path / "nothing.npz")
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a zip")
    with pytest.raises(UserError, match="not a .npz file"):
        MLP.load(bad)


def test_sheet_init_is_standard_normal_weights_and_zero_biases():
    mlp = MLP(400, 300, [500], "sigmoid", weight_init="normal", seed=0)
    w = mlp.W[0]
    assert abs(w.mean()) < 0.01 and abs(w.std() - 1) < 0.01
    assert not any(b.any() for b in mlp.b)
    he = MLP(400, 300, [500], "relu", weight_init="he", seed=0).W[0]
    assert he.std() == pytest.approx(np.sqrt(2 / 400), rel=0.02)


def test_get_training_stats_returns_per_epoch_lists():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((300, 6)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64)
    mlp = MLP(6, 2, [16], "relu", lr=0.1, momentum=0.9, seed=0)
    stats = get_training_stats(mlp, [[x[:200], get_one_hot(y[:200], 2)], [x[200:], y[200:]], [x, y]], 5, 20)
    assert [len(s) for s in stats] == [5, 5, 5, 5]
    assert stats[1][-1] < 0.1 and stats[3][-1] < 0.15


# -- hw1 shapes: z = W x + b with W (out, in), batch of row vectors -----------------------
def test_hw1_network_in_torch_layout_matches_torch():
    torch = require_module("torch")
    rng = np.random.default_rng(7)
    lin1 = Linear(2, 20, layout="out_in", rng=rng, dtype=np.float64)
    lin2 = Linear(20, 5, layout="out_in", rng=rng, dtype=np.float64)
    lin1.needs_input_grad = True
    f, g = ReLU(), Sigmoid()
    x, y = rng.standard_normal((10, 2)), rng.random((10, 5))
    assert lin1.W.shape == (20, 2)
    for loss in (MSELoss(), BCELoss()):
        y_hat = g.forward(lin2.forward(f.forward(lin1.forward(x))))
        J = loss.forward(y_hat, y)
        dx = lin1.backward(f.backward(lin2.backward(g.backward(loss.backward()))))
        W1 = torch.tensor(lin1.W.data, requires_grad=True)
        W2 = torch.tensor(lin2.W.data, requires_grad=True)
        xt = torch.tensor(x, requires_grad=True)
        yt = torch.sigmoid(torch.relu(xt @ W1.T + torch.tensor(lin1.b.data)) @ W2.T + torch.tensor(lin2.b.data))
        Jt = (torch.nn.MSELoss() if isinstance(loss, MSELoss) else torch.nn.BCELoss())(yt, torch.tensor(y))
        Jt.backward()
        assert J == pytest.approx(Jt.item(), rel=1e-12)
        np.testing.assert_allclose(lin1.W.grad, W1.grad.numpy(), rtol=1e-10, atol=1e-14)
        np.testing.assert_allclose(lin2.W.grad, W2.grad.numpy(), rtol=1e-10, atol=1e-14)
        np.testing.assert_allclose(dx, xt.grad.numpy(), rtol=1e-10, atol=1e-14)


# -- bad input ----------------------------------------------------------------------------
def test_wrong_input_width_names_the_layer_and_the_shapes():
    mlp = MLP(784, 10, [32], seed=0)
    with pytest.raises(LayerInputError, match=r"Linear\(784→32\).*\(batch, 784\).*\(5, 780\)"):
        mlp.forward(np.zeros((5, 780), dtype=np.float32))


def test_wrong_dtype_and_rank_are_clear_errors():
    layer = Linear(3, 2)
    with pytest.raises(LayerInputError, match=r"Linear\(3→2\): input dtype float64 \(shape \(4, 3\)\)"):
        layer.forward(np.zeros((4, 3)))
    with pytest.raises(LayerInputError, match=r"Linear\(3→2\): expected a 2-D input.*\(3,\)"):
        layer.forward(np.zeros(3, dtype=np.float32))
    with pytest.raises(LayerInputError, match="floating-point"):
        layer.forward(np.zeros((4, 3), dtype=np.int64))


def test_wrong_gradient_shape_and_label_shape_are_clear_errors():
    layer = Linear(3, 2)
    layer.forward(np.zeros((4, 3), dtype=np.float32))
    with pytest.raises(LayerInputError, match=r"Linear\(3→2\).backward: gradient shape \(4, 3\)"):
        layer.backward(np.zeros((4, 3), dtype=np.float32))
    with pytest.raises(LayerInputError, match=r"labels of shape \(4,\).*\(5,\)"):
        SoftmaxCrossEntropy().forward(np.zeros((4, 3)), np.zeros(5, dtype=int))


def test_blas_thread_count_can_be_set_at_run_time():
    from derivations.backend.nn.threads import auto_threads, get_blas_threads, set_blas_threads
    before = get_blas_threads()
    if before is None:
        pytest.skip("numpy is not linked against OpenBLAS here")
    try:
        assert set_blas_threads(1) and get_blas_threads() == 1
    finally:
        set_blas_threads(before)
    assert 1 <= auto_threads() <= (__import__("os").cpu_count() or 1)


def test_labels_outside_the_classes_are_a_clear_error():
    with pytest.raises(LayerInputError, match=r"labels must lie in 0…2 for 3 classes, got 0…3"):
        SoftmaxCrossEntropy().forward(np.zeros((2, 3)), np.array([0, 3]))


@pytest.mark.parametrize("hiddens, dropout", [([], 0.0), ([5], 0.0), ([5, 7], 0.3)])
def test_state_shapes_from_the_configuration_match_the_built_network(hiddens, dropout):
    mlp = MLP(6, 4, hiddens, "relu", dropout=dropout)
    assert MLP.state_shapes(**mlp.config) == {name: p.data.shape for name, p in mlp.named_parameters()}
