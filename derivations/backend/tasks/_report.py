"""Outputs shared by training tasks: progress bar or not, metrics JSON, training-curve PNG, peak memory."""

from __future__ import annotations

import json
import resource
import sys
from pathlib import Path


def show_progress(args) -> bool:
    """A progress bar only on a terminal: piped or logged, the one line per epoch is the record."""
    return not args.no_progress and sys.stderr.isatty()


def plural(count: int, noun: str) -> str:
    """``1 epoch``, ``20 epochs``."""
    return f"{count} {noun}" + ("" if count == 1 else "s")


def peak_rss_mib() -> float:
    """Peak resident set size of this process in MiB (ru_maxrss is KiB on Linux, bytes on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def write_json(path: Path, data: dict) -> Path:
    path.write_text(json.dumps(data, indent=2) + "\n")
    return path


def plot_curves(history, path: Path, title: str, loss_label: str = "cross-entropy loss") -> Path:
    """Train and test loss (left) and error (right) per epoch."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    epochs = history.column("epoch")
    fig, (ax_loss, ax_err) = plt.subplots(1, 2, figsize=(10, 4))
    ax_loss.plot(epochs, history.column("train_loss"), label="train")
    ax_loss.plot(epochs, history.column("test_loss"), label="test")
    ax_loss.set(xlabel="epoch", ylabel=loss_label, title="loss")
    ax_err.plot(epochs, [100 * e for e in history.column("train_error")], label="train")
    ax_err.plot(epochs, [100 * e for e in history.column("test_error")], label="test")
    ax_err.set(xlabel="epoch", ylabel="error (%)", title="error", yscale="log")
    for ax in (ax_loss, ax_err):
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
