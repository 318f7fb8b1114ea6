"""Answer files, weights and batch grading: a folder or a CSV of students -> table and histogram."""

from __future__ import annotations

import json
import time

from derivations.grade.answers import read_file
from helpers import assert_user_error, cli_in_process

KEY = "relu(W1 @ x + b1) @ dl_dyhat @ dyhat_dz3"
TRANSPOSE = "dyhat_dz3^T @ dl_dyhat^T @ relu(W1 @ x + b1)^T"


def test_answer_files_in_every_format_carry_weights(tmp_path):
    (tmp_path / "a.json").write_text(json.dumps({"dl_dW2": {"answer": KEY, "weight": 3}, "dl_db2": "dl_dyhat"}))
    (tmp_path / "a.txt").write_text(f"# student 1\ndl_dW2 = {KEY} ; weight = 3\ndl_db2 = dl_dyhat\n")
    (tmp_path / "a.yaml").write_text(f"dl_dW2:\n  answer: {KEY}\n  weight: 3\ndl_db2: dl_dyhat\n")
    expected = {"dl_dW2": (KEY, 3.0), "dl_db2": ("dl_dyhat", 1.0)}
    for name in ("a.json", "a.txt", "a.yaml"):
        assert read_file(tmp_path / name) == expected


def test_single_file_score_is_the_weighted_mean(tmp_path, capsys):
    path = tmp_path / "a.txt"
    path.write_text(f"dl_dW2 = {TRANSPOSE} ; weight = 3\ndl_db2 = dl_dyhat @ dyhat_dz3\n")
    run = cli_in_process(capsys, "grade", "hw1/problem2", "--answers", str(path), "--format", "json")
    report = json.loads(run.out)
    assert abs(report["score"] - (3 * 0.5 + 1) / 4) < 1e-9


def test_a_folder_of_students_gives_a_table_and_a_histogram(tmp_path, capsys):
    forms = [KEY, TRANSPOSE, "-" + KEY, "x", "W1 @@ x"]
    for i in range(20):
        (tmp_path / f"s{i:02d}.json").write_text(json.dumps({"dl_dW2": forms[i % len(forms)]}))
    (tmp_path / "broken.json").write_text("{not json")
    start = time.perf_counter()
    run = cli_in_process(capsys, "grade", "hw1/problem2", "--answers-dir", str(tmp_path))
    assert run.code == 0 and time.perf_counter() - start < 30
    assert "broken: not graded" in run.out
    histogram = run.out.split("diagnoses per question:")[1].splitlines()
    row = next(line.split() for line in histogram if line.startswith("dl_dW2"))
    header = histogram[1].split()
    counts = dict(zip(header[1:], row[1:]))
    assert counts["transpose"] == counts["sign"] == counts["wrong-shape"] == counts["invalid"] == "4"
    run = cli_in_process(capsys, "grade", "hw1/problem2", "--answers-dir", str(tmp_path), "--format", "csv")
    lines = run.out.splitlines()
    assert lines[0].startswith("student,score,error,dl_dW2:status") and len(lines) == 22


def test_a_csv_of_students_and_missing_answers(tmp_path, capsys):
    path = tmp_path / "class.csv"
    path.write_text(f'student,dl_dW2,dl_db2\nann,"{KEY}",dl_dyhat @ dyhat_dz3\nbob,"{TRANSPOSE}",\n')
    run = cli_in_process(capsys, "grade", "hw1/problem2", "--answers", str(path), "--format", "json")
    data = json.loads(run.out)
    scores = {s["student"]: s["score"] for s in data["students"]}
    assert scores == {"ann": 1.0, "bob": 0.25}
    assert data["histogram"]["dl_db2"] == {"exact": 1, "missing": 1}


def test_the_histogram_chart_of_a_class(tmp_path, capsys):
    from PIL import Image

    from derivations.grade.batch import histogram

    forms = [KEY, TRANSPOSE, "-" + KEY]
    folder = tmp_path / "class"
    folder.mkdir()
    for i in range(9):
        (folder / f"s{i}.json").write_text(json.dumps({"dl_dW2": forms[i % 3]}))
    chart = tmp_path / "hist.png"
    run = cli_in_process(capsys, "grade", "hw1/problem2", "--answers-dir", str(folder), "--chart", str(chart),
                         "--format", "json")
    assert run.code == 0 and json.loads(run.out)["histogram"]["dl_dW2"] == {"equivalent-form": 3, "transpose": 3, "sign": 3}
    assert f"wrote {chart}" in run.err
    with Image.open(chart) as image:
        assert image.format == "PNG" and image.size[0] > 600
    assert histogram(["q"], []) == {"q": {}}
    for args, fragment in [(["--answer", f"dl_dW2={KEY}", "--chart", str(chart)], "goes with"),
                           (["--answers-dir", str(folder), "--chart", str(tmp_path / "h.jpg")], ".png"),
                           (["--answers-dir", str(folder), "--chart", str(tmp_path / "no" / "h.png")], "does not exist")]:
        assert_user_error(cli_in_process(capsys, "grade", "hw1/problem2", *args), fragment)


def test_answer_names_are_checked_once_and_kept_short(tmp_path, capsys):
    assert_user_error(cli_in_process(capsys, "grade", "hw1/problem2", "--answer", "dl_db2=1", "--answer", "dl_db2=2"),
                      "given twice")
    assert_user_error(cli_in_process(capsys, "grade", "hw1/problem2", "--answer", "dl_db2=1", "--weight", "nope=2"),
                      "--weight nope", "dl_db2")
    run = cli_in_process(capsys, "grade", "hw1/problem2", "--answer", "a" * 100_000 + "=1")
    assert_user_error(run, "longer than 60")
    assert len(run.err) < 300
    (tmp_path / "long.json").write_text(json.dumps({"b" * 5000: "1"}))
    assert_user_error(cli_in_process(capsys, "grade", "hw1/problem2", "--answers", str(tmp_path / "long.json")),
                      "longer than 60")
