"""hw1/problem2: one SGD step of a two-layer regression net, forward and backward, in numerator layout.

Linear1 -> f -> Linear2 -> g with squared-error loss. The backward pass comes from the general
reverse-mode rules in :mod:`derivations.calculus.matrix_calculus`, with the three Jacobians the sheet
allows kept opaque; part (d) then spells those Jacobians out. ``f`` and ``g`` are parameters so
that hw1/problem3 (a) can reuse this with sigmoids; the defaults are the sheet's ReLU/identity.
"""

import unicodedata

import numpy as np
import sympy as sp

from derivations.calculus.checks import numeric_gradient, numeric_jacobian
from derivations.core.errors import UserError
from derivations.calculus.functions import relu, sigmoid
from derivations.calculus.matrix_calculus import (Diag, Elementwise, applied_for_display, backward, derivative,
                                                  expand_nodes, numeric, numerator_gradient)
from derivations.calculus.rules import Ones
from derivations.calculus.oracles import Gradient, Reference
from derivations.core.evaluate import conform
from derivations.core.model import Param, Pick, Problem, Variation
from derivations.calculus.printing import inline
from derivations.calculus.symbols import partial, partial_matrix

n, m, K = sp.symbols("n m K", integer=True, positive=True)
x, y = sp.MatrixSymbol("x", n, 1), sp.MatrixSymbol("y", K, 1)
W1, b1 = sp.MatrixSymbol("W1", m, n), sp.MatrixSymbol("b1", m, 1)
W2, b2 = sp.MatrixSymbol("W2", K, m), sp.MatrixSymbol("b2", K, 1)
z1, z2 = sp.MatrixSymbol("z1", m, 1), sp.MatrixSymbol("z2", m, 1)
z3, yhat = sp.MatrixSymbol("z3", K, 1), sp.MatrixSymbol("yhat", K, 1)
ell = sp.MatrixSymbol("ℓ", 1, 1)
PARAMETERS = (W1, b1, W2, b2)
SHAPES = {"x": (n, 1), "W1": (m, n), "b1": (m, 1), "W2": (K, m), "b2": (K, 1), "y": (K, 1)}
#: part (a)'s batch: B pairs (x_s, y_s), per-pair losses ℓ_s, batch loss L (their mean)
B, s = sp.symbols("B s", integer=True, positive=True)
ell_s = sp.IndexedBase("ℓ")
L = sp.Symbol("L", real=True)
BATCH_LOSS = sp.Sum(ell_s[s], (s, 1, B)) / B
#: the batch size of part (a)'s checks
CHECK_BATCH = 3

#: the opaque Jacobians the backward pass may use, as the sheet allows
dl_dyhat = partial_matrix("ℓ", "yhat", 1, K)
dyhat_dz3 = partial_matrix("yhat", "z3", K, K)
dz2_dz1 = partial_matrix("z2", "z1", m, m)

SYMBOLIC = {"relu": relu, "sigmoid": sigmoid, "identity": lambda t: t}
NUMERIC = {"relu": lambda u: np.maximum(u, 0.0), "sigmoid": lambda u: 1.0 / (1.0 + np.exp(-u)),
           "identity": lambda u: u}
NAMES = {"relu": "ReLU", "sigmoid": "the logistic sigmoid σ", "identity": "the identity"}


def numpy_forward(values, f, g):
    """The net run directly in NumPy (the reference for every check)."""
    a1 = values["W1"] @ values["x"] + values["b1"]
    a2 = NUMERIC[f](a1)
    a3 = values["W2"] @ a2 + values["b2"]
    out = NUMERIC[g](a3)
    return {"z1": a1, "z2": a2, "z3": a3, "yhat": out, "loss": float(np.sum((out - values["y"]) ** 2))}


def random_values(dims=(3, 4, 2), seed=0):
    """Random inputs of rectangular shapes (n, m, K) = (3, 4, 2), since square ones hide
    transposes. The first seed from ``seed`` on whose hidden pre-activations W1x + b1 have both
    signs and keep 0.01 away from ReLU's kink, so every branch of f′ is exercised and central
    differences never straddle the kink."""
    n_, m_, k_ = dims
    shapes = {"x": (n_, 1), "W1": (m_, n_), "b1": (m_, 1), "W2": (k_, m_), "b2": (k_, 1), "y": (k_, 1)}
    while True:
        rng = np.random.default_rng(seed)
        values = {name: rng.normal(size=shape) for name, shape in shapes.items()}
        z = values["W1"] @ values["x"] + values["b1"]
        if (z > 0).any() and (z < 0).any() and np.abs(z).min() > 0.01:
            return values
        seed += 1


def solve(p, sol):
    f_name, g_name = p["f"], p["g"]
    forward = [(z1, W1 * x + b1), (z2, Elementwise(SYMBOLIC[f_name], z1)),
               (z3, W2 * z2 + b2), (yhat, Elementwise(SYMBOLIC[g_name], z3))]
    loss = sp.MatMul(sp.Transpose(yhat - y), yhat - y)
    full = lambda e: expand_nodes(e, forward)  # noqa: E731 — written in x, y, W1, b1, W2, b2 only

    sol.assume("Every vector is a column vector: x is n×1, W1 is m×n, b1 is m×1, W2 is K×m, and "
               "b2, y, ŷ are K×1; f and g act entry by entry.")
    sol.assume("Numerator layout: ∂a/∂b has one row per entry of a and one column per entry of b. "
               "So for the scalar ℓ, ∂ℓ/∂v is a row (1×len v), and ∂ℓ/∂W for an r×c matrix W is c×r, "
               "the shape of Wᵀ. The gradient PyTorch stores in W.grad and SGD subtracts has W's own "
               "shape: it is the transpose (∂ℓ/∂W)ᵀ.")
    sol.assume(f"f is {NAMES[f_name]} and g is {NAMES[g_name]}"
               + (" (the sheet's regression choice)." if (f_name, g_name) == ("relu", "identity") else "."))
    if "relu" in (f_name, g_name):
        sol.assume("ReLU′(u) = H(u), the Heaviside step with H(0) = 0 (ReLU has no derivative at 0; "
                   "0 is the value PyTorch uses).")
    sol.assume("For one pair (x, y), ℓ = ‖ŷ − y‖² is the sum of squares over the K outputs, as the sheet "
               "writes it; parts (b)–(d) are about one such pair.")
    sol.assume("Part (a) trains on a batch of B pairs (x_s, y_s). Its loss is the mean of the per-pair losses, "
               "L = (1/B) Σ_s ‖ŷ_s − y_s‖², the batch form PyTorch's nn.MSELoss(reduction='mean') uses, except "
               "that MSELoss also averages over the K outputs (it returns L/K, which scales every gradient by "
               "1/K): criterion = nn.MSELoss(reduction='sum') with loss = criterion(yhat, y) / B gives L "
               "exactly. The gradient of L is then the batch average of the per-pair gradients of part (c).")
    sol.assume("--values names: x, y, W1, b1, W2, b2 (one pair; a flat list is read as a column vector).")

    # The references every check compares with: a direct NumPy forward pass on random
    # rectangular inputs, and central differences of it.
    num = _references(f_name, g_name)
    values, ref = num["values"], num["ref"]

    def forward_pass(key, at=values, what="a direct NumPy forward pass"):
        """``key`` of the NumPy forward pass; the claim evaluated at ``at``."""
        return Reference(compute=lambda: [[ref["loss"]]] if key == "loss" else ref[key], describe=what,
                         convert=lambda e: _safe_numeric(e, at), tolerance=1e-12)

    def gradient_of(wrt, loss=num["loss_of"], at=num["with_partials"]):
        """∂ℓ/∂(wrt) by central differences; the opaque Jacobians in the claim take their
        central-difference values."""
        return Gradient(loss=loss, wrt=wrt, values=at, describe="central differences of ℓ (numerator layout)")

    # (a) one SGD step in PyTorch, on a batch
    eta = sp.Symbol("eta", positive=True)
    r, c = sp.symbols("r c", integer=True, positive=True)
    theta = sp.MatrixSymbol("θ", r, c)
    theta_grad = sp.MatrixSymbol("θ_grad", r, c)
    dL_dtheta = partial_matrix("L", "θ", c, r)
    batch = num["batch"]
    sol.step("(a) One SGD step on a batch of {B} pairs, for every parameter {theta} ∈ {params} "
             "(optimizer = torch.optim.SGD(model.parameters(), lr={eta})). The batch loss is the mean of the "
             "per-pair losses {ell_s} of part (b):", L, BATCH_LOSS,
             math={"B": B, "theta": theta, "params": sp.FiniteSet(*PARAMETERS), "eta": eta,
                   "ell_s": sp.Symbol("ℓ_s")},
             check=Reference(compute=lambda: batch["loss"], convert=batch["mean_of"], tolerance=1e-12,
                             describe=f"a vectorised NumPy batch of {CHECK_BATCH} pairs"))
    sol.step("(a) backward() on {L} leaves in θ.grad the transpose of {dL}; differentiation is linear, so it is "
             "the batch average of the per-pair derivatives {dl_s} that part (c) gives for one pair.",
             math={"L": L, "dL": dL_dtheta, "dl_s": partial_matrix("ℓ_s", "θ", c, r)})
    sol.answer("a1_zero_grad", theta_grad, sp.S.Zero,
               text="1. optimizer.zero_grad(): empty every parameter's stored gradient buffer θ.grad (written "
                    "θ_grad): PyTorch sets it to None by default (set_to_none=True), which the next backward() "
                    "treats as 0. backward() adds into .grad, so without this the previous batch's gradients "
                    "would be summed into this one's. It changes no derivative: ∂L/∂θ is a property of the "
                    "loss, and zero_grad() only clears where backward() will store it.",
               check=Reference(compute=lambda: batch["grad"], describe="θ.grad after zero_grad() and one "
                               "backward() against that batch's gradient alone (θ = W1)", tolerance=0.0,
                               convert=lambda e: _safe_numeric(e, num["theta"]) + batch["grad"]))
    sol.answer("a2_forward", yhat, full(yhat),
               text="2. yhat = model(x): the forward pass of every pair of the batch, each layer applied in turn "
                    "(part b).",
               check=forward_pass("yhat"))
    sol.answer("a3_loss", L, BATCH_LOSS,
               text="3. loss = criterion(yhat, y) / B with criterion = nn.MSELoss(reduction='sum'): the batch "
                    "mean of the per-pair losses ℓ_s = ‖ŷ_s − y_s‖², each a sum of squares over the K outputs.",
               check=Reference(compute=lambda: batch["loss"], convert=batch["mean_of"], tolerance=1e-12,
                               describe=f"a vectorised NumPy batch of {CHECK_BATCH} pairs"))
    sol.answer("a4_backward", theta_grad, dL_dtheta.T,
               text="4. loss.backward(): reverse-mode differentiation from L back through g, Linear2, f, "
                    "Linear1, adding into θ.grad (written θ_grad) the gradient (∂L/∂θ)ᵀ, shaped like θ: the "
                    "batch average of the per-pair gradients (∂ℓ_s/∂θ)ᵀ of part (c).",
               check=Reference(compute=lambda: batch["grad"], convert=lambda e: _safe_numeric(e, num["theta"]),
                               describe=f"central differences of the batch loss in θ = W1 ({CHECK_BATCH} pairs), "
                                        "shaped like W1", tolerance=1e-12))
    sol.answer("a5_step", sp.MatrixSymbol("θ_new", r, c), theta - eta * dL_dtheta.T,
               text="5. optimizer.step(): θ ← θ − η·θ.grad for every parameter (θ_new is θ after the step).",
               check=Reference(compute=lambda: values["W1"] - 0.1 * batch["grad"],
                               convert=lambda e: _safe_numeric(e, num["theta"]),
                               describe="W1 − 0.1·(batch gradient) computed directly (θ = W1, η = 0.1)",
                               tolerance=1e-12))

    # (b) forward pass
    layers = [("Linear1", x, z1), (f"f = {f_name}", z1, z2), ("Linear2", z2, z3), (f"g = {g_name}", z3, yhat)]
    io = []
    for layer, inp, out in layers:
        given = "{inp}" if inp == full(inp) else "{inp} = {inp_full}"
        sol.step(f"(b) {layer}: input {given}; output:", out, full(out), math={"inp": inp, "inp_full": full(inp)},
                 check=forward_pass(out.name))
        io.append(f"{layer}: {_inline(full(inp))} → {_inline(full(out))}")
    sol.step("(b) Loss: inputs {yhat} and {y}; output:", ell, full(loss), math={"yhat": yhat, "y": y},
             check=forward_pass("loss"))
    sol.answer("b_layers", sp.Symbol("layers"), None, text="; ".join(io) + "; loss: (ŷ, y) → ℓ.")
    for node in (z1, z2, z3, yhat):
        sol.answer(node.name, node, full(node), check=forward_pass(node.name))
    sol.answer("loss", ell, full(loss), check=forward_pass("loss"))

    # (c) backward pass, with the three Jacobians the sheet allows kept opaque
    grads = backward(forward, dl_dyhat, opaque={yhat: dyhat_dz3, z2: dz2_dz1})
    rows, cols = sp.symbols("r c", integer=True, positive=True)
    W, a_, b_ = sp.MatrixSymbol("W", rows, cols), sp.MatrixSymbol("a", cols, 1), sp.MatrixSymbol("b", rows, 1)
    N = sp.MatrixSymbol("N", 1, rows)
    sol.step("(c) Reverse pass in numerator layout. Going backwards with {N} = ∂ℓ/∂(layer output): "
             "an affine layer {z} = {affine} gives {dW} = {aN}, {db} = {N} and {da} = {NW}; "
             "an entrywise layer passes {N} times its Jacobian to its input.",
             math={"N": N, "z": sp.MatrixSymbol("z", rows, 1), "affine": W * a_ + b_,
                   "dW": partial_matrix("ℓ", "W", cols, rows), "aN": a_ * N, "db": partial_matrix("ℓ", "b", 1, rows),
                   "da": partial_matrix("ℓ", "a", 1, cols), "NW": N * W})
    upstream = {
        "z3": lambda v: np.sum((NUMERIC[g_name](v["z3"]) - v["y"]) ** 2),
        "z1": lambda v: np.sum((NUMERIC[g_name](v["W2"] @ NUMERIC[f_name](v["z1"]) + v["b2"]) - v["y"]) ** 2),
    }
    for layer, node, width in (("Linear2", z3, K), ("f", z1, m)):
        sol.step(f"(c) Into {layer} ({{one}}×{{width}}):", partial_matrix("ℓ", node.name, 1, width), grads[node],
                 math={"one": sp.S.One, "width": width},
                 check=gradient_of(node.name, upstream[node.name],
                                   {**num["with_partials"], node.name: ref[node.name]}))
    for param in PARAMETERS:
        derivative_symbol = partial_matrix("ℓ", param.name, param.shape[1], param.shape[0])
        sol.step("(c) {d} is {rows}×{cols}, the shape of {transposed}; the update uses its transpose.",
                 derivative_symbol, full(grads[param]), check=gradient_of(param.name),
                 math={"d": derivative_symbol, "rows": param.shape[1], "cols": param.shape[0],
                       "transposed": param.T})
    for param in PARAMETERS:
        sol.answer(f"dl_d{param.name}", partial_matrix("ℓ", param.name, param.shape[1], param.shape[0]),
                   full(grads[param]), check=gradient_of(param.name))

    # (d) the three Jacobians, entry by entry
    entry = sp.Symbol("u_i", real=True)
    jacobians = {
        "dz2_dz1": (dz2_dz1, _entrywise_jacobian(f_name, full(z1), full(derivative(forward[1][1], z1))), f_name,
                    full(z1), "z1", "a central-difference Jacobian of f"),
        "dyhat_dz3": (dyhat_dz3, _entrywise_jacobian(g_name, full(z3), full(derivative(forward[3][1], z3))),
                      g_name, W2 * z2 + b2, "z3", "a central-difference Jacobian of g"),
    }
    for name, (symbol, value, act, pre_activation, at, what) in jacobians.items():
        t = sp.Dummy("u")
        slope = applied_for_display(sp.Lambda(t, sp.diff(SYMBOLIC[act](t), t)), entry)
        jacobian = Reference(compute=lambda act=act, at=at: numeric_jacobian(NUMERIC[act], ref[at]),
                             convert=lambda e: _safe_numeric(e, num["sized"]), describe=what, tolerance=1e-6)
        sol.step("(d) {J} is {rows}×{cols} and diagonal, since output i depends only on input i: entry (i, j) is "
                 "{slope} when i = j and 0 otherwise, where {u} is entry i of {pre}.", symbol, value,
                 math={"J": symbol, "rows": symbol.shape[0], "cols": symbol.shape[1], "slope": slope, "u": entry,
                       "pre": pre_activation},
                 check=jacobian)
        sol.answer(name, symbol, value, check=Reference(compute=jacobian.compute, convert=jacobian.convert,
                                                        describe=what, tolerance=1e-6))
    dl = full(derivative(loss, yhat))
    squared_error = lambda: numeric_jacobian(lambda o: np.sum((o - values["y"]) ** 2), ref["yhat"])  # noqa: E731
    sol.step("(d) {d} is {one}×{K}: ℓ is a sum of squares over the K outputs, so entry (1, i) is {entry}.",
             dl_dyhat, dl,
             math={"d": dl_dyhat, "one": sp.S.One, "K": K,
                   "entry": sp.Mul(2, sp.Symbol("yhat_i") - sp.Symbol("y_i"), evaluate=False)},
             check=Reference(compute=squared_error, convert=lambda e: _safe_numeric(e, values), tolerance=1e-6,
                             describe="a central-difference gradient of ‖ŷ − y‖²"))
    sol.answer("dl_dyhat", dl_dyhat, dl,
               check=Reference(compute=squared_error, convert=lambda e: _safe_numeric(e, values), tolerance=1e-6,
                               describe="a central-difference gradient of ‖ŷ − y‖²"))

    # numbers for `solve --values`: the shapes (checked; they fix n, m, K for I_m or I_K when f or
    # g is the identity) and the Jacobians from part (d)
    sol.inputs = dict(SHAPES)
    for symbol, value in ((dl_dyhat, dl), *((s, v) for s, v, *_ in jacobians.values())):
        sol.definitions.append((symbol.name, lambda vals, e=value, s=symbol: _at_values(e, vals, s)))


def _entrywise_jacobian(act, pre, jacobian):
    """The Jacobian of an entrywise layer: ``jacobian`` as the reverse pass gives it, except
    that the sigmoid's σ(u)(1 − σ(u)) on a vector u is written as the entrywise product
    σ(u) ⊙ (1 − σ(u)), not as a product of two column vectors."""
    if act != "sigmoid":
        return jacobian
    return Diag(sp.HadamardProduct(Elementwise(sigmoid, pre), Ones(*pre.shape) - Elementwise(sigmoid, pre)))


def _inline(expr):
    """One-line text of a formula, for prose (composed accents: ŷ, not y + U+0302)."""
    return unicodedata.normalize("NFC", inline(expr))


def _at_values(expr, values, symbol):
    try:
        return numeric(expr, values)
    except (ValueError, TypeError) as exc:
        raise UserError(f"cannot evaluate {_inline(symbol)} at the given --values: {exc}") from None


def _references(f, g):
    """Random rectangular inputs, the NumPy forward pass there, and what the checks read off
    it: the opaque Jacobians as central differences of the NumPy layers (independent of
    part (d)), and W1 as the parameter θ of part (a) with η = 0.1."""
    values = random_values()
    ref = numpy_forward(values, f, g)
    loss_of = lambda v: numpy_forward(v, f, g)["loss"]  # noqa: E731
    numeric_partials = {
        dl_dyhat.name: numeric_jacobian(lambda o: np.sum((o - values["y"]) ** 2), ref["yhat"]),
        dyhat_dz3.name: numeric_jacobian(NUMERIC[g], ref["z3"]),
        dz2_dz1.name: numeric_jacobian(NUMERIC[f], ref["z1"]),
    }
    batch = _batch(values, f, g)
    theta = {"θ": values["W1"], "eta": 0.1, "∂L/∂θ": numerator_gradient(batch["loss_of"], values["W1"])}
    return {"values": values, "ref": ref, "loss_of": loss_of, "with_partials": {**values, **numeric_partials},
            "sized": conform(values, SHAPES),  # for I_m, I_K, which have no array to read sizes from
            "theta": theta, "batch": batch}


def _batch(values, f, g, size=CHECK_BATCH, seed=7):
    """Part (a)'s references on a batch of ``size`` pairs (the parameters of ``values``, new
    inputs and targets): the batch loss from one vectorised forward pass (pairs as columns),
    to compare with the claimed mean of the per-pair losses of a loop, and its
    central-difference gradient in W1 (shaped like W1)."""
    rng = np.random.default_rng(seed)
    xs, ys = rng.normal(size=(values["x"].shape[0], size)), rng.normal(size=(values["y"].shape[0], size))
    pairs = [{**values, "x": xs[:, [i]], "y": ys[:, [i]]} for i in range(size)]

    def batch_loss(w1):
        out = NUMERIC[g](values["W2"] @ NUMERIC[f](w1 @ xs + values["b1"]) + values["b2"])
        return float(np.mean(np.sum((out - ys) ** 2, axis=0)))

    losses = [numpy_forward(pair, f, g)["loss"] for pair in pairs]

    def mean_of(claim):
        """The claimed batch loss with the per-pair losses of this batch put in."""
        try:
            value = sp.sympify(claim).subs(B, size).doit().xreplace({ell_s[i + 1]: v for i, v in enumerate(losses)})
            return float(value)
        except (TypeError, ValueError):
            return np.nan

    return {"loss": batch_loss(values["W1"]), "mean_of": mean_of, "loss_of": batch_loss,
            "grad": numeric_gradient(batch_loss, values["W1"])}


def _safe_numeric(expr, values):
    try:
        return numeric(expr, values)
    except (KeyError, ValueError, TypeError):
        return np.nan


#: a variant's sigmoid pre-activations stay within ±SATURATED (σ′(4) ≈ 0.018)
SATURATED = 4
SHORT_NAMES = {"relu": "ReLU", "sigmoid": "σ", "identity": "identity"}


def _variant_inputs(rng, p):
    """Concrete --values for the key: weights −1, 0, 1 and other entries −2 … 2 (numbers to work by
    hand), in distinct sizes n, m, K so that a missing transpose cannot go unseen."""
    n_, m_, k_ = (int(d) for d in rng.choice(np.arange(2, 6), size=3, replace=False))
    shapes = {"x": (n_, 1), "W1": (m_, n_), "b1": (m_, 1), "W2": (k_, m_), "b2": (k_, 1), "y": (k_, 1)}
    return {name: rng.integers(-1 if name[0] == "W" else -2, 2 if name[0] == "W" else 3, size=shape).astype(float)
            for name, shape in shapes.items()}


def _degenerate(v):
    """A linear net says nothing about f′ and g′; a zero hidden pre-activation sits on ReLU's kink;
    ReLU pre-activations of one sign leave a branch of f′ unexercised; a sigmoid past ±4
    saturates, and the gradients through it all but vanish."""
    if v["f"] == v["g"] == "identity":
        return "f and g are both the identity"
    z1 = v["W1"] @ v["x"] + v["b1"]
    if v["f"] == "relu" and not ((z1 > 0).any() and (z1 < 0).any() and (z1 != 0).all()):
        return "ReLU's pre-activations W1x + b1 are not all nonzero with both signs"
    z3 = v["W2"] @ NUMERIC[v["f"]](z1) + v["b2"]
    for name, act, z in (("f", v["f"], z1), ("g", v["g"], z3)):
        if act == "sigmoid" and np.abs(z).max() > SATURATED:
            return f"the sigmoid {name} saturates (a pre-activation beyond ±{SATURATED})"
    return None


PROBLEM = Problem(
    id="hw1/problem2",
    title="Two-layer regression net: SGD step, forward and backward pass in numerator layout",
    kind="matrix calculus, numerator layout",
    statement=("A net maps an input x with n entries to an output ŷ with K entries through Linear1 → f → Linear2 → g, where Linearᵢ(a) = Wᵢa + bᵢ "
               "and f, g act entry by entry; call the four outputs z1, z2, z3 and ŷ. For regression take "
               "f = ReLU, g = identity and the loss ℓ = ‖ŷ − y‖² for a target y. Using column vectors and "
               "numerator-layout matrix calculus, with every transpose shown: (a) name the five PyTorch "
               "steps of one SGD update on a batch and give the maths of each; (b) for one pair (x, y), "
               "give each layer's input and output in terms of x, y, W1, b1, W2, b2 only; (c) give the "
               "gradients of ℓ with respect to W1, b1, W2, b2 that the backward pass computes, using only "
               "those variables and the Jacobians ∂ℓ/∂ŷ, ∂ŷ/∂z3, ∂z2/∂z1; (d) write out the entries of "
               "those three Jacobians, minding their dimensions."),
    solve_fn=solve,
    params=(
        Param("f", "relu", "hidden activation f", kind="choice", choices=("relu", "sigmoid", "identity"),
              vary=Pick(("relu", "sigmoid", "identity"))),
        Param("g", "identity", "output activation g", kind="choice", choices=("identity", "sigmoid"),
              vary=Pick(("identity", "sigmoid"))),
    ),
    variation=Variation(
        degenerate=_degenerate, inputs=_variant_inputs,
        restate=lambda p: PROBLEM.statement.replace(
            "f = ReLU, g = identity", f"f = {SHORT_NAMES[p['f']]}, g = {SHORT_NAMES[p['g']]}")),
)
