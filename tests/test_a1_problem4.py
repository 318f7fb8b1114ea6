"""a1/problem4: convolution arithmetic on the figure's arrays, pinned against PyTorch's conv2d and
avg_pool2d (float64), which the solver never uses."""

import json
import re

import numpy as np
import pytest
import sympy as sp

from conftest import require_module
from derivations.core import registry
from helpers import assert_user_error, cli_in_process

F = [[3, 5, 2, 3], [9, 1, 8, 4], [6, 4, 3, 7], [7, 0, 2, 4]]
FILTER1 = [[-1, 0.5, -2], [2, 0, 1], [0, 1, 1.5]]
FILTER2 = [[-1, 0.5], [2, 0]]


@pytest.fixture(scope="module")
def torch():
    return require_module("torch")


@pytest.fixture(scope="module")
def solution():
    return registry.load("a1/problem4").solve()


def solve(**settings):
    return registry.load("a1/problem4").solve(settings).answer_values()


def answers(solution):
    return solution.answer_values()


def t(torch, array):
    """A map or filter as a float64 (1, 1, H, W) tensor."""
    return torch.tensor(np.ascontiguousarray(array, dtype=float))[None, None]


def conv(torch, x, w, **kwargs):
    return torch.nn.functional.conv2d(t(torch, x), t(torch, w), **kwargs)[0, 0].numpy()


def turned(torch, w):
    """The filter turned upside down and left to right, by torch.flip."""
    return torch.flip(t(torch, w), dims=(2, 3))[0, 0].numpy()


def pool(torch, x, k=2, s=2):
    return torch.nn.functional.avg_pool2d(t(torch, x), k, s)[0, 0].numpy()


def floats(matrix):
    return np.array(matrix.tolist(), dtype=float)


def exact(matrix):
    return all(isinstance(e, sp.Rational) for e in matrix)


def test_part_a_padding_and_new_map_match_torch(solution, torch):
    a = answers(solution)
    assert a["a_padding"] == 1
    assert exact(a["a_feature_map"]) and a["a_feature_map"].shape == (4, 4)
    # the zero-padded top-left window ⊙ Filter1: 3·0 + 5·1 + 9·1 + 1·3/2, by hand
    assert a["a_feature_map"][0, 0] == sp.Rational(31, 2)
    assert floats(a["a_feature_map"]) == pytest.approx(conv(torch, F, FILTER1, padding=1), abs=1e-12)


def test_part_b_sizes_for_every_stride_match_torch(solution, torch):
    a = answers(solution)
    expected = [conv(torch, F, FILTER2, padding=1, stride=s).shape for s in range(1, 6)]
    assert [tuple(size) for size in a["b_output_sizes"]] == expected == [(5, 5), (3, 3), (2, 2), (2, 2), (1, 1)]
    assert a["b_same_size"] is False
    assert "b_stride" not in a
    text = next(x.text for x in solution.answers if x.name == "b_same_size")
    assert text.startswith("(b) No") and "even k" in text


def test_parts_c_and_d_pooling_and_its_convolution_match_torch(solution, torch):
    a = answers(solution)
    f_prime = floats(a["a_feature_map"])
    assert exact(a["c_pooled"])
    assert floats(a["c_pooled"]) == pytest.approx(pool(torch, f_prime), abs=1e-12)
    assert a["d_filter"] == sp.ones(2, 2) / 4 and a["d_stride"] == 2 and a["d_padding"] == 0
    by_conv = conv(torch, f_prime, floats(a["d_filter"]), stride=int(a["d_stride"]), padding=int(a["d_padding"]))
    assert by_conv == pytest.approx(pool(torch, f_prime), abs=1e-12)


def test_multichannel_weights_pool_every_channel_on_its_own(solution, torch):
    matrix = floats(answers(solution)["d_channel_weights"])          # C_in × C_out at every offset
    channels = matrix.shape[0]
    weight = torch.tensor(np.broadcast_to(matrix.T[:, :, None, None], (channels, channels, 2, 2)).copy())
    x = torch.tensor(np.random.default_rng(3).standard_normal((1, channels, 5, 6)))
    by_conv = torch.nn.functional.conv2d(x, weight, stride=2)
    assert by_conv.numpy() == pytest.approx(torch.nn.functional.avg_pool2d(x, 2, 2).numpy(), abs=1e-12)
    assert matrix == pytest.approx(np.eye(channels) / 4)


def test_flipped_reading_differs_and_matches_torch_with_a_flipped_kernel(solution, torch):
    flipped = solve(kernel="flipped")
    kernel = turned(torch, FILTER1)
    assert floats(flipped["a_feature_map"]) == pytest.approx(conv(torch, F, kernel, padding=1), abs=1e-12)
    assert flipped["a_feature_map"] != answers(solution)["a_feature_map"]          # Filter1 is not symmetric
    assert floats(flipped["c_pooled"]) == pytest.approx(pool(torch, conv(torch, F, kernel, padding=1)), abs=1e-12)
    assert flipped["d_filter"] == answers(solution)["d_filter"]


@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel")
def test_user_arrays_odd_size_and_even_filter_match_torch(torch):
    """A 5×7 map with decimals (read exactly), an even Filter1 (PyTorch's padding='same': the
    extra zero after) and a 3×3 Filter2 that keeps the size at stride 1."""
    rng = np.random.default_rng(7)
    f_map = np.round(rng.uniform(-5, 5, (5, 7)), 2)
    f1 = [[1, 2], [0.5, -3]]
    f2 = [[0, 1, 0], [1, -4, 1], [0, 1, 0]]
    a = solve(F=f_map, filter1=np.array(f1), filter2=np.array(f2))
    assert a["a_padding"] == (0, 1)
    expected = conv(torch, f_map, f1, padding="same")
    assert exact(a["a_feature_map"]) and floats(a["a_feature_map"]) == pytest.approx(expected, abs=1e-12)
    assert a["c_pooled"].shape == (2, 3)                                        # the last row and column dropped
    assert floats(a["c_pooled"]) == pytest.approx(pool(torch, expected), abs=1e-12)
    assert a["b_same_size"] is True and a["b_stride"] == 1
    assert floats(a["b_feature_map"]) == pytest.approx(conv(torch, f_map, f2, padding=1), abs=1e-12)


def test_decimals_are_read_exactly():
    identity = np.array([[0, 0, 0], [0, 1, 0], [0, 0, 0]])
    a = solve(F=np.array([[0.1, 0.2], [0.3, 1e-5]]), filter1=identity)
    assert a["a_feature_map"] == sp.Matrix([[sp.Rational(1, 10), sp.Rational(1, 5)],
                                            [sp.Rational(3, 10), sp.Rational(1, 100000)]])


def test_all_checks_pass_and_each_step_has_one(solution):
    assert all(r.passed for r in solution.run_checks())
    assert len(solution.checks) == 7 and len(solution.step_checks()) == 10


def failures(solution, name, value):
    answer = next(a for a in solution.answers if a.name == name)
    good, answer.value = answer.value, value
    try:
        return [r.name for r in solution.run_checks() if not r.passed]
    finally:
        answer.value = good


def test_wrong_answers_are_caught_by_their_checks(solution):
    a = answers(solution)
    wrong_map = a["a_feature_map"].as_mutable()
    wrong_map[2, 1] += sp.Rational(1, 1000)
    assert any(n.startswith("a_feature_map") for n in failures(solution, "a_feature_map", wrong_map))
    assert any(n.startswith("a_padding") for n in failures(solution, "a_padding", sp.Integer(2)))
    assert any(n.startswith("a_padding") for n in failures(solution, "a_padding", sp.Integer(0)))
    table = list(a["b_output_sizes"])
    table[3] = (3, 3)                                    # stride 4 claimed to give 3×3
    assert any(n.startswith("b_output_sizes") for n in failures(solution, "b_output_sizes", table))
    assert any(n.startswith("b_same_size") for n in failures(solution, "b_same_size", True))
    assert any(n.startswith("d:") for n in failures(solution, "d_stride", sp.Integer(1)))
    assert any(n.startswith("d:") for n in failures(solution, "d_padding", sp.Integer(1)))
    assert any(n.startswith("d:") for n in failures(solution, "d_filter", sp.ones(2, 2) / 2))
    off_diagonal = sp.Matrix(a["d_channel_weights"])
    off_diagonal[0, 1] = sp.Rational(1, 4)
    assert any(n.startswith("d_channel_weights") for n in failures(solution, "d_channel_weights", off_diagonal))


def test_a_wrong_step_entry_is_caught_by_that_step(solution):
    step = next(s for s in solution.steps if s.lhs == sp.Symbol("F'"))
    good = step.rhs
    step.rhs = good.as_mutable()
    step.rhs[0, 3] -= 1
    try:
        failed = [c.name for c in solution.step_checks() if not c.run({}).passed]
    finally:
        step.rhs = good
    assert len(failed) == 1 and "F'" in failed[0]


def test_step_text_is_prose_with_math_placeholders(solution):
    """Numbers live in ``math``; the only digits in prose are the sheet's names Filter1 and Filter2."""
    for step in solution.steps:
        assert not re.search(r"\d", step.text.replace("Filter1", "").replace("Filter2", "")), step.text
        assert set(re.findall(r"\{(\w+)\}", step.text)) <= set(step.math), step.text
    assert any("kernel=flipped" in x and "cross-correlation" in x for x in solution.assumptions)


def test_cli_json_gives_the_numbers(capsys, torch):
    run = cli_in_process(capsys, "solve", "a1/problem4", "--format", "json")
    assert run.code == 0, run.err
    values = {a["name"]: a["value"] for a in json.loads(run.out)["answers"]}
    assert values["a_padding"] == 1 and values["d_stride"] == 2 and values["d_padding"] == 0
    assert np.array(values["a_feature_map"]) == pytest.approx(conv(torch, F, FILTER1, padding=1), abs=1e-12)
    assert values["c_pooled"] == [[17.75, 16.75], [2, 3.5]]
    assert values["d_filter"] == [[0.25, 0.25], [0.25, 0.25]]


def test_cli_flipped_and_user_arrays(capsys, torch):
    run = cli_in_process(capsys, "solve", "a1/problem4", "--format", "json", "--set", "kernel=flipped",
                         "--set", "F=[[1, 2, 0], [0.5, -1, 3], [2, 2, 2]]",
                         "--set", "filter1=[[0, 1, 0], [0, 0, 0], [0, 0, 2]]")
    assert run.code == 0, run.err
    report = json.loads(run.out)
    values = {a["name"]: a["value"] for a in report["answers"]}
    kernel = turned(torch, [[0, 1, 0], [0, 0, 0], [0, 0, 2]])
    assert np.array(values["a_feature_map"]) == pytest.approx(
        conv(torch, [[1, 2, 0], [0.5, -1, 3], [2, 2, 2]], kernel, padding=1), abs=1e-12)
    assert report["parameters"]["kernel"] == "flipped"
    assert all(c["passed"] for c in report["checks"])


@pytest.mark.parametrize("setting, fragment", [
    ("F=[1, 2, 3]", "matrix"),
    ("F=[[1, 2], [3]]", "rows of one length"),
    ("F=[[1, \"a\"], [3, 4]]", "F"),
    ("F=[[1]]", "at least 2×2"),
    ("F=[[1e10, 1], [1, 1]]", "at most 10⁹"),
    ("F=" + json.dumps([[1] * 65] * 2), "at most 64×64"),
    ("filter1=[[1, 2, 3], [4, 5, 6]]", "square"),
    ("filter1=" + json.dumps([[1] * 17] * 17), "at most 16×16"),
    ("filter2=" + json.dumps([[1] * 7] * 7), "larger than F padded"),
    ("pool=5", "larger than F′"),
    ("kernel=flip", "correlation, flipped"),
    ("padding_b=-1", "padding_b"),
])
def test_bad_settings_exit_2_with_one_line(capsys, setting, fragment):
    assert_user_error(cli_in_process(capsys, "solve", "a1/problem4", "--set", setting), fragment)
