"""Figures for SHIFT: the criterion drawn on a training curve, what δ1, δ2, W do to the switch step,
the three arms against steps and FLOPs (each ending in the same decay), SHIFT's decayed accuracy per
FLOP budget (F2), the switch-policy ablation with intervals, Theorem 3's alignment curves in two
models, and accuracy by length on the algorithmic tasks.

Every function takes run records or result dicts and returns a matplotlib ``Figure``; none trains.
Colours: Okabe–Ito (colour-blind safe).

Introduced in notebooks/07_shift.
"""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np

from loopvalley.looped.compute import flops_at_evals
from loopvalley.shift.controller import criterion_trace, switch_criterion, switch_step_of
from loopvalley.stats import mean_interval

BLUE, VERMILLION, GREEN, ORANGE, PURPLE, SKY, YELLOW, GREY = (
    "#0072B2", "#D55E00", "#009E73", "#E69F00", "#CC79A7", "#56B4E9", "#F0E442", "#777777")
ARM_STYLE = {
    "single": {"color": BLUE, "label": "Single-Attn"},
    "looped": {"color": VERMILLION, "label": "Looped-Attn"},
    "shift": {"color": GREEN, "label": "SHIFT"},
}
POLICY_COLOR = {"keep": ORANGE, "reset": GREEN, "reset+rewarmup": PURPLE}
WEIGHT_STYLE = {"W_Q": {"color": ORANGE, "ls": "-"}, "W_K": {"color": PURPLE, "ls": "-"},
                "W_V": {"color": SKY, "ls": "--"}, "W_O": {"color": GREY, "ls": "--"}}


def plot_criterion(history, cfg, records=None, split: str = "complex", delta1=None, delta2=None, patience=None,
                   last_step=None):
    """SCP replayed on Single's recorded ``history``, one quantity per panel on a shared step axis:
    the window loss L_t; with ``records`` the arms' ``split`` accuracy; the relative improvement r_t
    against δ1 and the gradient coherence ρ_t against δ2; the patience counter c_t against W. Stalled
    checks are shaded, the switch step marked; ``last_step`` (Single's decay start) hatches the checks
    SHIFT may no longer switch at. Every legend sits to the right of its panel, off the data.

    Introduced in notebooks/07_shift.
    """
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch
    from matplotlib.ticker import MaxNLocator

    d1 = cfg.delta1 if delta1 is None else delta1
    d2 = cfg.delta2 if delta2 is None else delta2
    W = cfg.patience if patience is None else patience
    steps = np.asarray(history["step"])
    keep = steps <= (last_step if last_step is not None else steps.max())
    h = {k: np.asarray(history[k])[keep] for k in ("step", "loss", "coherence")}
    tr = criterion_trace(h, d1, d2, W)
    steps = h["step"]
    fire = None if tr["fire"] is None else steps[tr["fire"]]
    ratios = [1, 1, 1, 0.7] if records else [1, 1, 0.7]
    fig, axes = plt.subplots(len(ratios), 1, figsize=(9, 2.0 * sum(ratios) + 1.2), sharex=True,
                             gridspec_kw={"height_ratios": ratios})
    out = dict(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False, borderaxespad=0)
    ax, i = axes[0], 1
    ax.plot(steps, h["loss"], color="k", lw=1.2, label="Single: window\nloss $L_t$")
    ax.set_ylabel("training loss")
    ax.legend(**out)
    if records:
        ax = axes[i]
        i += 1
        for arm, rec in records.items():
            st, acc = rec.curve(split, "acc")
            ax.plot(st, 100 * acc, **ARM_STYLE.get(arm, {"label": arm}), lw=1.4)
        ax.set_ylabel(f"{split}-split\naccuracy (%)")
        ax.legend(**out)
    ax = axes[i]
    ax.plot(steps, 100 * tr["r"], color=PURPLE, lw=1.2, label="$r_t$: relative loss\nimprovement")
    ax.axhline(100 * d1, color=PURPLE, ls="--", lw=1, label=fr"$\delta_1$ = {100 * d1:.3g} %")
    ax.plot(steps, 100 * tr["rho"], color=ORANGE, lw=1.2, label=r"$\rho_t$: gradient coherence")
    if math.isfinite(d2):
        ax.axhline(100 * d2, color=ORANGE, ls="--", lw=1, label=fr"$\delta_2$ = {100 * d2:.3g} %")
    ax.set_ylim(-5, 60)
    ax.set_ylabel("%")
    ax.legend(**out)
    ax = axes[i + 1]
    ax.step(steps, tr["count"], where="post", color="k", lw=1.2, label="patience\ncounter $c_t$")
    ax.axhline(W, color=VERMILLION, ls="--", lw=1, label=f"W = {W}")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))  # c_t counts checks: integer ticks
    ax.set_ylabel("$c_t$")
    ax.set_xlabel("step")
    ax.legend(**out)
    width = steps[1] - steps[0] if len(steps) > 1 else 1
    xmax = max([float(np.max(history["step"]))] + [float(np.max(r.curve(split, "acc")[0])) for r in (records or {}).values()])
    hatch = last_step is not None and xmax > last_step  # the decay is drawn where a curve reaches it
    for a in axes:
        for s, st in zip(steps, tr["stalled"]):
            if st:
                a.axvspan(s - width, s, color="0.88", lw=0, zorder=0)
        if fire is not None:
            a.axvline(fire, color="k", ls=":", lw=1.6)  # black: SHIFT's own curve is green
        if hatch:
            a.axvspan(last_step, xmax, facecolor="0.96", edgecolor="0.7", hatch="//", lw=0, zorder=0)
    marks = [Patch(color="0.88", label="stalled check")]
    if fire is not None:
        marks.append(Line2D([], [], color="k", ls=":", lw=1.6, label=f"switch (step {fire})"))
    if hatch:
        marks.append(Patch(facecolor="0.96", hatch="//", edgecolor="0.7", lw=0, label="Single decays: SCP may no longer switch"))
    fig.legend(handles=marks, loc="lower left", bbox_to_anchor=(0.0, 0.0), ncol=len(marks), fontsize=8, frameon=False)
    title = f"SCP: δ1 = {d1:.3g}, δ2 = {d2:.3g}, W = {W} → " + (f"switch at step {fire}" if fire is not None else "never switches")
    axes[0].set_title(title)
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    return fig


def sweep_switch_steps(histories, cfg, last_step=None, delta1s=None, delta2s=None, patiences=None) -> dict:
    """Switch steps of SCP replayed on each recorded history while one of δ1, δ2, W varies (the others
    at ``cfg``'s values): ``{"delta1": (values, steps (seed, value)), "delta2": ..., "patience": ...}``;
    ``nan`` = never switches (within ``last_step``).

    Introduced in notebooks/07_shift.
    """
    delta1s = np.geomspace(1e-3, 0.3, 23) if delta1s is None else np.asarray(delta1s, float)
    delta2s = np.geomspace(0.02, 1.0, 23) if delta2s is None else np.asarray(delta2s, float)
    patiences = np.arange(1, 13) if patiences is None else np.asarray(patiences)
    hs = []
    for h in histories:
        st = np.asarray(h["step"])
        keep = st <= (last_step if last_step is not None else st.max())
        hs.append({k: list(np.asarray(h[k])[keep]) for k in ("step", "loss", "coherence")})

    def steps(fn, values):
        out = np.full((len(hs), len(values)), np.nan)
        for i, h in enumerate(hs):
            for j, v in enumerate(values):
                s = fn(h, v)
                out[i, j] = np.nan if s is None else s
        return out

    return {
        "delta1": (delta1s, steps(lambda h, v: switch_criterion(h, v, cfg.delta2, cfg.patience), delta1s)),
        "delta2": (delta2s, steps(lambda h, v: switch_criterion(h, cfg.delta1, min(v, math.inf), cfg.patience), delta2s)),
        "patience": (patiences, steps(lambda h, v: switch_criterion(h, cfg.delta1, cfg.delta2, int(v)), patiences)),
    }


def plot_switch_sweep(histories, cfg, last_step=None, sweep=None, labels=None):
    """What each SCP threshold does to the switch step: one panel per δ1, δ2, W (the other two at
    ``cfg``'s values), one line per seed (``labels``: the seeds' names); a marker above the top edge
    = never switches (one row per seed). The dotted line marks ``cfg``'s value.

    Introduced in notebooks/07_shift.
    """
    sweep = sweep if sweep is not None else sweep_switch_steps(histories, cfg, last_step)
    top = last_step if last_step is not None else max(max(h["step"]) for h in histories)
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.6), sharey=True, layout="constrained")
    names = {"delta1": ("δ1 (relative loss improvement threshold)", cfg.delta1, "log"),
             "delta2": ("δ2 (gradient coherence threshold)", cfg.delta2, "log"),
             "patience": ("W (patience, checks)", cfg.patience, "linear")}
    colors = [BLUE, VERMILLION, GREEN, ORANGE, PURPLE, SKY, GREY, "k", YELLOW, "#8c564b"]
    for ax, (key, (label, default, scale)) in zip(axes, names.items()):
        x, y = sweep[key]
        for i, row in enumerate(y):
            col = colors[i % len(colors)]
            name = f"seed {labels[i]}" if labels is not None else f"seed #{i + 1}"
            ax.plot(x, row, marker="o", ms=3, lw=1.2, color=col, alpha=0.85, label=name)
            never = np.isnan(row)
            ax.plot(x[never], np.full(never.sum(), top * (1.03 + 0.035 * i)), "v", ms=4, color=col, alpha=0.85,
                    clip_on=False)
        if math.isfinite(default):
            ax.axvline(default, color="k", ls=":", lw=1)
        ax.set_xscale(scale)
        ax.set_xlabel(label)
        ax.set_ylim(0, top * (1.05 + 0.035 * len(y)))
    axes[0].set_ylabel("switch step (▼ = never)")
    axes[0].legend(fontsize=7, loc="lower left", ncol=2)
    fig.suptitle("SCP replayed on each seed's Single history: one threshold varies, the others at their defaults",
                 fontsize=10)
    return fig


def _band(ax, xs, ys, color, label, lw=1.6, ls="-"):
    n = min(len(y) for y in ys)
    x = np.asarray(xs[0][:n], float)
    Y = np.asarray([y[:n] for y in ys], float)
    ax.plot(x, Y.mean(0), color=color, lw=lw, ls=ls, label=label)
    if len(ys) > 1:
        ax.fill_between(x, Y.min(0), Y.max(0), color=color, alpha=0.15, lw=0)


def plot_comparison(records, decay_steps: int | None = None, split: str = "complex"):
    """Single, Looped and SHIFT: ``split`` accuracy against steps (left) and training FLOPs (right),
    mean over seeds with min–max bands; SHIFT's switch steps dashed, every arm's decay phase marked
    by a bar under its curve; the dotted line is Looped's final accuracy − 1 point.

    Introduced in notebooks/07_shift.
    """
    fig, axes = plt.subplots(1, 2, figsize=(12, 4), sharey=True)
    looped_final = np.mean([100 * r["looped"].eval_acc[split][-1] for r in records])
    for arm in ("single", "looped", "shift"):
        curves = [r[arm].curve(split, "acc") for r in records]
        _band(axes[0], [c[0] for c in curves], [100 * c[1] for c in curves], **ARM_STYLE[arm])
        _band(axes[1], [flops_at_evals(r[arm]) for r in records], [100 * c[1] for c in curves], **ARM_STYLE[arm])
    for ax in axes:
        ax.axhline(looped_final - 1, color=GREY, ls=":", lw=1, label="Looped's final − 1 point")
    lo = axes[0].get_ylim()[0]
    if decay_steps:
        for k, arm in enumerate(("single", "looped", "shift")):
            ends = [r[arm].eval_step[-1] for r in records]
            for e in ends:
                axes[0].plot([e - decay_steps, e], [lo + 0.4 * k + 0.3] * 2, color=ARM_STYLE[arm]["color"], lw=3,
                             alpha=0.5, solid_capstyle="butt")
    for r in records:
        s = switch_step_of(r["shift"])
        if s is not None:
            axes[0].axvline(s, color=GREEN, ls="--", lw=0.8, alpha=0.6)
    axes[0].set_ylabel(f"{split}-split accuracy (%)")
    axes[0].set_xlabel("training step")
    axes[1].set_xlabel("training FLOPs")
    axes[0].set_title("against steps (dashed: switch; bars: each arm's decay)", fontsize=10)
    axes[1].set_title("against compute (all budgets end at Looped's)", fontsize=10)
    axes[1].legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    return fig


def plot_budgets(per):
    """F2: SHIFT's decayed complex-split accuracy at each FLOP budget (fraction of Looped's), one
    line per seed, against that seed's target (Looped's final − 1 point, the horizontal tick); the
    crossing is the measured ratio (○), the grey ▲ the best case for the seed's switch step.

    Introduced in notebooks/07_shift.
    """
    fig, ax = plt.subplots(figsize=(6.5, 4))
    colors = [BLUE, VERMILLION, GREEN, ORANGE, PURPLE, SKY, GREY, "k", YELLOW, "#8c564b"]
    for i, p in enumerate(per):
        col = colors[i % len(colors)]
        fr = sorted(p["branch_acc"], key=float)
        x = [float(f) for f in fr]
        y = [p["branch_acc"][f] - p["target"] for f in fr]
        ax.plot(x, y, marker="o", ms=4, color=col, lw=1.3, label=f"seed {p['seed']}")
        ax.plot([p["f2_ratio"]], [0], "o", mfc="none", mec=col, ms=9)
        if math.isfinite(p["f2_bound"]):
            ax.plot([p["f2_bound"]], [0], "^", color=GREY, ms=7)
    ax.axhline(0, color="k", lw=0.8)
    ax.axvline(1, color=VERMILLION, ls=":", lw=1)
    ax.set_xlabel("SHIFT's FLOP budget ÷ Looped's")
    ax.set_ylabel("SHIFT's decayed accuracy − target (points)")
    ax.set_title("F2: the budget at which SHIFT reaches Looped's final − 1 point\n(○ measured, ▲ best case)",
                 fontsize=10)
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    return fig


def _interval(v):
    v = np.asarray(v, float)
    if v.size >= 2:
        m, lo, hi = mean_interval(v)
        return m, lo, hi
    return float(v.mean()), math.nan, math.nan


def plot_policy_ablation(record, keys=("f1_margin", "transient_drop"), chosen: str | None = None):
    """The switch-policy ablation from a selection record (``{key: {policy: [per seed]}}``, e.g.
    :data:`loopvalley.shift.experiment.POLICY_SELECTION`): per policy the mean with its 95 % t
    interval and the seeds as dots, one panel per key; the chosen policy starred.

    Introduced in notebooks/07_shift.
    """
    titles = {"f1_margin": "F1 margin: SHIFT − Looped + 1 (points)", "transient_drop": "drop after the switch (points)",
              "f2_ratio": "F2: FLOPs to Looped's accuracy ÷ Looped's", "shift_final": "SHIFT's final accuracy (%)"}
    fig, axes = plt.subplots(1, len(keys), figsize=(4.6 * len(keys), 3.6), squeeze=False)
    for ax, key in zip(axes[0], keys):
        pols = list(record[key])
        for i, p in enumerate(pols):
            v = np.asarray(record[key][p], float)
            m, lo, hi = _interval(v)
            col = POLICY_COLOR.get(p, GREY)
            ax.errorbar([i], [m], yerr=None if math.isnan(lo) else [[m - lo], [hi - m]], fmt="s", color=col,
                        ms=7, capsize=5, lw=1.5)
            ax.plot(np.full(v.size, i) + np.linspace(-0.12, 0.12, v.size), v, "o", color=col, ms=3.5, alpha=0.6)
        if key in ("f1_margin",):
            ax.axhline(0, color="k", lw=0.8)
        if key == "f2_ratio":
            ax.axhline(1, color="k", lw=0.8)
        ax.set_xticks(range(len(pols)), [p + (" ★" if p == chosen else "") for p in pols])
        ax.set_xlim(-0.6, len(pols) - 0.4)
        ax.set_title(titles.get(key, key), fontsize=10)
    fig.suptitle(f"switch policies on exploratory seeds {record.get('seeds', '')} (mean, 95 % interval, seeds)",
                 fontsize=10)
    fig.tight_layout()
    return fig


def plot_alignment(single_records, theorem_records=None, early: int | None = None,
                   weights=("W_Q", "W_K", "W_V", "W_O")):
    """Theorem 3: cos(∇_W L_single, ∇_W L_looped) at the same weights along Single's run, mean over
    seeds with min–max bands; left the theorem's model (linear attention, no LayerNorm), right the
    experiments' model (softmax, pre-LayerNorm). The early window (steps 0..``early``) is shaded.

    Introduced in notebooks/07_shift.
    """
    panels = [("theorem's model: linear attention, no LayerNorm", theorem_records),
              ("experiments' model: softmax, pre-LayerNorm", single_records)]
    panels = [(t, r) for t, r in panels if r and all(x is not None for x in r)]
    fig, axes = plt.subplots(1, len(panels), figsize=(6.2 * len(panels), 3.8), squeeze=False)
    for ax, (title, recs) in zip(axes[0], panels):
        for w in weights:
            xs = [np.asarray(r.probes["theorem3"]["step"]) for r in recs]
            ys = [np.asarray(r.probes["theorem3"][f"cos_{w}"], float) for r in recs]
            st = WEIGHT_STYLE[w]
            _band(ax, xs, ys, st["color"], w, lw=1.6 if w in ("W_Q", "W_K") else 1.0, ls=st["ls"])
        if early is not None:
            ax.axvspan(0, early, color="0.92", lw=0, zorder=0)
        ax.axhline(0, color="k", lw=0.6)
        ax.axhline(0.5, color=GREY, ls=":", lw=1)
        ax.set_ylim(-1.05, 1.05)
        ax.set_xlabel("step of Single-Attn's run")
        ax.set_title(title, fontsize=10)
    axes[0, 0].set_ylabel("cos(Single grad, Looped grad)")
    axes[0, 0].legend(fontsize=8, ncol=2, loc="lower left")
    fig.tight_layout()
    return fig


def plot_premises(single_records, theorem_records=None):
    """Theorem 3's premises along Single's run (mean over seeds): diagonal dominance of W_QᵀW_K and
    PSD-ness of W_QᵀW_K, W_O W_V and their product, in the theorem's and the experiments' model.

    Introduced in notebooks/07_shift.
    """
    panels = [("theorem's model", theorem_records), ("experiments' model", single_records)]
    panels = [(t, r) for t, r in panels if r and all(x is not None for x in r)]
    fig, axes = plt.subplots(1, len(panels), figsize=(5.5 * len(panels), 3.3), squeeze=False, sharey=True)
    for ax, (title, recs) in zip(axes[0], panels):
        for key, label, col in (("dd_QK", "diag. dominant rows of $W_Q^TW_K$", "k"),
                                ("psd_QK", "PSD-ness of $W_Q^TW_K$", ORANGE),
                                ("psd_OV", "PSD-ness of $W_OW_V$", BLUE),
                                ("psd_QK_OV", "PSD-ness of the product", GREEN)):
            xs = [np.asarray(r.probes["theorem3"]["step"]) for r in recs]
            ys = [np.asarray(r.probes["theorem3"][key], float) for r in recs]
            _band(ax, xs, ys, col, label, lw=1.3)
        ax.set_ylim(-0.05, 1.05)
        ax.set_xlabel("step")
        ax.set_title(title, fontsize=10)
    axes[0, 0].legend(fontsize=7)
    fig.tight_layout()
    return fig


def plot_length_generalisation(by_length, n_train, baselines=None, metric: str = "exact_match"):
    """Accuracy by length for each task (one panel each): the three arms, mean over seeds with
    min–max bands; chance (dotted) and the input-blind baseline (dashed) where given; the shaded
    region is beyond the training length n (``n_train``: one length, or ``{task: length}``).

    ``by_length``: ``{task: {arm: [{"length": [...], metric: [...]}, ...per seed]}}``;
    ``baselines``: ``{task: {"length": [...], "chance_exact_match": [...], "majority_exact_match": [...]}}``.

    Introduced in notebooks/08_algorithmic_tasks.
    """
    tasks = list(by_length)
    fig, axes = plt.subplots(1, len(tasks), figsize=(3.7 * len(tasks), 3.3), sharey=True, squeeze=False)
    for ax, task in zip(axes[0], tasks):
        Lmax = 1
        for arm in ("single", "looped", "shift"):
            rows = by_length[task].get(arm, [])
            if not rows:
                continue
            xs = [np.asarray(r["length"]) for r in rows]
            ys = [100 * np.asarray(r[metric], float) for r in rows]
            _band(ax, xs, ys, ARM_STYLE[arm]["color"], ARM_STYLE[arm]["label"], lw=1.4)
            Lmax = max(Lmax, max(int(x.max()) for x in xs))
        if baselines and task in baselines:
            b = baselines[task]
            kind = "exact_match" if metric == "exact_match" else "token_acc"
            ax.plot(b["length"], 100 * np.asarray(b[f"chance_{kind}"]), ":", color="k", lw=1, label="chance")
            ax.plot(b["length"], 100 * np.asarray(b[f"majority_{kind}"]), "--", color=GREY, lw=1, label="input-blind best")
        n = n_train[task] if isinstance(n_train, dict) else n_train
        ax.axvspan(n + 0.5, Lmax + 0.5, color="0.92", lw=0, zorder=0, label="beyond the training length")
        ax.set_title(task.replace("_", " "))
        ax.set_xlabel("length n")
    axes[0, 0].set_ylabel(metric.replace("_", " ") + " (%)")
    handles, labels = axes[0, 0].get_legend_handles_labels()  # one legend for every panel, under them (off the data)
    ncol = min(len(labels), 3 if len(tasks) < 3 else 6)
    fig.legend(handles, labels, loc="lower center", ncol=ncol, fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0.08 * math.ceil(len(labels) / ncol), 1, 1))
    return fig
