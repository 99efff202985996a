"""Every chapter's main figures for slides: ``python -m loopvalley figures --out DIR [--scale small]``.

Writes ``DIR/NN_name.svg`` and ``DIR/NN_name.png`` for every chapter (01–09) and ``DIR/captions.json``
+ ``DIR/captions.md`` (file → one-line caption, usable as alt text, with where the figure came from).
Nothing is trained at ``small`` or ``paper``: a figure comes, in this order, from

1. the figures ``python -m loopvalley reproduce --scale S`` wrote into ``results/<S>/`` (the
   REPORT.md figures, with their alt text);
2. the run records it shipped (:func:`loopvalley.registry.shipped_records`), re-plotted;
3. a live computation: the closed-form / simulated theory chapters (01–03, 06) at the ci scale
   (the same code and figure as the notebook's), and, for the training chapters, a small live
   ci run — labelled in its caption as a *ci-scale fallback*, not the ``S`` figure — when it still
   fits in the command's time budget (``--budget``, default 55 s for the whole command).

A chapter with none of these is listed in ``captions.md`` with the command that produces its figures.

Introduced in notebooks/00_start_here.
"""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from loopvalley._validate import check_choice, check_range
from loopvalley.scales import SCALES

CHAPTERS = (
    "01_river_valley", "02_u_vs_v_valleys", "03_markov_language", "04_single_vs_looped", "05_hessian_dynamics",
    "06_full_gpu_training", "07_shift", "08_algorithmic_tasks", "09_recursion_or_depth",
)
# the figure files ``reproduce`` writes for each chapter (name prefixes in results/<scale>/)
REPORT_PREFIXES = {
    "01_river_valley": ("river_valley_",),
    "02_u_vs_v_valleys": ("cumulative_force", "corollary2"),
    "04_single_vs_looped": ("sample_dynamics_",),
    "05_hessian_dynamics": ("hessian_",),
    "07_shift": ("shift_",),
    "08_algorithmic_tasks": ("tasks_", "algorithmic_"),
    "09_recursion_or_depth": ("recursion_depth_",),
}
# the shipped run records each training chapter can re-plot (``results/<scale>/records/<name>.json``)
RECORD_NAMES = {"04_single_vs_looped": "sample-dynamics", "09_recursion_or_depth": "recursion-or-depth"}
# what produces a chapter's figures when nothing is here
PRODUCE = {
    "04_single_vs_looped": "sample-dynamics", "05_hessian_dynamics": "hessian-dynamics", "07_shift": "shift",
    "08_algorithmic_tasks": "shift", "09_recursion_or_depth": "recursion-or-depth",
}


@dataclass
class Figure:
    """One written figure (or a chapter that has none): files, caption (alt text), where it came from."""

    chapter: str
    name: str
    caption: str
    source: str
    files: list = field(default_factory=list)


@dataclass
class _Job:
    scale: str
    results: Path
    budget: float  # seconds for the whole command
    started: float = field(default_factory=time.time)
    cpu_started: float = field(default_factory=time.process_time)

    def left(self) -> float:
        return self.budget - (time.time() - self.started)

    def slowdown(self) -> float:
        """Wall seconds per CPU second so far (≥ 1): how much a shared machine stretches the work."""
        cpu = time.process_time() - self.cpu_started
        return max(1.0, (time.time() - self.started) / cpu) if cpu > 1.0 else 1.0


# -- sources 1 and 2: what reproduce shipped ----------------------------------------------------------
def _png_alt(png: Path) -> str:
    try:
        from PIL import Image

        with Image.open(png) as im:
            return str(im.info.get("Description", "")).strip()
    except Exception:  # no Pillow, not a PNG: no caption from the file
        return ""


def report_figures(chapter: str, scale: str, results: Path) -> list:
    """``(png, svg, alt)`` for the figures ``reproduce`` wrote into ``results/<scale>/`` for ``chapter``."""
    folder = results / scale
    if not folder.is_dir():
        return []
    out = []
    for png in sorted(folder.glob("*.png")):
        if png.name.startswith(REPORT_PREFIXES.get(chapter, ("\0",))) and png.with_suffix(".svg").exists():
            out.append((png, png.with_suffix(".svg"), _png_alt(png)))
    return out


def _by_seed(records: dict) -> list:
    """``{"<seed>/<arm>": record}`` → one ``{arm: record}`` per seed (seed order)."""
    seeds: dict = {}
    for key, rec in records.items():
        seed, _, arm = key.partition("/")
        seeds.setdefault(seed, {})[arm] = rec
    return [seeds[k] for k in sorted(seeds, key=lambda s: (len(s), s))]


def _records_figures(chapter: str, scale: str, results: Path) -> list:
    """``(name, fig, caption)`` re-plotted from the shipped records of ``chapter`` at ``scale``."""
    from loopvalley.registry import shipped_records

    name = RECORD_NAMES.get(chapter)
    recs = shipped_records(scale, name, root=results) if name else None
    if not recs:
        return []
    per_seed = _by_seed(recs)
    n = len(per_seed)
    if chapter == "04_single_vs_looped":
        from loopvalley.looped.plots import plot_split_curves

        return [("accuracy", plot_split_curves(per_seed, metric="acc"),
                 f"Simple- and complex-split accuracy over training, Single-Attn vs Looped-Attn, {n} seeds (mean, min–max band), {scale} scale"),
                ("loss", plot_split_curves(per_seed, metric="loss"),
                 f"Simple- and complex-split loss over training, Single-Attn vs Looped-Attn, {n} seeds, {scale} scale")]
    if chapter == "09_recursion_or_depth":
        from loopvalley.looped.plots import plot_recursion_curves
        from loopvalley.looped.recursion_depth import CORE_ARMS, config

        core = [{a: r[a] for a in CORE_ARMS} for r in per_seed if set(CORE_ARMS) <= set(r)]
        return [("accuracy", plot_recursion_curves(core, stable_end=config(scale).stable_steps),
                 f"Simple- and complex-split accuracy over training: Single, Looped-3, Untied-3 and wide Single-Attn at "
                 f"the converged WSD horizon (the decay shaded), {len(core)} seeds, {scale} scale")]
    return []


# -- source 3: live ------------------------------------------------------------------------------------
LIVE_LABEL = "live at the ci scale (the notebook's own computation)"


def _fallback_label(scale: str, what: str) -> str:
    return f"ci-scale live fallback ({what}): no shipped {scale} records or figures yet — not the {scale} figure"


def _live_01(job):
    from loopvalley.seeds import teaching
    from loopvalley.valley.experiment import config, wen_experiment, wen_runs
    from loopvalley.valley.plots import plot_loss_curves, plot_lr_sweep, plot_river_valley

    st = config("ci")
    lrs = (0.3, 0.9, 1.2)
    land, traj = wen_runs(lrs=lrs, steps=st.steps, schedule="constant", seed=0)
    yield ("trajectories", plot_river_valley(land, traj, labels=[f"lr = {lr:g} (constant)" for lr in lrs]),
           "SGD on a 2-D river valley at three constant learning rates: larger steps travel further along the "
           "river and bounce higher between the hillsides", LIVE_LABEL)
    land, wsd = wen_runs(lrs=lrs, steps=st.steps, schedule="wsd", draws=16, seed=0)
    _, const = wen_runs(lrs=lrs, steps=st.steps, schedule="constant", draws=16, seed=0)
    yield ("wsd_decay", plot_loss_curves(land, wsd, labels=[f"lr = {lr:g}" for lr in lrs], reference=const, draws=16),
           "Loss under warmup-stable-decay (solid) vs a constant rate (dashed), mean of 16 noise draws: the decay "
           "drains the valley loss and reveals the river progress", LIVE_LABEL)
    wen = wen_experiment(teaching(st.n_seeds), steps=st.steps, draws=max(1, st.draws // 2))
    yield ("lr_sweep", plot_lr_sweep(wen),
           f"River progress and loss before and after the decay against the learning rate ({st.n_seeds} seeds)", LIVE_LABEL)


def _live_02(job):
    from loopvalley.valley.experiment import force_curves
    from loopvalley.valley.plots import plot_cumulative_force

    yield ("cumulative_force", plot_cumulative_force(force_curves()),
           "Cumulative force ‖C_K‖ on the river against the step K for a U-valley (κ = 1) and a V-valley (κ = 100) "
           "at equal λ_max, with Theorem 1's bound 𝒞", LIVE_LABEL)


def _live_03(job):
    from loopvalley.language.plots import plot_ic_distribution, plot_references
    from loopvalley.looped.runs import markov_run
    from loopvalley.seeds import teaching

    data = markov_run("ci").data.sample(teaching(1)[0])
    yield ("ic_distribution", plot_ic_distribution(data),
           "Information content of the training sequences with the simple and complex splits, and IC against the "
           "surprisal", LIVE_LABEL)
    yield ("reference_predictors", plot_references(data.references),
           "Next-token accuracy of the reference predictors (Bayes with the true chain, in-context bigram, unigram) "
           "on each split: the ceilings the models are measured against", LIVE_LABEL)


def _live_04(job):
    from loopvalley.looped.plots import plot_split_curves
    from loopvalley.looped.sample_dynamics import config, run_seed
    from loopvalley.seeds import teaching

    run = config("ci").run
    r = run_seed(teaching(1)[0], run)
    yield ("accuracy", plot_split_curves([r.records], metric="acc"),
           f"Simple- and complex-split accuracy over training, Single-Attn vs Looped-Attn, 1 seed, "
           f"{run.train.max_steps} steps", _fallback_label(job.scale, f"1 seed, {run.train.max_steps} steps"))


def _live_06(job):
    from loopvalley.scale.plots import plot_cost_ratio
    from loopvalley.scale.presets import scale_table

    fig, _ = plot_cost_ratio(scale_table())
    yield ("cost_ratio", fig,
           "GFLOP per forward pass of Single-Attn and Looped-Attn at each scale's preset (closed form): a loop "
           "costs almost 3×, less the readout paid once", "closed form (no training)")


LIVE: dict[str, Callable] = {
    "01_river_valley": _live_01, "02_u_vs_v_valleys": _live_02, "03_markov_language": _live_03,
    "04_single_vs_looped": _live_04, "06_full_gpu_training": _live_06,
}
LIVE_IS_FALLBACK = {"04_single_vs_looped"}  # live work that stands in for a missing shipped figure
FALLBACK_COST_S = {"04_single_vs_looped": 22.0}  # one ci seed: 17.7–19.7 s of CPU (1 thread) on the 2-core machine


def _save(fig, out: Path, stem: str, caption: str) -> list:
    import matplotlib.pyplot as plt

    png, svg = out / f"{stem}.png", out / f"{stem}.svg"
    fig.savefig(png, dpi=150, bbox_inches="tight", metadata={"Description": caption})
    fig.savefig(svg, bbox_inches="tight", metadata={"Description": caption})
    plt.close(fig)
    return [png.name, svg.name]


def chapter_figures(chapter: str, out: Path, job: _Job) -> list:
    """Write ``chapter``'s figures into ``out``; returns the :class:`Figure` entries."""
    done = []
    for png, svg, alt in report_figures(chapter, job.scale, job.results):
        stem = f"{chapter[:2]}_{png.stem}"
        shutil.copyfile(png, out / f"{stem}.png")
        shutil.copyfile(svg, out / f"{stem}.svg")
        done.append(Figure(chapter, stem, alt or png.stem.replace("_", " "),
                           f"figure written by `reproduce --scale {job.scale}` (results/{job.scale}/{png.name})",
                           [f"{stem}.png", f"{stem}.svg"]))
    if done:
        return done
    for name, fig, caption in _records_figures(chapter, job.scale, job.results):
        stem = f"{chapter[:2]}_{name}"
        src = f"shipped {job.scale} run records (results/{job.scale}/records/{RECORD_NAMES[chapter]}.json)"
        done.append(Figure(chapter, stem, caption, src, _save(fig, out, stem, f"{caption} [{src}]")))
    if done:
        return done
    live = LIVE.get(chapter)
    if live is not None and chapter in LIVE_IS_FALLBACK and job.left() < FALLBACK_COST_S.get(chapter, 0.0) * job.slowdown():
        live = None
        reason = f"skipped its ci-scale fallback: it would not fit in the time budget ({job.budget:.0f} s)"
    else:
        reason = "no shipped figures or records"
    if live is None:
        cmd = f"python -m loopvalley reproduce --scale {job.scale} --only {PRODUCE.get(chapter, '...')}"
        return [Figure(chapter, chapter, f"(no figure: {reason}; run `{cmd}`, then this command again)", "none")]
    for name, fig, caption, source in live(job):
        stem = f"{chapter[:2]}_{name}"
        done.append(Figure(chapter, stem, caption, source, _save(fig, out, stem, f"{caption} [{source}]")))
    return done


def write_figures(out, scale: str = "small", chapters=None, results=None, budget: float = 55.0) -> list:
    """Write every chapter's main figures as SVG + PNG into ``out`` with ``captions.json`` and
    ``captions.md``; returns the :class:`Figure` entries. ``results``: the folder holding
    ``<scale>/`` (default: the repository's ``results/`` or ``$LOOPVALLEY_RESULTS``). ``budget``:
    seconds for the whole call; a training chapter's live ci-scale fallback runs only if it still fits
    (0: never).

    Introduced in notebooks/00_start_here.
    """
    import matplotlib
    import torch

    matplotlib.use("Agg")
    import matplotlib as mpl

    torch.set_num_threads(1)  # deterministic numbers, and no thread contention on a shared machine

    from loopvalley.notebook import figure_style
    from loopvalley.records import results_dir

    check_choice("scale", scale, SCALES)
    budget = check_range("budget", budget, 0.0, 3600.0)
    chapters = list(CHAPTERS if not chapters else chapters)
    for c in chapters:
        check_choice("chapter", c, CHAPTERS)
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ValueError(f"out: {out} is a file, not a folder; figures are written into a folder")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:  # e.g. a file on the way to it
        raise ValueError(f"out: cannot create the folder {out} ({e.strerror or e})") from None
    results = Path(results) if results is not None else results_dir(scale).parent
    job = _Job(scale, results, float(budget))
    figures = []
    with mpl.rc_context(figure_style()):
        for c in chapters:
            figures += chapter_figures(c, out, job)
    rows = {f.files[0] if f.files else f.name: {"chapter": f.chapter, "caption": f.caption, "source": f.source,
                                                "files": f.files} for f in figures}
    for f in figures:
        for extra in f.files[1:]:
            rows[extra] = rows[f.files[0]]
    (out / "captions.json").write_text(json.dumps(rows, indent=1, ensure_ascii=False) + "\n")
    lines = [f"# Figures (scale: {scale})", "",
             "Each figure is a PNG and an SVG with the same name; the caption doubles as alt text.", "",
             "| file | chapter | caption | source |", "|---|---|---|---|"]
    for f in figures:
        name = f"`{f.files[0][:-4]}`.png/.svg" if f.files else "—"
        lines.append(f"| {name} | {f.chapter} | {f.caption.replace('|', '/')} | {f.source.replace('|', '/')} |")
    (out / "captions.md").write_text("\n".join(lines) + "\n")
    return figures
