"""``grade ID --answer NAME=EXPR`` / ``--answers FILE`` / ``--answers-dir DIR``: grade students'
answers against the problem's solution (or a seeded variant's), with a diagnosis and partial
credit for each."""

from __future__ import annotations

import argparse

NAME = "grade"
CHART_SUFFIXES = (".png", ".svg", ".pdf")
HELP = "Grade students' answers (formulas, numbers, matrices) against a problem's solution, with diagnoses."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("id", metavar="ID", help="problem id, e.g. hw1/problem2")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                        help="solve the problem with this parameter (as for solve)")
    parser.add_argument("--seed", metavar="N",
                        help="grade against the key of variant N (as 'variant ID --seed N' and a class set's "
                             "sheets show it); an answer file can name its own with 'seed = N'")
    parser.add_argument("--answer", action="append", default=[], metavar="NAME=EXPR",
                        help="one answer, e.g. dl_dW2='relu(W1@x + b1) @ dl_dyhat @ dyhat_dz3' (repeatable; "
                             "an unknown NAME lists the problem's answer names)")
    parser.add_argument("--answers", metavar="FILE",
                        help="an answer file (JSON, YAML, or 'name = expression' lines); a .csv file grades "
                             "one student per row")
    parser.add_argument("--answers-dir", metavar="DIR", help="grade every answer file in DIR (one per student)")
    parser.add_argument("--weight", action="append", default=[], metavar="NAME=W",
                        help="weight of an answer in the score (default: the file's, else 1)")
    parser.add_argument("--tolerance", type=float, default=None, metavar="T",
                        help="relative tolerance for number answers (default 1e-7)")
    parser.add_argument("--format", choices=("text", "json", "csv"), default="text",
                        help="output format (csv: the batch table)")
    parser.add_argument("--out", metavar="FILE", help="write the output to FILE instead of the terminal")
    parser.add_argument("--chart", metavar="FILE",
                        help="for a class: also draw the per-question histogram of diagnoses (.png, .svg or .pdf)")


def run(args) -> int:
    from pathlib import Path

    from derivations.core import registry
    from derivations.core.errors import UserError
    from derivations.core.params import parse_settings
    from derivations.grade import answers as reading
    from derivations.grade.equivalence import NUMBER_TOLERANCE
    from derivations.grade.grader import Grader
    from derivations.variants import parse_seed

    problem = registry.load(args.id)
    weights = _weights(args.weight)
    seed = None if args.seed is None else parse_seed(args.seed)
    sources = [bool(args.answer), bool(args.answers), bool(args.answers_dir)]
    if sum(sources) != 1:
        raise UserError("give answers with --answer NAME=EXPR, --answers FILE or --answers-dir DIR (one of them)")
    batch = args.answers_dir or (args.answers and args.answers.endswith(".csv"))
    if args.chart and not batch:
        raise UserError("--chart draws a class's histogram: it goes with --answers-dir DIR or --answers FILE.csv")
    if args.chart and Path(args.chart).suffix.lower() not in CHART_SUFFIXES:
        raise UserError(f"--chart must end in {', '.join(CHART_SUFFIXES)}, got {args.chart[:60]!r}")
    if args.chart and not Path(args.chart).resolve().parent.is_dir():
        raise UserError(f"--chart: the folder {str(Path(args.chart).parent)[:80]} does not exist")
    if batch:
        submissions = reading.read_folder(args.answers_dir) if args.answers_dir else reading.read_csv(args.answers)
    else:
        given = reading.from_pairs(args.answer, weights) if args.answer else reading.read_file(args.answers)
        named = reading.pop_seed(given, args.answers or "--answer")
        if seed is not None and named is not None and named != seed:
            raise UserError(f"--seed {seed} and the answers' own seed {named} differ")
        seed = seed if named is None else named
        if not given:
            raise UserError("no answers given (a seed alone grades nothing)")
    grader = Grader(problem.id, parse_settings(problem, args.set),
                    NUMBER_TOLERANCE if args.tolerance is None else args.tolerance, seed)
    unknown = sorted(set(weights) - set(grader.answers))
    if unknown:
        raise UserError(f"--weight {unknown[0][:40]}: {problem.id} has no such answer "
                        f"(answers: {', '.join(grader.gradable())})"[:290])
    if batch:
        text = _batch(grader, submissions, weights, args.format, args.chart)
    else:
        given = {name: (t, weights.get(name, w)) for name, (t, w) in given.items()}
        text = _single(grader, grader.grade_all(given), args.format)
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
    else:
        print(text, end="")
    return 0


def _weights(items: list[str]) -> dict[str, float]:
    from derivations.core.errors import UserError

    out = {}
    for item in items:
        name, _, value = item.partition("=")
        try:
            out[name.strip()] = float(value)
        except ValueError:
            raise UserError(f"--weight expects NAME=W with W a number, got {item[:60]!r}") from None
        if not (0 <= out[name.strip()] <= 1000):
            raise UserError(f"--weight {name.strip()}: a weight must lie in [0, 1000]")
    return out


def _single(grader, report, fmt: str) -> str:
    import json

    if fmt == "json":
        return json.dumps(report.as_dict(), ensure_ascii=False, indent=1) + "\n"
    if fmt == "csv":
        from derivations.grade.batch import rows, to_csv

        return to_csv(rows([v.name for v in report.verdicts], [("answers", report)]))
    variant = "" if grader.seed is None else f" (variant, seed {grader.seed})"
    lines = [f"{grader.problem.id}{variant}: numbers to a relative tolerance of {grader.tolerance:.0e}"]
    for v in report.verdicts:
        lines.append(f"{v.name}: {v.status}, {v.credit:g} of 1 (weight {v.weight:g}) [{v.tag}]")
        lines.append(f"  {v.message}")
        if v.note:
            lines.append(f"  note: {v.note}")
    counts, total = report.counts(), len(report.verdicts)
    lines.append(f"score: {report.score:.2f} ({total} answer{'s' * (total != 1)}: {counts['correct']} correct, "
                 f"{counts['incorrect']} incorrect, {counts['invalid']} invalid)")
    return "\n".join(lines) + "\n"


def _batch(grader, submissions, weights, fmt: str, chart: str | None) -> str:
    import sys

    from derivations.grade.batch import grade_batch, histogram, histogram_text, plot_histogram, rows, to_csv, to_json

    questions, results = grade_batch(grader, submissions, weights)
    counts = histogram(questions, results)
    if chart:
        plot_histogram(counts, chart, f"{grader.problem.id}: diagnoses of {len(results)} students")
        if fmt != "text":  # keep the CSV or JSON on standard output clean
            print(f"wrote {chart}", file=sys.stderr)
    if fmt == "json":
        return to_json(grader.problem.id, questions, results, counts) + "\n"
    table = rows(questions, results)
    if fmt == "csv":
        return to_csv(table)
    scores = [r["score"] for r in table if r["score"] != ""]
    lines = [f"{grader.problem.id}: {len(results)} students, mean score "
             f"{(sum(scores) / len(scores) if scores else 0):.2f}"]
    lines += [f"{r['student']}: {r['score'] if r['score'] != '' else 'not graded: ' + r['error']}" for r in table]
    lines += ["", "diagnoses per question:", histogram_text(counts)]
    if chart:
        lines.append(f"wrote {chart}")
    return "\n".join(lines) + "\n"
