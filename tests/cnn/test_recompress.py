"""bench/cifar_recompress.py: the second JPEG pass changes the images, keeps the archive's
layout (the loader reads it back with the same labels) and really shifts the block grid."""

import sys
from pathlib import Path

import numpy as np

from derivations.backend.datasets import cifar10
from test_cifar_data import tiny_cifar  # noqa: F401  (fixture)

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))


def textured():
    """Smooth stripes and rings in each channel: detail at several scales, like a photograph."""
    y, x = np.mgrid[0:32, 0:32] / 32
    channels = [np.sin(7 * x + 3 * y), np.cos(11 * x * y + 2 * y), np.sin(9 * np.hypot(x - 0.4, y - 0.6))]
    return np.round(127.5 + 100 * np.stack(channels, axis=-1)).astype(np.uint8)


def test_jpeg_pass_is_lossy_and_the_grid_shift_matters():
    from cifar_recompress import jpeg_pass, rmse
    image = textured()
    once = jpeg_pass(image, 0)
    assert once.shape == image.shape and rmse(image, once) > 1
    # an unshifted second pass nearly repeats the first; a shifted one does not
    assert rmse(once, jpeg_pass(once, 5)) > 2 * rmse(once, jpeg_pass(once, 0))


def test_recompressed_archive_loads_with_the_same_labels(tiny_cifar, tmp_path):  # noqa: F811
    from cifar_recompress import main
    folder, _ = tiny_cifar
    out = tmp_path / "again"
    assert main(["--data-dir", str(folder), "--out", str(out)]) == 0
    before = cifar10.load(folder, download_missing=False, progress=False)
    after = cifar10.load(out, download_missing=False, progress=False)
    np.testing.assert_array_equal(before.train_labels, after.train_labels)
    np.testing.assert_array_equal(before.test_labels, after.test_labels)
    changed = np.abs(before.train_images.astype(int) - after.train_images).mean()
    assert 0 < changed < 20                       # another lossy pass of the same pictures


def test_missing_archive_is_an_error(tmp_path, capsys):
    from cifar_recompress import main
    assert main(["--data-dir", str(tmp_path), "--out", str(tmp_path / "o")]) == 2
    assert "no cifar10-jpg.tar" in capsys.readouterr().err
