"""MNIST and Fashion-MNIST: official file names, mirrors and checksums; find, download, load.

A data folder may hold the four IDX files directly (``DIR/train-images-idx3-ubyte.gz``) or
one subfolder per dataset (``DIR/mnist/…``, ``DIR/fashion-mnist/…``); both are accepted.
Files may be gzipped (the official form) or raw. Each file is checked against the
official checksum before use.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from derivations.backend.datasets.cache import ENV_VAR, resolve_data_dir
from derivations.backend.datasets.download import DownloadError, download, file_digests, verify_checksums
from derivations.backend.datasets.idx import read_idx
from derivations.core.errors import UserError


@dataclass(frozen=True)
class IdxFile:
    stem: str                  # official name without .gz, e.g. "train-images-idx3-ubyte"
    gz: dict[str, str]         # checksums of the official .gz
    raw: dict[str, str]        # checksums of the decompressed file (those that are published)

    def candidates(self) -> list[tuple[str, dict[str, str]]]:
        dotted = self.stem.replace("-idx", ".idx")      # the name gunzip -N restores
        return [(self.stem + ".gz", self.gz), (self.stem, self.raw), (dotted, self.raw)]


@dataclass(frozen=True)
class DatasetSpec:
    name: str
    title: str
    mirrors: tuple[str, ...]
    files: dict[str, IdxFile]  # role → file; roles: train_images, train_labels, test_images, test_labels
    classes: tuple[str, ...]


MNIST = DatasetSpec(
    name="mnist",
    title="MNIST",
    mirrors=("https://ossci-datasets.s3.amazonaws.com/mnist/",
             "https://storage.googleapis.com/cvdf-datasets/mnist/",
             "http://yann.lecun.com/exdb/mnist/"),
    files={
        "train_images": IdxFile(
            "train-images-idx3-ubyte",
            {"sha256": "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
             "md5": "f68b3c2dcbeaaa9fbdd348bbdeb94873"},
            {"sha256": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db"}),
        "train_labels": IdxFile(
            "train-labels-idx1-ubyte",
            {"sha256": "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
             "md5": "d53e105ee54ea40749a09fcbcd1e9432"},
            {"sha256": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5"}),
        "test_images": IdxFile(
            "t10k-images-idx3-ubyte",
            {"sha256": "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
             "md5": "9fb629c4189551a2d022fa330f9573f3"},
            {"sha256": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7"}),
        "test_labels": IdxFile(
            "t10k-labels-idx1-ubyte",
            {"sha256": "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
             "md5": "ec29112dd5afa0611ce80d1b7f02629c"},
            {"sha256": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2"}),
    },
    classes=tuple(str(d) for d in range(10)),
)

FASHION_MNIST = DatasetSpec(
    name="fashion-mnist",
    title="Fashion-MNIST",
    mirrors=("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
             "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/"),
    files={
        "train_images": IdxFile(
            "train-images-idx3-ubyte",
            {"sha256": "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
             "md5": "8d4fb7e6c68d591d4c3dfef9ec88bf0d"},
            {"md5": "f4a8712d7a061bf5bd6d2ca38dc4d50a"}),
        "train_labels": IdxFile(
            "train-labels-idx1-ubyte",
            {"sha256": "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
             "md5": "25c81989df183df01b3e8a0aad5dffbe"},
            {"md5": "9018921c3c673c538a1fc5bad174d6f9"}),
        "test_images": IdxFile(
            "t10k-images-idx3-ubyte",
            {"sha256": "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
             "md5": "bef4ecab320f06d8554ea6380940ec79"},
            {"md5": "8181f5470baa50b63fa0f6fddb340f0a"}),
        "test_labels": IdxFile(
            "t10k-labels-idx1-ubyte",
            {"sha256": "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
             "md5": "bb300cfdad3c16e7a12a480ee83cd310"},
            {"md5": "15d484375f8d13e6eb1aabb0c3f46965"}),
    },
    classes=("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
             "Sneaker", "Bag", "Ankle boot"),
)

SPECS = {spec.name: spec for spec in (MNIST, FASHION_MNIST)}


@dataclass
class ImageDataset:
    """uint8 images (n, 28, 28) and int64 labels (n,) for both splits."""
    name: str
    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray
    classes: tuple[str, ...]
    folder: Path


def get_spec(name: str) -> DatasetSpec:
    try:
        return SPECS[name]
    except KeyError:
        raise UserError(f"unknown dataset {name!r}; choose one of {', '.join(SPECS)}") from None


def _strongest(checksums: dict[str, str]) -> dict[str, str]:
    """Verify one digest per file (sha256 when published), which is enough and twice as fast."""
    return {"sha256": checksums["sha256"]} if "sha256" in checksums else checksums


def find_files(spec: DatasetSpec, folder: Path) -> dict[str, Path] | None:
    """Paths of the four files in ``folder`` or ``folder/<name>``, or None if incomplete there."""
    for candidate in (folder, folder / spec.name):
        found = {}
        for role, f in spec.files.items():
            for filename, _ in f.candidates():
                if (candidate / filename).is_file():
                    found[role] = candidate / filename
                    break
        if len(found) == len(spec.files):
            return found
    return None


def _checksums_for(spec: DatasetSpec, role: str, path: Path) -> dict[str, str]:
    for filename, checksums in spec.files[role].candidates():
        if path.name == filename:
            return checksums
    raise AssertionError(path)


def _verify(spec: DatasetSpec, role: str, path: Path) -> None:
    """Check ``path`` against its official checksum; when it is another known file (MNIST's
    under Fashion-MNIST's name, a test split as a train split), say which instead of "corrupt"."""
    try:
        verify_checksums(path, _strongest(_checksums_for(spec, role, path)))
    except UserError:
        known = identify(path)
        if known is None:
            raise
        raise UserError(f"{path} is {known}, not {spec.title}'s {path.name}; pass --data-dir a folder "
                        f"holding {spec.title}'s files (or {spec.name}/ inside)") from None


def identify(path: Path) -> str | None:
    """Which official file ``path`` is (e.g. "MNIST's train-images-idx3-ubyte.gz"), by checksum."""
    digests = file_digests(path, ("md5", "sha256"))
    for other in SPECS.values():
        for f in other.files.values():
            for filename, checksums in f.candidates():
                if any(digests[k] == v for k, v in checksums.items()):
                    return f"{other.title}'s {filename}"
    return None


def fetch(spec: DatasetSpec, data_dir=None, *, download_missing: bool = True,
          progress: bool = True) -> dict[str, Path]:
    """Locate the dataset's files, downloading the missing ones into the data folder."""
    folder, origin = resolve_data_dir(data_dir)
    found = find_files(spec, folder)
    if found is not None:
        return found
    target = folder / spec.name
    hint = (f"pass --data-dir DIR (a folder holding the four {spec.title} IDX files, or one with "
            f"{spec.name}/ inside; for MNIST also mnist_train.csv and mnist_test.csv) or set ${ENV_VAR}")
    if not download_missing:
        raise UserError(f"{spec.title} files not found in {folder} or {target} ({origin}); {hint}")
    paths = {}
    for role, f in spec.files.items():
        dest = target / (f.stem + ".gz")
        if not dest.is_file():
            try:
                download([m + dest.name for m in spec.mirrors], dest, _strongest(f.gz), progress=progress)
            except DownloadError as err:
                raise UserError(
                    f"{spec.title} files not found in {folder} or {target} ({origin}) and the "
                    f"download failed ({str(err).split(';')[0]}); {hint}") from None
        paths[role] = dest
    return paths


def load(name: str = "mnist", data_dir=None, *, download_missing: bool = True,
         verify: bool = True, progress: bool = True) -> ImageDataset:
    """Load MNIST or Fashion-MNIST, checking every file against its official checksum."""
    spec = get_spec(name)
    csv = _course_csv(spec, data_dir)
    if csv is not None:
        return csv
    paths = fetch(spec, data_dir, download_missing=download_missing, progress=progress)
    arrays = {}
    for role, path in paths.items():
        if verify:
            _verify(spec, role, path)
        arrays[role] = read_idx(path, expect_ndim=3 if role.endswith("images") else 1)
    for split in ("train", "test"):
        images, labels = arrays[f"{split}_images"], arrays[f"{split}_labels"]
        if len(images) != len(labels):
            raise UserError(f"{spec.title} {split}: {len(images)} images but {len(labels)} labels")
    return ImageDataset(spec.name, arrays["train_images"], arrays["train_labels"].astype(np.int64),
                        arrays["test_images"], arrays["test_labels"].astype(np.int64),
                        spec.classes, paths["train_images"].parent)


def _course_csv(spec: DatasetSpec, data_dir) -> ImageDataset | None:
    """Sheet a1 ships MNIST as ``mnist_train.csv``/``mnist_test.csv``; use them when a folder
    holds those and no IDX files (IDX files win when both are present)."""
    folder = resolve_data_dir(data_dir)[0]
    if spec.name != "mnist" or find_files(spec, folder) is not None:
        return None
    from derivations.backend.datasets.digits_csv import find_csv, load_csv_split

    paths = find_csv(folder)
    if paths is None:
        return None
    a = load_csv_split(paths)
    return ImageDataset(spec.name, a["train_images"], a["train_labels"].astype(np.int64), a["test_images"],
                        a["test_labels"].astype(np.int64), spec.classes, paths["train"].parent)
