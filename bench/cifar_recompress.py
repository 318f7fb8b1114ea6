"""How much accuracy does JPEG cost? Give the CIFAR-10 JPEG copy a second, independent
JPEG pass and train on both.

The offline copy is JPEG quality 75 with 4:2:0 chroma, and the official arrays cannot be
had offline, so the first pass's cost cannot be measured directly. A second pass can: this
writes a copy of the archive in which every image has gone through JPEG again (same
quality and subsampling, with the 8×8 block grid and the 2×2 chroma grid shifted by
``--offset`` pixels, so the pass is not a near no-op), stored losslessly as PNG under the
same member names. Train the same command on both folders; the drop in test accuracy is
what one more JPEG pass costs.

``--calibrate DIR`` compares the two passes on natural photographs instead (any PNG/JPEG
files in DIR, cut into random squares and reduced to 32×32 like CIFAR): the RMSE of a first
pass against that of a second, shifted pass says how much more a first pass destroys.

    python bench/cifar_recompress.py --data-dir ../shared/datasets --out /tmp/jpeg2
    python -m derivations train cifar-cnn --preset fast --data-dir /tmp/jpeg2 --threads 2
"""

from __future__ import annotations

import argparse
import io
import sys
import tarfile
from pathlib import Path

import numpy as np


def jpeg_pass(image: np.ndarray, offset: int, quality: int = 75) -> np.ndarray:
    """One JPEG round trip (4:2:0) of a uint8 HWC image with its block grid shifted by
    ``offset`` pixels: pad by reflection at the top and left, encode, decode, crop back."""
    from PIL import Image
    padded = np.pad(image, ((offset, 0), (offset, 0), (0, 0)), mode="reflect")
    buffer = io.BytesIO()
    Image.fromarray(padded).save(buffer, "JPEG", quality=quality, subsampling=2)
    buffer.seek(0)
    decoded = np.asarray(Image.open(buffer).convert("RGB"))
    h, w = image.shape[:2]
    return decoded[offset:offset + h, offset:offset + w]


def rmse(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.sqrt(np.mean((a.astype(np.float64) - b) ** 2)))


def recompress(archive: Path, out: Path, offset: int) -> float:
    """Write ``out`` (same members, each image after one more JPEG pass, as PNG);
    return the mean RMSE of that pass in uint8 units."""
    from PIL import Image
    from tqdm import tqdm
    errors = []
    tmp = out.with_name(out.name + ".part")
    with tarfile.open(archive) as source, tarfile.open(tmp, "w") as target:
        for member in tqdm(source, total=60000, unit="img", desc="JPEG pass"):
            if not member.isfile():
                continue
            with Image.open(source.extractfile(member)) as img:
                image = np.asarray(img.convert("RGB"))
            again = jpeg_pass(image, offset)
            errors.append(rmse(image, again))
            buffer = io.BytesIO()
            Image.fromarray(again).save(buffer, "PNG")
            info = tarfile.TarInfo(member.name)
            info.size = buffer.tell()
            buffer.seek(0)
            target.addfile(info, buffer)
    tmp.replace(out)
    return float(np.mean(errors))


def calibrate(folder: Path, offset: int, crops: int, seed: int = 0) -> tuple[float, float, int]:
    """(RMSE of a first pass, RMSE of a second shifted pass, images) on 32×32 reductions
    of random squares of the photographs in ``folder``."""
    from PIL import Image
    rng = np.random.default_rng(seed)
    first, second = [], []
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in (".png", ".jpg", ".jpeg"))
    for path in files:
        with Image.open(path) as img:
            photo = img.convert("RGB")
        w, h = photo.size
        if min(w, h) < 128:
            continue
        for _ in range(crops):
            side = int(rng.integers(64, min(w, h) // 2))
            x, y = int(rng.integers(0, w - side)), int(rng.integers(0, h - side))
            small = np.asarray(photo.crop((x, y, x + side, y + side)).resize((32, 32), Image.BOX))
            once = jpeg_pass(small, 0)
            first.append(rmse(small, once))
            second.append(rmse(once, jpeg_pass(once, offset)))
    if not first:
        raise SystemExit(f"error: no photographs of at least 128×128 pixels in {folder}")
    return float(np.mean(first)), float(np.mean(second)), len(first)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", help="folder holding cifar10-jpg.tar")
    parser.add_argument("--out", help="folder for the recompressed cifar10-jpg.tar")
    parser.add_argument("--offset", type=int, default=5, help="grid shift in pixels (default 5: odd, so the "
                                                                "chroma pairs shift too)")
    parser.add_argument("--calibrate", metavar="DIR", help="compare first and second passes on photographs in DIR")
    parser.add_argument("--crops", type=int, default=200, help="squares per photograph for --calibrate")
    args = parser.parse_args(argv)
    if not 1 <= args.offset <= 7:
        parser.error(f"--offset must be 1 to 7 pixels, got {args.offset}")
    if args.calibrate:
        first, second, n = calibrate(Path(args.calibrate), args.offset, args.crops)
        print(f"{n} images: first pass RMSE {first:.2f}, second shifted pass {second:.2f} "
              f"(ratio {first / second:.2f})")
        return 0
    if not (args.data_dir and args.out):
        parser.error("give --data-dir and --out (or --calibrate DIR)")
    archive = Path(args.data_dir) / "cifar10-jpg.tar"
    if not archive.is_file():
        print(f"error: no cifar10-jpg.tar in {args.data_dir}", file=sys.stderr)
        return 2
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    error = recompress(archive, out / archive.name, args.offset)
    print(f"wrote {out / archive.name}: one more JPEG pass, RMSE {error:.2f} (uint8 units)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
