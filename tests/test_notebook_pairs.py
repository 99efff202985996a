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


def _first_code_cell(py):
    return next(c.source for c in jupytext.read(py).cells if c.cell_type == "code")


@pytest.mark.parametrize("py", PY, ids=lambda p: p.stem)
def test_setup_cell_follows_the_template(py):
    """The first code cell sets SCALE (default "ci") and passes it to loopvalley.notebook.setup, so the
    notebook's own switch wins over $LOOPVALLEY_SCALE and setup prints this notebook's run times."""
    src = _first_code_cell(py)
    assert 'SCALE = "ci"' in src, f"{py.name}: the setup cell must define SCALE = \"ci\" (notebooks/00_start_here.py)"
    assert "from loopvalley.notebook import setup" in src
    assert "setup(seed=0, scale=SCALE" in src, f"{py.name}: call setup(seed=0, scale=SCALE, chapter=\"{py.stem}\")"


def test_every_notebook_has_a_measured_ci_time():
    import json

    table = json.loads((NOTEBOOKS / "run_times.json").read_text())["notebooks"]
    missing = [p.stem for p in PY if (table.get(p.stem, {}).get("ci") or {}).get("seconds") is None]
    assert not missing, f"no measured ci time for {missing}: run bash scripts/build_notebooks.sh notebooks/<name>.py"
    stale = sorted(set(table) - {p.stem for p in PY})
    assert not stale, f"notebooks/run_times.json lists notebooks that do not exist: {stale}"


# -- the setup every notebook runs (loopvalley.notebook.setup) ---------------------------------------
def test_setup_scale_precedence(monkeypatch, capsys):
    from loopvalley.notebook import setup

    monkeypatch.delenv("LOOPVALLEY_SCALE", raising=False)
    assert setup(seed=0, quiet=True)[0] == "ci"  # the default, on any machine
    monkeypatch.setenv("LOOPVALLEY_SCALE", "small")
    assert setup(seed=0, quiet=True)[0] == "small"  # the environment beats the default
    assert setup(seed=0, scale="ci")[0] == "ci"  # the notebook's SCALE beats the environment
    assert "LOOPVALLEY_SCALE=small is set; the notebook's SCALE wins" in capsys.readouterr().out
    with pytest.raises(ValueError, match="scale"):
        setup(seed=0, scale="huge", quiet=True)


def test_setup_figures_are_sharp_and_colour_blind_safe():
    import matplotlib as mpl

    from loopvalley.notebook import OKABE_ITO, setup

    with mpl.rc_context():
        setup(seed=0, scale="ci", quiet=True)
        assert mpl.rcParams["figure.dpi"] >= 120
        assert [c.upper() for c in mpl.rcParams["axes.prop_cycle"].by_key()["color"]] == [c.upper() for c in OKABE_ITO]
    assert OKABE_ITO[:3] == ("#0072B2", "#D55E00", "#009E73")


def test_setup_prints_the_measured_times(monkeypatch, capsys):
    from loopvalley.notebook import run_time_message, setup

    table = {"machine": "a test CPU", "notebooks": {"04_single_vs_looped": {
        "ci": {"seconds": 34.8, "how": "measured: here"}, "small": {"seconds": 600.0, "how": "measured: there"},
        "paper": {"seconds": None, "how": "not measured"}}}}
    msg = run_time_message("04_single_vs_looped", "ci", table)
    assert msg == ("Expected run time of 04_single_vs_looped on a test CPU: [ci ≈ 35 s (measured)] · "
                   "small ≈ 10 min (measured) · paper: not measured")
    assert run_time_message("04", "small", table).count("[small ≈ 10 min (measured)]") == 1
    assert "not measured yet" in run_time_message("07_shift", "ci", table)
    # JupyterLab names the notebook in $JPY_SESSION_NAME; setup finds its row without chapter=
    monkeypatch.setenv("JPY_SESSION_NAME", "/home/me/notebooks/01_river_valley.ipynb")
    setup(seed=0, scale="ci")
    out = capsys.readouterr().out
    assert "Expected run time of 01_river_valley" in out
    assert "ci ≈" in out


@pytest.mark.parametrize("py", PY, ids=lambda p: p.stem)
def test_the_setup_cell_prints_the_measured_run_time(py):
    """The run time a notebook's setup cell printed (its stored output) is the one in the run-time table
    that 00's table and the README quote: one source (scripts/build_notebooks.sh rewrites it)."""
    import json

    from loopvalley.notebook import run_time_message

    nb = json.loads(py.with_suffix(".ipynb").read_text())
    cell = next(c for c in nb["cells"] if c["cell_type"] == "code" and "from loopvalley.notebook import setup" in "".join(c["source"]))
    text = "".join("".join(o.get("text", "")) for o in cell.get("outputs", []) if o.get("name") == "stdout")
    printed = [line for line in text.splitlines() if line.startswith("Expected run time")]
    assert printed == [run_time_message(py.stem, "ci")], f"{py.stem}: run scripts/build_notebooks.sh {py.name}"
