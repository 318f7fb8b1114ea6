"""The smoke run on real data, and the ``train mnist-mlp`` command end to end."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import IN_CI

from derivations.core.errors import UserError
from derivations.backend.nn.data import BatchLoader
from derivations.backend.nn.mlp import MLP
from derivations.backend.nn.training import evaluate, train_epoch

REPO = Path(__file__).resolve().parents[2]
SHARED_DATA = REPO / ".." / "shared" / "datasets"


def real_mnist():
    from derivations.backend.datasets import mnist
    data_dir = SHARED_DATA if (SHARED_DATA / "mnist").is_dir() else None   # else env var / cache
    try:
        return mnist.load("mnist", data_dir, progress=False)
    except UserError as err:
        if IN_CI:
            pytest.fail(f"MNIST is required in CI: {err}")
        pytest.skip(f"MNIST not available: {err}")


def test_smoke_run_on_a_slice_of_real_mnist_learns():
    data = real_mnist()
    rng = np.random.default_rng(0)
    train = BatchLoader(data.train_images[:9600], data.train_labels[:9600], 32, rng=rng, scale=1 / 255)
    test = BatchLoader(data.test_images[:2000], data.test_labels[:2000], 1000, shuffle=False, scale=1 / 255)
    mlp = MLP(784, 10, [64], "relu", lr=0.05, momentum=0.9, seed=0)
    loss_before, error_before = evaluate(mlp, test)
    _, _, steps = train_epoch(mlp, train)
    loss_after, error_after = evaluate(mlp, test)
    assert steps == 300
    assert loss_after < 0.5 * loss_before
    assert error_before > 0.6 and error_after < 0.15          # chance is 0.9


def cli(*args, env=None):
    return subprocess.run([sys.executable, "-m", "derivations", "train", "mnist-mlp", *args],
                          capture_output=True, text=True, cwd=REPO, timeout=120,
                          env={**os.environ, **(env or {})})


@pytest.mark.parametrize("args,message", [
    (["--epochs", "0"], "--epochs must be at least 1"),
    (["--hidden", "512,abc"], "--hidden must be comma-separated integers"),
    (["--lr", "-0.1"], "--lr must be positive"),
    (["--momentum", "1.5"], "--momentum must be in [0, 1)"),
    (["--data-dir", "/nonexistent/derivations-data"], "is not a folder"),
    (["--out", "/dev/null/run"], "--out /dev/null/run: cannot create the folder"),
    (["--threads", "-1"], "--threads must be ≥ 0"),
])
def test_bad_options_exit_2_with_one_line(args, message):
    result = cli(*args)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0] and lines[0].startswith("derivations: error:")
    assert "Traceback" not in result.stderr


def test_missing_data_offline_names_data_dir_and_env_var(tmp_path):
    result = cli("--data-dir", str(tmp_path), "--no-download")
    assert result.returncode == 2
    assert "--data-dir" in result.stderr and "DERIVATIONS_DATA" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr


def test_corrupt_data_file_is_a_one_line_error(tmp_path):
    from derivations.backend.datasets.mnist import MNIST
    for f in MNIST.files.values():
        (tmp_path / (f.stem + ".gz")).write_bytes(b"\x1f\x8b garbage")
    result = cli("--data-dir", str(tmp_path), "--no-download")
    assert result.returncode == 2 and "checksum mismatch" in result.stderr
    assert "Traceback" not in result.stderr


def test_train_writes_curve_model_metrics_and_is_deterministic(tmp_path):
    real_mnist()
    data_dir = str(SHARED_DATA) if (SHARED_DATA / "mnist").is_dir() else None
    args = ["--train-limit", "1000", "--hidden", "32", "--epochs", "2", "--no-progress"]
    if data_dir:
        args += ["--data-dir", data_dir]
    runs = []
    for name in ("a", "b"):
        result = cli(*args, "--out", str(tmp_path / name))
        assert result.returncode == 0, result.stderr
        assert "epoch   2" in result.stdout and "final test error" in result.stdout
        runs.append(json.loads((tmp_path / name / "metrics.json").read_text()))
    assert {p.name for p in (tmp_path / "a").iterdir()} == {"curve.png", "model.npz", "metrics.json"}
    assert runs[0]["final_test_error"] == runs[1]["final_test_error"] < 0.5
    assert [e["train_loss"] for e in runs[0]["epochs"]] == [e["train_loss"] for e in runs[1]["epochs"]]
    model = MLP.load(tmp_path / "a" / "model.npz")
    assert model.config["hiddens"] == [32]


def test_train_command_discovers_task_modules():
    from derivations.cli.commands import train
    names = {m.NAME for m in train.task_modules()}
    assert "mnist-mlp" in names
    help_text = subprocess.run([sys.executable, "-m", "derivations", "train", "--help"],
                               capture_output=True, text=True, cwd=REPO).stdout
    assert "mnist-mlp" in help_text


def test_command_modules_import_no_numpy_at_top_level():
    code = ("import sys, derivations.cli.commands.train as t, derivations.backend.tasks.mnist_mlp; "
            "print('numpy' in sys.modules, 'matplotlib' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO).stdout
    assert out.split() == ["False", "False"]


def test_piped_output_has_one_line_per_epoch_and_no_progress_bar():
    real_mnist()
    data_dir = ["--data-dir", str(SHARED_DATA)] if (SHARED_DATA / "mnist").is_dir() else []
    result = cli("--train-limit", "500", "--hidden", "16", "--epochs", "1", *data_dir)   # no --no-progress
    assert result.returncode == 0, result.stderr
    assert "\r" not in result.stdout + result.stderr and "batch/s" not in result.stderr
    lines = result.stdout.splitlines()
    assert sum(line.startswith("epoch ") for line in lines) == 1
    assert ", 1 epoch, " in lines[1] and "after 1 epoch:" in lines[-1] and "1 BLAS thread" in lines[1]
