"""``solve --format json`` is a contract for scripts: pin its keys and types for every problem."""

import json

import pytest

from derivations.core import registry
from helpers import cli


@pytest.mark.parametrize("problem_id", registry.problem_ids())
def test_json_has_the_documented_shape(problem_id):
    run = cli("solve", problem_id, "--format", "json")
    assert run.code == 0, run.err
    data = json.loads(run.out)
    assert set(data) == {"id", "title", "parameters", "assumptions", "answers", "checks"}
    assert data["id"] == problem_id and data["title"]
    assert isinstance(data["parameters"], dict)
    assert all(isinstance(a, str) for a in data["assumptions"])
    assert data["answers"] and data["checks"]
    for answer in data["answers"]:
        assert set(answer) == {"name", "latex", "value", "text"}
        assert answer["value"] is None or isinstance(answer["value"], (int, float, list))
        assert answer["latex"] or answer["text"]
        assert answer["latex"].isascii(), answer["latex"]  # pdflatex needs no Unicode in math
    for check in data["checks"]:
        assert {"name", "passed", "max_abs_error"} <= set(check)
        assert check["passed"] is True


@pytest.mark.parametrize("problem_id", registry.problem_ids())
def test_latex_fragment_is_plain_ascii(problem_id):
    """pdflatex reads ASCII: every character of prose and formulas must have a LaTeX spelling."""
    from derivations.render.sheet import problem_fragment

    solution = registry.load(problem_id).solve()
    assert problem_fragment(solution, solution.run_checks()).isascii()
