"""``check``: run every numeric check and fail loudly on any mismatch."""

NAME = "check"
HELP = "Run the numeric checks of some or all problems; exit 1 if any fails."


def add_arguments(parser):
    parser.add_argument("ids", nargs="*", metavar="ID", help="problem ids or sheet names (default: all)")
    parser.add_argument("--variants", metavar="N", help="check N seeded variants of each problem instead "
                                                        "(seeds S … S+N−1, each one `variant ID --seed` shows)")
    parser.add_argument("--seed", help="with --variants: the first seed S (default 0)")


def run(args) -> int:
    import shutil
    import time

    from derivations import problems
    from derivations.core import registry
    from derivations.core.errors import UserError

    ids = []
    for item in args.ids or registry.problem_ids():
        ids += [p.id for p in registry.load_sheet(item)] if item in problems.SHEETS else [registry.resolve(item)]
    if args.variants is None and args.seed is not None:
        raise UserError("--seed goes with --variants")
    if args.variants is not None:
        return _variants(ids, args)
    rows, failed = [], 0
    start = time.perf_counter()
    for problem_id in ids:
        for r in registry.load(problem_id).solve().run_checks():
            rows.append((problem_id, r.kind, r.name, f"{r.max_abs_error:.2e}", f"{r.tolerance:.0e}",
                         "pass" if r.passed else "FAIL"))
            failed += not r.passed
    header = ("problem", "of", "check", "max error", "tolerance", "result")
    widths = [max(len(str(row[i])) for row in rows + [header]) for i in range(len(header))]
    # the check names take what the terminal (or 100 columns in a pipe) leaves after the rest
    room = shutil.get_terminal_size((100, 24)).columns - (sum(widths) - widths[2] + 2 * (len(header) - 1))
    widths[2] = max(min(widths[2], room), len(header[2]))
    rows = [(*row[:2], _cut(row[2], widths[2]), *row[3:]) for row in rows]
    for row in [header] + rows:
        print("  ".join(str(cell).ljust(w) for cell, w in zip(row, widths)).rstrip())
    steps = sum(row[1] == "step" for row in rows)
    print(f"\n{len(rows) - failed} passed, {failed} failed ({len(rows) - steps} answer checks, {steps} step checks) "
          f"in {time.perf_counter() - start:.1f} s")
    return 1 if failed else 0


def _variants(ids, args) -> int:
    """One line per problem: its variants drawn, solved and checked over the seeds; a variant
    that cannot be drawn (every redraw failed) fails the problem. Problems that cannot vary are
    checked at their defaults and say so."""
    import time

    from derivations.core import registry
    from derivations.core.errors import UserError
    from derivations.variants import can_vary, draw, parse_count, parse_seed

    count, first = parse_count(args.variants), parse_seed(args.seed or "0")
    failed, start = 0, time.perf_counter()
    for problem_id in ids:
        problem = registry.load(problem_id)
        if not can_vary(problem):
            ok = all(r.passed for r in problem.solve().run_checks())
            print(f"{problem_id}: cannot vary ({problem.variation.fixed}); defaults {'pass' if ok else 'FAIL'}")
            failed += not ok
            continue
        checks, redraws, errors = 0, 0, []
        for seed in range(first, first + count):
            try:
                variant = draw(problem, seed)
            except UserError as exc:
                errors.append(str(exc))
                continue
            checks += len(variant.results)
            redraws += len(variant.redrawn)
        failed += bool(errors)
        print(f"{problem_id}: {count - len(errors)}/{count} variants pass ({checks} checks, {redraws} draws redrawn)"
              + "".join(f"\n  FAIL {e}" for e in errors))
    print(f"\n{len(ids) - failed} problems passed, {failed} failed, {count} variants each from seed {first}, "
          f"in {time.perf_counter() - start:.1f} s")
    return 1 if failed else 0


def _cut(name: str, width: int) -> str:
    return name if len(name) <= width else name[: width - 1] + "…"
