"""Students' answers as SymPy values, through the restricted parser of :mod:`derivations.core.parsing`.

The answer language adds to the formula language what matrix calculus needs: ``@`` (and ``*``)
for products, ``W2^T``/``W2.T``/``W2ᵀ`` for transposes, ``⊙``/``hadamard(a, b)``, ``diag(v)``,
activations applied entry by entry to a matrix, ``f1'(u)``/``df1(u)`` for the derivative of an
undefined function, and ``[...]`` lists for vectors and matrices of numbers. Names are the
problem's own, written as identifiers: ``∂ℓ/∂ŷ`` is ``dl_dyhat``, ``θ`` is ``theta``.
Nothing is ever ``eval``-ed: every node is converted or refused with the reason.
"""

from __future__ import annotations

import ast
import keyword
import re
import unicodedata
from typing import Any

import sympy as sp
from sympy.core.function import AppliedUndef
from sympy.matrices.expressions.matexpr import MatrixExpr
from sympy.printing.precedence import PRECEDENCE
from sympy.printing.str import StrPrinter

from derivations.calculus.functions import relu, sigmoid
from derivations.calculus.rules import Diag, Elementwise, Eye, Ones
from derivations.core.errors import UserError
from derivations.core.parsing import FUNCTIONS, _Converter, echo

#: Bounds on one answer: its text, its syntax-tree nodes and nesting, and a list's entries.
MAX_TEXT = 5000
MAX_NODES = 3000
MAX_DEPTH = 60
MAX_ENTRIES = 2000
MAX_SIDE = 1000
#: Activations and other scalar functions that a matrix argument takes entry by entry.
ENTRYWISE = {**{k: v for k, v in FUNCTIONS.items() if k not in ("max", "min")},
             "sigmoid": sigmoid, "relu": relu, "H": lambda u: sp.Heaviside(u, 0),
             "heaviside": lambda u: sp.Heaviside(u, 0), "step": lambda u: sp.Heaviside(u, 0),
             "sign": sp.sign}
GREEK = {"ℓ": "l", "θ": "theta", "η": "eta", "β": "beta", "λ": "lambda", "σ": "sigma", "γ": "gamma",
         "α": "alpha", "ε": "epsilon", "ŷ": "yhat", "‖": ""}
_PRIME = re.compile(r"([A-Za-z_]\w*)\s*[′']\s*\(")
#: Values the parser returns: a scalar or matrix SymPy expression, or a nested list of scalars.
Value = Any


def student_name(name: str) -> str | None:
    """The identifier a student writes for a symbol's name: ``∂ℓ/∂yhat`` -> ``dl_dyhat``,
    ``θ`` -> ``theta``, ``lambda`` -> ``lambda_``; ``None`` when no identifier fits."""
    name = unicodedata.normalize("NFC", name)
    if "/∂" in name and name.startswith("∂"):
        top, bottom = name[1:].split("/∂", 1)
        name = f"d{top}_d{bottom}"
    name = "".join(GREEK.get(ch, ch) for ch in name)
    name = unicodedata.normalize("NFKC", name)
    if keyword.iskeyword(name):
        name += "_"
    return name if name.isidentifier() and name.isascii() else None


def vocabulary(values: list[Any]) -> dict[str, Any]:
    """Student name -> SymPy object for every symbol, matrix symbol and undefined function in
    ``values`` (the answers of one solution). A slope symbol (hw3's ``df1``, f₁′ at its own
    point) stands for its derivative, so ``df1`` and ``f1'(w1*x + b1)`` mean the same."""
    table: dict[str, Any] = {}
    for value in values:
        for atom in _atoms(value):
            if isinstance(atom, sp.Dummy):
                continue
            name = student_name(atom.name if hasattr(atom, "name") else str(atom))
            if hasattr(atom, "prime"):
                table.setdefault(name, atom.prime())
                table.setdefault(f"_fn_{atom.function.__name__}", atom.function)
            elif name and (name not in table or isinstance(atom, sp.MatrixSymbol)):
                table[name] = atom
        for applied in _applied(value):
            table.setdefault(f"_fn_{applied.func.__name__}", applied.func)
    return table


def _atoms(value):
    if isinstance(value, (list, tuple)):
        return [a for v in value for a in _atoms(v)]
    if isinstance(value, sp.Basic):
        atoms = list(value.atoms(sp.Symbol, sp.MatrixSymbol))
        return atoms + [a for atom in atoms if hasattr(atom, "prime") for a in _atoms(atom.point)]
    return []


def _applied(value):
    if isinstance(value, (list, tuple)):
        return [a for v in value for a in _applied(v)]
    return list(value.atoms(AppliedUndef)) if isinstance(value, sp.Basic) else []


def parse_answer(text: str, table: dict[str, Any]) -> Value:
    """``text`` as a value in the names of ``table`` (see :func:`vocabulary`); a
    :class:`UserError` with the reason for anything else."""
    if not isinstance(text, str):
        raise UserError("an answer must be text")
    if len(text) > MAX_TEXT:
        raise UserError(f"the answer is longer than {MAX_TEXT} characters")
    source = unicodedata.normalize("NFC", text).replace("ᵀ", ".T").replace("⊙", "%").replace("·", "*")
    source = _PRIME.sub(r"d\1(", source).replace("^", "**")
    try:
        tree = ast.parse(source.strip(), mode="eval")
    except (SyntaxError, RecursionError, MemoryError, ValueError):
        raise UserError(f"cannot read {echo(text)}: not a formula, number or list") from None
    _check_size(tree, text)
    try:
        return _AnswerConverter(source, text, table).value(tree.body)
    except RecursionError:
        raise UserError(f"{echo(text)} is nested too deeply") from None
    except (TypeError, ValueError, AttributeError, sp.ShapeError) as exc:
        raise UserError(f"cannot build {echo(text)}: {str(exc)[:120]}") from None


def _check_size(tree: ast.AST, text: str) -> None:
    count, stack = 0, [(tree, 0)]
    while stack:
        node, depth = stack.pop()
        count += 1
        if count > MAX_NODES or depth > MAX_DEPTH:
            raise UserError(f"{echo(text)} is too large or nested too deeply")
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))


def is_matrix(value: Any) -> bool:
    return isinstance(value, MatrixExpr) or bool(getattr(value, "is_Matrix", False))


def shape_text(shape: tuple) -> str:
    """``m×K`` for a matrix, ``a number`` for a scalar."""
    return "a number" if not shape else "×".join(map(str, shape))


def _list_shape(value) -> tuple:
    return (len(value), *_list_shape(value[0])) if isinstance(value, list) else ()


class _AnswerConverter(_Converter):
    """The formula converter, extended with matrix products, transposes, entrywise functions,
    derivatives of undefined functions and lists."""

    def __init__(self, source, text, table):
        symbols = {k: v for k, v in table.items() if not k.startswith("_fn_")}
        super().__init__(source, text, symbols)
        self.functions = {k[4:]: v for k, v in table.items() if k.startswith("_fn_")}

    def value(self, node: ast.AST) -> Value:
        """A list (nested lists of scalars) or an expression."""
        if isinstance(node, (ast.List, ast.Tuple)):
            if len(node.elts) > MAX_ENTRIES:
                raise UserError(f"a list in {echo(self.text)} has more than {MAX_ENTRIES} entries")
            items = [self.value(e) for e in node.elts]
            if not items:
                raise UserError(f"{echo(self.text)} has an empty list")
            if any(is_matrix(i) for i in items):
                raise UserError(f"a list in {echo(self.text)} holds a matrix; write matrices as lists of rows")
            if len({_list_shape(i) for i in items}) > 1:
                raise UserError(f"the rows of {echo(self.text)} differ in length")
            return items
        return self.convert(node)

    def convert(self, node: ast.AST) -> sp.Basic:
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow) and _is_name(node.right, "T"):
            return self._transpose(self.convert(node.left))
        if isinstance(node, ast.Attribute) and node.attr == "T":
            return self._transpose(self.convert(node.value))
        # each operand is converted once, and the scalar case combined here: handing the node back to
        # the base class would convert the operands again, doubling the work at every level of nesting
        if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.MatMult, ast.Mult, ast.Mod, ast.Add, ast.Sub)):
            left, right = self.convert(node.left), self.convert(node.right)
            if is_matrix(left) or is_matrix(right):
                return self._matrix_op(node.op, left, right)
            if isinstance(node.op, (ast.MatMult, ast.Mod)):
                return left * right
            return self.combine(node.op, left, right)
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
            left, right = self.convert(node.left), self.convert(node.right)
            if is_matrix(right):
                raise UserError(f"{echo(self.text)} divides by a matrix")
            if is_matrix(left):
                return left * (1 / right)
            return self.combine(node.op, left, right)
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow):
            base = self.convert(node.left)
            if is_matrix(base):
                raise UserError(f"{echo(self.text)} raises a matrix to a power; write the product")
            return self.combine(node.op, base, self.convert(node.right))
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            operand = self.convert(node.operand)
            return -operand
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and not node.keywords:
            return self._call(node.func.id, node.args)
        if isinstance(node, (ast.List, ast.Tuple)):
            raise UserError(f"{echo(self.text)} uses a list inside a formula")
        if isinstance(node, ast.Constant) and isinstance(node.value, bool):
            return sp.Integer(node.value)
        return super().convert(node)

    def _transpose(self, value):
        return value.T if is_matrix(value) else value

    def _matrix_op(self, op, left, right):
        ls, rs = _shape(left), _shape(right)
        if isinstance(op, (ast.MatMult, ast.Mult)) and ls and rs:
            if ls[1] != rs[0]:
                raise UserError(f"in {echo(self.text)} a {shape_text(ls)} matrix times a {shape_text(rs)} one: "
                                "the shapes do not chain")
            return sp.MatMul(left, right)
        if isinstance(op, (ast.MatMult, ast.Mult)):
            return left * right
        if isinstance(op, (ast.Add, ast.Sub)) and (ls == () and left == 0 or rs == () and right == 0):
            return right if ls == () and left == 0 and isinstance(op, ast.Add) else -right if ls == () else left
        if ls != rs:
            raise UserError(f"in {echo(self.text)} values of shapes {shape_text(ls)} and {shape_text(rs)} are "
                            "combined entry by entry: the shapes differ")
        if isinstance(op, ast.Mod):
            return sp.HadamardProduct(left, right)
        return sp.MatAdd(left, right if isinstance(op, ast.Add) else -right)

    def _side(self, size, name: str):
        """A size of ``eye``/``ones``: one of the problem's size symbols, or a whole number up to MAX_SIDE."""
        if isinstance(size, sp.Symbol) or (size.is_Integer and 1 <= size <= MAX_SIDE):
            return size
        raise UserError(f"a size of {name}(…) in {echo(self.text)} must be a whole number from 1 to {MAX_SIDE} "
                        "or a size name such as K")

    def _call(self, name: str, args: list[ast.AST]) -> sp.Basic:
        values = [self.convert(a) for a in args]
        if name == "hadamard" and len(values) == 2:
            return self._matrix_op(ast.Mod(), *values)
        if name == "diag" and len(values) == 1 and is_matrix(values[0]) and values[0].shape[1] == 1:
            return Diag(values[0])
        if name in ("transpose",) and len(values) == 1:
            return self._transpose(values[0])
        if name in ("eye", "I") and len(values) == 1 and not is_matrix(values[0]):
            return Eye(self._side(values[0], name))
        if name == "ones" and len(values) == 2 and not any(is_matrix(v) for v in values):
            return Ones(*(self._side(v, name) for v in values))
        undefined = self.functions.get(name) or (name.startswith("d") and self.functions.get(name[1:]))
        if undefined and len(values) == 1 and not is_matrix(values[0]):
            if name in self.functions:
                return undefined(values[0])
            v = sp.Dummy("v")
            return sp.Subs(sp.Derivative(undefined(v), v), v, values[0])
        if name in ENTRYWISE and len(values) == 1:
            if is_matrix(values[0]):
                return Elementwise(ENTRYWISE[name], values[0])
            return ENTRYWISE[name](values[0])
        if name in FUNCTIONS:
            return super().convert(ast.Call(func=ast.Name(id=name, ctx=ast.Load()), args=args, keywords=[]))
        known = sorted(set(ENTRYWISE) | {"hadamard", "diag", "transpose", "eye", "ones"} | set(self.functions)
                       | {"d" + f for f in self.functions})
        raise UserError(f"unknown function {name!r} (or wrong arguments) in {echo(self.text)} "
                        f"(functions: {', '.join(known)})")


def _is_name(node, name):
    return isinstance(node, ast.Name) and node.id == name


def _shape(value):
    return tuple(value.shape) if is_matrix(value) else ()


class AnswerPrinter(StrPrinter):
    """A value written in the answer language, so that a key can be shown as a student would
    type it (and fed back to :func:`parse_answer`)."""

    printmethod = "_answer_text"  # not the classes' own _sympystr, which prints ∂ℓ/∂ŷ and I_K

    def _print_Symbol(self, expr):
        if hasattr(expr, "prime"):
            return self._print(expr.prime())
        return student_name(expr.name) or expr.name

    def _print_MatrixSymbol(self, expr):
        return student_name(expr.name) or str(expr.name)

    def _print_MatMul(self, expr):
        scalars = [a for a in expr.args if not is_matrix(a)]
        product = " @ ".join(self.parenthesize(a, PRECEDENCE["Mul"]) for a in expr.args if is_matrix(a))
        return "*".join([self.parenthesize(a, PRECEDENCE["Mul"]) for a in scalars] + [product])

    def _print_Ones(self, expr):
        return f"ones({self._print(expr.rows)}, {self._print(expr.cols)})"

    def _print_Transpose(self, expr):
        return f"({self._print(expr.arg)}).T"

    def _print_HadamardProduct(self, expr):
        text = self._print(expr.args[0])
        for arg in expr.args[1:]:
            text = f"hadamard({text}, {self._print(arg)})"
        return text

    def _print_Elementwise(self, expr):
        t = expr.function.variables[0]
        body = expr.function.expr
        if isinstance(body, sp.Function) and body.args[:1] == (t,):
            return f"{self._function_name(body)}({self._print(expr.arg)})"
        raise ValueError(f"no answer-language name for the entrywise function {body}")

    def _function_name(self, applied):
        return "H" if isinstance(applied, sp.Heaviside) else {"Abs": "abs", "Max": "max", "Min": "min"}.get(
            type(applied).__name__, type(applied).__name__)

    def _print_Heaviside(self, expr):
        return f"H({self._print(expr.args[0])})"

    def _print_Diag(self, expr):
        return f"diag({self._print(expr.vector)})"

    def _print_Eye(self, expr):
        return f"eye({self._print(expr.rows)})"

    def _print_Subs(self, expr):
        derivative, point = expr.expr, expr.point[0]
        if isinstance(derivative, sp.Derivative) and isinstance(derivative.expr, AppliedUndef):
            return f"d{derivative.expr.func.__name__}({self._print(point)})"
        raise ValueError(f"no answer-language form for {expr}")

    def _print_Derivative(self, expr):
        if isinstance(expr.expr, AppliedUndef) and len(expr.variables) == 1:
            return f"d{expr.expr.func.__name__}({self._print(expr.variables[0])})"
        raise ValueError(f"no answer-language form for {expr}")

    def _print_Abs(self, expr):
        return f"abs({self._print(expr.args[0])})"

    def _print_Max(self, expr):
        return "max(" + ", ".join(self._print(a) for a in expr.args) + ")"

    def _print_Min(self, expr):
        return "min(" + ", ".join(self._print(a) for a in expr.args) + ")"

    def _print_Exp1(self, expr):
        return "E"

    def _print_BooleanTrue(self, expr):
        return "1"

    def _print_BooleanFalse(self, expr):
        return "0"

    def _print_Basic(self, expr):
        raise ValueError(f"no answer-language form for {type(expr).__name__}")

    def emptyPrinter(self, expr):
        raise ValueError(f"no answer-language form for {type(expr).__name__}")


def to_text(value: Value) -> str:
    """``value`` in the answer language; ValueError for what a student cannot write."""
    if isinstance(value, sp.MatrixBase):
        value = value.tolist()
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(to_text(v) for v in value) + "]"
    if isinstance(value, (bool, int, float)):
        return str(int(value)) if isinstance(value, bool) else repr(value)
    return AnswerPrinter({"order": "none"}).doprint(value)
