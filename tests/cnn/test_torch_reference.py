"""The PyTorch twin used by bench/cifar_torch_reference.py computes what the NumPy model does."""

import sys
from pathlib import Path

import numpy as np

from derivations.backend.nn.cnn import CifarCNN
from conftest import require_module

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))


def test_torch_copy_matches_the_numpy_model_in_train_and_eval_mode():
    torch = require_module("torch")
    from cifar_torch_reference import to_torch, torch_copy
    rng = np.random.default_rng(0)
    model = CifarCNN((8, 16, 16), seed=1)
    model.init_whitening(rng.standard_normal((20, 32, 32, 3)).astype(np.float32))
    net = torch_copy(model)
    x = rng.standard_normal((6, 32, 32, 3)).astype(np.float32)
    for training in (True, False):
        model.train(training)
        net.train(training)
        with torch.no_grad():
            expected = net(to_torch(x)).numpy()
        np.testing.assert_allclose(model.forward(x), expected, rtol=1e-4, atol=1e-4)
    # a wrong copy (kernel rows and columns swapped; a filter that is not all-Dirac) is caught by the same comparison
    conv = next(m for m in net if isinstance(m, torch.nn.Conv2d) and m.out_channels > m.in_channels > 3)
    conv.weight.data = conv.weight.data.transpose(2, 3).contiguous()
    with torch.no_grad():
        wrong = net(to_torch(x)).numpy()
    assert np.abs(model.forward(x) - wrong).max() > 1e-3
