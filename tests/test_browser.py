"""The browser check's plumbing (no browser here: `.ci/run` runs the real check, with its self-test
on planted notebooks, after pytest)."""

import importlib.util
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("browser_check", ROOT / "scripts" / "browser_check.py")
bc = importlib.util.module_from_spec(_spec)
sys.modules["browser_check"] = bc
_spec.loader.exec_module(bc)


def test_stripped_copy_leaves_nothing_stale(tmp_path):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# t"), nbformat.v4.new_code_cell("1 + 1")])
    nb.cells[1].outputs = [nbformat.v4.new_output("execute_result", {"text/plain": "2"}, execution_count=1)]
    nb.cells[1].execution_count = 1
    nb.cells[1].metadata["execution"] = {"iopub.execute_input": "2026-01-01T00:00:00Z"}
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {}}}
    src, dst = tmp_path / "a.ipynb", tmp_path / "b.ipynb"
    nbformat.write(nb, src)
    bc.stripped_copy(src, dst)
    out = nbformat.read(dst, as_version=4)
    assert out.cells[1].outputs == [] and out.cells[1].execution_count is None
    assert "execution" not in out.cells[1].metadata and "widgets" not in out.metadata
    assert out.cells[1].source == "1 + 1" and out.cells[0].source == "# t"
    assert nbformat.read(src, as_version=4).cells[1].outputs  # the original is untouched


def test_planted_notebooks_are_valid_and_judged(tmp_path):
    paths = bc.write_self_test(tmp_path)
    assert [p.name for p in paths] == list(bc.SELF_TEST)
    for p in paths:
        nbformat.validate(nbformat.read(p, as_version=4))
    good, bad = list(bc.SELF_TEST)
    want = bc.SELF_TEST[bad][1]
    exact = [{"notebook": good, "failures": []}, {"notebook": bad, "failures": [f"x: {w}" for w in want]}]
    assert bc.judge_self_test(exact) == []
    missed = [{"notebook": good, "failures": []}, {"notebook": bad, "failures": [f"x: {w}" for w in want[1:]]}]
    assert any("missed" in w for w in bc.judge_self_test(missed))
    alarm = [{"notebook": good, "failures": ["cell 1 raised"]}, exact[1]]
    assert any("false alarm" in w for w in bc.judge_self_test(alarm))


def test_ci_runs_the_browser_check_after_pytest():
    run = (ROOT / ".ci" / "run").read_text()
    assert run.index("pytest") < run.index("scripts/browser_check.py --self-test")
    assert "/usr/bin/chromium" == bc.CHROMIUM and "--no-sandbox" in bc.CHROMIUM_FLAGS
    assert "--disable-background-networking" in bc.CHROMIUM_FLAGS
