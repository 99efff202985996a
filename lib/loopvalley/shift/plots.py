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
import warnings

import matplotlib.pyplot as plt
import numpy as np

from loopvalley.language.plots import draw_references
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
    ratios = [1, 1.3, 1, 0.7] if records else [1, 1, 0.7]
    fig, axes = plt.subplots(len(ratios), 1, figsize=(9.5, 2.0 * sum(ratios) + 1.2), sharex=True,
                             gridspec_kw={"height_ratios": ratios}, layout="constrained")
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
        draw_references(ax, [next(iter(records.values())).meta.get("references", {})], split, "acc", 100)
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
    fig.legend(handles=marks, loc="outside lower left", ncol=len(marks), fontsize=8, frameon=False)
    title = f"SCP: δ1 = {d1:.3g}, δ2 = {d2:.3g}, W = {W} → " + (f"switch at step {fire}" if fire is not None else "never switches")
    axes[0].set_title(title)
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
    ``cfg``'s values), one line per seed (``labels``: the seeds' names); a "never" row above the
    dashed line (the last step SHIFT may switch at) holds the values at which a seed never switches.
    The dotted line marks ``cfg``'s value; the seeds' legend sits under the panels.

    Introduced in notebooks/07_shift.
    """
    from matplotlib.lines import Line2D

    sweep = sweep if sweep is not None else sweep_switch_steps(histories, cfg, last_step)
    top = last_step if last_step is not None else max(max(h["step"]) for h in histories)
    fig, axes = plt.subplots(1, 3, figsize=(12.5, 4.4), sharey=True, layout="constrained")
    names = {"delta1": ("δ1: relative loss\nimprovement threshold", cfg.delta1, "log"),
             "delta2": ("δ2: gradient\ncoherence threshold", cfg.delta2, "log"),
             "patience": ("W: patience\n(consecutive stalled checks)", cfg.patience, "linear")}
    colors = [BLUE, VERMILLION, GREEN, ORANGE, PURPLE, SKY, GREY, "k", YELLOW, "#8c564b"]
    marks = ["o", "s", "^", "D", "v", "P", "X", "*", "<", ">"]
    n = len(sweep["delta1"][1])
    never_y = top * 1.08  # the "never" row, above the last step SHIFT may switch at
    handles = []
    for ax, (key, (label, default, scale)) in zip(axes, names.items()):
        x, y = sweep[key]
        for i, row in enumerate(y):
            col, mk = colors[i % len(colors)], marks[i % len(marks)]
            ax.plot(x, row, marker=mk, ms=3.5, lw=1.2, color=col, alpha=0.85)
            never = np.isnan(row)
            jitter = top * 0.012 * (i - (n - 1) / 2)  # one sub-row per seed, so coinciding markers stay visible
            ax.plot(x[never], np.full(never.sum(), never_y + jitter), mk, ms=3.5, color=col, alpha=0.85, mfc="none")
            if key == "delta1":
                name = f"seed {labels[i]}" if labels is not None else f"seed #{i + 1}"
                handles.append(Line2D([], [], color=col, marker=mk, ms=4, lw=1.2, label=name))
        ax.axhline(top, color=GREY, ls="--", lw=0.8)
        if math.isfinite(default):
            ax.axvline(default, color="k", ls=":", lw=1)
        ax.set_xscale(scale)
        ax.set_xlabel(label)
    axes[0].set_ylim(0, top * 1.16)
    ticks = [t for t in axes[0].get_yticks() if 0 <= t <= top * 0.97]
    axes[0].set_yticks(ticks + [never_y], [f"{t:g}" for t in ticks] + ["never"])
    axes[0].set_ylabel("switch step")
    handles += [Line2D([], [], color="k", ls=":", lw=1, label="the default value"),
                Line2D([], [], color=GREY, ls="--", lw=0.8, label=f"last step SHIFT may switch at ({top:g})"),
                Line2D([], [], color="0.3", marker="o", mfc="none", ls="", ms=4, label="never switches (open marker)")]
    fig.legend(handles=handles, loc="outside lower center", ncol=min(len(handles), 5), fontsize=8, frameon=False)
    fig.suptitle("SCP replayed on each seed's Single history: one threshold varies, the others at their defaults",
                 fontsize=10)
    return fig


def _band(ax, xs, ys, color, label, lw=1.6, ls="-", band: bool = True):
    """Mean over seeds with a min–max band. Seeds evaluated at different x (SHIFT's runs differ in length
    and in FLOPs per step) are interpolated onto the union of their x; at each x the mean and the band
    are over the seeds whose run reaches it, so every curve runs to its longest seed's end."""
    xs = [np.asarray(x, float) for x in xs]
    ys = [np.asarray(y, float) for y in ys]
    if all(len(x) == len(xs[0]) and np.array_equal(x, xs[0]) for x in xs):
        x, Y = xs[0], np.asarray(ys)
    else:
        x = np.unique(np.concatenate([xi[np.isfinite(xi)] for xi in xs]))
        Y = np.full((len(ys), len(x)), np.nan)
        for i, (xi, yi) in enumerate(zip(xs, ys)):
            ok = np.isfinite(xi) & np.isfinite(yi)
            inside = (x >= xi[ok].min()) & (x <= xi[ok].max())
            Y[i, inside] = np.interp(x[inside], xi[ok], yi[ok])
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # an x no seed reaches: nan, not drawn
        mean, lo, hi = np.nanmean(Y, 0), np.nanmin(Y, 0), np.nanmax(Y, 0)
    ax.plot(x, mean, color=color, lw=lw, ls=ls, label=label)
    if band and len(ys) > 1:
        ax.fill_between(x, lo, hi, color=color, alpha=0.15, lw=0)


def plot_comparison(records, decay_steps: int | None = None, split: str = "complex"):
    """Single, Looped and SHIFT: ``split`` accuracy against steps (left) and against training FLOPs as
    a fraction of Looped's (right), mean over seeds with min–max bands, with the reference predictors
    (chance 1/V, in-context unigram and bigram, Bayes with the true chain); SHIFT's switch steps
    dashed; on the left each arm's decay phase is a bar in its own row under the curves; the dotted
    line is Looped's final accuracy − 1 point. One legend, under the panels.

    Introduced in notebooks/07_shift.
    """
    from matplotlib.lines import Line2D
    from matplotlib.transforms import blended_transform_factory

    fig, axes = plt.subplots(1, 2, figsize=(12, 4.8), sharey=True, layout="constrained")
    looped_final = np.mean([100 * r["looped"].eval_acc[split][-1] for r in records])
    handles = []
    for arm in ("single", "looped", "shift"):
        curves = [r[arm].curve(split, "acc") for r in records]
        _band(axes[0], [c[0] for c in curves], [100 * c[1] for c in curves], **ARM_STYLE[arm])
        budgets = [float(flops_at_evals(r["looped"])[-1]) for r in records]  # equal compute: Looped's total
        _band(axes[1], [flops_at_evals(r[arm]) / b for r, b in zip(records, budgets)], [100 * c[1] for c in curves],
              **ARM_STYLE[arm])
        handles.append(Line2D([], [], color=ARM_STYLE[arm]["color"], lw=1.6, label=ARM_STYLE[arm]["label"]))
    refs = [r["single"].meta.get("references", {}) for r in records]
    for ax in axes:
        lines = draw_references(ax, refs, split, "acc", 100)
        ax.axhline(looped_final - 1, color=GREY, ls=":", lw=1.2)
    handles += lines + [Line2D([], [], color=GREY, ls=":", lw=1.2, label="Looped's final − 1 point (F1's bar)")]
    switched = False
    for r in records:
        s = switch_step_of(r["shift"])
        if s is not None:
            axes[0].axvline(s, color=GREEN, ls="--", lw=0.8, alpha=0.6)
            switched = True
    if switched:
        handles.append(Line2D([], [], color=GREEN, ls="--", lw=0.8, label="SHIFT's switch (one line per seed)"))
    if decay_steps:
        lo, hi = axes[0].get_ylim()
        axes[0].set_ylim(lo - 0.14 * (hi - lo), hi)  # an empty strip under every curve and line for the bars
        tr = blended_transform_factory(axes[0].transData, axes[0].transAxes)  # x in steps, y in axes fractions
        for k, arm in enumerate(("single", "looped", "shift")):
            for r in records:
                e = r[arm].eval_step[-1]
                axes[0].plot([e - decay_steps, e], [0.025 + 0.032 * k] * 2, transform=tr, color=ARM_STYLE[arm]["color"],
                             lw=3, alpha=0.6, solid_capstyle="butt")
        handles.append(Line2D([], [], color="0.4", lw=3, alpha=0.6,
                              label="each arm's decay (bars under the curves, one row per arm)"))
    axes[0].set_ylabel(f"{split}-split accuracy (%)")
    axes[0].set_xlabel("training step")
    axes[1].set_xlabel("training FLOPs ÷ Looped's total")
    axes[0].set_title("against steps", fontsize=10)
    axes[1].set_title("against compute (every arm ends at Looped's budget)", fontsize=10)
    fig.legend(handles=handles, loc="outside lower center", ncol=4, fontsize=8, frameon=False)
    return fig


def plot_budgets(per):
    """F2: SHIFT's decayed complex-split accuracy at each FLOP budget (fraction of Looped's), one
    line per seed, against that seed's target (Looped's final − 1 point, the line at 0); the crossing
    is the measured ratio (○), the grey ▲ the best case for the seed's switch step. A *censored*
    ratio — the target already reached at the smallest budget, or not yet at the largest — is only a
    bound: it is drawn as an open marker with an arrow pointing where the true value lies, "≤" or "≥".

    Introduced in notebooks/07_shift.
    """
    from matplotlib.lines import Line2D

    fig, ax = plt.subplots(figsize=(8.8, 4.4), layout="constrained")
    colors = [BLUE, VERMILLION, GREEN, ORANGE, PURPLE, SKY, GREY, "k", YELLOW, "#8c564b"]
    handles, censored, bound = [], set(), False
    for i, p in enumerate(per):
        col = colors[i % len(colors)]
        fr = sorted(p["branch_acc"], key=float)
        x = [float(f) for f in fr]
        y = [p["branch_acc"][f] - p["target"] for f in fr]
        handles += ax.plot(x, y, marker="o", ms=4, color=col, lw=1.3, label=f"seed {p['seed']}")
        cens = p.get("f2_censored") or ""
        if cens:  # a bound, not a measurement: open marker, the side the true ratio lies on written above it
            censored.add(cens)
            ax.plot([p["f2_ratio"]], [0], "o", mfc="white", mec=col, ms=9, mew=1.5, zorder=5)
            ax.annotate(("← ≤ " if cens == "below" else "≥ ") + f"{p['f2_ratio']:.2g}" + (" →" if cens == "above" else ""),
                        xy=(p["f2_ratio"], 0), xytext=(0, 9 + 11 * (len(censored) - 1)), textcoords="offset points",
                        ha="center", va="bottom", fontsize=8, color=col)
        else:
            ax.plot([p["f2_ratio"]], [0], "o", mfc=col, mec=col, ms=9, alpha=0.6, zorder=5)
        if math.isfinite(p["f2_bound"]):
            ax.plot([p["f2_bound"]], [0], "^", color=GREY, ms=7)
            bound = True
    ax.axhline(0, color="k", lw=0.8)
    ax.axvline(1, color="k", ls=":", lw=1)
    ax.set_xlabel("SHIFT's FLOP budget ÷ Looped's")
    ax.set_ylabel("SHIFT's decayed accuracy − target (points)")
    ax.set_title("F2: the budget at which SHIFT reaches its target, Looped's final − 1 point", fontsize=10)
    handles += [Line2D([], [], color="k", lw=0.8, label="the target (0: Looped's final − 1 point)"),
                Line2D([], [], color="k", ls=":", lw=1, label="Looped's budget (1×)"),
                Line2D([], [], ls="", marker="o", color="0.4", ms=8, alpha=0.6, label="measured ratio (crossing)")]
    if censored:
        words = {"below": "≤: already there at the smallest budget", "above": "≥: not there at the largest budget"}
        handles.append(Line2D([], [], ls="", marker="o", mfc="white", mec="0.3", ms=8, mew=1.5,
                              label="censored ratio, a bound (" + "; ".join(words[c] for c in sorted(censored, reverse=True)) + ")"))
    if bound:
        handles.append(Line2D([], [], ls="", marker="^", color=GREY, ms=7, label="best case for the seed's switch step"))
    ax.legend(handles=handles, fontsize=7.5, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
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
                   weights=("W_Q", "W_K", "W_V", "W_O"), threshold: float = 0.5):
    """Theorem 3: cos(∇_W L_single, ∇_W L_looped) at the same weights along Single's run, mean over
    seeds with min–max bands; left the theorem's model (linear attention, no LayerNorm), right the
    experiments' model (softmax, pre-LayerNorm). The early window (steps 0..``early``, where claim F3
    averages the W_Q and W_K cosines) is shaded, F3's ``threshold`` dotted; the legend sits under the
    panels.

    Introduced in notebooks/07_shift.
    """
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    panels = [("theorem's model: linear attention, no LayerNorm", theorem_records),
              ("experiments' model: softmax, pre-LayerNorm", single_records)]
    panels = [(t, r) for t, r in panels if r and all(x is not None for x in r)]
    fig, axes = plt.subplots(1, len(panels), figsize=(6.2 * len(panels), 4.4), squeeze=False, layout="constrained")
    for ax, (title, recs) in zip(axes[0], panels):
        for w in weights:
            xs = [np.asarray(r.probes["theorem3"]["step"]) for r in recs]
            ys = [np.asarray(r.probes["theorem3"][f"cos_{w}"], float) for r in recs]
            st = WEIGHT_STYLE[w]
            main = w in ("W_Q", "W_K")  # F3's weights get bands; W_V, W_O their mean only (four bands would hide each other)
            _band(ax, xs, ys, st["color"], w, lw=1.6 if main else 1.0, ls=st["ls"], band=main)
        if early is not None:
            ax.axvspan(0, early, color=YELLOW, alpha=0.12, lw=0, zorder=0)
        ax.axhline(0, color="k", lw=0.6)
        ax.axhline(threshold, color=GREY, ls=":", lw=1.2)
        ax.set_ylim(-1.05, 1.05)
        ax.set_xlabel("step of Single-Attn's run")
        ax.set_title(title, fontsize=10)
    axes[0, 0].set_ylabel("cos(Single's gradient, Looped's gradient)")
    handles = [Line2D([], [], color=WEIGHT_STYLE[w]["color"], ls=WEIGHT_STYLE[w]["ls"],
                      lw=1.6 if w in ("W_Q", "W_K") else 1.0, label=f"${w}$") for w in weights]
    handles.append(Line2D([], [], color=GREY, ls=":", lw=1.2, label=f"F3's threshold ({threshold:g}, mean of W_Q and W_K)"))
    if early is not None:
        handles.append(Patch(color=YELLOW, alpha=0.12, lw=0, label=f"early window, steps 0–{early} (F3 averages here)"))
    handles.append(Patch(color="0.6", alpha=0.3, label="min–max over seeds ($W_Q$, $W_K$)"))
    fig.legend(handles=handles, loc="outside lower center", ncol=4, fontsize=8, frameon=False)
    return fig


def premise_summary(records) -> dict:
    """Theorem 3's premises along a run, mean over the seeds' ``records`` at every probed step: the
    largest share of diagonally dominant rows of W_QᵀW_K at any step (Assumption 4 asks for 1), and
    the PSD-ness of W_QᵀW_K, W_O W_V and their product at the last step (Assumption 5 asks for 1), with
    whether each assumption holds there.

    Introduced in notebooks/07_shift.
    """
    def curve(key):
        ys = [np.asarray(r.probes["theorem3"][key], float) for r in records]
        n = min(len(y) for y in ys)
        return np.mean([y[:n] for y in ys], axis=0)

    dd = curve("dd_QK")
    psd = {k: float(curve(k)[-1]) for k in ("psd_QK", "psd_OV", "psd_QK_OV")}
    return {"dd_max": float(np.max(dd)), "dd_final": float(dd[-1]), **{f"{k}_final": v for k, v in psd.items()},
            "assumption4_holds": bool(np.max(dd) >= 1.0), "assumption5_holds": bool(min(psd.values()) >= 0.99),
            "last_step": int(records[0].probes["theorem3"]["step"][-1])}


def plot_premises(single_records, theorem_records=None):
    """Theorem 3's premises along Single's run (mean over seeds, min–max bands): diagonal dominance
    of W_QᵀW_K (Assumption 4) and PSD-ness of W_QᵀW_K, W_O W_V and their product (Assumption 5), in
    the theorem's and the experiments' model. Both premises ask for 1 (the dashed line); under each
    panel, computed from the records (:func:`premise_summary`), how far the run is from them.

    Introduced in notebooks/07_shift.
    """
    from matplotlib.lines import Line2D

    panels = [("theorem's model: linear attention, no LayerNorm", theorem_records),
              ("experiments' model: softmax, pre-LayerNorm", single_records)]
    panels = [(t, r) for t, r in panels if r and all(x is not None for x in r)]
    fig, axes = plt.subplots(1, len(panels), figsize=(6.0 * len(panels), 4.6), squeeze=False, sharey=True,
                             layout="constrained")
    series = (("dd_QK", "share of diagonally dominant rows of $W_Q^TW_K$", "k"),
              ("psd_QK", "PSD-ness of $W_Q^TW_K$", ORANGE),
              ("psd_OV", "PSD-ness of $W_OW_V$", BLUE),
              ("psd_QK_OV", "PSD-ness of the product $W_Q^TW_K\\,W_OW_V$", GREEN))
    for ax, (title, recs) in zip(axes[0], panels):
        for key, label, col in series:
            xs = [np.asarray(r.probes["theorem3"]["step"]) for r in recs]
            ys = [np.asarray(r.probes["theorem3"][key], float) for r in recs]
            _band(ax, xs, ys, col, label, lw=1.3)
        ax.axhline(1.0, color=GREY, ls="--", lw=1)
        ax.set_ylim(-0.05, 1.08)
        ax.set_xlabel("step of Single-Attn's run")
        ax.set_title(title, fontsize=10)
        p = premise_summary(recs)
        word = lambda ok: "holds" if ok else "does not hold"  # noqa: E731  (one use, two places)
        ax.text(0.0, -0.2, (f"Assumption 4 (every row diagonally dominant) {word(p['assumption4_holds'])}: "
                            f"at most {100 * p['dd_max']:.0f} % of rows at any step.\n"
                            f"Assumption 5 (PSD-ness 1) {word(p['assumption5_holds'])} at step {p['last_step']}: "
                            f"$W_Q^TW_K$ {p['psd_QK_final']:.2f}, $W_OW_V$ {p['psd_OV_final']:.2f}, "
                            f"product {p['psd_QK_OV_final']:.2f}."),
                transform=ax.transAxes, ha="left", va="top", fontsize=8)
    axes[0, 0].set_ylabel("share of rows / PSD-ness")
    handles = [Line2D([], [], color=c, lw=1.3, label=lab) for _, lab, c in series]
    handles.append(Line2D([], [], color=GREY, ls="--", lw=1, label="what the premises ask for (1)"))
    fig.legend(handles=handles, loc="outside lower center", ncol=3, fontsize=8, frameon=False)
    return fig


def shift_label(switched=None) -> str:
    """SHIFT's legend entry from whether each seed's run switched (``None``: unknown): a run whose
    criterion never fired is Single-Attn trained with Looped's FLOPs, and is labelled so.

    Introduced in notebooks/08_algorithmic_tasks.
    """
    if switched is None or len(switched) == 0 or all(switched):
        return ARM_STYLE["shift"]["label"]
    if not any(switched):
        return "SHIFT (never switched: Single trained longer)"
    return f"SHIFT (switched on {sum(map(bool, switched))} of {len(switched)} seeds)"


def plot_length_generalisation(by_length, n_train, baselines=None, metric: str = "exact_match", switched=None):
    """Accuracy by length for each task (one column each) on held-out problems: the three arms, mean
    over seeds with min–max bands, on a linear scale (top) and on a log scale (bottom), where chance
    (dotted) and the input-blind baseline (dashed) — far below 1 % for exact match — are visible next
    to the smallest non-zero score one test problem gives (zeros are not drawn there). The shaded
    region is beyond the training length n (``n_train``: one length, or ``{task: length}``).

    ``by_length``: ``{task: {arm: [{"length": [...], metric: [...], "n_problems": [...]}, ...per seed]}}``;
    ``baselines``: ``{task: {"length": [...], "chance_exact_match": [...], "majority_exact_match": [...]}}``;
    ``switched``: ``{task: [bool per seed]}`` — whether SHIFT's criterion fired; SHIFT is labelled
    "never switched: Single trained longer" where it never did (:func:`shift_label`).

    Introduced in notebooks/08_algorithmic_tasks.
    """
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    tasks = list(by_length)
    from matplotlib.ticker import MaxNLocator

    fig, axes = plt.subplots(2, len(tasks), figsize=(4.8 * len(tasks) + (4.2 if len(tasks) <= 2 else 1.0), 6.6),
                             sharex="col", squeeze=False,
                             layout="constrained", gridspec_kw={"height_ratios": [1.2, 1]})
    kind = "exact_match" if metric == "exact_match" else "token_acc"
    labels = {}
    for j, task in enumerate(tasks):
        top, bottom = axes[0, j], axes[1, j]
        Lmax, lowest, n_min = 1, math.inf, None
        sw = (switched or {}).get(task)
        for arm in ("single", "looped", "shift"):
            rows = by_length[task].get(arm, [])
            if not rows:
                continue
            label = shift_label(sw) if arm == "shift" else ARM_STYLE[arm]["label"]
            labels.setdefault(arm, label)
            xs = [np.asarray(r["length"]) for r in rows]
            ys = [100 * np.asarray(r[metric], float) for r in rows]
            _band(top, xs, ys, ARM_STYLE[arm]["color"], label, lw=1.4)
            n = min(len(y) for y in ys)
            mean = np.mean([y[:n] for y in ys], axis=0)
            bottom.plot(xs[0][:n], np.where(mean > 0, mean, np.nan), color=ARM_STYLE[arm]["color"], lw=1.4,
                        marker="o", ms=3)
            Lmax = max(Lmax, max(int(x.max()) for x in xs))
            if "n_problems" in rows[0]:
                n_min = max(int(v) for r in rows for v in r["n_problems"])
        if baselines and task in baselines:
            b = baselines[task]
            for key, ls, col in ((f"chance_{kind}", ":", "k"), (f"majority_{kind}", "--", GREY)):
                v = 100 * np.asarray(b[key], float)
                bottom.plot(b["length"], v, ls, color=col, lw=1.2)
                lowest = min(lowest, float(np.min(v[v > 0]))) if (v > 0).any() else lowest
            top.text(0.98, 0.97, "chance and input-blind: see the log scale below", transform=top.transAxes,
                     ha="right", va="top", fontsize=7.5, color="0.3")
        if n_min and metric == "exact_match":
            bottom.axhline(100 / n_min, color=PURPLE, ls="-.", lw=1)
        n = n_train[task] if isinstance(n_train, dict) else n_train
        for ax in (top, bottom):
            ax.axvspan(n + 0.5, Lmax + 0.5, color="0.92", lw=0, zorder=0)
        bottom.set_yscale("log")
        if math.isfinite(lowest):
            bottom.set_ylim(lowest / 2, 100)
        top.set_title(f"{task.replace('_', ' ')} (trained on lengths ≤ {n})", fontsize=10)
        bottom.set_xlabel("length n of the held-out problem")
        bottom.xaxis.set_major_locator(MaxNLocator(integer=True))
    name = metric.replace("_", " ")
    axes[0, 0].set_ylabel(f"{name} (%)")
    axes[1, 0].set_ylabel(f"{name} (%, log scale;\nzeros not drawn)")
    handles = [Line2D([], [], color=ARM_STYLE[a]["color"], lw=1.4, label=lab) for a, lab in labels.items()]
    if baselines:
        handles += [Line2D([], [], ls=":", color="k", lw=1.2, label="chance (uniform guessing)"),
                    Line2D([], [], ls="--", color=GREY, lw=1.2, label="input-blind best (sees the length only)")]
    if metric == "exact_match" and any("n_problems" in r for t in tasks for rs in by_length[t].values() for r in rs[:1]):
        handles.append(Line2D([], [], ls="-.", color=PURPLE, lw=1, label="one held-out problem right\n(the smallest non-zero score of a seed)"))
    handles.append(Patch(color="0.92", label="beyond the training length"))
    if len(tasks) <= 2:  # a narrow figure: the legend to the right of the top right panel
        axes[0, -1].legend(handles=handles, loc="upper left", bbox_to_anchor=(1.03, 1.0), fontsize=8, frameon=False)
    else:
        fig.legend(handles=handles, loc="outside lower center", ncol=3, fontsize=8, frameon=False)
    fig.suptitle("Trained and shown at this scale: " + ", ".join(t.replace("_", " ") for t in tasks), fontsize=10)
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
