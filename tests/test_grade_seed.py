"""Grading by seed (#17): ``grade ID --seed N`` judges against variant N's key, in single and
batch grading, and a seed that does not fit is one clear line."""

from __future__ import annotations

import json

import pytest

from derivations.core import registry
from derivations.core.errors import UserError
from derivations.grade.equivalence import close
from derivations.grade.grader import Grader
from derivations.grade.parse import parse_answer, to_text
from derivations.variants import can_vary
from helpers import assert_user_error, cli_in_process

SEED = 7
VARYING = [pid for pid in registry.problem_ids() if can_vary(registry.load(pid))]


def spelled_keys(grader: Grader):
    """(name, key, the key as answer text) of every answer the answer language can spell: not
    an entrywise σ(1 − σ), nor a table holding a number below the parser's 10^-100 (a student
    types 0 there, which is accepted)."""
    for name in grader.gradable():
        key = grader.key(name)
        try:
            text = to_text(key.value)
            parse_answer(text, grader.table)
        except (ValueError, UserError):
            continue
        yield name, key, text


@pytest.mark.parametrize("problem_id", VARYING)
def test_a_variant_key_is_accepted_and_the_stated_problems_key_is_not(problem_id):
    """Under --seed, the variant's own key is correct; the default key is incorrect wherever
    the variant's numbers differ from it (so the seed really selects the key)."""
    stated, seeded = Grader(problem_id), Grader(problem_id, seed=SEED)
    assert seeded.seed == SEED and seeded.solution.parameters != stated.solution.parameters
    graded = 0
    for name, key, text in spelled_keys(seeded):
        assert seeded.grade(name, text).status == "correct", (name, text)
        graded += 1
        if name not in stated.gradable():
            continue  # the variant asks for an answer the stated problem has not (e.g. a bias)
        other = stated.key(name)
        if not close(other.arrays, key.arrays, key.tolerance or seeded.tolerance, key.floor):
            assert seeded.grade(name, to_text(other.value)).status == "incorrect", name
    assert graded > 0


def test_most_varying_problems_change_a_gradable_answer():
    """Guards the test above against passing because no variant changes a key."""
    changed = 0
    for problem_id in VARYING:
        stated, seeded = Grader(problem_id), Grader(problem_id, seed=SEED)
        changed += any(n not in stated.gradable()
                       or not close(stated.key(n).arrays, k.arrays, k.tolerance or seeded.tolerance, k.floor)
                       for n, k, _ in spelled_keys(seeded))
    assert changed >= 2 * len(VARYING) // 3, (changed, len(VARYING))  # 14 of 18 today


def test_cli_seed_names_the_variant_and_grades_against_it(capsys):
    key = to_text(Grader("a1/problem1", seed=SEED).key("c_gd_x").value)
    run = cli_in_process(capsys, "grade", "a1/problem1", "--seed", str(SEED), "--answer", f"c_gd_x={key}",
                         "--format", "json")
    report = json.loads(run.out)
    assert run.code == 0 and report["seed"] == SEED and report["answers"][0]["status"] == "correct"
    run = cli_in_process(capsys, "grade", "a1/problem1", "--answer", f"c_gd_x={key}")
    assert run.code == 0 and "incorrect" in run.out and "seed" not in run.out.splitlines()[0]


def test_an_answer_file_carries_its_seed(tmp_path, capsys):
    key = to_text(Grader("a1/problem1", seed=SEED).key("c_gd_x").value)
    path = tmp_path / "ann.txt"
    path.write_text(f"seed = {SEED}\nc_gd_x = {key}\n")
    run = cli_in_process(capsys, "grade", "a1/problem1", "--answers", str(path))
    assert run.code == 0 and f"seed {SEED}" in run.out and "score: 1.00" in run.out
    assert_user_error(cli_in_process(capsys, "grade", "a1/problem1", "--answers", str(path), "--seed", "8"),
                      "differ")
    assert_user_error(cli_in_process(capsys, "grade", "a1/problem1", "--answer", "seed=7"), "no answers given")


def test_a_class_graded_by_each_students_seed(tmp_path, capsys):
    """A folder where each file names its student's seed, and the same class as a CSV with a
    seed column: each student is judged against their own variant."""
    seeds = [3, 11, 12]
    keys = {s: to_text(Grader("a1/problem1", seed=s).key("c_gd_x").value) for s in seeds}
    folder = tmp_path / "class"
    folder.mkdir()
    for s in seeds:  # each student wrote their own key; 'swap' wrote seed 3's key under seed 11
        (folder / f"s{s}.json").write_text(json.dumps({"seed": s, "answers": {"c_gd_x": keys[s]}}))
    (folder / "swap.json").write_text(json.dumps({"seed": 11, "c_gd_x": keys[3]}))
    (folder / "badseed.json").write_text(json.dumps({"seed": "x", "c_gd_x": keys[3]}))
    run = cli_in_process(capsys, "grade", "a1/problem1", "--answers-dir", str(folder), "--format", "json")
    students = {s["student"]: s for s in json.loads(run.out)["students"]}
    assert run.code == 0
    assert {students[f"s{s}"]["seed"] for s in seeds} == set(seeds)
    assert all(students[f"s{s}"]["score"] == 1.0 for s in seeds)
    assert students["swap"]["seed"] == 11 and students["swap"]["score"] == 0.0
    assert "seed" in students["badseed"]["error"]
    run = cli_in_process(capsys, "grade", "a1/problem1", "--answers-dir", str(folder), "--seed", "3", "--format", "json")
    students = {s["student"]: s for s in json.loads(run.out)["students"]}
    assert students["s3"]["score"] == 1.0 and "--seed 3 was given" in students["s11"]["error"]
    table = tmp_path / "class.csv"
    table.write_text("student,seed,c_gd_x\n" + "".join(f's{s},{s},"{keys[s]}"\n' for s in seeds)
                     + f'swap,11,"{keys[3]}"\n')
    run = cli_in_process(capsys, "grade", "a1/problem1", "--answers", str(table), "--format", "csv")
    lines = run.out.splitlines()
    assert lines[0].startswith("student,seed,score,error,c_gd_x:status")
    assert [line.split(",")[:3] for line in lines[1:]] == [["s3", "3", "1.0"], ["s11", "11", "1.0"],
                                                          ["s12", "12", "1.0"], ["swap", "11", "0.0"]]


@pytest.mark.parametrize("args, fragment", [
    (["--seed", "-1"], "--seed"),
    (["--seed", "1e3"], "--seed"),
    (["--seed", "3", "--set", "eta_a=1/10"], "cannot be combined"),
    (["--seed", str(2**64)], "--seed"),
])
def test_bad_seeds_are_one_clear_line(capsys, args, fragment):
    assert_user_error(cli_in_process(capsys, "grade", "a1/problem1", "--answer", "c_gd_x=1", *args), fragment)

