"""midterm/problem3: CNN shapes, receptive field and parameter counts."""

import json
import subprocess
import sys

import pytest

from derivations.core import registry

SHAPES = [(32, 32, 32), (32, 32, 32), (32, 32, 32), (16, 16, 32), (16, 16, 64), (16, 16, 64), (16, 16, 64),
          (8, 8, 64), (8, 8, 100)]
NO_PADDING = [(28, 28, 32), (28, 28, 32), (28, 28, 32), (14, 14, 32), (12, 12, 64), (12, 12, 64), (12, 12, 64),
              (6, 6, 64), (6, 6, 100)]
SIGMOID = [(32, 32, 32), (32, 32, 32), (16, 16, 32), (16, 16, 64), (16, 16, 64), (8, 8, 64), (8, 8, 100)]
# Hand counts: conv k·k·C_in·C_out + C_out, batch norm 2C.
LAYER_PARAMS = [5 * 5 * 3 * 32 + 32, 0, 2 * 32, 0, 3 * 3 * 32 * 64 + 64, 0, 2 * 64, 0, 1 * 1 * 64 * 100 + 100]


@pytest.fixture(scope="module")
def answers():
    return registry.load("midterm/problem3").solve().answer_values()


def test_shapes(answers):
    assert answers["shapes"] == SHAPES
    assert answers["output_shape"] == (8, 8, 100)
    assert answers["shapes_no_padding"] == NO_PADDING
    assert answers["shapes_sigmoid_no_bn"] == SIGMOID


def test_receptive_field(answers):
    # 1 → 5 (conv 5) → 6 (pool, jump 2) → 10 (conv 3 at jump 2) → 12 (pool, jump 4) → 12 (1×1 conv)
    assert answers["receptive_field"] == 12


def test_parameter_counts(answers):
    assert answers["softmax_params_flat"] == 8 * 8 * 100 * 10 + 10 == 64010
    assert answers["softmax_params_gap"] == 100 * 10 + 10 == 1010
    assert answers["layer_params"] == LAYER_PARAMS
    assert answers["network_params"] == sum(LAYER_PARAMS) == 27620


def test_classifier_without_bias():
    answers = registry.load("midterm/problem3").solve({"classifier_bias": False}).answer_values()
    assert answers["softmax_params_flat"] == 64000 and answers["softmax_params_gap"] == 1000


def test_all_checks_pass():
    results = registry.load("midterm/problem3").solve().run_checks()
    assert [r.kind for r in results].count("answer") == 9 and all(r.passed for r in results)
    assert [r.kind for r in results].count("step") == 14


def _wrong(value):
    if isinstance(value, tuple):
        return (value[0] + 1,) + value[1:]
    if isinstance(value, list):
        return [_wrong(value[0])] + value[1:]
    return value + 1


def test_every_check_fails_for_a_wrong_answer():
    solution = registry.load("midterm/problem3").solve()
    caught = set()
    for answer in solution.answers:
        good = answer.value
        for bad in (_wrong(good), good[:-1] if isinstance(good, list) else None):
            if bad is None:
                continue
            answer.value = bad
            failed = [r.name for r in solution.run_checks() if not r.passed]
            assert failed, f"no check caught a wrong {answer.name}: {bad}"
            caught.update(failed)
        answer.value = good
    assert caught == {c.name for c in solution.checks}    # every check fails for some wrong answer
    assert all(r.passed for r in solution.run_checks())


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "derivations", "solve", "midterm/problem3", *args],
                          capture_output=True, text=True, timeout=60)


def test_cli_json_values_are_nested_int_lists():
    done = run_cli("--format", "json")
    assert done.returncode == 0, done.stderr
    values = {a["name"]: a["value"] for a in json.loads(done.stdout)["answers"]}
    assert values["shapes"] == [list(s) for s in SHAPES]
    assert values["receptive_field"] == 12
    assert values["softmax_params_flat"] == 64010 and values["softmax_params_gap"] == 1010


def test_cli_set_input_size_and_classes():
    done = run_cli("--set", "height=64", "--set", "width=48", "--set", "classes=5", "--format", "json")
    assert done.returncode == 0, done.stderr
    values = {a["name"]: a["value"] for a in json.loads(done.stdout)["answers"]}
    assert values["output_shape"] == [16, 12, 100]
    assert values["softmax_params_flat"] == 16 * 12 * 100 * 5 + 5
    assert values["softmax_params_gap"] == 505


@pytest.mark.parametrize("setting", ["height=3", "height=x", "classifier_bias=maybe", "classes=0"])
def test_bad_settings_exit_2_with_one_line(setting):
    done = run_cli("--set", setting)
    assert done.returncode == 2
    assert len(done.stderr.strip().splitlines()) == 1 and "error" in done.stderr


@pytest.mark.parametrize("height, width, layer, given, before", [
    (7, 9, "conv 3×3, 64, s1, p0 (layer 5", "1×2×32", 4),
    (4, 4, "conv 5×5, 32, s1, p0 (layer 1", "4×4×3", 0),
])
def test_an_input_too_small_without_padding_makes_only_part_3_impossible(height, width, layer, given, before):
    done = run_cli("--set", f"height={height}", "--set", f"width={width}", "--format", "json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    answers = {a["name"]: a for a in report["answers"]}
    part3 = answers["shapes_no_padding"]
    assert part3["value"] is None and part3["text"].startswith("(3) Impossible")
    assert layer in part3["text"] and f"receives a {given} map" in part3["text"]
    assert all(c["passed"] for c in report["checks"])
    assert any(c["name"].startswith("part (3): NumPy sliding windows also find no output") for c in report["checks"])
    # the rest is answered, with the padding kept
    solution = registry.load("midterm/problem3").solve({"height": height, "width": width})
    padded = answers["output_shape"]["value"]
    assert padded == [max(1, height // 4), max(1, width // 4), 100]
    assert answers["softmax_params_flat"]["value"] == padded[0] * padded[1] * 100 * 10 + 10
    assert answers["softmax_params_gap"]["value"] == 1010 and answers["shapes_sigmoid_no_bn"]["value"]
    step = next(s for s in solution.steps if s.lhs is not None and str(s.lhs) == "shapes_no_padding")
    assert len(step.rhs) == before and step.check.error(step.rhs) == 0


def test_an_input_too_small_without_padding_prints_in_every_format():
    for fmt in ("text", "latex", "markdown"):
        done = run_cli("--set", "height=7", "--set", "width=9", "--format", fmt)
        assert done.returncode == 0 and "Impossible for a 7×9 input" in done.stdout.replace("$\\times$", "×"), fmt
