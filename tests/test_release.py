"""The student release (loopvalley.release): every notebook loses its solutions, worked answers and
answers and keeps every stub, hint and checker; no released code cell shows a reference; the command
line parser is wired; scripts/check_student_release.py tells a clean exercise cell from a leaky one."""

import argparse
import importlib.util
import json
import re
from pathlib import Path

import nbformat
import pytest

from loopvalley.release import (
    ReleaseError,
    add_release_parser,
    read_notebook,
    release_notebook,
    strip_markdown,
    student_release,
)

ROOT = Path(__file__).resolve().parents[1]
SOURCES = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.py"))
STUB = re.compile(r"^def (\w+)\(.*\):\n(?:    #.*\n)*    raise NotImplementedError", re.M)


@pytest.fixture(scope="module")
def released(tmp_path_factory):
    out = tmp_path_factory.mktemp("release")
    paths = student_release(out)
    return {p.stem: json.loads(p.read_text()) for p in paths}


def _cells(nb, kind):
    return ["".join(c["source"]) if isinstance(c["source"], list) else c["source"]
            for c in nb["cells"] if c["cell_type"] == kind]


def test_the_release_has_every_chapter(released):
    assert sorted(released) == [p.stem for p in SOURCES]


@pytest.mark.parametrize("src", SOURCES, ids=lambda p: p.stem)
def test_a_released_notebook_has_no_solution_and_keeps_every_stub(src, released):
    nb = released[src.stem]
    markdown, code = "\n".join(_cells(nb, "markdown")), "\n".join(_cells(nb, "code"))
    for summary in ("Solution", "Worked answer", "Answer", "Answers"):
        assert f"<summary>{summary}</summary>" not in markdown, f"{src.stem}: a {summary} block is left"
    assert not re.search(r"\b\w+_reference\b", code), f"{src.stem}: a code cell uses a reference implementation"
    original = read_notebook(src)
    orig_code = "\n".join(_cells(original, "code"))
    assert STUB.findall(code) == STUB.findall(orig_code), "every stub stays, in order"
    for name in STUB.findall(orig_code):
        assert re.search(rf"^{name} = check_{name}\({name}\)", code, re.M), f"{name}: its checker call is gone"
    orig_md = "\n".join(_cells(original, "markdown"))
    assert markdown.count("<summary>Hint</summary>") == orig_md.count("<summary>Hint</summary>"), "hints stay"
    assert all(not c.get("outputs") for c in nb["cells"] if c["cell_type"] == "code"), "outputs are cleared"
    for heading in re.findall(r"^### (?:Exercise|Derivation) [\d.]+ — .*$", orig_md, re.M):
        assert heading in markdown, f"{heading!r} is gone"
    nbformat.validate(nbformat.from_dict(nb))  # a valid notebook Jupyter opens


def test_strip_markdown_removes_only_the_hidden_blocks():
    text = ("Predict first.\n\n<details><summary>Hint</summary>\n\nan idea\n</details>\n\n"
            "<details><summary>Solution</summary>\n\n```python\nx = 1\n```\n</details>\n\n"
            "Between.\n\n<details><summary>Worked answer</summary>\nproof\n</details>\n"
            "<details><summary>Answers</summary>\n- a\n</details>\n\nAfter.")
    out = strip_markdown(text)
    assert "Hint" in out and "an idea" in out and "Between." in out and "After." in out
    assert "x = 1" not in out and "proof" not in out and "- a" not in out
    assert "\n\n\n" not in out


def _nb(*cells):
    return {"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": list(cells)}


def _md(src):
    return {"cell_type": "markdown", "metadata": {}, "source": src}


def _code(src, tags=()):
    return {"cell_type": "code", "metadata": {"tags": list(tags)}, "source": src, "outputs": [{"x": 1}],
            "execution_count": 3}


def test_release_refuses_a_reference_in_a_code_cell():
    with pytest.raises(ReleaseError, match="kappa_valley_reference"):
        release_notebook(_nb(_code("from x import kappa_valley_reference\nkappa_valley_reference(H)")))


def test_release_drops_solution_cells_and_empty_answer_cells():
    nb = _nb(_md("text"), _md("<details><summary>Answer</summary>\nyes\n</details>"), _code("x = 1", tags=["solution"]),
             _code("y = 2"))
    out = release_notebook(nb)
    assert [c["cell_type"] for c in out["cells"]] == ["markdown", "code"]
    assert out["cells"][1]["outputs"] == [] and out["cells"][1]["execution_count"] is None
    assert nb["cells"][2]["outputs"] == [{"x": 1}], "the instructor copy is not modified"


def test_the_command_line_parser(tmp_path, capsys):
    parser = argparse.ArgumentParser(prog="python -m loopvalley")
    add_release_parser(parser.add_subparsers(dest="command", required=True))
    src = tmp_path / "src"
    src.mkdir()
    (src / "01_demo.ipynb").write_text(json.dumps(_nb(_md("hi\n<details><summary>Solution</summary>s</details>"))))
    args = parser.parse_args(["student-release", "--out", str(tmp_path / "out"), "--notebooks", str(src)])
    assert args.func(args) == 0
    out = json.loads((tmp_path / "out" / "01_demo.ipynb").read_text())
    assert _cells(out, "markdown") == ["hi"]
    assert "1 notebooks" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        parser.parse_args(["student-release"])  # --out is required


def _script():
    spec = importlib.util.spec_from_file_location("check_student_release", ROOT / "scripts" / "check_student_release.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _executed(source, outputs):
    cell = nbformat.v4.new_code_cell(source)
    cell.outputs = [nbformat.v4.new_output(**o) for o in outputs]
    return cell


def test_the_release_check_tells_a_clean_exercise_cell_from_a_leaky_one():
    check = _script()
    stub = "def f(x):\n    # x -> y\n    # YOUR CODE HERE\n    raise NotImplementedError\n\n\nf = check_f(f)"
    notice = {"output_type": "stream", "name": "stdout", "text": "… f is not implemented yet: the notebook goes on\n"}
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        _executed(stub, [notice]),  # clean
        _executed(stub, [notice, {"output_type": "stream", "name": "stdout", "text": "def f_reference(x): ...\n"}]),
        _executed(stub, [{"output_type": "error", "ename": "ExerciseError", "evalue": "wrong", "traceback": []}]),
        _executed("print(1)", [{"output_type": "stream", "name": "stdout", "text": "1\n"}]),  # an ordinary cell
        _executed("1 / 0", [{"output_type": "error", "ename": "ZeroDivisionError", "evalue": "division", "traceback": []}]),
    ]
    problems = dict(check.check_cells(nb))
    assert sorted(problems) == [1, 2, 4]
    assert "more than the notice" in problems[1] and "ExerciseError" in problems[2] and "ZeroDivisionError" in problems[4]
