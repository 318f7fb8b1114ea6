"""IDX reading, checksums, folder resolution and the clear errors for bad data."""

from __future__ import annotations

import gzip

import numpy as np
import pytest

from derivations.backend.datasets import mnist
from derivations.backend.datasets.augment import random_shift
from derivations.backend.datasets.cache import ENV_VAR, default_cache_dir, resolve_data_dir
from derivations.backend.datasets.download import verify_checksums
from derivations.backend.datasets.idx import read_idx, write_idx
from derivations.core.errors import UserError


def test_idx_round_trip_gz_and_raw(tmp_path):
    images = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    labels = np.array([7, 1], dtype=np.uint8)
    np.testing.assert_array_equal(read_idx(write_idx(tmp_path / "i.gz", images)), images)
    np.testing.assert_array_equal(read_idx(write_idx(tmp_path / "l", labels)), labels)
    floats = np.linspace(-1, 1, 6, dtype=np.float32).reshape(2, 3)
    np.testing.assert_array_equal(read_idx(write_idx(tmp_path / "f", floats)), floats)


def test_idx_header_is_parsed_big_endian(tmp_path):
    raw = bytes([0, 0, 8, 3]) + (2).to_bytes(4, "big") + (1).to_bytes(4, "big") + (3).to_bytes(4, "big") + bytes(range(6))
    (tmp_path / "x").write_bytes(raw)
    assert read_idx(tmp_path / "x").tolist() == [[[0, 1, 2]], [[3, 4, 5]]]


def test_truncated_bad_magic_and_corrupt_gzip_are_clear_errors(tmp_path):
    path = write_idx(tmp_path / "t", np.zeros((4, 2, 2), np.uint8))
    path.write_bytes(path.read_bytes()[:-3])
    with pytest.raises(UserError, match=r"header says shape \(4, 2, 2\).*truncated or corrupt"):
        read_idx(path)
    (tmp_path / "m").write_bytes(b"\x12\x34\x08\x01" + bytes(8))
    with pytest.raises(UserError, match="not an IDX file"):
        read_idx(tmp_path / "m")
    gz = tmp_path / "c.gz"
    noise = np.random.default_rng(0).integers(0, 256, (10, 10, 10), dtype=np.uint8)
    gz.write_bytes(write_idx(tmp_path / "c.gz", noise).read_bytes()[:300])     # cut inside the stream
    with pytest.raises(UserError, match="corrupt gzip"):
        read_idx(gz)


def test_wrong_checksum_is_a_clear_error(tmp_path):
    path = tmp_path / "f"
    path.write_bytes(b"hello")
    verify_checksums(path, {"md5": "5d41402abc4b2a76b9719d911017c592"})
    with pytest.raises(UserError, match="sha256 checksum mismatch.*delete it and download again"):
        verify_checksums(path, {"sha256": "0" * 64})


def write_fake_mnist(folder, n=10):
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for role, f in mnist.MNIST.files.items():
        shape = (n, 28, 28) if role.endswith("images") else (n,)
        write_idx(folder / (f.stem + ".gz"), rng.integers(0, 10, shape, dtype=np.uint8))


def test_data_dir_may_hold_the_files_or_a_dataset_subfolder(tmp_path):
    write_fake_mnist(tmp_path / "mnist")
    for data_dir in (tmp_path, tmp_path / "mnist"):
        data = mnist.load("mnist", data_dir, download_missing=False, verify=False)
        assert data.train_images.shape == (10, 28, 28) and data.test_labels.dtype == np.int64


def test_files_that_fail_the_official_checksum_are_rejected(tmp_path):
    write_fake_mnist(tmp_path)
    with pytest.raises(UserError, match="checksum mismatch"):
        mnist.load("mnist", tmp_path, download_missing=False)


def test_missing_files_name_the_option_and_the_environment_variable(tmp_path, monkeypatch):
    with pytest.raises(UserError, match=rf"MNIST files not found in .*--data-dir.*\${ENV_VAR}"):
        mnist.load("mnist", tmp_path, download_missing=False)
    monkeypatch.setenv(ENV_VAR, str(tmp_path / "env"))
    assert resolve_data_dir(None) == (tmp_path / "env", f"${ENV_VAR}")
    assert resolve_data_dir(tmp_path)[1] == "--data-dir"
    monkeypatch.delenv(ENV_VAR)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    if default_cache_dir().parent == tmp_path / "xdg":       # Linux and other XDG systems
        assert resolve_data_dir(None)[0] == tmp_path / "xdg" / "derivations"


def test_offline_download_failure_is_a_user_error(tmp_path, monkeypatch):
    from derivations.backend.datasets import download as dl

    def refuse(*args, **kwargs):
        raise dl.urllib.error.URLError("network is unreachable")

    monkeypatch.setattr(dl.urllib.request, "urlopen", refuse)
    with pytest.raises(UserError, match="download failed.*network is unreachable.*--data-dir"):
        mnist.load("fashion-mnist", tmp_path, progress=False)


def test_unknown_dataset_is_a_user_error():
    with pytest.raises(UserError, match="unknown dataset 'cifar'"):
        mnist.get_spec("cifar")


def test_random_shift_moves_content_within_bounds():
    img = np.zeros((50, 5, 5), np.uint8)
    img[:, 2, 2] = 255
    out = random_shift(img, np.random.default_rng(0), max_shift=1)
    rows, cols = np.nonzero(out.reshape(50, 5, 5).sum(axis=0))
    assert set(rows) <= {1, 2, 3} and set(cols) <= {1, 2, 3}
    assert (out.reshape(50, -1).sum(axis=1) == 255).all()
    assert len({tuple(np.argwhere(o)[0]) for o in out}) > 3


def test_download_fetches_verifies_and_caches_from_a_mirror(tmp_path):
    """A file:// mirror stands in for the network; the spec carries the fake files' sums."""
    import hashlib
    from dataclasses import replace

    mirror = tmp_path / "mirror"
    write_fake_mnist(mirror, n=3)
    files = {role: replace(f, gz={"sha256": hashlib.sha256((mirror / (f.stem + ".gz")).read_bytes()).hexdigest()})
             for role, f in mnist.MNIST.files.items()}
    spec = replace(mnist.MNIST, mirrors=("file:///nonexistent/", mirror.as_uri() + "/"), files=files)
    cache = tmp_path / "cache"
    paths = mnist.fetch(spec, cache, progress=False)
    assert all(p.parent == cache / "mnist" and p.is_file() for p in paths.values())
    assert not list((cache / "mnist").glob("*.part"))
    assert mnist.find_files(spec, cache) is not None            # found without downloading again


def test_download_with_a_wrong_checksum_keeps_nothing(tmp_path):
    from derivations.backend.datasets.download import download
    src = tmp_path / "src.bin"
    src.write_bytes(b"payload")
    dest = tmp_path / "out" / "file.gz"
    with pytest.raises(UserError, match="checksum mismatch"):
        download([src.as_uri()], dest, {"sha256": "0" * 64}, progress=False)
    assert not dest.parent.exists()          # nor the folder the download created


def test_a_failed_download_leaves_no_empty_folders(tmp_path):
    from derivations.backend.datasets.download import DownloadError, download
    dest = tmp_path / "data" / "mnist" / "file.gz"
    with pytest.raises(DownloadError):
        download([(tmp_path / "missing.gz").as_uri()], dest, {}, progress=False)
    assert list(tmp_path.iterdir()) == []
    (tmp_path / "kept").mkdir()
    with pytest.raises(DownloadError):
        download([(tmp_path / "missing.gz").as_uri()], tmp_path / "kept" / "x" / "f.gz", {}, progress=False)
    assert [p.name for p in tmp_path.iterdir()] == ["kept"] and not list((tmp_path / "kept").iterdir())
