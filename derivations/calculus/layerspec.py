"""Layer-spec arithmetic for convolutional networks: output shapes, receptive fields and
parameter counts, from a list of layer records.

Shapes are ``(H, W, C)`` tuples (height, width, channels), the order the sheets use for an
image such as 32×32×3. Kernels, strides, paddings and dilations are square. Any size may be
a SymPy symbol, and the formulas then stay symbolic:

    out = ⌊(n + 2p − d(k − 1) − 1) / s⌋ + 1                       (each spatial dimension)
    r_out = r_in + (k − 1)·d·j_in,   j_out = j_in·s                (receptive field r, jump j)
    conv: k·k·C_in·C_out + C_out,  BatchNorm: 2C,  Dense: n_in·n_out + n_out

>>> output_shapes((32, 32, 3), [Conv(5, 32, padding=2), Pool(2)])
[(32, 32, 32), (16, 16, 32)]
>>> receptive_field([Conv(5, 32, padding=2), Pool(2), Conv(3, 64, padding=1)])
10

The second half of the module, ``measure_*``, gets the same three quantities without these
formulas, by running NumPy sliding windows over real arrays and allocating the weights; the
numeric checks compare the two.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Sequence, Union

import numpy as np
import sympy as sp

Size = Union[int, sp.Expr]
Shape = tuple


@dataclass(frozen=True)
class Conv:
    """A 2-D convolution with ``out_channels`` square ``kernel``×``kernel`` filters."""

    kernel: Size
    out_channels: Size
    stride: Size = 1
    padding: Size = 0
    dilation: Size = 1
    bias: bool = True

    @property
    def label(self) -> str:
        extra = f", d{self.dilation}" if self.dilation != 1 else ""
        return f"conv {self.kernel}×{self.kernel}, {self.out_channels}, s{self.stride}, p{self.padding}{extra}"


@dataclass(frozen=True)
class Pool:
    """Max or average pooling over ``kernel``×``kernel`` windows (stride defaults to the kernel)."""

    kernel: Size
    stride: Size | None = None
    padding: Size = 0
    kind: str = "max"

    @property
    def step(self) -> Size:
        return self.kernel if self.stride is None else self.stride

    @property
    def label(self) -> str:
        return f"{self.kind} pool {self.kernel}×{self.kernel}, s{self.step}" + (f", p{self.padding}" if self.padding else "")


@dataclass(frozen=True)
class Activation:
    """An elementwise nonlinearity: shape-preserving, no parameters."""

    function: str = "relu"

    @property
    def label(self) -> str:
        return {"relu": "ReLU", "sigmoid": "sigmoid", "tanh": "tanh"}.get(self.function, self.function)


@dataclass(frozen=True)
class BatchNorm:
    """Batch normalisation over channels: shape-preserving, a learnable scale and shift per
    channel (the running mean and variance are statistics, not parameters)."""

    @property
    def label(self) -> str:
        return "batch norm"


@dataclass(frozen=True)
class GlobalAvgPool:
    """Average over all spatial positions: H×W×C → 1×1×C."""

    @property
    def label(self) -> str:
        return "global average pool"


@dataclass(frozen=True)
class Dense:
    """A fully connected layer on the flattened input: H×W×C → (units,)."""

    units: Size
    bias: bool = True

    @property
    def label(self) -> str:
        return f"fully connected, {self.units} units"


Layer = Union[Conv, Pool, Activation, BatchNorm, GlobalAvgPool, Dense]


def _is_int(*values) -> bool:
    return all(isinstance(v, (int, np.integer)) or (isinstance(v, sp.Integer)) for v in values)


def output_size(n: Size, kernel: Size, stride: Size, padding: Size, dilation: Size = 1) -> Size:
    """⌊(n + 2p − d(k − 1) − 1)/s⌋ + 1, the one copy of the formula: the NumPy backend's
    convolutions and poolings use it too (``//`` is SymPy's floor for symbolic sizes)."""
    return (n + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


def spatial_size(n: Size, kernel: Size, stride: Size = 1, padding: Size = 0, dilation: Size = 1) -> Size:
    """⌊(n + 2p − d(k − 1) − 1)/s⌋ + 1: an ``int`` for integer inputs, else a SymPy floor.
    Checked here, computed by :func:`output_size`."""
    if _is_int(n, kernel, stride, padding, dilation):
        n, kernel, stride, padding, dilation = (int(v) for v in (n, kernel, stride, padding, dilation))
        if n + 2 * padding < dilation * (kernel - 1) + 1:
            raise ValueError(f"a window of {dilation * (kernel - 1) + 1} does not fit in {n} + 2·{padding}")
        return output_size(n, kernel, stride, padding, dilation)
    return output_size(*(sp.sympify(v) for v in (n, kernel, stride, padding, dilation)))


def output_shape(input_shape: Shape, layer: Layer) -> Shape:
    """The (H, W, C) a layer produces from (H, W, C); ``(units,)`` for a Dense layer."""
    if isinstance(layer, (Activation, BatchNorm)):
        return tuple(input_shape)
    if isinstance(layer, Dense):
        return (layer.units,)
    height, width, channels = _hwc(input_shape, layer)
    if isinstance(layer, GlobalAvgPool):
        return (1, 1, channels)
    if isinstance(layer, Conv):
        k, s, p, d, c = layer.kernel, layer.stride, layer.padding, layer.dilation, layer.out_channels
    elif isinstance(layer, Pool):
        k, s, p, d, c = layer.kernel, layer.step, layer.padding, 1, channels
    else:
        raise TypeError(f"unknown layer {layer!r}")
    try:
        return (spatial_size(height, k, s, p, d), spatial_size(width, k, s, p, d), c)
    except ValueError as exc:
        raise ValueError(f"{layer.label} on {tuple(input_shape)}: {exc}") from None


def _hwc(shape: Shape, layer: Layer) -> Shape:
    if len(shape) != 3:
        raise ValueError(f"{layer.label} needs an H×W×C input, got {tuple(shape)}")
    return tuple(shape)


def output_shapes(input_shape: Shape, layers: Sequence[Layer]) -> list[Shape]:
    """The output shape of every layer, in order."""
    shapes, shape = [], tuple(input_shape)
    for layer in layers:
        shape = output_shape(shape, layer)
        shapes.append(shape)
    return shapes


def receptive_fields(layers: Sequence[Layer]) -> list[tuple[Size, Size]]:
    """``(r, j)`` after every layer: the side of the input square one output position sees,
    and the input distance between neighbouring output positions (the jump)."""
    r, j, out = sp.Integer(1), sp.Integer(1), []
    for layer in layers:
        if isinstance(layer, Conv):
            r, j = r + (layer.kernel - 1) * layer.dilation * j, j * layer.stride
        elif isinstance(layer, Pool):
            r, j = r + (layer.kernel - 1) * j, j * layer.step
        elif isinstance(layer, (GlobalAvgPool, Dense)):
            raise ValueError(f"{layer.label} sees the whole input: its receptive field is the input size")
        out.append((_plain(r), _plain(j)))
    return out


def receptive_field(layers: Sequence[Layer]) -> Size:
    """Side of the square of input pixels that one final output position depends on
    (ignoring where padding cuts it off at the border)."""
    return receptive_fields(layers)[-1][0] if layers else 1


def parameter_counts(input_shape: Shape, layers: Sequence[Layer]) -> list[Size]:
    """Learnable parameters of every layer, in order."""
    counts, shape = [], tuple(input_shape)
    for layer in layers:
        counts.append(_plain(_parameters(shape, layer)))
        shape = output_shape(shape, layer)
    return counts


def parameter_count(input_shape: Shape, layers: Sequence[Layer]) -> Size:
    """Total learnable parameters of the stack."""
    return _plain(sum(parameter_counts(input_shape, layers), sp.Integer(0)))


def _parameters(shape: Shape, layer: Layer) -> Size:
    if isinstance(layer, Conv):
        weights = layer.kernel * layer.kernel * shape[-1] * layer.out_channels
        return weights + (layer.out_channels if layer.bias else 0)
    if isinstance(layer, BatchNorm):
        return 2 * shape[-1]
    if isinstance(layer, Dense):
        inputs = sp.Mul(*shape)
        return inputs * layer.units + (layer.units if layer.bias else 0)
    return 0


def _plain(value: Any) -> Size:
    """Python ``int`` for integer values, so shapes and counts compare and print as ints."""
    value = sp.sympify(value)
    return int(value) if value.is_Integer else value


def without_padding(layers: Sequence[Layer]) -> list[Layer]:
    """The same stack with every convolution's and pooling layer's padding set to 0."""
    return [replace(layer, padding=0) if isinstance(layer, (Conv, Pool)) else layer for layer in layers]


# --- Measurement with real arrays, for checks: none of the formulas above are used -----

def _windows(x: np.ndarray, kernel: int, stride: int, padding: int, dilation: int = 1,
             fill: Any = 0) -> np.ndarray:
    """All kernel×kernel windows of an (H, W, C) array after zero padding: shape
    (H', W', C, kernel, kernel)."""
    padded = np.pad(x, ((padding, padding), (padding, padding), (0, 0)), constant_values=fill)
    span = dilation * (kernel - 1) + 1
    views = np.lib.stride_tricks.sliding_window_view(padded, (span, span), axis=(0, 1))
    return views[::stride, ::stride, :, ::dilation, ::dilation]


def measure_forward(input_shape: Shape, layers: Sequence[Layer], seed: int = 0):
    """Run a random input through the layers with NumPy sliding windows and freshly allocated
    weights. Returns ``(shapes, parameter_arrays)``: each layer's output ``.shape`` in H×W×C
    order, and each layer's list of weight arrays."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(tuple(int(v) for v in input_shape))
    shapes, weights = [], []
    for layer in layers:
        if isinstance(layer, Conv):
            w = rng.standard_normal((layer.kernel, layer.kernel, x.shape[-1], layer.out_channels))
            b = np.zeros(layer.out_channels) if layer.bias else None
            win = _windows(x, layer.kernel, layer.stride, layer.padding, layer.dilation)
            x = np.einsum("hwcij,ijco->hwo", win, w) + (b if b is not None else 0)
            arrays = [w] + ([b] if b is not None else [])
        elif isinstance(layer, Pool):
            win = _windows(x, layer.kernel, layer.step, layer.padding, fill=-np.inf if layer.kind == "max" else 0)
            x = win.max(axis=(-2, -1)) if layer.kind == "max" else win.mean(axis=(-2, -1))
            arrays = []
        elif isinstance(layer, Activation):
            x = {"relu": lambda t: np.maximum(t, 0), "sigmoid": lambda t: 1 / (1 + np.exp(-t)),
                 "tanh": np.tanh}.get(layer.function, lambda t: t)(x)
            arrays = []
        elif isinstance(layer, BatchNorm):
            gamma, beta = np.ones(x.shape[-1]), np.zeros(x.shape[-1])
            x = gamma * (x - x.mean(axis=(0, 1))) / np.sqrt(x.var(axis=(0, 1)) + 1e-5) + beta
            arrays = [gamma, beta]
        elif isinstance(layer, GlobalAvgPool):
            x = x.mean(axis=(0, 1), keepdims=True)
            arrays = []
        elif isinstance(layer, Dense):
            w = rng.standard_normal((x.size, layer.units))
            b = np.zeros(layer.units) if layer.bias else None
            x = x.reshape(-1) @ w + (b if b is not None else 0)
            arrays = [w] + ([b] if b is not None else [])
        else:
            raise TypeError(f"unknown layer {layer!r}")
        shapes.append(tuple(x.shape))
        weights.append(arrays)
    return shapes, weights


def measure_shapes(input_shape: Shape, layers: Sequence[Layer]) -> list[Shape]:
    """Every layer's output shape, read off real arrays."""
    return measure_forward(input_shape, layers)[0]


def measure_parameter_counts(input_shape: Shape, layers: Sequence[Layer]) -> list[int]:
    """Every layer's parameter count, as the summed sizes of allocated weight arrays."""
    return [sum(a.size for a in arrays) for arrays in measure_forward(input_shape, layers)[1]]


def measure_receptive_field(input_shape: Shape, layers: Sequence[Layer], position=None) -> tuple[int, int]:
    """Height and width of the box of input pixels that influence one output position
    (default: the centre), found by brute force through the real windows: number every
    position of each layer's input, slide the layer's windows over that grid of numbers
    (padding numbered −1), and walk back from the chosen output through the numbers each
    window actually holds. Channels are mixed by every convolution, so space is all that
    matters."""
    height, width = int(input_shape[0]), int(input_shape[1])
    grid_shape, tables = (height, width), []
    for layer in layers:
        numbers = np.arange(grid_shape[0] * grid_shape[1]).reshape(*grid_shape, 1)
        if isinstance(layer, Conv):
            win = _windows(numbers, layer.kernel, layer.stride, layer.padding, layer.dilation, fill=-1)
        elif isinstance(layer, Pool):
            win = _windows(numbers, layer.kernel, layer.step, layer.padding, fill=-1)
        elif isinstance(layer, (GlobalAvgPool, Dense)):
            win = numbers.reshape(1, 1, 1, *grid_shape)
        else:
            continue
        tables.append(win.reshape(win.shape[0] * win.shape[1], -1))
        grid_shape = win.shape[:2]
    i, j = position if position is not None else (grid_shape[0] // 2, grid_shape[1] // 2)
    seen = np.array([i * grid_shape[1] + j])
    for table in reversed(tables):
        seen = np.unique(table[seen])
        seen = seen[seen >= 0]
    rows, cols = np.unravel_index(seen, (height, width))
    return int(rows.max() - rows.min() + 1), int(cols.max() - cols.min() + 1)
