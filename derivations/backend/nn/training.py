"""The training loop: epochs of forward / backward / step, with per-epoch statistics.

``fit`` works with any model that has ``forward``, ``backward(labels) -> mean loss``,
``step``, ``train``/``eval`` and an ``optimizer`` (the :class:`~derivations.backend.nn.mlp.MLP`
here, a CNN later). Training loss and error are averaged over the epoch's batches as they
are seen (the sheet's ``get_training_stats`` does the same); evaluation runs in eval mode.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np


@dataclass
class EpochStats:
    epoch: int
    train_loss: float
    train_error: float
    test_loss: float
    test_error: float
    lr: float
    seconds: float


@dataclass
class History:
    epochs: list[EpochStats] = field(default_factory=list)

    def column(self, name: str) -> list[float]:
        return [getattr(e, name) for e in self.epochs]


def evaluate(model, loader) -> tuple[float, float]:
    """Mean loss and error rate of ``model`` over all batches of ``loader`` (eval mode)."""
    was_training = model.training
    model.eval()
    total_loss, wrong, count = 0.0, 0, 0
    try:
        for x, y in loader:
            model.forward(x)
            total_loss += model.get_loss(y)
            wrong += model.get_error(y)
            count += len(x)
    finally:
        model.train(was_training)
    return total_loss / count, wrong / count


def train_epoch(model, loader, schedule=None, first_step: int = 0,
                on_batch: Callable[[int, float], None] | None = None) -> tuple[float, float, int]:
    """One pass over ``loader``; returns (mean loss, error rate, steps taken)."""
    model.train()
    total_loss, wrong, count, step = 0.0, 0, 0, first_step
    for x, y in loader:
        if schedule is not None:
            schedule.apply(model.optimizer, step)
        model.forward(x)
        loss = model.backward(y)
        model.step()
        n = len(x)
        total_loss += loss * n
        wrong += model.get_error(y)
        count += n
        step += 1
        if on_batch is not None:
            on_batch(n, loss)
    return total_loss / count, wrong / count, step - first_step


def fit(model, train_loader, test_loader, epochs: int, schedule=None,
        on_epoch: Callable[[EpochStats], None] | None = None,
        on_batch: Callable[[int, float], None] | None = None) -> History:
    history, step = History(), 0
    for epoch in range(1, epochs + 1):
        start = time.perf_counter()
        lr = model.optimizer.lr if schedule is None else schedule(step)
        train_loss, train_error, taken = train_epoch(model, train_loader, schedule, step, on_batch)
        step += taken
        seconds = time.perf_counter() - start
        test_loss, test_error = evaluate(model, test_loader)
        stats = EpochStats(epoch, train_loss, train_error, test_loss, test_error, lr, seconds)
        history.epochs.append(stats)
        if on_epoch is not None:
            on_epoch(stats)
    return history


def get_one_hot(labels, dim: int) -> np.ndarray:
    """(n, dim) float32 rows with a 1 at each label. Labels may be floats holding whole
    numbers, as ``np.loadtxt`` (the sheet's CSV loader) returns them."""
    labels = np.asarray(labels).reshape(-1)
    with np.errstate(invalid="ignore"):              # NaN or inf labels fail the check below
        classes = labels.astype(np.int64) if labels.dtype.kind in "fb" else labels
    if labels.dtype.kind not in "iufb" or (labels != classes).any() or (classes < 0).any() or (classes >= dim).any():
        raise ValueError(f"get_one_hot: labels must be whole numbers in 0…{dim - 1}, got {labels[:5]}…")
    one_hot = np.zeros((len(labels), dim), dtype=np.float32)
    one_hot[np.arange(len(labels)), classes] = 1
    return one_hot


def get_training_stats(mlp, dset, nepochs: int, batch_size: int, seed: int = 0):
    """Sheet a1's function: ``dset = [[train_x, train_y], [val_x, val_y], [test_x, test_y]]``
    (x float rows, y one-hot or integer labels). Returns per-epoch (training_losses,
    training_errors, validation_losses, validation_errors), each divided by the number of
    samples."""
    from derivations.backend.nn.data import BatchLoader
    (train_x, train_y), (val_x, val_y) = dset[0], dset[1]
    rng = np.random.default_rng(seed)
    train = BatchLoader(train_x, np.asarray(train_y), batch_size, rng=rng, dtype=mlp.dtype.type)
    val = BatchLoader(val_x, np.asarray(val_y), max(batch_size, 1000), shuffle=False,
                      dtype=mlp.dtype.type)
    history = fit(mlp, train, val, nepochs)
    return (history.column("train_loss"), history.column("train_error"),
            history.column("test_loss"), history.column("test_error"))
