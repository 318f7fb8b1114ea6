"""hw1/problem3: hw1/problem2's net as a classifier. (a) f = g = σ: what changes in the forward
pass, the gradients and the Jacobians; (b) f = ReLU, g = σ: why ReLU trains deeper nets.

Nothing is re-derived here: hw1/problem2 is solved again with the activations set, and the
differences are read off its answers. Part (b)'s depth demonstration runs the NumPy backend's
backward pass through deep nets and checks it by the complex step, which needs no backward pass.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import cache

import numpy as np
import sympy as sp

from derivations.backend.nn import Linear, MSELoss, Sequential, Sigmoid
from derivations.backend.nn.activations import make_activation
from derivations.calculus.checks import numeric_jacobian
from derivations.calculus.functions import sigmoid
from derivations.calculus.matrix_calculus import numerator_gradient, numeric
from derivations.calculus.oracles import FLOAT_TOLERANCE, Reference
from derivations.calculus.printing import inline
from derivations.calculus.symbols import partial_matrix
from derivations.core.model import Ints, Param, Problem
from derivations.problems.hw1 import problem2 as p2

#: part -> (f, g); part (a) compares with the sheet's regression net of hw1/problem2
PAIRS = {"a": ("sigmoid", "sigmoid"), "b": ("relu", "sigmoid")}
SHEET = ("relu", "identity")
NODES = (p2.z1, p2.z2, p2.z3, p2.yhat)
#: hw1/problem2's answer name -> the Jacobian symbol its gradients are written with
JACOBIANS = {"dz2_dz1": p2.dz2_dz1, "dyhat_dz3": p2.dyhat_dz3, "dl_dyhat": p2.dl_dyhat}
PARAMETERS = ("W1", "b1", "W2", "b2")
FORWARD, GRADIENTS = ("z1", "z2", "z3", "yhat", "loss"), tuple(f"dl_d{name}" for name in PARAMETERS)
#: a node is written with the nodes before it
ORDER = {node.name: i for i, node in enumerate(NODES)}

#: the depth demonstration: K sigmoid outputs and the one-hot label of the first class
K_DEEP = 2
TARGET = np.eye(1, K_DEEP)
INIT = {"sigmoid": "xavier-normal", "relu": "he"}
INIT_TEXT = {"sigmoid": "Xavier (Glorot) normal, N(0, 2/(fan_in + fan_out))", "relu": "He normal, N(0, 2/fan_in)"}
#: how f is written in prose, and in the names of the demonstration's symbols (G_σ, r_ReLU, …)
NAME = {"sigmoid": "σ", "relu": "ReLU"}
LABEL = {"sigmoid": "sigma", "relu": "ReLU"}
#: Im ℓ(z + ih)/h involves no subtraction, so h can lie far below float64's ε
COMPLEX_STEP = 1e-30
#: log-scale (relative) agreement of the backend's backward pass and the complex step
RELATIVE_TOLERANCE = 1e-10


@dataclass
class Solved:
    """hw1/problem2 solved for one (f, g): its answers in x, y, W1, b1, W2, b2 (``full``) and
    with the node names z1, z2, z3, ŷ (``nodes``); the gradients with part (d)'s Jacobians put
    in (``explicit``, ``explicit_nodes``); and, for the checks, a random rectangular point
    with the NumPy forward values and central-difference Jacobians there (``at``)."""

    f: str
    g: str
    full: dict
    nodes: dict
    explicit: dict
    explicit_nodes: dict
    at: dict

    def loss(self, values):
        return p2.numpy_forward(values, self.f, self.g)["loss"]


def node_form(expr, full, upto=len(NODES)):
    """``expr`` with the full expressions of the first ``upto`` nodes replaced by their names,
    the latest first (so σ(W2·σ(W1·x + b1) + b2) becomes ŷ, not σ(z3))."""
    for node in reversed(NODES[:upto]):
        expr = _replace(expr, full[node.name], node)
    return expr


def _replace(expr, target, name):
    """``expr`` with ``target`` written ``name``, also inside a longer sum: with target a + b,
    a + b − y becomes name − y (a sum that SymPy merged on expanding the nodes)."""
    expr = expr.xreplace({target: name})
    if not isinstance(target, sp.MatAdd):
        return expr
    terms = set(target.args)
    return expr.replace(lambda e: isinstance(e, sp.MatAdd) and terms < set(e.args),
                        lambda e: sp.MatAdd(name, *(t for t in e.args if t not in terms)).doit(deep=False))


def solved(f, g):
    """hw1/problem2's solution for activations ``f``, ``g``, in the forms this problem shows."""
    full = p2.PROBLEM.solve({"f": f, "g": g}).answer_values()
    nodes = {name: node_form(value, full, ORDER.get(name, len(NODES)))
             for name, value in full.items() if isinstance(value, sp.Basic)}
    plug = {symbol: full[name] for name, symbol in JACOBIANS.items()}
    explicit = {name: full[name].xreplace(plug) for name in GRADIENTS}
    values = p2.random_values()
    forward = p2.numpy_forward(values, f, g)
    at = {**values, **{node.name: forward[node.name] for node in NODES}, "loss": np.array([[forward["loss"]]]),
          p2.dz2_dz1.name: numeric_jacobian(p2.NUMERIC[f], forward["z1"]),
          p2.dyhat_dz3.name: numeric_jacobian(p2.NUMERIC[g], forward["z3"]),
          p2.dl_dyhat.name: numeric_jacobian(lambda o: np.sum((o - values["y"]) ** 2), forward["yhat"])}
    return Solved(f, g, full, nodes, explicit, {k: node_form(v, full) for k, v in explicit.items()}, at)


def _at(expr, values):
    """``expr`` at ``values``; NaN (a failed check) when it does not evaluate."""
    try:
        return numeric(expr, values)
    except (KeyError, ValueError, TypeError):
        return np.nan


def _inline(expr):
    """One-line text of a formula, for prose (composed accents: ŷ, not y + U+0302)."""
    return unicodedata.normalize("NFC", inline(expr))


# --------------------------------------------------------------------------------------------
# The depth demonstration.

def deep_net(f, depth, width, seed):
    """``depth`` hidden layers Linear(width → width) → f, then Linear(width → K) → σ, built by
    the NumPy backend in float64 with f's standard init and zero biases. Both activations
    draw the same standard-normal numbers (their inits differ only in scale), and the same
    standard-normal input x."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((1, width))
    linears = [Linear(width, out, weight_init=INIT[f], layout="out_in", rng=rng, dtype=np.float64)
               for out in [width] * depth + [K_DEEP]]
    layers = [layer for linear in linears[:-1] for layer in (linear, make_activation(f))] + [linears[-1], Sigmoid()]
    return x, linears, Sequential(*layers)


def backend_norms(f, depth, width, seed):
    """‖∂ℓ/∂W_k‖ (Frobenius) of each hidden layer k = 1 … depth, from the backend's backward pass."""
    x, linears, net = deep_net(f, depth, width, seed)
    criterion = MSELoss(reduction="sum")
    criterion.forward(net.forward(x), TARGET)
    net.backward(criterion.backward())
    return [float(np.linalg.norm(linear.W.grad)) for linear in linears[:-1]]


def complex_step_norms(f, depth, width, seed):
    """The same norms with no backward pass. W_k enters only through z_k = W_k·a + b_k, so
    ∂ℓ/∂W_k = a·∂ℓ/∂z_k (rank one) and ‖∂ℓ/∂W_k‖ = ‖a‖·‖∂ℓ/∂z_k‖. Entry i of ∂ℓ/∂z_k is
    Im ℓ(z_k + ih·e_i)/h: each e_i is a column of one complex batch run forward (columns,
    z = Wa + b), exact to rounding however small the derivative is."""
    x, linears, _ = deep_net(f, depth, width, seed)
    act = {"sigmoid": lambda z: 1 / (1 + np.exp(-z)), "relu": lambda z: np.where(z.real > 0, z, 0)}[f]
    weights = [(linear.W.data.astype(complex), linear.b.data[:, None]) for linear in linears]  # BLAS for W·h
    inputs = [x.T]
    for W, b in weights[:-1]:
        inputs.append(act(W @ inputs[-1] + b))
    norms = []
    for k, (W, b) in enumerate(weights[:-1]):
        h = act(W @ inputs[k] + b + 1j * COMPLEX_STEP * np.eye(W.shape[0]))
        for W_next, b_next in weights[k + 1:-1]:
            h = act(W_next @ h + b_next)
        out = 1 / (1 + np.exp(-(weights[-1][0] @ h + weights[-1][1])))
        loss = np.sum((out - TARGET.T) ** 2, axis=0)
        norms.append(float(np.linalg.norm(inputs[k]) * np.linalg.norm(loss.imag / COMPLEX_STEP)))
    return norms


def per_layer_factor(norms):
    """The geometric-mean factor by which ‖∂ℓ/∂W_k‖ changes per layer, from the last hidden
    layer down to the first."""
    return (norms[0] / norms[-1]) ** (1 / (len(norms) - 1))


def _logs(values):
    """For a relative comparison: the logarithms of positive numbers (NaN for anything else)."""
    values = np.asarray(values, dtype=float)
    return np.log(values) if values.size and np.all(values > 0) else np.full(values.shape, np.nan)


# --------------------------------------------------------------------------------------------

def solve(p, sol):
    sheet = solved(*SHEET)
    pairs = {part: solved(f, g) for part, (f, g) in PAIRS.items()}

    sol.assume("The net, the numerator layout and the loss are hw1/problem2's: z1 = W1x + b1, z2 = f(z1), "
               "z3 = W2z2 + b2, ŷ = g(z3) and ℓ = ‖ŷ − y‖² summed over the K outputs for one pair (x, y), with "
               "x n×1, W1 m×n, W2 K×m. Every formula below comes from solving hw1/problem2 again with f and g set.")
    sol.assume("Classification with the MSE loss: y holds the K class targets (a one-hot label), and σ keeps "
               "every ŷₖ in (0, 1).")
    sol.assume("ReLU′(u) = H(u), the Heaviside step with H(0) = 0, as PyTorch takes it.")
    sol.assume(f"Depth demonstration: L = {p['depth']} hidden layers Linear(w → w) → f of width w = {p['width']}, "
               f"then Linear(w → {K_DEEP}) → σ, and ℓ = ‖ŷ − y‖² for the one-hot label of class 1, with a "
               f"standard-normal input x and zero biases. The weights have f's standard init, for σ "
               f"{INIT_TEXT['sigmoid']} and for ReLU {INIT_TEXT['relu']}, scaling the same standard-normal "
               f"draws (seed {p['seed']}); float64 throughout.")
    sol.assume("--values names: x, y, W1, b1, W2, b2 (one pair; a flat list is read as a column vector); they "
               "evaluate the formula answers of both parts.")

    _part_a(sol, sheet, pairs["a"])
    _part_b(sol, pairs["b"])
    _depth(sol, p["depth"], p["width"], p["seed"], pairs["b"])
    sol.inputs = dict(p2.SHAPES)  # the formula answers are written in these names alone


def _symbol(name):
    """The left side that hw1/problem2's answer ``name`` is the value of."""
    if name.startswith("dl_d") and name[4:] in PARAMETERS:
        parameter = getattr(p2, name[4:])
        return partial_matrix("ℓ", name[4:], parameter.shape[1], parameter.shape[0])
    return {**{node.name: node for node in NODES}, "loss": p2.ell, **JACOBIANS}[name]


def _check(model, name):
    """The oracle for hw1/problem2's answer ``name`` under ``model``: a layer against the NumPy
    forward pass, a gradient against central differences of ℓ, a Jacobian against a
    central-difference Jacobian, all at the random rectangular point. The claim is evaluated
    with that forward pass's values put in for the node expressions it contains: exact, and
    it keeps SymPy's compilation of the claim small."""
    if name in GRADIENTS:
        wrt = name[4:]
        compute = lambda: numerator_gradient(lambda w: model.loss({**model.at, wrt: w}), model.at[wrt])  # noqa: E731
        what, tolerance = "central differences of ℓ (numerator layout)", FLOAT_TOLERANCE
    elif name in JACOBIANS:
        compute, what, tolerance = lambda: model.at[JACOBIANS[name].name], "a central-difference Jacobian", 1e-6
    else:
        compute, what, tolerance = lambda: model.at[name], "a NumPy forward pass", 1e-12
    upto = ORDER.get(name, len(NODES))
    return Reference(compute=compute, convert=lambda e: _at(node_form(e, model.full, upto), model.at),
                     tolerance=tolerance, describe=f"{what} with f = {model.f}, g = {model.g}")


GROUPS = (
    (FORWARD, "(a) Forward pass (hw1/problem2's part (b)), each layer in terms of the one before: only f and g "
              "themselves are new."),
    (GRADIENTS, "(a) Backward pass (part (c)) in terms of the three Jacobians: backpropagation multiplies the "
                "upstream row by the same Jacobians in the same order whatever f and g are."),
    (tuple(JACOBIANS), "(a) Jacobians (part (d)): f and g act entry by entry, so their Jacobians are diagonal with "
                       "f′ and g′ of the pre-activation on the diagonal; ∂ℓ/∂ŷ depends on the loss alone."),
)


def _part_a(sol, sheet, sig):
    changed = {name for name in sig.nodes if not sig.nodes[name].dummy_eq(sheet.nodes[name])}  # Lambda's bound u
    sol.step("(a) Solve hw1/problem2's model again with f = g = σ and compare every quantity, written with the "
             "node names z1, z2, z3, ŷ, with the sheet's regression choice f = ReLU, g = identity.")
    for names, intro in GROUPS:
        sol.step(intro)
        for name in names:
            if name in changed:
                sol.step("{lhs} was {old}; now", _symbol(name), sig.nodes[name],
                         math={"lhs": _symbol(name), "old": sheet.nodes[name]}, check=_check(sig, name))
            else:
                sol.step("Unchanged:", _symbol(name), sig.nodes[name], check=_check(sig, name))
        if names == GRADIENTS:
            sol.step("(a) With part (d)'s Jacobians put in, each gradient carries a factor σ′ = σ(1 − σ) for every σ "
                     "between ℓ and the parameter:")
            for name in GRADIENTS:
                sol.step("Written out:", _symbol(name), sig.explicit_nodes[name], check=_check(sig, name))

    for name in FORWARD[1:]:
        sol.answer(f"a_{name}", _symbol(name), sig.full[name], check=_check(sig, name))
    for name in GRADIENTS:
        sol.answer(f"a_{name}", _symbol(name), sig.explicit[name], check=_check(sig, name))
    for name in JACOBIANS:
        sol.answer(f"a_{name}", _symbol(name), sig.full[name], check=_check(sig, name))
    sol.answer("a_changes", None, text=_changes(sheet, sig, changed))


def _changes(sheet, sig, changed):
    """Part (a)'s answer in words, read off the comparison of the two solutions."""
    def compared(names):
        new = [f"{_inline(_symbol(n))} = {_inline(sig.nodes[n])} (was {_inline(sheet.nodes[n])})"
               for n in names if n in changed]
        same = [f"{_inline(_symbol(n))} = {_inline(sig.nodes[n])}" for n in names if n not in changed]
        return "; ".join(part for part in ("now " + ", ".join(new) if new else "",
                                           "unchanged " + ", ".join(same) if same else "") if part)

    return (f"(a) Forward pass, part (b): {compared(FORWARD)}; ŷ now lies in (0, 1). Gradients, part (c), in "
            f"terms of the three Jacobians: {compared(GRADIENTS)}. Put in, every σ between ℓ and a parameter "
            f"brings a factor σ′ = σ(1 − σ) ≤ 1/4, e.g. {_inline(_symbol('dl_dW1'))} = "
            f"{_inline(sig.explicit_nodes['dl_dW1'])}. Jacobians, part (d): {compared(JACOBIANS)}.")


def _part_b(sol, relu_sig):
    sol.step("(b) Solve hw1/problem2's model again with f = ReLU, g = σ. The hidden Jacobian holds H(z1): 1 for an "
             "active unit and 0 for the others, never a fraction in between,", p2.dz2_dz1, relu_sig.nodes["dz2_dz1"],
             check=_check(relu_sig, "dz2_dz1"))
    sol.step("and the output Jacobian is σ′ of z3, as in (a):", p2.dyhat_dz3, relu_sig.nodes["dyhat_dz3"],
             check=_check(relu_sig, "dyhat_dz3"))
    sol.step("(b) So the gradients, with the Jacobians put in, carry one σ′ factor (from the output) and the "
             "0/1 mask H(z1) of the hidden layer:")
    for name in GRADIENTS:
        sol.step("Written out:", _symbol(name), relu_sig.explicit_nodes[name], check=_check(relu_sig, name))
    for name in GRADIENTS:
        sol.answer(f"b_{name}", _symbol(name), relu_sig.explicit[name], check=_check(relu_sig, name))
    for name in ("dz2_dz1", "dyhat_dz3"):
        sol.answer(f"b_{name}", _symbol(name), relu_sig.full[name], check=_check(relu_sig, name))


def _depth(sol, depth, width, seed, relu_sig):
    u = sp.Symbol("u", real=True)
    grid = np.linspace(-10, 10, 2001)
    peak = Reference(compute=lambda: float(np.max(np.exp(-grid) / (1 + np.exp(-grid)) ** 2)), tolerance=1e-15,
                     describe="the largest e^(−u)/(1 + e^(−u))² on a grid through 0")
    sol.step("(b) Why ReLU helps depth. Going backwards through a hidden layer multiplies the gradient row by the "
             "next weight matrix and by f's diagonal Jacobian, as in {d} = {chain}, and a deep net does this once "
             "per hidden layer. For f = σ the diagonal entries are {slope}, a product of two numbers in (0, 1) "
             "that sum to 1, so their largest value s_max, taken at u = 0, is",
             sp.Symbol("s_max"), sp.Rational(1, 4), check=peak,
             math={"d": _symbol("dl_db1"), "chain": relu_sig.nodes["dl_db1"],
                   "slope": sp.diff(sigmoid(u), u)})

    key = (depth, width, seed)
    backend = {f: backend_norms(f, *key) for f in INIT}
    reference = cache(lambda f: complex_step_norms(f, *key))

    def against(f, value=lambda norms: norms):
        return Reference(compute=lambda: _logs(value(reference(f))), convert=_logs, tolerance=RELATIVE_TOLERANCE,
                         describe=f"the complex step with f = {f}, no backward pass (logarithms)")

    ratio = lambda norms: norms[0] / norms[-1]  # noqa: E731
    symbols = {f: {kind: sp.Symbol(f"{kind}_{LABEL[f]}") for kind in ("G", "r", "rho")} for f in INIT}
    for f, norms in backend.items():
        sol.step(f"(b) The NumPy backend's backward pass through the deep {NAME[f]} net gives ‖∂ℓ/∂W_k‖ "
                 "(Frobenius) for the hidden layers k = 1, …, {L}, the first layer first:",
                 symbols[f]["G"], norms, math={"L": depth}, check=against(f))
    sol.step("(b) So the first hidden layer of the σ net gets this fraction of the last one's gradient, of the size "
             "of (1/4)^(L − 1) = {value}:", symbols["sigmoid"]["r"], ratio(backend["sigmoid"]),
             math={"value": sp.Float(0.25 ** (depth - 1), 3)}, check=against("sigmoid", ratio))
    sol.step("(b) while the first hidden layer of the ReLU net gets", symbols["relu"]["r"], ratio(backend["relu"]),
             check=against("relu", ratio))
    sol.step("(b) Per layer on the way down, the σ net's gradient shrinks by the factor (a geometric mean; each "
             "σ′ is at most {quarter})", symbols["sigmoid"]["rho"], per_layer_factor(backend["sigmoid"]),
             math={"quarter": sp.Rational(1, 4)}, check=against("sigmoid", per_layer_factor))
    sol.step("(b) and the ReLU net's changes by the factor", symbols["relu"]["rho"], per_layer_factor(backend["relu"]),
             check=against("relu", per_layer_factor))

    for f, norms in backend.items():
        sol.answer(f"depth_norms_{f}", symbols[f]["G"], norms, check=against(f))
        sol.answer(f"depth_ratio_{f}", symbols[f]["r"], ratio(norms), check=against(f, ratio))
        sol.answer(f"depth_factor_{f}", symbols[f]["rho"], per_layer_factor(norms), check=against(f, per_layer_factor))
    sol.answer("why_relu", None, text=(
        "(b) Backpropagation multiplies the gradient by f′ once per hidden layer. σ′ = σ(1 − σ) is at most "
        "1/4, and near 0 once a unit saturates, so even with weights that keep norms on average (Xavier init) "
        "the gradient reaching the first layers of a deep σ net shrinks roughly like (1/4)^depth, and those "
        "layers barely learn (vanishing gradients). ReLU′ is exactly 1 on every active unit, so the gradient "
        "passes through unscaled and never saturates for positive inputs; with He init (variance 2/fan_in, "
        "making up for the units that are off) its size stays of order one through depth, as the numbers "
        "above show. ReLU is also cheap and gives sparse activations; its cost is that a unit whose input is "
        "negative on every example gets no gradient at all (a dead unit). Keeping g = σ at the output costs "
        "one factor σ′, not one per layer, and gives class scores in (0, 1)."))


PROBLEM = Problem(
    id="hw1/problem3",
    title="The two-layer net as a classifier: sigmoid activations, and ReLU for depth",
    kind="matrix calculus + conceptual",
    statement=(
        "Take hw1/problem2's net (Linear1 → f → Linear2 → g, outputs z1, z2, z3, ŷ) and its loss ℓ = ‖ŷ − y‖², now "
        "for classification. (a) With f = g = σ, the logistic sigmoid σ(u) = 1/(1 + e^(−u)), and the same loss, "
        "what changes in hw1/problem2's forward pass (b), gradients (c) and Jacobians (d)? (b) Keep g = σ but "
        "take f = ReLU: explain why this hidden activation helps when training a deeper network."),
    solve_fn=solve,
    params=(
        Param("depth", 20, "hidden layers of the depth demonstration", kind="int", minimum=2, maximum=40,
              vary=Ints(10, 30)),
        Param("width", 32, "width of every hidden layer of the depth demonstration", kind="int", minimum=2,
              maximum=64, vary=Ints(16, 64)),
        Param("seed", 0, "random input and weights of the depth demonstration", kind="int", vary=Ints(1, 999_999)),
    ),
)
