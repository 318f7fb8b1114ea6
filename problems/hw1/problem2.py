"""hw1/problem2: one SGD step of a two-layer regression net, forward and backward, in numerator layout.

Linear1 -> f -> Linear2 -> g with squared-error loss. The backward pass comes from the general
reverse-mode rules in :mod:`derivations.calculus.matrix_calculus`, with the three Jacobians the sheet
allows kept opaque; part (d) then spells those Jacobians out. ``f`` and ``g`` are parameters so
that hw1/problem3 (a) can reuse this with sigmoids; the defaults are the sheet's ReLU/identity.
"""

import unicodedata

import numpy as np
import sympy as sp

from derivations.calculus.checks import max_abs_error, numeric_gradient, numeric_jacobian
from derivations.core.errors import UserError
from derivations.calculus.functions import relu, sigmoid
from derivations.calculus.matrix_calculus import (Elementwise, applied_for_display, backward, derivative, expand_nodes,
                                         gradient_error, jacobian_error, numeric, numerator_gradient)
from derivations.core.model import Param, Problem
from derivations.render.pretty import inline
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
    sol.assume("ℓ = ‖ŷ − y‖² is the sum of squares over the K outputs: nn.MSELoss(reduction='sum'). "
               "The default reduction='mean' would divide ℓ and every gradient by K.")
    sol.assume("The batch is one data point (x, y).")

    # (a) one SGD step in PyTorch
    eta = sp.Symbol("eta", positive=True)
    r, c = sp.symbols("r c", integer=True, positive=True)
    theta = sp.MatrixSymbol("θ", r, c)
    dl_dtheta = partial_matrix("ℓ", "θ", c, r)
    sol.step("(a) One SGD step on the batch, for every parameter θ ∈ {W1, b1, W2, b2} "
             "(optimizer = torch.optim.SGD(model.parameters(), lr=η)):")
    sol.answer("a1_zero_grad", partial("ℓ", "θ"), sp.S.Zero,
               text="1. optimizer.zero_grad(): reset every θ.grad to 0. backward() adds into .grad, "
                    "so without this the previous step's gradients would be summed in.")
    sol.answer("a2_forward", yhat, full(yhat),
               text="2. yhat = model(x): the forward pass, each layer applied in turn (part b).")
    sol.answer("a3_loss", ell, loss,
               text="3. loss = criterion(yhat, y): ℓ = ‖ŷ − y‖² = Σₖ (ŷₖ − yₖ)².")
    sol.answer("a4_backward", sp.MatrixSymbol("θ_grad", r, c), dl_dtheta.T,
               text="4. loss.backward(): reverse-mode differentiation from ℓ back through g, Linear2, "
                    "f, Linear1, leaving in θ.grad (written θ_grad) the gradient (∂ℓ/∂θ)ᵀ, shaped like θ (part c).")
    sol.answer("a5_step", sp.MatrixSymbol("θ_new", r, c), theta - eta * dl_dtheta.T,
               text="5. optimizer.step(): θ ← θ − η·θ.grad for every parameter (θ_new is θ after the step).")

    # (b) forward pass
    layers = [("Linear1", x, z1), (f"f = {f_name}", z1, z2), ("Linear2", z2, z3), (f"g = {g_name}", z3, yhat)]
    io = []
    for layer, inp, out in layers:
        given = _inline(inp) if inp == full(inp) else f"{_inline(inp)} = {_inline(full(inp))}"
        sol.step(f"(b) {layer}: input {given}; output:", out, full(out))
        io.append(f"{layer}: {_inline(full(inp))} → {_inline(full(out))}")
    sol.step("(b) Loss: inputs ŷ and y; output:", ell, full(loss))
    sol.answer("b_layers", sp.Symbol("layers"), None, text="; ".join(io) + "; loss: (ŷ, y) → ℓ.")
    for node in (z1, z2, z3, yhat):
        sol.answer(node.name, node, full(node))
    sol.answer("loss", ell, full(loss))

    # (c) backward pass, with the three Jacobians the sheet allows kept opaque
    grads = backward(forward, dl_dyhat, opaque={yhat: dyhat_dz3, z2: dz2_dz1})
    sol.step("(c) Reverse pass in numerator layout. Going backwards with N = ∂ℓ/∂(layer output): "
             "an affine layer z = Wa + b gives ∂ℓ/∂W = a·N, ∂ℓ/∂b = N and ∂ℓ/∂a = N·W; "
             "an entrywise layer passes N·(its Jacobian) to its input.")
    sol.step("(c) Into Linear2 (1×K):", partial_matrix("ℓ", "z3", 1, K), grads[z3])
    sol.step("(c) Into f (1×m):", partial_matrix("ℓ", "z1", 1, m), grads[z1])
    shapes = {W1: "n×m, the shape of W1ᵀ", b1: "1×m, the shape of b1ᵀ",
              W2: "m×K, the shape of W2ᵀ", b2: "1×K, the shape of b2ᵀ"}
    for param in PARAMETERS:
        sol.step(f"(c) ∂ℓ/∂{param.name} is {shapes[param]}; the update uses its transpose.",
                 partial_matrix("ℓ", param.name, param.shape[1], param.shape[0]), full(grads[param]))
    for param in PARAMETERS:
        sol.answer(f"dl_d{param.name}", partial_matrix("ℓ", param.name, param.shape[1], param.shape[0]),
                   full(grads[param]))

    # (d) the three Jacobians, entry by entry
    jacobians = {
        "dz2_dz1": (dz2_dz1, full(derivative(forward[1][1], z1)), f_name, "(W₁x + b₁)ᵢ"),
        "dyhat_dz3": (dyhat_dz3, full(derivative(forward[3][1], z3)), g_name, "(W₂z₂ + b₂)ᵢ"),
    }
    for name, (symbol, value, act, entry) in jacobians.items():
        t = sp.Dummy("u")
        slope = applied_for_display(sp.Lambda(t, sp.diff(SYMBOLIC[act](t), t)), sp.Symbol(entry))
        sol.step(f"(d) {_inline(symbol)} is {_inline(symbol.shape[0])}×{_inline(symbol.shape[1])} and diagonal, "
                 f"since output i depends only on input i: entry (i, j) is {_inline(slope)} when i = j and 0 "
                 "otherwise.", symbol, value)
        sol.answer(name, symbol, value)
    dl = full(derivative(loss, yhat))
    sol.step("(d) ∂ℓ/∂ŷ is 1×K: ℓ = Σₖ (ŷₖ − yₖ)², so entry (1, j) is 2(ŷⱼ − yⱼ).", dl_dyhat, dl)
    sol.answer("dl_dyhat", dl_dyhat, dl)

    # numbers for `solve --values`: the dimensions (checked) and the Jacobians from part (d)
    for dim in ("n", "m", "K"):  # sizes, for I_m or I_K when f or g is the identity
        sol.definitions.append((dim, lambda vals, d=dim: _dimensions(vals)[d]))
    for symbol, value in ((dl_dyhat, dl), *((s, v) for s, v, _, _ in jacobians.values())):
        sol.definitions.append((symbol.name, lambda vals, e=value, s=symbol: _at_values(e, vals, s)))

    _add_checks(sol, f_name, g_name)


def _inline(expr):
    """One-line text of a formula, for prose (composed accents: ŷ, not y + U+0302)."""
    return unicodedata.normalize("NFC", inline(expr).replace("*", "·"))


def _dimensions(values):
    """{"n": .., "m": .., "K": ..} as far as the given arrays fix them, after checking that every
    given array has the shape the net needs."""
    dims = {}
    for name, shape in SHAPES.items():
        if name not in values:
            continue
        given = np.shape(values[name])
        if len(given) != 2:
            kind = "a column vector such as [[1], [2]]" if shape[1] == 1 else "a matrix (a list of rows)"
            raise UserError(f"--values: {name} must be {kind} of shape {shape[0]}×{shape[1]}, got shape {given}")
        for dim, size in zip(shape, given):
            if (dim == 1 and size != 1) or (dim != 1 and dims.setdefault(dim.name, size) != size):
                raise UserError(f"--values: {name} has shape {given}, which does not fit "
                                "x: n×1, W1: m×n, b1: m×1, W2: K×m, b2: K×1, y: K×1")
    return dims


def _at_values(expr, values, symbol):
    try:
        return numeric(expr, values)
    except (ValueError, TypeError) as exc:
        raise UserError(f"cannot evaluate {_inline(symbol)} at the given --values: {exc}") from None


def _add_checks(sol, f, g):
    values = random_values()
    ref = numpy_forward(values, f, g)
    sized = {**values, **_dimensions(values)}  # for I_m, I_K, which have no array to read sizes from
    loss_of = lambda v: numpy_forward(v, f, g)["loss"]  # noqa: E731
    # The opaque Jacobians as central differences of the NumPy layers: independent of part (d).
    numeric_partials = {
        dl_dyhat.name: numeric_jacobian(lambda o: np.sum((o - values["y"]) ** 2), ref["yhat"]),
        dyhat_dz3.name: numeric_jacobian(NUMERIC[g], ref["z3"]),
        dz2_dz1.name: numeric_jacobian(NUMERIC[f], ref["z1"]),
    }
    # (a): the formulas of the five steps, on W1 as the parameter θ and η = 0.1
    theta_values = {"θ": values["W1"], "eta": 0.1,
                    "∂ℓ/∂θ": numerator_gradient(lambda w: loss_of({**values, "W1": w}), values["W1"])}
    torch_grad = numeric_gradient(lambda w: loss_of({**values, "W1": w}), values["W1"])  # W1-shaped, as in .grad
    sol.check("(a) zero_grad leaves a zero gradient", lambda a: abs(float(a["a1_zero_grad"])), 0.0)
    sol.check("(a) forward formula vs a direct NumPy forward pass",
              lambda a: max_abs_error(_safe_numeric(a["a2_forward"], values), ref["yhat"]), 1e-12)
    sol.check("(a) loss formula vs ‖ŷ − y‖² in NumPy",
              lambda a: max_abs_error(_safe_numeric(a["a3_loss"], {**values, "yhat": ref["yhat"]}), [[ref["loss"]]]),
              1e-12)
    sol.check("(a) θ.grad (for θ = W1) vs the central-difference gradient, shaped like W1",
              lambda a: max_abs_error(_safe_numeric(a["a4_backward"], theta_values), torch_grad), 1e-12)
    sol.check("(a) the SGD step (θ = W1, η = 0.1) vs W1 − 0.1·gradient computed directly",
              lambda a: max_abs_error(_safe_numeric(a["a5_step"], theta_values), values["W1"] - 0.1 * torch_grad),
              1e-12)
    for node in ("z1", "z2", "z3", "yhat"):
        sol.check(f"(b) {node} vs a direct NumPy forward pass",
                  lambda a, k=node: max_abs_error(_safe_numeric(a[k], values), ref[k]), 1e-12)
    sol.check("(b) ℓ vs a direct NumPy forward pass",
              lambda a: max_abs_error(_safe_numeric(a["loss"], values), [[ref["loss"]]]), 1e-12)
    for param in PARAMETERS:
        sol.check(f"(c) ∂ℓ/∂{param.name} (numerator layout) vs central differences of ℓ",
                  lambda a, k=param.name: gradient_error(a[f"dl_d{k}"], loss_of, k, {**values, **numeric_partials}),
                  1e-6)
    sol.check("(d) ∂z2/∂z1 entries vs a central-difference Jacobian of f",
              lambda a: jacobian_error(a["dz2_dz1"], NUMERIC[f], ref["z1"], sized), 1e-6)
    sol.check("(d) ∂ŷ/∂z3 entries vs a central-difference Jacobian of g",
              lambda a: jacobian_error(a["dyhat_dz3"], NUMERIC[g], ref["z3"], sized), 1e-6)
    sol.check("(d) ∂ℓ/∂ŷ entries vs a central-difference gradient of ‖ŷ − y‖²",
              lambda a: jacobian_error(a["dl_dyhat"], lambda o: np.sum((o - values["y"]) ** 2), ref["yhat"],
                                       values), 1e-6)


def _safe_numeric(expr, values):
    try:
        return numeric(expr, values)
    except (KeyError, ValueError, TypeError):
        return np.nan


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
        Param("f", "relu", "hidden activation f", kind="choice", choices=("relu", "sigmoid", "identity")),
        Param("g", "identity", "output activation g", kind="choice", choices=("identity", "sigmoid")),
    ),
)
