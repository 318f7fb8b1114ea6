"""The Python API: derivations.solve and what a Worked solution shows."""

import pytest
import sympy

import derivations
from derivations.core.errors import UserError


def test_solve_returns_checked_answers_and_every_form():
    worked = derivations.solve("midterm/problem5")
    assert worked.passed and set(worked.answers) >= {"dL_dg", "dL_dv"}
    assert worked.text().startswith("midterm/problem5")
    assert worked.json()["id"] == "midterm/problem5"
    assert worked.latex().startswith(r"\section*{midterm/problem5")
    assert worked._repr_svg_() is None  # no graph to draw
    assert worked.at({"v": [3, 4], "g": 2, "dL_dw": [1, 0]})["dL_dg"][0][0] == pytest.approx(0.6, abs=1e-15)


def test_settings_are_parsed_and_checked_as_on_the_command_line():
    assert derivations.solve("hw3/problem2", x0="-1/2").answers["dy_dx_at_x0"] == sympy.Rational(1, 2)
    with pytest.raises(UserError, match="exponent"):
        derivations.solve("hw3/problem2", x0="9^9^9")
    with pytest.raises(UserError, match="no parameter"):
        derivations.solve("hw3/problem2", nope=1)


def test_graph_svg_names_the_graphs_it_has():
    worked = derivations.solve("hw3/problem2")
    assert "<svg" in worked.graph_svg()
    with pytest.raises(KeyError, match="graphs: graph"):
        worked.graph_svg("other")


def test_jupyter_shows_the_markdown_with_the_graph_inside():
    """Jupyter renders one format of a result: the Markdown carries the graph as an SVG image."""
    import base64
    import re

    with_graph, without = derivations.solve("hw3/problem2"), derivations.solve("midterm/problem5")
    found = re.search(r"!\[computational graph\]\(data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)\)",
                      with_graph._repr_markdown_())
    assert found and base64.b64decode(found.group(1)).decode("utf-8") == with_graph.graph_svg()
    assert with_graph._repr_markdown_().startswith(with_graph.markdown())
    assert "data:image" not in without._repr_markdown_()


def test_without_a_graph_renderer_the_markdown_still_shows(monkeypatch):
    worked = derivations.solve("hw3/problem2")

    def no_renderer(self, name="graph"):
        raise UserError("no Graphviz renderer")

    monkeypatch.setattr(type(worked), "graph_svg", no_renderer)
    assert worked._repr_markdown_() == worked.markdown()
