"""LaTeX answer sheets: one fragment per problem, and a whole compilable document.

Prose in the model is Unicode (σ, ŷ, x₁, →) so the terminal reads well; here it is escaped
and mapped to LaTeX, so the document compiles with plain pdflatex.
"""

from __future__ import annotations

import re
import unicodedata

import numpy as np
import sympy as sp
from sympy.printing.pretty.pretty_symbology import sub, sup

from derivations.core.model import CheckResult, Solution
from derivations.render.latex import latex, latex_equation, numbers_latex

SPECIALS = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
            "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}"}
MATH = {"σ": r"\sigma", "η": r"\eta", "β": r"\beta", "α": r"\alpha", "ε": r"\varepsilon", "λ": r"\lambda",
        "θ": r"\theta", "δ": r"\delta", "μ": r"\mu", "ξ": r"\xi", "Σ": r"\Sigma", "∂": r"\partial",
        "∇": r"\nabla", "≤": r"\le", "≥": r"\ge", "≠": r"\ne", "≈": r"\approx", "×": r"\times",
        "·": r"\cdot", "⋅": r"\cdot", "→": r"\to", "∈": r"\in", "∞": r"\infty", "‖": r"\|", "√": r"\surd",
        "−": "-", "±": r"\pm", "′": "'", "ᵀ": "^{T}", "²": "^{2}", "³": "^{3}", "ⁿ": "^{n}", "⊙": r"\odot",
        "ℓ": r"\ell", "⌊": r"\lfloor", "⌋": r"\rfloor", "…": r"\dots", "∑": r"\sum", "γ": r"\gamma", "←": r"\leftarrow", "ρ": r"\rho", "τ": r"\tau", "π": r"\pi", "φ": r"\phi",
        "ω": r"\omega", "Δ": r"\Delta", "⌈": r"\lceil", "⌉": r"\rceil", "⊤": "^{T}", "∘": r"\circ", "≡": r"\equiv", "ℝ": r"\mathbb{R}", "↦": r"\mapsto"}


TEXT = {"—": "---", "–": "--", "“": "``", "”": "''", "’": "'", "‘": "`", "•": r"\textbullet{}", "\u00a0": "~"}


def _tex_name(name: str) -> str:
    return f"\\{name}" if len(name) > 1 else name


#: every Unicode sub- and superscript the pretty printers emit (x₁, θₜ₋₁, β₁ᵗ), back to TeX
SUBSCRIPTS = {small: _tex_name(name) for name, small in sub.items() if small} | dict(zip("ⱼ", "j"))
SUPERSCRIPTS = {small: _tex_name(name) for name, small in sup.items() if small} | dict(zip("ᶻˣᵗ", "zxt"))


ACCENTS = {"\u0302": r"\hat", "\u0303": r"\tilde", "\u0304": r"\bar", "\u0307": r"\dot"}


def tex_text(text: str) -> str:
    """Unicode prose to LaTeX text mode (special characters escaped, symbols as math)."""
    out = []
    chars = unicodedata.normalize("NFD", text).replace("=\u0338", "≠")  # NFD splits ≠ as well
    for i, ch in enumerate(chars):
        accent = ACCENTS.get(chars[i + 1]) if i + 1 < len(chars) else None
        if ch in ACCENTS:
            continue
        if accent:
            out.append(rf"${accent}{{{MATH.get(ch, ch)}}}$")
        elif ch in SPECIALS:
            out.append(SPECIALS[ch])
        elif ch in MATH:
            out.append(f"${MATH[ch]}$")
        elif ch in SUBSCRIPTS:
            out.append(f"$_{{{SUBSCRIPTS[ch]}}}$")
        elif ch in SUPERSCRIPTS:
            out.append(f"$^{{{SUPERSCRIPTS[ch]}}}$")
        elif ch in TEXT:
            out.append(TEXT[ch])
        elif ord(ch) < 128:
            out.append(ch)
        else:
            raise ValueError(f"no LaTeX mapping for character {ch!r} (U+{ord(ch):04X}); add it to render/sheet.py")
    return _merge_scripts(re.sub(r"\$\$", "", "".join(out)))


def _merge_scripts(tex: str) -> str:
    """``_{t}_{-}_{1}`` (one group per Unicode subscript) as ``_{t-1}``: TeX rejects a double
    subscript."""
    while True:
        merged = re.sub(r"([_^])\{([^{}]*)\}\1\{", r"\1{\2", tex)
        if merged == tex:
            return tex
        tex = merged


def problem_fragment(solution: Solution, results: list[CheckResult], figures: dict[str, str] | None = None,
                     heading: str | None = None, numbers: dict | None = None) -> str:
    """One problem as a ``\\section``: statement, assumptions, steps, boxed answers (with their
    ``numbers`` at the given values, see :func:`~derivations.render.report.answer_numbers`), checks.
    ``heading`` replaces the id and title (a class set's key names the student too)."""
    problem = solution.problem
    heading = tex_text(heading or f"{problem.id}: {problem.title}")
    lines = [rf"\section*{{{heading}}}", rf"\addcontentsline{{toc}}{{section}}{{{heading}}}",
             rf"\paragraph{{Problem.}} {tex_text(problem.statement)}"]
    if solution.parameters:
        lines.append(r"\paragraph{Parameters.} "
                     + ", ".join(f"{tex_text(k)} = {_parameter(v)}" for k, v in solution.parameters.items()) + ".")
    if solution.assumptions:
        lines += [r"\paragraph{Assumptions.}", r"\begin{itemize}"]
        lines += [rf"  \item {tex_text(a)}" for a in solution.assumptions]
        lines.append(r"\end{itemize}")
    lines += [r"\paragraph{Derivation.}", r"\begin{enumerate}"]
    for step in solution.steps:
        if step.text:
            prose = "".join(tex_text(p) if isinstance(p, str) else f"${latex(p.value)}$" for p in step.pieces())
            lines.append(rf"  \item {prose}")
        if step.lhs is not None or step.rhs is not None:
            lines.append(_display(latex_equation(step.lhs, step.rhs)))
    lines.append(r"\end{enumerate}")
    for name, path in (figures or {}).items():
        lines += [r"\begin{center}", rf"  \includegraphics[width=\linewidth,height=0.3\textheight,keepaspectratio]{{{path}}}",
                  r"\end{center}"]
    lines += [r"\paragraph{Answers.}"]
    for answer in solution.answers:
        if answer.value is not None:
            lines.append(_display(rf"\boxed{{{latex_equation(answer.symbol, answer.value)}}}"))
        if numbers and numbers.get(answer.name) is not None:
            lines.append(_display(rf"\text{{at the given values: }} {numbers_latex(numbers[answer.name])}"))
        if answer.text:
            lines.append(tex_text(answer.text) + r"\par")
    # longtable breaks across pages; a ragged first column wraps long check names in the margins
    lines += [r"\paragraph{Numeric checks.}",
              r"\begin{longtable}{@{}>{\raggedright\arraybackslash}p{0.6\linewidth}rrl@{}}",
              r"check & max error & tolerance & result \\ \hline \endhead"]
    lines += [rf"{tex_text(r.name)} & {_sci(r.max_abs_error)} & {_sci(r.tolerance)} & {'pass' if r.passed else 'FAIL'} \\"
              for r in results]
    lines.append(r"\end{longtable}")
    return "\n".join(lines)


def question_fragment(variant) -> str:
    """A variant's question as a ``\\section``: restated statement and its values, no answers."""
    problem = variant.problem
    lines = [rf"\section*{{{tex_text(problem.id)}: {tex_text(problem.title)}}}", rf"\paragraph{{Problem.}} {tex_text(variant.statement())}"]
    params = {p.name: p for p in problem.params}
    items = [rf"  \item {tex_text(name)} = {_parameter(value)} ({tex_text(params[name].help)})"
             for name, value in variant.values.items() if params[name].shown]
    items += [rf"  \item {tex_text(name)} = {_parameter(_exact(value))}" for name, value in (variant.inputs or {}).items()]
    if items:
        lines += [r"\paragraph{Values of this version.}", r"\begin{itemize}", *items, r"\end{itemize}"]
    return "\n".join(lines)


def _exact(value):
    """A drawn input (a number or an array of small integers and halves) as exact SymPy."""
    return sp.nsimplify(value) if np.ndim(value) == 0 else sp.Matrix(value).applyfunc(sp.nsimplify)


def _display(math: str) -> str:
    """A displayed equation, shrunk to the line when it is wider (an answer written out in the
    inputs can be twice the page): TeX cannot break a formula by itself."""
    return (r"\begin{center}\resizebox{\ifdim\width>\linewidth\linewidth\else\width\fi}{!}"
            rf"{{$\displaystyle {math}$}}\end{{center}}")


def _parameter(value) -> str:
    return rf"\texttt{{{tex_text(value)}}}" if isinstance(value, str) else f"${latex_equation(None, value)}$"


def _sci(x: float) -> str:
    if x != x or x in (float("inf"), float("-inf")):
        return r"$\infty$"
    mantissa, exponent = f"{x:.1e}".split("e")
    return f"${mantissa}\\times 10^{{{int(exponent)}}}$"


def document(title: str, fragments: list[str], contents: bool = True) -> str:
    """A complete article: preamble, title, table of contents (unless ``contents`` is False: then
    one pdflatex run is enough), then the fragments."""
    body = "\n\n\\bigskip\n\n".join(fragments)
    return "\n".join([
        r"\documentclass[11pt]{article}",
        r"\usepackage[margin=2cm]{geometry}",
        r"\usepackage{amsmath,amssymb,graphicx,array,longtable}",
        r"\allowdisplaybreaks",
        rf"\title{{{tex_text(title)}}}",
        r"\author{generated by \texttt{derivations}: every answer checked numerically}",
        r"\date{}",
        r"\begin{document}",
        r"\sloppy  % long formulas and names in prose: stretch the spaces rather than the margin",
        r"\maketitle",
        *([r"\tableofcontents"] if contents else []),
        body,
        r"\end{document}",
        "",
    ])
