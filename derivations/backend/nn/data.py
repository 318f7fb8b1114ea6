"""Mini-batches from arrays kept compact in memory (e.g. uint8 images).

One permutation per epoch, then one ``take`` per batch into a float32 batch scaled on the
fly. Measured on MNIST (60,000×784): this costs about 0.02 s an epoch, while a per-epoch
fancy index of the whole float32 array allocates 188 MB and costs 0.05–0.8 s on a VM whose
fresh pages fault slowly; it also keeps the resident set small.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np


class BatchLoader:
    """Iterate ``(x, y)`` batches: ``x = data[idx] * scale + shift`` as float32 (batch, …).

    ``augment(batch_uint8, rng) -> batch_uint8`` runs on the raw batch before scaling.
    """

    def __init__(self, data: np.ndarray, labels: np.ndarray, batch_size: int, *,
                 shuffle: bool = True, rng: np.random.Generator | None = None,
                 scale: float = 1.0, shift: float = 0.0, dtype=np.float32,
                 augment: Callable | None = None, flatten: bool = True):
        if len(data) != len(labels):
            raise ValueError(f"BatchLoader: {len(data)} samples but {len(labels)} labels")
        if batch_size < 1:
            raise ValueError(f"BatchLoader: batch_size must be ≥ 1, got {batch_size}")
        self.data, self.labels = data, labels
        self.batch_size, self.shuffle = batch_size, shuffle
        self.rng = rng if rng is not None else np.random.default_rng()
        self.scale, self.shift, self.dtype = dtype(scale), dtype(shift), np.dtype(dtype)
        self.augment, self.flatten = augment, flatten

    def __len__(self) -> int:
        return -(-len(self.data) // self.batch_size)

    def __iter__(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        n = len(self.data)
        order = self.rng.permutation(n) if self.shuffle else None
        for start in range(0, n, self.batch_size):
            if order is None:
                raw = self.data[start:start + self.batch_size]
                y = self.labels[start:start + self.batch_size]
            else:
                idx = order[start:start + self.batch_size]
                raw, y = self.data.take(idx, axis=0), self.labels.take(idx, axis=0)
            if self.augment is not None:
                raw = self.augment(raw, self.rng)
            x = raw.reshape(len(raw), -1) if self.flatten else raw
            out = np.multiply(x, self.scale, dtype=self.dtype)
            if self.shift:
                out += self.shift
            yield out, y
