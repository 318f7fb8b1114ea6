"""The README stays true: its set-up commands and its worked problem template."""

import importlib.util
import re
from pathlib import Path

import shlex

import pytest
import sympy as sp
from conftest import require_program
from helpers import cli

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


def test_readme_starts_with_the_two_setup_commands():
    blocks = re.findall(r"```bash\n(.*?)```", README, re.S)
    assert "python -m derivations solve problem3" in blocks[0]
    assert "python -m pytest" in blocks[1]
    ci = (Path(__file__).resolve().parents[1] / ".ci" / "run").read_text()
    assert blocks[1].strip() in ci, "CI must run the README's test command"


def test_problem_template_solves_and_its_check_catches_a_wrong_answer(tmp_path):
    code = next(b for b in re.findall(r"```python\n(.*?)```", README, re.S) if "PROBLEM =" in b)
    path = tmp_path / "template_problem.py"
    path.write_text(code)
    spec = importlib.util.spec_from_file_location("template_problem", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    solution = module.PROBLEM.solve()
    assert all(r.passed for r in solution.run_checks())
    solution.answers[0].value = solution.answers[0].value + sp.Integer(1)
    assert [r.kind for r in solution.run_checks() if not r.passed] == ["answer"]
    solution.answers[0].value = solution.answers[0].value - sp.Integer(1)
    solution.steps[0].rhs = 2 * solution.steps[0].rhs
    assert [r.kind for r in solution.run_checks() if not r.passed] == ["step"]


def console_examples():
    """Each ``$ python -m derivations …`` example of the README with the output lines it shows
    (``...`` elides). Training and evaluation need the datasets and minutes: the backend's own
    tests run those commands on small settings."""
    examples = []
    for block in re.findall(r"```console\n(.*?)```", README, re.S):
        for chunk in re.split(r"^\$ ", block, flags=re.M)[1:]:
            lines = chunk.splitlines()
            command = lines.pop(0)
            while command.endswith("\\") or command.count("'") % 2:  # continued, or inside quotes
                command = command.removesuffix("\\") + " " + lines.pop(0)
            argv = shlex.split(command)
            if argv[:3] == ["python", "-m", "derivations"] and argv[3] not in ("train", "evaluate"):
                examples.append(pytest.param(argv[3:], [line for line in lines if line.strip() != "..."],
                                             id=" ".join(argv[3:5])))
    return examples


@pytest.mark.parametrize("argv, shown", console_examples())
def test_console_example_runs_and_prints_what_the_readme_shows(tmp_path, argv, shown):
    if "--pdf" in argv:
        require_program("pdflatex")
    run = cli(*argv, cwd=tmp_path)
    assert run.code == 0, run.err
    printed = {" ".join(line.split()) for line in run.out.splitlines()}
    for line in shown:
        assert " ".join(line.split()) in printed, line


def test_python_api_example_runs():
    code = next(b for b in re.findall(r"```python\n(.*?)```", README, re.S) if "derivations.solve(" in b)
    namespace = {}
    exec(compile(code, "README.md", "exec"), namespace)  # the README's own example, as a reader runs it
    worked = namespace["worked"]
    assert worked.passed and namespace["key"].startswith(r"\documentclass")
    assert "<svg" in worked._repr_svg_() and worked._repr_markdown_().startswith("## hw3/problem2")


def test_answer_table_names_every_answer_of_every_problem():
    """The README's answer-name table is the contract scripts read: each row lists its problem's
    answers (a range `a1` … `a4` covers the names between)."""
    from derivations.core import registry

    rows = {line.split("|")[1].strip(): line for line in README.splitlines() if re.match(r"\| \w+/problem\d+ \|", line)}
    for problem_id in registry.problem_ids():
        assert problem_id in rows, f"README has no answer row for {problem_id}"
        listed = set(re.findall(r"`(\w+)`", rows[problem_id]))
        stems = {re.sub(r"\d+(_\w+)?$", "", name) for name in listed} if "…" in rows[problem_id] else set()
        for answer in registry.load(problem_id).solve().answers:
            assert answer.name in listed or re.sub(r"\d+(_\w+)?$", "", answer.name) in stems, (problem_id, answer.name)
