"""Every notebooks/*.ipynb matches its py:percent twin (the reviewed source), and vice versa."""

from pathlib import Path

import jupytext
import pytest

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
PY = sorted(p for p in NOTEBOOKS.glob("[0-9]*.py"))


def test_there_are_notebooks():
    assert PY, "no notebooks/NN_*.py found"


@pytest.mark.parametrize("py", PY, ids=lambda p: p.stem)
def test_pair_in_sync(py):
    nb = py.with_suffix(".ipynb")
    assert nb.exists(), f"{py.name} has no executed twin {nb.name}: run scripts/build_notebooks.sh {py}"
    a = jupytext.writes(jupytext.read(nb), fmt="py:percent")
    b = jupytext.writes(jupytext.read(py), fmt="py:percent")
    assert a == b, f"{nb.name} and {py.name} differ: run scripts/build_notebooks.sh notebooks/{py.name}"


def test_every_ipynb_has_a_twin():
    for nb in NOTEBOOKS.glob("*.ipynb"):
        assert nb.with_suffix(".py").exists(), f"{nb.name} has no py:percent twin"
