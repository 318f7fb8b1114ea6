"""2-D convolution by im2col: one strided view, one copy, one large matmul per pass.

Layout: **NHWC** (batch, height, width, channels) for activations and **HWIO**
(kernel height, kernel width, in, out) for weights. Why NHWC rather than NCHW:

* the im2col matrix has one row per output pixel and ``kh·kw·C_in`` columns; in NHWC each
  kernel offset contributes one *contiguous* run of ``C_in`` floats per row, so building it
  is ``kh·kw`` block copies of contiguous memory (in NCHW every element of a row comes from
  a different cache line);
* the GEMM ``cols (M×K) @ W (K×C_out)`` yields ``(N·H'·W', C_out)``, which *is* the NHWC
  output: no transpose after the product (NCHW needs a ``(C_out, N·H'·W')`` → NCHW shuffle);
* BatchNorm, bias and pooling then reduce or broadcast over the leading axis of an
  ``(M, C)`` matrix, which is what BLAS and NumPy's inner loops are fastest at;
* it is PyTorch's faster CPU layout too (``channels_last``), so the benchmark compares
  like with like.

Forward (sheet notation: input ``x``, output ``z``)::

    cols = im2col(x)            # (N·H'·W', kh·kw·C_in), built a few images at a time
    z    = cols @ W_mat + b     # W_mat = W.reshape(kh·kw·C_in, C_out)

Backward, from ``dz`` reshaped to ``(N·H'·W', C_out)``::

    ∂L/∂W_mat = colsᵀ dz,   ∂L/∂b = Σ_rows dz,   ∂L/∂cols = dz W_matᵀ,   ∂L/∂x = col2im(∂L/∂cols)

(``cols`` rebuilt chunk by chunk from the kept input ``x``).

``col2im`` is the adjoint of ``im2col``: each kernel offset's slice of ∂L/∂cols is added
back onto the input pixels that offset read (overlapping windows accumulate). With stride 1
and C_out ≤ C_in, ∂L/∂x is computed instead as the convolution of ∂L/∂z (padded by
d(k − 1) − p) with the kernel rotated by 180° and in/out swapped, which is faster here.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import as_strided

from derivations.backend.nn import parallel
from derivations.backend.nn.base import Layer, LayerInputError
from derivations.backend.nn.init import get_initialiser
from derivations.backend.nn.parameter import Parameter
from derivations.calculus.layerspec import output_size


def pair(value, name: str = "value") -> tuple[int, int]:
    """``3`` → ``(3, 3)``; ``(3, 5)`` stays; anything else is an error naming ``name``."""
    if isinstance(value, (int, np.integer)):
        return int(value), int(value)
    try:
        a, b = value
        return int(a), int(b)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be an int or a pair of ints, got {value!r}") from None


def pad_hw(x: np.ndarray, padding: tuple[int, int], value=0.0) -> np.ndarray:
    """Pad the H and W axes of an NHWC array (a no-op view when the padding is zero)."""
    ph, pw = padding
    if ph == 0 and pw == 0:
        return x
    n, h, w, c = x.shape
    out = np.empty((n, h + 2 * ph, w + 2 * pw, c), dtype=x.dtype)
    if value == 0.0:
        out[:, :ph] = 0
        out[:, h + ph:] = 0
        out[:, :, :pw] = 0
        out[:, :, w + pw:] = 0
    else:
        out.fill(value)
    out[:, ph:ph + h, pw:pw + w] = x
    return out


def windows(xp: np.ndarray, kernel, stride, dilation, out_hw) -> np.ndarray:
    """The strided view ``v[n, i, j, u, v, c] = xp[n, i·s_h + u·d_h, j·s_w + v·d_w, c]``,
    shape (N, H', W', kh, kw, C). No copy."""
    (kh, kw), (sh, sw), (dh, dw), (ho, wo) = kernel, stride, dilation, out_hw
    n, _, _, c = xp.shape
    s0, s1, s2, s3 = xp.strides
    return as_strided(xp, shape=(n, ho, wo, kh, kw, c),
                      strides=(s0, s1 * sh, s2 * sw, s1 * dh, s2 * dw, s3), writeable=False)


def im2col(x: np.ndarray, kernel, stride=(1, 1), padding=(0, 0), dilation=(1, 1),
           out: np.ndarray | None = None) -> np.ndarray:
    """(N, H, W, C) → (N·H'·W', kh·kw·C): one row per output pixel, its receptive field
    in (u, v, c) order. ``out`` may be a reusable buffer of that shape."""
    n, h, w, c = x.shape
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = kernel, stride, padding, dilation
    ho, wo = output_size(h, kh, sh, ph, dh), output_size(w, kw, sw, pw, dw)
    view = windows(pad_hw(x, padding), kernel, stride, dilation, (ho, wo))
    if out is None:
        out = np.empty((n * ho * wo, kh * kw * c), dtype=x.dtype)
    np.copyto(out.reshape(n, ho, wo, kh, kw, c), view)
    return out


def col2im(dcols: np.ndarray, input_shape, kernel, stride=(1, 1), padding=(0, 0),
           dilation=(1, 1)) -> np.ndarray:
    """The adjoint of :func:`im2col`: (N·H'·W', kh·kw·C) → (N, H, W, C), summing the
    contributions of overlapping windows. One strided add per kernel offset."""
    n, h, w, c = input_shape
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = kernel, stride, padding, dilation
    ho, wo = output_size(h, kh, sh, ph, dh), output_size(w, kw, sw, pw, dw)
    d6 = dcols.reshape(n, ho, wo, kh, kw, c)
    dxp = np.zeros((n, h + 2 * ph, w + 2 * pw, c), dtype=dcols.dtype)
    for u in range(kh):
        for v in range(kw):
            rows = slice(u * dh, u * dh + sh * (ho - 1) + 1, sh)
            cols = slice(v * dw, v * dw + sw * (wo - 1) + 1, sw)
            dxp[:, rows, cols, :] += d6[:, :, :, u, v, :]
    if ph or pw:
        return np.ascontiguousarray(dxp[:, ph:ph + h, pw:pw + w, :])
    return dxp


class Conv2d(Layer):
    """2-D convolution (cross-correlation, as every framework) on NHWC inputs.

    ``kernel_size``, ``stride``, ``padding`` and ``dilation`` are ints or (height, width)
    pairs. ``W`` has shape (kh, kw, C_in, C_out); PyTorch's (C_out, C_in, kh, kw) weight is
    ``W.transpose(3, 2, 0, 1)``. ``frozen_weight=True`` keeps W fixed (no ∂L/∂W is
    computed and W is not listed by :meth:`trainable_parameters`), as for the data-derived
    whitening layer.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size, *, stride=1,
                 padding=0, dilation=1, bias: bool = True, weight_init="he",
                 frozen_weight: bool = False,
                 rng: np.random.Generator | None = None, dtype=np.float32):
        self.in_channels, self.out_channels = int(in_channels), int(out_channels)
        self.kernel_size = pair(kernel_size, "kernel_size")
        self.stride = pair(stride, "stride")
        self.padding = pair(padding, "padding")
        self.dilation = pair(dilation, "dilation")
        if min(self.kernel_size) < 1 or min(self.stride) < 1 or min(self.dilation) < 1 or min(self.padding) < 0:
            raise ValueError(f"Conv2d: kernel, stride and dilation must be ≥ 1 and padding ≥ 0, got "
                             f"k={self.kernel_size} s={self.stride} p={self.padding} d={self.dilation}")
        rng = rng if rng is not None else np.random.default_rng()
        kh, kw = self.kernel_size
        fans = dict(fan_in=in_channels * kh * kw, fan_out=out_channels * kh * kw, rng=rng, dtype=dtype)
        self.W = Parameter(get_initialiser(weight_init)((kh, kw, in_channels, out_channels), **fans), "W")
        self.b = Parameter(np.zeros(out_channels, dtype=dtype), "b") if bias else None
        self.frozen_weight = frozen_weight
        self.x: np.ndarray | None = None
        self._cols_buffers: dict[int, np.ndarray] = {}

    @property
    def label(self) -> str:
        (kh, kw), (sh, sw), (ph, pw), (dh, dw) = self.kernel_size, self.stride, self.padding, self.dilation
        extra = "" if (sh, sw) == (1, 1) else f", s{sh}×{sw}"
        extra += "" if (ph, pw) == (0, 0) else f", p{ph}×{pw}"
        extra += "" if (dh, dw) == (1, 1) else f", d{dh}×{dw}"
        return f"Conv2d({self.in_channels}→{self.out_channels}, k{kh}×{kw}{extra})"

    def trainable_parameters(self) -> list[Parameter]:
        return [p for p in (None if self.frozen_weight else self.W, self.b) if p is not None]

    def output_shape(self, input_shape) -> tuple[int, int, int, int]:
        n, h, w, _ = input_shape
        (kh, kw), (sh, sw), (ph, pw), (dh, dw) = self.kernel_size, self.stride, self.padding, self.dilation
        return n, output_size(h, kh, sh, ph, dh), output_size(w, kw, sw, pw, dw), self.out_channels

    def _check(self, x) -> tuple[int, int, int, int]:
        self.check_input(x, ndim=None, dtype=self.W.data.dtype)
        if x.ndim != 4 or x.shape[3] != self.in_channels:
            hint = ""
            if x.ndim == 4 and x.shape[1] == self.in_channels:
                hint = " (this looks like NCHW; the backend is NHWC: use x.transpose(0, 2, 3, 1))"
            raise LayerInputError(f"{self.label}: expected an NHWC input (batch, H, W, {self.in_channels}), "
                                  f"got shape {x.shape}{hint}")
        out = self.output_shape(x.shape)
        if out[1] < 1 or out[2] < 1:
            raise LayerInputError(f"{self.label}: input {x.shape} is smaller than the (dilated) kernel "
                                  f"after padding; the output would be {out}")
        return out

    def _buffer(self, worker: int, shape, dtype) -> np.ndarray:
        """Worker ``worker``'s im2col buffer, reused across steps of the same shape."""
        buf = self._cols_buffers.get(worker)
        if buf is None or buf.shape != shape or buf.dtype != dtype:
            buf = self._cols_buffers[worker] = np.empty(shape, dtype=dtype)
        return buf

    def weight_matrix(self) -> np.ndarray:
        """W as the (kh·kw·C_in, C_out) matrix the GEMMs use (a view)."""
        return self.W.data.reshape(-1, self.out_channels)

    # The im2col matrix is built and multiplied this many bytes at a time, so each GEMM
    # reads rows the copy has just left in cache and the whole matrix (425 MB for the
    # first airbench block at batch 512) never exists; the chunks are shared out over
    # the threads of :mod:`derivations.backend.nn.parallel`. Rebuilding the chunks for ∂L/∂W
    # costs no more than reading a kept matrix back from memory (docs/cnn.md).
    CHUNK_BYTES = 2 << 20

    def _chunks(self, x: np.ndarray, worker: int, count: int):
        """Yield (row slice of the output matrix, im2col of the images behind those rows)
        for every ``count``-th chunk from ``worker`` on."""
        n, ho, wo, _ = self.output_shape(x.shape)
        rows, width = ho * wo, self.kernel_size[0] * self.kernel_size[1] * self.in_channels
        step = max(1, self.CHUNK_BYTES // (rows * width * x.itemsize))
        buf = self._buffer(worker, (min(step, n) * rows, width), x.dtype)
        for a in range(worker * step, n, count * step):
            part = x[a:a + step]
            cols = im2col(part, self.kernel_size, self.stride, self.padding, self.dilation,
                          out=buf[:len(part) * rows])
            yield slice(a * rows, (a + len(part)) * rows), cols

    def forward(self, x: np.ndarray) -> np.ndarray:
        n, ho, wo, co = self._check(x)
        self.x = x
        w = self.weight_matrix()
        z = np.empty((n * ho * wo, co), dtype=x.dtype)

        def work(worker, count):
            for rows, cols in self._chunks(x, worker, count):
                np.matmul(cols, w, out=z[rows])
        parallel.run(work)
        if self.b is not None:
            z += self.b.data
        return z.reshape(n, ho, wo, co)

    def _weight_gradient(self, x: np.ndarray, dz2: np.ndarray) -> None:
        """∂L/∂W_mat = Σ over chunks of colsᵀ dz, the chunks rebuilt from the kept input."""
        def work(worker, count):
            total = part = None
            for rows, cols in self._chunks(x, worker, count):
                if total is None:
                    total = cols.T @ dz2[rows]
                    part = np.empty_like(total)
                else:
                    total += np.matmul(cols.T, dz2[rows], out=part)
            return total
        partial = [g for g in parallel.run(work) if g is not None]
        np.sum(partial, axis=0, out=self.W.grad.reshape(-1, self.out_channels))

    def backward(self, dz: np.ndarray) -> np.ndarray | None:
        x = self.x
        if x is None:
            raise LayerInputError(f"{self.label}.backward called before forward")
        out_shape = self.output_shape(x.shape)
        self.check_grad_output(dz, out_shape)
        dz2 = dz.reshape(-1, self.out_channels)
        if not self.frozen_weight:
            self._weight_gradient(x, dz2)
        if self.b is not None:
            np.sum(dz2, axis=0, out=self.b.grad)
        if not self.needs_input_grad:
            return None
        return self._input_gradient(dz, x.shape)

    def flipped_weight_matrix(self) -> np.ndarray:
        """W rotated by 180° with in/out swapped, as a (kh·kw·C_out, C_in) matrix: the
        weights of the convolution that maps ∂L/∂z back to ∂L/∂x when the stride is 1."""
        return np.ascontiguousarray(self.W.data[::-1, ::-1].transpose(0, 1, 3, 2)).reshape(-1, self.in_channels)

    def _transposed_padding(self):
        """Padding d(k − 1) − p of the stride-1 ∂L/∂x convolution, or None where negative."""
        pads = tuple(d * (k - 1) - p for k, p, d in zip(self.kernel_size, self.padding, self.dilation))
        return pads if min(pads) >= 0 else None

    def _input_gradient(self, dz: np.ndarray, input_shape) -> np.ndarray:
        """∂L/∂x, a few images at a time (the result is the same).

        Stride 1 and C_out ≤ C_in: ∂L/∂x is itself a convolution of ∂L/∂z with the flipped
        kernel, im2col(∂L/∂z) @ W_flip: a plain copy and one GEMM, 20–30 % faster here
        than the GEMM + col2im's read-modify-write adds. Otherwise col2im(dz Wᵀ).
        """
        n, ho, wo, co = dz.shape
        pads = self._transposed_padding() if self.stride == (1, 1) and co <= self.in_channels else None
        if pads is not None:
            w = self.flipped_weight_matrix()
            width = self.kernel_size[0] * self.kernel_size[1] * co
        else:
            w = self.weight_matrix().T
            width = w.shape[1]
        dx = np.empty(input_shape, dtype=dz.dtype)

        def block(s):
            part = dz[s]
            if pads is not None:
                cols = im2col(part, self.kernel_size, (1, 1), pads, self.dilation)
                np.matmul(cols, w, out=dx[s].reshape(-1, self.in_channels))
            else:
                dcols = np.matmul(part.reshape(-1, co), w)
                dx[s] = col2im(dcols, (len(part), *input_shape[1:]), self.kernel_size, self.stride,
                               self.padding, self.dilation)
        parallel.for_blocks(n, ho * wo * width * dz.itemsize, block, self.CHUNK_BYTES)
        return dx
