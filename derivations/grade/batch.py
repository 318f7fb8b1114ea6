"""Grading a class: one row per student (score, each answer's status, diagnosis and note) and a
per-question histogram of diagnoses. Answers that several students share are graded once."""

from __future__ import annotations

import csv
import io
import itertools
import json
from collections import Counter

from derivations.core.errors import UserError
from derivations.grade.answers import SEED, pop_seed
from derivations.grade.grader import Grader, Report, Verdict


def grade_batch(grader: Grader, submissions: list, weights: dict[str, float] | None = None):
    """``[(student, answers or UserError)]`` -> ``(questions, [(student, Report or UserError)])``.
    The questions are every answer name any student gave, in the solution's order; a question a
    student left out is graded "missing" (no credit). A submission that names a ``seed`` is
    graded against that variant's key."""
    given = {name for _, answers in submissions if isinstance(answers, dict) for name in answers} - {SEED}
    order = list(grader.answers)
    questions = sorted(given, key=lambda n: (order.index(n) if n in order else len(order), n))
    results = []
    for student, answers in submissions:
        if isinstance(answers, dict):
            answers = dict(answers)
            try:
                seeded = grader.for_seed(pop_seed(answers, student))
            except UserError as exc:
                answers = exc
        if isinstance(answers, UserError):
            results.append((student, answers))
            continue
        report = Report(grader.problem.id, seed=seeded.seed)
        for name in questions:
            weight = answers[name][1] if name in answers else 1.0
            weight = (weights or {}).get(name, weight)
            if name in answers:
                report.verdicts.append(seeded.grade(name, answers[name][0], weight))
            else:
                report.verdicts.append(Verdict(name, "missing", 0.0, "missing", "No answer given.", "missing",
                                               weight=weight))
        results.append((student, report))
    return questions, results


def rows(questions, results) -> list[dict]:
    """The table: a row per student with the score (and the seed graded against, when any
    submission named one) and, per question, status, credit, diagnosis, note."""
    seeds = [report.seed if isinstance(report, Report) and report.seed is not None else "" for _, report in results]
    out = []
    for (student, report), seed in zip(results, seeds):
        row = {"student": student, **({"seed": seed} if any(s != "" for s in seeds) else {})}
        if isinstance(report, UserError):
            row.update({"score": "", "error": str(report)})
        else:
            row.update({"score": round(report.score, 4), "error": ""})
            for verdict in report.verdicts:
                row.update({f"{verdict.name}:status": verdict.status, f"{verdict.name}:credit": verdict.credit,
                            f"{verdict.name}:diagnosis": verdict.tag, f"{verdict.name}:note": verdict.note})
        out.append(row)
    return out


def histogram(questions, results) -> dict[str, Counter]:
    """question -> Counter of diagnosis tags over the class."""
    counts = {q: Counter() for q in questions}
    for _, report in results:
        if isinstance(report, Report):
            for verdict in report.verdicts:
                counts[verdict.name][verdict.tag] += 1
    return counts


def histogram_text(counts: dict[str, Counter]) -> str:
    """The histogram as a text table: a row per question, a column per diagnosis seen."""
    tags = sorted({t for c in counts.values() for t in c}, key=_tag_order)
    header = ["question", *tags]
    table = [[q, *(str(c.get(t, 0)) for t in tags)] for q, c in counts.items()]
    widths = [max(len(r[i]) for r in [header] + table) for i in range(len(header))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(r, widths)).rstrip() for r in [header] + table)


def _tag_order(tag: str):
    from derivations.grade.diagnoses import RULES

    fixed = ["exact", "equivalent-form", *(r.tag for r in RULES), "no-diagnosis", "not-evaluable", "invalid", "missing"]
    return (fixed.index(tag) if tag in fixed else len(fixed), tag)


def to_csv(table: list[dict]) -> str:
    fields = list(dict.fromkeys(k for row in table for k in row))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=fields)
    writer.writeheader()
    writer.writerows(table)
    return buffer.getvalue()


def to_json(problem: str, questions, results, counts) -> str:
    return json.dumps({"problem": problem, "questions": questions,
                       "students": [{"student": s, **({"error": str(r)} if isinstance(r, UserError) else r.as_dict())}
                                    for s, r in results],
                       "histogram": {q: dict(c) for q, c in counts.items()}}, ensure_ascii=False, indent=1)


#: bar colours by status: correct answers green, diagnosed mistakes warm, the rest grey
_COLOURS = {"exact": "#1a9850", "equivalent-form": "#91cf60", "no-diagnosis": "#d73027", "not-evaluable": "#f46d43",
            "invalid": "#969696", "missing": "#d9d9d9"}
_MISTAKE_COLOURS = ["#fdae61", "#fee08b", "#abd9e9", "#74add1", "#4575b4", "#8073ac", "#b2abd2", "#e08214", "#c51b7d"]


def plot_histogram(counts: dict[str, Counter], path, title: str):
    """The per-question histogram as a chart: one stacked horizontal bar per question, a segment
    per diagnosis (how many students got it), correct answers first."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tags = sorted({t for c in counts.values() for t in c}, key=_tag_order)
    mistakes = itertools.cycle(_MISTAKE_COLOURS)
    colours = {t: _COLOURS.get(t) or next(mistakes) for t in tags}
    questions = list(counts)[::-1]        # the first question on top
    fig, ax = plt.subplots(figsize=(9, 1.2 + 0.45 * len(questions)))
    left = [0] * len(questions)
    for tag in tags:
        widths = [counts[q].get(tag, 0) for q in questions]
        bars = ax.barh(questions, widths, left=left, color=colours[tag], edgecolor="white", label=tag)
        ax.bar_label(bars, labels=[str(w) if w else "" for w in widths], label_type="center", fontsize=8)
        left = [a + b for a, b in zip(left, widths)]
    ax.set(xlabel="students", title=title)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=8, frameon=False)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
