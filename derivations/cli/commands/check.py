"""``check``: run every numeric check and fail loudly on any mismatch."""

NAME = "check"
HELP = "Run the numeric checks of some or all problems; exit 1 if any fails."


def add_arguments(parser):
    parser.add_argument("ids", nargs="*", metavar="ID", help="problem ids or sheet names (default: all)")


def run(args) -> int:
    import time

    from derivations import problems
    from derivations.core import registry

    ids = []
    for item in args.ids or registry.problem_ids():
        ids += [p.id for p in registry.load_sheet(item)] if item in problems.SHEETS else [registry.resolve(item)]
    rows, failed = [], 0
    start = time.perf_counter()
    for problem_id in ids:
        for r in registry.load(problem_id).solve().run_checks():
            rows.append((problem_id, r.kind, _cut(r.name), f"{r.max_abs_error:.2e}", f"{r.tolerance:.0e}",
                         "pass" if r.passed else "FAIL"))
            failed += not r.passed
    header = ("problem", "of", "check", "max error", "tolerance", "result")
    widths = [max(len(str(row[i])) for row in rows + [header]) for i in range(len(header))]
    for row in [header] + rows:
        print("  ".join(str(cell).ljust(w) for cell, w in zip(row, widths)).rstrip())
    steps = sum(row[1] == "step" for row in rows)
    print(f"\n{len(rows) - failed} passed, {failed} failed ({len(rows) - steps} answer checks, {steps} step checks) "
          f"in {time.perf_counter() - start:.1f} s")
    return 1 if failed else 0


def _cut(name: str, width: int = 72) -> str:
    return name if len(name) <= width else name[: width - 1] + "…"
