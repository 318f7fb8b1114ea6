"""Layer work split over threads (derivations.backend.nn.parallel) gives the single-thread results."""

import numpy as np
import pytest

from derivations.backend.nn import parallel
from derivations.backend.nn.cnn import CifarCNN, GELUTanh
from derivations.backend.nn.conv import Conv2d
from derivations.backend.nn.losses import SoftmaxCrossEntropy
from derivations.backend.nn.pooling import MaxPool2d


@pytest.fixture
def workers():
    """Set the worker count inside a test; back to one thread afterwards."""
    yield parallel.set_workers
    parallel.set_workers(1)


def run_layer(layer, x, dz):
    z = layer.forward(x)
    dx = layer.backward(dz)
    grads = [p.grad.copy() for p in layer.trainable_parameters()]
    return z, dx, grads


@pytest.mark.parametrize("count", [2, 3])
@pytest.mark.parametrize("stride,padding,c_out", [(1, 1, 4), (1, 1, 7), (2, 0, 5)])
def test_conv_chunks_over_threads_match_one_thread(workers, monkeypatch, count, stride, padding, c_out):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((7, 9, 8, 5))
    conv = Conv2d(5, c_out, 3, stride=stride, padding=padding, rng=rng, dtype=np.float64)
    dz = rng.standard_normal(conv.output_shape(x.shape))
    monkeypatch.setattr(Conv2d, "CHUNK_BYTES", 1)          # one image per chunk: many chunks
    workers(1)
    expected = run_layer(conv, x, dz)
    workers(count)
    got = run_layer(conv, x, dz)
    np.testing.assert_allclose(got[0], expected[0], rtol=0, atol=1e-12)
    np.testing.assert_allclose(got[1], expected[1], rtol=0, atol=1e-12)
    for g, e in zip(got[2], expected[2]):
        np.testing.assert_allclose(g, e, rtol=0, atol=1e-12)


@pytest.mark.parametrize("layer", [MaxPool2d(2), MaxPool2d(3, 2, 1), GELUTanh()], ids=["max2", "max3-s2-p1", "gelu"])
def test_blocked_layers_over_threads_match_one_thread(workers, monkeypatch, layer):
    rng = np.random.default_rng(1)
    x = np.round(rng.standard_normal((6, 8, 7, 3)), 1)     # rounded: max-pool windows with ties
    monkeypatch.setattr(parallel, "BLOCK_BYTES", 1)        # one image (or element) per block
    workers(1)
    z = layer.forward(x)
    dz = rng.standard_normal(z.shape)
    expected = (z, layer.backward(dz))
    workers(3)
    got = (layer.forward(x), layer.backward(dz))
    np.testing.assert_array_equal(got[0], expected[0])
    np.testing.assert_array_equal(got[1], expected[1])


def test_whole_network_step_over_threads_matches_one_thread(workers):
    rng = np.random.default_rng(2)
    x = rng.standard_normal((5, 32, 32, 3))
    y = rng.integers(0, 10, 5)
    results = []
    for count in (1, 2):
        workers(count)
        model = CifarCNN((8, 16, 16), seed=3, dtype=np.float64)
        loss = SoftmaxCrossEntropy()
        logits = model.forward(x)
        loss.forward(logits, y)
        model.backward(loss.backward())
        norm, other = model.trainable_parameters()
        results.append((logits, [p.grad.copy() for p in norm + other]))
    np.testing.assert_allclose(results[1][0], results[0][0], rtol=0, atol=1e-12)
    for g, e in zip(results[1][1], results[0][1]):
        np.testing.assert_allclose(g, e, rtol=0, atol=1e-10)


def test_for_blocks_visits_every_index_once(workers):
    workers(3)
    seen = np.zeros(1000, dtype=int)

    def block(s):
        seen[s] += 1
    parallel.for_blocks(1000, 4, block, block_bytes=28)
    assert (seen == 1).all()


def test_a_worker_error_reaches_the_caller(workers):
    workers(2)

    def work(worker, count):
        if worker == 1:
            raise ValueError("worker 1 failed")
    with pytest.raises(ValueError, match="worker 1 failed"):
        parallel.run(work)


def test_worker_count_must_be_positive():
    with pytest.raises(ValueError, match="workers must be"):
        parallel.set_workers(0)
