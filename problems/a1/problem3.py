"""a1/problem3: backpropagation through a one-hidden-layer sigmoid/softmax classifier written in
row vectors — ∂E/∂f2 in terms of o and y (for labels that sum to one and for labels that do not),
∂E/∂x, and every parameter's gradient, in numerator layout and in parameter shape.

The toolkit's rule table works on columns, so the row-vector model is written with transposes:
o = softmax(f2ᵀ)ᵀ. Part (a) runs :func:`matrix_calculus.backward` over the loss as the sheet
writes it (E = −y·log(o)ᵀ), then simplifies the softmax Jacobian; part (b) runs it over the
layers below f2, seeded with an opaque ∂E/∂f2. Every claim is held to central differences of a
plain NumPy forward pass on rectangular shapes (n, m, K all different), with label weights that
do not sum to one, so a dropped transpose, a missing σ′ or o − y in place of (Σy)·o − y all fail.
"""

from __future__ import annotations

import numpy as np
import sympy as sp

from derivations.calculus.checks import numeric_gradient
from derivations.calculus.functions import sigmoid
from derivations.calculus.matrix_calculus import Elementwise, Softmax, backward, numeric
from derivations.calculus.oracles import FLOAT_TOLERANCE, Gradient, Identity, Reference
from derivations.calculus.rules import Ones
from derivations.calculus.symbols import partial_matrix
from derivations.core.errors import UserError
from derivations.core.model import Ints, Param, Problem, Variation

n, m, K = sp.symbols("n m K", integer=True, positive=True)
x, y = sp.MatrixSymbol("x", 1, n), sp.MatrixSymbol("y", 1, K)
W1, b1 = sp.MatrixSymbol("W1", n, m), sp.MatrixSymbol("b1", 1, m)
W2, b2 = sp.MatrixSymbol("W2", m, K), sp.MatrixSymbol("b2", 1, K)
f1, a = sp.MatrixSymbol("f1", 1, m), sp.MatrixSymbol("a", 1, m)
f2, o = sp.MatrixSymbol("f2", 1, K), sp.MatrixSymbol("o", 1, K)
E = sp.MatrixSymbol("E", 1, 1)
PARAMETERS = (W1, b1, W2, b2)
#: the forward values the answers are written in, which --values computes from INPUTS
DERIVED = ("f1", "a", "f2", "o")
INPUTS = {"x": (1, n), "W1": (n, m), "b1": (1, m), "W2": (m, K), "b2": (1, K), "y": (1, K)}

#: Σᵢ yᵢ as the 1×1 product y·1 (1 a K×1 column of ones)
SUM_Y = y * Ones(K, 1)
#: the rectangular sizes of the numeric checks: all different, so no dropped transpose fits
CHECK_SIZES = {"n": 3, "m": 5, "K": 4}
#: the label smoothing of the checks of o − y (targets (1 − ε)·e_c + ε/K, which sum to one)
SMOOTHING = 0.1
#: the smallest class probability of the check inputs
MIN_PROBABILITY = 0.05
#: two float64 evaluations of one quantity written in different orders
ROUNDING = 1e-12


# --------------------------------------------------------------------------------------------
# Plain NumPy: the model and its loss from any intermediate value on.

STAGES = ("f1", "a", "f2", "o", "E")


def numpy_forward(values, start="f1"):
    """Every named value of the model from ``values``, recomputing the stages from ``start`` on
    (earlier ones are taken as given), so ``start="o"`` is E as a function of f2."""
    v = dict(values)
    for stage in STAGES[STAGES.index(start):]:
        if stage == "f1":
            v["f1"] = v["x"] @ v["W1"] + v["b1"]
        elif stage == "a":
            v["a"] = 1.0 / (1.0 + np.exp(-v["f1"]))
        elif stage == "f2":
            v["f2"] = v["a"] @ v["W2"] + v["b2"]
        elif stage == "o":
            v["o"] = softmax(v["f2"])
        else:
            v["E"] = -float(np.sum(v["y"] * np.log(v["o"])))
    return v


def softmax(row):
    shifted = np.exp(row - row.max())
    return shifted / shifted.sum()


def loss_from(start):
    """E as a function of a dict of values, with ``start`` and everything after it recomputed."""
    return lambda v: numpy_forward(v, start)["E"]


def random_values(seed):
    """Random inputs of the check sizes with label weights in [0.5, 1.5] (summing to at least 2,
    as multi-label targets do), and the same inputs with label-smoothed one-hot targets. The
    first seed from ``seed`` on whose every oᵢ is at least MIN_PROBABILITY, since the
    curvature of log oᵢ, 2/oᵢ³, would otherwise swamp central differences in o."""
    classes = CHECK_SIZES["K"]
    while True:
        rng = np.random.default_rng(seed)
        values = {name: rng.normal(size=tuple(CHECK_SIZES.get(str(d), d) for d in shape))
                  for name, shape in INPUTS.items() if name != "y"}
        weights = rng.uniform(0.5, 1.5, size=(1, classes))
        smoothed = np.full((1, classes), SMOOTHING / classes)
        smoothed[0, rng.integers(classes)] += 1.0 - SMOOTHING
        general = numpy_forward({**values, "y": weights})
        if general["o"].min() >= MIN_PROBABILITY:
            return {**CHECK_SIZES, **general}, {**CHECK_SIZES, **numpy_forward({**values, "y": smoothed})}
        seed += 1


def softmax_points(seed, count=4):
    """Random points (o, y) with o a softmax, so every oᵢ > 0 and 1/oᵢ exists."""
    rng = np.random.default_rng(seed)
    shape = (1, CHECK_SIZES["K"])
    return [{"o": softmax(rng.normal(size=shape)), "y": rng.normal(size=shape)} for _ in range(count)]


def _inputs_only(values):
    """A definition run before --values are evaluated: every answer needs the forward values,
    which are computed from all six inputs, so a missing input is named (not the forward value
    it leaves undefined), and a given forward value, which would disagree with them, refused."""
    missing = [name for name in INPUTS if name not in values]
    if missing:
        raise UserError(f"--values is missing {', '.join(missing)} (it takes {', '.join(INPUTS)})")
    given = [name for name in DERIVED if name in values]
    if given:
        raise UserError(f"--values gives {', '.join(given)}, but the forward values {', '.join(DERIVED)} are "
                        "computed from x, W1, b1, W2 and b2: give those")


def _evaluated(expression):
    """A definition of a derived name: ``expression`` at the --values (and the names before it)."""
    return lambda values: numeric(expression, values)


def solve(p, sol):
    layers = [(f1, x * W1 + b1), (a, Elementwise(sigmoid, f1)), (f2, a * W2 + b2)]
    head = [(o, Softmax(f2.T).T), (E, -y * Elementwise(sp.log, o).T)]

    sol.assume("Row vectors, as the sheet writes them: x is 1×n, W1 is n×m, b1 and a are 1×m, W2 is m×K, and "
               "b2, f2, o and y are 1×K. σ acts entry by entry; softmax and log act on the K entries of f2 and o.")
    sol.assume("Numerator layout: for the scalar E and a p×q matrix V, ∂E/∂V is q×p, the shape of Vᵀ. So for the "
               "row vector x (1×n), ∂E/∂x is an n×1 COLUMN, ∂E/∂f2 is K×1, ∂E/∂W1 is m×n and ∂E/∂W2 is K×m. "
               "The gradient an optimizer subtracts (PyTorch's .grad) has the variable's own shape: it is the "
               "transpose (∂E/∂V)ᵀ, a 1×n row for x and a 1×K row, o − y, for f2.")
    sol.assume("The rule table's softmax acts on a column, so the row o is written softmax(f2ᵀ)ᵀ. The labels y are "
               "any non-negative weights; Σy = y·1 (1 a column of K ones) is 1 for one-hot and label-smoothed "
               "targets, and not for multi-label or unnormalised ones. E = −Σ yᵢ log oᵢ is PyTorch's "
               "cross_entropy(f2, y) with probability targets and reduction='sum' (one example).")
    sol.assume(f"The checks use random inputs with n = {CHECK_SIZES['n']}, m = {CHECK_SIZES['m']}, "
               f"K = {CHECK_SIZES['K']} (all different, so a dropped transpose cannot fit) and label weights "
               f"in [0.5, 1.5] (Σy ≥ 2), at a point where every oᵢ ≥ {MIN_PROBABILITY}; the checks of o − y use "
               f"the same inputs with one-hot targets smoothed by ε = {SMOOTHING}.")

    values, smoothed = random_values(p["seed"])
    d_f2 = partial_matrix("E", "f2", K, 1)
    seeded = {**values, d_f2.name: numeric_gradient(lambda v: loss_from("o")({**values, "f2": v}), values["f2"]).T}

    def central(wrt, start="f1", layout="numerator", at=values, what=""):
        """A claim about ∂E/∂(wrt) against central differences of the NumPy loss, recomputed
        from ``start`` on."""
        shaped = ", shaped like " + wrt if layout == "gradient" else ""
        return Gradient(loss=loss_from(start), wrt=wrt, values=at, layout=layout,
                        describe=f"central differences of E in {wrt}{shaped}{what}")

    def derivative_of(v):
        return partial_matrix("E", v.name, v.shape[1], v.shape[0])

    # (a) ∂E/∂f2, through the loss as the sheet writes it
    sol.step("The forward pass, one named value per operation:")
    for node, definition in layers + head:
        sol.step("", node, definition)
    top = backward(head, sp.Identity(1))
    as_o = {Softmax(f2.T): o.T}
    sol.step("(a) Backward from ∂E/∂E = 1. E = {loss} is linear in log(o)ᵀ, whose entrywise slope is 1/o, so "
             "(numerator layout: a K×1 column for the row o; (oᵀ)^(∘-1) is the column of 1/oᵢ)",
             derivative_of(o), top[o], math={"loss": head[1][1]}, check=central("o", "E"))
    chained = top[f2].xreplace(as_o)
    sol.step("o = softmax(f2ᵀ)ᵀ: the transpose rule and the table's softmax rule N·diag(s) − N·s·sᵀ "
             "(s = softmax(f2ᵀ) = oᵀ, so diag(s) − s·sᵀ is the softmax Jacobian) give",
             derivative_of(f2), chained, check=central("f2", "o"))
    general = o.T * SUM_Y - y.T
    sol.step("Simplify: diag(oᵀ)·diag((oᵀ)^(∘-1)) = I and o·diag((oᵀ)^(∘-1)) = 1ᵀ (oᵢ·(1/oᵢ) = 1), so the first term is "
             "−yᵀ and the second oᵀ·(y·1), with y·1 = Σᵢ yᵢ:", derivative_of(f2), general,
             check=Identity(of=chained, points=softmax_points(p["seed"]), tolerance=ROUNDING,
                            describe="the softmax-Jacobian form at random o > 0"))
    sol.step("When the labels sum to one (one-hot, or label-smoothed (1 − ε)·e_c + ε/K), y·1 = 1 and this is "
             "the familiar", derivative_of(f2), o.T - y.T, check=central("f2", "o", at=smoothed,
                                                                     what=", at labels summing to one"))
    gap_reference = Reference(compute=lambda: seeded[d_f2.name] - (values["o"] - values["y"]).T,
                              convert=lambda e: numeric(e, values), tolerance=FLOAT_TOLERANCE,
                              describe="central differences of E in f2 minus (o − y)ᵀ, at Σy ≠ 1")
    sol.step("When they do not (multi-label 0/1 targets, unnormalised weights), o − y is wrong by "
             "(Σy − 1)·o: the loss still pulls o towards y/Σy, not towards y.",
             derivative_of(f2) - (o - y).T, o.T * SUM_Y - o.T, check=gap_reference)

    # (b) the layers below f2, seeded with the opaque ∂E/∂f2
    grads = backward(layers, d_f2)
    sol.step("(b) Below f2 the backward pass needs only N = {d_f2}, the K×1 column of (a). f2 = {out} passes "
             "it to W2 (with a on its right: K×m, the shape of W2ᵀ), to b2 unchanged, and to a (times W2):",
             derivative_of(W2), grads[W2], math={"d_f2": d_f2, "out": layers[2][1]},
             check=central("W2", "f2", at=seeded))
    sol.step("", derivative_of(b2), grads[b2], check=central("b2", "f2", at=seeded))
    sol.step("", derivative_of(a), grads[a], check=central("a", "f2", at=seeded))
    sol.step("a = σ(f1) entry by entry: the column is multiplied entrywise by σ′(f1ᵀ) = σ(f1ᵀ)·(1 − σ(f1ᵀ)), "
             "that is by aᵀ ⊙ (1 − aᵀ):", derivative_of(f1), grads[f1], check=central("f1", "a", at=seeded))
    sol.step("f1 = {pre} passes ∂E/∂f1 to W1 (with x on its right: m×n, the shape of W1ᵀ), to b1 unchanged, and "
             "to x (times W1: an n×1 column, as numerator layout makes ∂E/∂x for the row x):",
             derivative_of(W1), grads[W1], math={"pre": layers[0][1]}, check=central("W1", at=seeded))
    sol.step("", derivative_of(b1), grads[b1], check=central("b1", at=seeded))
    sol.step("", derivative_of(x), grads[x], check=central("x", at=seeded))

    below = {v: grads[v].xreplace({d_f2: general}).doit() for v in (x,) + PARAMETERS}
    shaped = {v: sp.Transpose(below[v]).doit() for v in below}
    sol.step("Parameter shape: what the optimizer subtracts (PyTorch's .grad) is the transpose of each, shaped "
             "like the variable itself; with {n_f2} from (a):", math={"n_f2": d_f2})
    for v in (x,) + PARAMETERS:
        sol.step("", derivative_of(v).T, shaped[v], check=central(v.name, layout="gradient"))

    sol.answer("dE_df2", derivative_of(f2), general, check=central("f2", "o"))
    sol.answer("grad_f2", derivative_of(f2).T, sp.Transpose(general).doit(),
               check=central("f2", "o", layout="gradient"))
    sol.answer("grad_f2_labels_sum_to_one", derivative_of(f2).T, o - y,
               check=central("f2", "o", layout="gradient", at=smoothed, what=", at labels summing to one"))
    for v in (x,) + PARAMETERS:
        sol.answer(f"dE_d{v.name}", derivative_of(v), below[v], check=central(v.name))
        sol.answer(f"grad_{v.name}", derivative_of(v).T, shaped[v], check=central(v.name, layout="gradient"))
    sol.answer("labels", sp.Symbol("labels"), None, text=(
        "(a) ∂E/∂f2 = (Σy)·o − y as a 1×K row (numerator layout: its transpose, the K×1 column (Σy)·oᵀ − yᵀ), "
        "since ∂(−Σ yᵢ log oᵢ)/∂f2ⱼ = −yⱼ + oⱼ·Σᵢ yᵢ. For one-hot labels, and for label smoothing, which keeps "
        "Σy = 1, this is o − y. For multi-label or unnormalised targets (Σy ≠ 1) o − y is wrong by (Σy − 1)·o: "
        "the gradient is (Σy)·(o − y/Σy), so it scales with Σy and vanishes at o = y/Σy, not at o = y (no "
        "softmax output can equal a y that does not sum to one). Dividing E by Σy, or normalising y, gives back "
        "o − y for the normalised target."))
    sol.answer("gradients", sp.Symbol("gradients"), None, text=(
        "(b) With δ2 = (Σy)·o − y (1×K) and δ1 = (δ2·W2ᵀ) ⊙ a ⊙ (1 − a) (1×m), ⊙ entrywise: the gradients an "
        "optimizer subtracts (PyTorch's .grad, each shaped like its variable) are W2: aᵀ·δ2 (m×K), b2: δ2, "
        "W1: xᵀ·δ1 (n×m), b1: δ1 and x: δ1·W1ᵀ (1×n). In numerator layout each is transposed: ∂E/∂x = W1·δ1ᵀ "
        "is an n×1 column, ∂E/∂W1 = δ1ᵀ·x is m×n, ∂E/∂W2 = δ2ᵀ·a is K×m, ∂E/∂b1 = δ1ᵀ and ∂E/∂b2 = δ2ᵀ. The "
        "formula answers are the same, written in the inputs and the forward values f1, a and o (which --values "
        "computes from the inputs)."))

    sol.inputs = dict(INPUTS)
    sol.definitions.append(("inputs only", _inputs_only))
    sol.definitions += [(node.name, _evaluated(definition)) for node, definition in layers + head[:1]]


def _variant_inputs(rng) -> dict[str, np.ndarray]:
    """Numbers for the key, small enough to work by hand: distinct sizes n, m, K (so a missing
    transpose cannot go unseen), weights −1, 0, 1, other entries −2 … 2, a one-hot label."""
    n_, m_, k_ = (int(d) for d in rng.choice(np.arange(2, 6), size=3, replace=False))
    shapes = {"x": (1, n_), "W1": (n_, m_), "b1": (1, m_), "W2": (m_, k_), "b2": (1, k_)}
    values = {name: rng.integers(-1 if name[0] == "W" else -2, 2 if name[0] == "W" else 3, size=shape).astype(float)
              for name, shape in shapes.items()}
    return values | {"y": np.eye(k_)[[int(rng.integers(k_))]]}


PROBLEM = Problem(
    id="a1/problem3",
    title="Backpropagation through a sigmoid/softmax classifier in row vectors",
    kind="matrix calculus",
    statement=(
        "A network takes a row vector x (1×n) to a hidden layer f1 = xW1 + b1, a = σ(f1) (W1 is n×m, b1 is "
        "1×m, σ the logistic sigmoid) and an output layer f2 = aW2 + b2, o = softmax(f2) (W2 is m×K, b2 is "
        "1×K), and is trained with the cross-entropy E = −Σₖ yₖ log oₖ against the label y. (a) Find ∂E/∂f2 "
        "in terms of o and y. (b) Find ∂E/∂x. (Also: every parameter's gradient, and what changes when the "
        "labels do not sum to one.)"),
    solve_fn=solve,
    params=(Param("seed", 0, "random rectangular inputs of the numeric checks", kind="int", shown=False, vary=Ints(1, 999_999)),),
    variation=Variation(inputs=lambda rng, p: _variant_inputs(rng)),
)
