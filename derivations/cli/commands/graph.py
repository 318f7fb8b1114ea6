"""``graph``: draw a problem's computational graph with local derivatives on its edges."""

NAME = "graph"
HELP = "Draw a problem's computational graph (.dot, .svg, .png or .pdf)."


def add_arguments(parser):
    parser.add_argument("id", help="problem id, e.g. hw3/problem2")
    parser.add_argument("--out", default=None, help="output file; its suffix picks the format (default: print DOT)")
    parser.add_argument("--set", metavar="NAME=VALUE", action="append", default=[], help="override a parameter")
    parser.add_argument("--renderer", choices=("auto", "dot", "wasm"), default="auto",
                        help="auto: the `dot` program when installed, else WebAssembly Graphviz (SVG only)")


def run(args) -> int:
    from pathlib import Path

    from derivations.core import registry
    from derivations.core.errors import UserError
    from derivations.core.params import parse_settings
    from derivations.render.graphviz import to_dot, write_graph

    problem = registry.load(args.id)
    solution = problem.solve(parse_settings(problem, args.set))
    if not solution.graphs:
        with_graphs = [i for i in registry.problem_ids() if registry.load(i).solve().graphs]
        raise UserError(f"{problem.id} has no computational graph (problems with one: {', '.join(with_graphs)})")
    for name, cg in solution.graphs.items():
        source = to_dot(cg, f"{problem.id}: {problem.title}")
        if args.out is None:
            print(source)
        else:
            out = Path(args.out)
            if len(solution.graphs) > 1:
                out = out.with_name(f"{out.stem}-{name}{out.suffix}")
            print(f"wrote {write_graph(source, out, args.renderer)}")
    return 0
