"""``python -m derivations template NAME --out DIR``: the files it writes and its user errors."""

from __future__ import annotations

import subprocess
import sys

from helpers import assert_user_error, cli


def test_a1_p1_writes_an_importable_p1_py_and_a_readme(tmp_path):
    run = cli("template", "a1/p1", "--out", str(tmp_path / "a1"))
    assert run.code == 0, run.err
    assert sorted(p.name for p in (tmp_path / "a1").iterdir()) == ["README-a1-p1.md", "p1.py"]
    assert "python p1.py" in (tmp_path / "a1" / "README-a1-p1.md").read_text()
    names = ("MLP Identity Sigmoid Tanh ReLU SoftmaxCrossEntropy random_normal_weight_init "
             "zeros_bias_init get_training_stats get_one_hot").split()
    check = f"import p1; missing = [n for n in {names!r} if not hasattr(p1, n)]; print(missing)"
    result = subprocess.run([sys.executable, "-c", check], cwd=tmp_path / "a1",
                            capture_output=True, text=True, timeout=60)
    assert result.stdout.strip() == "[]", result.stderr


def test_hw1_impl_writes_mlp_py_and_a_readme(tmp_path):
    run = cli("template", "hw1/impl", "--out", str(tmp_path))
    assert run.code == 0, run.err
    assert run.out == f"wrote {tmp_path / 'mlp.py'}, {tmp_path / 'README-hw1-impl.md'}\n"
    assert "from derivations.backend.templates.hw1_mlp import *" in (tmp_path / "mlp.py").read_text()
    assert "tensor(True)" in (tmp_path / "README-hw1-impl.md").read_text()


def test_both_templates_share_a_folder(tmp_path):
    assert cli("template", "a1/p1", "--out", str(tmp_path)).code == 0
    run = cli("template", "hw1/impl", "--out", str(tmp_path))
    assert run.code == 0, run.err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["README-a1-p1.md", "README-hw1-impl.md",
                                                         "mlp.py", "p1.py"]


def test_unknown_template_suggests_the_valid_ones(tmp_path):
    assert_user_error(cli("template", "hw1/p1", "--out", str(tmp_path)),
                      "unknown template 'hw1/p1'", "a1/p1", "hw1/impl")


def test_existing_files_need_force_and_out_must_be_a_folder(tmp_path):
    (tmp_path / "mlp.py").write_text("# mine\n")
    assert_user_error(cli("template", "hw1/impl", "--out", str(tmp_path)), "mlp.py exists", "--force")
    assert (tmp_path / "mlp.py").read_text() == "# mine\n"
    assert cli("template", "hw1/impl", "--out", str(tmp_path), "--force").code == 0
    assert "hw1_mlp" in (tmp_path / "mlp.py").read_text()
    assert_user_error(cli("template", "a1/p1", "--out", str(tmp_path / "mlp.py")), "is not a folder")
