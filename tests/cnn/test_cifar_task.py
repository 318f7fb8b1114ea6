"""train/evaluate cifar-cnn: outputs, exact resume, bad options and checkpoints, and a CI
smoke run of the fast network on a slice of the real CIFAR-10."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import IN_CI
from test_cifar_data import tiny_cifar  # noqa: F401  (fixture)

from derivations.cli import main
from derivations.backend.nn.cnn import CifarCNN

REAL_ARCHIVE = Path(__file__).resolve().parents[2] / ".." / "shared" / "datasets" / "cifar10-jpg.tar"
TINY = ["--widths", "4,8,8", "--batch-size", "4", "--no-progress", "--tta", "2"]


def train(folder, out, *extra):
    return main(["train", "cifar-cnn", "--data-dir", str(folder), "--out", str(out), *TINY, *extra])


def test_training_writes_every_output_and_evaluate_reads_the_model(tiny_cifar, tmp_path, capsys):  # noqa: F811
    folder, _ = tiny_cifar
    out = tmp_path / "run"
    assert train(folder, out, "--epochs", "2") == 0
    for name in ("curve.png", "confusion.png", "model.npz", "metrics.json", "checkpoint.npz"):
        assert (out / name).is_file(), name
    metrics = json.loads((out / "metrics.json").read_text())
    assert len(metrics["epochs"]) == 2 and len(metrics["confusion_matrix"]) == 10
    text = capsys.readouterr().out
    assert "epoch   2" in text and "img/s" in text
    assert main(["evaluate", "cifar-cnn", "--model", str(out / "model.npz"), "--data-dir", str(folder),
                 "--no-progress"]) == 0
    assert capsys.readouterr().out.count("test accuracy") == 3


def test_resume_continues_exactly(tiny_cifar, tmp_path):  # noqa: F811
    folder, _ = tiny_cifar
    straight, resumed = tmp_path / "straight", tmp_path / "resumed"
    assert train(folder, straight, "--epochs", "3") == 0
    assert train(folder, resumed, "--epochs", "3", "--max-steps", "7") == 0    # stops mid-epoch 2
    assert json.loads((resumed / "metrics.json").read_text())["epochs"][-1]["epoch"] == 1
    assert train(folder, resumed, "--epochs", "3", "--resume") == 0
    a, b = CifarCNN.load(straight / "model.npz"), CifarCNN.load(resumed / "model.npz")
    for (name, x), (_, y) in zip(a.state().items(), b.state().items()):
        np.testing.assert_array_equal(x, y, err_msg=name)


def test_incompatible_checkpoint_is_a_user_error(tiny_cifar, tmp_path, capsys):  # noqa: F811
    folder, _ = tiny_cifar
    out = tmp_path / "run"
    assert train(folder, out, "--epochs", "1") == 0
    code = main(["train", "cifar-cnn", "--data-dir", str(folder), "--out", str(out), "--resume",
                 "--widths", "4,8,16", "--batch-size", "4", "--no-progress"])
    assert code == 2 and "widths" in capsys.readouterr().err


@pytest.mark.parametrize("option,message", [
    (["--widths", "4,8"], "--widths must be three"),
    (["--epochs", "0"], "--epochs must be at least 1"),
    (["--resume"], "--resume needs --out"),
    (["--momentum", "1.5"], "--momentum"),
])
def test_bad_options_are_user_errors(tmp_path, capsys, option, message):
    code = main(["train", "cifar-cnn", "--data-dir", str(tmp_path), *option])
    assert code == 2 and message in capsys.readouterr().err


def test_not_a_model_file_is_a_user_error(tmp_path, capsys):
    bad = tmp_path / "m.npz"
    np.savez(bad, x=np.zeros(3))
    assert main(["evaluate", "cifar-cnn", "--model", str(bad)]) == 2
    assert "not a derivations model" in capsys.readouterr().err


def test_smoke_fast_network_learns_on_real_cifar10_slice():
    """80 steps of a narrow fast network on 1,000 real training images: the loss falls and
    accuracy on 1,000 held-out test images beats chance (10 %, σ ≈ 1 %) by a wide margin."""
    if not REAL_ARCHIVE.is_file():
        if IN_CI:
            pytest.fail(f"{REAL_ARCHIVE} is required in CI")
        pytest.skip(f"{REAL_ARCHIVE} not present")
    from derivations.backend.datasets.cifar10 import read_jpeg_tar
    from derivations.backend.tasks.cifar_cnn import Trainer, augment, evaluate, normalise
    data = read_jpeg_tar(REAL_ARCHIVE, per_class=100, progress=False)
    x, y = data["train_images"], data["train_labels"]
    test_x, test_y = data["test_images"], data["test_labels"]
    assert len(set(y[:100].tolist())) == 10        # shuffled: the whitening sample is not one class
    cfg = dict(widths=[16, 32, 32], epochs=4, batch_size=50, tta=0, seed=0, lr=11.5, momentum=0.85,
               nesterov=True, bias_scaler=64.0, weight_decay=0.0133, warmup=0.23, label_smoothing=0.2,
               whiten=True, whiten_bias_epochs=3, lookahead=True, translate=2, flip="alternating",
               train_limit=None, preset="fast")
    steps = len(x) // 50
    trainer = Trainer(cfg, x, steps)
    padded = np.pad(x, ((0, 0), (2, 2), (2, 2), (0, 0)), mode="reflect")
    losses = []
    for epoch in range(cfg["epochs"]):
        trainer.epoch = epoch
        order = trainer.rng.permutation(len(x))
        for i in range(steps):
            idx = order[i * 50:(i + 1) * 50]
            batch = normalise(augment(padded, idx, trainer.rng, 2, trainer.flip_bits[idx] ^ bool(epoch % 2)))
            losses.append(trainer.train_step(batch, y[idx])[0])
    trainer.finish()
    assert len(losses) == 80
    # label smoothing 0.2 keeps the loss high; the airbench init starts at ln 10 with small logits
    assert np.mean(losses[-10:]) < np.mean(losses[:10]) - 0.05
    _, accuracy, _ = evaluate(trainer.model, test_x, test_y)
    assert accuracy > 0.2, accuracy


def test_checkpoint_with_arrays_of_other_shapes_is_a_user_error(tiny_cifar, tmp_path, capsys):  # noqa: F811
    folder, _ = tiny_cifar
    out = tmp_path / "run"
    assert train(folder, out, "--epochs", "2", "--max-steps", "5") == 0
    with np.load(out / "checkpoint.npz") as data:
        arrays = {k: data[k] for k in data.files}
    name = next(k for k in arrays if k.startswith("ema/"))
    arrays[name] = np.zeros(3, arrays[name].dtype)
    with open(out / "checkpoint.npz", "wb") as f:
        np.savez(f, **arrays)
    capsys.readouterr()
    assert train(folder, out, "--epochs", "2", "--resume") == 2
    err = capsys.readouterr().err
    assert f"{name} has shape (3,), expected" in err and len(err.strip().splitlines()) == 1


def test_piped_output_has_no_progress_bar_and_one_line_per_epoch(tiny_cifar, tmp_path, capsys):  # noqa: F811
    folder, _ = tiny_cifar
    args = [a for a in TINY if a != "--no-progress"]
    assert main(["train", "cifar-cnn", "--data-dir", str(folder), *args, "--epochs", "1"]) == 0
    captured = capsys.readouterr()
    assert "\r" not in captured.out + captured.err and "img/s]" not in captured.err
    assert ", 1 epoch, " in captured.out and captured.out.count("\nepoch ") == 1
