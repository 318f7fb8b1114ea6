"""``sheet``: a LaTeX answer sheet for a whole homework sheet, optionally compiled to PDF."""

NAME = "sheet"
HELP = "Write a LaTeX answer sheet (problems, assumptions, steps, boxed answers, graphs); --pdf compiles it."

TEX_PACKAGES = "texlive-latex-base, texlive-latex-recommended and latexmk (Debian/Ubuntu)"


def add_arguments(parser):
    parser.add_argument("sheet", help="sheet name: hw3, a1, hw1 or midterm")
    parser.add_argument("--out", required=True, help="output directory (created if missing)")
    parser.add_argument("--pdf", action="store_true", help="also compile to PDF with latexmk or pdflatex")


def run(args) -> int:
    from pathlib import Path

    from derivations.core import registry
    from derivations.core.errors import UserError
    from derivations.render.graphviz import to_dot, write_graph
    from derivations.render.sheet import document, problem_fragment

    problems = registry.load_sheet(args.sheet)
    out = Path(args.out)
    (out / "figures").mkdir(parents=True, exist_ok=True)
    fragments, failed, notes = [], 0, []
    for problem in problems:
        solution = problem.solve()
        results = solution.run_checks()
        failed += sum(not r.passed for r in results)
        figures = {}
        for name, cg in solution.graphs.items():
            stem = out / "figures" / f"{problem.id.replace('/', '-')}-{name}"
            source = to_dot(cg)
            write_graph(source, stem.with_suffix(".dot"))
            try:
                write_graph(source, stem.with_suffix(".pdf"), renderer="dot")
                figures[name] = f"figures/{stem.name}.pdf"
            except UserError:
                write_graph(source, stem.with_suffix(".svg"))
                notes.append("graphs are written as SVG beside the sheet, not embedded: install Graphviz "
                             "(apt-get install graphviz) to embed them as PDF")
        fragments.append(problem_fragment(solution, results, figures))
    tex = out / f"{args.sheet}.tex"
    tex.write_text(document(f"Answer sheet: {args.sheet}", fragments), encoding="utf-8")
    print(f"wrote {tex} ({len(problems)} problem{'s' * (len(problems) != 1)}, {failed} failed checks)")
    missing = registry.missing_from_sheet(args.sheet)
    if missing:
        notes.append(f"the sheet also poses {', '.join(missing)}, not in the catalogue yet: the answer sheet leaves "
                     f"{'it' if len(missing) == 1 else 'them'} out")
    for note in dict.fromkeys(notes):
        print(f"note: {note}")
    if args.pdf:
        print(f"wrote {_compile(tex)}")
    return 1 if failed else 0


def _compile(tex):
    """The PDF beside the ``.tex``; LaTeX's own files (.aux, .log, .toc, …) go to a temporary
    folder, and only the log comes back, when the run fails."""
    import shutil
    import subprocess
    import tempfile

    from derivations.core.errors import UserError

    with tempfile.TemporaryDirectory(prefix="derivations-tex-") as build:
        if shutil.which("latexmk"):
            commands = [["latexmk", "-pdf", "-interaction=nonstopmode", "-halt-on-error", f"-outdir={build}",
                         tex.name]]
        elif shutil.which("pdflatex"):  # twice: the table of contents
            commands = [["pdflatex", "-interaction=nonstopmode", "-halt-on-error", f"-output-directory={build}",
                         tex.name]] * 2
        else:
            raise UserError(f"no TeX engine found (latexmk or pdflatex): install {TEX_PACKAGES}. "
                            f"The LaTeX source is in {tex}")
        for command in commands:
            result = subprocess.run(command, cwd=tex.parent, capture_output=True, text=True)
            if result.returncode != 0:
                log = tex.with_suffix(".log")
                shutil.copy(f"{build}/{log.name}", log)
                first = [line for line in result.stdout.splitlines() if line.startswith("!")]
                raise UserError(f"LaTeX failed on {tex}: {first[0] if first else 'see ' + str(log)}")
        pdf = tex.with_suffix(".pdf")
        shutil.copy(f"{build}/{pdf.name}", pdf)
    return pdf
