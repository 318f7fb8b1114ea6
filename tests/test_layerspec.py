"""Conv/pool layer-spec arithmetic (derivations.calculus.layerspec), against real NumPy windows."""

import numpy as np
import pytest
import sympy as sp

from derivations.calculus.layerspec import (
    Activation, BatchNorm, Conv, Dense, GlobalAvgPool, Pool, measure_parameter_counts,
    measure_receptive_field, measure_shapes, output_shape, output_shapes, parameter_count,
    parameter_counts, receptive_field, receptive_fields, spatial_size, without_padding,
)

MIDTERM = [Conv(5, 32, 1, 2), Activation(), BatchNorm(), Pool(2, 2), Conv(3, 64, 1, 1), Activation(),
           BatchNorm(), Pool(2, 2), Conv(1, 100)]


def test_midterm_shapes():
    shapes = output_shapes((32, 32, 3), MIDTERM)
    assert shapes[0] == (32, 32, 32)
    assert shapes[3] == (16, 16, 32)
    assert shapes[4] == (16, 16, 64)
    assert shapes[-1] == (8, 8, 100)
    assert all(type(v) is int for s in shapes for v in s)


def test_midterm_receptive_field_and_parameters():
    assert [r for r, _ in receptive_fields(MIDTERM)] == [5, 5, 5, 6, 10, 10, 10, 12, 12]
    assert receptive_field(MIDTERM) == 12
    assert parameter_counts((32, 32, 3), MIDTERM) == [5 * 5 * 3 * 32 + 32, 0, 64, 0, 3 * 3 * 32 * 64 + 64, 0, 128, 0,
                                                      64 * 100 + 100]
    assert parameter_count((32, 32, 3), MIDTERM + [Dense(10)]) - parameter_count((32, 32, 3), MIDTERM) == 64010
    assert parameter_counts((32, 32, 3), MIDTERM + [GlobalAvgPool(), Dense(10)])[-1] == 1010


CASES = [
    ((17, 23, 2), [Conv(3, 4, stride=2, padding=1), Pool(3, 2), Conv(2, 5, dilation=2)]),
    ((31, 29, 3), [Conv(7, 8, stride=3, padding=3), BatchNorm(), Activation("tanh"), Conv(3, 6, padding=2, dilation=3),
                   Pool(2, stride=1, kind="avg")]),
    ((12, 12, 1), [Conv(1, 3), Pool(3, stride=3), Conv(3, 2, bias=False), GlobalAvgPool(), Dense(7)]),
    ((32, 32, 3), without_padding(MIDTERM)),
]


@pytest.mark.parametrize("input_shape, layers", CASES)
def test_formulas_agree_with_numpy_windows(input_shape, layers):
    assert output_shapes(input_shape, layers) == measure_shapes(input_shape, layers)
    assert parameter_counts(input_shape, layers) == measure_parameter_counts(input_shape, layers)


@pytest.mark.parametrize("input_shape, layers", [c for c in CASES if not any(isinstance(l, Dense) for l in c[1])])
def test_receptive_field_agrees_with_brute_force(input_shape, layers):
    big = (80, 80, input_shape[2])       # large enough that padding does not cut the centre's field
    side = receptive_field(layers)
    assert measure_receptive_field(big, layers) == (side, side)


def test_brute_force_field_is_cut_at_the_border():
    assert measure_receptive_field((32, 32, 3), MIDTERM, position=(0, 0)) == (8, 8)


def test_spatial_size_formula_and_errors():
    assert spatial_size(32, 5, 1, 2) == 32
    assert spatial_size(7, 3, stride=2) == 3
    assert spatial_size(10, 3, dilation=2) == 6
    with pytest.raises(ValueError, match="does not fit"):
        output_shape((4, 4, 1), Conv(5, 1))
    with pytest.raises(ValueError, match="H×W×C"):
        output_shape((10,), Conv(1, 1))


def test_symbolic_sizes():
    H, W, C, k, p = sp.symbols("H W C k p", positive=True, integer=True)
    (h, w, c), = output_shapes((H, W, C), [Conv(k, 16, 1, p)])
    assert sp.simplify(h - (H + 2 * p - k + 1)) == 0 and c == 16
    assert sp.simplify(receptive_field([Conv(k, 1), Pool(2), Conv(k, 1)]) - (3 * k - 1)) == 0
    assert sp.expand(parameter_count((H, W, C), [Conv(k, 16, 1, p), BatchNorm()]) - (16 * C * k**2 + 48)) == 0
    assert output_shapes((H, W, C), [Activation(), BatchNorm()]) == [(H, W, C), (H, W, C)]


def test_without_padding_and_labels():
    bare = without_padding(MIDTERM)
    assert all(getattr(l, "padding", 0) == 0 for l in bare)
    assert MIDTERM[0].padding == 2            # the original is untouched
    assert bare[0].label == "conv 5×5, 32, s1, p0"
    assert Pool(2).label == "max pool 2×2, s2"


def test_dense_after_global_pool_shapes():
    assert output_shapes((8, 8, 100), [GlobalAvgPool(), Dense(10)]) == [(1, 1, 100), (10,)]
    assert measure_shapes((8, 8, 100), [GlobalAvgPool(), Dense(10)]) == [(1, 1, 100), (10,)]
    assert np.prod((8, 8, 100)) * 10 + 10 == 64010
