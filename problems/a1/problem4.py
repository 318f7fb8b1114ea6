"""a1/problem4: same padding, stride sizes, average pooling and pooling as a convolution, on the
figure's arrays (or the user's), in exact rationals checked against the NumPy backend's layers."""

from functools import cache
from math import lcm

import numpy as np
import sympy as sp
from numpy.lib.stride_tricks import sliding_window_view

from derivations.backend.nn.conv import Conv2d
from derivations.backend.nn.pooling import AvgPool2d
from derivations.calculus.layerspec import output_size
from derivations.calculus.oracles import Reference
from derivations.core.errors import UserError
from derivations.core.model import IntArray, Param, Pick, Problem, Variation

#: The missing figure, from the original assignment (../shared/CATALOGUE.md).
FIGURE_F = sp.ImmutableMatrix([[3, 5, 2, 3], [9, 1, 8, 4], [6, 4, 3, 7], [7, 0, 2, 4]])
FIGURE_FILTER1 = sp.ImmutableMatrix([[-1, sp.Rational(1, 2), -2], [2, 0, 1], [0, 1, sp.Rational(3, 2)]])
FIGURE_FILTER2 = sp.ImmutableMatrix([[-1, sp.Rational(1, 2)], [2, 0]])
#: Bounds on user arrays: the exact sums stay fast (at most 64²·16² products) and float64 finite.
MAX_MAP, MAX_FILTER, MAX_ENTRY = 64, 16, 10**9
MAX_ENTRY_TEXT = "10⁹"
#: A float64 sum of m ≤ 16² products errs by at most about m·2⁻⁵³·Σ|xᵢwᵢ| (< 3e-14 of it), plus
#: the rounding of the inputs; the checks allow 1e-12 of the bound max|x|·Σ|w| on that sum.
FLOAT_RELATIVE = 1e-12
#: Seed of the random multi-channel input the pooling-as-convolution checks use.
SEED = 0


def _whole(value) -> int:
    """An integer claim as an ``int``; a fractional one is refused (``int`` would truncate it)."""
    if value != int(value):
        raise ValueError(f"{value} is not a whole number")
    return int(value)


def _read(value, name: str, largest: int, square: bool) -> sp.ImmutableMatrix:
    """A parameter array as an exact matrix, or a one-line reason why it cannot be one. Decimals
    are read as written (0.1 as 1/10, the shortest decimal of the float the JSON gave)."""
    exact = isinstance(value, sp.MatrixBase)
    try:
        array = _floats(value) if exact else np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise UserError(f"{name} must be a matrix of numbers, a JSON list of rows such as [[1, 2], [3, 4]]") from None
    if array.ndim != 2 or array.size == 0:
        raise UserError(f"{name} must be a matrix, a JSON list of rows such as [[1, 2], [3, 4]] "
                        f"(got {array.ndim} dimension{'s' * (array.ndim != 1)})")
    rows, cols = array.shape
    if max(rows, cols) > largest:
        raise UserError(f"{name} is {rows}×{cols}; at most {largest}×{largest} is allowed")
    if square and rows != cols:
        raise UserError(f"{name} must be square (k×k), got {rows}×{cols}")
    if not np.all(np.isfinite(array)) or np.abs(array).max() > MAX_ENTRY:
        raise UserError(f"{name} must hold finite numbers of size at most {MAX_ENTRY_TEXT}")
    entries = list(value) if exact else array.flat
    return sp.ImmutableMatrix(rows, cols, [e if isinstance(e, sp.Rational) else sp.Rational(repr(float(e)))
                                           for e in entries])


def _integers(matrix):
    """``(numbers, d)``: the matrix as an object array of Python ints over one common denominator d."""
    d = lcm(*(e.q for e in matrix))
    return np.array([[e.p * (d // e.q) for e in matrix.row(i)] for i in range(matrix.rows)], dtype=object), d


def correlate(x, w, stride: int, pads: tuple[int, int]) -> sp.ImmutableMatrix:
    """Exact cross-correlation Σ_{u,v} x[i·s + u, j·s + v]·w[u, v] of x zero-padded by ``pads``
    (before, after) on both axes: integer sums over a common denominator, so no rounding."""
    numbers, dx = _integers(x)
    weights, dw = _integers(w)
    padded = np.pad(numbers, [pads, pads], constant_values=0)
    rows, cols = (output_size(n, k, stride, 0) for n, k in zip(padded.shape, weights.shape))
    view = sliding_window_view(padded, weights.shape)[::stride, ::stride][:rows, :cols]
    sums = (view * weights).sum(axis=(-2, -1))
    return sp.ImmutableMatrix(rows, cols, [sp.Rational(v, dx * dw) for v in sums.flat])


def average_pool(x, k: int, stride: int) -> sp.ImmutableMatrix:
    """Exact means of the k×k windows of x at ``stride``, no padding (a window past the edge is dropped)."""
    numbers, d = _integers(x)
    rows, cols = (output_size(n, k, stride, 0) for n in x.shape)
    sums = sliding_window_view(numbers, (k, k))[::stride, ::stride][:rows, :cols].sum(axis=(-2, -1))
    return sp.ImmutableMatrix(rows, cols, [sp.Rational(v, d * k * k) for v in sums.flat])


def _floats(matrix) -> np.ndarray:
    return np.array(matrix.tolist(), dtype=float)


def backend_conv(x: np.ndarray, w: np.ndarray, stride, pads) -> np.ndarray:
    """The backend's float64 Conv2d on C-channel maps (H, W, C) with weights (k, k, C_in, C_out).
    It pads equally on both sides; an extra zero row and column at the end come first."""
    before, after = (_whole(v) for v in pads)
    x = np.pad(x, [(0, after - before), (0, after - before), (0, 0)])
    layer = Conv2d(w.shape[2], w.shape[3], w.shape[:2], stride=_whole(stride), padding=before, bias=False,
                   dtype=np.float64, rng=np.random.default_rng(SEED))
    layer.W.data[...] = w
    return layer.forward(x[None])[0]


def backend_pool(x: np.ndarray, k: int, stride: int) -> np.ndarray:
    """The backend's float64 AvgPool2d on a C-channel map (H, W, C)."""
    return AvgPool2d(k, stride).forward(x[None])[0]


def _single(w: np.ndarray) -> np.ndarray:
    return w[:, :, None, None]


def _pads(claim) -> tuple:
    """A padding claim as (before, after): one number pads both sides."""
    return tuple(claim) if isinstance(claim, (tuple, list)) else (claim, claim)


def _size(shape) -> str:
    return "×".join(str(v) for v in shape)


def solve(p, sol):
    F = _read(p["F"], "F", MAX_MAP, square=False)
    filter1 = _read(p["filter1"], "filter1", MAX_FILTER, square=True)
    filter2 = _read(p["filter2"], "filter2", MAX_FILTER, square=True)
    flipped, pb, C = p["kernel"] == "flipped", p["padding_b"], p["channels"]
    k_pool, s_pool = p["pool"], p["pool_stride"]
    H, W = F.shape
    k1, k2 = filter1.rows, filter2.rows
    if min(H, W) < 2:
        raise UserError(f"F must be at least 2×2, got {H}×{W}")
    if k2 > min(H, W) + 2 * pb:
        raise UserError(f"filter2 ({k2}×{k2}) is larger than F padded by {pb} ({H + 2 * pb}×{W + 2 * pb})")
    if k_pool > min(H, W):
        raise UserError(f"the pooling window {k_pool}×{k_pool} is larger than F′ ({H}×{W}, the size of F)")

    def applied(f):  # the filter the chosen reading slides over the map
        return f[::-1, ::-1] if flipped else f

    F_float = _floats(F)[:, :, None]
    w1, w2 = (_single(_floats(applied(f))) for f in (filter1, filter2))
    bound = float(np.abs(F_float).max())
    tolerance_1 = FLOAT_RELATIVE * bound * float(np.abs(w1).sum())
    tolerance_2 = FLOAT_RELATIVE * bound * float(np.abs(w2).sum())

    sol.assume("The sheet's figure is missing: F, Filter1 and Filter2 default to the arrays of the original "
               "assignment (F 4×4, Filter1 3×3, Filter2 2×2). Give your own with --set F=[[...], ...], "
               f"--set filter1=... or --set filter2=... (JSON lists of rows; maps up to {MAX_MAP}×{MAX_MAP}, "
               f"square filters up to {MAX_FILTER}×{MAX_FILTER}, entries up to {MAX_ENTRY_TEXT} in size); every "
               "value is exact, a decimal such as 0.1 read as 1/10.")
    reading = ("the filter turned upside down and left to right first (true convolution); --set "
               "kernel=correlation for the deep-learning reading" if flipped else
               "no flip of the filter, as PyTorch's conv2d and the backend's Conv2d compute it; --set kernel=flipped "
               "for the textbook convolution, which turns the filter upside down and left to right first")
    sol.assume(f"'Convolution' is read as {'true convolution' if flipped else 'cross-correlation'}: entry (i, j) of "
               f"the output is Σ_(u,v) F[i·s + u, j·s + v]·f[u, v] over the zero-padded map, with {reading}.")
    sol.assume("Zero padding p adds p rows or columns of zeros on each side; each side of the output is "
               "⌊(n + 2p − k)/s⌋ + 1, so a window that would run past the padded map is not used.")
    sol.assume(f"Average pooling takes the plain mean of each {k_pool}×{k_pool} window (no padding), windows "
               f"{s_pool} apart (--set pool=..., --set pool_stride=...); (d) also gives the weights for a map of "
               f"{C} channels (--set channels=...).")

    n_, k_, p_, s_ = sp.symbols("n k p s", integer=True, positive=True)

    # (a) same padding at stride 1
    keeps = sp.factor(sp.solve_linear(output_size(n_, k_, 1, p_), n_, symbols=[p_])[1])
    sol.step("(a) At stride one a side n becomes {size}; it stays n exactly when {p} = {keeps}.",
             math={"size": output_size(n_, k_, 1, p_), "p": p_, "keeps": keeps})
    shape_with = lambda f: lambda claim: list(backend_conv(F_float, f, 1, _pads(claim)).shape[:2])  # noqa: E731
    keeps_size = Reference(compute=lambda: [H, W], convert=shape_with(w1), tolerance=0,
                           describe="the backend Conv2d's output shape (that of F)")
    if k1 % 2:
        pads = (k1 // 2, k1 // 2)
        padding_a = sp.Integer(keeps.subs(k_, k1))
        sol.step("Filter1 is {k}×{k}, an odd size, so", p_, padding_a, math={"k": k1}, check=keeps_size)
    else:
        pads = ((k1 - 1) // 2, k1 // 2)
        padding_a = tuple(sp.Integer(v) for v in pads)
        sol.step("Filter1 is {k}×{k}, an even size: {p} = {keeps} is not a whole number, so no equal padding on "
                 "both sides keeps the size. As PyTorch's padding='same' and TensorFlow's 'SAME' do, pad one row and "
                 "column fewer before (top, left) than after (bottom, right):", (sp.Symbol("p_before"),
                 sp.Symbol("p_after")), padding_a, math={"k": k1, "p": p_, "keeps": keeps.subs(k_, k1)},
                 check=keeps_size)
    F_prime = correlate(F, applied(filter1), 1, pads)
    a_reference = Reference(compute=lambda: backend_conv(F_float, w1, 1, pads)[:, :, 0], tolerance=tolerance_1,
                            describe="the backend's Conv2d in float64")
    if flipped:
        sol.step("The true convolution slides the filter turned upside down and left to right:",
                 sp.Function("flip")(sp.Symbol("Filter1")), applied(filter1),
                 check=Reference(compute=lambda: np.rot90(_floats(filter1), 2), tolerance=0,
                                 describe="NumPy's rot90 of Filter1"))
    sol.step("Entry ({one}, {one}) is the sum of the entrywise products of the top-left {k}×{k} window of the "
             "zero-padded F with the filter:", sp.Symbol("F'_11"), F_prime[0, 0], math={"one": 1, "k": k1},
             check=Reference(compute=lambda: backend_conv(F_float, w1, 1, pads)[0, 0, 0], tolerance=tolerance_1,
                             describe="the backend's Conv2d in float64"))
    F_prime_symbol = sp.Symbol("F'")
    sol.step("Sliding the window over every position, one apart, gives the new map, as large as F:",
             F_prime_symbol, F_prime, check=a_reference)
    sol.answer("a_padding", p_, padding_a,
               text=f"(a) Stride 1 keeps the {_size(F.shape)} size with padding "
                    + (f"p = {padding_a} = (k − 1)/2." if k1 % 2 else
                       f"{pads[0]} before and {pads[1]} after: an even k = {k1} has no equal padding that does it."),
               check=keeps_size)
    sol.answer("a_feature_map", F_prime_symbol, F_prime, check=a_reference)

    # (b) Filter2, padding p_b: which strides give which sizes
    strides = range(1, max(n + 2 * pb - k2 for n in (H, W)) + 2)
    sizes_b = [(output_size(H, k2, s, pb), output_size(W, k2, s, pb)) for s in strides]
    measured_b = cache(lambda: [list(backend_conv(F_float, w2, s, (pb, pb)).shape[:2]) for s in strides])
    sizes_reference = Reference(compute=measured_b, tolerance=0, describe="the backend Conv2d's output shapes")
    sides = (("side", H),) if H == W else (("height", H), ("width", W))
    for axis, (name, n) in enumerate(sides):
        lead = ("(b) With Filter2 ({k}×{k}) and {p} = {pb}, stride {s} gives an output " + name + " of {general}, "
                "here" if axis == 0 else "and an output " + name + " of")
        sol.step(lead, sp.Symbol(f"{name}_out"), output_size(sp.Integer(n), k2, s_, pb),
                 math={"k": k2, "p": p_, "pb": pb, "s": s_, "general": output_size(n_, k_, s_, p_)},
                 check=Reference(compute=lambda a=axis: [shape[a] for shape in measured_b()], tolerance=0,
                                 convert=lambda f: [f.subs(s_, s) for s in strides],
                                 describe="the backend Conv2d's output shapes"))
    sol.step("For strides {first} to {last} (from there on the output is {one}×{one}):", sp.Symbol("sizes"), sizes_b,
             math={"first": strides[0], "last": strides[-1], "one": 1}, check=sizes_reference)
    same = [s for s, shape in zip(strides, sizes_b) if shape == (H, W)]
    gap = 2 * pb - (k2 - 1)
    at_one = (f"at s = 1, 2p = k − 1 = {k2 - 1} leaves each side as it is" if gap == 0 else
              f"at s = 1 each side changes by 2p − (k − 1) = {gap:+d}, giving {_size(sizes_b[0])}")
    why_one = ("" if gap == 0 else "; stride 1 keeps the size only when 2p = k − 1, " +
               ("which no whole p does for an even k" if k2 % 2 == 0 else f"that is p = {(k2 - 1) // 2}"))
    table = "; ".join(f"s = {s}: {_size(shape)}" for s, shape in zip(strides, sizes_b))
    if same:
        verdict = (f"(b) Yes: stride {' or '.join(map(str, same))} keeps the {_size(F.shape)} size of F ({at_one}"
                   f"{why_one}). Sizes by stride: {table}.")
    else:
        verdict = (f"(b) No: {at_one}{why_one}; no larger stride gives {_size(F.shape)} either, the side "
                   f"⌊(n + 2p − k)/s⌋ + 1 never growing with s. Sizes by stride: {table}.")
    sol.answer("b_output_sizes", sp.Symbol("sizes"), sizes_b, check=sizes_reference)
    sol.answer("b_same_size", sp.Symbol("same_size"), bool(same), text=verdict,
               check=Reference(compute=lambda: any(shape == [H, W] for shape in measured_b()), tolerance=0,
                               describe="the backend Conv2d's output shapes"))
    if same:
        stride_b = sp.Integer(same[0])
        G = correlate(F, applied(filter2), stride_b, (pb, pb))
        b_reference = Reference(compute=lambda: backend_conv(F_float, w2, stride_b, (pb, pb))[:, :, 0],
                                tolerance=tolerance_2, describe="the backend's Conv2d in float64")
        sol.step("With stride {s} the new map is", sp.Symbol("G"), G, math={"s": stride_b}, check=b_reference)
        sol.answer("b_stride", s_, stride_b,
                   check=Reference(compute=lambda: [H, W], tolerance=0, describe="the backend Conv2d's output shape",
                                   convert=lambda s: list(backend_conv(F_float, w2, s, (pb, pb)).shape[:2])))
        sol.answer("b_feature_map", sp.Symbol("G"), G, check=b_reference)

    # (c) average pooling of F′
    pooled = average_pool(F_prime, k_pool, s_pool)
    float_F_prime = cache(lambda: backend_conv(F_float, w1, 1, pads))   # the backend's own chain, conv then pool
    pooled_float = cache(lambda: backend_pool(float_F_prime(), k_pool, s_pool)[:, :, 0])
    pool_reference = Reference(compute=pooled_float, tolerance=tolerance_1,
                               describe="the backend's AvgPool2d in float64")
    used = [s_pool * (n - 1) + k_pool for n in pooled.shape]
    sol.step("(c) {k}×{k} windows {s} apart, without padding, give a map of side {general}:",
             (sp.Symbol("H_pool"), sp.Symbol("W_pool")), pooled.shape,
             math={"k": k_pool, "s": s_pool, "general": output_size(n_, k_pool, s_pool, 0)},
             check=Reference(compute=lambda: list(backend_pool(float_F_prime(), k_pool, s_pool).shape[:2]),
                             tolerance=0, describe="the backend AvgPool2d's output shape"))
    past = [(name, u) for name, n, u in (("row", H, used[0]), ("column", W, used[1])) if n > u]
    if past:
        sol.step("The floor leaves " + " and ".join(f"the {name}s of F′ past {name} {{{name}}}" for name, _ in past)
                 + " in no window: the pooling drops them.", math=dict(past))
    if s_pool > k_pool:
        sol.step("Windows {s} apart but only {k} wide also skip the rows and columns between them.",
                 math={"s": s_pool, "k": k_pool})
    sol.step("Each entry is the mean of its window of F′:", sp.Symbol("P"), pooled, check=pool_reference)
    sol.answer("c_pooled", sp.Symbol("P"), pooled, check=pool_reference)

    # (d) the same pooling as a convolution
    share = sp.Rational(1, k_pool * k_pool)
    pool_filter = sp.ImmutableMatrix(k_pool, k_pool, [share] * (k_pool * k_pool))
    rng = np.random.default_rng(SEED)
    x_random = rng.standard_normal((H, W, C))
    random_tolerance = FLOAT_RELATIVE * float(np.abs(x_random).max())
    random_pooled = lambda: backend_pool(x_random, k_pool, s_pool)  # noqa: E731

    def single_filter(claim):  # the claimed filter on every channel of the random map, channel by channel
        w = _floats(claim)
        return np.concatenate([backend_conv(x_random[:, :, c:c + 1], _single(w), s_pool, (0, 0))
                               for c in range(C)], axis=2)

    def channel_weights(claim):  # the claimed C×C matrix at every offset of the window
        w = np.broadcast_to(_floats(claim), (k_pool, k_pool, C, C))
        return backend_conv(x_random, w, s_pool, (0, 0))

    sol.step("(d) A window's mean is the sum of its {kk} entries, each times {share}: a cross-correlation with the "
             "constant {k}×{k} filter (the same when flipped, so both readings agree), moved {s} at a time as the "
             "pooling windows are, with padding {zero} so that the windows are the same:",
             sp.Symbol("f_pool"), pool_filter, math={"kk": k_pool * k_pool, "share": share, "k": k_pool, "s": s_pool,
                                                     "zero": 0},
             check=Reference(compute=random_pooled, convert=single_filter, tolerance=random_tolerance,
                             describe="the backend's AvgPool2d on a random map"))
    sol.step("Convolving F′ with it, stride {s} and padding {zero}, gives the pooled map of (c):", sp.Symbol("P"),
             correlate(F_prime, pool_filter, s_pool, (0, 0)), math={"s": s_pool, "zero": 0}, check=pool_reference)
    channel_matrix = sp.ImmutableMatrix(sp.eye(C) * share)
    channels_reference = Reference(compute=random_pooled, convert=channel_weights, tolerance=random_tolerance,
                                   describe="the backend's AvgPool2d on a random multi-channel map")
    sol.step("For a map of {C} channels, a convolution with {C} input and {C} output channels pools each channel on "
             "its own when output channel c reads input channel c only: at every offset (u, v) of the window the "
             "{C}×{C} weight matrix is {share} times the identity, every cross-channel weight zero (a depthwise "
             "convolution, groups = C, with the filter above does the same):", sp.Symbol("W_uv"), channel_matrix,
             math={"C": C, "share": share}, check=channels_reference)
    sol.answer("d_filter", sp.Symbol("f_pool"), pool_filter)
    sol.answer("d_stride", sp.Symbol("s_pool"), sp.Integer(s_pool))
    sol.answer("d_padding", sp.Symbol("p_pool"), sp.Integer(0),
               text=f"(d) Filter all {share}, {k_pool}×{k_pool}, stride {s_pool}, padding 0: the convolution "
                    f"computes exactly the pooling of (c). With {C} channels: {C} → {C} channels, the weights "
                    f"at each offset {share} times the {C}×{C} identity (no cross-channel weights).")
    sol.answer("d_channel_weights", sp.Symbol("W_uv"), channel_matrix, check=channels_reference)
    sol.check("d: the backend's Conv2d with the filter, stride and padding of (d) vs its AvgPool2d, on F′",
              lambda a: _pooling_gap(a, float_F_prime()[:, :, 0], pooled_float()), tolerance_1)


def _pooling_gap(answers, F_prime: np.ndarray, pooled: np.ndarray) -> float:
    """Largest gap between the claimed pooling convolution of F′ and the pooled map (inf for a wrong shape)."""
    w = _single(_floats(answers["d_filter"]))
    padding = answers["d_padding"]
    out = backend_conv(F_prime[:, :, None], w, answers["d_stride"], (padding, padding))[:, :, 0]
    return float(np.abs(out - pooled).max()) if out.shape == pooled.shape else float("inf")


def _degenerate(p):
    """A filter of zeros gives a map of zeros, and a filter that reads the same flipped hides the
    reading of 'convolution'."""
    for name in ("filter1", "filter2"):
        if p[name].is_zero_matrix:
            return f"{name} is all zeros"
        if p[name] == p[name][::-1, ::-1]:
            return f"{name} is the same flipped"
    return None


PROBLEM = Problem(
    id="a1/problem4",
    title="Padding, stride, average pooling and pooling as a convolution",
    kind="convolution arithmetic on concrete arrays",
    statement=(
        "In a convolutional layer a feature map F is convolved with small filters (the sheet's figure of F, "
        "Filter1 and Filter2 is missing; the original assignment's arrays are the defaults). (a) With Filter1 at "
        "stride 1, which zero padding gives a new map F′ of the same size as F, and what is F′? (b) With Filter2 "
        "and padding 1, can some stride give a map of the size of F? If so, which stride and what map; if not, "
        "why not? (c) Average-pool F′ with 2×2 windows at stride 2. (d) Pooling can be done by a convolution "
        "layer: give a filter, stride and padding that reproduce the pooling of (c)."
    ),
    solve_fn=solve,
    params=(
        # the figure's arrays from small integers; F rectangular, so rows and columns cannot be swapped unseen
        Param("F", FIGURE_F, "the feature map, a JSON list of rows", kind="array",
              vary=IntArray(((4, 5), (5, 4), (4, 6), (6, 4), (5, 6), (6, 5)), 0, 9)),
        Param("filter1", FIGURE_FILTER1, "the square filter of parts (a) and (c)", kind="array",
              vary=IntArray(((3, 3),), -2, 2)),
        Param("filter2", FIGURE_FILTER2, "the square filter of part (b)", kind="array", vary=IntArray(((2, 2),), -2, 2)),
        Param("kernel", "correlation", "correlation (no flip, as deep-learning libraries) or flipped "
              "(true convolution)", kind="choice", choices=("correlation", "flipped"),
              vary=Pick(("correlation", "flipped"))),
        Param("padding_b", 1, "the zero padding of part (b)", kind="int", minimum=0, maximum=MAX_FILTER),
        Param("pool", 2, "side of the average-pooling window of parts (c) and (d)", kind="int", minimum=1,
              maximum=MAX_FILTER),
        Param("pool_stride", 2, "stride of the average pooling", kind="int", minimum=1, maximum=MAX_FILTER),
        Param("channels", 3, "channels of the multi-channel form in part (d)", kind="int", minimum=1, maximum=16),
    ),
    variation=Variation(degenerate=_degenerate),
)
