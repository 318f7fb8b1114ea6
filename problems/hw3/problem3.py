"""hw3/problem3: one sigmoid unit with BCE versus two softmax units with CE for two classes."""

import numpy as np
import sympy as sp

from derivations.calculus.checks import numeric_gradient
from derivations.calculus.functions import numpy_function, sigmoid
from derivations.calculus.oracles import Identity, Reference
from derivations.core.model import Ints, Param, Problem
from derivations.calculus.symbols import partial

# Symbol names are the `--values` names: the letter and its index without an underscore.
z1, z2, d, y = sp.symbols("z1 z2 d y", real=True)
H = sp.Symbol("H", positive=True, integer=True)


def solve(p, sol):
    width = p["hidden_width"]
    rng = np.random.default_rng(3)
    logits = rng.normal(0, 3, size=(50, 2))
    labels = rng.integers(0, 2, size=50)
    sol.assume("Both networks share everything up to a last hidden layer of width H; only the output layer differs.")
    sol.assume("Net-1 predicts P(class 1) = σ(d) from one logit d; Net-2 predicts (P(class 0), P(class 1)) "
               "= softmax(z₁, z₂) from two logits. Label y ∈ {0, 1}; Net-2 uses the one-hot (1 − y, y).")
    sol.assume("--values names: z1, z2 (Net-2's logits) and y (the label, 0 or 1), for the formula answers "
               "softmax_class1 and ce_logit_gradient.")
    sol.inputs = {"z1": (), "z2": (), "y": ()}
    bce = -(y * sp.log(sigmoid(d)) + (1 - y) * sp.log(1 - sigmoid(d)))
    sol.step("Net-1's output layer is one linear unit followed by the logistic sigmoid; BCE compares {p1} "
             "with {y}.", sp.Symbol("L_BCE"), bce, math={"p1": sigmoid(d), "y": y})
    softmax_1 = sp.exp(z2) / (sp.exp(z1) + sp.exp(z2))
    ce = -((1 - y) * sp.log(1 - softmax_1) + y * sp.log(softmax_1))
    sol.step("Net-2's output layer is two linear units followed by softmax; CE compares it with the one-hot label.",
             sp.Symbol("L_CE"), ce)
    sol.step("Divide numerator and denominator of Net-2's class-1 probability {p2} by {ez2}:",
             softmax_1, 1 / (1 + sp.exp(-(z2 - z1))), math={"p2": sp.Symbol("p_2"), "ez2": sp.exp(z2)},
             check=Identity())
    sol.step("That is the sigmoid of the logit difference, so softmax over two classes is a sigmoid of d = {d}:",
             softmax_1, sigmoid(z2 - z1), math={"d": z2 - z1}, check=Identity())
    sol.step("Hence {ce} = {bce} at d = {d}: adding a constant to both logits changes nothing, so Net-2 carries "
             "one redundant set of output weights. The gradients agree, {dce} = {dbce}, and the one in {z1} is "
             "its negative:", partial("L_CE", "z2"), sigmoid(z2 - z1) - y,
             math={"ce": sp.Function("L_CE")(z1, z2), "bce": sp.Function("L_BCE")(d), "d": z2 - z1,
                   "dce": partial("L_CE", "z2"), "dbce": partial("L_BCE", "d"), "z1": z1},
             check=Identity(of=sp.Derivative(ce, z2)))
    sol.step("", partial("L_CE", "z1"), -(sigmoid(z2 - z1) - y), check=Identity(of=sp.Derivative(ce, z1)))
    sol.answer("softmax_class1", sp.Symbol("p_2"), sigmoid(z2 - z1),
               check=Reference(compute=lambda: _softmax(logits)[:, 1], convert=lambda e: _at(e, logits),
                               describe="a NumPy softmax on random logits", tolerance=1e-12))
    sol.answer("ce_logit_gradient", partial("L_CE", "z2"), sigmoid(z2 - z1) - y,
               check=Reference(compute=lambda: [numeric_gradient(lambda z: _ce(z, labels[i]), logits[i])[1]
                                                for i in range(10)],
                               convert=lambda e: _at(e, logits[:10], labels[:10]),
                               describe="finite differences of a NumPy cross-entropy", tolerance=1e-7))
    sol.answer("net1_output_parameters", sp.Symbol("params(Net-1 output)"), width + 1,
               check=Reference(compute=lambda: _count([(width, 1), (1,)]), describe="allocated weight arrays",
                               tolerance=0))
    sol.answer("net2_output_parameters", sp.Symbol("params(Net-2 output)"), 2 * (width + 1),
               check=Reference(compute=lambda: _count([(width, 2), (2,)]), describe="allocated weight arrays",
                               tolerance=0))
    sol.answer("difference", sp.Symbol("difference"), None, text=(
        "Net-1 ends in ONE output unit with a sigmoid, giving P(class 1) directly (P(class 0) = 1 − it), and is "
        "trained with binary cross-entropy. Net-2 ends in TWO output units with a softmax, giving a probability "
        "for each class, and is trained with categorical cross-entropy on one-hot labels. The two are "
        "equivalent in what they can express: Net-2's class-1 probability is σ(z₂ − z₁), so Net-2 equals "
        f"Net-1 with logit d = z₂ − z₁, at the cost of twice the output parameters ({width + 1} vs "
        f"{2 * (width + 1)} for H = {width}), one set of which is redundant."))


def _at(expr, logits, label=0):
    f = numpy_function((z1, z2, y), sp.sympify(expr))
    return np.broadcast_to(f(logits[:, 0], logits[:, 1], label), (len(logits),))


def _softmax(logits):
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


def _ce(z, label):
    return -np.log(_softmax(z[None, :])[0, label])


def _count(shapes):
    return sum(np.zeros(s).size for s in shapes)


PROBLEM = Problem(
    id="hw3/problem3",
    title="Two classes: sigmoid + BCE versus softmax + CE",
    kind="conceptual, with a numeric demonstration",
    statement=("A two-class problem can be trained with binary cross-entropy or with cross-entropy. Net-1 uses "
               "the former and Net-2 the latter; the networks are identical except for their output layers. "
               "How do the two output layers differ, and how are their predictions related?"),
    solve_fn=solve,
    params=(Param("hidden_width", 16, "width H of the last hidden layer (for the parameter counts)", kind="int",
                  minimum=1, vary=Ints(8, 512)),),
)
