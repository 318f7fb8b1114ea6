"""Cheap image augmentation on uint8 batches (n, H, W)."""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view


def random_shift(images: np.ndarray, rng: np.random.Generator, max_shift: int = 2) -> np.ndarray:
    """Translate each image by an independent random (dy, dx) in [−max_shift, max_shift],
    filling with zeros. One padded copy and one gather of windows per batch."""
    if max_shift == 0:
        return images
    n, h, w = images.shape
    p = max_shift
    padded = np.pad(images, ((0, 0), (p, p), (p, p)))
    windows = sliding_window_view(padded, (h, w), axis=(1, 2))   # (n, 2p+1, 2p+1, h, w)
    dy = rng.integers(0, 2 * p + 1, n)
    dx = rng.integers(0, 2 * p + 1, n)
    return windows[np.arange(n), dy, dx]
