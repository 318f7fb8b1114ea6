"""The command line as a user meets it: the main job, every command, every bad input."""

import json

import pytest

from helpers import assert_user_error, cli


def test_solve_problem3_runs_as_written_and_prints_a_checked_derivation():
    run = cli("solve", "problem3")
    assert run.code == 0, run.err
    assert run.out.startswith("hw3/problem3")
    for section in ("Assumptions", "Derivation", "Answers", "Checks", "σ(-z₁ + z₂)"):
        assert section in run.out
    assert "[FAIL]" not in run.out and "[pass]" in run.out


def test_bare_name_resolves_to_first_sheet_and_says_so():
    run = cli("solve", "problem2")
    assert run.code == 0
    assert run.out.startswith("hw3/problem2")


def test_unknown_problem_suggests_close_ids():
    assert_user_error(cli("solve", "hw3/problm2"), "unknown problem", "hw3/problem2")
    assert_user_error(cli("solve", "nothing-like-it"), "unknown problem")


def test_unknown_parameter_names_the_known_ones():
    assert_user_error(cli("solve", "hw3/problem2", "--set", "eta=1"), "no parameter 'eta'", "x0")


def test_wrong_kind_of_value_says_what_is_expected():
    assert_user_error(cli("solve", "hw3/problem2", "--set", "x0=abc"), "x0", "real number")
    assert_user_error(cli("solve", "hw3/problem3", "--set", "hidden_width=0"), "an integer from 1 to 1000")
    assert_user_error(cli("solve", "hw3/problem3", "--set", "hidden_width"), "NAME=VALUE")


def test_parameters_change_the_answer():
    data = json.loads(cli("solve", "hw3/problem2", "--set", "x0=-1/2", "--format", "json").out)
    assert data["parameters"]["x0"] == -0.5
    value = next(a["value"] for a in data["answers"] if a["name"] == "dy_dx_at_x0")
    assert abs(value - 0.5) < 1e-12  # 2 σ(0)(1 − σ(0))


def test_malformed_values_json_is_a_user_error():
    assert_user_error(cli("solve", "hw3/problem2", "--values", "{x: 1"), "--values is not valid JSON")
    assert_user_error(cli("solve", "hw3/problem2", "--values", "[1, 2]"), "JSON object")
    assert_user_error(cli("solve", "hw3/problem2", "--values", '{"x": "a"}'), "'x'")


def test_values_evaluate_formula_answers():
    data = json.loads(cli("solve", "hw3/problem2", "--values", '{"x": 0}', "--format", "json").out)
    value = next(a["value"] for a in data["answers"] if a["name"] == "dy_dx")
    assert abs(value - 2 * 0.7310585786300049 * (1 - 0.7310585786300049)) < 1e-12
    # σ′(h)/x, the other reading of dy/dz, has no value at x = 0: said, not a failure of the rest
    assert "divide by zero" in data["undefined"]["dy_dz_through_x"]


def test_list_shows_every_problem_with_its_kind():
    run = cli("list")
    assert run.code == 0
    assert "hw3/problem2" in run.out and "[graph + path-sum derivative]" in run.out
    assert_user_error(cli("list", "--sheet", "hw9"), "unknown sheet")


def test_check_prints_a_table_and_passes():
    run = cli("check", "hw3")
    assert run.code == 0, run.out
    assert "max error" in run.out and "FAIL" not in run.out
    assert " 0 failed" in run.out


def test_check_fits_the_terminal_width():
    for columns in (80, 120):
        run = cli("check", "hw3", "midterm", env={"COLUMNS": str(columns)})
        assert run.code == 0 and max(len(line) for line in run.out.splitlines()) <= columns
        assert "…" in run.out  # long check names are cut, not wrapped


def test_help_is_there_for_every_command():
    for command in ("list", "solve", "check", "graph", "sheet"):
        run = cli(command, "--help")
        assert run.code == 0 and "usage:" in run.out


@pytest.mark.parametrize("argv, fragment", [
    ([], "required: COMMAND"),
    (["nosuch"], "invalid choice"),
    (["solve"], "required: id"),
    (["derive", "y = x", "--nosuch"], "unrecognized arguments: --nosuch"),
    (["grade", "hw1/problem2", "--format", "xml"], "invalid choice: 'xml'"),
    (["train", "mnist-mlp", "--epochs", "two"], "invalid"),
])
def test_usage_mistakes_are_one_line_and_exit_2(argv, fragment):
    run = cli(*argv)
    assert_user_error(run, fragment, "--help")


def test_a_shape_error_says_why_without_python_internals():
    run = cli("derive", "y = dot(a, b)", "--shapes", "a: 2, b: 3")
    assert_user_error(run, "a (2×1), b (3×1)", "not aligned")
    assert "(" + "'" not in run.err  # no tuple of the exception's arguments


def test_solve_values_reach_latex_and_markdown_too():
    values = '{"v": [3, 4], "g": 2, "dL_dw": [1, 0]}'
    for fmt, shown in (("latex", r"\text{at the given values: } \left(\begin{matrix}0.6\end{matrix}\right)"),
                       ("markdown", r"at the given values: $\left(\begin{matrix}0.6\end{matrix}\right)$")):
        run = cli("solve", "midterm/problem5", "--values", values, "--format", fmt)
        assert run.code == 0 and shown in run.out and run.out.count("at the given values") == 2, fmt


def test_scalar_values_where_a_formula_is_undefined_are_said_so():
    run = cli("derive", "y = 1/x", "--at", '{"x": 0}')
    assert run.code == 0 and "Traceback" not in run.err
    assert "at the given values: not defined there (division by zero)" in run.out


def test_a_vector_output_through_a_hadamard_product_has_its_jacobian_or_a_clear_line():
    run = cli("derive", "y = hadamard(x, w)", "--shapes", "x: 3, w: 3", "--wrt", "x")
    assert run.code == 0 and "∂y/∂x = diag(w)" in run.out, run.err   # checked by finite differences
    assert_user_error(cli("derive", "y = x*s", "--shapes", "x: 3, s: 1x1", "--wrt", "x"),
                      "3×1", "L = sum(y)")


def test_derive_at_reaches_latex_and_markdown():
    for fmt in ("latex", "markdown"):
        run = cli("derive", "y = 1/x", "--at", '{"x": 2}', "--format", fmt)
        assert run.code == 0 and run.out.count("at the given values") == 2 and "-0.25" in run.out, fmt
