"""``solve``: one problem's worked solution, in text, LaTeX, Markdown or JSON."""

NAME = "solve"
HELP = "Solve a problem: restated question, assumptions, steps, answers and numeric checks."


def add_arguments(parser):
    parser.add_argument("id", help="problem id such as hw3/problem2, or a bare name such as problem3 "
                                   "(resolves to the first sheet that has it: hw3, a1, hw1, midterm)")
    parser.add_argument("--set", metavar="NAME=VALUE", action="append", default=[],
                        help="override a parameter (repeatable); `solve ID` lists the parameters")
    parser.add_argument("--values", metavar="JSON",
                        help='evaluate every formula answer at these numbers, e.g. \'{"x": 0.5, "W1": [[1, 2]]}\'; '
                             '@FILE reads them from a file, - from standard input')
    parser.add_argument("--format", choices=("text", "latex", "markdown", "json"), default="text")
    parser.add_argument("--standalone", action="store_true",
                        help="with --format latex: a complete document that pdflatex compiles, not a fragment")


def run(args) -> int:
    import json
    import sys

    from derivations.core import registry
    from derivations.core.errors import UserError
    from derivations.core.params import parse_settings, parse_values_json, read_values_argument

    if args.standalone and args.format != "latex":
        raise UserError("--standalone goes with --format latex")
    problem_id = registry.resolve(args.id)
    if "/" not in args.id.strip("/"):
        others = registry.others_with_name(problem_id)
        if others and args.format == "text":
            print(f"({args.id} is {problem_id}; also: {', '.join(others)})", file=sys.stderr)
    problem = registry.load(problem_id)
    overrides = parse_settings(problem, args.set)
    values = parse_values_json(read_values_argument(args.values)) if args.values is not None else None
    solution = problem.solve(overrides)
    results = solution.run_checks()
    data = numbers = None
    if args.format == "json" or values:  # imported only then: it pulls in the NumPy evaluation of formulas
        from derivations.render.report import answer_numbers, solution_dict
        data = solution_dict(solution, results, values)
        numbers = answer_numbers(solution, data) if values else None
    if args.format == "json":
        print(json.dumps(data, indent=2))
    elif args.format == "latex":
        from derivations.render.sheet import document, problem_fragment
        fragment = problem_fragment(solution, results, numbers=numbers)
        print(document(f"{problem.id}: {problem.title}", [fragment]) if args.standalone else fragment)
    elif args.format == "markdown":
        from derivations.render.markdown import solution_markdown
        print(solution_markdown(solution, results, numbers))
    else:
        from derivations.render.text import solution_text
        print(solution_text(solution, results, numbers))
    return 0 if all(r.passed for r in results) else 1
