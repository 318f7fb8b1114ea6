"""``sheet``: a LaTeX answer sheet for a whole homework sheet, optionally compiled to PDF."""

NAME = "sheet"
HELP = "Write a LaTeX answer sheet (problems, assumptions, steps, boxed answers, graphs); --pdf compiles it."

TEX_PACKAGES = "texlive-latex-base, texlive-latex-recommended and latexmk (Debian/Ubuntu)"


def add_arguments(parser):
    parser.add_argument("sheet", help="sheet name: hw3, a1, hw1 or midterm")
    parser.add_argument("--out", required=True, help="output directory (created if missing)")
    parser.add_argument("--pdf", action="store_true", help="also compile to PDF with latexmk or pdflatex")
    parser.add_argument("--variants", metavar="N",
                        help="a class set: N question sheets, one per student, each with its own seed, and one key")
    parser.add_argument("--seed", help="with --variants: the class set's seed (default 0)")


def run(args) -> int:
    from pathlib import Path

    from derivations.core import registry
    from derivations.core.errors import UserError
    from derivations.render.graphviz import to_dot, write_graph
    from derivations.render.sheet import document, problem_fragment

    if args.variants is None and args.seed is not None:
        raise UserError("--seed goes with --variants")
    problems = registry.load_sheet(args.sheet)
    out = Path(args.out)
    (out / "figures").mkdir(parents=True, exist_ok=True)
    if args.variants is not None:
        return _class_set(args, problems, out)
    fragments, failed, notes = [], 0, []
    for problem in problems:
        solution = problem.solve()
        results = solution.run_checks()
        failed += sum(not r.passed for r in results)
        fragments.append(problem_fragment(solution, results, _figures(solution, out, problem.id.replace("/", "-"), notes)))
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


def _figures(solution, out, stem_name, notes) -> dict:
    """The solution's graphs written under ``out/figures`` (PDF when Graphviz is there, else SVG
    and a note): name -> path to embed."""
    from derivations.core.errors import UserError
    from derivations.render.graphviz import to_dot, write_graph

    figures = {}
    for name, cg in solution.graphs.items():
        stem = out / "figures" / f"{stem_name}-{name}"
        source = to_dot(cg)
        write_graph(source, stem.with_suffix(".dot"))
        try:
            write_graph(source, stem.with_suffix(".pdf"), renderer="dot")
            figures[name] = f"figures/{stem.name}.pdf"
        except UserError:
            write_graph(source, stem.with_suffix(".svg"))
            notes.append("graphs are written as SVG beside the sheet, not embedded: install Graphviz "
                         "(apt-get install graphviz) to embed them as PDF")
    return figures


def _class_set(args, problems, out) -> int:
    """One question sheet per student (its seed printed on it), one key, and students.csv."""
    import csv

    from derivations.render.sheet import document, problem_fragment, question_fragment
    from derivations.variants import class_set, parse_count, parse_seed

    count, seed = parse_count(args.variants), parse_seed(args.seed or "0")
    fixed = [p.id for p in problems if not p.varied and not p.variation.inputs]
    students, notes = class_set(problems, count, seed), []
    width = len(str(count))
    texs, key = [], []
    for index, (student_seed, variants) in enumerate(students, 1):
        label = f"student {index:0{width}d}"
        regenerate = (rf"\noindent Seed {student_seed}: \texttt{{python -m derivations variant ID --seed {student_seed}}} "
                      r"regenerates each problem of this version.")
        tex = out / f"{args.sheet}-student-{index:0{width}d}.tex"
        tex.write_text(document(f"{args.sheet}, {label} (seed {student_seed})",
                                [regenerate] + [question_fragment(v) for v in variants], contents=False),
                       encoding="utf-8")
        texs.append(tex)
        key += [problem_fragment(v.solution, v.results, _figures(v.solution, out, f"{index:0{width}d}-{v.problem.id.replace('/', '-')}", notes),
                                 heading=f"{label} (seed {student_seed}), {v.problem.id}: {v.problem.title}",
                                 numbers=v.numbers())
                for v in variants]
    key_tex = out / f"{args.sheet}-key.tex"
    key_tex.write_text(document(f"Key: {args.sheet}, {count} students, class seed {seed}", key, contents=False),
                       encoding="utf-8")
    with open(out / f"{args.sheet}-students.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["student", "seed"])
        writer.writerows((index, student_seed) for index, (student_seed, _) in enumerate(students, 1))
    redraws = sum(len(v.redrawn) for _, variants in students for v in variants)
    print(f"wrote {count} question sheets, {key_tex} and {out / (args.sheet + '-students.csv')} "
          f"(class seed {seed}; {redraws} degenerate or failing draws redrawn)")
    if fixed:
        notes.append(f"{', '.join(fixed)} cannot vary and {'is' if len(fixed) == 1 else 'are'} left out")
    for note in dict.fromkeys(notes):
        print(f"note: {note}")
    if args.pdf:
        for tex in texs + [key_tex]:
            _compile(tex, runs=1)
        print(f"wrote {len(texs) + 1} PDFs in {out}")
    return 0


def _compile(tex, runs=None):
    """The PDF beside the ``.tex``; LaTeX's own files (.aux, .log, .toc, …) go to a temporary
    folder, and only the log comes back, when the run fails. ``runs=1``: one pdflatex run, for
    a document without a table of contents."""
    import shutil
    import subprocess
    import tempfile

    from derivations.core.errors import UserError

    with tempfile.TemporaryDirectory(prefix="derivations-tex-") as build:
        if runs and shutil.which("pdflatex"):
            commands = [["pdflatex", "-interaction=nonstopmode", "-halt-on-error", f"-output-directory={build}",
                         tex.name]] * runs
        elif shutil.which("latexmk"):
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
