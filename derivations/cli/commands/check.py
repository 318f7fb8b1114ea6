"""``check``: run every numeric check and fail loudly on any mismatch."""

NAME = "check"
HELP = "Run the numeric checks of some or all problems; exit 1 if any fails."


def add_arguments(parser):
    parser.add_argument("ids", nargs="*", metavar="ID", help="problem ids or sheet names (default: all)")


def run(args) -> int:
    import shutil
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


def _cut(name: str, width: int) -> str:
    return name if len(name) <= width else name[: width - 1] + "…"
