"""The course's MNIST CSV files: reading, finding, and one clear error per kind of bad line."""

from __future__ import annotations

import numpy as np
import pytest

from derivations.backend.datasets.digits_csv import find_csv, read_digits_csv, write_digits_csv
from derivations.core.errors import UserError

GOOD = ",".join(["3"] + ["0"] * 783 + ["255"])


def test_round_trip_gives_uint8_images_and_int64_labels(tmp_path):
    rng = np.random.default_rng(0)
    images, labels = rng.integers(0, 256, (5, 28, 28), dtype=np.uint8), np.array([0, 9, 3, 3, 1])
    images_read, labels_read = read_digits_csv(write_digits_csv(tmp_path / "d.csv", images, labels))
    assert images_read.dtype == np.uint8 and labels_read.dtype == np.int64
    np.testing.assert_array_equal(images_read, images)
    np.testing.assert_array_equal(labels_read, labels)


def test_crlf_blank_lines_and_a_header_line_are_accepted(tmp_path):
    header = "label," + ",".join(f"{r}x{c}" for r in range(1, 29) for c in range(1, 29))
    path = tmp_path / "d.csv"
    path.write_text(f"{header}\r\n{GOOD}\r\n\r\n{GOOD}\r\n")
    images, labels = read_digits_csv(path)
    assert labels.tolist() == [3, 3] and images[0, 27, 27] == 255


@pytest.mark.parametrize("bad_line,message", [
    (",".join(["3"] + ["0"] * 783), "line 2: 784 values; expected 785"),
    (GOOD + ",0", "line 2: 786 values; expected 785"),
    (GOOD.replace(",0", ",256", 1), "line 2: pixel 1 is 256, outside 0–255"),
    (GOOD.replace(",0", ",-1", 1), "line 2: pixel 1 is -1, outside 0–255"),
    (GOOD.replace(",0", ",x", 1), "line 2: pixel 1 is 'x', not an integer"),
    (GOOD.replace(",0", ",", 1), "line 2: pixel 1 is '', not an integer"),
    (GOOD.replace(",0", ",0.5", 1), "line 2: pixel 1 is '0.5', not an integer"),
    ("12" + GOOD[1:], "line 2: label is 12, outside 0–9"),
])
def test_a_malformed_line_is_named_with_what_is_wrong(tmp_path, bad_line, message):
    path = tmp_path / "d.csv"
    path.write_text(f"{GOOD}\n{bad_line}\n{GOOD}\n")
    with pytest.raises(UserError, match=message):
        read_digits_csv(path)


def test_missing_empty_and_binary_files_are_clear_errors(tmp_path):
    with pytest.raises(UserError, match="does not exist"):
        read_digits_csv(tmp_path / "nope.csv")
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(UserError, match="no data rows"):
        read_digits_csv(tmp_path / "empty.csv")
    (tmp_path / "bin.csv").write_bytes(bytes(range(256)) * 4)
    with pytest.raises(UserError, match=r"bin.csv, line \d+: "):
        read_digits_csv(tmp_path / "bin.csv")


def test_find_csv_looks_in_the_folder_and_in_mnist_inside_it(tmp_path):
    assert find_csv(tmp_path) is None
    for name in ("mnist_train.csv", "mnist_test.csv"):
        (tmp_path / "mnist").mkdir(exist_ok=True)
        (tmp_path / "mnist" / name).write_text(GOOD + "\n")
    assert find_csv(tmp_path) == {"train": tmp_path / "mnist" / "mnist_train.csv",
                                  "test": tmp_path / "mnist" / "mnist_test.csv"}
