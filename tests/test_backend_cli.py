"""Options of ``train`` and ``evaluate`` that no run could honour: one-line errors, exit 2,
before any data is read; and what a failed download leaves behind."""

from __future__ import annotations

from dataclasses import replace

import pytest
from helpers import assert_user_error, cli_in_process

from derivations.backend.datasets import mnist


@pytest.mark.parametrize("args, fragment", [
    (["evaluate", "cifar-cnn", "--model", "m.npz", "--test-limit", "0"], "--test-limit must be ≥ 1, got 0"),
    (["evaluate", "cifar-cnn", "--model", "m.npz", "--test-limit", "-5"], "--test-limit must be ≥ 1, got -5"),
    (["evaluate", "cifar-cnn", "--model", "m.npz", "--threads", "0"], "--threads must be ≥ 1"),
    (["evaluate", "cifar-cnn", "--model", "m.npz", "--data-dir", "no/such/folder"], "is not a folder"),
    (["train", "cifar-cnn", "--test-limit", "0"], "--test-limit must be ≥ 1"),
    (["train", "cifar-cnn", "--train-limit", "-5"], "--train-limit must be ≥ 1"),
    (["train", "cifar-cnn", "--max-steps", "0"], "--max-steps must be ≥ 1"),
    (["train", "cifar-cnn", "--seed", "-1"], "--seed must be ≥ 0"),
    (["train", "mnist-mlp", "--seed", "-1"], "--seed must be ≥ 0"),
    (["train", "mnist-mlp", "--train-limit", "0"], "--train-limit must be ≥ 1"),
])
def test_options_no_run_could_honour_are_refused(capsys, args, fragment):
    assert_user_error(cli_in_process(capsys, *args), fragment)


def test_an_offline_download_into_an_empty_data_dir_leaves_it_empty(tmp_path, capsys, monkeypatch):
    unreachable = (tmp_path / "mirror").as_uri() + "/"          # a mirror with no files
    monkeypatch.setitem(mnist.SPECS, "mnist", replace(mnist.MNIST, mirrors=(unreachable,)))
    data = tmp_path / "data"
    data.mkdir()
    assert_user_error(cli_in_process(capsys, "train", "mnist-mlp", "--data-dir", str(data), "--no-progress"),
                      "download failed")
    assert list(data.iterdir()) == []
