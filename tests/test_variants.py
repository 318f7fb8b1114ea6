"""Seeded variants (#17): every problem's variants pass their checks, their checks still catch
wrong answers, one seed gives one variant everywhere, and a class set repeats none.

The check part runs 50 seeds per problem and, for each, makes every answer wrong at once: every
answer check must then fail. The mutation part, one wrong answer or step at a time, runs 5 seeds
per problem (it re-runs every check once per answer, so 50 seeds would take minutes)."""

import json

import numpy as np
import pytest

from derivations.core import registry
from derivations.core.errors import UserError
from derivations.core.model import Param, Problem
from derivations.variants import MAX_VARIANTS, class_set, draw, generator
from helpers import assert_user_error, cli, cli_in_process
from test_mutations import checked, mutate

IDS = registry.problem_ids()
CHECK_SEEDS = range(50)
MUTATION_SEEDS = range(100, 105)


@pytest.mark.parametrize("problem_id", IDS)
def test_fifty_seeds_give_variants_whose_checks_all_pass(problem_id):
    problem = registry.load(problem_id)
    identities = set()
    for seed in CHECK_SEEDS:
        variant = draw(problem, seed)
        assert variant.results and all(r.passed for r in variant.results), (seed, variant.identity)
        solution = variant.solution  # every answer wrong at once: every answer check of this variant fails
        for answer in checked(solution):
            answer.value = mutate(answer.value)
        answer_checks = {c.name for c in solution.checks}
        passing = [r.name for r in solution.run_checks() if r.passed and r.name in answer_checks]
        assert not passing, f"seed {seed}: checks that pass with every answer wrong: {passing}"
        assert variant.identity != json.dumps({}), "a variant shows no values"
        identities.add(variant.identity)
    assert len(identities) >= 30, f"{len(identities)} distinct questions in 50 seeds: too few for a class of 30"


@pytest.mark.parametrize("problem_id", IDS)
def test_checks_of_variants_still_catch_wrong_answers(problem_id):
    problem = registry.load(problem_id)
    for seed in MUTATION_SEEDS:
        solution = draw(problem, seed).solution
        for answer in checked(solution):
            original = answer.value
            answer.value = mutate(original)
            assert not all(r.passed for r in solution.run_checks()), f"seed {seed}: no check catches a wrong {answer.name}"
            answer.value = original
        for step in [s for s in solution.steps if s.check is not None]:
            original = step.rhs
            step.rhs = mutate(original)
            assert not all(c.run({}).passed for c in solution.step_checks()), f"seed {seed}: wrong step {step.lhs}"
            step.rhs = original


@pytest.mark.parametrize("problem_id", IDS)
def test_the_same_seed_gives_the_same_variant(problem_id):
    problem = registry.load(problem_id)
    assert draw(problem, 3).identity == draw(problem, 3).identity


def test_the_generator_mixes_in_the_problem_id_stably():
    """Pinned numbers: the stream depends on the seed and the id only (no salted ``hash``)."""
    assert generator("hw1/problem2", 7).integers(1000, size=3).tolist() == \
        generator("hw1/problem2", 7).integers(1000, size=3).tolist()
    assert generator("hw1/problem2", 7).integers(10**9) != generator("hw1/problem3", 7).integers(10**9)


@pytest.mark.parametrize("problem_id", ["midterm/problem3", "midterm/problem2"])
def test_two_runs_with_the_same_seed_are_byte_identical(problem_id):
    """Two processes with different string hashing (set order) print the same bytes; midterm/problem2
    builds a graph, whose node order once followed a set's."""
    first, second = (cli("variant", problem_id, "--seed", "11", env={"PYTHONHASHSEED": str(h)}) for h in (1, 2))
    assert first.code == 0, first.err
    assert first.out == second.out


def test_a_class_set_of_thirty_repeats_no_variant():
    students = class_set(registry.load_sheet("hw3"), 30, 5)
    assert len({seed for seed, _ in students}) == 30
    for column in zip(*(variants for _, variants in students)):
        assert len({v.identity for v in column}) == 30, column[0].problem.id


def test_hw1_problem2_variant_differs_and_its_key_agrees_with_autograd(capsys):
    torch = pytest.importorskip("torch")
    run = cli_in_process(capsys, "variant", "hw1/problem2", "--seed", "7", "--format", "json")
    assert run.code == 0, run.err
    data = json.loads(run.out)
    inputs = {name: np.array(json.loads(text), dtype=float) for name, text in data["values"].items()
              if name not in ("f", "g")}
    n, m, k = inputs["x"].shape[0], inputs["W1"].shape[0], inputs["y"].shape[0]
    assert len({n, m, k}) == 3, "sizes must be distinct so a transpose cannot hide"
    assert (data["values"]["f"], data["values"]["g"]) != ("relu", "identity") or (n, m, k) != (3, 4, 2)
    acts = {"relu": torch.relu, "sigmoid": torch.sigmoid, "identity": lambda t: t}
    t = {name: torch.tensor(value, dtype=torch.float64, requires_grad=True) for name, value in inputs.items()}
    yhat = acts[data["values"]["g"]](t["W2"] @ acts[data["values"]["f"]](t["W1"] @ t["x"] + t["b1"]) + t["b2"])
    ((yhat - t["y"]) ** 2).sum().backward()
    answers = {a["name"]: a["value"] for a in data["key"]["answers"]}
    for name in ("W1", "b1", "W2", "b2"):
        # numerator layout: ∂ℓ/∂W is the transpose of W.grad
        assert np.allclose(np.array(answers[f"dl_d{name}"], dtype=float), t[name].grad.numpy().T, atol=1e-9), name


def test_variant_text_shows_the_values_and_a_checked_key():
    run = cli("variant", "midterm/problem3", "--seed", "2")
    assert run.code == 0, run.err
    assert "Values of this version:" in run.out and "Key" in run.out and "[FAIL]" not in run.out
    assert "32×32 RGB" not in run.out.split("Key")[0], "the statement keeps the default's numbers"


@pytest.mark.parametrize("args, fragment", [
    (("variant", "hw3/problem2", "--seed", "seven"), "--seed must be a whole number"),
    (("variant", "hw3/problem2", "--seed", "-1"), "--seed must be a whole number"),
    (("variant", "hw3/problem2", "--seed", "1_000"), "--seed must be a whole number"),
    (("variant", "hw3/problem2", "--seed", "٣"), "--seed must be a whole number"),
    (("variant", "hw3/problem2", "--seed", str(2**63)), "--seed must be a whole number"),
    (("variant", "hw3/problem2", "--seed", "9" * 5000), "--seed must be a whole number"),
    (("check", "hw3/problem2", "--variants", str(MAX_VARIANTS + 1)), "--variants must be a whole number"),
    (("check", "hw3/problem2", "--seed", "3"), "--seed goes with --variants"),
])
def test_bad_input_is_one_clear_line(capsys, args, fragment):
    assert_user_error(cli_in_process(capsys, *args), fragment)


def test_a_problem_that_cannot_vary_says_so():
    fixed = Problem("x/fixed", "t", "k", "s", lambda p, sol: None, (Param("a", 1, "a"),))
    with pytest.raises(UserError, match="x/fixed cannot vary"):
        draw(fixed, 0)


def test_class_set_sheet_writes_question_sheets_key_and_seed_csv(tmp_path, capsys):
    run = cli_in_process(capsys, "sheet", "a1", "--variants", "3", "--seed", "4", "--out", str(tmp_path))
    assert run.code == 0, run.err
    rows = (tmp_path / "a1-students.csv").read_text().splitlines()
    assert rows[0] == "student,seed" and len(rows) == 4
    seed = rows[1].split(",")[1]
    sheet = (tmp_path / "a1-student-1.tex").read_text()
    assert f"seed {seed}" in sheet and "Answers" not in sheet and "Derivation" not in sheet
    assert (tmp_path / "a1-key.tex").read_text().count(r"\paragraph{Answers.}") == 3 * 4


def test_every_format_of_a_variant_key_has_its_numbers(capsys):
    """The key evaluates its formula answers at the variant's own drawn inputs, in text, Markdown
    and LaTeX alike, and only those (a number answer needs no repeating)."""
    variant = draw(registry.load("hw1/problem2"), 7)
    numbers = variant.numbers()
    assert numbers and "dl_dW2" in numbers and "a1_zero_grad" not in numbers
    for fmt in ("text", "markdown", "latex"):
        run = cli_in_process(capsys, "variant", "hw1/problem2", "--seed", "7", "--format", fmt)
        assert run.code == 0 and run.out.count("at the given values") == len(numbers), fmt


def test_a_class_set_with_number_inputs_shows_them_and_never_a_check_seed(tmp_path, capsys):
    run = cli_in_process(capsys, "sheet", "midterm", "--variants", "2", "--seed", "3", "--out", str(tmp_path))
    assert run.code == 0, run.err
    sheet = (tmp_path / "midterm-student-1.tex").read_text()
    assert r"\item y = " in sheet and r"\item g = " in sheet          # midterm/problem2 and 5 draw numbers
    from derivations.render.sheet import tex_text

    hidden = [p.help for problem in registry.load_sheet("midterm") for p in problem.params if not p.shown]
    assert hidden and not any(tex_text(text) in sheet for text in hidden)  # no seed of the check points
    assert (tmp_path / "midterm-key.tex").read_text().count("at the given values") >= 2 * 3


@pytest.mark.parametrize("problem_id", IDS)
def test_a_value_the_question_does_not_show_changes_no_answer(problem_id):
    """A parameter marked shown=False (a seed of the check points) must leave every answer as it
    is: otherwise two students shown the same question would be graded against different keys."""
    from derivations.render.report import solution_dict

    problem = registry.load(problem_id)
    for param in (p for p in problem.params if not p.shown):
        keys = [json.dumps(solution_dict(problem.solve({param.name: v}), [])["answers"], sort_keys=True)
                for v in (1, 2)]
        assert keys[0] == keys[1], f"{param.name} changes the answers: show it"


def test_midterm_problem2_variants_never_have_an_all_zero_key():
    """ŷ = y would make every gradient of the key zero: such a draw is redrawn."""
    for seed in range(20):
        numbers = draw(registry.load("midterm/problem2"), seed).numbers()
        assert any(np.any(np.asarray(v, dtype=float)) for k, v in numbers.items() if k.startswith("dL_d")), seed
