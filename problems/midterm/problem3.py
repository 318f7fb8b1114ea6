"""midterm/problem3: shapes, receptive field and parameter counts of a small CNN."""

from functools import cache

import sympy as sp

from derivations.core.errors import UserError
from derivations.calculus.layerspec import (
    Activation, BatchNorm, Conv, Dense, GlobalAvgPool, Pool, measure_parameter_counts,
    measure_receptive_field, measure_shapes, output_shape, output_shapes, parameter_count, parameter_counts,
    receptive_fields, without_padding,
)
from derivations.calculus.oracles import Reference
from derivations.core.model import Ints, Param, Pick, Problem, Variation


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
    bare = without_padding(layers)
    sigmoid_net = [Activation("sigmoid") if isinstance(l, Activation) else l for l in layers
                   if not isinstance(l, BatchNorm)]
    head = Dense(classes, bias=bias)
    # Measured at the centre of an input large enough that padding cannot cut the field off.
    canvas = (max(image[0], 64), max(image[1], 64), image[2])

    # The references: real arrays through NumPy sliding windows, weights allocated and counted.
    measured_shapes = cache(lambda net: measure_shapes(image, list(net)))
    measured_counts = cache(lambda net: measure_parameter_counts(image, list(net)))

    def shapes_of(net, index=slice(None), what="NumPy sliding windows"):
        return Reference(compute=lambda: measured_shapes(tuple(net))[index], describe=what, tolerance=0)

    def counts_of(net, index=slice(None), total=False, what="allocated arrays"):
        count = lambda: measured_counts(tuple(net))  # noqa: E731
        return Reference(compute=lambda: sum(count()) if total else count()[index], describe=what, tolerance=0)

    sol.assume(f"Shapes are height × width × channels, written (H, W, C); the input is {_shape_text(image)} "
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
    n_, p_, k_, s_ = sp.symbols("n p k s", integer=True, nonnegative=True)
    sol.step("Each convolution or pooling layer maps a spatial size n to {size}; ReLU and batch norm "
             "act elementwise or per channel and keep the shape; a convolution's channel count is its number of "
             "filters.", math={"size": sp.floor((n_ + 2 * p_ - k_) / s_) + 1})
    shapes = output_shapes(image, layers)
    for i, (layer, shape_in, shape) in enumerate(zip(layers, [image] + shapes, shapes)):
        sol.step(f"{layer.label}, input {{shape_in}}:", sp.Symbol("output"), shape, math={"shape_in": shape_in},
                 check=shapes_of(layers, i))
    sol.answer("shapes", sp.Symbol("shapes"), shapes, text="(1) " + _table(layers, shapes), check=shapes_of(layers))
    sol.answer("output_shape", sp.Symbol("output"), shapes[-1], check=shapes_of(layers, -1))

    # (2) receptive field
    fields = receptive_fields(layers)
    walked = [(i, layer) for i, layer in enumerate(layers) if isinstance(layer, (Conv, Pool))]
    side = fields[-1][0]
    receptive_field = Reference(compute=lambda: measure_receptive_field(canvas, layers), convert=lambda r: [r, r],
                                describe="walking back through the windows", tolerance=0)
    sol.step("Receptive field by the recursion {r_out} = {r_in} + {growth}, {j_out} = {j_in}·s from r = j = 1 "
             "(ReLU and batch norm change neither): "
             + ", ".join(f"{layer.label}: r = {{r{i}}}, j = {{j{i}}}" for i, layer in walked) + ".",
             sp.Symbol("r"), side, check=receptive_field,
             math={"r_out": sp.Symbol("r_out"), "r_in": sp.Symbol("r_in"), "j_out": sp.Symbol("j_out"),
                   "j_in": sp.Symbol("j_in"), "growth": (k_ - 1) * sp.Symbol("j_in"),
                   **{f"r{i}": sp.Integer(fields[i][0]) for i, _ in walked},
                   **{f"j{i}": sp.Integer(fields[i][1]) for i, _ in walked}})
    sol.answer("receptive_field", sp.Symbol("r"), side,
               text=f"(2) One output activation depends on a {side}×{side} square of input pixels, all "
                    f"{image[2]} channels ({side * side * image[2]} input values)"
                    + (f"; on this {image[0]}×{image[1]} input the border cuts that square, so an output sees "
                       "fewer real pixels (the rest is padding)." if side > min(image[:2]) else "."),
               check=Reference(compute=receptive_field.compute, convert=receptive_field.convert,
                               describe=receptive_field.describe, tolerance=0))

    # (3) no padding: on a small input the unpadded stack may not fit; then this part alone has no answer
    bare_shapes, failing = _fitting_prefix(image, bare)
    if failing is None:
        sol.step("Without padding each convolution shrinks the map by k − 1: "
                 + "; ".join(f"{layer.label} → {{s{i}}}" for i, layer in enumerate(bare)) + ". The output:",
                 sp.Symbol("output_no_padding"), bare_shapes[-1],
                 math={f"s{i}": shape for i, shape in enumerate(bare_shapes)},
                 check=shapes_of(bare, -1))
        sol.answer("shapes_no_padding", sp.Symbol("shapes_no_padding"), bare_shapes,
                   text="(3) " + _table(bare, bare_shapes), check=shapes_of(bare))
    else:
        _no_padding_impossible(sol, image, bare, bare_shapes, failing)

    # (4) sigmoid, no batch norm
    sigmoid_shapes = output_shapes(image, sigmoid_net)
    sol.step("An activation function acts elementwise whatever it is, and batch norm keeps the shape, so "
             "changing ReLU to sigmoid and dropping batch norm leaves every remaining layer's shape as in (1).")
    sol.answer("shapes_sigmoid_no_bn", sp.Symbol("shapes_sigmoid"), sigmoid_shapes,
               text="(4) " + _table(sigmoid_net, sigmoid_shapes) + " — the same shapes as in (1), with the "
                    "batch-norm layers gone.", check=shapes_of(sigmoid_net))

    # (5), (6) classifier parameters
    flat = sp.Mul(*shapes[-1])
    fc_params = parameter_counts(image, layers + [head])[-1]
    channels = sp.Integer(shapes[-1][2])
    dense = {"classes": sp.Integer(classes), "out": shapes[-1], "flat": flat,
             "fc_weights": sp.Mul(flat, classes, evaluate=False),
             "gap_weights": sp.Mul(channels, classes, evaluate=False), "channels": channels}
    biases = " + {classes} biases" if bias else ""
    sol.step("Flattening {out} gives {flat} inputs; a dense layer to {classes} classes has {fc_weights} weights"
             + biases + ".", sp.Symbol("n_fc"), fc_params, math=dense,
             check=counts_of(layers + [head], -1, what="allocated arrays"))
    gap_params = parameter_counts(image, layers + [GlobalAvgPool(), head])[-1]
    sol.step("Global average pooling leaves {channels} numbers (one per channel): {gap_weights} weights" + biases + ".",
             sp.Symbol("n_gap"), gap_params, math=dense,
             check=counts_of(layers + [GlobalAvgPool(), head], -1, what="allocated arrays"))
    sol.answer("softmax_params_flat", sp.Symbol("n_fc"), fc_params,
               text=f"(5) {fc_params} parameters on the flattened {_shape_text(shapes[-1])} output.",
               check=counts_of(layers + [head], -1, what="allocated arrays (flattened classifier)"))
    sol.answer("softmax_params_gap", sp.Symbol("n_gap"), gap_params,
               text=f"(6) {gap_params} parameters after global average pooling, "
                    f"{fc_params / gap_params:.0f} times fewer.",
               check=counts_of(layers + [GlobalAvgPool(), head], -1, what="allocated arrays (pooled classifier)"))

    # Bonus: the network's own parameters.
    per_layer = parameter_counts(image, layers)
    total = parameter_count(image, layers)
    counted = [(i, layer) for i, layer in enumerate(layers) if per_layer[i]]
    sol.step("Parameters of the stack: convolution {conv}, batch norm {bn}, others 0: "
             + ", ".join(f"{layer.label}: {{n{i}}}" for i, layer in counted) + ".",
             sp.Symbol("n_net"), total, check=counts_of(layers, total=True),
             math={"conv": k_ * k_ * sp.Symbol("C_in") * sp.Symbol("C_out") + sp.Symbol("C_out"),
                   "bn": 2 * sp.Symbol("C"), **{f"n{i}": sp.Integer(per_layer[i]) for i, _ in counted}})
    sol.answer("layer_params", sp.Symbol("n_layers"), per_layer, check=counts_of(layers, what="allocated arrays (per layer)"))
    sol.answer("network_params", sp.Symbol("n_net"), total,
               text=f"(bonus) The convolution and batch-norm layers hold {total} parameters together.",
               check=counts_of(layers, total=True))


def _fitting_prefix(image, layers):
    """The output shapes of the layers that fit, and the index of the first that does not
    (its window is larger than its padded input), or ``None`` when all fit."""
    shapes, shape = [], tuple(image)
    for i, layer in enumerate(layers):
        try:
            shape = output_shape(shape, layer)
        except ValueError:
            return shapes, i
        shapes.append(shape)
    return shapes, None


def _no_padding_impossible(sol, image, bare, fitting, failing):
    """Part (3) when the unpadded stack does not fit the input: the layers that fit, the one
    that does not and why, checked against NumPy sliding windows (which fit exactly those)."""
    layer, given = bare[failing], (fitting[-1] if fitting else tuple(image))
    window = layer.kernel
    prefix = bare[:failing]
    before = ("; ".join(f"{l.label} → {{s{i}}}" for i, l in enumerate(prefix)) + f". The next layer, {layer.label},"
              if prefix else f"the first layer, {layer.label}, already")
    sol.step("Without padding each convolution shrinks the map by k − 1, and the input is too small for that: "
             + before + " receives {given} but its window is {window}×{window} with no padding, so it has no "
             "output position. The shapes that exist:", sp.Symbol("shapes_no_padding"), fitting,
             math={**{f"s{i}": shape for i, shape in enumerate(fitting)}, "given": given, "window": sp.Integer(window)},
             check=Reference(compute=lambda: measure_shapes(image, prefix), tolerance=0,
                             describe="NumPy sliding windows through the layers that fit"))
    sol.answer("shapes_no_padding", sp.Symbol("shapes_no_padding"), None, text=(
        f"(3) Impossible for a {image[0]}×{image[1]} input: without padding, {layer.label} (layer {failing + 1} of "
        f"the unpadded stack) receives a {given[0]}×{given[1]}×{given[2]} map, smaller than its {window}×{window} "
        f"window, so it has no output and neither has the rest of the stack. "
        + (f"The layers before it give: {_table(prefix, fitting)}. " if prefix else "")
        + "The other parts keep their padding and are answered as usual."))

    def numpy_agrees(_):
        try:
            measure_shapes(image, bare[:failing + 1])
        except ValueError:
            return 0.0
        return float("inf")

    sol.check(f"part (3): NumPy sliding windows also find no output at {layer.label} (layer {failing + 1})",
              numpy_agrees, 0)


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
        # multiples of 4 survive both poolings; height ≠ width, so a swapped axis shows
        Param("height", 32, "input height in pixels", kind="int", minimum=4, maximum=256, vary=Ints(16, 96, 4)),
        Param("width", 32, "input width in pixels", kind="int", minimum=4, maximum=256, vary=Ints(16, 96, 4)),
        Param("channels", 3, "input channels", kind="int", minimum=1, maximum=64, vary=Pick((1, 3, 4))),
        Param("classes", 10, "classes of the softmax classifier", kind="int", minimum=1, vary=Ints(2, 200)),
        Param("classifier_bias", True, "whether the softmax layer has a bias per class", kind="bool"),
    ),
    variation=Variation(
        degenerate=lambda p: "a square input hides which axis is which" if p["height"] == p["width"] else None,
        restate=lambda p: PROBLEM.statement.replace(
            "A 32×32 RGB image (32×32×3)",
            f"A {p['height']}×{p['width']} image with {p['channels']} channel{'s' * (p['channels'] != 1)} "
            f"({p['height']}×{p['width']}×{p['channels']})").replace("a 10-class", f"a {p['classes']}-class")),
)
