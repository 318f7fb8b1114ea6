"""Conv2d, pooling, BatchNorm2d: backward vs central differences (float64) and torch
autograd, output shapes vs the engine's layer-spec arithmetic, deliberately wrong backwards,
and bad inputs."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import require_module

from derivations.calculus import layerspec as ls
from derivations.backend.nn.base import LayerInputError
from derivations.backend.nn.conv import Conv2d, col2im, im2col
from derivations.backend.nn.gradcheck import GradientCheckError, check_layer
from derivations.backend.nn.layers import Flatten
from derivations.backend.nn.normalization import BatchNorm2d, named_buffers
from derivations.backend.nn.pooling import AvgPool2d, GlobalAvgPool, MaxPool2d

# (input NHWC, C_out, kernel, stride, padding, dilation, bias): non-square inputs and
# kernels, strides, paddings and dilations, alone and together.
CONV_CASES = [
    ((2, 5, 7, 3), 4, 3, 1, 1, 1, True),
    ((2, 6, 5, 2), 3, (2, 3), (2, 1), (1, 2), 1, True),
    ((1, 7, 8, 3), 2, (3, 2), 2, 0, (2, 1), False),
    ((3, 4, 4, 1), 5, 1, 1, 0, 1, True),
    ((2, 9, 6, 2), 3, 3, (3, 2), 2, 2, True),
    ((2, 5, 7, 4), 3, (3, 2), 1, (1, 0), (1, 2), True),      # stride 1, C_out ≤ C_in: flipped-kernel ∂L/∂x
    ((2, 6, 6, 3), 3, 3, 1, 1, 1, False),
]
CONV_IDS = ["3x3-same", "2x3-s2x1-p1x2", "3x2-s2-d2x1-nobias", "1x1", "3x3-s3x2-p2-d2",
            "3x2-p1x0-d1x2-flip-path", "3x3-same-flip-path"]


def make_conv(shape, c_out, k, s, p, d, bias, seed=0):
    rng = np.random.default_rng(seed)
    conv = Conv2d(shape[3], c_out, k, stride=s, padding=p, dilation=d, bias=bias, rng=rng,
                  dtype=np.float64)
    if bias:
        conv.b.data[:] = rng.standard_normal(c_out)
    return conv, rng.standard_normal(shape)


@pytest.mark.parametrize("case", CONV_CASES, ids=CONV_IDS)
def test_conv_backward_matches_central_differences(case):
    conv, x = make_conv(*case)
    check_layer(conv, x)


@pytest.mark.parametrize("case", CONV_CASES, ids=CONV_IDS)
def test_conv_forward_and_backward_match_torch(case):
    torch = require_module("torch")
    conv, x = make_conv(*case)
    z = conv.forward(x)
    dz = np.random.default_rng(5).standard_normal(z.shape)
    dx = conv.backward(dz)
    xt = torch.tensor(x.transpose(0, 3, 1, 2), requires_grad=True)
    wt = torch.tensor(conv.W.data.transpose(3, 2, 0, 1), requires_grad=True)
    bt = torch.tensor(conv.b.data, requires_grad=True) if conv.b is not None else None
    zt = torch.nn.functional.conv2d(xt, wt, bt, stride=conv.stride, padding=conv.padding,
                                    dilation=conv.dilation)
    zt.backward(torch.tensor(dz.transpose(0, 3, 1, 2)))
    np.testing.assert_allclose(z, zt.detach().numpy().transpose(0, 2, 3, 1), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(dx, xt.grad.numpy().transpose(0, 2, 3, 1), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(conv.W.grad, wt.grad.numpy().transpose(2, 3, 1, 0), rtol=1e-10, atol=1e-12)
    if bt is not None:
        np.testing.assert_allclose(conv.b.grad, bt.grad.numpy(), rtol=1e-10)


def test_conv_float32_agrees_with_float64():
    conv, x = make_conv((4, 8, 8, 3), 6, 3, 1, 1, 1, True)
    conv32 = Conv2d(3, 6, 3, padding=1, dtype=np.float32)
    conv32.W.data[...] = conv.W.data
    conv32.b.data[...] = conv.b.data
    z64, z32 = conv.forward(x), conv32.forward(x.astype(np.float32))
    assert z32.dtype == np.float32
    np.testing.assert_allclose(z32, z64, rtol=1e-4, atol=1e-4)


def test_col2im_is_the_adjoint_of_im2col():
    """⟨im2col(x), C⟩ = ⟨x, col2im(C)⟩ for random x, C: the defining property of col2im."""
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 7, 6, 3))
    geometry = ((3, 2), (2, 1), (1, 1), (1, 2))
    cols = im2col(x, *geometry)
    c = rng.standard_normal(cols.shape)
    assert np.isclose(np.sum(cols * c), np.sum(x * col2im(c, x.shape, *geometry)))


# -- deliberately wrong backwards must be caught ---------------------------------------

class FlippedKernelConv(Conv2d):
    """∂L/∂x with the kernel flipped (true convolution instead of the correlation's adjoint)."""

    def weight_matrix(self):
        if getattr(self, "_in_backward", False):
            return self.W.data[::-1, ::-1].reshape(-1, self.out_channels)
        return super().weight_matrix()

    def backward(self, dz):
        self._in_backward = True
        try:
            return super().backward(dz)
        finally:
            self._in_backward = False


def col2im_missing_transpose(dcols, input_shape, kernel, stride, padding, dilation):
    """col2im that reads the (u, v) kernel offsets of each column block transposed."""
    n, h, w, c = input_shape
    kh, kw = kernel
    m = dcols.shape[0]
    swapped = dcols.reshape(m, kh, kw, c).transpose(0, 2, 1, 3).reshape(m, -1)
    return col2im(swapped, input_shape, kernel, stride, padding, dilation)


def test_gradient_check_catches_a_flipped_kernel():
    rng = np.random.default_rng(0)
    conv = FlippedKernelConv(2, 3, 3, padding=1, rng=rng, dtype=np.float64)
    with pytest.raises(GradientCheckError, match=r"Conv2d\(2→3, k3×3, p1×1\): ∂L/∂x"):
        check_layer(conv, rng.standard_normal((2, 5, 6, 2)))


def test_gradient_check_catches_a_missing_transpose_in_col2im(monkeypatch):
    import derivations.backend.nn.conv as conv_module
    rng = np.random.default_rng(0)
    conv = Conv2d(2, 3, 3, padding=1, rng=rng, dtype=np.float64)
    monkeypatch.setattr(conv_module, "col2im", col2im_missing_transpose)
    with pytest.raises(GradientCheckError, match="∂L/∂x"):
        check_layer(conv, rng.standard_normal((2, 5, 6, 2)))


class UnflippedTransposedConv(Conv2d):
    """The stride-1 ∂L/∂x convolution with the kernel not rotated."""

    def flipped_weight_matrix(self):
        return np.ascontiguousarray(self.W.data.transpose(0, 1, 3, 2)).reshape(-1, self.in_channels)


def test_gradient_check_catches_an_unflipped_kernel_in_the_transposed_convolution():
    rng = np.random.default_rng(0)
    conv = UnflippedTransposedConv(3, 3, 3, padding=1, rng=rng, dtype=np.float64)
    assert conv._transposed_padding() == (1, 1)
    with pytest.raises(GradientCheckError, match="∂L/∂x"):
        check_layer(conv, rng.standard_normal((2, 5, 6, 3)))


class MaxPoolToFirstEntry(MaxPool2d):
    """Routes every gradient to the window's first entry instead of its maximum."""

    def winner_masks(self, s=slice(None)):
        for k, (rows, cols, hit) in enumerate(super().winner_masks(s)):
            yield rows, cols, np.full_like(hit, k == 0)


def test_gradient_check_catches_a_wrong_max_pool_backward():
    x = np.random.default_rng(2).standard_normal((2, 4, 6, 3))
    with pytest.raises(GradientCheckError):
        check_layer(MaxPoolToFirstEntry(2), x)


# -- pooling ----------------------------------------------------------------------------

POOL_CASES = [(2, None, 0), (3, 2, 1), ((2, 3), (1, 2), (1, 1)), (3, 3, 0)]
POOL_IDS = ["2", "3-s2-p1", "2x3-s1x2-p1", "3"]


@pytest.mark.parametrize("kind", [MaxPool2d, AvgPool2d])
@pytest.mark.parametrize("k,s,p", POOL_CASES, ids=POOL_IDS)
def test_pool_backward_matches_central_differences(kind, k, s, p):
    x = np.random.default_rng(1).standard_normal((2, 7, 6, 3))
    check_layer(kind(k, s, p), x)


@pytest.mark.parametrize("kind", ["max", "avg"])
@pytest.mark.parametrize("k,s,p", POOL_CASES, ids=POOL_IDS)
def test_pool_matches_torch(kind, k, s, p):
    torch = require_module("torch")
    x = np.random.default_rng(1).standard_normal((2, 7, 6, 3))
    layer = (MaxPool2d if kind == "max" else AvgPool2d)(k, s, p)
    z = layer.forward(x)
    dz = np.random.default_rng(2).standard_normal(z.shape)
    dx = layer.backward(dz)
    xt = torch.tensor(x.transpose(0, 3, 1, 2), requires_grad=True)
    fn = torch.nn.functional.max_pool2d if kind == "max" else torch.nn.functional.avg_pool2d
    zt = fn(xt, k, s if s is not None else k, p)
    zt.backward(torch.tensor(dz.transpose(0, 3, 1, 2)))
    np.testing.assert_allclose(z, zt.detach().numpy().transpose(0, 2, 3, 1), rtol=1e-12)
    np.testing.assert_allclose(dx, xt.grad.numpy().transpose(0, 2, 3, 1), rtol=1e-12, atol=1e-15)


def test_max_pool_sends_ties_to_the_first_maximum_like_torch():
    torch = require_module("torch")
    x = np.zeros((1, 4, 4, 1))
    x[0, 1:3, 1:3, 0] = 1.0
    layer = MaxPool2d(3, 1)
    layer.forward(x)
    dx = layer.backward(np.ones((1, 2, 2, 1)))
    xt = torch.tensor(x.transpose(0, 3, 1, 2), requires_grad=True)
    torch.nn.functional.max_pool2d(xt, 3, 1).sum().backward()
    np.testing.assert_array_equal(dx, xt.grad.numpy().transpose(0, 2, 3, 1))


def test_global_avg_pool_and_flatten():
    x = np.random.default_rng(0).standard_normal((3, 4, 5, 2))
    check_layer(GlobalAvgPool(), x)
    check_layer(Flatten(), x)
    np.testing.assert_allclose(GlobalAvgPool().forward(x), x.mean(axis=(1, 2)))


# -- batch norm -------------------------------------------------------------------------

@pytest.mark.parametrize("frozen", [False, True], ids=["affine", "frozen-scale"])
@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
def test_batchnorm_backward_matches_central_differences(frozen, training):
    rng = np.random.default_rng(4)
    bn = BatchNorm2d(3, frozen_scale=frozen, dtype=np.float64)
    if not frozen:
        bn.gamma.data[:] = rng.standard_normal(3)
    bn.beta.data[:] = rng.standard_normal(3)
    bn.running_mean[:], bn.running_var[:] = rng.standard_normal(3), rng.uniform(0.5, 2, 3)
    bn.train(training)
    check_layer(bn, rng.standard_normal((2, 3, 5, 3)) * 2 + 1)
    assert [name for name, _ in bn.named_parameters()] == (["beta"] if frozen else ["gamma", "beta"])


def test_batchnorm_matches_torch_in_training_and_with_running_statistics():
    torch = require_module("torch")
    rng = np.random.default_rng(7)
    bn = BatchNorm2d(4, momentum=0.4, eps=1e-5, dtype=np.float64)
    bn.gamma.data[:], bn.beta.data[:] = rng.standard_normal(4), rng.standard_normal(4)
    ref = torch.nn.BatchNorm2d(4, momentum=0.4, eps=1e-5).double()
    with torch.no_grad():
        ref.weight[:] = torch.tensor(bn.gamma.data)
        ref.bias[:] = torch.tensor(bn.beta.data)
    for step in range(3):                                   # training steps update the running stats
        x = rng.standard_normal((3, 5, 6, 4)) * (step + 1) + step
        dz = rng.standard_normal(x.shape)
        z, dx = bn.forward(x), bn.backward(dz)
        xt = torch.tensor(x.transpose(0, 3, 1, 2), requires_grad=True)
        zt = ref(xt)
        zt.backward(torch.tensor(dz.transpose(0, 3, 1, 2)))
        np.testing.assert_allclose(z, zt.detach().numpy().transpose(0, 2, 3, 1), rtol=1e-9, atol=1e-10)
        np.testing.assert_allclose(dx, xt.grad.numpy().transpose(0, 2, 3, 1), rtol=1e-9, atol=1e-10)
        np.testing.assert_allclose(bn.gamma.grad, ref.weight.grad.numpy(), rtol=1e-9)
        np.testing.assert_allclose(bn.beta.grad, ref.bias.grad.numpy(), rtol=1e-9)
        ref.weight.grad = ref.bias.grad = None
    np.testing.assert_allclose(bn.running_mean, ref.running_mean.numpy(), rtol=1e-12)
    np.testing.assert_allclose(bn.running_var, ref.running_var.numpy(), rtol=1e-12)
    bn.eval()
    ref.eval()
    x = rng.standard_normal((2, 3, 3, 4))
    np.testing.assert_allclose(bn.forward(x), ref(torch.tensor(x.transpose(0, 3, 1, 2))).detach()
                               .numpy().transpose(0, 2, 3, 1), rtol=1e-10, atol=1e-12)


def test_batchnorm_buffers_are_found_by_name():
    from derivations.backend.nn.layers import Sequential
    net = Sequential(Conv2d(3, 4, 3), BatchNorm2d(4))
    assert [name for name, _ in named_buffers(net)] == ["layers.1.running_mean", "layers.1.running_var"]


# -- output shapes agree with the engine's layer-spec arithmetic ------------------------

SPEC_CASES = [
    (ls.Conv(3, 8, padding=1), lambda c: Conv2d(c, 8, 3, padding=1)),
    (ls.Conv(5, 4, stride=2, padding=2), lambda c: Conv2d(c, 4, 5, stride=2, padding=2)),
    (ls.Conv(3, 6, stride=2, dilation=2), lambda c: Conv2d(c, 6, 3, stride=2, dilation=2)),
    (ls.Conv(2, 24, bias=True), lambda c: Conv2d(c, 24, 2)),
    (ls.Pool(2), lambda c: MaxPool2d(2)),
    (ls.Pool(3, stride=2, padding=1), lambda c: MaxPool2d(3, 2, 1)),
    (ls.Pool(3, stride=1, kind="avg"), lambda c: AvgPool2d(3, 1)),
    (ls.BatchNorm(), lambda c: BatchNorm2d(c)),
    (ls.GlobalAvgPool(), lambda c: GlobalAvgPool()),
]


@pytest.mark.parametrize("hw", [(32, 32), (15, 9), (7, 12)])
@pytest.mark.parametrize("spec,make", SPEC_CASES, ids=[s.label for s, _ in SPEC_CASES])
def test_output_shape_matches_layerspec(spec, make, hw):
    c = 3
    layer = make(c)
    z = layer.forward(np.zeros((2, *hw, c), dtype=np.float32))
    expected = ls.output_shape((*hw, c), spec)
    got = z.shape[1:] if z.ndim == 4 else (1, 1, z.shape[1])
    assert got == expected
    if isinstance(layer, (Conv2d, BatchNorm2d)):
        assert sum(p.size for p in layer.parameters()) == ls.parameter_counts((*hw, c), [spec])[0]


def test_airbench_stack_shapes_and_parameters_match_layerspec():
    from derivations.backend.nn.cnn import CifarCNN
    net = CifarCNN(widths=(8, 16, 16), seed=0)
    x = np.zeros((2, 32, 32, 3), dtype=np.float32)
    shapes, counts = [], []
    for layer in net.body:
        x = layer.forward(x)
        shapes.append(x.shape[1:])
        counts.append(sum(p.size for p in layer.parameters()) + (layer.num_features if getattr(layer, "frozen_scale", False) else 0))
    spec = net.layerspec()
    assert shapes == ls.output_shapes((32, 32, 3), spec)
    assert shapes[-1] == (1, 1, 16)
    assert counts == ls.parameter_counts((32, 32, 3), spec)   # a frozen γ still counts in the spec


# -- bad inputs --------------------------------------------------------------------------

def test_conv_rejects_nchw_input_naming_layer_and_shape():
    conv = Conv2d(3, 8, 3, padding=1)
    with pytest.raises(LayerInputError, match=r"Conv2d\(3→8, k3×3, p1×1\).*\(4, 3, 32, 32\).*NCHW"):
        conv.forward(np.zeros((4, 3, 32, 32), dtype=np.float32))


def test_conv_rejects_too_small_input_and_wrong_dtype():
    conv = Conv2d(3, 8, 5)
    with pytest.raises(LayerInputError, match=r"smaller than the \(dilated\) kernel"):
        conv.forward(np.zeros((1, 3, 3, 3), dtype=np.float32))
    with pytest.raises(LayerInputError, match="float64"):
        conv.forward(np.zeros((1, 8, 8, 3)))


@pytest.mark.parametrize("layer", [MaxPool2d(2), AvgPool2d(2), GlobalAvgPool(), BatchNorm2d(4)],
                         ids=["max", "avg", "global", "bn"])
def test_layers_reject_wrong_rank_naming_the_shape(layer):
    with pytest.raises(LayerInputError, match=r"\(4, 32, 32\)"):
        layer.forward(np.zeros((4, 32, 32), dtype=np.float32))


def test_backward_shape_mismatch_is_reported():
    conv = Conv2d(3, 4, 3)
    conv.forward(np.zeros((2, 6, 6, 3), dtype=np.float32))
    with pytest.raises(LayerInputError, match=r"gradient shape \(2, 6, 6, 4\).*\(2, 4, 4, 4\)"):
        conv.backward(np.zeros((2, 6, 6, 4), dtype=np.float32))


def test_chunked_input_gradient_equals_the_one_shot_one():
    for case in [((5, 6, 7, 3), 4, 3, 1, 1, 2, True), ((5, 6, 7, 4), 3, 3, 1, 1, 1, True)]:
        conv, x = make_conv(*case)
        dz = np.random.default_rng(9).standard_normal(conv.forward(x).shape)
        whole = conv.backward(dz)
        conv.CHUNK_BYTES = 1                  # one image at a time
        np.testing.assert_allclose(conv.backward(dz), whole, rtol=1e-13, atol=1e-13)


def test_whitening_layer_decorrelates_the_training_patches():
    """After init_whitening the first 12 filters map 2×2×3 patches to uncorrelated,
    unit-variance outputs (second moments), and the other 12 are their negatives."""
    from derivations.backend.nn.cnn import CifarCNN
    rng = np.random.default_rng(0)
    mixing = rng.standard_normal((3, 3))
    images = (rng.standard_normal((64, 8, 8, 3)) @ mixing).astype(np.float32)   # correlated channels
    net = CifarCNN(widths=(4, 4, 4))
    net.init_whitening(images, eps=0.0)
    patches = im2col(images.astype(np.float64), (2, 2))
    out = patches @ net.whiten.W.data.reshape(12, 24).astype(np.float64)
    second_moment = out[:, :12].T @ out[:, :12] / len(out)
    np.testing.assert_allclose(second_moment, np.eye(12), atol=1e-4)
    np.testing.assert_allclose(out[:, 12:], -out[:, :12], rtol=1e-6)


def test_airbench_init_is_identity_filters_plus_pytorch_default_scale():
    """Each 3×3 convolution starts with the Dirac kernel on its first min(C_in, C_out)
    filters and U(±1/√fan_in) elsewhere; the linear layer is U(±1/√fan_in)."""
    from derivations.backend.nn.cnn import CifarCNN
    net = CifarCNN(widths=(8, 16, 16), seed=0)
    convs = [layer for layer in net.body.layers[2:] if isinstance(layer, Conv2d)]
    assert len(convs) == 6
    for conv in convs:
        kh, kw, ci, co = conv.W.shape
        k = min(ci, co)
        dirac = np.zeros((kh, kw, ci, k), np.float32)
        dirac[1, 1, np.arange(k), np.arange(k)] = 1
        np.testing.assert_array_equal(conv.W.data[..., :k], dirac)
        rest = conv.W.data[..., k:]
        assert rest.size == 0 or (np.abs(rest).max() <= 1 / np.sqrt(9 * ci) and rest.std() > 0.3 / np.sqrt(9 * ci))
    w = net.head[1].W.data
    assert np.abs(w).max() <= 1 / np.sqrt(16) and w.std() > 0.3 / np.sqrt(16)
    he = CifarCNN(widths=(8, 16, 16), seed=0, init="he")
    assert not np.array_equal(he.body[6].W.data[1, 1], np.eye(8, dtype=np.float32))


def test_frozen_whitening_skips_only_the_unused_backward():
    """freeze_whitening() leaves every trainable gradient but the whitening bias's unchanged
    and stops the backward pass at the first block convolution."""
    from derivations.backend.nn.cnn import CifarCNN
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 32, 32, 3)).astype(np.float32)
    g = rng.standard_normal((4, 10)).astype(np.float32)
    grads = []
    for frozen in (False, True):
        net = CifarCNN(widths=(4, 8, 8), seed=1)
        net.freeze_whitening(frozen)
        net.forward(x)
        net.backward(g)
        grads.append({name: p.grad.copy() for name, p in net.named_parameters() if p is not net.whiten.b})
        whiten_bias_grad = net.whiten.b.grad.copy()
    assert not np.any(whiten_bias_grad)          # never touched when frozen (zero from construction)
    for name in grads[0]:
        np.testing.assert_array_equal(grads[0][name], grads[1][name], err_msg=name)


@pytest.mark.parametrize("options", [dict(widths=(8, 16, 16)), dict(widths=(4, 6, 5), whiten_kernel=3, classes=7),
                                     dict(widths=(3, 3, 3), whiten_kernel=1, frozen_bn_scale=False)])
def test_state_shapes_from_the_configuration_match_the_built_network(options):
    from derivations.backend.nn.cnn import CifarCNN, state_shapes
    net = CifarCNN(**options)
    assert state_shapes(**net.config) == {name: a.shape for name, a in net.state().items()}
