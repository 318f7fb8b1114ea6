"""``derive``: derivatives through equations a user writes, each checked before it is shown.

The text (equations ``v = formula`` separated by ``;`` or newlines, and shape declarations such
as ``W: 3x2``) is read by the restricted parser (:func:`derivations.core.parsing.parse_formula`),
never evaluated. The equations become the toolkit's computational graph
(:func:`derivations.calculus.graph.build_graph`), whose path sums give every derivative asked
for: numerator layout through the rule table for matrices, with the parameter-shaped gradient
beside it. The result is a :class:`~derivations.core.model.Solution` like a catalogue problem's
(steps as checked records, answers in the ``solve`` JSON contract, the graph, and the values
the backward pass caches), so every renderer shows it. Each derivative carries an oracle that
knows nothing of the derivation: mpmath's numeric derivative for scalars, central differences
at random points of the declared (rectangular) shapes for matrices.

Only light modules are imported at the top: the package imports this module when it is itself
imported (so that ``derivations.derive`` stays the function), and the CLI must start fast.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterable, Mapping

from derivations.core.errors import UserError

if TYPE_CHECKING:
    from derivations.api import Worked

#: Budgets, each checked before the work it bounds: the text and its equations, a declared
#: size and all declared entries, the derivatives asked for, the size of any value written
#: out in the inputs (which bounds the number of paths), and the work of all the derivatives.
MAX_TEXT = 5000
MAX_EQUATIONS = 40
MAX_DIMENSION = 32
MAX_ENTRIES = 4096
MAX_PAIRS = 40
MAX_EXPANDED = 2000
#: the derivatives asked for, all together: for each, the written-out size of every node on a
#: path (what its path sum, written in the inputs, and its checks are made of); about 5 s
MAX_WORK = 20000
#: a matrix check compares every entry by central differences up to this many entries of the
#: variable, and beyond it the derivative along one random direction (two loss evaluations)
FULL_CHECK_ENTRIES = 64
#: random points every check is made at, and how many draws may be tried for points where
#: every value is real and finite (log and sqrt of a negative number are not)
POINTS = 3
DRAWS = 30
#: characters beyond ASCII that the equations may hold (σ as a function name, × in shapes)
EXTRA_CHARACTERS = "σ×"
NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,31}\Z")
SHAPE = re.compile(r"\s*(\d{1,3})\s*(?:[x×*]\s*(\d{1,3}))?\s*\Z")
#: ``W^T`` (or ``W**T``): a transpose, as ``grade`` reads it, where matrices are declared and no name is T
TRANSPOSE = re.compile(r"(\^|\*\*)\s*T\b")


def derive(equations: str, of: str | Iterable[str] | None = None, wrt: str | Iterable[str] | None = None,
           shapes: str | Mapping[str, Any] | None = None) -> "Worked":
    """Every derivative of the outputs ``of`` (default: the variables nothing else uses) with
    respect to ``wrt`` (default: the inputs) through ``equations``, checked numerically.
    ``shapes`` declares matrices (``"W: 3x2, x: 2x1"`` or ``{"W": (3, 2)}``); without any, every
    name is a real number. Returns the solution with its check results (see
    :class:`derivations.api.Worked`); a :class:`UserError` for input it cannot take."""
    from derivations.api import Worked
    from derivations.core.model import Problem

    model = read_equations(equations, shapes)
    pairs = model.pairs(of, wrt)
    title = (f"Derivatives of {', '.join(str(y) for y in dict.fromkeys(y for y, _ in pairs))} with respect to "
             f"{', '.join(str(x) for x in dict.fromkeys(x for _, x in pairs))}")
    problem = Problem(id="derive", title=title, kind="derive", statement=model.statement(),
                      solve_fn=lambda params, sol: _Derivation(model, pairs, sol).run())
    solution = problem.solve()
    return Worked(solution, solution.run_checks())


def values_at(inputs: Mapping[str, tuple], values: Mapping[str, Any]) -> dict[str, Any]:
    """The ``--at`` numbers checked against the inputs' shapes (``inputs``: name -> rows and
    columns, ``()`` for a number), before anything is evaluated: a column or row may be a flat
    list, and a number (a 1×1 too) may be written [[2]], as the JSON output writes a 1×1."""
    import numpy as np

    from derivations.core.parsing import echo

    unknown = [name for name in values if name not in inputs]
    missing = [name for name in inputs if name not in values]
    if unknown or missing:
        wrong = f"has no input {echo(unknown[0])}" if unknown else f"is missing {', '.join(missing)}"
        raise UserError(f"--at {wrong}: the inputs are {', '.join(inputs)}"[:270])
    conformed = {}
    for name, shape in inputs.items():
        value = np.asarray(values[name], dtype=float)
        if shape and (value.shape == shape or (value.ndim == 1 and 1 in shape and value.size == shape[0] * shape[1])):
            conformed[name] = value.reshape(shape)
        elif not shape and value.size == 1:
            conformed[name] = float(value.item())
        else:
            given = ("a number" if value.ndim == 0 else f"a list of {value.size}" if value.ndim == 1
                     else "×".join(map(str, value.shape)))
            needed = f"{shape[0]}×{shape[1]} as declared" if shape else "a number"
            raise UserError(f"--at: {name} must be {needed}, not {given}")
    return conformed


# ---------------------------------------------------------------------------------------------
# Reading the text.

@dataclass
class Model:
    """The parsed equations: ``(variable, formula)`` in evaluation order, the inputs in order
    of first use, the declared shapes and the graph."""

    equations: list[tuple[Any, Any]]
    inputs: list[Any]
    shapes: dict[str, tuple[int, int]]
    graph: Any
    #: the equations as written: (name, formula text)
    written: list[tuple[str, str]]
    #: node -> the size of its value written out in the inputs
    sizes: dict

    @property
    def matrix(self) -> bool:
        return bool(self.shapes)

    def statement(self) -> str:
        text = "; ".join(f"{v} = {e}" for v, e in self.written)
        if self.shapes:
            text += " (shapes: " + ", ".join(f"{n}: {r}×{c}" for n, (r, c) in self.shapes.items()) + ")"
        return f"Differentiate through the equations {text}."

    def node(self, name: str, role: str) -> Any:
        """The graph's node of a variable or input named by the user (in ``role``)."""
        from derivations.core.parsing import echo

        for node in self.graph.graph.nodes:
            if str(node) == name and self.graph.graph.nodes[node]["kind"] != "intermediate":
                return node
        names = ", ".join(str(v) for v, _ in self.equations) + "; inputs " + ", ".join(map(str, self.inputs))
        raise UserError(f"undefined name {echo(name)} in {role} (defined: {names})"[:270])

    def pairs(self, of, wrt) -> list[tuple]:
        """The (output, variable) pairs asked for, each a node of the graph, held to the budget.
        By default, the variables a matrix output has a numerator-layout derivative by."""
        defined = [v for v, _ in self.equations]
        for flag, names, choices in (("--of", of, defined), ("--wrt", wrt, self.inputs)):
            if names is not None and not _names(names):
                raise UserError(f"{flag} names nothing: give names separated by commas, such as {flag} "
                                f"{','.join(map(str, choices))}"[:270])
        outputs = list(dict.fromkeys([self.node(n, "--of") for n in _names(of)] if of else
                                     [v for v in defined if self.graph.graph.out_degree(v) == 0]))
        variables = list(dict.fromkeys([self.node(n, "--wrt") for n in _names(wrt)] if wrt else self.inputs))
        for y in outputs:
            if y not in defined:
                raise UserError(f"--of {y}: {y} is an input; derivatives are taken of defined variables "
                                f"({', '.join(map(str, defined))})"[:270])
        pairs = [(y, x) for y in outputs for x in variables
                 if wrt or not self.matrix or _layout_error(y, x) is None]
        if len(pairs) > MAX_PAIRS:
            raise UserError(f"{len(pairs)} derivatives asked for, more than {MAX_PAIRS}: name fewer with --of and --wrt")
        for y, x in pairs:
            if self.matrix and _layout_error(y, x):
                raise UserError(_layout_error(y, x))
        if not pairs:
            raise UserError(f"no derivative of {', '.join(map(str, outputs))} by the inputs is a matrix: name them "
                            "with --of and --wrt")
        work = sum(self.sizes[v] for y, x in pairs for v in self.on_paths(x, y))
        if work > MAX_WORK:
            raise UserError(f"the {len(pairs)} derivatives asked for would take about {work} terms to write out and check, "
                            f"more than {MAX_WORK}: name fewer with --of and --wrt")
        return pairs

    def on_paths(self, x, y) -> set:
        """The nodes on some path from ``x`` to ``y`` (none when there is no path)."""
        import networkx as nx

        if y != x and y not in nx.descendants(self.graph.graph, x):
            return set()
        return (nx.ancestors(self.graph.graph, y) | {y}) & (nx.descendants(self.graph.graph, x) | {x})


def _names(value) -> list[str]:
    items = value.split(",") if isinstance(value, str) else list(value)
    return [str(item).strip() for item in items if str(item).strip()]


def _layout_error(y, x) -> str | None:
    """Why ∂y/∂x has no numerator-layout matrix, or None: the layout covers a 1×1 ``y`` by any
    ``x``, and a column ``y`` by a column (or 1×1) ``x``; anything else is a higher-order tensor."""
    if y.shape == (1, 1) or (y.shape[1] == 1 and x.shape[1] == 1):
        return None
    what = f"{y} is {y.shape[0]}×{y.shape[1]}" if y.shape[1] != 1 else f"{x} is {x.shape[0]}×{x.shape[1]}"
    return (f"d{y}/d{x} is not a matrix ({what}): derivatives are of a 1×1 or a column, by a column when the "
            f"output is a column; differentiate sum({y}) or a 1×1 of it instead")


def read_equations(text: str, shapes: str | Mapping[str, Any] | None = None) -> Model:
    """Parse the equations and declarations of ``text`` (and ``shapes``), in bounded work; a
    :class:`UserError` of one line for anything the parser does not take."""
    import graphlib

    import sympy as sp

    from derivations.calculus.graph import build_graph
    from derivations.calculus.rules import NoRuleError
    from derivations.core.parsing import CONSTANTS, echo, parse_formula, shape_text

    if not isinstance(text, str):
        raise UserError("the equations must be text")
    if len(text) > MAX_TEXT:
        raise UserError(f"the equations are longer than {MAX_TEXT} characters")
    declared_text = shapes if isinstance(shapes, str) else ""
    odd = sorted({ch for ch in text + declared_text if ord(ch) > 127 and ch not in EXTRA_CHARACTERS})
    if odd:
        raise UserError(f"the character {odd[0]!r} is not allowed: write equations in ASCII ({EXTRA_CHARACTERS} allowed)")
    declared = _declarations(declared_text) if isinstance(shapes, str) else _shape_mapping(shapes or {})
    written = _split(text, declared)
    if sum(r * c for r, c in declared.values()) > MAX_ENTRIES:
        raise UserError(f"the declared shapes hold more than {MAX_ENTRIES} entries in all")

    formulas = dict(written)
    quotes = {name: f"{name} = {formula}" for name, formula in written}
    uses = {name: _used_names(formula, quotes[name]) for name, formula in written}
    try:
        order = list(graphlib.TopologicalSorter({n: [u for u in uses[n] if u in quotes] for n in quotes}).static_order())
    except graphlib.CycleError as exc:
        raise UserError(f"the equations define a cycle: {' → '.join(reversed(exc.args[1]))}"[:270]) from None

    symbols: dict[str, Any] = {}
    inputs: list[Any] = []
    equations = []

    def lookup(name: str, quote: str):
        if name in symbols:
            return symbols[name]
        if name in CONSTANTS:
            return CONSTANTS[name]
        if not NAME.match(name):
            raise UserError(f"the name {echo(name)} in {echo(quote)} is too long or not plain ASCII")
        if declared and name not in declared:
            raise UserError(f"undefined name {name!r} in {echo(quote)}: define it by an equation or declare its "
                            f"shape (such as {name}: 3x1, or 1x1 for a number)")
        _not_reserved(name)
        symbols[name] = sp.MatrixSymbol(name, *declared[name]) if declared else sp.Symbol(name, real=True)
        inputs.append(symbols[name])
        return symbols[name]

    transposes = bool(declared) and "T" not in declared and "T" not in quotes
    for name in order:
        quote = quotes[name]
        source = TRANSPOSE.sub(".T", formulas[name]) if transposes else formulas[name]
        formula = _entrywise_powers(parse_formula(source, lambda n, q=quote: lookup(n, q), quote))
        if not (formula.free_symbols or formula.atoms(sp.MatrixSymbol)):
            raise UserError(f"{echo(quote)} defines a number, not a function of the inputs: write the number "
                            "where it is used")
        shape = tuple(formula.shape) if isinstance(formula, sp.MatrixExpr) else None
        if name in declared and shape != declared[name]:
            raise UserError(f"shape mismatch in {echo(quote)}: {name} is declared {shape_text(declared[name])} but "
                            f"its formula is {shape_text(shape)}")
        symbols[name] = sp.MatrixSymbol(name, *shape) if shape else sp.Symbol(name, real=True)
        equations.append((symbols[name], formula))
    unused = [n for n in declared if n not in symbols]
    if unused:
        raise UserError(f"{unused[0]} is declared but appears in no equation")
    try:
        graph = build_graph(equations, decompose=True)
    except (ValueError, NoRuleError) as exc:
        raise UserError(str(exc)[:270]) from None
    return Model(equations, inputs, declared, graph, written, _expanded_sizes(graph))


def _entrywise_powers(expr):
    """``expr`` with each HadamardPower written as the entrywise power it is (x∘x as x^2 entry
    by entry): SymPy folds a product of equal factors into one as it simplifies, and neither the
    graph, the rule table nor NumPy evaluation takes that form."""
    import sympy as sp

    from derivations.calculus.graph import power

    return expr.replace(sp.HadamardPower, power)


def _split(text: str, declared: dict) -> list[tuple[str, str]]:
    """The equations of ``text`` as (name, formula text), in the order written; declaration
    lines are added to ``declared``. Comments start with ``#``."""
    from derivations.core.parsing import MAX_LENGTH, echo, formula_functions, shape_text

    written: list[tuple[str, str]] = []
    for segment in (s.strip() for line in text.splitlines() for s in line.split("#", 1)[0].split(";")):
        if not segment:
            continue
        if len(segment) > MAX_LENGTH:
            raise UserError(f"the equation {echo(segment)} is longer than {MAX_LENGTH} characters")
        name, equals, formula = segment.partition("=")
        if not equals:
            if ":" not in segment:
                raise UserError(f"{echo(segment)} is neither an equation (name = formula) nor a declaration (name: 3x2)")
            for item, shape in _declarations(segment).items():
                if declared.setdefault(item, shape) != shape:
                    raise UserError(f"{item} is declared twice, as {shape_text(declared[item])} and {shape_text(shape)}")
            continue
        name, formula = name.strip(), formula.strip()
        if not NAME.match(name) or formula.startswith("="):
            raise UserError(f"{echo(segment)} is not an equation: its left side must be one name, such as y = 2*x")
        if name in formula_functions():
            raise UserError(f"{echo(segment)} defines {name}, which is a function")
        _not_reserved(name)
        first = next((f"{n} = {f}" for n, f in written if n == name), None)
        if first:
            raise UserError(f"{name} is defined twice: {echo(first)} and {echo(segment)}")
        written.append((name, formula))
        if len(written) > MAX_EQUATIONS:
            raise UserError(f"more than {MAX_EQUATIONS} equations")
    if not written:
        raise UserError("no equations: write them as name = formula, separated by ; or new lines")
    return written


def _not_reserved(name: str) -> None:
    """Names such as ``mul_1`` belong to the graph, which gives them to unnamed operands: a
    variable of that name would be merged with one."""
    from derivations.calculus.graph import MATRIX_OPS, SCALAR_OPS

    operation, _, number = name.rpartition("_")
    if number.isdigit() and operation in {*SCALAR_OPS.values(), *MATRIX_OPS.values(), "dot"}:
        raise UserError(f"the name {name} is the graph's, for an unnamed operand ({operation}_1, {operation}_2, …): "
                        "choose another")


def _used_names(formula: str, quote: str) -> list[str]:
    """The names a formula uses (not the functions it calls), to order the equations."""
    import ast

    from derivations.core.parsing import MAX_LENGTH, echo

    if len(formula) > MAX_LENGTH:
        raise UserError(f"{echo(quote)} is longer than {MAX_LENGTH} characters")
    try:
        tree = ast.parse(formula.replace("^", "**"), mode="eval")
    except (SyntaxError, RecursionError, MemoryError, ValueError):
        raise UserError(f"malformed formula {echo(quote)}") from None
    called = {id(node.func) for node in ast.walk(tree) if isinstance(node, ast.Call)}
    return [node.id for node in ast.walk(tree) if isinstance(node, ast.Name) and id(node) not in called]


def _declarations(text: str) -> dict[str, tuple[int, int]]:
    """``W: 3x2, x: 2`` -> {"W": (3, 2), "x": (2, 1)}: a single size is a column."""
    shapes: dict[str, tuple[int, int]] = {}
    for item in (i for i in text.split(",") if i.strip()):
        name, colon, size = item.partition(":")
        match = SHAPE.match(size)
        if not colon or not NAME.match(name.strip()) or not match:
            raise UserError(f"cannot read the declaration {item.strip()[:60]!r}: write name: rows x columns, such as W: 3x2")
        shape = (int(match.group(1)), int(match.group(2) or 1))
        if name.strip() in shapes and shapes[name.strip()] != shape:
            raise UserError(f"{name.strip()} is declared twice")
        shapes[name.strip()] = _within_sizes(name.strip(), shape)
    return shapes


def _shape_mapping(shapes: Mapping[str, Any]) -> dict[str, tuple[int, int]]:
    """Shapes given from Python: name -> (rows, columns), or a length for a column."""
    out = {}
    for name, shape in shapes.items():
        shape = (shape, 1) if isinstance(shape, int) else tuple(shape)
        if not NAME.match(str(name)) or len(shape) != 2 or not all(isinstance(s, int) for s in shape):
            raise UserError(f"cannot read the shape {name!r}: {shape!r}: give (rows, columns) of a name")
        out[str(name)] = _within_sizes(str(name), shape)
    return out


def _within_sizes(name: str, shape: tuple[int, int]) -> tuple[int, int]:
    from derivations.core.parsing import shape_text

    if not all(1 <= s <= MAX_DIMENSION for s in shape):
        raise UserError(f"{name}: {shape_text(shape)} is outside the sizes 1 … {MAX_DIMENSION}")
    return shape


def _expanded_sizes(graph) -> dict:
    """The size of each node's value written out in the inputs, added up node by node in
    evaluation order (one per expression node, or a node's whole size where it is used),
    refusing equations whose values would be too large to differentiate, print and check."""
    import networkx as nx
    import sympy as sp

    size: dict = {}
    for node in nx.topological_sort(graph.graph):
        expression = graph.expression(node)
        size[node] = 1 if expression is None else sum(size.get(s, 1) for s in sp.preorder_traversal(expression))
        if size[node] > MAX_EXPANDED:
            raise UserError(f"written in the inputs, {node} would have more than {MAX_EXPANDED} terms: too large to "
                            "differentiate and check (name fewer repeated sub-expressions)")
    return size


# ---------------------------------------------------------------------------------------------
# The derivation.

class _Derivation:
    """Fills a solution: the equations, the graph with its local derivatives, each derivative
    by its path sum, the parameter-shaped gradients, the cached values, all checked."""

    def __init__(self, model: Model, pairs: list[tuple], sol):
        import networkx as nx

        self.model, self.pairs, self.sol = model, pairs, sol
        self.outputs = list(dict.fromkeys(y for y, _ in pairs))
        self.references: dict = {}  # numeric derivatives by (y, x, point), and the functions they are of
        self.functions: dict = {}
        self.cg = model.graph
        # one evaluation order, ties broken by name: the graph's own order follows set iteration
        self.order = list(nx.lexicographical_topological_sort(self.cg.graph, key=str))
        self.rank = {node: i for i, node in enumerate(self.order)}
        self.points = self._forward_points()

    # -- numbers ------------------------------------------------------------------------------

    def _forward_points(self) -> list[dict]:
        """``POINTS`` random points with every node's value: scalars exact to 50 digits (for
        mpmath), matrices as float64 arrays keyed by name, entries normal on the declared shapes
        with variance 1/columns (so W·x stays of the size of x, and central differences, whose
        rounding error grows with the values, stay accurate). Draws where some value is not real
        and finite are skipped."""
        import numpy as np
        import sympy as sp

        from derivations.calculus.matrix_calculus import numeric

        rng = np.random.default_rng(0)
        points: list[dict] = []
        for _ in range(DRAWS):  # with no good draw, the last one: its checks then fail, visibly
            if self.model.matrix:
                point = {x.name: rng.standard_normal((int(x.rows), int(x.cols))) / np.sqrt(int(x.cols))
                         for x in self.model.inputs}
                with np.errstate(all="ignore"):
                    for node in self.order:
                        if self.cg.expression(node) is not None:
                            point[node.name] = numeric(self.cg.expression(node), point)
                good = all(np.all(np.isfinite(v)) for v in point.values())
            else:
                point = {x: sp.Float(float(rng.uniform(-2, 2)), 50) for x in self.model.inputs}
                for node in self.order:
                    if self.cg.expression(node) is not None:
                        point[node] = _exact(self.cg.expression(node), point)
                good = all(v.is_real and v.is_finite for v in point.values())
            if good:
                points.append(point)
            if len(points) == POINTS:
                break
        return points or [point]

    def held(self, y, x):
        """``y`` written in the inputs with ``x`` held as a variable of its own: the function whose
        derivative in ``x`` is the path sum (nodes not computed from ``x`` do not move)."""
        from derivations.calculus.matrix_calculus import _flatten

        if (y, x) not in self.functions:
            function = y
            for node in reversed(self.order):
                definition = self.cg.expression(node)
                if node != x and definition is not None:
                    function = function.xreplace({node: definition})
            self.functions[y, x] = _entrywise_powers(_flatten(function)) if self.model.matrix else function
        return self.functions[y, x]

    def oracle(self, y, x, layout: str = "numerator"):
        """A reference for ∂y/∂x (or its transpose, with ``layout="gradient"``) that knows
        nothing of the graph's rules: a numeric derivative of ``y`` written in the inputs, at
        every random point (mpmath's for scalars; for matrices central differences of a 1×1
        ``y``, or of a column ``y``'s Jacobian, each computed once for all the claims)."""
        import numpy as np
        import sympy as sp

        from derivations.calculus.matrix_calculus import numeric
        from derivations.calculus.oracles import Gradient, Identity, Reference

        function = self.held(y, x)
        on_paths = self.model.on_paths(x, y) | {y}  # the values the path sum multiplies
        if not self.model.matrix:
            return self.at_each_point([Identity(of=sp.Derivative(function, x), points=[point])
                                       for point in self.points], f"mpmath's derivative of {y} in {x}", on_paths)
        shaped = f", shaped like {x}" if layout == "gradient" else ""
        if y.shape == (1, 1) and int(np.prod(x.shape)) > FULL_CHECK_ENTRIES:
            return self.at_each_point([Gradient(loss=lambda v: numeric(function, v).item(), wrt=x.name, values=values,
                                                layout=layout, direction=True, seed=i)
                                       for i, values in enumerate(self.points)],
                                      f"central differences of {y} in {x}{shaped} along a random direction", on_paths)
        flip = (lambda a: a.T) if layout == "gradient" else (lambda a: a)
        return self.at_each_point([Reference(compute=lambda i=i: flip(self.numeric_derivative(y, x, i)),
                                             convert=lambda claim, v=values: numeric(claim, v))
                                   for i, values in enumerate(self.points)],
                                  f"central differences of {y} in {x}{shaped}", on_paths)

    def at_each_point(self, oracles: list, describe: str, nodes: set) -> AtEachPoint:
        """One oracle per point (see :class:`AtEachPoint`), with the largest value of ``nodes``
        there: the values the check computes with, whose overflow or size beside the derivative
        decides whether the reference can check it at all."""
        import numpy as np

        def size(point, node) -> float:
            value = point[node.name] if self.model.matrix else point[node]
            magnitude = float(np.max(np.abs(value))) if self.model.matrix else float(abs(value))
            return float("inf") if magnitude != magnitude else magnitude  # NaN: no value there

        sizes = []
        for point in self.points:
            largest = max(sorted(nodes, key=self.rank.get), key=lambda node: size(point, node))
            sizes.append((max(1.0, size(point, largest)), str(largest)))
        from derivations.calculus.finite_differences import STEP

        count = len(self.points)
        return AtEachPoint(oracles, f"{describe} at {count} random point{'s' * (count != 1)}, relative to the "
                                    "derivative's size there", sizes, self.magnitude,
                           noise=sys.float_info.epsilon / STEP if self.model.matrix else 0.0)

    def magnitude(self, claimed, oracle, point: int) -> float:
        """The largest entry of the claimed derivative where ``oracle`` checks it (1 where it
        cannot be evaluated: the error then stays absolute)."""
        import numpy as np

        from derivations.calculus.matrix_calculus import numeric

        try:
            if self.model.matrix:
                return float(np.max(np.abs(numeric(claimed, getattr(oracle, "values", None) or self.points[point]))))
            return float(abs(_exact(claimed, self.points[point])))
        except (ValueError, TypeError, KeyError, ZeroDivisionError, OverflowError):
            return 1.0

    def numeric_derivative(self, y, x, point: int):
        """∂y/∂x in numerator layout by central differences at one point, once per point: of a
        1×1 ``y`` the transposed gradient, of a column ``y`` the Jacobian."""
        from derivations.calculus.checks import numeric_jacobian
        from derivations.calculus.matrix_calculus import numeric, numerator_gradient

        key = (y, x, point)
        if key not in self.references:
            function, values = self.held(y, x), self.points[point]
            if y.shape == (1, 1):
                self.references[key] = numerator_gradient(
                    lambda a: numeric(function, {**values, x.name: a}).item(), values[x.name])
            else:
                self.references[key] = numeric_jacobian(lambda a: numeric(function, {**values, x.name: a}), values[x.name])
        return self.references[key]

    def edge_oracle(self, child, parent):
        """The local derivative on an edge against a numeric one: mpmath's derivative of the
        node's operation for scalars; for matrices, central differences of ⟨U, parent⟩ in the
        child for a random U in the place of the upstream ∂ℓ/∂parent."""
        import numpy as np
        import sympy as sp

        from derivations.calculus.matrix_calculus import numeric
        from derivations.calculus.oracles import Gradient, Identity

        operation = self.cg.expression(parent)
        operands = {*self.cg.graph.predecessors(parent), parent}
        if not self.model.matrix:
            return self.at_each_point([Identity(of=sp.Derivative(operation, child), points=[point])
                                       for point in self.points], "mpmath's derivative of the operation", operands)
        upstream = self.cg.upstream(parent)
        rng = np.random.default_rng(len(self.sol.steps))
        along = int(np.prod(child.shape)) > FULL_CHECK_ENTRIES
        oracles = []
        for point in self.points:
            U = rng.standard_normal(tuple(upstream.shape))
            oracles.append(Gradient(loss=lambda v, U=U: float(np.sum(U.T * numeric(operation, v))), wrt=child.name,
                                    values={**point, upstream.name: U}, direction=along))
        return self.at_each_point(oracles, "central differences of the operation against a random upstream U", operands)

    def edges(self, edges: Iterable[tuple]) -> list[tuple]:
        """Edges in evaluation order of their heads, then of their tails."""
        return sorted(edges, key=lambda edge: (self.rank[edge[1]], self.rank[edge[0]]))

    # -- the steps ----------------------------------------------------------------------------

    def run(self) -> None:
        import sympy as sp

        from derivations.calculus.printing import inline

        sol, cg, matrix = self.sol, self.cg, self.model.matrix
        sol.graphs["graph"] = cg
        self._assume()
        sol.step("The equations, in evaluation order:")
        for variable, formula in self.model.equations:
            sol.step("", variable, formula)
        operations = [n for n in self.order if cg.expression(n) is not None]
        sol.step("Each operation is a node, named after the variable it defines or, for an unnamed operand, after its "
                 "operation: " + ", ".join(f"{{n{i}}} = {{e{i}}} ({cg.op(n)})" for i, n in enumerate(operations))
                 + ". The inputs are " + ", ".join(f"{{i{i}}}" for i in range(len(self.model.inputs))) + ".",
                 math={**{f"n{i}": n for i, n in enumerate(operations)},
                       **{f"e{i}": cg.expression(n) for i, n in enumerate(operations)},
                       **{f"i{i}": x for i, x in enumerate(self.model.inputs)}})
        for child, parent in self.edges(cg.graph.edges):
            if matrix:
                sol.step(f"Edge {inline(child)} → {inline(parent)} ({cg.op(parent)}): what it passes back to "
                         f"{inline(child)}, written with N = {{N}}:", None, cg.local_derivative(child, parent),
                         math={"N": cg.upstream(parent)}, check=self.edge_oracle(child, parent))
            else:
                sol.step(f"Local derivative on the edge {inline(child)} → {inline(parent)} ({cg.op(parent)}):",
                         sp.Derivative(parent, child), cg.local_derivative(child, parent),
                         check=self.edge_oracle(child, parent))
        answers = []
        for y, x in self.pairs:
            answers += self._pair(y, x)
        for name, symbol, value, text, check in answers:
            sol.answer(name, symbol, value, text=text, check=check)
        for y in self.outputs:  # the outputs' values (a name a derivative already took keeps the derivative)
            if y.name not in {record[0] for record in answers}:
                value = cg.in_terms_of_inputs(y)
                sol.answer(y.name, y, _entrywise_powers(value) if self.model.matrix else value)
        for y in self.outputs:
            self._cached(y)

    def _assume(self) -> None:
        import sympy as sp

        from derivations.calculus.printing import inline

        sol, model = self.sol, self.model
        sol.inputs = {x.name: tuple(map(int, x.shape)) if model.matrix and x.shape != (1, 1) else ()
                      for x in model.inputs}
        if model.matrix:
            sol.assume("Shapes: " + ", ".join(f"{inline(v)} is {v.shape[0]}×{v.shape[1]}"
                                              for v in [*model.inputs, *(v for v, _ in model.equations)])
                       + " (declared, or from its formula). A 1×1 is a number.")
            sol.assume("Numerator layout: ∂y/∂x of a column y (q entries) by a column x (p entries) is q×p; ∂ℓ/∂W of a "
                       "1×1 ℓ by an r×c matrix W is c×r, the shape of Wᵀ. The gradient an optimizer subtracts (PyTorch's "
                       "W.grad) has W's own shape: it is the transpose (∂ℓ/∂W)ᵀ, given beside each derivative.")
        else:
            one = len(model.inputs) == 1
            sol.assume("Every name is a real number; " + ", ".join(map(inline, model.inputs))
                       + (" is an input (no equation defines it)." if one else " are inputs (no equation defines them)."))
        sol.assume("dy/dx is the total derivative along the graph: the sum, over every directed path from x to y, of the "
                   "product of the local derivatives on its edges; values not computed from x are held fixed. With no "
                   "path the sum is empty and the derivative is 0.")
        if any(e.has(sp.Heaviside) for e in (self.cg.local_derivative(c, p) for c, p in self.cg.graph.edges)
               if hasattr(e, "has")):
            sol.assume("H is the unit step. At a kink (an argument of exactly 0) the derivative is a convention: "
                       "ReLU′(0) = H(0) = 0 as torch takes it; max(u, c) is differentiated by SymPy, with H(0) = 1/2.")
        where = ("random points in the declared shapes, every entry normal with variance 1/columns (a declared "
                 "square matrix relies on its random entries, not its shape, to expose a transpose)" if model.matrix
                 else "random points with every input uniform in [−2, 2], at 30 digits")
        sol.assume(f"Every derivative is checked against a numeric derivative of the equations written in the inputs "
                   f"(central differences, or mpmath's for numbers) at {where}, its error relative to the size of the "
                   "derivative there (at least 1); a failed check is shown.")

    def _pair(self, y, x) -> list[tuple]:
        """Steps for ∂y/∂x (the paths, the path sum, the same written in the inputs, the
        gradient) and its answers as (name, symbol, value, text, check) records."""
        import networkx as nx
        import sympy as sp

        from derivations.calculus.matrix_calculus import derivative_shape
        from derivations.calculus.printing import inline
        from derivations.calculus.symbols import partial_matrix

        sol, cg, matrix = self.sol, self.cg, self.model.matrix
        symbol = (partial_matrix(y.name, x.name, *derivative_shape(y.shape, x.shape)) if matrix
                  else sp.Derivative(y, x))
        name = f"d{y.name}_d{x.name}"
        on_paths = self.model.on_paths(x, y)
        count = _count_paths(cg.graph.subgraph(on_paths), x, y) if on_paths else 0
        try:
            value = _readable(cg.derivative(y, x)) if matrix else cg.derivative(y, x)
        except sp.ShapeError:  # a rule written for a scalar output met a vector's Jacobian
            raise UserError(f"d{inline(y)}/d{inline(x)}: {inline(y)} is {y.shape[0]}×{y.shape[1]}, and its Jacobian "
                            f"through these operations is not built yet; take a number of it, e.g. "
                            f"L = sum({y.name}), and ask for dL/d{inline(x)}") from None
        if count == 0:
            reason = self._no_path(y, x)
            sol.step(f"Paths from {inline(x)} to {inline(y)}: none. {reason}, so the sum over paths is empty:",
                     symbol, value, check=self.oracle(y, x))
            records = [(name, symbol, value, f"No path leads from {inline(x)} to {inline(y)}: {reason[0].lower()}"
                        f"{reason[1:]}. So d{inline(y)}/d{inline(x)} = 0.", self.oracle(y, x))]
        else:
            listed = "" if count > 3 else " (" + "; ".join(sorted(
                " → ".join(map(inline, path)) for path in nx.all_simple_paths(cg.graph.subgraph(on_paths), x, y))) + ")"
            sol.step(f"Paths from {inline(x)} to {inline(y)}: {count}{listed}. Each contributes the product of the local "
                     "derivatives along it; one reverse sweep from the output adds them up:",
                     symbol, value, check=self.oracle(y, x))
            inputs = _readable(cg.in_terms_of_inputs(value)) if matrix else cg.in_terms_of_inputs(value)
            sol.step("Written in the inputs:", symbol, inputs, check=self.oracle(y, x))
            records = [(name, symbol, inputs, None, self.oracle(y, x))]
        if matrix and y.shape == (1, 1) and x.shape != (1, 1):
            gradient = _readable(sp.Transpose(records[0][2]).doit())
            sol.step("Shaped like {x} (what an optimizer subtracts): the transpose,", symbol.T, gradient,
                     math={"x": x}, check=self.oracle(y, x, "gradient"))
            label = f"grad_{x.name}" if len(self.outputs) == 1 else f"grad_{y.name}_{x.name}"
            records.append((label, symbol.T, gradient, None, self.oracle(y, x, "gradient")))
        return records

    def _no_path(self, y, x) -> str:
        """Why no path leads from ``x`` to ``y``, read off the graph."""
        import networkx as nx

        from derivations.calculus.printing import inline

        graph = self.cg.graph
        if y in nx.ancestors(graph, x):
            return f"{inline(x)} is computed from {inline(y)}, not {inline(y)} from {inline(x)}"
        successors = sorted(graph.successors(x), key=self.rank.get)
        if not successors:
            return f"Nothing is computed from {inline(x)}"
        return (f"What is computed from {inline(x)} (" + ", ".join(map(inline, successors))
                + f") never reaches {inline(y)}")

    def _cached(self, y) -> None:
        """The forward values the backward pass from ``y`` reads: those inside some local
        derivative on a path to ``y``, each with the edges that read it."""
        import sympy as sp

        from derivations.calculus.printing import inline

        cg = self.cg
        cached = sorted(cg.cached_values(y), key=self.rank.get)
        reasons = []
        for node in cached:
            edges = ", ".join(f"{inline(c)} → {inline(p)}" for c, p in self.edges(cg.why_cached(node, y)))
            reasons.append(f"{inline(node)} (read by the edge{'s' * (', ' in edges)} {edges})")
        if cached:
            text = (f"The backward pass from {inline(y)} keeps " + "; ".join(reasons) + ". Nothing else is read: no "
                    "other value appears in a local derivative on a path to it.")
        else:
            text = f"The backward pass from {inline(y)} reads no forward value: every local derivative is a constant."
        self.sol.step(text)
        self.sol.answer(f"cached_{y.name}", sp.Symbol(f"cached_{y.name}"), cached, text=text)


def _readable(expr):
    """The same matrix value, plainer: ``1ᵀ·diag(v)`` is ``vᵀ`` and ``diag(v)·1`` is ``v`` (the
    sum rule's ones meeting an entrywise slope), and ``t ↦ c·t`` entry by entry is ``c·X``; with
    entrywise powers as such (see :func:`_entrywise_powers`)."""
    import sympy as sp

    from derivations.calculus.matrix_calculus import _tidy
    from derivations.calculus.rules import Diag, Elementwise

    def ones(factor, rows):
        return isinstance(factor, sp.OneMatrix) and factor.shape[0 if rows else 1] == 1

    def fold(product):
        coefficient, factors = product.as_coeff_matrices()
        out: list = []
        for factor in factors:
            if isinstance(factor, Diag) and out and ones(out[-1], rows=True):
                out[-1] = factor.vector.T
            elif ones(factor, rows=False) and out and isinstance(out[-1], Diag):
                out[-1] = out[-1].vector
            else:
                out.append(factor)
        return product if len(out) == len(factors) else sp.MatMul(coefficient, *out).doit(deep=False)

    def multiple(e):
        t = e.function.variables[0]
        return e.function.expr.coeff(t) * e.arg

    def is_multiple(e):
        t = e.function.variables[0] if isinstance(e, Elementwise) else None
        return t is not None and e.function.expr == e.function.expr.coeff(t) * t and e.function.expr.coeff(t).is_number

    expr = expr.replace(is_multiple, multiple)
    return _entrywise_powers(_tidy(expr.replace(lambda e: isinstance(e, sp.MatMul), fold)))


#: the largest reference noise, relative to the derivative, at which a check still decides
RESOLUTION = 1e-3


@dataclass
class AtEachPoint:
    """The worst error of one oracle per random point: a point may be degenerate (every ReLU
    unit off hides a wrong slope there), the others are not. Each error is divided by the size
    of the claimed derivative at its point (at least 1): the references are accurate relative to
    the derivative, so 40·e⁸⁰ is held to 30 digits of itself, not to 10⁻²⁰. Central differences
    in float64 also round in proportion to the values they difference: that noise is allowed
    for, and where it reaches a thousandth of the derivative the check fails, saying so, rather
    than let a large term beside a small one hide an error in the small one."""

    oracles: list
    describe: str
    #: at each point, the largest magnitude among the values the check goes through, and whose
    #: (a value that overflows there makes the check fail, naming it)
    sizes: list[tuple[float, str]]
    #: ``magnitude(claimed, oracle, point)``: the size of the claimed derivative at that point
    magnitude: Any = None
    #: the reference's rounding noise per unit of the values it differences (central differences
    #: in float64: ε/step; mpmath raises its own precision: 0)
    noise: float = 0.0

    @property
    def tolerance(self) -> float:
        return max(o.tolerance for o in self.oracles)

    def error(self, claimed: Any, lhs: Any = None) -> float:
        import math

        import numpy as np

        errors = []
        for point, (oracle, (size, name)) in enumerate(zip(self.oracles, self.sizes)):
            if not math.isfinite(size):
                raise ValueError(f"{name} is not a finite number at the check point: the equations overflow there")
            scale = self.magnitude(claimed, oracle, point) if self.magnitude else 1.0
            scale = max(1.0, scale if math.isfinite(scale) else 1.0)
            rounding = self.noise * size   # what the reference's own rounding can reach there
            if rounding > RESOLUTION * scale:
                raise ValueError(f"central differences cannot resolve it at a check point: {name} reaches "
                                 f"{size:.1e}, too large beside a derivative of size {scale:.1e}")
            errors.append(oracle.error(claimed, lhs) / (scale + rounding / oracle.tolerance))
        return float(np.max(errors))  # NaN, an error that could not be measured, stays NaN


def _exact(expr, point: dict):
    """``expr`` at ``point`` to 50 digits, or NaN where it has no value in the float range the
    checks' errors are measured in. A value beyond it is not passed on: SymPy evaluates exp of a
    Float as it is built, and exp of e^(10^700) takes more memory than there is (or mpmath raises)."""
    import math

    import sympy as sp

    try:
        value = sp.N(expr.xreplace(point), 50)
    except (OverflowError, ValueError, ZeroDivisionError):
        return sp.nan
    return value if math.isfinite(float(abs(value))) else sp.nan


def _count_paths(graph, x, y) -> int:
    """The number of directed paths from ``x`` to ``y`` (a sum over successors, from ``y`` back)."""
    import networkx as nx

    paths = {y: 1}
    for node in reversed(list(nx.topological_sort(graph))):
        if node != y:
            paths[node] = sum(paths.get(s, 0) for s in graph.successors(node))
    return paths.get(x, 0)
