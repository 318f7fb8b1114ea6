"""hw3/problem3: one sigmoid unit with BCE versus two softmax units with CE for two classes."""

import numpy as np
import sympy as sp

from derivations.calculus.checks import max_abs_error, numeric_gradient
from derivations.calculus.functions import numpy_function, sigmoid
from derivations.core.model import Param, Problem
from derivations.calculus.symbols import partial

z1, z2, d, y = sp.symbols("z_1 z_2 d y", real=True)
H = sp.Symbol("H", positive=True, integer=True)


def solve(p, sol):
    width = p["hidden_width"]
    sol.assume("Both networks share everything up to a last hidden layer of width H; only the output layer differs.")
    sol.assume("Net-1 predicts P(class 1) = σ(d) from one logit d; Net-2 predicts (P(class 0), P(class 1)) "
               "= softmax(z₁, z₂) from two logits. Label y ∈ {0, 1}; Net-2 uses the one-hot (1 − y, y).")
    sol.step("Net-1's output layer is one linear unit followed by the logistic sigmoid; BCE compares σ(d) with y.",
             sp.Symbol("L_BCE"), -(y * sp.log(sigmoid(d)) + (1 - y) * sp.log(1 - sigmoid(d))))
    softmax_1 = sp.exp(z2) / (sp.exp(z1) + sp.exp(z2))
    sol.step("Net-2's output layer is two linear units followed by softmax; CE compares it with the one-hot label.",
             sp.Symbol("L_CE"), -((1 - y) * sp.log(1 - softmax_1) + y * sp.log(softmax_1)))
    sol.step("Divide numerator and denominator of Net-2's class-1 probability p₂ by e^(z₂):",
             softmax_1, 1 / (1 + sp.exp(-(z2 - z1))))
    sol.step("That is the sigmoid of the logit difference, so softmax over two classes is a sigmoid of d = z₂ − z₁:",
             softmax_1, sigmoid(z2 - z1))
    sol.step("Hence L_CE(z₁, z₂) = L_BCE(d) at d = z₂ − z₁, and the gradients agree: ∂L_CE/∂z₂ = σ(z₂ − z₁) − y "
             "= ∂L_BCE/∂d, while ∂L_CE/∂z₁ is its negative. Adding a constant to both logits changes nothing, "
             "so Net-2 carries one redundant set of output weights.")
    sol.answer("softmax_class1", sp.Symbol("p_2"), sigmoid(z2 - z1))
    sol.answer("ce_logit_gradient", partial("L_CE", "z_2"), sigmoid(z2 - z1) - y)
    sol.answer("net1_output_parameters", sp.Symbol("params(Net-1 output)"), width + 1)
    sol.answer("net2_output_parameters", sp.Symbol("params(Net-2 output)"), 2 * (width + 1))
    sol.answer("difference", sp.Symbol("difference"), None, text=(
        "Net-1 ends in ONE output unit with a sigmoid, giving P(class 1) directly (P(class 0) = 1 − it), and is "
        "trained with binary cross-entropy. Net-2 ends in TWO output units with a softmax, giving a probability "
        "for each class, and is trained with categorical cross-entropy on one-hot labels. The two are "
        "equivalent in what they can express: Net-2's class-1 probability is σ(z₂ − z₁), so Net-2 equals "
        f"Net-1 with logit d = z₂ − z₁, at the cost of twice the output parameters ({width + 1} vs "
        f"{2 * (width + 1)} for H = {width}), one set of which is redundant."))

    rng = np.random.default_rng(3)
    logits = rng.normal(0, 3, size=(50, 2))
    labels = rng.integers(0, 2, size=50)
    sol.check("σ(z₂ − z₁) vs a NumPy softmax on random logits",
              lambda a: max_abs_error(_at(a["softmax_class1"], logits), _softmax(logits)[:, 1]), 1e-12)
    sol.check("∂L_CE/∂z₂ vs finite differences of a NumPy cross-entropy",
              lambda a: max(max_abs_error(_at(a["ce_logit_gradient"], logits[i:i + 1], labels[i])[0],
                                          numeric_gradient(lambda z: _ce(z, labels[i]), logits[i])[1])
                            for i in range(10)), 1e-7)
    sol.check("output parameter counts vs allocated weight arrays",
              lambda a: max(abs(a["net1_output_parameters"] - _count([(width, 1), (1,)])),
                            abs(a["net2_output_parameters"] - _count([(width, 2), (2,)]))), 0)


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
                  minimum=1),),
)
