"""--values inputs in the shapes a solution declares (derivations.core.evaluate.conform)."""

import numpy as np
import pytest
import sympy as sp

from derivations.core.errors import UserError
from derivations.core.evaluate import conform

n, m = sp.symbols("n m")
SHAPES = {"x": (n, 1), "W": (m, n), "r": (1, n), "y": ()}


def test_flat_lists_fill_declared_columns_and_rows_and_fix_the_sizes():
    known = conform({"x": np.arange(3.0), "W": np.ones((2, 3)), "r": np.arange(3.0), "y": 2.0}, SHAPES)
    assert known["x"].shape == (3, 1) and known["r"].shape == (1, 3)
    assert (known["n"], known["m"]) == (3, 2)
    assert np.array_equal(known["x"][:, 0], np.arange(3.0))


def test_n_by_1_columns_are_kept():
    known = conform({"x": np.ones((4, 1))}, SHAPES)
    assert known["x"].shape == (4, 1) and known["n"] == 4


@pytest.mark.parametrize("values, message", [
    ({"x": np.arange(3.0), "W": np.ones((2, 4))}, "W has shape (2, 4), which does not fit"),
    ({"y": np.ones(2)}, "y must be a number"),
    ({"x": np.ones((2, 2))}, "x has shape (2, 2), which does not fit"),
    ({"W": np.ones(3)}, "W must be a matrix of shape m×n"),
])
def test_wrong_shapes_are_named(values, message):
    with pytest.raises(UserError, match=message.replace("(", r"\(").replace(")", r"\)")):
        conform(values, SHAPES)


def test_a_misfit_names_the_input_that_fixed_the_size():
    with pytest.raises(UserError, match=r"b has shape \(4, 1\), which does not fit: W makes m = 3"):
        conform({"W": np.ones((3, 2)), "b": np.ones(4)}, {"W": (m, n), "b": (m, 1)})
