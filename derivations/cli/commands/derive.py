"""``derive``: derivatives through equations the user writes, by the graph's path sums, each checked."""

NAME = "derive"
HELP = ("Differentiate through your own equations: the graph, every derivative by its path sum, the "
        "cached values, each derivative checked numerically.")


def add_arguments(parser):
    parser.add_argument("equations", nargs="?",
                        help='equations separated by ; or new lines, such as "h = 2*x + 1; y = sigmoid(h)", and shape '
                             'declarations such as "W: 3x2" (W.T or W^T is its transpose); - reads them from standard '
                             "input")
    parser.add_argument("--file", help="read the equations from this file instead")
    parser.add_argument("--of", metavar="NAMES", help="what to differentiate, comma-separated (default: every variable "
                                                      "that nothing else uses)")
    parser.add_argument("--wrt", metavar="NAMES", help="with respect to what, comma-separated (default: the inputs)")
    parser.add_argument("--shapes", metavar="DECLARATIONS",
                        help='matrix shapes, such as "W: 3x2, x: 2x1" (one size is a column, 1x1 a number); '
                             "without any, every name is a number")
    parser.add_argument("--at", "--values", dest="at", metavar="JSON",
                        help='evaluate every answer at these numbers, e.g. \'{"x": 0.5}\' (a flat list fills a '
                             "column, a number may be written [[0.5]]); @FILE reads them from a file, - from standard "
                             "input")
    parser.add_argument("--graph", metavar="FILE", help="write the computational graph (.dot, .svg, .png or .pdf)")
    parser.add_argument("--format", choices=("text", "latex", "markdown", "json"), default="text",
                        help="text for the terminal (default), latex or markdown for a document, json for the answers "
                             "and checks as solve --format json gives them")
    parser.add_argument("--standalone", action="store_true",
                        help="with --format latex: a complete document that pdflatex compiles, not a fragment")


def run(args) -> int:
    import json
    import sys
    from pathlib import Path

    from derivations.core.errors import UserError
    from derivations.derive import derive, values_at

    if args.standalone and args.format != "latex":
        raise UserError("--standalone goes with --format latex")
    if args.equations == "-" and args.at == "-":
        raise UserError("the equations and --at cannot both come from standard input")
    values = _values(args.at) if args.at is not None else None
    worked = derive(_equations(args), of=args.of, wrt=args.wrt, shapes=args.shapes)
    if values is not None:
        values = values_at(worked.solution.inputs, values)
    written = None
    if args.graph:
        from derivations.render.graphviz import to_dot, write_graph

        written = write_graph(to_dot(worked.solution.graphs["graph"], worked.solution.problem.title), Path(args.graph))
    if args.format == "json":
        print(json.dumps(worked.json(values), indent=2))
    elif args.format == "latex":
        print(worked.latex(standalone=args.standalone, values=values))
    elif args.format == "markdown":
        print(worked.markdown(values))
    else:
        print(worked.text(values))
    if written:
        print(f"wrote {written}", file=sys.stdout if args.format == "text" else sys.stderr)
    return 0 if worked.passed else 1


def _values(argument: str) -> dict:
    """The ``--at`` numbers, read as ``solve`` reads its ``--values``: the reader's messages
    name that flag, so they are given the name derive documents."""
    from derivations.core.errors import UserError
    from derivations.core.params import parse_values_json, read_values_argument

    try:
        return parse_values_json(read_values_argument(argument))
    except UserError as exc:
        raise UserError(str(exc).replace("--values", "--at")) from None


def _equations(args) -> str:
    """The equations from the argument, ``-`` (standard input) or ``--file``, read only up to
    the length ``derive`` takes."""
    import sys
    from pathlib import Path

    from derivations.core.errors import UserError
    from derivations.core.parsing import echo
    from derivations.derive import MAX_TEXT

    if (args.equations is None) == (args.file is None):
        raise UserError("give the equations either as an argument (- for standard input) or with --file")
    if args.equations == "-":
        return sys.stdin.read(MAX_TEXT + 1)
    if args.equations is not None:
        return args.equations
    path = Path(args.file)
    if not path.is_file():
        raise UserError(f"--file: no such file {echo(args.file)}")
    if path.stat().st_size > 4 * MAX_TEXT:  # bytes: a character takes up to four
        raise UserError(f"--file: {echo(args.file)} is longer than {MAX_TEXT} characters")
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"--file: cannot read {echo(args.file)}: {exc.__class__.__name__}") from None
