"""``variant``: one seeded version of a problem (fresh numbers, shapes, functions) and its checked key."""

NAME = "variant"
HELP = "A seeded variant of a problem: the restated question with its values, and its checked key."


def add_arguments(parser):
    parser.add_argument("id", help="problem id such as hw1/problem2")
    parser.add_argument("--seed", required=True, help="a whole number; the same seed always gives the same variant")
    parser.add_argument("--format", choices=("text", "latex", "markdown", "json"), default="text")


def run(args) -> int:
    import json

    from derivations.core import registry
    from derivations.variants import draw, parse_seed

    seed = parse_seed(args.seed)
    variant = draw(registry.load(registry.resolve(args.id)), seed)
    if args.format == "json":
        print(json.dumps({"id": variant.problem.id, "seed": seed, "redraws": len(variant.redrawn),
                          "statement": variant.statement(),
                          "values": {name: text for name, text, _ in variant.shown_values()},
                          "key": variant.key_dict()}, indent=2, ensure_ascii=False))
    elif args.format == "latex":
        from derivations.render.sheet import document, problem_fragment, question_fragment
        print(document(f"{variant.problem.id}, variant {seed}",
                       [question_fragment(variant), problem_fragment(variant.solution, variant.results,
                                                                     numbers=variant.numbers())],
                       contents=False))
    elif args.format == "markdown":
        from derivations.render.markdown import solution_markdown
        print(_question_text(variant, "## ", "- ") + "\n\n## Key\n\n"
              + solution_markdown(variant.solution, variant.results, variant.numbers()))
    else:
        from derivations.render.text import solution_text
        print(_question_text(variant, "", "  ") + "\n\nKey\n===\n\n"
              + solution_text(variant.solution, variant.results, variant.numbers()))
    return 0


def _question_text(variant, heading: str, bullet: str) -> str:
    """The question as text or Markdown: statement, then the values of this version."""
    problem = variant.problem
    lines = [f"{heading}{problem.id} — {problem.title} (variant, seed {variant.seed})", "", variant.statement(), "",
             "Values of this version:"]
    lines += [f"{bullet}{name} = {text}  ({what})" for name, text, what in variant.shown_values()]
    if variant.redrawn:
        lines += ["", f"({len(variant.redrawn)} degenerate or failing draw{'s' * (len(variant.redrawn) != 1)} redrawn)"]
    return "\n".join(lines)
