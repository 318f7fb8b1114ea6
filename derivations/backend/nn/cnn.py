"""The airbench-style CIFAR-10 network (Jordan, 2024) on the NumPy backend, NHWC.

    whiten: conv 2×2 (3→24, weights from the data, frozen) → GELU
    3 × block: conv 3×3 → max-pool 2 → BN → GELU → conv 3×3 → BN → GELU   (widths 64/256/256)
    max-pool 3 → flatten → linear (no bias) → ×1/9

The whitening convolution's 24 filters are the 12 eigenvectors of the covariance of the
2×2×3 training patches, each scaled by 1/√(λ + ε), and their negatives (so a following
GELU sees both signs): the first layer decorrelates its inputs before any training.
The BatchNorm scales are frozen at 1 (only the shifts are learnt) and the output is
scaled by 1/9, as in airbench94.

Initialisation (``init="airbench"``, the default) is airbench94's: every 3×3 convolution
and the linear layer start from PyTorch's default U(±1/√fan_in), and the first
min(C_in, C_out) filters of each convolution are the identity (Dirac) kernel, so every
block starts as an implicit residual path. ``init="he"`` keeps He-normal weights (the
scale matters: the convolutions feed BatchNorm, so their effective learning rate is
∝ lr/‖W‖², and He weights are √6 times larger than PyTorch's).
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from derivations.calculus import layerspec as ls
from derivations.backend.nn import parallel
from derivations.backend.nn.activations import GELU, Activation
from derivations.backend.nn.base import Layer
from derivations.backend.nn.conv import Conv2d, im2col
from derivations.backend.nn.layers import Flatten, Linear, Sequential
from derivations.backend.nn.normalization import BatchNorm2d, named_buffers
from derivations.backend.nn.pooling import MaxPool2d

FULL_WIDTHS = (64, 256, 256)


class Scale(Layer):
    """z = c·x (airbench's output scaling); ∂L/∂x = c·∂L/∂z."""

    def __init__(self, factor: float):
        self.factor = factor

    @property
    def label(self) -> str:
        return f"Scale({self.factor:.4g})"

    def forward(self, x):
        return x * x.dtype.type(self.factor)

    def backward(self, dz):
        return dz * dz.dtype.type(self.factor)


class GELUTanh(Activation):
    """a = ½ z (1 + tanh u), u = √(2/π)(z + 0.044715 z³): the tanh form of GELU (PyTorch's
    ``approximate="tanh"``), within 1e-3 of z Φ(z) and ~50× faster in NumPy than
    ``scipy.special.ndtr`` because ``np.tanh`` is vectorised.

    da/dz = ½(1 + t) + ½ z (1 − t²) √(2/π)(1 + 3·0.044715 z²), with t = tanh u.
    """

    C = math.sqrt(2.0 / math.pi)

    @property
    def label(self):
        return "GELU(tanh)"

    def _forward(self, z):
        a, t = np.empty_like(z), np.empty_like(z)
        z1, a1, t1 = z.reshape(-1), a.reshape(-1), t.reshape(-1)
        f = z.dtype.type

        def block(s):                      # a chain of passes over one cache-sized block
            zs, u, out = z1[s], t1[s], a1[s]
            np.multiply(zs, zs, out=u)
            u *= f(0.044715 * self.C)
            u += f(self.C)
            u *= zs
            np.tanh(u, out=u)
            np.add(u, f(1.0), out=out)
            out *= zs
            out *= f(0.5)
        parallel.for_blocks(z1.size, z.itemsize, block)
        self.t = t
        return a

    def _backward(self, da):
        f = da.dtype.type
        z1, t1, da1 = self.z.reshape(-1), self.t.reshape(-1), da.reshape(-1)
        out = np.empty_like(da)
        out1 = out.reshape(-1)

        def block(s):
            z, t, du = z1[s], t1[s], out1[s]
            np.multiply(z, z, out=du)
            du *= f(3 * 0.044715 * self.C)
            du += f(self.C)
            sech2 = t * t
            np.subtract(f(1.0), sech2, out=sech2)
            du *= sech2
            du *= z
            du += t
            du += f(1.0)
            du *= f(0.5)
            du *= da1[s]
        parallel.for_blocks(z1.size, da.itemsize, block)
        return out


def make_gelu(kind: str) -> Activation:
    """``tanh`` (default, fast), ``none`` (exact, via ndtr) or ``sigmoid`` (z σ(1.702 z))."""
    return GELUTanh() if kind == "tanh" else GELU(kind)


def airbench_init(conv: Conv2d, rng) -> None:
    """PyTorch's default U(±1/√fan_in) for W, then the identity kernel on the first
    min(C_in, C_out) output channels (``torch.nn.init.dirac_`` on ``W[:C_in]``)."""
    kh, kw, ci, co = conv.W.shape
    bound = 1.0 / math.sqrt(kh * kw * ci)
    w = rng.uniform(-bound, bound, conv.W.shape)
    k = min(ci, co)
    w[:, :, :, :k] = 0.0
    w[kh // 2, kw // 2, np.arange(k), np.arange(k)] = 1.0
    conv.W.data[...] = w.astype(conv.W.dtype)


def conv_group(c_in: int, c_out: int, rng, dtype, bn_momentum: float, bn_eps: float,
               frozen_scale: bool, gelu: str) -> list[Layer]:
    def bn():
        return BatchNorm2d(c_out, momentum=bn_momentum, eps=bn_eps, frozen_scale=frozen_scale, dtype=dtype)
    return [Conv2d(c_in, c_out, 3, padding=1, bias=False, rng=rng, dtype=dtype), MaxPool2d(2), bn(), make_gelu(gelu),
            Conv2d(c_out, c_out, 3, padding=1, bias=False, rng=rng, dtype=dtype), bn(), make_gelu(gelu)]


class CifarCNN(Layer):
    """``forward(x)`` on NHWC float images (normalised) → logits (N, 10).

    ``body`` is the convolutional part (its shapes are checked against
    :func:`layerspec`), ``head`` the flatten/linear/scale part. ``whiten`` is ``body[0]``.
    """

    def __init__(self, widths=FULL_WIDTHS, *, classes: int = 10, whiten_kernel: int = 2,
                 bn_momentum: float = 0.4, bn_eps: float = 1e-12, frozen_bn_scale: bool = True,
                 scaling_factor: float = 1 / 9, gelu: str = "tanh", init: str = "airbench", seed: int = 0,
                 dtype=np.float32):
        rng = np.random.default_rng(seed)
        w1, w2, w3 = (int(w) for w in widths)
        whiten_width = 2 * 3 * whiten_kernel ** 2
        self.config = dict(widths=[w1, w2, w3], classes=classes, whiten_kernel=whiten_kernel,
                           bn_momentum=bn_momentum, bn_eps=bn_eps, frozen_bn_scale=frozen_bn_scale,
                           scaling_factor=scaling_factor, gelu=gelu, init=init, dtype=np.dtype(dtype).name)
        group = dict(rng=rng, dtype=dtype, bn_momentum=bn_momentum, bn_eps=bn_eps,
                     frozen_scale=frozen_bn_scale, gelu=gelu)
        self.body = Sequential(
            Conv2d(3, whiten_width, whiten_kernel, bias=True, frozen_weight=True, rng=rng, dtype=dtype),
            make_gelu(gelu),
            *conv_group(whiten_width, w1, **group),
            *conv_group(w1, w2, **group),
            *conv_group(w2, w3, **group),
            MaxPool2d(3),
        )
        self.head = Sequential(Flatten(), Linear(w3, classes, bias=False, layout="out_in", rng=rng, dtype=dtype),
                               Scale(scaling_factor))
        self.head.require_input_grad()
        self.dtype = np.dtype(dtype)
        if init == "airbench":
            for layer in self.body.layers[2:]:
                if isinstance(layer, Conv2d):
                    airbench_init(layer, rng)
            linear = self.head[1]
            bound = 1.0 / math.sqrt(linear.in_features)
            linear.W.data[...] = rng.uniform(-bound, bound, linear.W.shape).astype(linear.W.dtype)
        elif init != "he":
            raise ValueError(f"CifarCNN: init must be 'airbench' or 'he', got {init!r}")

    @property
    def whiten(self) -> Conv2d:
        return self.body[0]

    @property
    def label(self) -> str:
        return "CifarCNN(" + "/".join(map(str, self.config["widths"])) + ")"

    def layerspec(self) -> list:
        """The body as :mod:`derivations.calculus.layerspec` records, one per layer."""
        return body_spec(self.config["widths"], self.config["whiten_kernel"])

    def forward(self, x: np.ndarray) -> np.ndarray:
        return self.head.forward(self.body.forward(x))

    def backward(self, grad: np.ndarray) -> None:
        """Backward through head and body; stops as soon as a layer returns no input
        gradient (see :meth:`freeze_whitening`)."""
        grad = self.head.backward(grad)
        for layer in reversed(self.body.layers):
            grad = layer.backward(grad)
            if grad is None:
                break

    def freeze_whitening(self, frozen: bool = True) -> None:
        """Once the whitening layer learns nothing (its weight is frozen and its bias no
        longer trained), ∂L/∂x of the first block convolution and the whitening GELU's
        backward are not needed: skip them (the largest col2im of the network)."""
        self.body[2].needs_input_grad = not frozen

    def trainable_parameters(self):
        """(BatchNorm shifts, everything else that learns): airbench gives them different
        learning rates. The frozen whitening weight is in neither."""
        norm, other = [], []
        for layer in _walk_layers(self):
            if isinstance(layer, BatchNorm2d):
                norm.extend(layer.parameters())
            elif isinstance(layer, Conv2d):
                other.extend(layer.trainable_parameters())
            elif isinstance(layer, Linear):
                other.extend(layer.parameters())
        return norm, other

    # -- data-dependent initialisation -----------------------------------------------------
    def init_whitening(self, images: np.ndarray, eps: float = 5e-4) -> None:
        """Set the whitening filters from (normalised, NHWC) training images."""
        conv = self.whiten
        k = conv.kernel_size
        patches = im2col(images.astype(np.float64), k)               # (patches, kh·kw·3)
        covariance = patches.T @ patches / len(patches)
        eigenvalues, eigenvectors = np.linalg.eigh(covariance)
        filters = eigenvectors / np.sqrt(eigenvalues + eps)          # one filter per column
        weights = np.concatenate([filters, -filters], axis=1)
        conv.W.data[...] = weights.reshape(conv.W.shape).astype(conv.W.dtype)

    # -- persistence ---------------------------------------------------------------------
    def state(self) -> dict[str, np.ndarray]:
        """Every parameter and buffer by dotted name (views, not copies)."""
        arrays = {name: p.data for name, p in self.named_parameters()}
        arrays.update(named_buffers(self))
        return arrays

    def save(self, path, extra: dict | None = None) -> None:
        from derivations.backend.nn.checkpoint import save_arrays
        save_arrays(path, dict(self.state()), {"class": type(self).__name__, **self.config, **(extra or {})})

    def load_state(self, data, prefix: str = "") -> None:
        """Copy the arrays of an open :class:`~derivations.backend.nn.checkpoint.NpzFile`
        (named ``prefix`` + dotted name) into this network."""
        from derivations.backend.nn.checkpoint import copy_arrays
        copy_arrays(data, self.state(), prefix)

    @classmethod
    def load(cls, path) -> CifarCNN:
        """The network saved at ``path``. Its stored configuration is checked field by field,
        and the shapes it implies against the stored arrays' headers, before anything is built."""
        from derivations.backend.nn.checkpoint import NpzFile, StoredConfig, check_memory
        with NpzFile(path) as data:
            options = cls.options_from_config(StoredConfig.read(data, cls.__name__))
            dtype = np.dtype(options["dtype"])
            data.check_shapes(state_shapes(**options), dtype)
            check_memory(path, evaluation_bytes(options["widths"], options["whiten_kernel"], dtype),
                         f"evaluating this {'/'.join(map(str, options['widths']))} network")
            model = cls(**options)
            model.load_state(data)
        return model

    @staticmethod
    def options_from_config(config) -> dict:
        """Constructor options from a stored configuration (a ``StoredConfig``), each field
        type- and range-checked, and the whitening kernel checked to fit the 32×32 images."""
        from derivations.core.errors import UserError
        options = dict(widths=config.integers("widths", 1, MAX_WIDTH, (3, 3)),
                       classes=config.integer("classes", 1, MAX_WIDTH, 10),
                       whiten_kernel=config.integer("whiten_kernel", 1, 32, 2),
                       bn_momentum=config.number("bn_momentum", 0.0, 1.0, 0.4),
                       bn_eps=config.number("bn_eps", 1e-30, 1.0, 1e-12),
                       frozen_bn_scale=config.flag("frozen_bn_scale", True),
                       scaling_factor=config.number("scaling_factor", -1e6, 1e6, 1 / 9),
                       gelu=config.choice("gelu", ("tanh", "none", "sigmoid"), "tanh"),
                       init=config.choice("init", ("airbench", "he"), "airbench"),
                       dtype=config.choice("dtype", ("float32", "float64"), "float32"))
        try:
            final = ls.output_shapes(IMAGE_SHAPE, body_spec(options["widths"], options["whiten_kernel"]))[-1]
        except ValueError as err:
            final = str(err)
        if final != (1, 1, options["widths"][2]):
            raise UserError(f"{config.source}: stored configuration: whiten_kernel {options['whiten_kernel']} "
                            f"does not reduce a 32×32 image to 1×1 ({final})")
        return options


IMAGE_SHAPE = (32, 32, 3)
MAX_WIDTH = 1 << 16         # a bound on a stored configuration; the file must also hold the weights
EVAL_BATCH = 500            # images per forward pass in evaluation (tasks.cifar_cnn.predict_logits)


def body_spec(widths, whiten_kernel: int = 2) -> list:
    """The body's layers as :mod:`derivations.calculus.layerspec` records, from the sizes alone."""
    block = [ls.Conv(3, None, padding=1, bias=False), ls.Pool(2), ls.BatchNorm(), ls.Activation("gelu"),
             ls.Conv(3, None, padding=1, bias=False), ls.BatchNorm(), ls.Activation("gelu")]
    spec = [ls.Conv(whiten_kernel, 2 * 3 * whiten_kernel ** 2), ls.Activation("gelu")]
    for width in widths:
        spec += [replace(r, out_channels=int(width)) if isinstance(r, ls.Conv) else r for r in block]
    return spec + [ls.Pool(3)]


def state_shapes(widths, whiten_kernel: int = 2, classes: int = 10, frozen_bn_scale: bool = True, **_) -> dict:
    """Every array :meth:`CifarCNN.state` holds, by name, with its shape, without building it."""
    shapes, channels = {}, IMAGE_SHAPE[2]
    for i, record in enumerate(body_spec(widths, whiten_kernel)):
        name = f"body.layers.{i}"
        if isinstance(record, ls.Conv):
            k = record.kernel
            shapes[f"{name}.W"] = (k, k, channels, record.out_channels)
            if record.bias:
                shapes[f"{name}.b"] = (record.out_channels,)
            channels = record.out_channels
        elif isinstance(record, ls.BatchNorm):
            for key in ("beta", "running_mean", "running_var") + (() if frozen_bn_scale else ("gamma",)):
                shapes[f"{name}.{key}"] = (channels,)
    shapes["head.layers.1.W"] = (classes, channels)
    return shapes


def evaluation_bytes(widths, whiten_kernel: int, dtype) -> int:
    """About the memory evaluation needs: the weights, every layer's output for one batch of
    :data:`EVAL_BATCH` images, and the largest im2col matrix."""
    spec = body_spec(widths, whiten_kernel)
    shapes = ls.output_shapes(IMAGE_SHAPE, spec)
    inputs = [IMAGE_SHAPE, *shapes[:-1]]
    columns = max(math.prod(o[:2]) * r.kernel ** 2 * i[2] for r, i, o in zip(spec, inputs, shapes)
                  if isinstance(r, ls.Conv))
    weights = sum(math.prod(s) for s in state_shapes(widths, whiten_kernel).values())
    return np.dtype(dtype).itemsize * (weights + EVAL_BATCH * (sum(math.prod(s) for s in shapes) + columns))


def _walk_layers(layer):
    yield layer
    for child in layer.children():
        yield from _walk_layers(child)
