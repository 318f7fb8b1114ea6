"""a1/problem2: the smallest sigmoid MLPs for AND, OR, XOR and XNOR, with a proof of minimality.

Linear separability is decided exactly (in fractions) by Gordan's alternative: either a single unit
classifies every input with margin 1 (a vertex of {θ : Aθ ≥ 1}), or nonnegative multipliers y with
Σy = 1 make the inequalities add up to 0 > 0. Hidden layers are built from separable gates, scaled
until their sigmoids are close enough to bits, and every network is run in NumPy on the truth table."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from itertools import combinations
from typing import Any, Sequence

import numpy as np
import sympy as sp

from derivations.calculus.functions import sigmoid
from derivations.calculus.oracles import Identity, Oracle, Reference
from derivations.calculus.printing import inline
from derivations.core.model import Fractions, Ints, Param, Pick, Problem, Variation

#: The four inputs (x₁, x₂), in the order every truth table below uses.
INPUTS = ((0, 0), (0, 1), (1, 0), (1, 1))
GATES = {"AND": lambda a, b: a and b, "OR": lambda a, b: a or b,
         "XOR": lambda a, b: a != b, "XNOR": lambda a, b: a == b}
#: Names of the two-input functions that can appear as hidden units, keyed by truth table.
NAMES = {(0, 0, 0, 1): "AND", (0, 1, 1, 1): "OR", (1, 1, 1, 0): "NAND", (1, 0, 0, 0): "NOR",
         (0, 1, 1, 0): "XOR", (1, 0, 0, 1): "XNOR", (0, 0, 1, 1): "x1", (0, 1, 0, 1): "x2",
         (1, 1, 0, 0): "NOT x1", (1, 0, 1, 0): "NOT x2", (0, 0, 1, 0): "x1 AND NOT x2",
         (0, 1, 0, 0): "x2 AND NOT x1", (1, 0, 1, 1): "x1 OR NOT x2", (1, 1, 0, 1): "x2 OR NOT x1",
         (0, 0, 0, 0): "FALSE", (1, 1, 1, 1): "TRUE"}
#: The margin every unit has on exact inputs, and the output margin the gain keeps with real sigmoids.
UNIT_MARGIN, NET_MARGIN = 1, 0.5
#: Float64 rounding allowance when a claimed margin is measured in NumPy.
ROUNDING = 1e-12
MAX_HIDDEN = 2

w1, w2, b = sp.symbols("w_1 w_2 b", real=True)
THETA = (w1, w2, b)


# --------------------------------------------------------------------------------------------
# Exact linear algebra in fractions (no SymPy: it is the decision procedure, run many times).

def _solve(matrix: Sequence[Sequence[Fraction]], rhs: Sequence[Fraction]) -> list[Fraction] | None:
    """The unique solution of matrix·y = rhs (rows ≥ columns), or None when the columns are
    dependent or the system is inconsistent; Gauss–Jordan elimination in fractions."""
    rows = [list(map(Fraction, r)) + [Fraction(v)] for r, v in zip(matrix, rhs)]
    n = len(rows[0]) - 1
    for col in range(n):
        pivot = next((r for r in range(col, len(rows)) if rows[r][col] != 0), None)
        if pivot is None:
            return None
        rows[col], rows[pivot] = rows[pivot], rows[col]
        rows[col] = [v / rows[col][col] for v in rows[col]]
        for r in range(len(rows)):
            if r != col and rows[r][col] != 0:
                rows[r] = [a - rows[r][col] * c for a, c in zip(rows[r], rows[col])]
    if any(row[n] != 0 for row in rows[n:]):
        return None
    return [rows[i][n] for i in range(n)]


def _rank(matrix: Sequence[Sequence[Fraction]]) -> int:
    rows = [list(map(Fraction, r)) for r in matrix]
    rank = 0
    for col in range(len(rows[0])):
        pivot = next((r for r in range(rank, len(rows)) if rows[r][col] != 0), None)
        if pivot is None:
            continue
        rows[rank], rows[pivot] = rows[pivot], rows[rank]
        for r in range(rank + 1, len(rows)):
            factor = rows[r][col] / rows[rank][col]
            rows[r] = [a - factor * c for a, c in zip(rows[r], rows[rank])]
        rank += 1
    return rank


def constraint_rows(features: Sequence[Sequence[int]], labels: Sequence[int]) -> list[tuple[Fraction, ...]]:
    """aᵢ = sᵢ·(fᵢ, 1) with sᵢ = +1 for class 1 and −1 for class 0: a unit θ on the features
    classifies input i correctly exactly when aᵢ·θ ≥ 0 (or > 0, by the tie rule)."""
    return [tuple(Fraction(1 if t else -1) * Fraction(v) for v in (*f, 1)) for f, t in zip(features, labels)]


def separating_unit(rows: Sequence[Sequence[Fraction]]) -> list[Fraction] | None:
    """A vertex θ of {θ : aᵢ·θ ≥ 1 for all i} (margin 1), the one of least ‖θ‖₁; None when there
    is none. Valid when the rows span the whole space: then the set, if not empty, has a vertex."""
    n = len(rows[0])
    best = None
    for tight in combinations(range(len(rows)), n):
        theta = _solve([rows[i] for i in tight], [1] * n)
        if theta is None or any(sum(a * t for a, t in zip(row, theta)) < 1 for row in rows):
            continue
        if best is None or sum(map(abs, theta)) < sum(map(abs, best)):
            best = theta
    return best


def farkas_multipliers(rows: Sequence[Sequence[Fraction]]) -> list[Fraction] | None:
    """y ≥ 0 with Σy = 1 and Σ yᵢaᵢ = 0 (Gordan's alternative), found as a basic solution: for
    each support S (smallest first) solve the square-or-taller system exactly; None if no S works."""
    m, n = len(rows), len(rows[0])
    for size in range(1, m + 1):
        for support in combinations(range(m), size):
            system = [[rows[i][j] for i in support] for j in range(n)] + [[1] * size]
            y = _solve(system, [0] * n + [1])
            if y is not None and all(v >= 0 for v in y):
                full = [Fraction(0)] * m
                for i, v in zip(support, y):
                    full[i] = v
                return full
    return None


def _table_code(table: Sequence[int]) -> int:
    return int("".join(map(str, table)), 2)


@lru_cache(maxsize=1)
def separable_tables() -> tuple[tuple[int, ...], ...]:
    """The two-input truth tables a single unit computes, each decided by :func:`separating_unit`."""
    tables = [tuple(int(c) for c in format(code, "04b")) for code in range(16)]
    return tuple(t for t in tables if separating_unit(constraint_rows(INPUTS, t)) is not None)


def _fraction(value: Any) -> Fraction:
    value = sp.sympify(value)
    return Fraction(int(value.p), int(value.q)) if value.is_Rational else Fraction(float(value))


def _rational(value: Fraction) -> sp.Rational:
    return sp.Rational(value.numerator, value.denominator)


# --------------------------------------------------------------------------------------------
# Local oracles.

def forward(rows: Sequence[Sequence[float]], inputs: Sequence[Sequence[int]], hidden: int, skip: bool) -> np.ndarray:
    """The output unit's pre-activation at each input, in float64. ``rows`` lists the hidden
    units [w…, b] and then the output unit [input weights (with skip connections), hidden weights, bias]."""
    x = np.asarray(inputs, dtype=float)
    units = [np.asarray(r, dtype=float) for r in rows]
    h = np.stack([1 / (1 + np.exp(-(x @ u[:-1] + u[-1]))) for u in units[:hidden]], axis=1) if hidden \
        else np.zeros((len(x), 0))
    features = np.hstack([x, h]) if skip or not hidden else h
    out = units[hidden]
    return features @ out[:-1] + out[-1]


def _shape_ok(rows: Any, n_in: int, hidden: int, skip: bool) -> bool:
    if not isinstance(rows, (list, tuple)) or len(rows) != hidden + 1:
        return False
    out_width = (n_in if skip or not hidden else 0) + hidden + 1
    widths = [n_in + 1] * hidden + [out_width]
    return all(isinstance(r, (list, tuple)) and len(r) == w for r, w in zip(rows, widths))


@dataclass
class TruthTable(Oracle):
    """A claimed network run in NumPy on every input: how far the output's pre-activation falls
    short of the claimed margin on the side of 0 its target class needs (0 when every row of the
    truth table comes out right with that margin; ``inf`` for a network of the wrong shape)."""

    target: Sequence[int] = ()
    inputs: Sequence[Sequence[int]] = INPUTS
    hidden: int = 0
    skip: bool = False
    margin: float = 1.0
    tolerance: float = ROUNDING
    describe: str = "its truth table run in NumPy, with margin"

    def error(self, claimed: Any, lhs: Any = None) -> float:
        if not _shape_ok(claimed, len(self.inputs[0]), self.hidden, self.skip):
            return float("inf")
        rows = [[float(v) for v in r] for r in claimed]
        z = forward(rows, self.inputs, self.hidden, self.skip)
        signs = np.array([1.0 if t else -1.0 for t in self.target])
        return float(np.max(np.maximum(0.0, self.margin - signs * z)))


@dataclass
class FarkasCertificate(Oracle):
    """Multipliers y for the inequalities aᵢ·θ ≥ 0 (> 0 where ``strict``), verified in exact
    fractions: y ≥ 0, Σy = 1, Σ yᵢaᵢ = 0 and some strict inequality carrying weight, so the
    weighted sum reads 0 > 0. The error is the largest violation (0 for a valid certificate)."""

    rows: Sequence[Sequence[Fraction]] = ()
    strict: Sequence[bool] = ()
    tolerance: float = 0.0
    describe: str = "the Farkas combination in exact fractions"

    def error(self, claimed: Any, lhs: Any = None) -> float:
        if not isinstance(claimed, (list, tuple)) or len(claimed) != len(self.rows):
            return float("inf")
        y = [_fraction(v) for v in claimed]
        combination = [sum(yi * row[j] for yi, row in zip(y, self.rows)) for j in range(len(self.rows[0]))]
        strict_weight = sum(yi for yi, s in zip(y, self.strict) if s)
        violations = [max(Fraction(0), -min(y)), abs(sum(y) - 1), *map(abs, combination),
                      Fraction(strict_weight <= 0)]
        return float(max(violations))


# --------------------------------------------------------------------------------------------
# The random search (NumPy), independent of the exact derivation.

def _cuts(rng: np.random.Generator, count: int, dim: int) -> tuple[np.ndarray, np.ndarray]:
    """Random units whose boundary crosses the cube [0, 1]^dim (a unit whose boundary misses it
    is constant there): a uniform direction, a gain in [1, 10], through a uniform point of the cube."""
    normal = rng.standard_normal((count, dim))
    normal /= np.linalg.norm(normal, axis=1, keepdims=True)
    weights = normal * rng.uniform(1, 10, (count, 1))
    return weights, -np.sum(weights * rng.uniform(0, 1, (count, dim)), axis=1)


@lru_cache(maxsize=16)
def searched_tables(hidden: int, skip: bool, samples: int, seed: int, tie: str) -> frozenset[int]:
    """The truth tables (as 4-bit codes) computed by samples² random sigmoid networks with
    ``hidden`` hidden units: ``samples`` random hidden layers, each under ``samples`` random
    output units."""
    rng = np.random.default_rng([seed, hidden, int(skip)])
    x = np.asarray(INPUTS, dtype=float)
    if hidden:
        w, c = _cuts(rng, samples * hidden, 2)
        pre = np.einsum("id,nhd->nih", x, w.reshape(samples, hidden, 2)) + c.reshape(samples, 1, hidden)
        h = 1 / (1 + np.exp(-pre))
        features = np.concatenate([np.broadcast_to(x, (samples, 4, 2)), h], axis=2) if skip else h
    else:
        features = np.broadcast_to(x, (samples, 4, 2))
    dim = features.shape[2]
    w, c = _cuts(rng, samples * samples, dim)
    z = np.einsum("nif,nmf->nmi", features, w.reshape(samples, samples, dim)) + c.reshape(samples, samples, 1)
    bits = (z >= 0) if tie == "class1" else (z > 0)
    return frozenset(np.unique(bits.reshape(-1, 4).astype(int) @ np.array([8, 4, 2, 1])).tolist())


def searched_sizes(skip: bool, samples: int, seed: int, tie: str) -> list[float]:
    """For each gate, the fewest hidden units at which the random search hits its truth table
    (NaN when no size up to MAX_HIDDEN does)."""
    sizes = []
    for fn in GATES.values():
        code = _table_code([int(fn(*x)) for x in INPUTS])
        sizes.append(next((h for h in range(MAX_HIDDEN + 1) if code in searched_tables(h, skip, samples, seed, tie)),
                          float("nan")))
    return sizes


def _best_rows(codes: frozenset[int], table: Sequence[int]) -> int:
    target = _table_code(table)
    return max(4 - bin(code ^ target).count("1") for code in codes)


# --------------------------------------------------------------------------------------------
# Exact evaluation of a network for the derivation (SymPy).

def exact_preactivations(rows, inputs, hidden: int, skip: bool) -> list[sp.Expr]:
    """The output's pre-activation at each input, exactly: rationals, with σ of rationals."""
    out = []
    for x in inputs:
        h = [sigmoid(sum(w * v for w, v in zip(u[:-1], x)) + u[-1]) for u in rows[:hidden]]
        features = (list(x) if skip or not hidden else []) + h
        out.append(sum(w * v for w, v in zip(rows[hidden][:-1], features)) + rows[hidden][-1])
    return out


def _classify(z: sp.Expr, tie: str) -> int:
    return int(bool(z >= 0) if tie == "class1" else bool(z > 0))


def _relation(expr: sp.Expr, label: int, tie: str) -> sp.Basic:
    """The condition 'class ``label``' on a pre-activation under the tie rule."""
    strict = _strict(label, tie)
    if label:
        return (sp.StrictGreaterThan if strict else sp.GreaterThan)(expr, 0, evaluate=False)
    return (sp.StrictLessThan if strict else sp.LessThan)(expr, 0, evaluate=False)


def _strict(label: int, tie: str) -> bool:
    return bool(label) != (tie == "class1")


def _show(values):
    """Pre-activations for a step: exact rationals as they are, others to 12 digits."""
    return [v if v.is_Rational else sp.Float(sp.N(v, 20), 12) for v in values]


def gain(weights: Sequence[sp.Rational]) -> sp.Integer:
    """The smallest integer k ≥ 1 with S·σ(−k) ≤ 1/2, S = Σ|weights|: hidden units of margin
    k are then within σ(−k) of their bits, and the output keeps margin ≥ 1/2."""
    total = sum(abs(v) for v in weights)
    return sp.Integer(1) if total <= 1 else sp.ceiling(sp.log(2 * total - 1))


def plain_gain(total: float) -> int:
    """The same gain, counted up one integer at a time in floats."""
    k = 1
    while total / (1 + np.exp(k)) > 0.5:
        k += 1
    return k


def _preactivation_symbols(gate: str):
    return tuple(sp.Symbol(f"z_{gate}({x[0]},{x[1]})") for x in INPUTS)


# --------------------------------------------------------------------------------------------

def _single_unit(sol, gate, table):
    """A separable gate: the margin-1 unit, its pre-activations and its network answer."""
    theta = [_rational(v) for v in separating_unit(constraint_rows(INPUTS, table))]
    rows = [theta]
    z = exact_preactivations(rows, INPUTS, 0, False)
    sol.step("{gate}: the margin-1 inequalities a_i·θ ≥ 1 have the vertex θ = {theta} (three of them tight). "
             "This single unit is its own separability certificate: its pre-activations at the four inputs lie at "
             "least 1 from 0 on the side the table {table} asks for:", _preactivation_symbols(gate), z,
             math={"gate": sp.Symbol(gate), "theta": tuple(theta), "table": tuple(table)},
             check=Reference(compute=lambda: forward(rows, INPUTS, 0, False), tolerance=ROUNDING,
                             describe="the unit run in NumPy"))
    sol.answer(f"{gate.lower()}_network", sp.Symbol(f"N_{gate}"), rows,
               text=f"{gate}: no hidden layer; one sigmoid unit [w1, w2, b] = the row shown, every input "
                    "classified with its pre-activation at least 1 from 0.",
               check=TruthTable(target=table, hidden=0, margin=UNIT_MARGIN))
    return rows, 0


def _certificate(sol, gate, table, tie):
    """A gate no single unit computes: the inequalities and the exact Farkas combination."""
    rows = constraint_rows(INPUTS, table)
    strict = [_strict(t, tie) for t in table]
    y = farkas_multipliers(rows)
    linear = [w1 * x[0] + w2 * x[1] + b for x in INPUTS]
    conditions = {f"c{i}": _relation(f, t, tie) for i, (f, t) in enumerate(zip(linear, table))}
    sol.step(f"{gate}: a single unit with weights w₁, w₂ and bias b would need, at the inputs (0,0), (0,1), "
             "(1,0), (1,1) in turn: {c0}, {c1}, {c2}, {c3}. Multiplying each by −1 where its class is 0 "
             "writes every one as a_i·θ ≥ 0 or > 0, with θ = {theta}.",
             math=conditions | {"theta": THETA})
    terms = [sp.Mul(_rational(yi), sum(sp.Integer(int(a)) * t for a, t in zip(row, THETA)), evaluate=False)
             for yi, row in zip(y, rows)]
    combination = sp.Add(*terms, evaluate=False)
    sol.step("The multipliers y = {y} are nonnegative, sum to 1 and were found by solving "
             "Σ y_i a_i = 0, Σ y_i = 1 exactly in fractions. Adding the inequalities with these weights, the "
             "left sides cancel for every w₁, w₂, b:", combination, sp.expand(combination),
             math={"y": tuple(_rational(v) for v in y)}, check=Identity(of=combination))
    strict_weight = sum(_rational(v) for v, s in zip(y, strict) if s)
    sol.step("Every y_i is ≥ 0 and the strict inequalities carry total weight {w} > 0, so the same sum is "
             "> 0: the contradiction 0 > 0. No choice of w₁, w₂, b works, so no single sigmoid unit (no "
             "hidden layer) computes {gate}, whatever its weights.",
             math={"w": strict_weight, "gate": sp.Symbol(gate)})
    sol.answer(f"{gate.lower()}_certificate", sp.Symbol(f"y_{gate}"), [_rational(v) for v in y],
               text=f"{gate}: the multipliers [y(0,0), y(0,1), y(1,0), y(1,1)] of the four inequalities "
                    "sᵢ·(w₁x₁ + w₂x₂ + b) ≥ 0 (> 0 for the strict ones): nonnegative, summing to 1, with "
                    "Σ yᵢ sᵢ (x₁, x₂, 1) = 0, so the inequalities add up to 0 > 0 and no single unit computes "
                    f"{gate}.",
               check=FarkasCertificate(rows=rows, strict=strict))


def _hidden_network(sol, gate, table, skip):
    """A gate that needs a hidden layer: the first set of separable hidden gates (fewest units,
    then truth-table order) under which the gate is separable, with the gain that makes it work."""
    candidates = [t for t in separable_tables() if 0 < sum(t) < 4]
    for size in range(1, MAX_HIDDEN + 1):
        if size == 1 and not skip:
            continue                              # excluded by the monotonicity argument
        for chosen in combinations(candidates, size):
            features = [(*(x if skip else ()), *(g[i] for g in chosen)) for i, x in enumerate(INPUTS)]
            rows = constraint_rows(features, table)
            if _rank(rows) < len(rows[0]):
                continue                          # units carrying no more than fewer units do
            output = separating_unit(rows)
            if output is not None:
                return _build(sol, gate, table, skip, chosen, [_rational(v) for v in output])
    raise RuntimeError(f"no network with at most {MAX_HIDDEN} hidden units found for {gate}")


def _build(sol, gate, table, skip, chosen, output):
    """The network from its hidden gates and output vertex: gain, pre-activations, answer."""
    hidden_units = [[_rational(v) for v in separating_unit(constraint_rows(INPUTS, g))] for g in chosen]
    names = " and ".join(NAMES[g] for g in chosen)
    on_hidden = output[2:-1] if skip else output[:-1]
    sol.step(f"{gate} with {len(chosen)} hidden unit{'s' if len(chosen) > 1 else ''}: trying as hidden units the "
             "non-constant gates one unit computes, in the order of their truth tables read as binary numbers, "
             "the first choice under which " + gate + " becomes linearly "
             f"separable is {names}" + (" (with the inputs passed on by the skip connections)" if skip else "")
             + ". On exact bits the output unit's margin-1 vertex is {out} (weights"
             + (" on x₁, x₂, then" if skip else "") + " on the hidden bits, then the bias), and the hidden "
             "units are the margin-1 units {hid}.",
             math={"out": tuple(output), "hid": tuple(tuple(u) for u in hidden_units)})
    total = sum(abs(v) for v in on_hidden)
    k = gain(on_hidden)
    sol.step("Real sigmoids are not bits: a hidden unit of margin 1 is within σ(−1) of its bit, and scaling "
             "its weights by k brings that to σ(−k). The output's pre-activation then moves by at most "
             "{S}·σ(−k) from its value on bits, so it keeps margin 1/2 once {S}·σ(−k) ≤ 1/2; the smallest "
             "integer gain doing so is", sp.Symbol(f"k_{gate}"), k, math={"S": total},
             check=Reference(compute=lambda: plain_gain(float(total)), describe="counting k up in floats"))
    network = [[k * v for v in u] for u in hidden_units] + [output]
    z = exact_preactivations(network, INPUTS, len(chosen), skip)
    sol.step("With the hidden units scaled by the gain, the network's output pre-activations at the four "
             "inputs are (to 12 digits) on the side of 0 that the table {table} needs, at least 1/2 from it:",
             _preactivation_symbols(gate), _show(z), math={"table": tuple(table)},
             check=Reference(compute=lambda: forward(network, INPUTS, len(chosen), skip), tolerance=1e-11,
                             describe="the network run in NumPy"))
    layout = "[w1, w2, b] of each hidden unit, then the output unit [" + ("u1, u2 (skip weights on x1, x2), "
                                                                          if skip else "") \
             + ", ".join(f"v{j + 1}" for j in range(len(chosen))) + " (on the hidden units), c]"
    sol.answer(f"{gate.lower()}_network", sp.Symbol(f"N_{gate}"), network,
               text=f"{gate}: {len(chosen)} hidden sigmoid unit{'s' if len(chosen) > 1 else ''} ({names}, scaled by "
                    f"the gain) and one sigmoid output unit; rows {layout}. Every input is classified with the "
                    "output's pre-activation at least 1/2 from 0.",
               check=TruthTable(target=table, hidden=len(chosen), skip=skip, margin=NET_MARGIN))
    return network, len(chosen)


def _one_hidden_argument(sol, p, tables):
    """Why one hidden unit cannot help without skips (the proof), and a random search showing it."""
    sol.step("One hidden unit is not enough without skip connections. Its value is h = σ(u) with u = v₁x₁ + "
             "v₂x₂ + c, and the output's pre-activation is a·h + d. Since σ is strictly increasing, a·σ(u) + d "
             "is increasing in u for a > 0, decreasing for a < 0 and constant for a = 0, so it changes sign at "
             "most once as u grows: the class-1 inputs are those with u ≥ t, or those with u ≤ t, or all or "
             "none, where a·σ(t) + d = 0 (with > or < instead where the tie rule is strict). That is exactly "
             "the class-1 set of the single unit ±(u − t), a threshold of one linear form in x, which the "
             "certificates above rule out for XOR and XNOR.")
    codes = searched_tables(1, False, p["samples"], p["seed"], p["tie"])
    targets = [tables["XOR"], tables["XNOR"]]
    sol.step("A numeric demonstration: {n} random one-hidden-unit networks (boundaries through the unit "
             "square, gains 1 to 10) reach {count} of the 16 truth tables, and the best of them gets this many "
             "of the four rows of XOR and of XNOR right:", (sp.Symbol("best_XOR"), sp.Symbol("best_XNOR")),
             [sp.Integer(_best_rows(codes, t)) for t in targets],
             math={"n": p["samples"] ** 2, "count": len(codes)},
             check=Reference(compute=lambda: [_best_rows(frozenset(map(_table_code, separable_tables())), t)
                                              for t in targets],
                             describe="the nearest linearly separable table, decided exactly"))


def _not_example(sol, p, tie):
    """The sheet's NOT unit through the same rule, and the bias that makes its weight a NOT gate."""
    weight, bias = p["not_weight"], p["not_bias"]
    not_table = [1, 0]
    z = [bias, weight + bias]
    sol.step("The sheet's NOT example is one unit with weight {w} and bias {b} on the input A, class 1 when "
             "its pre-activation is " + ("≥ 0" if tie == "class1" else "> 0") + ". At A = 0 and A = 1 the "
             "pre-activations are", (sp.Symbol("z(0)"), sp.Symbol("z(1)")), z, math={"w": weight, "b": bias},
             check=Reference(compute=lambda: [float(_fraction(bias)), float(_fraction(weight) + _fraction(bias))],
                             tolerance=ROUNDING, describe="a plain loop in fractions"))
    classes = [_classify(v, tie) for v in z]
    verdict = ("it is a NOT gate" if classes == not_table
               else "it is not a NOT gate: it outputs " + ("the constant " + str(classes[0]) if classes[0] == classes[1]
                                                           else "A itself"))
    sol.answer("not_example_table", (sp.Symbol("y(0)"), sp.Symbol("y(1)")), classes,
               text=f"The sheet's NOT example (weight {weight}, bias {bias}) gives the classes [y(A=0), y(A=1)] "
                    f"shown: {verdict}.",
               check=Reference(compute=lambda: [int(v >= 0 if tie == "class1" else v > 0)
                                                for v in (_fraction(bias), _fraction(weight) + _fraction(bias))],
                               describe="the tie rule applied in fractions"))
    fixed_w = -abs(weight) if weight != 0 else sp.Integer(-1)
    low, high = sp.Integer(0), -fixed_w
    fixed_b = (low + high) / 2
    sol.step("A NOT unit with weight {w} needs class 1 at A = 0 and class 0 at A = 1: {c0} and {c1}, so b runs "
             "from {lo} to {hi} (" + ("the first included, the second not" if tie == "class1"
                                        else "the first excluded, the second included")
             + "). The middle of that range, the bias with the largest margin {m}, is",
             sp.Symbol("b_NOT"), fixed_b,
             math={"w": fixed_w, "c0": _relation(b, 1, tie), "c1": _relation(fixed_w + b, 0, tie),
                   "lo": low, "hi": high, "m": fixed_b},
             check=Reference(compute=lambda: float(-_fraction(fixed_w)) / 2, describe="half the weight's size"))
    sol.answer("not_network", sp.Symbol("N_NOT"), [[fixed_w, fixed_b]],
               text="A NOT gate: the single unit [w, b] shown, classifying A = 0 and A = 1 with margin |w|/2.",
               check=TruthTable(target=not_table, inputs=((0,), (1,)), margin=float(fixed_b)))


def solve(p, sol):
    tie, skip = p["tie"], p["skip"]
    sol.assume("A sigmoid unit's output σ(z) is read as class 1 when its pre-activation z = w·x + b is "
               + ("≥ 0 (σ(z) ≥ 1/2), the sheet's rule" if tie == "class1" else "> 0 (σ(z) > 1/2)")
               + "; the sheet's 'output ≥ 0' only makes sense for z, since σ(z) > 0 always. --set tie="
               + ("class0" if tie == "class1" else "class1") + " gives z = 0 to the other class. Inputs are 0 or 1.")
    sol.assume("Every unit, hidden or output, is a sigmoid unit with a bias. 'Smallest' means fewest hidden "
               "units; the networks are layered MLPs in which the output sees only the hidden layer"
               + (", except that --set skip=true is in force: the output also sees the inputs directly "
                  "(skip connections)." if skip else " (no skip connections; --set skip=true allows the output "
                                                     "to see the inputs too)."))
    sol.assume("Weights are exact: each unit is first built with margin 1 (every input's pre-activation at "
               "least 1 from 0) by exact linear algebra in fractions, and hidden units are then scaled by an "
               "integer gain so that their sigmoids are close enough to bits.")

    tables = {g: [int(fn(*x)) for x in INPUTS] for g, fn in GATES.items()}
    sol.step("One unit with weights θ = {theta} puts input x in class 1 when {z} is "
             + ("≥ 0" if tie == "class1" else "> 0") + ". Write a_i = s_i·(x_i, 1) with s_i = +1 where the "
             "gate's table says 1 and −1 where it says 0: the unit is right at x_i exactly when a_i·θ ≥ 0 "
             "(> 0 for the class the tie rule keeps strict). Gordan's alternative decides, exactly and in "
             "fractions, which of two things holds: either some θ has a_i·θ > 0 at all four inputs (scaled "
             "up, a_i·θ ≥ 1), or nonnegative multipliers y_i with Σ y_i = 1 give Σ y_i a_i = 0, and then no "
             "unit is right at every input once the strict inequalities carry some of the weight.",
             math={"theta": THETA, "z": w1 * sp.Symbol("x_1") + w2 * sp.Symbol("x_2") + b})
    networks = {}
    for gate, table in tables.items():
        rows = constraint_rows(INPUTS, table)
        unit, certificate = separating_unit(rows), farkas_multipliers(rows)
        if (unit is None) == (certificate is None):
            raise RuntimeError(f"{gate}: Gordan's alternative found {'both' if unit else 'neither'}")
        if unit is not None:
            networks[gate] = _single_unit(sol, gate, table)
        else:
            _certificate(sol, gate, table, tie)
    if not skip:
        _one_hidden_argument(sol, p, tables)
    for gate, table in tables.items():
        if gate not in networks:
            networks[gate] = _hidden_network(sol, gate, table, skip)

    truth = [[_classify(z, tie) for z in exact_preactivations(net, INPUTS, h, skip)]
             for net, h in networks.values()]
    sol.answer("truth_tables", tuple(sp.Symbol(g) for g in tables), truth,
               text="The truth tables the four networks compute, each over the inputs (0,0), (0,1), (1,0), (1,1).",
               check=Reference(compute=lambda: [[int(fn(*x)) for x in INPUTS] for fn in GATES.values()],
                               describe="Python's own and/or/!=/=="))
    sizes = [sp.Integer(h) for _, h in networks.values()]
    layers = ", ".join(f"{g}: {'one layer (the output unit)' if h == 0 else f'{h} hidden + 1 output unit'}"
                       for g, (_, h) in networks.items())
    sol.answer("hidden_units", tuple(sp.Symbol(f"H_{g}") for g in tables), sizes,
               text=f"The fewest hidden units for AND, OR, XOR, XNOR ({layers}). Fewer is impossible: 0 by the "
                    "exact certificates" + ("" if skip else ", 1 by the monotonicity argument") + "; the "
                    "networks shown attain the sizes.",
               check=Reference(compute=lambda: searched_sizes(skip, p["samples"], p["seed"], tie),
                               describe=f"a random search over {p['samples'] ** 2} networks per size"))
    _not_example(sol, p, tie)


PROBLEM = Problem(
    id="a1/problem2",
    title="The smallest sigmoid MLPs for AND, OR, XOR and XNOR",
    kind="construction + truth-table check + minimality proof",
    statement=(
        "Design multilayer perceptrons of sigmoid units that compute the logic gates AND, OR, XOR and XNOR of "
        "two inputs that are 0 or 1, each as small as possible: how many layers, and how many units in each "
        "layer, are needed at least, and with which weights? As an illustration the sheet shows a NOT gate: a "
        "single unit that multiplies its input A by −1 and adds a bias of −0.5, its class read off by "
        "comparing the result with 0."
    ),
    solve_fn=solve,
    params=(
        Param("tie", "class1", "the class of a pre-activation of exactly 0 (class1: z >= 0 is class 1)",
              kind="choice", choices=("class1", "class0"), vary=Pick(("class1", "class0"))),
        Param("skip", False, "allow skip connections from the inputs to the output unit", kind="bool",
              vary=Pick((False, True))),
        Param("not_weight", sp.Integer(-1), "the weight of the NOT example", vary=Fractions(-3, 3, nonzero=True)),
        Param("not_bias", sp.Rational(-1, 2), "the bias of the NOT example", vary=Fractions(-2, 2, 2)),
        Param("samples", 300, "random hidden layers (and output units per layer) of the search", kind="int",
              minimum=200, maximum=1000),
        Param("seed", 0, "seed of the random search", kind="int", shown=False, vary=Ints(1, 999_999)),
    ),
    variation=Variation(restate=lambda p: PROBLEM.statement.replace(
        "by −1 and adds a bias of −0.5",
        f"by {inline(p['not_weight'])} and adds a bias of {inline(p['not_bias'])}".replace("-", "−"))),
)
