"""Graph files and answer sheets, through the real renderers and through their fallbacks."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import require_program

from derivations import problems
from derivations.core import registry
from helpers import assert_user_error, cli, cli_in_process


def python_only_path(tmp_path: Path) -> str:
    """A PATH holding only this Python: no `dot`, no TeX, as on a bare machine."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "python").symlink_to(sys.executable)
    return str(bindir)


def test_graph_dot_source_names_nodes_and_local_derivatives(tmp_path):
    run = cli("graph", "hw3/problem2", "--out", str(tmp_path / "g.dot"))
    assert run.code == 0, run.err
    source = (tmp_path / "g.dot").read_text()
    for label in ("y = σ(h)", "z = x²", "h = mul₁ + 1", "∂y/∂h = (1 - σ(h))·σ(h)", "∂z/∂x = 2·x"):
        assert label in source


def test_graph_svg_with_dot(tmp_path):
    require_program("dot")
    run = cli("graph", "hw3/problem2", "--out", str(tmp_path / "g.svg"), "--renderer", "dot")
    assert run.code == 0, run.err
    assert "<svg" in (tmp_path / "g.svg").read_text()


def test_graph_svg_without_dot_uses_webassembly(tmp_path):
    run = cli("graph", "hw3/problem2", "--out", str(tmp_path / "g.svg"), env={"PATH": python_only_path(tmp_path)})
    assert run.code == 0, run.err
    svg = (tmp_path / "g.svg").read_text()
    assert "<svg" in svg and "σ(h)" in svg


def test_png_without_dot_names_the_package_and_keeps_the_dot_file(tmp_path):
    run = cli("graph", "hw3/problem2", "--out", str(tmp_path / "g.png"), env={"PATH": python_only_path(tmp_path)})
    assert_user_error(run, "apt-get install graphviz")
    assert (tmp_path / "g.dot").exists()


def test_graph_of_a_problem_without_one_is_a_user_error():
    assert_user_error(cli("graph", "hw3/problem3"), "has no computational graph")


@pytest.mark.parametrize("sheet", problems.SHEETS)
def test_every_sheet_compiles_to_pdf_with_tex(tmp_path, sheet):
    require_program("pdflatex")
    require_program("dot")
    run = cli("sheet", sheet, "--out", str(tmp_path), "--pdf")
    assert run.code == 0, run.out + run.err
    assert (tmp_path / f"{sheet}.pdf").read_bytes().startswith(b"%PDF")
    tex = (tmp_path / f"{sheet}.tex").read_text()
    assert r"\boxed" in tex and tex.isascii()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["figures", f"{sheet}.pdf", f"{sheet}.tex"])
    ids = [pid for pid in registry.problem_ids() if pid.startswith(sheet + "/")]
    assert [line.split(":")[0] for line in tex.splitlines() if line.startswith(r"\section*{")] == [rf"\section*{{{pid}" for pid in ids]
    graphs = [pid for pid in ids if registry.load(pid).solve().graphs]
    assert tex.count(r"\includegraphics") == len(graphs)


def test_sheet_without_tex_keeps_the_tex_and_names_the_packages(tmp_path):
    run = cli("sheet", "hw3", "--out", str(tmp_path), "--pdf", env={"PATH": python_only_path(tmp_path)})
    assert_user_error(run, "no TeX engine", "texlive-latex-base")
    assert (tmp_path / "hw3.tex").exists()
    assert list((tmp_path / "figures").glob("*.svg")), "graphs fall back to SVG without dot"


def test_sheet_names_the_problems_it_poses_that_the_catalogue_lacks(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(problems.SHEET_PROBLEMS, "hw3", (*problems.SHEET_PROBLEMS["hw3"], "problem99"))
    run = cli_in_process(capsys, "sheet", "hw3", "--out", str(tmp_path))
    assert run.code == 0 and "hw3/problem99, not in the catalogue yet" in run.out


def test_every_posed_problem_is_in_the_catalogue():
    assert [pid for sheet in problems.SHEETS for pid in registry.missing_from_sheet(sheet)] == []
    assert len(registry.problem_ids()) == 18


def test_unknown_sheet_is_a_user_error(tmp_path):
    assert_user_error(cli("sheet", "hw33", "--out", str(tmp_path)), "unknown sheet", "hw3")


def test_wasm_renderer_says_it_writes_svg_only(tmp_path):
    run = cli("graph", "hw3/problem2", "--out", str(tmp_path / "g.png"), "--renderer", "wasm")
    assert_user_error(run, "wasm renderer writes SVG only")


def test_unwritable_outputs_are_user_errors(tmp_path):
    assert_user_error(cli("graph", "hw3/problem2", "--out", "/proc/nope/g.svg"), "/proc/nope")
    (tmp_path / "a_file").write_text("")
    assert_user_error(cli("sheet", "hw3", "--out", str(tmp_path / "a_file")), "Not a directory")


def test_solve_latex_standalone_compiles(tmp_path):
    require_program("pdflatex")
    run = cli("solve", "hw3/problem3", "--format", "latex", "--standalone")
    assert run.code == 0 and run.out.startswith(r"\documentclass")
    (tmp_path / "p.tex").write_text(run.out)
    result = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "p.tex"], cwd=tmp_path,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-2000:]
    assert_user_error(cli("solve", "hw3/problem3", "--standalone"), "--format latex")


def test_markdown_carries_the_parameters():
    run = cli("solve", "hw3/problem2", "--format", "markdown")
    assert "**Parameters:** `x0 = 1/2`" in run.out
