"""The engine from Python: ``derivations.solve("hw3/problem2", x0="1/3")``, and
``derivations.derive("h = 2*x + 1; y = sigmoid(h)")`` (see :mod:`derivations.derive`).

A :class:`Worked` solution holds the solution and its check results and shows itself in
every form the CLI prints; in Jupyter it displays as Markdown with LaTeX and its graph
inline as SVG. Settings are given as text (parsed exactly, as ``--set`` does) or as numbers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from derivations.core import registry
from derivations.core.errors import UserError
from derivations.core.model import CheckResult, Solution
from derivations.core.params import parse_settings, parse_values_json


def solve(problem_id: str, **settings: Any) -> "Worked":
    """Solve a catalogue problem with its checks run; ``settings`` override its parameters."""
    problem = registry.load(registry.resolve(problem_id))
    overrides = parse_settings(problem, [f"{name}={value}" for name, value in settings.items()])
    solution = problem.solve(overrides)
    return Worked(solution, solution.run_checks())


@dataclass
class Worked:
    """A solved problem and its check results."""

    solution: Solution
    results: list[CheckResult]
    _svg: dict[str, str] = field(default_factory=dict, repr=False)

    @property
    def passed(self) -> bool:
        return all(r.passed for r in self.results)

    @property
    def answers(self) -> dict[str, Any]:
        """Answer name -> value (a SymPy expression, number or list)."""
        return self.solution.answer_values()

    def at(self, values: dict[str, Any]) -> dict[str, Any]:
        """Every formula answer evaluated at ``values`` (as ``solve --values``)."""
        return {a["name"]: a["value"] for a in self.json(values)["answers"]}

    def text(self, values: dict[str, Any] | None = None) -> str:
        """The terminal form; with ``values``, each formula answer also at those numbers."""
        from derivations.render.text import solution_text
        return solution_text(self.solution, self.results, self._numbers(values))

    def markdown(self, values: dict[str, Any] | None = None) -> str:
        from derivations.render.markdown import solution_markdown
        return solution_markdown(self.solution, self.results, self._numbers(values))

    def latex(self, standalone: bool = False, values: dict[str, Any] | None = None) -> str:
        from derivations.render.sheet import document, problem_fragment
        fragment = problem_fragment(self.solution, self.results, numbers=self._numbers(values))
        problem = self.solution.problem
        return document(f"{problem.id}: {problem.title}", [fragment]) if standalone else fragment

    def _numbers(self, values: dict[str, Any] | None) -> dict | None:
        """The formula answers at ``values`` for the renderers (None without values)."""
        if not values:
            return None
        from derivations.render.report import answer_numbers
        return answer_numbers(self.solution, self.json(values))

    @staticmethod
    def _checked(values: dict[str, Any]) -> dict:
        """Numbers, lists or arrays, checked and shaped as --values would be."""
        import json
        return parse_values_json(json.dumps({k: getattr(v, "tolist", lambda: v)() for k, v in values.items()}))

    def json(self, values: dict[str, Any] | None = None) -> dict:
        """The ``solve --format json`` contract; with ``values``, formula answers at those numbers."""
        from derivations.render.report import solution_dict
        return solution_dict(self.solution, self.results, None if values is None else self._checked(values))

    def graph_svg(self, name: str = "graph") -> str:
        """The named computational graph as SVG (``dot`` when installed, else WebAssembly)."""
        if name not in self._svg:
            import tempfile

            from derivations.render.graphviz import to_dot, write_graph

            if name not in self.solution.graphs:
                raise KeyError(f"{self.solution.problem.id} has no graph {name!r} "
                               f"(graphs: {', '.join(self.solution.graphs) or 'none'})")
            with tempfile.TemporaryDirectory() as folder:
                out = write_graph(to_dot(self.solution.graphs[name]), Path(folder) / "graph.svg")
                self._svg[name] = out.read_text(encoding="utf-8")
        return self._svg[name]

    def __str__(self) -> str:
        return self.text()

    def _repr_markdown_(self) -> str:
        """The Markdown with the graph inline as an image: Jupyter shows one format of a result
        (Markdown over SVG), so the graph travels inside it."""
        text = self.markdown()
        if "graph" in self.solution.graphs:
            import base64

            try:
                svg = self.graph_svg()
            except (UserError, OSError):  # no renderer: the solution still shows, without its picture
                return text
            text += f"\n\n![computational graph](data:image/svg+xml;base64,{base64.b64encode(svg.encode()).decode()})\n"
        return text

    def _repr_svg_(self) -> str | None:
        return self.graph_svg() if "graph" in self.solution.graphs else None
