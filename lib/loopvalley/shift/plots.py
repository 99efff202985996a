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


# ----------------------------------------------------------------------------------------------
# Rules v4 (issue 24): F2 without the tolerance credit, F3a/F3b's windows, F4b's oracle sweep


def plot_reach(per):
    """F2: SHIFT's decayed complex-split accuracy at each FLOP budget (fraction of Looped's) minus
    Looped's final accuracy — the target — one green line per seed; Looped's own decayed accuracy at
    its smaller budgets likewise (vermillion, dashed). Where a green line crosses 0 is SHIFT's
    measured ratio (○); the dotted line at −1 is the target of F2's alternative that gives both arms
    1 point. ``per``: :func:`loopvalley.shift.experiment.measure_seed` rows.

    Introduced in notebooks/07_shift.
    """
    fig, ax = plt.subplots(figsize=(6.8, 4.2))
    for i, p in enumerate(per):
        L = p["looped_final"]
        fr = sorted(p["branch_acc"], key=float)
        ax.plot([float(f) for f in fr], [p["branch_acc"][f] - L for f in fr], marker="o", ms=3.5, color=GREEN, lw=1.1,
                alpha=0.75, label="SHIFT, per seed" if i == 0 else None)
        lf = sorted(p.get("looped_branch_acc", {}), key=float)
        if lf:
            ax.plot([float(f) for f in lf], [p["looped_branch_acc"][f] - L for f in lf], marker="s", ms=3, color=VERMILLION,
                    lw=1.0, ls="--", alpha=0.75, label="Looped, per seed" if i == 0 else None)
        if math.isfinite(p["f2_ratio"]) and not p.get("f2_censored"):
            ax.plot([p["f2_ratio"]], [0], "o", mfc="none", mec="k", ms=8, label="SHIFT reaches it" if i == 0 else None)
    ax.axhline(0, color="k", lw=0.9, label="Looped's final accuracy (F2's target)")
    ax.axhline(-1, color=GREY, ls=":", lw=1, label="− 1 point (the alternative, both arms)")
    ax.axvline(1, color=VERMILLION, ls=":", lw=1)
    ax.set_xlabel("FLOP budget ÷ Looped's full budget")
    ax.set_ylabel("decayed accuracy − Looped's final (points)")
    ax.set_title("F2: the budget at which SHIFT reaches Looped's final accuracy", fontsize=10)
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    return fig


def plot_alignment_windows(single_records, theorem_records, window_ends, exits=None, weights=("W_Q", "W_K"),
                           threshold: float = 0.5, exit_cos: float = 0.99):
    """Theorem 3 with F3a's and F3b's windows: cos(∇_W L_single, ∇_W L_looped) at the same weights along
    each run, one thin line per seed and weight. Left, the theorem's model: the steps where the cosine
    is still ≥ ``exit_cos`` (the small-weight regime, ∇Looped ≈ 3∇Single) are shaded grey, the first
    step below it per seed (``exits``) marked ▼; F3b averages from there to the switch. Right, the
    experiments' model: F3a averages from step 0 to the switch. Each seed's switch step
    (``window_ends``) is a dotted vertical line; the dashed line is the alignment threshold.

    Introduced in notebooks/07_shift.
    """
    panels = [("theorem's model (linear attention, no LayerNorm): F3b", theorem_records, exits),
              ("experiments' model (softmax, pre-LayerNorm): F3a", single_records, None)]
    panels = [p for p in panels if p[1] and all(x is not None for x in p[1])]
    fig, axes = plt.subplots(1, len(panels), figsize=(6.4 * len(panels), 4.0), squeeze=False, sharey=True)
    xmax = max(window_ends) * 1.08 if len(window_ends) else None
    for ax, (title, recs, ex) in zip(axes[0], panels):
        for w in weights:
            st = WEIGHT_STYLE[w]
            for i, r in enumerate(recs):
                p = r.probes["theorem3"]
                ax.plot(p["step"], p[f"cos_{w}"], color=st["color"], lw=0.9, alpha=0.55, label=w if i == 0 else None)
        if ex is not None:
            finite = [e for e in ex if math.isfinite(e)]
            if finite:
                ax.axvspan(0, float(np.median(finite)), color="0.88", lw=0, zorder=0,
                           label=f"cos ≥ {exit_cos:g} (median over seeds)")
                ax.plot(finite, [1.02] * len(finite), "v", color="k", ms=5, label=f"first step below {exit_cos:g}")
        for i, e in enumerate(window_ends):
            ax.axvline(e, color="k", ls=":", lw=0.8, alpha=0.6, label="switch step (window end)" if i == 0 else None)
        ax.axhline(threshold, color=GREY, ls="--", lw=1, label=f"aligned: {threshold:g}")
        ax.axhline(0, color="k", lw=0.5)
        ax.set_ylim(-1.05, 1.08)
        if xmax:
            ax.set_xlim(-2, xmax)
        ax.set_xlabel("step of the Single-Attn run")
        ax.set_title(title, fontsize=10)
    axes[0, 0].set_ylabel("cos(Single grad, Looped grad)")
    handles = {}
    for ax in axes[0]:  # one legend for both panels, under them (off the data)
        for h, lab in zip(*ax.get_legend_handles_labels()):
            handles.setdefault(lab, h)
    fig.legend(list(handles.values()), list(handles), loc="lower center", ncol=min(len(handles), 6), fontsize=8,
               frameon=False)
    fig.tight_layout(rect=(0, 0.09, 1, 1))
    return fig


def plot_oracle_sweep(record, chosen=None):
    """F4b's sweep on exploratory seeds (``record``: ``ORACLE_SELECTION``): SHIFT − Looped held-out exact
    match at the training lengths against the share of the FLOP budget spent on Single-Attn before
    the switch — mean with its 95 % t interval, the seeds as dots; SHIFT switched by SCP at the share it
    actually spent (◆, mean over seeds, its interval vertical); the chosen share starred. The dashed
    line is −tolerance: F4b holds above it.

    Introduced in notebooks/08_algorithmic_tasks.
    """
    tol = float(record.get("tol", 0.0))
    fig, ax = plt.subplots(figsize=(7, 4.2))
    fs = sorted(record["in_margin"], key=float)
    xs = np.asarray([float(f) for f in fs])
    stats = [_interval(np.asarray(record["in_margin"][f], float) - tol) for f in fs]
    ax.errorbar(xs, [m for m, _, _ in stats], yerr=[[m - lo for m, lo, _ in stats], [hi - m for m, _, hi in stats]],
                fmt="-s", color=GREEN, ms=5, capsize=3, lw=1.3, label="SHIFT, switch at a fixed share (mean, 95 % interval)")
    for x, f in zip(xs, fs):
        v = np.asarray(record["in_margin"][f], float) - tol
        ax.plot(np.full(v.size, x), v, "o", color=GREEN, ms=2.5, alpha=0.5)
    scp = record.get("scp")
    if scp:
        share = float(np.mean([np.mean(row) for row in scp["single_share"]]))
        m, lo, hi = _interval(np.asarray(scp["in_margin"], float) - tol)
        ax.errorbar([share], [m], yerr=None if math.isnan(lo) else [[m - lo], [hi - m]], fmt="D", color=ORANGE, mec="k",
                    ms=7, capsize=3, label="SHIFT, SCP's switch (mean share spent)")
    if chosen is not None:
        i = [float(f) for f in fs].index(float(chosen))
        ax.plot([xs[i]], [stats[i][0]], "*", color="k", ms=14, label="chosen: the highest mean")
    ax.axhline(0, color="k", lw=0.8)
    ax.axhline(-tol, color=GREY, ls="--", lw=1, label=f"−{tol:g} points (the tolerance)")
    ax.set_xlabel("share of Looped's FLOP budget spent on Single-Attn before the switch")
    ax.set_ylabel("SHIFT − Looped, held-out exact match (points)")
    ax.set_title(f"switch-step sweep on exploratory seeds {record.get('seeds', '')} (policy {record.get('policy', '')})",
                 fontsize=10)
    ax.legend(fontsize=7, loc="lower left")
    fig.tight_layout()
    return fig


def plot_length_by_arm(by_length, n_train, baselines=None, arms=("single", "looped", "oracle", "shift"),
                       metric: str = "exact_match"):
    """As :func:`plot_length_generalisation` for any ``arms`` of the algorithmic-tasks experiment (the
    two SHIFT arms: ``oracle`` switched at the chosen step, ``shift`` switched by SCP).

    Introduced in notebooks/08_algorithmic_tasks.
    """
    style = {**ARM_STYLE, "oracle": {"color": GREEN, "label": "SHIFT, oracle switch"},
             "shift": {"color": ORANGE, "label": "SHIFT, SCP switch"}}
    tasks = list(by_length)
    fig, axes = plt.subplots(1, len(tasks), figsize=(max(7.0, 4.6 * len(tasks)), 4.0), sharey=True, squeeze=False)
    for ax, task in zip(axes[0], tasks):
        Lmax = 1
        for arm in arms:
            rows = by_length[task].get(arm, [])
            if not rows:
                continue
            xs = [np.asarray(r["length"]) for r in rows]
            ys = [100 * np.asarray(r[metric], float) for r in rows]
            _band(ax, xs, ys, style[arm]["color"], style[arm]["label"], lw=1.4, ls="--" if arm == "shift" else "-")
            Lmax = max(Lmax, max(int(x.max()) for x in xs))
        if baselines and task in baselines:
            b = baselines[task]
            kind = "exact_match" if metric == "exact_match" else "token_acc"
            ax.plot(b["length"], 100 * np.asarray(b[f"chance_{kind}"]), ":", color="k", lw=1, label="chance")
            ax.plot(b["length"], 100 * np.asarray(b[f"majority_{kind}"]), "-.", color=GREY, lw=1, label="input-blind best")
        n = n_train[task] if isinstance(n_train, dict) else n_train
        ax.axvspan(n + 0.5, Lmax + 0.5, color="0.92", lw=0, zorder=0, label="beyond the training lengths")
        ax.set_title(task.replace("_", " "))
        ax.set_xlabel("length n")
    axes[0, 0].set_ylabel(metric.replace("_", " ") + " (%)")
    handles, labels = axes[0, 0].get_legend_handles_labels()
    ncol = min(len(labels), 3)
    fig.legend(handles, labels, loc="lower center", ncol=ncol, fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0.07 * math.ceil(len(labels) / ncol), 1, 1))
    return fig
