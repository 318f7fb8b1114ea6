"""σ keeps its relative precision in float32 far into the lower tail, where BCE takes its log."""

import numpy as np

from derivations.backend.nn.activations import sigmoid


def test_float32_sigmoid_is_relatively_exact_in_both_tails():
    z = np.linspace(-80, 80, 1601).astype(np.float32)
    exact = 1 / (1 + np.exp(-z.astype(np.float64)))  # of the same float32 inputs
    ours = sigmoid(z)
    assert ours.dtype == np.float32
    assert np.max(np.abs(ours - exact) / exact) < 1e-6
    assert np.isfinite(np.log(sigmoid(np.float32([-80.0])))).all()
