"""Crafted files for everything the project reads: model .npz, training checkpoints, IDX,
the course's CSV, CIFAR-10 archives. Truncated, random, lying about their own sizes: each is
a one-line error with exit status 2, within 10 s and 1.5 GB, never a traceback.

The CLI runs as a subprocess whose peak memory is read from ``os.wait4`` (its own
``ru_maxrss``); an address-space limit of 4 GiB is only a safety net for this machine.
Hypothesis then mutates valid files and configurations in process, with tracemalloc
bounding what each load allocates.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import resource
import struct
import subprocess
import sys
import tarfile
import time
import tracemalloc
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from derivations.backend.datasets import cifar10, mnist
from derivations.backend.datasets.digits_csv import read_digits_csv
from derivations.backend.datasets.idx import read_idx, write_idx
from derivations.backend.nn.cnn import CifarCNN
from derivations.backend.nn.mlp import MLP
from derivations.core.errors import UserError

SECONDS, PEAK_BYTES, SAFETY_NET = 10, 1.5e9, 4 << 30
SHARED = Path(__file__).resolve().parents[1] / ".." / "shared" / "datasets"


def run_bounded(*args, env):
    """``python -m derivations ARGS``: (exit code, stderr, seconds, peak RSS in bytes)."""
    def limit():
        resource.setrlimit(resource.RLIMIT_AS, (SAFETY_NET, SAFETY_NET))
    err_path = Path(env["XDG_CACHE_HOME"]) / "stderr.txt"
    start = time.perf_counter()
    with open(err_path, "w") as err:
        proc = subprocess.Popen([sys.executable, "-m", "derivations", *map(str, args)], stdout=subprocess.DEVNULL,
                                stderr=err, env=env, preexec_fn=limit)
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)   # this child's own rusage
            if pid:
                break
            if time.perf_counter() > start + 3 * SECONDS:
                proc.kill()
                _, status, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(0.02)
    proc.returncode = os.waitstatus_to_exitcode(status)        # so Popen does not wait again
    return proc.returncode, err_path.read_text(), time.perf_counter() - start, usage.ru_maxrss * 1024


@pytest.fixture
def env(tmp_path):
    """A private cache folder (decoded CIFAR arrays are cached there) and no $DERIVATIONS_DATA."""
    cache = tmp_path / "cache"
    cache.mkdir()
    environment = {k: v for k, v in os.environ.items() if k != "DERIVATIONS_DATA"}
    environment.update(XDG_CACHE_HOME=str(cache), OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    return environment


def assert_refused(env, *args, fragment: str = ""):
    code, err, seconds, peak = run_bounded(*args, env=env)
    lines = err.strip().splitlines()
    assert code == 2, err
    assert len(lines) == 1 and lines[0].startswith("derivations: error:"), err
    assert len(lines[0]) < 300, lines[0]
    assert fragment in lines[0], (fragment, lines[0])
    assert seconds < SECONDS, (seconds, lines[0])
    assert peak < PEAK_BYTES, (peak, lines[0])


# -- writing crafted .npz files --------------------------------------------------------------

def npy_bytes(array=None, *, header: dict | None = None, payload: bytes = b"") -> bytes:
    """An .npy member: a real array, or a forged header dict followed by ``payload``."""
    if array is not None:
        buffer = io.BytesIO()
        np.lib.format.write_array(buffer, np.asarray(array), allow_pickle=False)
        return buffer.getvalue()
    text = repr(header).encode("latin1")
    text += b" " * (-(len(text) + 11) % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(text)) + text + payload


def write_npz(path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as z:
        for name, data in members.items():
            z.writestr(name + ".npy", data)
    return path


def config_member(config) -> bytes:
    return npy_bytes(np.array(config if isinstance(config, str) else json.dumps(config)))


def small_model(path, widths=(4, 4, 4), **options) -> Path:
    CifarCNN(widths, **options).save(path)
    return path


def with_member(path, source, name: str, member: bytes) -> Path:
    """The model at ``source`` with member ``name`` replaced by the bytes ``member``."""
    with zipfile.ZipFile(source) as z:
        members = {i.filename[:-4]: z.read(i) for i in z.infolist()}
    return write_npz(path, {**members, name: member})


def with_config(path, config, source) -> Path:
    """The arrays of the model at ``source`` with ``config`` stored instead of its own."""
    return with_member(path, source, "__config__", config_member(config))


def model_cases(tmp: Path) -> dict[str, tuple[Path, str]]:
    """name → (crafted model file, a fragment of the expected error)."""
    good = small_model(tmp / "good.npz")
    cnn = {"class": "CifarCNN", "widths": [4, 4, 4]}
    cases = {
        "widths 4000 in 200 bytes": (write_npz(tmp / "a.npz", {"__config__": config_member(
            {"class": "CifarCNN", "widths": [4000, 4000, 4000]})}), "does not hold"),
        "widths 100000": (with_config(tmp / "b.npz", {**cnn, "widths": [100000] * 3}, good), "widths must be"),
        "negative widths": (with_config(tmp / "c.npz", {**cnn, "widths": [-4, 4, 4]}, good), "widths must be"),
        "absurd whitening kernel": (with_config(tmp / "d.npz", {**cnn, "whiten_kernel": 1000}, good),
                                    "whiten_kernel"),
        "kernel that does not reduce to 1×1": (with_config(tmp / "e.npz", {**cnn, "whiten_kernel": 20}, good),
                                              "does not reduce"),
        "widths as floats": (with_config(tmp / "f.npz", {**cnn, "widths": [4.0, 4, 4]}, good), "widths"),
        "NaN eps": (with_config(tmp / "g.npz", {**cnn, "bn_eps": float("nan")}, good), "bn_eps"),
        "unknown dtype": (with_config(tmp / "h.npz", {**cnn, "dtype": "object"}, good), "dtype"),
        "config not JSON": (with_config(tmp / "i.npz", "{not json", good), "not valid JSON"),
        "config a JSON list": (with_config(tmp / "j.npz", [1, 2], good), "not a JSON object"),
        "config deeply nested": (with_config(tmp / "k.npz", "[" * 100000, good), "JSON"),
        "no class": (with_config(tmp / "l.npz", {"widths": [4, 4, 4]}, good), "expected CifarCNN"),
        "an MLP": (with_config(tmp / "m.npz", {"class": "MLP"}, good), "expected CifarCNN"),
        "object array": (write_npz(tmp / "n.npz", {"__config__": npy_bytes(
            header={"descr": "|O", "fortran_order": False, "shape": (1,)}, payload=b"\x80\x04N.")}),
            "Python objects"),
        "config claims 10^8 characters": (write_npz(tmp / "o.npz", {"__config__": npy_bytes(
            header={"descr": "<U100000000", "fortran_order": False, "shape": ()}, payload=b"{}")}),
            "header says"),
        "array claims 10^12 values": (with_member(tmp / "p.npz", good, "body.layers.2.W", npy_bytes(
            header={"descr": "<f4", "fortran_order": False, "shape": (10 ** 12,)}, payload=bytes(64))),
            "header says"),
        "random bytes": (tmp / "q.npz", "not a .npz file"),
        "empty": (tmp / "r.npz", "empty"),
        "a folder": (tmp / "s.npz", "is a folder"),
        "missing": (tmp / "nothing.npz", "does not exist"),
        "truncated": (tmp / "t.npz", ".npz"),
        "compressed": (tmp / "u.npz", "compressed"),
        "an array missing": (tmp / "v.npz", "missing body.layers.2.W"),
        "an array of another shape": (tmp / "w.npz", "implies"),
        "overlapping members": (tmp / "x.npz", "overlap"),
    }
    (tmp / "q.npz").write_bytes(np.random.default_rng(0).bytes(1000))
    (tmp / "r.npz").write_bytes(b"")
    (tmp / "s.npz").mkdir()
    (tmp / "t.npz").write_bytes(good.read_bytes()[:len(good.read_bytes()) // 2])
    with np.load(good) as data:
        arrays = {k: data[k] for k in data.files}
    np.savez_compressed(tmp / "u.npz", **arrays)
    write_npz(tmp / "v.npz", {k: npy_bytes(v) for k, v in arrays.items() if k != "body.layers.2.W"})
    write_npz(tmp / "w.npz", {k: npy_bytes(v if k != "body.layers.2.W" else v[:, :, :, :2])
                              for k, v in arrays.items()})
    raw = bytearray(good.read_bytes())              # point the second directory entry at the first member
    entries = [i for i in range(len(raw)) if raw[i:i + 4] == b"PK\x01\x02"]
    raw[entries[1] + 42:entries[1] + 46] = raw[entries[0] + 42:entries[0] + 46]
    (tmp / "x.npz").write_bytes(bytes(raw))
    return cases


def test_crafted_models_are_refused_by_evaluate(tmp_path, env):
    data = tmp_path / "data"
    data.mkdir()
    for name, (path, fragment) in model_cases(tmp_path).items():
        assert_refused(env, "evaluate", "cifar-cnn", "--model", path, "--data-dir", data, "--no-download",
                       fragment=fragment)


def test_a_model_of_other_classes_is_refused_before_the_data(tmp_path, env):
    path = small_model(tmp_path / "seven.npz", classes=7)
    assert_refused(env, "evaluate", "cifar-cnn", "--model", path, "--no-download", fragment="7 classes")


# -- training checkpoints ----------------------------------------------------------------------

def checkpoint_cases(tmp: Path) -> dict[str, tuple[dict | bytes, str]]:
    cfg = {"widths": [32, 96, 192], "batch_size": 512, "epochs": 7, "seed": 0, "whiten": True,
           "lookahead": True, "train_limit": None}
    return {
        "random bytes": (np.random.default_rng(1).bytes(4000), "not a .npz file"),
        "meta not JSON": ({"meta": npy_bytes(np.array("{oops"))}, "not valid JSON"),
        "no meta": ({"model/x": npy_bytes(np.zeros(3))}, "no meta record"),
        "meta without configuration": ({"meta": npy_bytes(np.array("[]"))}, "no configuration"),
        "other widths": ({"meta": npy_bytes(np.array(json.dumps({"cfg": {**cfg, "widths": [1, 2, 3]}})))},
                         "widths"),
        "epoch 10^9": ({"meta": npy_bytes(np.array(json.dumps({"cfg": cfg, "epoch": 10 ** 9, "step": 0,
                                                               "history": []})))}, "epoch"),
        "corrupt history": ({"meta": npy_bytes(np.array(json.dumps({"cfg": cfg, "epoch": 1, "step": 0,
                                                                    "history": [{"epoch": "x"}]})))}, "history"),
        "meta claims 10^8 characters": ({"meta": npy_bytes(header={"descr": "<U100000000", "fortran_order": False,
                                                                   "shape": ()}, payload=b"")}, "header says"),
    }


def test_crafted_checkpoints_are_refused_before_the_data_is_read(tmp_path, env):
    data = tmp_path / "empty-data"
    data.mkdir()
    for i, (name, (content, fragment)) in enumerate(checkpoint_cases(tmp_path).items()):
        out = tmp_path / f"run{i}"
        out.mkdir()
        if isinstance(content, bytes):
            (out / "checkpoint.npz").write_bytes(content)
        else:
            write_npz(out / "checkpoint.npz", content)
        assert_refused(env, "train", "cifar-cnn", "--out", out, "--resume", "--data-dir", data,
                       "--no-download", fragment=fragment)


# -- MNIST: IDX files and the course's CSV ---------------------------------------------------

def lying_idx(count: int = 10 ** 9) -> bytes:
    return bytes([0, 0, 8, 3]) + b"".join(n.to_bytes(4, "big") for n in (count, 28, 28)) + bytes(1000)


def test_crafted_idx_files_are_refused(tmp_path, env):
    rng = np.random.default_rng(2)
    contents = {
        "lying header": lambda stem: lying_idx(),
        "lying header, gzipped": lambda stem: gzip.compress(lying_idx()),
        "random bytes": lambda stem: rng.bytes(2000),
        "truncated gzip": lambda stem: gzip.compress(lying_idx(1) + bytes(10000))[:200],
    }
    for i, (name, make) in enumerate(contents.items()):
        folder = tmp_path / f"d{i}"
        folder.mkdir()
        for f in mnist.MNIST.files.values():
            (folder / f"{f.stem}.gz").write_bytes(make(f.stem))
        assert_refused(env, "train", "mnist-mlp", "--data-dir", folder, "--no-download", fragment="checksum")


def test_another_datasets_files_are_named_not_called_corrupt(env):
    if not (SHARED / "mnist").is_dir():
        pytest.skip("the shared MNIST files are not here")
    assert_refused(env, "train", "mnist-mlp", "--dataset", "fashion-mnist", "--data-dir", SHARED / "mnist",
                   "--no-download", fragment="is MNIST's train-images-idx3-ubyte.gz, not Fashion-MNIST's")


CSV_ROW = ",".join(["3"] + ["0"] * 784)
CSV_CASES = {
    "random bytes": (np.random.default_rng(3).bytes(3000), "line"),
    "truncated": ((CSV_ROW + "\n") * 3 + CSV_ROW[:99], "line 4: 50 values"),
    "float labels": (("3.0," + ",".join(["0"] * 784) + "\n") * 2, "label is '3.0'"),
    "label 12": (",".join(["12"] + ["0"] * 784) + "\n", "label is 12"),
    "pixel 300": (",".join(["1", "300"] + ["0"] * 783) + "\n", "pixel 1 is 300"),
    "a header only": ("label," + ",".join(f"p{i}" for i in range(784)) + "\n", "no data rows"),
    "empty": ("", "no data rows"),
    "one very long field": (",".join(["1", "x" * 100000] + ["0"] * 783) + "\n", "not an integer"),
}


def test_crafted_course_csv_files_are_refused(tmp_path, env):
    for i, (name, (content, fragment)) in enumerate(CSV_CASES.items()):
        folder = tmp_path / f"csv{i}"
        folder.mkdir()
        (folder / "mnist_train.csv").write_bytes(content if isinstance(content, bytes) else content.encode())
        (folder / "mnist_test.csv").write_text(CSV_ROW + "\n")
        assert_refused(env, "train", "mnist-mlp", "--data-dir", folder, "--no-download", fragment=fragment)


# -- CIFAR-10 archives -------------------------------------------------------------------------

def jpeg(claimed: tuple[int, int] | None = None) -> bytes:
    """A 32×32 JPEG; with ``claimed`` (width, height) its frame header lies about its size."""
    from PIL import Image
    buffer = io.BytesIO()
    Image.new("RGB", (32, 32), (200, 10, 10)).save(buffer, format="JPEG")
    raw = bytearray(buffer.getvalue())
    if claimed:
        at = raw.index(b"\xff\xc0")                       # start of frame: length, precision, height, width
        raw[at + 5:at + 9] = struct.pack(">HH", claimed[1], claimed[0])
    return bytes(raw)


def tar_with(members: dict[str, bytes], sizes: dict[str, int] | None = None) -> bytes:
    """A tar of ``members``; ``sizes`` overrides the size a member's header claims."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    raw = bytearray(buffer.getvalue())
    for name, size in (sizes or {}).items():
        at = raw.index(name.encode())                       # the member's 512-byte header
        raw[at + 124:at + 136] = f"{size:011o}\0".encode()
        checksum = sum(raw[at:at + 148]) + 8 * 32 + sum(raw[at + 156:at + 512])
        raw[at + 148:at + 156] = f"{checksum:06o}\0 ".encode()
    return bytes(raw)


def test_crafted_cifar_archives_are_refused(tmp_path, env):
    name = "cifar10-jpg/train/cat/0000.jpg"
    cases = {
        "random bytes": (cifar10.JPEG_NAME, np.random.default_rng(4).bytes(5000), "corrupt"),
        "truncated": (cifar10.JPEG_NAME, tar_with({name: jpeg()})[:700], "corrupt"),
        "a JPEG claiming 9000×9000": (cifar10.JPEG_NAME, tar_with({name: jpeg((9000, 9000))}), "not 32×32"),
        "a member claiming 8 GB": (cifar10.JPEG_NAME, tar_with({name: jpeg()}, {name: 8 << 30}), "corrupt"),
        "not a JPEG": (cifar10.JPEG_NAME, tar_with({name: b"GIF89a" + bytes(100)}), "corrupt"),
        "an unexpected member": (cifar10.JPEG_NAME, tar_with({"cifar10-jpg/val/cat/0.jpg": jpeg()}),
                                 "unexpected member"),
        "official name, random bytes": (cifar10.OFFICIAL_NAME, np.random.default_rng(5).bytes(5000), "md5"),
    }
    for i, (case, (filename, content, fragment)) in enumerate(cases.items()):
        folder = tmp_path / f"c{i}"
        folder.mkdir()
        (folder / filename).write_bytes(content)
        assert_refused(env, "train", "cifar-cnn", "--data-dir", folder, "--no-download", "--no-progress",
                       fragment=fragment)


# -- in process, with Hypothesis: any mutation is a UserError or a valid model ---------------

MUTATION_PEAK = 64 << 20


def load_or_user_error(load, path):
    """Load under tracemalloc; the error, if any, must be a one-line UserError."""
    tracemalloc.start()
    try:
        load(path)
    except UserError as err:
        assert "\n" not in str(err) and len(str(err)) < 300, str(err)
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert peak < MUTATION_PEAK, peak


@pytest.fixture(scope="module")
def valid_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("valid")
    CifarCNN((4, 4, 4)).save(folder / "cnn.npz")
    MLP(6, 4, [5], "relu").save(folder / "mlp.npz")
    return {"cnn": (folder / "cnn.npz").read_bytes(), "mlp": (folder / "mlp.npz").read_bytes()}


SLOW = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@SLOW
@given(kind=st.sampled_from(["cnn", "mlp"]), cut=st.floats(0, 1), flips=st.lists(
    st.tuples(st.floats(0, 1), st.integers(0, 255)), max_size=6))
def test_mutated_model_files_load_or_fail_cleanly(tmp_path, valid_files, kind, cut, flips):
    raw = bytearray(valid_files[kind])
    for where, value in flips:
        raw[int(where * (len(raw) - 1))] = value
    path = tmp_path / "m.npz"
    path.write_bytes(bytes(raw[:max(1, int(cut * len(raw)))] if cut < 0.5 else raw))
    load_or_user_error(CifarCNN.load if kind == "cnn" else MLP.load, path)


ANY_JSON = st.recursive(st.none() | st.booleans() | st.integers(-2 ** 70, 2 ** 70) | st.floats() | st.text(max_size=8),
                        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
                        max_leaves=8)
FIELD = st.one_of(ANY_JSON, st.integers(-5, 40), st.lists(st.integers(-5, 10 ** 6), min_size=3, max_size=3))


@SLOW
@given(fields=st.dictionaries(st.sampled_from(["widths", "classes", "whiten_kernel", "bn_momentum", "bn_eps",
                                               "frozen_bn_scale", "scaling_factor", "gelu", "init", "dtype"]),
                              FIELD, max_size=10))
def test_any_stored_cnn_configuration_loads_or_fails_cleanly(tmp_path, valid_files, fields):
    good = tmp_path / "good.npz"
    good.write_bytes(valid_files["cnn"])
    path = with_config(tmp_path / "c.npz", {"class": "CifarCNN", "widths": [4, 4, 4], **fields}, good)
    load_or_user_error(CifarCNN.load, path)


@SLOW
@given(fields=st.dictionaries(st.sampled_from(["input_size", "output_size", "hiddens", "activations", "dropout",
                                               "dtype"]), FIELD, max_size=6))
def test_any_stored_mlp_configuration_loads_or_fails_cleanly(tmp_path, valid_files, fields):
    good = tmp_path / "good.npz"
    good.write_bytes(valid_files["mlp"])
    config = {"class": "MLP", "input_size": 6, "output_size": 4, "hiddens": [5], "activations": ["relu"],
              "dtype": "float32", **fields}
    load_or_user_error(MLP.load, with_config(tmp_path / "c.npz", config, good))


@SLOW
@given(code=st.sampled_from([8, 9, 11, 12, 13, 14, 7]), dims=st.lists(st.integers(0, 2 ** 32 - 1), max_size=4),
       payload=st.binary(max_size=300), gz=st.booleans())
def test_any_idx_header_reads_or_fails_without_allocating(tmp_path, code, dims, payload, gz):
    raw = bytes([0, 0, code, len(dims)]) + b"".join(d.to_bytes(4, "big") for d in dims) + payload
    path = tmp_path / ("x.gz" if gz else "x")
    path.write_bytes(gzip.compress(raw) if gz else raw)
    load_or_user_error(read_idx, path)


def test_idx_round_trip_still_reads_real_arrays(tmp_path):
    images = np.random.default_rng(0).integers(0, 256, (5, 28, 28), dtype=np.uint8)
    np.testing.assert_array_equal(read_idx(write_idx(tmp_path / "i.gz", images)), images)


@SLOW
@given(lines=st.lists(st.text(alphabet="0123456789,.-x \t", max_size=60), max_size=5))
def test_any_csv_reads_or_fails_cleanly(tmp_path, lines):
    path = tmp_path / "mnist_train.csv"
    path.write_text("\n".join(lines))
    load_or_user_error(read_digits_csv, path)


def test_a_model_too_large_for_this_machine_is_refused_before_it_is_built(tmp_path, monkeypatch):
    from derivations.backend.nn import checkpoint
    path = small_model(tmp_path / "m.npz")
    monkeypatch.setattr(checkpoint, "machine_memory", lambda: 1 << 20)
    with pytest.raises(UserError, match=r"evaluating this 4/4/4 network would need about 0\.\d GiB, more than"):
        CifarCNN.load(path)
