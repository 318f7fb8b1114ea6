"""a1/problem1: minimising the GELU approximation x·σ(1.702x) with gradient descent and momentum."""

import sympy as sp

from derivations.calculus.checks import max_abs_error, random_points, scalar_derivative_error
from derivations.core.errors import UserError
from derivations.calculus.functions import elementary, sigmoid
from derivations.calculus import optimizers
from derivations.calculus.iterates import (
    float_gelu, float_golden_section, float_iterates, float_values, gradient, run,
)
from derivations.calculus.oracles import Identity, Reference
from derivations.core.model import Fractions, Param, Problem, Variation
from derivations.calculus.printing import inline

x = sp.Symbol("x", real=True)
SCALE = sp.Rational(851, 500)          # the 1.702 of the approximation, kept exact
GELU = sp.Function("GELU")
MAX_STEPS = 200
#: Step checks against the float64 loops, whose central differences cost ~1e-10.
LOOP_TOLERANCE = 1e-8
#: Values shown in steps have 12 significant digits (|f′| < 1.2 everywhere).
SHOWN_TOLERANCE = 1e-11


def _show(value, digits=12):
    """A value for step text: exact rationals as they are, decimals to ``digits`` digits."""
    return value if value.is_Rational else sp.Float(value, digits)


def _names(prefix, steps):
    return tuple(sp.Symbol(f"{prefix}_{t}") for t in range(1, steps + 1))


def _gelus(points):
    return tuple(GELU(p) for p in points)


def _fmt(value, digits=6):
    return f"{float(value):.{digits}g}"


def _rule_steps(sol, part, rule, beta=None):
    """The part's update rule, stated once from the record's own equations."""
    math = {"x": optimizers.X, "g": optimizers.G, "eta": optimizers.ETA, "eta_v": rule.hyperparameter_values["eta"]}
    text = "({part}) The update as the shared optimizer record runs it: {x} is the current point, {g} = f′(x) the " \
           "gradient there and {eta} = {eta_v}"
    if beta is not None:
        math |= {"beta": optimizers.BETA, "beta_v": beta, "v": optimizers.V}
        text += ", {beta} = {beta_v}, and the average {v} starts at the first gradient"
    sol.step(text.replace("{part}", part) + ":", math=math)
    for equation in rule.initial_equations + rule.equations:
        sol.step("", equation.lhs, equation.rhs)


def _record_run(sol, part, rule, iterates, reference):
    """One step per assignment of the rule at every update, each checked against the rule's own
    float64 loop (``reference``: x₁ … x_{T+1}; velocities follow from its steps, v = Δx/η)."""
    eta = float(rule.hyperparameter_values["eta"])
    loop = [None] + list(reference)           # loop[t] = x_t of the float loop, t ≥ 1
    x0 = float(iterates.points[0])

    def loop_x(t):
        return x0 if t == 0 else loop[t]

    reading = dict(rule.options).get("reading")
    for t in range(1, len(iterates.points)):
        xprev = sp.Symbol(f"x_{t - 1}")
        first = True
        for target, update in rule.updates:
            name = f"{target.name}_{t}"
            value = iterates.points[t] if target == optimizers.X else iterates.states[t][target.name]
            if target == optimizers.X:
                oracle = Reference(compute=lambda t=t: loop_x(t), tolerance=LOOP_TOLERANCE,
                                   describe="the rule's float64 loop with central differences")
            else:                          # the velocity, from the float loop's steps: v_t = (x_{t−1} − x_t)/η (new)
                shift = 0 if reading == "new" else 1
                oracle = Reference(compute=lambda t=t, s=shift: (loop_x(t - 1 + s) - loop_x(t + s)) / eta,
                                   tolerance=LOOP_TOLERANCE / eta,
                                   describe="the float64 loop's step divided by η")
            math = {"target": target, "update": update, "t": t}
            if first:
                text = "({part}) Step {t}: {gsym} = {grad} = {g}, and {target} ← {update} gives"
                math |= {"gsym": optimizers.G, "grad": sp.Derivative(GELU(x), x).subs(x, xprev),
                         "g": _show(iterates.gradients[t - 1])}
            else:
                text = "then {target} ← {update} gives"
            sol.step(text.replace("{part}", part), sp.Symbol(name), _show(value), math=math, check=oracle)
            first = False
    steps = len(iterates.points) - 1
    sol.step("({part}) GELU at the iterates.".replace("{part}", part), _gelus(_names("x", steps)),
             tuple(_show(v) for v in iterates.values[1:]),
             check=Reference(compute=lambda: float_values(float_gelu, reference[:steps]), tolerance=LOOP_TOLERANCE,
                             describe="math.exp at the float64 loop's iterates"))


def _progress(iterates, x_star):
    """Fraction of the distance from x₀ to x* covered by the last iterate."""
    start, end = float(iterates.points[0]), float(iterates.points[-1])
    return (start - end) / (start - x_star) if start != x_star else 1.0


def _overshoots(iterates, x_star):
    side = float(iterates.points[0]) - x_star
    return any((float(p) - x_star) * side < 0 for p in iterates.points[1:])


def _monotone(iterates):
    return all(float(b) <= float(a) for a, b in zip(iterates.values, iterates.values[1:]))


def _compare_step_sizes(small, large, eta_small, eta_large, x_star, f_star, steps):
    better = large if float(large.values[-1]) < float(small.values[-1]) else small
    who = f"η = {eta_large}" if better is large else f"η = {eta_small}"
    lines = [
        f"After {steps} steps from x₀ = {small.points[0]}: η = {eta_small} reaches x = {_fmt(small.points[-1])} "
        f"(GELU = {_fmt(small.values[-1])}), η = {eta_large} reaches x = {_fmt(large.points[-1])} "
        f"(GELU = {_fmt(large.values[-1])}).",
        f"The minimum of x·σ(1.702x) is at x* ≈ {_fmt(x_star)} with GELU(x*) ≈ {_fmt(f_star)}.",
        f"{who} gets the lower value: η = {eta_small} covers {100 * _progress(small, x_star):.0f} % of the way "
        f"to x*, η = {eta_large} covers {100 * _progress(large, x_star):.0f} %.",
    ]
    for eta, iterates in ((eta_large, large), (eta_small, small)):
        if _overshoots(iterates, x_star) or not _monotone(iterates):
            lines.append(f"With η = {eta} the iterates overshoot x* or GELU rises at some step: the step is too "
                         "large for the curvature near the minimum.")
    if not any(_overshoots(r, x_star) for r in (small, large)):
        lines.append("Neither overshoots: on this gentle slope the larger step is simply faster, "
                     "while the small one would need many more iterations.")
    return " ".join(lines)


def _compare_methods(gd, mom, x_star, beta, reading, steps):
    ahead = gd if float(gd.values[-1]) < float(mom.values[-1]) else mom
    name = "plain gradient descent" if ahead is gd else "momentum"
    g0 = gd.gradients[0]
    direction = "right" if float(g0) < 0 else "left"
    gap = abs(float(gd.points[-1]) - float(mom.points[-1]))
    text = (
        f"Both start moving {direction} from x₀ = {gd.points[0]} (f′(x₀) ≈ {_fmt(g0)}; the minimum is at "
        f"x* ≈ {_fmt(x_star)}). After {steps} steps plain GD reaches x = {_fmt(gd.points[-1], 9)} "
        f"(GELU = {_fmt(gd.values[-1], 9)}) and momentum ({reading} reading) x = {_fmt(mom.points[-1], 9)} "
        f"(GELU = {_fmt(mom.values[-1], 9)}): {name} is ahead by {gap:.3g} in x. In this averaged form "
        f"v_{{t+1}} = {beta}·v_t + (1 − {beta})·∇f(x_t) the velocity has the size of a gradient, not 1/(1 − β) times it, so on "
        "a nearly constant slope momentum moves no faster than GD."
    )
    magnitudes = [abs(float(g)) for g in gd.gradients]
    if ahead is gd and all(b > a for a, b in zip(magnitudes, magnitudes[1:])):
        text += (" Here |∇f| grows along the path, and the average, weighted towards older and smaller "
                 "gradients, lags the current one, so momentum falls slightly behind.")
    if abs(float(gd.points[-1]) - float(gd.points[0])) < 0.1 * abs(float(gd.points[0]) - x_star):
        text += (" Both make little progress because GELU is nearly flat at x₀, so the gradient is small; "
                 "a larger step size would help both.")
    return text + (" Momentum pays off where plain GD zig-zags across a steep direction, since the average "
                   "cancels the alternating components; a smooth one-dimensional slope does not show that.")


def solve(p, sol):
    steps, digits, reading = p["steps"], p["digits"], p["momentum_reading"]
    if steps > MAX_STEPS:
        raise UserError(f"steps must be at most {MAX_STEPS}")
    if not (0 <= p["beta"] < 1):
        raise UserError(f"beta must lie in [0, 1), got {p['beta']}")
    f = x * sigmoid(SCALE * x)
    df = gradient(f, x)

    sol.assume("The objective is the approximation f(x) = x·σ(1.702x) itself (not the exact GELU), with "
               "1.702 kept as the exact fraction 851/500; σ′ = σ(1 − σ).")
    sol.assume("'Three updates' means x₁, x₂, x₃ computed from x₀; GELU is evaluated at each of them.")
    sol.assume(f"Part (c) gives no step size; the original assignment uses η = 0.1 as in part (a), so "
               f"eta_c = {p['eta_c']} here (change it with --set eta_c=...). Part (b) starts from part (a)'s x₀.")
    other = "old" if reading == "new" else "new"
    sol.assume("The momentum rule v₀ = ∇f(x₀), v_{t+1} = βv_t + (1 − β)∇f(x_t), x_{t+1} = x_t − ηv does not "
               f"say which v the step uses. This solution uses the '{reading}' reading "
               + ("(x_{t+1} = x_t − η v_{t+1}, the freshly updated average)" if reading == "new"
                  else "(x_{t+1} = x_t − η v_t, the average before this step's gradient)")
               + f"; the other is --set momentum_reading={other}. Either way x₁ equals the plain GD step.")
    sol.assume(f"Iterates are exact while the gradient is rational (x₁ = −1/20 in part (a)); after that they "
               f"are computed to {digits} significant digits (--set digits=...).")

    sol.step("Differentiate the objective with the product and chain rules.",
             sp.Derivative(GELU(x), x), df, check=Identity(of=sp.Derivative(f, x)))
    sol.step("At {x} = {zero}, {s0} = {half} and the second term vanishes, so the first gradient is rational.",
             sp.Subs(sp.Derivative(GELU(x), x), x, 0), df.subs(x, 0),
             math={"x": x, "zero": sp.Integer(0), "s0": sigmoid(sp.Integer(0), evaluate=False), "half": sp.Rational(1, 2)},
             check=Identity(of=sp.Derivative(f, x), points=[{x: 0.0}]))

    x_star = sp.nsolve(elementary(df), x, -0.75, prec=digits)
    f_star = elementary(f).subs(x, x_star).evalf(digits)
    x_ref = float_golden_section(float_gelu, -5.0, 5.0)
    sol.step("For comparison, the minimiser is the root of {df} (found numerically).", sp.Symbol("x*"), _show(x_star),
             math={"df": sp.Derivative(GELU(x), x)},
             check=Reference(compute=lambda: x_ref, tolerance=1e-6, describe="float golden-section search"))

    rules = {"a": (optimizers.gradient_descent(p["eta_a"]), p["x0_a"]),
             "b": (optimizers.gradient_descent(p["eta_b"]), p["x0_a"]),
             "c_gd": (optimizers.gradient_descent(p["eta_c"]), p["x0_c"]),
             "c_momentum": (optimizers.momentum(p["eta_c"], p["beta"], reading), p["x0_c"])}
    runs = {name: run(rule, f, x, x0, steps, digits) for name, (rule, x0) in rules.items()}
    run_a, run_b, run_c, run_m = (runs[name] for name in ("a", "b", "c_gd", "c_momentum"))
    # Each rule's own plain float64 loop with math.exp and central differences, never SymPy; one step more than
    # asked, so that the old momentum reading's last velocity follows from the loop's steps.
    references = {name: float_iterates(rule, float_gelu, x0, steps + 1) for name, (rule, x0) in rules.items()}
    parts = {"a": "a", "b": "b", "c_gd": "c, GD", "c_momentum": "c, momentum"}
    for name, (rule, x0) in rules.items():
        _rule_steps(sol, parts[name], rule, beta=p["beta"] if name == "c_momentum" else None)
        if name == "c_momentum":
            sol.step("(c, momentum) The average starts at the first gradient:", sp.Symbol("v_0"),
                     _show(run_m.velocities[0]),
                     check=Identity(of=sp.Derivative(f, x), points=[{x: float(x0)}],
                                    tolerance=SHOWN_TOLERANCE))
        _record_run(sol, parts[name], rule, runs[name], references[name])

    xs, gs = _names("x", steps), _gelus(_names("x", steps))
    sol.answer("dgelu_dx", sp.Derivative(GELU(x), x), df)
    sol.answer("x_min", sp.Symbol("x*"), sp.Float(x_star, digits))
    sol.answer("gelu_min", GELU(sp.Symbol("x*")), sp.Float(f_star, digits))
    labels = {"a": f"(a) gradient descent from x₀ = {p['x0_a']}, η = {p['eta_a']}",
              "b": f"(b) gradient descent from x₀ = {p['x0_a']}, η = {p['eta_b']}",
              "c_gd": f"(c) gradient descent from x₀ = {p['x0_c']}, η = {p['eta_c']}",
              "c_momentum": f"(c) momentum from x₀ = {p['x0_c']}, η = {p['eta_c']}, β = {p['beta']}, "
                            f"{reading} reading"}
    # Each run's caption is an answer of its own, before its two lists: every renderer prints an
    # answer's value before its text, so a caption attached to a list would read as the next one's.
    # Each comparison follows the runs it compares.
    comparisons = {
        "b": ("b_comparison", lambda: _compare_step_sizes(run_a, run_b, p["eta_a"], p["eta_b"], float(x_star),
                                                          float(f_star), steps)),
        "c_momentum": ("c_comparison", lambda: _compare_methods(run_c, run_m, float(x_star), p["beta"], reading,
                                                                steps)),
    }
    for name, iterates in runs.items():
        sol.answer(f"{name}_method", None, text=f"{labels[name]}: the iterates, then GELU at each of them.")
        sol.answer(f"{name}_x", xs, iterates.updates)
        sol.answer(f"{name}_gelu", gs, iterates.values[1:])
        if name in comparisons:
            answer_name, compare = comparisons[name]
            sol.answer(answer_name, None, text=f"({name[0]}) Comparison: {compare()}")

    points = random_points([x], 6, seed=1, low=-4.0, high=4.0)
    sol.check("f′ vs mpmath finite differences of x·σ(1.702x)",
              lambda a: scalar_derivative_error(elementary(f), elementary(a["dgelu_dx"]), x, points), 1e-20)
    sol.check("x* vs float golden-section search", lambda a: max_abs_error(a["x_min"], x_ref), 1e-6)
    sol.check("GELU(x*) vs float minimum", lambda a: max_abs_error(a["gelu_min"], float_gelu(x_ref)), 1e-9)
    for name, ref in references.items():
        ref = ref[:steps]
        sol.check(f"{name}: iterates vs a float64 loop with central differences",
                  lambda a, name=name, ref=ref: max_abs_error(a[f"{name}_x"], ref), 1e-6)
        sol.check(f"{name}: GELU values vs math.exp at the float iterates",
                  lambda a, name=name, ref=ref: max_abs_error(a[f"{name}_gelu"], float_values(float_gelu, ref)), 1e-6)


STATEMENT = (
    "GELU is approximated by f(x) = x·σ(1.702x), σ the logistic sigmoid, and we look for its minimum "
    "with gradient descent. (a) From x₀ = {x0_a} with step size η = {eta_a}, compute three iterates x₁, x₂, x₃ "
    "and f at each. (b) Repeat with η = {eta_b} and compare the two step sizes. (c) From x₀ = {x0_c}, compute "
    "three iterates of plain gradient descent and three of gradient descent with momentum β = {beta}, "
    "where the velocity is an exponentially weighted average of gradients started at v₀ = ∇f(x₀), "
    "give f at each iterate, and compare the methods."
)


def _restate(p):
    return STATEMENT.format(**{k: inline(p[k]) for k in ("x0_a", "eta_a", "eta_b", "x0_c", "beta")})


PROBLEM = Problem(
    id="a1/problem1",
    title="Gradient descent and momentum on the GELU approximation",
    kind="optimizer iterates from a symbolic gradient",
    statement=STATEMENT.format(x0_a="0", eta_a="0.1", eta_b="1", x0_c="−3", beta="0.9"),
    solve_fn=solve,
    params=(
        # small steps in (a) and (c), a large one in (b), starts left of the minimum near −0.75
        Param("eta_a", sp.Rational(1, 10), "step size in part (a)", vary=Fractions(sp.Rational(1, 20), sp.Rational(1, 4), 20)),
        Param("eta_b", sp.Integer(1), "step size in part (b)", vary=Fractions(sp.Rational(3, 4), 2, 4)),
        Param("eta_c", sp.Rational(1, 10), "step size in part (c), not given by the sheet",
              vary=Fractions(sp.Rational(1, 20), sp.Rational(1, 4), 20)),
        Param("beta", sp.Rational(9, 10), "momentum coefficient in part (c), in [0, 1)", minimum=0,
              vary=Fractions(sp.Rational(1, 2), sp.Rational(9, 10), 10)),
        Param("x0_a", sp.Integer(0), "starting point of parts (a) and (b)", vary=Fractions(-1, 1, 2)),
        Param("x0_c", sp.Integer(-3), "starting point of part (c)", vary=Fractions(-4, -2, 2)),
        Param("steps", 3, "number of updates in every part (at most 200)", kind="int", minimum=1),
        Param("momentum_reading", "new", "which velocity the momentum step uses: v_{t+1} (new) or v_t (old)",
              kind="choice", choices=("new", "old")),
        Param("digits", 30, "significant digits of the iterates once they stop being exact",
              kind="int", minimum=15),
    ),
    variation=Variation(restate=_restate),
)
