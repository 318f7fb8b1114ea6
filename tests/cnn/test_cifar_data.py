"""CIFAR-10 readers: a tiny JPEG archive and a tiny official-format archive written here,
the decoded-array cache, and clear errors for missing and corrupt archives."""

from __future__ import annotations

import io
import pickle
import tarfile

import numpy as np
import pytest

from derivations.cli import main
from derivations.backend.datasets import cifar10
from derivations.core.errors import UserError


def write_jpeg_tar(path, train_per_class=2, test_per_class=1, seed=0):
    """A tar in the layout of shared/datasets/cifar10-jpg.tar; returns the images written."""
    from PIL import Image
    rng = np.random.default_rng(seed)
    written = {}
    with tarfile.open(path, "w") as tar:
        for split, count in (("train", train_per_class), ("test", test_per_class)):
            for label, cls in enumerate(cifar10.CLASSES):
                for i in range(count):
                    # flat colour blocks survive JPEG almost unchanged
                    pixels = np.kron(rng.integers(0, 256, (4, 4, 3)), np.ones((8, 8, 1))).astype(np.uint8)
                    buffer = io.BytesIO()
                    Image.fromarray(pixels).save(buffer, format="JPEG", quality=95)
                    info = tarfile.TarInfo(f"cifar10-jpg/{split}/{cls}/{i:04d}.jpg")
                    info.size = buffer.tell()
                    buffer.seek(0)
                    tar.addfile(info, buffer)
                    written[(split, label, i)] = pixels
    return written


@pytest.fixture
def tiny_cifar(tmp_path, monkeypatch):
    """A data folder with a tiny JPEG archive that load() accepts, and a private cache."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("DERIVATIONS_DATA", raising=False)
    monkeypatch.setattr(cifar10, "EXPECTED_PER_CLASS", {"train": 2, "test": 1})
    folder = tmp_path / "data"
    folder.mkdir()
    written = write_jpeg_tar(folder / cifar10.JPEG_NAME)
    return folder, written


def test_jpeg_archive_decodes_with_alphabetical_labels_and_is_cached(tiny_cifar):
    folder, written = tiny_cifar
    data = cifar10.load(folder, download_missing=False, progress=False)
    assert data.train_images.shape == (20, 32, 32, 3) and data.train_images.dtype == np.uint8
    assert data.test_images.shape == (10, 32, 32, 3)
    assert sorted(data.train_labels.tolist()) == [label for label in range(10) for _ in range(2)]
    assert data.train_labels.tolist() != sorted(data.train_labels.tolist())   # not in class order
    assert data.classes[3] == "cat"

    def distance(a, b):
        return np.abs(a.astype(int) - b.astype(int)).mean()
    for image, label in zip(data.train_images, data.train_labels):
        near = sorted((distance(image, picture), key) for key, picture in written.items() if key[0] == "train")
        assert near[0][1][1] == label                   # the same picture (up to JPEG 4:2:0 loss) ...
        assert near[0][0] < 10 < near[1][0]             # ... and no other one
    assert data.cache is not None and data.cache.is_file() and str(data.cache).startswith(str(folder.parent / "cache"))
    (folder / cifar10.JPEG_NAME).write_bytes((folder / cifar10.JPEG_NAME).read_bytes())  # same size: cache hit
    again = cifar10.load(folder, download_missing=False, progress=False)
    np.testing.assert_array_equal(again.train_images, data.train_images)


def test_official_archive_is_read_in_nhwc_order(tmp_path):
    rng = np.random.default_rng(1)
    batches = {}
    archive = tmp_path / cifar10.OFFICIAL_NAME
    with tarfile.open(archive, "w:gz") as tar:
        for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
            batch = {b"data": rng.integers(0, 256, (3, 3072), dtype=np.uint8),
                     b"labels": rng.integers(0, 10, 3).tolist()}
            batches[name] = batch
            raw = pickle.dumps(batch)
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(raw)
            tar.addfile(info, io.BytesIO(raw))
    arrays = cifar10.read_official(archive)
    assert arrays["train_images"].shape == (15, 32, 32, 3)
    flat = batches["data_batch_2"][b"data"][1]
    # pixel (h=5, w=7) of channel c is at c·1024 + 5·32 + 7 of the official row
    assert arrays["train_images"][4, 5, 7].tolist() == [flat[c * 1024 + 5 * 32 + 7] for c in range(3)]
    assert arrays["test_labels"].tolist() == batches["test_batch"][b"labels"]


def test_corrupt_jpeg_archive_is_a_user_error_naming_data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    (tmp_path / cifar10.JPEG_NAME).write_bytes(b"not a tar file at all" * 100)
    with pytest.raises(UserError, match="corrupt.*--data-dir"):
        cifar10.load(tmp_path, download_missing=False, progress=False)


def test_truncated_jpeg_archive_is_a_user_error(tiny_cifar):
    folder, _ = tiny_cifar
    path = folder / cifar10.JPEG_NAME
    path.write_bytes(path.read_bytes()[:9000])
    with pytest.raises(UserError, match="--data-dir"):
        cifar10.load(folder, download_missing=False, progress=False)


def test_incomplete_archive_is_reported(tiny_cifar, monkeypatch):
    folder, _ = tiny_cifar
    monkeypatch.setattr(cifar10, "EXPECTED_PER_CLASS", {"train": 5000, "test": 1000})
    with pytest.raises(UserError, match="train/airplane has 2 images, expected 5000"):
        cifar10.load(folder, download_missing=False, progress=False)


def test_official_archive_with_wrong_md5_is_rejected(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    (tmp_path / cifar10.OFFICIAL_NAME).write_bytes(b"\x1f\x8b" + b"0" * 100)
    with pytest.raises(UserError, match="md5 checksum mismatch.*--data-dir"):
        cifar10.load(tmp_path, download_missing=False, progress=False)


def test_missing_dataset_is_one_line_error_naming_data_dir(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    code = main(["train", "cifar-cnn", "--data-dir", str(tmp_path), "--no-download", "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2 and "--data-dir" in err and len(err.strip().splitlines()) == 1
