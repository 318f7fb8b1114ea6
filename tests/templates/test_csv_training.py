"""`train mnist-mlp --data-dir D` accepts sheet a1's CSV files as well as the IDX files."""

import json

import numpy as np

from derivations.backend.datasets.digits_csv import write_digits_csv
from derivations.backend.datasets.mnist import load
from helpers import cli


def test_train_reads_course_csv_files(tmp_path):
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 10, 300)
    images = np.zeros((300, 28, 28), np.uint8)
    images[np.arange(300), 2 * labels + 3, 5:20] = 255  # one bright row per class: learnable
    write_digits_csv(tmp_path / "mnist_train.csv", images[:200], labels[:200])
    write_digits_csv(tmp_path / "mnist_test.csv", images[200:], labels[200:])
    data = load("mnist", tmp_path, download_missing=False, verify=False)
    assert data.train_images.shape == (200, 28, 28) and np.array_equal(data.test_labels, labels[200:])

    out = tmp_path / "run"
    run = cli("train", "mnist-mlp", "--data-dir", str(tmp_path), "--epochs", "3", "--hidden", "32",
              "--batch-size", "20", "--shift", "0", "--no-progress", "--no-download", "--out", str(out))
    assert run.code == 0, run.err
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["final_test_error"] < 0.2  # chance is 0.9: the CSV labels and pixels line up
