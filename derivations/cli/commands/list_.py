"""``list``: the catalogue."""

NAME = "list"
HELP = "List the problem catalogue: ids, titles, kinds and sheets."


def add_arguments(parser):
    parser.add_argument("--sheet", help="only this sheet (hw3, a1, hw1, midterm)")


def run(args) -> int:
    from derivations.core import registry

    problems = registry.load_sheet(args.sheet) if args.sheet else [registry.load(i) for i in registry.problem_ids()]
    width = max(len(p.id) for p in problems)
    for p in problems:
        print(f"{p.id:<{width}}  {p.title}  [{p.kind}]")
    return 0
