"""Why a wrong answer is wrong: a table of rules tried in a fixed order, like a response tree.

Each rule compares the answer's numbers with the key's, or with a mutation of the key (a
factor removed, a term dropped, two factors swapped, the problem solved under another reading),
at the same random points. The first rule that matches gives the student one sentence to act
on, an instructor-facing note, and the answer's partial credit.
"""

from __future__ import annotations

import itertools
import unicodedata
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Callable

import numpy as np
import sympy as sp

from derivations.calculus.printing import inline
from derivations.grade.equivalence import NotEvaluable, aligned, close, error
from derivations.grade.parse import is_matrix, shape_text

#: At most this many mutations of one key are tried per rule (each costs one compilation).
MAX_VARIANTS = 40
#: A number within this relative gap of the key (but outside the tolerance) is called rounded.
ROUNDING_GAP = 1e-3
#: The largest numerator and denominator of a constant factor named for a single number.
SMALL_FRACTION = 12


@dataclass(frozen=True)
class Finding:
    tag: str
    credit: float
    message: str
    note: str


@dataclass(frozen=True)
class Rule:
    """``test(attempt)`` returns (sentence for the student, note for the instructor) or None."""

    tag: str
    credit: float
    test: Callable[[Any], tuple[str, str] | None]


def diagnose(attempt) -> Finding | None:
    """The first rule of :data:`RULES` that explains ``attempt`` (see :class:`~derivations.grade.grader.Attempt`)."""
    for rule in RULES:
        found = rule.test(attempt)
        if found:  # composed accents (ŷ, not y + U+0302), as the problems' prose prints them
            return Finding(rule.tag, rule.credit, *(unicodedata.normalize("NFC", text) for text in found))
    return None


def _shape(attempt, arrays, value) -> str:
    if is_matrix(value):
        return shape_text(tuple(value.shape))
    return shape_text(arrays[0].shape)


def _transpose(attempt):
    key, arrays = attempt.key, attempt.arrays
    if key.arrays[0].ndim != 2 or key.arrays[0].shape[0] == key.arrays[0].shape[1] and \
            close([k.T for k in key.arrays], key.arrays, attempt.tolerance, key.floor):
        return None
    if not attempt.matches([k.T for k in key.arrays]):
        return None
    mine, theirs = _shape(attempt, arrays, attempt.value), _shape(attempt, key.arrays, key.value)
    wrt = getattr(key.answer.symbol, "denominator", None)
    if wrt:
        message = (f"This is the transpose of the answer: you gave the gradient shaped like {wrt} ({mine}), but "
                   f"in numerator layout {inline(key.answer.symbol)} has the shape of {wrt}ᵀ ({theirs}); "
                   "transpose it.")
    elif key.name.startswith("grad"):
        message = (f"This is the transpose of the answer ({mine} instead of {theirs}): you gave the "
                   "numerator-layout derivative, but the gradient has the parameter's own shape; transpose it.")
    else:
        message = f"This is the transpose of the answer ({mine} instead of {theirs}): check the layout."
    return message, f"answer = keyᵀ (numerator layout vs parameter-shaped gradient), {mine} vs {theirs}"


def _wrong_shape(attempt):
    if aligned(attempt.arrays, attempt.key.arrays) is not None:
        return None
    mine = _shape(attempt, attempt.arrays, attempt.value)
    theirs = _shape(attempt, attempt.key.arrays, attempt.key.value)
    return (f"Your answer is {mine} but {attempt.key.name} is {theirs}: work out the shape of each factor "
            "before multiplying.", f"shape {mine}, expected {theirs}")


def _sign(attempt):
    if attempt.matches([-k for k in attempt.key.arrays]):
        return ("Your answer has the wrong sign: recheck each minus sign, e.g. the derivative of (y − ŷ)² "
                "with respect to ŷ is −2(y − ŷ).", "answer = −key")
    return None


def _constant_factor(attempt):
    key = np.concatenate([k.ravel() for k in attempt.key.arrays])
    mine = aligned(attempt.arrays, attempt.key.arrays)
    if mine is None:
        return None
    mine = np.concatenate([a.ravel() for a in mine])
    usable = np.isfinite(key) & (np.abs(key) > 1e-9 * float(np.nanmax(np.abs(key))))
    if not usable.any():
        return None
    ratio = float(np.median(mine[usable] / key[usable]))
    if not np.isfinite(ratio) or abs(ratio) < 1e-12 or abs(abs(ratio) - 1) < 1e-6:
        return None
    if attempt.key.tolerance is None and all(k.size == 1 for k in attempt.key.arrays):  # one number
        # Any two numbers have a ratio: for one number only a small fraction (2, 1/2, −3/2) is a
        # finding, named even when the answer is also rounded.
        small = Fraction(ratio).limit_denominator(SMALL_FRACTION)
        if abs(small.numerator) > SMALL_FRACTION or abs(small) == 1 or \
                abs(float(small) - ratio) > ROUNDING_GAP * abs(ratio):
            return None
        ratio = float(small)
    elif not attempt.matches([ratio * k for k in attempt.key.arrays]):
        return None
    nice = Fraction(ratio).limit_denominator(1000)
    factor = str(nice) if abs(float(nice) - ratio) < 1e-9 * abs(ratio) else f"{ratio:.6g}"
    if nice.numerator == 1 and nice.denominator > 1:
        hint = f"a factor {nice.denominator} is missing (e.g. the {nice.denominator} from differentiating a square)"
    elif nice.denominator == 1:
        hint = f"a factor {nice.numerator} too many"
    else:
        hint = "check the constant factors"
    return f"Your answer is {factor} times the correct one: {hint}.", f"answer = {factor}·key"


def _rounding(attempt):
    key = attempt.key
    if key.tolerance is not None:  # a formula that misses at random points is another formula
        return None
    gap = error(attempt.arrays, key.arrays, key.floor)
    if not gap < ROUNDING_GAP:
        return None
    digits = max(1, int(-np.log10(gap)))
    return (f"Your answer agrees with the correct one to about {digits} significant digits (relative gap "
            f"{gap:.1g}), short of the tolerance {attempt.tolerance:.0e}: keep more digits, or exact fractions, "
            "until the last step.", f"rounded: relative gap {gap:.2g}")


def _missing_factor(attempt):
    for variant, removed in attempt.key.variants("factor"):
        if attempt.matches(variant):
            return (f"Your answer is missing the factor {removed}, which the correct one has (e.g. an "
                    "activation's derivative such as f′ or σ(1 − σ)).", f"missing factor {removed}")
    return None


def _missing_term(attempt):
    for variant, (term, count) in attempt.key.variants("term"):
        if attempt.matches(variant):
            return (f"Your answer is missing the term {term}: the correct one is a sum of {count} terms (in the "
                    f"chain rule, one per path), and yours has {count - 1}.", f"missing term {term}")
    return None


def _factor_order(attempt):
    for variant, order in attempt.key.variants("order"):
        if attempt.matches(variant):
            return (f"Your factors are in the wrong order: matrix products do not commute; the correct order "
                    f"is {order}.", f"factors reordered (expected {order})")
    return None


def _other_reading(attempt):
    for arrays, setting, help_text in attempt.alternatives():
        if attempt.matches(arrays):
            return (f"Your answer is what the problem gives under {setting} ({help_text}), but the reading asked "
                    f"for is {attempt.setting(setting)}.", f"other reading: {setting}")
    return None


RULES = (
    Rule("transpose", 0.5, _transpose),
    Rule("wrong-shape", 0.0, _wrong_shape),
    Rule("sign", 0.5, _sign),
    Rule("constant-factor", 0.5, _constant_factor),
    Rule("missing-factor", 0.25, _missing_factor),
    Rule("missing-term", 0.5, _missing_term),
    Rule("factor-order", 0.5, _factor_order),
    Rule("other-reading", 0.5, _other_reading),
    Rule("rounding", 0.5, _rounding),   # last: any rule above that matches exactly explains more
)


# ---------------------------------------------------------------------------------------------
# Mutations of a key: each (expression, what the mutation did) for the rules above.

def factor_variants(expr: sp.Basic):
    """The key with one factor (or, in a scalar product, two) of some product left out: the
    products of the key's own chain of factors and sums, not those inside a function's argument
    (the x of σ(1.702x) is no factor of the answer), nor a negation −a (dropping a there drops
    a whole term, which the missing-term rule names)."""
    count = 0
    for node in _chain_products(expr):
        args = node.args
        removable = [i for i, a in enumerate(args) if not a.is_number and _removable(node, a)]
        if isinstance(node, sp.Mul) and len(removable) < 2:
            continue
        sizes = (1, 2) if isinstance(node, sp.Mul) else (1,)
        for size in sizes:
            for drop in itertools.combinations(removable, size):
                rest = [a for i, a in enumerate(args) if i not in drop]
                if not rest:
                    continue
                rebuilt = rest[0] if len(rest) == 1 else node.func(*rest)
                if is_matrix(node) and getattr(rebuilt, "shape", None) != node.shape:
                    continue
                yield expr.xreplace({node: rebuilt}), "·".join(_factor_text(args[i]) for i in drop)
                count += 1
                if count >= MAX_VARIANTS:
                    return


def _chain_products(expr) -> list:
    """The products reached from the root through sums, products and transposes only."""
    found, stack = [], [expr] if isinstance(expr, sp.Basic) and not isinstance(expr, sp.MatrixBase) else []
    while stack and len(found) < MAX_VARIANTS:
        node = stack.pop()
        if isinstance(node, (sp.Mul, sp.MatMul, sp.HadamardProduct)):
            found.append(node)
        if isinstance(node, (sp.Add, sp.MatAdd, sp.Mul, sp.MatMul, sp.HadamardProduct, sp.Transpose)):
            stack.extend(reversed(node.args))
    return found


def _factor_text(factor) -> str:
    return f"({inline(factor)})" if isinstance(factor, (sp.Add, sp.MatAdd)) else inline(factor)


def _removable(node, arg) -> bool:
    if isinstance(node, sp.MatMul):
        return is_matrix(arg) and arg.shape[0] == arg.shape[1]
    return True


def term_variants(expr: sp.Basic):
    """The key with one term of its sum left out."""
    if isinstance(expr, (list, sp.MatrixBase)):
        return
    terms = list(expr.args) if isinstance(expr, (sp.Add, sp.MatAdd)) else []
    if not terms and not is_matrix(expr):
        expanded = sp.expand(expr)
        terms = list(expanded.args) if isinstance(expanded, sp.Add) and len(expanded.args) <= 8 else []
    for i, term in enumerate(terms[:MAX_VARIANTS]):
        rest = terms[:i] + terms[i + 1:]
        yield (sp.MatAdd(*rest) if is_matrix(expr) else sp.Add(*rest)), (inline(term), len(terms))


def order_variants(expr: sp.Basic):
    """The key with the factors of a matrix product swapped (neighbours, or all reversed) where
    the shapes still chain and give the same shape."""
    count = 0
    for node in _nodes(expr, (sp.MatMul,)):
        scalars = [a for a in node.args if not is_matrix(a)]
        matrices = [a for a in node.args if is_matrix(a)]
        orders = [matrices[::-1]] + [matrices[:i] + [matrices[i + 1], matrices[i]] + matrices[i + 2:]
                                     for i in range(len(matrices) - 1)]
        for order in orders:
            if order == matrices or any(a.shape[1] != b.shape[0] for a, b in zip(order, order[1:])):
                continue
            product = sp.MatMul(*scalars, *order)
            if product.shape != node.shape:
                continue
            yield expr.xreplace({node: product}), inline(node)
            count += 1
            if count >= MAX_VARIANTS:
                return


def _nodes(expr, kinds):
    if not isinstance(expr, sp.Basic) or isinstance(expr, sp.MatrixBase):
        return []
    return [node for node in sp.preorder_traversal(expr) if isinstance(node, kinds)][:MAX_VARIANTS]


VARIANTS = {"factor": factor_variants, "term": term_variants, "order": order_variants}


def evaluated_variants(kind: str, value: Any, evaluate: Callable) -> list[tuple[list, Any]]:
    """The mutations of ``kind`` of ``value``, evaluated (those that do not evaluate are dropped)."""
    out = []
    for variant, what in VARIANTS[kind](value):
        try:
            out.append((evaluate(variant), what))
        except NotEvaluable:
            continue
    return out
