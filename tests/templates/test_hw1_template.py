"""Sheet hw1's ``mlp.py``: course-style scripts run beside the generated file, as the course grades.

The scripts run as subprocesses in a folder that holds only the ``mlp.py`` written by
``python -m derivations template hw1/impl`` and the scripts; every printed comparison
must read ``tensor(True)``. Wrong gradient conventions must make them print ``tensor(False)``.
"""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
from conftest import require_module
from derivations.calculus.finite_differences import central_differences
from course_scripts import (CHECKS, COURSE_EXAMPLE, MISSING_TRANSPOSE, PAIRS, SATURATED, SHAPES,
                            SUM_INSTEAD_OF_MEAN)
from helpers import cli

from derivations.backend.templates.hw1_mlp import MLP, bce_loss, mse_loss

COMPARISONS = 7          # printed per check: y_hat, J, dJ/dy_hat and the four gradients
ACTIVATIONS = ("relu", "sigmoid", "identity")


def course_folder(tmp_path, mlp_py: str | None = None):
    """A folder as the course lays it out: mlp.py (generated, or the given text) and scripts."""
    folder = tmp_path / "course"
    run = cli("template", "hw1/impl", "--out", str(folder))
    assert run.code == 0, run.err
    if mlp_py is not None:
        (folder / "mlp.py").write_text(mlp_py)
    for name, text in {"course_checks.py": CHECKS, "test_pairs.py": PAIRS, "test_shapes.py": SHAPES,
                       "test_saturated.py": SATURATED, "test_course_example.py": COURSE_EXAMPLE}.items():
        (folder / name).write_text(text)
    return folder


def run_script(folder, script: str, *args: str) -> list[str]:
    """Run ``python script`` in ``folder`` as the course does; return the printed lines."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")   # tiny matrices; a busy machine
    result = subprocess.run([sys.executable, script, *args], cwd=folder, capture_output=True,
                            text=True, timeout=300, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout.split()


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    require_module("torch")
    return course_folder(tmp_path_factory.mktemp("hw1"))


def test_generated_mlp_py_is_only_the_import(course):
    code = [line for line in (course / "mlp.py").read_text().splitlines()
            if line.strip() and not line.startswith("#")]
    assert code == ["from derivations.backend.templates.hw1_mlp import *  # noqa: F401,F403"]


def test_every_f_g_pair_and_both_losses_over_many_seeds(course):
    seeds = 8
    lines = run_script(course, "test_pairs.py", "0", str(seeds))
    assert len(lines) == seeds * len(ACTIVATIONS) ** 2 * 2 * COMPARISONS
    assert set(lines) == {"tensor(True)"}


def test_several_shapes_and_a_batch_of_one(course):
    lines = run_script(course, "test_shapes.py")
    assert len(lines) == 5 * 3 * 2 * COMPARISONS
    assert set(lines) == {"tensor(True)"}


def test_saturated_sigmoid_outputs_match_bce_loss_over_many_seeds(course):
    seeds = 20
    lines = run_script(course, "test_saturated.py", "0", str(seeds))
    checks = seeds * len(ACTIVATIONS) * 2                       # batches of 16 and of 1
    assert lines[:-1] == ["tensor(True)"] * (checks * COMPARISONS)
    assert int(lines[-1].split("=")[1]) > checks // 4          # outputs of exactly 0 and 1 both


def test_the_course_bce_example_over_many_seeds(course):
    seeds = 300
    lines = run_script(course, "test_course_example.py", "0", str(seeds))
    assert lines[:-1] == ["tensor(True)"] * (seeds * COMPARISONS)
    assert int(lines[-1].split("=")[1]) > seeds // 2          # most seeds saturate an output


@pytest.mark.parametrize("wrong_mlp_py", [SUM_INSTEAD_OF_MEAN, MISSING_TRANSPOSE],
                         ids=["sum-instead-of-mean", "missing-transpose"])
def test_a_wrong_gradient_convention_prints_false(tmp_path, wrong_mlp_py):
    require_module("torch")
    folder = course_folder(tmp_path, wrong_mlp_py)
    lines = run_script(folder, "test_pairs.py", "0", "1")
    assert len(lines) == len(ACTIVATIONS) ** 2 * 2 * COMPARISONS
    failed = lines.count("tensor(False)")
    assert failed >= len(ACTIVATIONS) ** 2 * 2, lines        # at least one per check


def test_bce_on_exactly_saturated_outputs_equals_torch():
    torch = require_module("torch")
    y_hat = torch.tensor([[0.0, 1.0, 0.0, 1.0, 0.25]])
    y = torch.tensor([[1.0, 0.0, 0.0, 1.0, 1.0]])
    J, dJdy_hat = bce_loss(y, y_hat)
    leaf = y_hat.clone().requires_grad_(True)
    J_torch = torch.nn.BCELoss()(leaf, y)
    J_torch.backward()
    assert J.dtype == torch.float32 and J.shape == ()
    assert torch.isclose(J, J_torch) and abs(J.item() - (100 + 100 - np.log(0.25)) / 5) < 1e-5
    assert torch.equal(dJdy_hat, leaf.grad)
    assert dJdy_hat[0, 0] == pytest.approx(-1e12 / 5, rel=1e-6)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_bce_gradient_is_torchs_to_the_bit_near_and_at_saturation(dtype):
    """Values at, and a few ulps from, 0 and 1, tiny ones under the 1e-12 clamp, and ordinary
    ones; targets 0, 1 and in between; batch sizes whose division by N rounds differently."""
    torch = require_module("torch")
    rng = np.random.default_rng(0)
    t = getattr(torch, dtype)
    one = torch.tensor(1.0, dtype=t)
    edges = torch.tensor([0.0, 1.0, 1e-30, 1e-13, 1e-12, 3e-12, 1e-7, 0.5], dtype=t)
    near_one = torch.nextafter(one, torch.tensor(0.0, dtype=t)) ** torch.arange(1, 9, dtype=t)
    for n in (1, 3, 7, 50, 97):
        values = torch.cat([edges, near_one, torch.from_numpy(rng.random(64)).to(t)])
        y_hat = values[torch.from_numpy(rng.integers(0, len(values), (n, 5)))]
        y = torch.from_numpy(rng.choice([0.0, 1.0, 0.3], (n, 5))).to(t)
        J, dJdy_hat = bce_loss(y, y_hat)
        leaf = y_hat.clone().requires_grad_(True)
        J_torch = torch.nn.BCELoss()(leaf, y)
        J_torch.backward()
        assert torch.equal(dJdy_hat, leaf.grad), n
        assert (J - J_torch).abs() < 1e-3


def test_numpy_arrays_in_give_numpy_arrays_out_and_match_finite_differences():
    rng = np.random.default_rng(3)
    for f in ACTIVATIONS:
        for g in ACTIVATIONS:
            net = MLP(3, 4, f, 4, 2, g, backend="numpy", seed=1)
            x, y = rng.standard_normal((5, 3)), rng.uniform(0.1, 0.9, (5, 2))
            loss = bce_loss if g == "sigmoid" else mse_loss
            y_hat = net.forward(x)
            J, dJdy_hat = loss(y, y_hat)
            net.backward(dJdy_hat)
            assert isinstance(y_hat, np.ndarray) and y_hat.dtype == np.float64
            assert all(isinstance(v, np.ndarray) for v in [*net.parameters.values(), *net.grads.values()])
            assert set(net.cache) == {"x", "z1", "z2", "z3", "y_hat"}
            for name, W in net.parameters.items():
                numeric = _numeric_gradient(net, loss, x, y, W)
                np.testing.assert_allclose(net.grads[f"dJd{name}"], numeric, rtol=1e-5, atol=1e-8,
                                           err_msg=f"{f}/{g} dJ/d{name}")


def _numeric_gradient(net, loss, x, y, W, h=1e-6):
    """Central differences of J with respect to every entry of W (changed in place)."""
    return central_differences(lambda _: float(loss(y, net.forward(x))[0]), W, h)


def test_tensor_parameters_fed_numpy_become_numpy_sharing_memory():
    torch = require_module("torch")
    net = MLP(2, 3, "relu", 3, 1, "identity", backend="torch", seed=0)
    W1 = net.parameters["W1"]
    y_hat = net.forward(np.ones((4, 2), dtype=np.float32))
    assert isinstance(y_hat, np.ndarray) and isinstance(net.parameters["W1"], np.ndarray)
    assert np.shares_memory(net.parameters["W1"], W1.numpy())
    net.backward(np.ones_like(y_hat))
    assert isinstance(net.forward(torch.ones(4, 2)), torch.Tensor)
    assert isinstance(net.parameters["W1"], torch.Tensor)


def test_backward_accumulates_until_cleared_and_needs_a_forward():
    net = MLP(2, 3, "sigmoid", 3, 2, "sigmoid", backend="numpy", seed=0)
    x, y = np.ones((4, 2)), np.zeros((4, 2))
    net.backward(mse_loss(y, net.forward(x))[1])
    once = net.grads["dJdW1"].copy()
    net.backward(mse_loss(y, net.forward(x))[1])
    np.testing.assert_allclose(net.grads["dJdW1"], 2 * once)
    net.clear_grad_and_cache()
    assert not net.grads["dJdW1"].any() and net.cache == {}
    with pytest.raises(RuntimeError, match="call forward first"):
        net.backward(np.ones((4, 2)))


def test_unknown_function_names_and_mismatched_sizes_are_refused():
    with pytest.raises(ValueError, match="f_function must be one of relu, sigmoid, identity; got 'tanh'"):
        MLP(2, 3, "tanh", 3, 1, "identity", backend="numpy")
    with pytest.raises(ValueError, match=r"linear_1_out_features \(3\) must equal linear_2_in_features \(4\)"):
        MLP(2, 3, "relu", 4, 1, "identity", backend="numpy")


def test_module_imports_and_runs_on_numpy_without_torch():
    code = (
        "import sys; sys.modules['torch'] = None\n"
        "import numpy as np\n"
        "from derivations.backend.templates.hw1_mlp import MLP, mse_loss\n"
        "net = MLP(2, 3, 'sigmoid', 3, 1, 'sigmoid')\n"
        "J, d = mse_loss(np.zeros((4, 1)), net.forward(np.ones((4, 2))))\n"
        "net.backward(d)\n"
        "assert isinstance(net.parameters['W1'], np.ndarray) and net.grads['dJdW1'].all()\n"
        "print('ok')\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.stdout.strip() == "ok", result.stderr
