"""`python -m loopvalley figures`: every chapter's figures from what was shipped, else live, labelled."""

import json
import xml.etree.ElementTree as ET

import numpy as np
import pytest
import torch

from loopvalley import figures
from loopvalley.__main__ import main
from loopvalley.records import RunRecord, save_records

torch.set_num_threads(1)
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _fake_records(root, scale="small", seeds=(1000, 1001)):
    """Shipped sample-dynamics records with known curves: acc = base + slope * step per arm and split."""
    steps = [0, 100, 200, 300]
    recs, truth = {}, {}
    for i, seed in enumerate(seeds):
        for arm, (base, slope) in {"single": (0.40, 0.0004), "looped": (0.35, 0.0008)}.items():
            acc = {sp: [base + k * 0.1 + slope * s + 0.01 * i for s in steps] for k, sp in enumerate(("simple", "complex"))}
            loss = {sp: [2.0 - v for v in acc[sp]] for sp in acc}
            recs[f"{seed}/{arm}"] = RunRecord(eval_step=steps, eval_acc=acc, eval_loss=loss, meta={"arm": arm})
            truth.setdefault(arm, []).append(acc["complex"])
    save_records(root / scale / "records" / "sample-dynamics.json", recs)
    return {arm: 100 * np.mean(v, axis=0) for arm, v in truth.items()}


def test_shipped_records_are_replotted_and_labelled(tmp_path, monkeypatch):
    truth = _fake_records(tmp_path / "results")
    seen = []
    real_save = figures._save

    def spy(fig, out, stem, caption):
        seen.append((stem, [(ax.get_title(), ln.get_label(), ln.get_ydata()) for ax in fig.axes for ln in ax.get_lines()]))
        return real_save(fig, out, stem, caption)

    monkeypatch.setattr(figures, "_save", spy)
    out = tmp_path / "out"
    figs = figures.write_figures(out, scale="small", chapters=["04_single_vs_looped"], results=tmp_path / "results", budget=0)
    assert [f.name for f in figs] == ["04_accuracy", "04_loss"]
    assert all("shipped small run records" in f.source for f in figs)
    # the complex-split panel plots the seed mean of the shipped curves (independent truth)
    stem, lines = seen[0]
    complex_lines = {label.split()[0]: y for title, label, y in lines
                     if title == "complex split" and label.split()[0] in ("Single-Attn", "Looped-Attn")}
    np.testing.assert_allclose(complex_lines["Looped-Attn"], truth["looped"], rtol=1e-5)
    np.testing.assert_allclose(complex_lines["Single-Attn"], truth["single"], rtol=1e-5)
    assert (out / "04_accuracy.png").read_bytes()[:8] == PNG_MAGIC
    ET.parse(out / "04_accuracy.svg")  # valid SVG (XML)
    cap = json.loads((out / "captions.json").read_text())
    assert cap["04_accuracy.png"]["caption"].startswith("Simple- and complex-split accuracy")
    assert "2 seeds" in cap["04_accuracy.svg"]["caption"]
    assert "04_accuracy" in (out / "captions.md").read_text()


def test_report_figures_are_copied_with_their_alt_text(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder = tmp_path / "results" / "small"
    folder.mkdir(parents=True)
    fig, ax = plt.subplots()
    ax.plot([0, 1], [1, 0])
    fig.savefig(folder / "river_valley_trajectories.png", metadata={"Description": "planted alt text"})
    fig.savefig(folder / "river_valley_trajectories.svg")
    plt.close(fig)
    out = tmp_path / "out"
    figs = figures.write_figures(out, scale="small", chapters=["01_river_valley"], results=tmp_path / "results")
    assert [f.name for f in figs] == ["01_river_valley_trajectories"]
    assert figs[0].caption == "planted alt text" and "reproduce --scale small" in figs[0].source
    assert (out / "01_river_valley_trajectories.png").read_bytes() == (folder / "river_valley_trajectories.png").read_bytes()


def test_missing_chapter_says_what_to_run_and_budget_zero_skips_training(tmp_path):
    out = tmp_path / "out"
    figs = figures.write_figures(out, scale="small", chapters=["05_hessian_dynamics", "04_single_vs_looped"],
                                 results=tmp_path / "empty", budget=0)
    assert [f.files for f in figs] == [[], []]
    assert "--only hessian-dynamics" in figs[0].caption
    assert "budget" in figs[1].caption and "--only sample-dynamics" in figs[1].caption
    assert list(out.glob("*.png")) == []


def test_cli_live_theory_chapters(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("LOOPVALLEY_RESULTS", str(tmp_path / "no-results"))  # nothing shipped: live at ci
    out = tmp_path / "slides"
    assert main(["figures", "--out", str(out), "--only", "02_u_vs_v_valleys", "06_full_gpu_training"]) == 0
    names = sorted(p.name for p in out.iterdir())
    assert names == ["02_cumulative_force.png", "02_cumulative_force.svg", "06_cost_ratio.png", "06_cost_ratio.svg",
                     "captions.json", "captions.md"]
    cap = json.loads((out / "captions.json").read_text())
    assert "live at the ci scale" in cap["02_cumulative_force.png"]["source"]
    assert "closed form" in cap["06_cost_ratio.svg"]["source"]
    assert "2 figures" in capsys.readouterr().out


def test_bad_input():
    with pytest.raises(SystemExit) as e:
        main(["figures", "--out", "x", "--scale", "huge"])
    assert e.value.code == 2
    with pytest.raises(ValueError, match="chapter"):
        figures.write_figures("unused", chapters=["10_nothing"])
    with pytest.raises(ValueError, match="budget"):
        figures.write_figures("unused", budget=-1)
