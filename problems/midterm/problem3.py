"""midterm/problem3: shapes, receptive field and parameter counts of a small CNN."""

import sympy as sp

from derivations.calculus.checks import max_abs_error
from derivations.core.errors import UserError
from derivations.calculus.layerspec import (
    Activation, BatchNorm, Conv, Dense, GlobalAvgPool, Pool, measure_parameter_counts,
    measure_receptive_field, measure_shapes, output_shapes, parameter_count, parameter_counts,
    receptive_fields, without_padding,
)
from derivations.core.model import Param, Problem


def network():
    """The stack of the problem, layer by layer."""
    return [
        Conv(5, 32, stride=1, padding=2), Activation("relu"), BatchNorm(), Pool(2, 2),
        Conv(3, 64, stride=1, padding=1), Activation("relu"), BatchNorm(), Pool(2, 2),
        Conv(1, 100, stride=1, padding=0),
    ]


def _shape_text(shape):
    return "×".join(str(v) for v in shape)


def _table(layers, shapes):
    return "; ".join(f"{layer.label} → {_shape_text(shape)}" for layer, shape in zip(layers, shapes))


def solve(p, sol):
    try:
        _solve(p, sol)
    except ValueError as exc:  # a window larger than its (padded) input
        raise UserError(f"the input {p['height']}×{p['width']} is too small for this network: {exc}") from None


def _solve(p, sol):
    image = (p["height"], p["width"], p["channels"])
    classes, bias = p["classes"], p["classifier_bias"]
    layers = network()

    sol.assume(f"Shapes are written height × width × channels; the input is {_shape_text(image)} "
               "(the sheet lists width and height, which are equal here).")
    sol.assume("Convolutions have one bias per output channel; max pooling has no padding; every layer sees a "
               "single image (no batch dimension).")
    sol.assume("Batch norm has two learnable parameters per channel (a scale and a shift); its running mean and "
               "variance are statistics, not parameters.")
    sol.assume(f"The {classes}-way softmax classifier is one fully connected layer on the flattened output, with "
               + ("a bias per class" if bias else "no bias") + " (--set classifier_bias=" + ("false" if bias else "true")
               + " for the other count).")
    sol.assume("The receptive field is the side of the square of input pixels (across all input channels) that one "
               "output position depends on, for a position away from the border, where padding does not cut it.")

    # (1) shapes
    sol.step("Each convolution or pooling layer maps a spatial size n to ⌊(n + 2p − k)/s⌋ + 1; ReLU and batch norm "
             "act elementwise or per channel and keep the shape; a convolution's channel count is its number of "
             "filters.")
    shapes = output_shapes(image, layers)
    for layer, shape_in, shape in zip(layers, [image] + shapes, shapes):
        sol.step(f"{layer.label}: {_shape_text(shape_in)} → {_shape_text(shape)}.")
    sol.answer("shapes", sp.Symbol("shapes"), shapes, text="(1) " + _table(layers, shapes))
    sol.answer("output_shape", sp.Symbol("output"), shapes[-1])

    # (2) receptive field
    fields = receptive_fields(layers)
    sol.step("Receptive field by the recursion r_out = r_in + (k − 1)·j_in, j_out = j_in·s from r = j = 1 (ReLU and batch norm "
             "change neither): " + ", ".join(f"{layer.label}: r = {r}, j = {j}"
                                              for layer, (r, j) in zip(layers, fields)
                                              if isinstance(layer, (Conv, Pool))) + ".")
    side = fields[-1][0]
    sol.answer("receptive_field", sp.Symbol("r"), side,
               text=f"(2) One output activation depends on a {side}×{side} square of input pixels, all "
                    f"{image[2]} channels ({side * side * image[2]} input values).")

    # (3) no padding
    bare = without_padding(layers)
    bare_shapes = output_shapes(image, bare)
    sol.step("Without padding each convolution shrinks the map by k − 1: " + _table(bare, bare_shapes) + ".")
    sol.answer("shapes_no_padding", sp.Symbol("shapes_no_padding"), bare_shapes,
               text="(3) " + _table(bare, bare_shapes))

    # (4) sigmoid, no batch norm
    sigmoid_net = [Activation("sigmoid") if isinstance(l, Activation) else l for l in layers
                   if not isinstance(l, BatchNorm)]
    sigmoid_shapes = output_shapes(image, sigmoid_net)
    sol.step("An activation function acts elementwise whatever it is, and batch norm keeps the shape, so "
             "changing ReLU to sigmoid and dropping batch norm leaves every remaining layer's shape as in (1).")
    sol.answer("shapes_sigmoid_no_bn", sp.Symbol("shapes_sigmoid"), sigmoid_shapes,
               text="(4) " + _table(sigmoid_net, sigmoid_shapes) + " — the same shapes as in (1), with the "
                    "batch-norm layers gone.")

    # (5), (6) classifier parameters
    flat = sp.Mul(*shapes[-1])
    head = Dense(classes, bias=bias)
    fc_params = parameter_counts(image, layers + [head])[-1]
    sol.step(f"Flattening {_shape_text(shapes[-1])} gives {flat} inputs; a dense layer to {classes} classes has "
             f"{flat}·{classes} weights" + (f" + {classes} biases" if bias else "") + ".",
             sp.Symbol("n_fc"), fc_params)
    gap_params = parameter_counts(image, layers + [GlobalAvgPool(), head])[-1]
    sol.step(f"Global average pooling leaves {shapes[-1][2]} numbers (one per channel): {shapes[-1][2]}·{classes} "
             "weights" + (f" + {classes} biases" if bias else "") + ".", sp.Symbol("n_gap"), gap_params)
    sol.answer("softmax_params_flat", sp.Symbol("n_fc"), fc_params,
               text=f"(5) {fc_params} parameters on the flattened {_shape_text(shapes[-1])} output.")
    sol.answer("softmax_params_gap", sp.Symbol("n_gap"), gap_params,
               text=f"(6) {gap_params} parameters after global average pooling, "
                    f"{fc_params / gap_params:.0f} times fewer.")

    # Bonus: the network's own parameters.
    per_layer = parameter_counts(image, layers)
    total = parameter_count(image, layers)
    sol.step("Parameters of the stack: convolution k·k·C_in·C_out + C_out, batch norm 2C, others 0: "
             + ", ".join(f"{l.label}: {n}" for l, n in zip(layers, per_layer) if n) + ".",
             sp.Symbol("n_net"), total)
    sol.answer("layer_params", sp.Symbol("n_layers"), per_layer)
    sol.answer("network_params", sp.Symbol("n_net"), total,
               text=f"(bonus) The convolution and batch-norm layers hold {total} parameters together.")

    # Checks: real arrays through NumPy sliding windows; weights allocated and counted.
    sol.check("shapes vs NumPy sliding windows", lambda a: max_abs_error(a["shapes"], measure_shapes(image, layers)), 0)
    sol.check("output shape vs NumPy", lambda a: max_abs_error(a["output_shape"], measure_shapes(image, layers)[-1]), 0)
    # Measured at the centre of an input large enough that padding cannot cut the field off.
    canvas = (max(image[0], 64), max(image[1], 64), image[2])
    sol.check("receptive field vs walking back through the windows",
              lambda a: max_abs_error([a["receptive_field"]] * 2, measure_receptive_field(canvas, layers)), 0)
    sol.check("shapes without padding vs NumPy",
              lambda a: max_abs_error(a["shapes_no_padding"], measure_shapes(image, bare)), 0)
    sol.check("shapes with sigmoid and no batch norm vs NumPy",
              lambda a: max_abs_error(a["shapes_sigmoid_no_bn"], measure_shapes(image, sigmoid_net)), 0)
    sol.check("flattened classifier parameters vs allocated arrays",
              lambda a: max_abs_error(a["softmax_params_flat"], measure_parameter_counts(image, layers + [head])[-1]), 0)
    sol.check("pooled classifier parameters vs allocated arrays",
              lambda a: max_abs_error(a["softmax_params_gap"],
                                      measure_parameter_counts(image, layers + [GlobalAvgPool(), head])[-1]), 0)
    sol.check("per-layer parameters vs allocated arrays",
              lambda a: max_abs_error(a["layer_params"], measure_parameter_counts(image, layers)), 0)
    sol.check("network parameters vs allocated arrays",
              lambda a: max_abs_error(a["network_params"], sum(measure_parameter_counts(image, layers))), 0)


PROBLEM = Problem(
    id="midterm/problem3",
    title="Shapes, receptive field and parameters of a small CNN",
    kind="shape / receptive-field / parameter arithmetic",
    statement=(
        "A 32×32 RGB image (32×32×3) passes through: a 5×5 convolution with 32 filters, stride 1, padding 2; "
        "ReLU; batch norm; 2×2 max pooling with stride 2; a 3×3 convolution with 64 filters, stride 1, "
        "padding 1; ReLU; batch norm; 2×2 max pooling with stride 2; a 1×1 convolution with 100 filters. "
        "(1) Give the output shape of every layer. (2) How large is the patch of the input that one output "
        "activation depends on? (3) Give the shapes again with the padding of every convolution removed. "
        "(4) Give them with sigmoid in place of ReLU and no batch norm. (5) How many parameters does a "
        "10-class softmax layer on the flattened output have? (6) And if global average pooling comes "
        "before it?"
    ),
    solve_fn=solve,
    params=(
        Param("height", 32, "input height in pixels", kind="int", minimum=4),
        Param("width", 32, "input width in pixels", kind="int", minimum=4),
        Param("channels", 3, "input channels", kind="int", minimum=1),
        Param("classes", 10, "classes of the softmax classifier", kind="int", minimum=1),
        Param("classifier_bias", True, "whether the softmax layer has a bias per class", kind="bool"),
    ),
)
