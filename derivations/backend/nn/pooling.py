"""Pooling on NHWC arrays: MaxPool2d, AvgPool2d and global average pooling.

Max and average pooling loop over the ``kh·kw`` kernel offsets (4 for a 2×2 pool), each
step one vectorised pass over a strided slice of the whole batch, so there is no Python
loop over samples or pixels and no (N, H', W', kh, kw, C) copy.

MaxPool2d routes ∂L/∂z to the winning input of each window, the first one on ties as
PyTorch does. AvgPool2d divides by
``kh·kw`` including padded zeros (PyTorch's default ``count_include_pad=True``).
"""

from __future__ import annotations

import numpy as np

from derivations.backend.nn import parallel
from derivations.backend.nn.base import Layer, LayerInputError
from derivations.backend.nn.conv import pad_hw, pair
from derivations.calculus.layerspec import output_size


class _Pool2d(Layer):
    def __init__(self, kernel_size, stride=None, padding=0):
        self.kernel_size = pair(kernel_size, "kernel_size")
        self.stride = self.kernel_size if stride is None else pair(stride, "stride")
        self.padding = pair(padding, "padding")
        if min(self.kernel_size) < 1 or min(self.stride) < 1 or min(self.padding) < 0:
            raise ValueError(f"{type(self).__name__}: kernel and stride must be ≥ 1 and padding ≥ 0")
        if self.padding[0] * 2 > self.kernel_size[0] or self.padding[1] * 2 > self.kernel_size[1]:
            raise ValueError(f"{type(self).__name__}: padding must be at most half the kernel "
                             f"(got p={self.padding}, k={self.kernel_size}), as in PyTorch")
        self.input_shape: tuple[int, ...] | None = None

    @property
    def label(self) -> str:
        (kh, kw), (sh, sw), (ph, pw) = self.kernel_size, self.stride, self.padding
        extra = "" if (sh, sw) == (kh, kw) else f", s{sh}×{sw}"
        extra += "" if (ph, pw) == (0, 0) else f", p{ph}×{pw}"
        return f"{type(self).__name__}(k{kh}×{kw}{extra})"

    def output_shape(self, input_shape):
        n, h, w, c = input_shape
        (kh, kw), (sh, sw), (ph, pw) = self.kernel_size, self.stride, self.padding
        return n, output_size(h, kh, sh, ph), output_size(w, kw, sw, pw), c

    def _check(self, x):
        self.check_input(x, ndim=None)
        if x.ndim != 4:
            raise LayerInputError(f"{self.label}: expected an NHWC input (batch, H, W, C), got shape {x.shape}")
        out = self.output_shape(x.shape)
        if out[1] < 1 or out[2] < 1:
            raise LayerInputError(f"{self.label}: input {x.shape} is smaller than the pooling window")
        return out

    def _offsets(self, out_shape):
        """(offset index, row slice, column slice) of each kernel offset in the padded input."""
        _, ho, wo, _ = out_shape
        (kh, kw), (sh, sw) = self.kernel_size, self.stride
        for u in range(kh):
            for v in range(kw):
                yield u * kw + v, slice(u, u + sh * (ho - 1) + 1, sh), slice(v, v + sw * (wo - 1) + 1, sw)

    def _unpad(self, dxp):
        (ph, pw), (_, h, w, _) = self.padding, self.input_shape
        if ph or pw:
            return np.ascontiguousarray(dxp[:, ph:ph + h, pw:pw + w])
        return dxp

    def _padded_zeros(self, dtype):
        n, h, w, c = self.input_shape
        (ph, pw) = self.padding
        return np.zeros((n, h + 2 * ph, w + 2 * pw, c), dtype=dtype)


class MaxPool2d(_Pool2d):
    """z = max over each window; ∂L/∂x gets ∂L/∂z at the window's (first) maximum.

    The forward pass is only ``np.maximum`` over the offsets (no argmax bookkeeping, which
    costs ten times more in NumPy); backward recovers each window's winner by comparing
    the input with z, offset by offset, claiming each window once so ties go to the first
    maximum in row-major window order, as in PyTorch.
    """

    def forward(self, x: np.ndarray) -> np.ndarray:
        out_shape = self._check(x)
        self.input_shape = x.shape
        self.xp = xp = pad_hw(x, self.padding, value=-np.inf)
        z = np.empty(out_shape, dtype=x.dtype)
        offsets = list(self._offsets(out_shape))

        def block(s):
            for i, (_, rows, cols) in enumerate(offsets):
                if i == 0:
                    z[s] = xp[s, rows, cols]
                else:
                    np.maximum(z[s], xp[s, rows, cols], out=z[s])
        parallel.for_blocks(len(x), xp[0].nbytes, block)
        self.z = z
        return z

    def winner_masks(self, s: slice = slice(None)):
        """One boolean array per kernel offset: where that offset holds the window's maximum
        (for the images ``s``).

        Usually no window has a tie (the masks then hold exactly one True per window in all)
        and ``x == z`` is the answer; otherwise each window is claimed by its first maximum."""
        z = self.z[s]
        hits = [(rows, cols, np.equal(self.xp[s, rows, cols], z)) for _, rows, cols in self._offsets(self.z.shape)]
        if sum(np.count_nonzero(hit) for _, _, hit in hits) == z.size:
            yield from hits
            return
        claimed = None
        for rows, cols, hit in hits:
            if claimed is None:
                claimed = hit.copy()
            else:
                hit &= ~claimed
                claimed |= hit
            yield rows, cols, hit

    def backward(self, dz: np.ndarray) -> np.ndarray:
        if self.input_shape is None:
            raise LayerInputError(f"{self.label}.backward called before forward")
        self.check_grad_output(dz, self.z.shape)
        overlapping = self.stride[0] < self.kernel_size[0] or self.stride[1] < self.kernel_size[1]
        if self.stride == self.kernel_size and self.padding == (0, 0):
            # the windows tile the input: only the strips they leave uncovered need zeros
            (kh, kw), (_, ho, wo, _) = self.kernel_size, self.z.shape
            dxp = np.empty(self.input_shape, dtype=dz.dtype)
            dxp[:, ho * kh:] = 0
            dxp[:, :ho * kh, wo * kw:] = 0
        else:
            dxp = self._padded_zeros(dz.dtype)

        def block(s):
            for rows, cols, hit in self.winner_masks(s):
                if overlapping:
                    dxp[s, rows, cols] += dz[s] * hit
                else:                                # windows are disjoint: write, don't add
                    np.multiply(dz[s], hit, out=dxp[s, rows, cols])
        parallel.for_blocks(len(dz), self.xp[0].nbytes, block)
        return self._unpad(dxp)


class AvgPool2d(_Pool2d):
    """z = mean over each window (padding counts as zeros); ∂L/∂x = ∂L/∂z / (kh·kw) on
    every input of the window."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        out_shape = self._check(x)
        self.input_shape = x.shape
        xp = pad_hw(x, self.padding)
        z = None
        for _, rows, cols in self._offsets(out_shape):
            z = xp[:, rows, cols].copy() if z is None else z.__iadd__(xp[:, rows, cols])
        z *= x.dtype.type(1.0 / (self.kernel_size[0] * self.kernel_size[1]))
        self.z_shape = out_shape
        return z

    def backward(self, dz: np.ndarray) -> np.ndarray:
        if self.input_shape is None:
            raise LayerInputError(f"{self.label}.backward called before forward")
        self.check_grad_output(dz, self.z_shape)
        share = dz * dz.dtype.type(1.0 / (self.kernel_size[0] * self.kernel_size[1]))
        dxp = self._padded_zeros(dz.dtype)
        for _, rows, cols in self._offsets(self.z_shape):
            dxp[:, rows, cols] += share
        return self._unpad(dxp)


class GlobalAvgPool(Layer):
    """(N, H, W, C) → (N, C): the mean over all positions; ∂L/∂x = ∂L/∂z / (H·W) everywhere."""

    def __init__(self):
        self.input_shape: tuple[int, ...] | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.check_input(x, ndim=None)
        if x.ndim != 4:
            raise LayerInputError(f"{self.label}: expected an NHWC input (batch, H, W, C), got shape {x.shape}")
        self.input_shape = x.shape
        return x.mean(axis=(1, 2))

    def backward(self, dz: np.ndarray) -> np.ndarray:
        if self.input_shape is None:
            raise LayerInputError(f"{self.label}.backward called before forward")
        n, h, w, c = self.input_shape
        self.check_grad_output(dz, (n, c))
        share = dz * dz.dtype.type(1.0 / (h * w))
        return np.broadcast_to(share[:, None, None, :], self.input_shape).copy()
