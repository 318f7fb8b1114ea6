"""CIFAR-10: the official python archive (downloaded with its md5) or the offline JPEG copy,
decoded once into a uint8 NHWC array cached on disk.

Sources, in order of preference, looked for in the data folder (``--data-dir`` >
``$DERIVATIONS_DATA`` > the user cache) and its ``cifar10/`` subfolder:

1. ``cifar-10-python.tar.gz``: the official release (Krizhevsky 2009), md5-checked;
2. ``cifar10-jpg.tar``: the JPEG re-encoding of ``shared/datasets`` (lossy, quality 75;
   see its README), one file per image under ``cifar10-jpg/{train,test}/<class>/NNNN.jpg``.
   Labels are the class folder names in alphabetical order, which are the official indices.
   The archive is grouped by class; each split is shuffled once with a fixed seed, so that
   any prefix (the 5,000 images the whitening layer is fitted to, ``--test-limit N``) mixes
   all classes, as the official batches do.

When neither is there, the official archive is downloaded into the data folder.
The decoded arrays (train 50000×32×32×3, test 10000×32×32×3, uint8, plus int64 labels) are
saved as an uncompressed ``.npz`` in the user cache (``cifar10/`` there), so later runs load them in well under a second instead of decoding again.
"""

from __future__ import annotations

import io
import os
import pickle
import tarfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from derivations.backend.datasets.cache import ENV_VAR, default_cache_dir, resolve_data_dir
from derivations.backend.datasets.download import DownloadError, download, verify_checksums
from derivations.backend.errors import brief
from derivations.core.errors import UserError

OFFICIAL_NAME = "cifar-10-python.tar.gz"
OFFICIAL_URLS = ["https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"]
OFFICIAL_MD5 = "c58f30108f718f92721af3b95e74349a"
JPEG_NAME = "cifar10-jpg.tar"
JPEG_SHA256 = "42635c6c1fc5146d0622f1f6a2125cc45abd893f16b3c2b8e445f90810ce46d1"
JPEG_SIZE = 92_682_240
EXPECTED_PER_CLASS = {"train": 5000, "test": 1000}   # of a complete archive
CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
CACHE_VERSION = 2                 # 2: JPEG splits shuffled (1 kept the archive's class order)
SHUFFLE_SEED = 2009
MAX_JPEG_BYTES = 1 << 16          # the copy's 32×32 JPEGs are 1–2 kB each
HINT = (f"pass --data-dir DIR (a folder holding {OFFICIAL_NAME} or {JPEG_NAME}, e.g. "
        f"../shared/datasets) or set ${ENV_VAR}")


@dataclass
class Cifar10:
    train_images: np.ndarray      # (n, 32, 32, 3) uint8, NHWC
    train_labels: np.ndarray      # (n,) int64
    test_images: np.ndarray
    test_labels: np.ndarray
    classes: tuple[str, ...]
    source: Path                  # the archive the arrays came from
    cache: Path | None            # the decoded .npz


def find_archive(folder: Path) -> Path | None:
    for candidate in (folder, folder / "cifar10"):
        for name in (OFFICIAL_NAME, JPEG_NAME):
            if (candidate / name).is_file():
                return candidate / name
    return None


def cache_path(archive: Path) -> Path:
    """Where the decoded arrays of ``archive`` go: the user cache (never the archive's
    folder, which may be shared), named by the archive's name and size."""
    return default_cache_dir() / "cifar10" / f"{archive.name}.{archive.stat().st_size}.uint8-v{CACHE_VERSION}.npz"


def load(data_dir=None, *, download_missing: bool = True, progress: bool = True,
         verify: bool = True, use_cache: bool = True) -> Cifar10:
    """The full dataset; decodes the archive on first use and caches the arrays."""
    folder, origin = resolve_data_dir(data_dir)
    archive = find_archive(folder)
    if archive is None:
        if not download_missing:
            raise UserError(f"CIFAR-10 not found in {folder} or {folder / 'cifar10'} ({origin}); {HINT}")
        archive = folder / "cifar10" / OFFICIAL_NAME
        try:
            download(OFFICIAL_URLS, archive, {"md5": OFFICIAL_MD5}, progress=progress)
        except DownloadError as err:
            raise UserError(f"CIFAR-10 not found in {folder} ({origin}) and the download failed "
                            f"({str(err).split(';')[0]}); {HINT}") from None
    cached = cache_path(archive)
    if use_cache and cached.is_file():
        arrays = read_cache(cached)
        if arrays is not None:
            return Cifar10(**arrays, classes=CLASSES, source=archive, cache=cached)
    if verify:
        # The JPEG copy's checksum is known for the shared file only; another archive of the
        # same layout (a subset, a re-pack) is checked by its structure while decoding.
        checksums = ({"md5": OFFICIAL_MD5} if archive.name == OFFICIAL_NAME
                     else {"sha256": JPEG_SHA256} if archive.stat().st_size == JPEG_SIZE else {})
        try:
            verify_checksums(archive, checksums)
        except UserError as err:
            raise UserError(f"{err} (found via {origin})") from None
    reader = read_official if archive.name == OFFICIAL_NAME else read_jpeg_tar
    arrays = reader(archive, progress=progress)
    if not use_cache:
        return Cifar10(**arrays, classes=CLASSES, source=archive, cache=None)
    cached.parent.mkdir(parents=True, exist_ok=True)
    tmp = cached.with_name(cached.name + ".part")
    with open(tmp, "wb") as f:
        np.savez(f, **arrays)
    os.replace(tmp, cached)
    return Cifar10(**arrays, classes=CLASSES, source=archive, cache=cached)


def read_cache(path: Path) -> dict[str, np.ndarray] | None:
    """The decoded arrays cached at ``path``, or None when the file is not a complete, consistent
    cache (it is then rebuilt): uint8 (n, 32, 32, 3) images and int64 labels in 0–9 per split."""
    from derivations.backend.nn.checkpoint import NpzFile
    arrays = {}
    try:
        with NpzFile(path, "cache") as data:
            for split in ("train", "test"):
                shape, _ = data.header(f"{split}_images")
                if len(shape) != 4 or shape[1:] != (32, 32, 3):
                    return None
                arrays[f"{split}_images"] = data.read(f"{split}_images", shape, np.uint8)
                arrays[f"{split}_labels"] = labels = data.read(f"{split}_labels", shape[:1], np.int64)
                if labels.size and (labels.min() < 0 or labels.max() >= len(CLASSES)):
                    return None
    except UserError:
        return None
    return arrays


def _corrupt(archive: Path, what: str) -> UserError:
    return UserError(f"{archive}: corrupt or not a CIFAR-10 archive ({what}); replace it or pass another --data-dir")


def read_official(archive: Path, progress: bool = True) -> dict[str, np.ndarray]:
    """The five training batches and the test batch of ``cifar-10-python.tar.gz``."""
    batches: dict[str, dict] = {}
    try:
        with tarfile.open(archive, "r:gz") as tar:
            for member in tar:
                name = member.name.rsplit("/", 1)[-1]
                if name.startswith("data_batch_") or name == "test_batch":
                    batches[name] = pickle.load(tar.extractfile(member), encoding="bytes")
    except (tarfile.TarError, OSError, EOFError, pickle.UnpicklingError) as err:
        raise _corrupt(archive, brief(err)) from None
    wanted = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    missing = [w for w in wanted if w not in batches]
    if missing:
        raise _corrupt(archive, f"missing {', '.join(missing)}")

    def images(batch):
        return np.asarray(batch[b"data"], np.uint8).reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)

    return dict(
        train_images=np.ascontiguousarray(np.concatenate([images(batches[w]) for w in wanted[:5]])),
        train_labels=np.concatenate([np.asarray(batches[w][b"labels"], np.int64) for w in wanted[:5]]),
        test_images=np.ascontiguousarray(images(batches["test_batch"])),
        test_labels=np.asarray(batches["test_batch"][b"labels"], np.int64))


def read_jpeg_tar(archive: Path, *, per_class: int | None = None, progress: bool = True,
                  expect_per_class: dict[str, int] | None = None) -> dict[str, np.ndarray]:
    """Decode ``cifar10-jpg.tar`` (or a smaller archive of the same layout) with Pillow.

    ``per_class`` keeps only the first N images of each class and split (a quick slice of
    the real data). ``expect_per_class`` (split → count) checks the full archive is complete;
    by default :data:`EXPECTED_PER_CLASS` is required unless ``per_class`` is given.
    """
    from PIL import Image
    from tqdm import tqdm

    images: dict[str, list] = {"train": [], "test": []}
    labels: dict[str, list] = {"train": [], "test": []}
    counts: dict[tuple[str, str], int] = {}
    index = {name: i for i, name in enumerate(CLASSES)}
    try:
        with tarfile.open(archive, "r:") as tar, tqdm(total=60000, unit="img", desc="decoding CIFAR-10 JPEGs",
                                                     disable=not progress, leave=False) as bar:
            for member in tar:
                parts = member.name.split("/")
                if not member.isfile() or len(parts) < 3 or not parts[-1].endswith(".jpg"):
                    continue
                split, cls = parts[-3], parts[-2]
                if split not in images or cls not in index:
                    raise _corrupt(archive, f"unexpected member {member.name}")
                key = (split, cls)
                if per_class is not None and counts.get(key, 0) >= per_class:
                    continue
                counts[key] = counts.get(key, 0) + 1
                if counts[key] > EXPECTED_PER_CLASS[split]:
                    raise _corrupt(archive, f"more than {EXPECTED_PER_CLASS[split]} {split}/{cls} images")
                if member.size > MAX_JPEG_BYTES:
                    raise _corrupt(archive, f"{member.name} is {member.size} bytes, too large for a 32×32 JPEG")
                with Image.open(io.BytesIO(tar.extractfile(member).read())) as img:
                    if img.size != (32, 32):             # checked before decoding anything
                        raise _corrupt(archive, f"{member.name} is {img.size[0]}×{img.size[1]}, not 32×32")
                    pixels = np.asarray(img.convert("RGB"))
                images[split].append(pixels)
                labels[split].append(index[cls])
                bar.update(1)
    except (tarfile.TarError, OSError, EOFError, ValueError, SyntaxError, Image.DecompressionBombError) as err:
        raise _corrupt(archive, brief(err)) from None
    if expect_per_class is None and per_class is None:
        expect_per_class = EXPECTED_PER_CLASS
    for split in ("train", "test"):
        if not images[split]:
            raise _corrupt(archive, f"no {split} images")
        if expect_per_class:
            short = [c for c in CLASSES if counts.get((split, c), 0) != expect_per_class[split]]
            if short:
                raise _corrupt(archive, f"{split}/{short[0]} has {counts.get((split, short[0]), 0)} images, "
                                        f"expected {expect_per_class[split]}")
    out = {}
    rng = np.random.default_rng(SHUFFLE_SEED)
    for split in ("train", "test"):
        order = rng.permutation(len(images[split]))
        out[f"{split}_images"] = np.stack(images[split])[order]
        out[f"{split}_labels"] = np.array(labels[split], np.int64)[order]
    return out
