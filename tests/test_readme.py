"""The README stays true: its set-up commands and its worked problem template."""

import importlib.util
import re
from pathlib import Path

import sympy as sp

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


def test_readme_starts_with_the_two_setup_commands():
    blocks = re.findall(r"```bash\n(.*?)```", README, re.S)
    assert "python -m derivations solve problem3" in blocks[0]
    assert "python -m pytest" in blocks[1]
    ci = (Path(__file__).resolve().parents[1] / ".ci" / "run").read_text()
    assert blocks[1].strip() in ci, "CI must run the README's test command"


def test_problem_template_solves_and_its_check_catches_a_wrong_answer(tmp_path):
    code = re.search(r"```python\n(.*?)```", README, re.S).group(1)
    path = tmp_path / "template_problem.py"
    path.write_text(code)
    spec = importlib.util.spec_from_file_location("template_problem", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    solution = module.PROBLEM.solve()
    assert all(r.passed for r in solution.run_checks())
    solution.answers[0].value = solution.answers[0].value + sp.Integer(1)
    assert not any(r.passed for r in solution.run_checks())
