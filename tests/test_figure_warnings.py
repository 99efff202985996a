"""No figure is shipped broken: a matplotlib warning while a figure is drawn — a layout engine that gave
up ("constrained_layout not applied", "Tight layout not applied"), a glyph the font lacks — fails.

- every committed ``notebooks/*.ipynb`` is scanned for such warnings in its outputs (the executed twin
  is what a reader sees; rebuild it with ``scripts/build_notebooks.sh`` after fixing the plot);
- ``reproduce`` saves figures through :meth:`loopvalley.registry.Context.save_figure`, which turns
  them into errors (tested here on planted cases);
- the figures ``reproduce`` draws from the Markov-language experiments are redrawn from the shipped
  ``results/small/records`` under ``warnings.simplefilter("error")``.
"""

import io
import json
import re
import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from loopvalley.notebook import figure_style  # noqa: E402
from loopvalley.registry import Context, shipped_records  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9]*.ipynb"))
# what matplotlib prints when it warns: the warning line names a matplotlib file or says what broke
MPL_WARNING = re.compile(
    r"matplotlib[\\/][\w\\/.]*\.py:\d+: \w*Warning"  # any warning raised from inside matplotlib
    r"|constrained_layout not applied|[Tt]ight[_ ]layout not applied|not compatible with tight_layout"
    r"|Glyph \d+ .*missing from|missing from (current )?font"
)


def _warnings_in(nb_path: Path) -> list:
    """``(cell index, first line of the cell, matched text)`` for every matplotlib warning in the outputs."""
    nb = json.loads(nb_path.read_text())
    found = []
    for i, cell in enumerate(nb["cells"]):
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream":
                text = "".join(out.get("text", ""))
            elif out.get("output_type") in ("display_data", "execute_result"):
                text = "".join(out.get("data", {}).get("text/plain", ""))
            else:
                continue
            for line in text.splitlines():
                if MPL_WARNING.search(line):
                    src = "".join(cell.get("source", "")).strip().splitlines()
                    found.append((i, src[0] if src else "", line.strip()))
    return found


def test_the_scan_finds_a_planted_warning(tmp_path):
    nb = {"cells": [{"cell_type": "code", "source": ["fig = plot_switch_sweep(...)\n"], "outputs": [
        {"output_type": "stream", "name": "stderr", "text": [
            "/usr/lib/python3/site-packages/IPython/core/pylabtools.py:152: UserWarning: constrained_layout not "
            "applied because axes sizes collapsed to zero.\n"]},
        {"output_type": "stream", "name": "stderr", "text": [
            "/x/matplotlib/backends/backend_agg.py:211: RuntimeWarning: Glyph 119966 missing from current font.\n"]}]},
        {"cell_type": "code", "source": ["print('tight layouts are discussed here')\n"], "outputs": [
            {"output_type": "stream", "name": "stdout", "text": ["tight layouts are discussed here\n"]}]}]}
    p = tmp_path / "planted.ipynb"
    p.write_text(json.dumps(nb))
    found = _warnings_in(p)
    assert [f[0] for f in found] == [0, 0] and found[0][1] == "fig = plot_switch_sweep(...)"


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=lambda p: p.stem)
def test_no_matplotlib_warning_in_the_executed_notebook(nb):
    found = _warnings_in(nb)
    assert not found, f"{nb.name}: matplotlib warned while drawing a figure — " + "; ".join(
        f"cell {i} ({src!r}): {line}" for i, src, line in found) + \
        f" — fix the plot, then rebuild: bash scripts/build_notebooks.sh notebooks/{nb.stem}.py"


# -- reproduce: Context.save_figure --------------------------------------------------------------------


def test_save_figure_fails_on_a_collapsed_layout(tmp_path):
    ctx = Context(scale="ci", out_dir=tmp_path)
    fig, ax = plt.subplots(figsize=(1, 1), layout="constrained")
    ax.set_ylabel("a label far too large for the figure", fontsize=60)
    with pytest.raises(RuntimeError, match="constrained_layout not applied"):
        ctx.save_figure(fig, "collapsed")
    assert ctx.figures == []


def test_save_figure_fails_on_a_missing_glyph(tmp_path):
    ctx = Context(scale="ci", out_dir=tmp_path)
    fig, ax = plt.subplots()
    ax.set_title("the bound \U0001d49e")  # 𝒞: not in DejaVu Sans (write $\mathcal{C}$)
    with pytest.raises(RuntimeError, match="Glyph"):
        ctx.save_figure(fig, "glyph")


def test_save_figure_saves_a_clean_figure(tmp_path):
    ctx = Context(scale="ci", out_dir=tmp_path)
    fig, ax = plt.subplots(layout="constrained")
    ax.plot([0, 1], [1, 0])
    ax.set_title(r"the bound $\mathcal{C}$")
    path = ctx.save_figure(fig, "clean", alt="a line")
    assert path.exists() and path.with_suffix(".svg").exists() and ctx.figures == [str(path)]


# -- the reproduce figures, redrawn from the shipped records ---------------------------------------------


def _draw_strictly(fig):
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", UserWarning)
            fig.savefig(io.BytesIO(), format="png", dpi=60, bbox_inches="tight")
    finally:
        plt.close(fig)


@pytest.fixture
def strict_style():
    with matplotlib.rc_context(figure_style()), warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # warnings while building the figure (tight_layout) fail too
        yield


def _shipped(name):
    recs = shipped_records("small", name, root=ROOT / "results")
    if recs is None:
        pytest.skip(f"no shipped small records for {name}")
    return recs


def test_shift_figures_from_the_shipped_records(strict_style):
    from loopvalley.shift import experiment as ex
    from loopvalley.shift import plots

    runs = ex.runs_from_records(_shipped("shift"), ex.CHOSEN_POLICY)
    cfg = ex.config("small")
    last = cfg.run.train.max_steps - cfg.decay_steps
    histories = [r.records["single"].probes["shift"] for r in runs]
    _draw_strictly(plots.plot_switch_sweep(histories, cfg.shift, last, labels=[r.seed for r in runs]))  # was 07_2
    _draw_strictly(plots.plot_comparison([r.records for r in runs], cfg.decay_steps))
    _draw_strictly(plots.plot_budgets([ex.measure_seed(r, cfg) for r in runs]))
    _draw_strictly(plots.plot_alignment([r.records["single"] for r in runs], [r.theorem_model for r in runs], ex.F3_EARLY))
    _draw_strictly(plots.plot_premises([r.records["single"] for r in runs], [r.theorem_model for r in runs]))
    _draw_strictly(plots.plot_criterion(ex.stable_history(histories[0], last), cfg.shift, runs[0].records, last_step=last))


def test_language_figures_from_the_shipped_records(strict_style):
    from loopvalley.looped import plots
    from loopvalley.looped.recursion_depth import (SWEEP_ARMS_ALL, config, convergence_table, mean_step, measure_seed,
                                                   references, shipped_runs, sweep_table)

    sd = _shipped("sample-dynamics")
    seeds = sorted({int(k.split("/")[0]) for k in sd})
    records = [{a: sd[f"{s}/{a}"] for a in ("single", "looped")} for s in seeds]
    for metric in ("acc", "loss"):
        _draw_strictly(plots.plot_split_curves(records, metric=metric, marker_step=150.0))
    cfg = config("small")
    seeds, records = shipped_runs("small", cfg=cfg)
    per = [measure_seed(r) for r in records]
    core = [{a: r[a] for a in cfg.arms} for r in records]
    half = {a: mean_step(per, a, "half_step", all_seeds=True) for a in cfg.arms}
    onset = {a: mean_step(per, a, "induction_step", all_seeds=True) for a in cfg.arms}
    _draw_strictly(plots.plot_recursion_curves(core, stable_end=cfg.stable_steps, markers=half))
    sweep = [p for p in per if all(a in p["arms"] for a in SWEEP_ARMS_ALL)]
    _draw_strictly(plots.plot_dose_response(sweep_table(sweep, cfg.loops), references(records)))
    _draw_strictly(plots.plot_convergence(convergence_table(per, seeds, list(cfg.arms))))
    _draw_strictly(plots.plot_mechanism_over_training(core, climb=half, onset=onset))
    _draw_strictly(plots.plot_climb_timing(per))


def test_reference_lines_draw_chance_as_one_over_v():
    """Chance on an accuracy plot is 1/V, not the uniform predictor's argmax accuracy (token 0's share)."""
    from loopvalley.language.plots import draw_references, reference_level

    refs = {"complex": {"uniform": {"loss": float(np.log(3)), "acc": 0.36}, "bayes": {"loss": 0.5, "acc": 0.8},
                        "bigram": {"loss": 0.7, "acc": 0.72}, "unigram": {"loss": 1.0, "acc": 0.4}}}
    assert reference_level(refs["complex"], "uniform", "acc") == pytest.approx(1 / 3)
    assert reference_level(refs["complex"], "uniform", "loss") == pytest.approx(np.log(3))
    fig, ax = plt.subplots()
    lines = draw_references(ax, [refs], "complex", "acc", 100)
    levels = {ln.get_label(): ln.get_ydata()[0] for ln in lines}
    plt.close(fig)
    assert levels["chance (1/V)"] == pytest.approx(100 / 3)
    assert levels["Bayes with the true chain (oracle)"] == pytest.approx(80)
    assert set(levels) == {"chance (1/V)", "Bayes with the true chain (oracle)", "in-context unigram",
                           "in-context bigram (Bayes, Dirichlet prior)"}


def test_induction_targets_by_brute_force():
    from loopvalley.looped.plots import induction_targets

    rng = np.random.default_rng(0)
    for _ in range(20):
        x = rng.integers(0, 3, size=16)
        want = []
        for i in range(len(x)):
            prev = [p for p in range(i) if x[p] == x[i]]
            if prev:
                want.append((i, max(prev) + 1))
        assert induction_targets(x) == want


def test_a_shift_run_that_never_switched_is_labelled_so():
    from loopvalley.shift.plots import shift_label

    assert shift_label([False, False]) == "SHIFT (never switched: Single trained longer)"
    assert shift_label([True, False]) == "SHIFT (switched on 1 of 2 seeds)"
    assert shift_label([True, True]) == shift_label(None) == "SHIFT"
