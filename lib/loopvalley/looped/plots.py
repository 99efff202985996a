"""Figures for the Single-vs-Looped dynamics (notebook 04) and recursion vs depth (notebook 09):
per-split accuracy curves, attention maps, the arms' accuracy curves, and the previous-token and
induction scores of every loop/layer over training.

Plots never train: every function draws what the run records or a model's attention maps already
hold, and returns the matplotlib figure.

Introduced in notebooks/04_single_vs_looped and notebooks/09_recursion_or_depth.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np

from loopvalley.language.plots import MODEL_STYLE, _np, draw_references

LOOP_COLORS = ("#E69F00", "#0072B2", "#D55E00", "#CC79A7", "#009E73", "#56B4E9")  # one per loop (offsets figure)

# ----------------------------------------------------------------------------------------------
# Notebook 04: the dynamics


def _stack(records: Sequence[Mapping], name: str, split: str, metric: str):
    steps = np.asarray(records[0][name].eval_step)
    vals = np.stack([r[name].curve(split, metric)[1] for r in records])  # (seeds, evals)
    return steps, vals


def plot_split_curves(
    records: Sequence[Mapping],
    metric: str = "acc",
    marker_step: float | None = None,
    references: bool = True,
    x: str = "step",
    labels: Mapping | None = None,
):
    """Per-split curves of both models over seeds (mean line, min–max band), with the reference
    predictors as horizontal lines (chance 1/V, in-context unigram, in-context bigram, Bayes with the
    true chain) and, at ``marker_step``, Single's plateau onset t_p: the region before it is shaded
    (Single's complex accuracy still rising there; Looped may already be climbing). One legend,
    under the panels.

    ``records``: one ``{"single": RunRecord, "looped": RunRecord}`` per seed. ``x``: "step" or "epoch".
    ``labels`` overrides the legend entries, e.g. ``{"looped": "Looped-Attn (5 loops)"}``.

    Introduced in notebooks/04_single_vs_looped.
    """
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    splits = ("simple", "complex")
    fig, axes = plt.subplots(1, 2, figsize=(11.5, 4.6), sharey=(metric == "loss"), layout="constrained")
    scale = 100 if metric == "acc" else 1
    names = [n for n in ("single", "looped") if n in records[0]]
    per_epoch = records[0][names[0]].meta.get("steps_per_epoch", 1) if x == "epoch" else 1
    handles = []
    for ax, split in zip(axes, splits):
        handles = []
        for name in names:
            steps, vals = _stack(records, name, split, metric)
            xs = steps / per_epoch
            st = MODEL_STYLE.get(name, dict(label=name))
            label = (labels or {}).get(name, st["label"])
            handles += ax.plot(xs, scale * vals.mean(0), color=st.get("color"), lw=2, label=label)
            if len(records) > 1:
                ax.fill_between(xs, scale * vals.min(0), scale * vals.max(0), color=st.get("color"), alpha=0.2)
        if references:
            handles += draw_references(ax, [r[names[0]].meta.get("references", {}) for r in records], split,
                                       metric, scale)
        if marker_step is not None:
            xm = marker_step / per_epoch
            ax.axvline(xm, color="0.3", lw=1)
            ax.axvspan(0, xm, color="0.9", zorder=-1)
        ax.set(title=f"{split} split", xlabel="training step" if x == "step" else "epoch",
               ylabel="next-token accuracy (%)" if metric == "acc" else "loss (nats / token)")
    if marker_step is not None:
        unit = "step" if x == "step" else "epoch"
        handles += [Patch(color="0.9", label="before Single's plateau onset $t_p$ (its complex accuracy > 1 point under its final)"),
                    Line2D([], [], color="0.3", lw=1, label=f"$t_p$ = {unit} {marker_step / per_epoch:.0f}")]
    fig.legend(handles=handles, loc="outside lower center", ncol=4, fontsize=8, frameon=False)
    return fig


def induction_targets(tokens) -> list:
    """``(query i, key j)`` for every query whose token occurred before: j is the position right after
    the previous occurrence p of x_i (j = p + 1), the key an induction head attends to — what followed
    the current token last time.

    Introduced in notebooks/04_single_vs_looped.
    """
    last, out = {}, []
    for i, t in enumerate(np.asarray(tokens).tolist()):
        if t in last:
            out.append((i, last[t] + 1))  # the key after the previous occurrence of x_i
        last[t] = i
    return out


INDUCTION_MARK = dict(marker="s", s=16, facecolors="none", edgecolors="#D55E00", linewidths=0.9)  # vermillion: visible on viridis


def _token_axes(ax, t, label_y: bool):
    """Tick every position with its token; axis labels say so."""
    n = len(t)
    fs = 6 if n <= 32 else 5
    ax.set_xticks(range(n), [str(v) for v in t], fontsize=fs)
    ax.set_yticks(range(n), [str(v) for v in t], fontsize=fs)
    ax.tick_params(length=1.5, pad=1)
    ax.set_xlabel("key j (tick: its token; position 0 on the left)", fontsize=8)
    if label_y:
        ax.set_ylabel("query i (tick: its token; position 0 at the top)", fontsize=8)


def _attention_legend(fig, marked: bool):
    from matplotlib.lines import Line2D

    if marked:
        fig.legend(handles=[Line2D([], [], ls="", marker="s", mfc="none", mec="#D55E00", ms=5,
                                   label="induction target: the key right after the most recent earlier\noccurrence of "
                                         "the query's token (the induction score counts every one)")],
                   loc="outside lower center", fontsize=8, frameon=False)


def _attention_panel(ax, A, title: str, tokens, marks, vmax: float, first: bool):
    """One attention map A[i, j] (query i, key j) on ``ax``: its title, the tokens on both axes (row labels
    on the ``first`` panel of a row) with the induction targets ``marks`` (□), or plain position axes."""
    im = ax.imshow(A, cmap="viridis", vmin=0, vmax=vmax)
    ax.set_title(title, fontsize=10)
    ax.grid(False)
    if tokens is not None:
        _token_axes(ax, tokens, label_y=first)
        if marks:
            qi, kj = zip(*marks)
            ax.scatter(kj, qi, **INDUCTION_MARK)
    else:
        ax.set(xlabel="key position j", ylabel="query position i" if first else None)
    return im


def plot_attention_maps(maps, tokens=None, seq: int = 0, head: int = 0, max_len: int = 32, name: str | None = None):
    """The attention pattern A[i, j] (query i attends to key j) of every loop, for one sequence, one
    colour scale for all loops. With ``tokens`` every position is ticked with its token and each
    query's *induction target* is marked (□): the key right after the previous occurrence of the
    query's token, where an induction head puts its weight. ``name`` titles the panels (default:
    Single-Attn for one loop, Looped-Attn for more).

    ``maps``: ``(n_loops, B, H, T, T)`` from ``model.attention_maps(tokens)``.

    Introduced in notebooks/04_single_vs_looped.
    """
    A = _np(maps)[:, seq, head, :max_len, :max_len]  # (L, T, T)
    L = A.shape[0]
    name = name or ("Single-Attn (1 loop)" if L == 1 else f"Looped-Attn ({L} loops)")
    side = 4.3 if tokens is not None else 3.6
    fig, axes = plt.subplots(1, L, figsize=(side * L + 1.0, side + 0.6), squeeze=False, layout="constrained")
    vmax = max(float(A.max()), 1e-9)  # one colour scale for every loop (the colorbar is shared)
    t = _np(tokens)[seq, : A.shape[-1]] if tokens is not None else None
    marks = induction_targets(t) if t is not None else []
    for i, ax in enumerate(axes[0]):
        im = _attention_panel(ax, A[i], name if L == 1 else f"{name}: loop {i + 1}", t, marks, vmax, first=(i == 0))
    fig.colorbar(im, ax=axes[0].tolist(), shrink=0.8, label="attention weight")
    _attention_legend(fig, bool(marks))
    return fig


def plot_attention_offsets(maps, max_offset: int = 8):
    """Average attention mass on the key at offset i − j = 0, 1, 2, … for every loop: a
    previous-token head puts its mass on offset 1.

    Introduced in notebooks/04_single_vs_looped.
    """
    A = _np(maps)  # (L, B, H, T, T)
    L, T = A.shape[0], A.shape[-1]
    fig, ax = plt.subplots(figsize=(6.5, 3.4))
    offs = np.arange(max_offset + 1)
    w = 0.8 / L
    for i in range(L):
        mass = [np.mean([A[i, :, :, q, q - o].mean() for q in range(o, T)]) for o in offs]
        ax.bar(offs + i * w, mass, w, color=LOOP_COLORS[i % len(LOOP_COLORS)], label=f"loop {i + 1}")
    # uniform causal attention puts 1/(i+1) on every visible key: the chance level of each offset
    chance = [np.mean([1.0 / (q + 1) for q in range(o, T)]) if o < T else np.nan for o in offs]
    ax.scatter(offs + w * (L - 1) / 2, chance, marker="_", s=400, color="0.3", zorder=3, label="uniform attention")
    ax.set(xlabel="offset i − j (0 = the current token)", ylabel="mean attention weight")
    ax.set_xticks(offs + w * (L - 1) / 2, offs)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    fig.tight_layout()
    return fig


# ----------------------------------------------------------------------------------------------
# Notebook 09: recursion or depth

# Okabe–Ito colours; every arm also gets its own line style and marker (readable in greyscale, and the
# two blues of the untied stacks apart)
ARM_STYLE = {
    "single": dict(color="#000000", ls=":", marker=None, label="Single-Attn (1 layer, once)"),
    "looped": dict(color="#D55E00", ls="-", marker=None, label="Looped-Attn (1 layer, 3 loops)"),
    "untied-2": dict(color="#56B4E9", ls=(0, (6, 2)), marker="s", label="Untied-2 (2 layers)"),
    "untied-3": dict(color="#0072B2", ls="-.", marker="^", label="Untied-3 (3 layers)"),
    "wide-single": dict(color="#E69F00", ls="--", marker=None, label="wide Single-Attn (3× heads)"),
}
CHANCE_STYLE = dict(color="0.5", ls="--", lw=1)


def _label(arm: str) -> str:
    return ARM_STYLE.get(arm, {}).get("label", arm)


def plot_mechanism_over_training(records: Sequence[Mapping], arms: Sequence[str] = ("looped", "untied-3"),
                                 climb: Mapping[str, float] | None = None, onset: Mapping[str, float] | None = None):
    """The mechanism check: for each arm (a column), the previous-token score (top row) and the
    induction score (middle row) of every loop/layer over training — the best head, mean over seeds
    with a min–max band, the uniform-attention chance level dashed — and the arm's complex-split
    accuracy with the reference predictors (bottom row). ``climb`` / ``onset`` (``{arm: step}``) draw
    vertical lines at the complex accuracy's half-climb step (solid) and the induction head's
    formation step (dotted); one legend per row, right of the last column, lists what any column shows.

    ``records``: one ``{arm: RunRecord}`` per seed, trained with a ``mechanism`` probe.

    Introduced in notebooks/09_recursion_or_depth.
    """
    arms = [a for a in arms if a in records[0]]
    fig, axes = plt.subplots(3, len(arms), figsize=(4.6 * len(arms) + 2.6, 8.4), sharex="col", squeeze=False,
                             layout="constrained")
    for j, arm in enumerate(arms):
        for i, key in enumerate(("previous_token", "induction")):
            ax = axes[i, j]
            steps = np.asarray(records[0][arm].probes["mechanism"]["step"])
            vals = np.stack([np.asarray(r[arm].probes["mechanism"][key], float).max(axis=-1) for r in records])  # (seeds, rows, L)
            for l in range(vals.shape[-1]):
                c = LOOP_COLORS[l % len(LOOP_COLORS)]
                ax.plot(steps, vals[:, :, l].mean(0), color=c, lw=2, label=f"loop / layer {l + 1}")
                if len(records) > 1:
                    ax.fill_between(steps, vals[:, :, l].min(0), vals[:, :, l].max(0), color=c, alpha=0.15, lw=0)
            chance = float(np.mean([r[arm].probes["mechanism"][f"{key}_chance"][0] for r in records]))
            ax.axhline(chance, label="uniform attention (chance)", **CHANCE_STYLE)
            ax.set_ylim(0, 1.02)
            ax.set(ylabel=("previous-token score" if key == "previous_token" else "induction score") if j == 0 else None)
            if i == 0:
                ax.set_title(_label(arm))
        ax = axes[2, j]
        steps = np.asarray(records[0][arm].eval_step)
        acc = 100 * np.stack([r[arm].curve("complex")[1] for r in records])
        st = ARM_STYLE.get(arm, dict(color="0.3", ls="-"))
        ax.plot(steps, acc.mean(0), color=st["color"], ls=st["ls"], lw=2, label="complex accuracy (this column's arm)")
        if len(records) > 1:
            ax.fill_between(steps, acc.min(0), acc.max(0), color=st["color"], alpha=0.15, lw=0)
        draw_references(ax, [r[arm].meta.get("references", {}) for r in records], "complex", "acc", 100)
        ax.set(xlabel="training step", ylabel="complex accuracy (%)" if j == 0 else None)
        for row in axes[:, j]:
            if climb and climb.get(arm) is not None:
                row.axvline(float(climb[arm]), color="0.2", lw=1, label="complex accuracy half-way up")
            if onset and onset.get(arm) is not None:
                row.axvline(float(onset[arm]), color="0.2", lw=1.2, ls=":", label="induction head forms")
    for i in range(3):  # one legend per row, right of the last column: every entry any column of the row shows
        seen = {}
        for ax in axes[i]:
            for h, lab in zip(*ax.get_legend_handles_labels()):
                seen.setdefault(lab, h)
        axes[i, -1].legend(seen.values(), seen.keys(), fontsize=8, loc="upper left", bbox_to_anchor=(1.02, 1.0),
                           frameon=False)
    return fig


def plot_attention_grid(maps: Mapping, tokens=None, seq: int = 0, max_len: int = 32):
    """Attention patterns A[i, j] (query i attends to key j) side by side: one row per model, one
    column per loop/layer; the heads are averaged. With ``tokens`` every position is ticked with its
    token and each query's induction target is marked (□, as in :func:`plot_attention_maps`).
    ``maps``: ``{arm: (L, B, H, T, T)}`` from ``model.attention_maps(tokens)``.

    Introduced in notebooks/09_recursion_or_depth.
    """
    arms = list(maps)
    L = max(int(_np(maps[a]).shape[0]) for a in arms)
    side = 4.0 if tokens is not None else 3.3
    fig, axes = plt.subplots(len(arms), L, figsize=(side * L + 1.2, (side + 0.3) * len(arms) + 0.4), squeeze=False,
                             layout="constrained")
    im = None
    T = min(max_len, int(_np(maps[arms[0]]).shape[-1]))
    t = _np(tokens)[seq, :T] if tokens is not None else None
    marks = induction_targets(t) if t is not None else []
    for r, arm in enumerate(arms):
        A = _np(maps[arm])[:, seq].mean(axis=1)[:, :max_len, :max_len]  # (L, T, T), heads averaged
        word = "loop" if arm in ("looped", "single", "wide-single") else "layer"
        for c in range(L):
            ax = axes[r, c]
            ax.grid(False)
            if c >= A.shape[0]:
                ax.axis("off")
                continue
            im = _attention_panel(ax, A[c], f"{_label(arm).split(' (')[0]}: {word} {c + 1}", t, marks, 1.0, first=(c == 0))
    if im is not None:
        fig.colorbar(im, ax=axes.ravel().tolist(), shrink=0.8, label="attention weight (heads averaged)")
    _attention_legend(fig, bool(marks))
    return fig


def plot_climb_timing(per: Sequence[Mapping], arms: Sequence[str] = ("looped", "untied-3")):
    """When each deep arm's induction head forms (open marker) and when its complex accuracy is half-way
    up from the one-layer plateau (filled marker), one row per arm, one point per seed (seeds spread
    vertically within the row). An event a seed never reached is drawn at the end of training (▷,
    open or filled) so that a missing point is not mistaken for a missing seed.

    ``per``: :func:`loopvalley.looped.recursion_depth.measure_seed` of every seed.

    Introduced in notebooks/09_recursion_or_depth.
    """
    from matplotlib.lines import Line2D

    fig, ax = plt.subplots(figsize=(9.5, 0.8 * len(arms) + 1.6), layout="constrained")
    horizon = max(int(p.get("horizon", 0)) for p in per) or None
    missing = False
    for i, arm in enumerate(arms):
        st = ARM_STYLE.get(arm, dict(color="0.3"))
        ind = [p["arms"][arm].get("induction_step") for p in per]
        half = [p["arms"][arm].get("half_step") for p in per]
        jitter = np.linspace(-0.15, 0.15, len(per)) if len(per) > 1 else np.zeros(1)
        for k, (a, b) in enumerate(zip(ind, half)):
            y = i + jitter[k]
            a_x = a if a is not None else horizon
            b_x = b if b is not None else (horizon * 1.012 if horizon is not None and a is None else horizon)  # both missing: side by side
            if a_x is not None and b_x is not None:
                ax.plot([a_x, b_x], [y, y], color=st["color"], lw=1, alpha=0.6)
            if a_x is not None:
                ax.plot(a_x, y, "o" if a is not None else ">", mfc="white", mec=st["color"], ms=7)
            if b_x is not None:
                ax.plot(b_x, y, "o" if b is not None else ">", color=st["color"], ms=7)
            missing |= a is None or b is None
    ax.set_yticks(range(len(arms)), [_label(a) for a in arms])
    ax.set_ylim(len(arms) - 0.5, -0.5)
    ax.set(xlabel="training step")
    handles = [Line2D([], [], ls="", marker="o", mfc="white", mec="0.3", ms=7, label="induction head forms"),
               Line2D([], [], ls="", marker="o", color="0.3", ms=7, label="complex accuracy half-way up")]
    if missing and horizon is not None:
        ax.axvline(horizon, color="0.5", ls="--", lw=0.8)
        handles += [Line2D([], [], ls="", marker=">", mfc="white", mec="0.3", ms=7,
                           label=f"not reached by the end of training (step {horizon}; open: head, filled: accuracy)"),
                    Line2D([], [], color="0.5", ls="--", lw=0.8, label="end of training")]
    fig.legend(handles=handles, loc="outside lower center", ncol=2, fontsize=8, frameon=False,
               title="one point per seed, seeds spread within a row", title_fontsize=8)
    return fig


# ----------------------------------------------------------------------------------------------
# Notebook 09: the converged horizon and the loop-count sweep (every accuracy panel carries the
# uniform 1/V, in-context unigram and in-context bigram reference lines)

ACC_REFERENCES = {
    "uniform": dict(color="0.55", ls="-.", label="uniform guess (1/V)"),
    "unigram": dict(color="#CC79A7", ls=":", label="in-context unigram"),
    "bigram": dict(color="#009E73", ls="--", label="in-context bigram (Bayes in-context predictor)"),
}
SWEEP_STYLE = {
    "looped": dict(color="#D55E00", marker="o", label="Looped-T (1 layer, T loops)"),
    "untied": dict(color="#0072B2", marker="s", label="Untied-T (T layers)"),
}


def arm_label(arm: str) -> str:
    """The legend label of any arm: :data:`ARM_STYLE`'s, or ``Looped-T (1 layer, T loops)`` /
    ``Untied-T (T layers)`` for the loop-count sweep's arms.

    Introduced in notebooks/09_recursion_or_depth.
    """
    if arm in ARM_STYLE:
        return ARM_STYLE[arm]["label"]
    kind, _, T = arm.partition("-")
    return {"looped": f"Looped-{T} (1 layer, {T} loops)", "untied": f"Untied-{T} ({T} layers)"}.get(kind, arm)


def _arm_color(arm: str):
    return ARM_STYLE.get(arm, {}).get("color") or SWEEP_STYLE.get(arm.split("-")[0], {}).get("color", "0.3")


def add_accuracy_references(axes, references: Mapping[str, float], keys: Sequence[str] = ("uniform", "unigram", "bigram"),
                            legend: bool = False) -> None:
    """Draw the reference accuracies (points, %) as labelled horizontal lines on every axis of ``axes``:
    ``references`` maps ``uniform`` (100/V), ``unigram`` (in-context unigram) and ``bigram`` (in-context
    bigram, the Bayes in-context predictor) to their accuracy on the plotted split. ``legend`` redraws
    the legend of the last axis with the lines added.

    Introduced in notebooks/09_recursion_or_depth.
    """
    axes = list(np.atleast_1d(axes))
    for ax in axes:
        for k in keys:
            if k in references and np.isfinite(references[k]):
                ax.axhline(float(references[k]), lw=1, zorder=1, **ACC_REFERENCES[k])
    if legend and axes:
        axes[-1].legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.02, 1.0), frameon=False)


def _split_references(records: Sequence[Mapping], split: str) -> dict:
    recs = [next(iter(r.values())) for r in records]
    out = {k: 100 * float(np.mean([r.meta["references"][split][k]["acc"] for r in recs]))
           for k in ("unigram", "bigram") if k in recs[0].meta.get("references", {}).get(split, {})}
    V = recs[0].meta.get("model_cfg", {}).get("vocab_size")
    return {"uniform": 100.0 / V, **out} if V else out


def plot_recursion_curves(records: Sequence[Mapping], arms: Sequence[str] | None = None,
                          stable_end: float | None = None, markers: Mapping[str, float] | None = None,
                          labels: Mapping[str, str] | None = None):
    """Simple- and complex-split accuracy of every arm over training (mean line, min–max band over
    seeds), with the uniform (1/V), in-context unigram and in-context bigram reference lines, the WSD
    decay (after ``stable_end``) shaded and the last 20 % of the stable phase — where convergence is
    judged — hatched. ``markers`` (``{arm: step}``) puts a dot on the complex panel (e.g. the
    half-climb step); ``labels`` overrides legend entries.

    ``records``: one ``{arm: RunRecord}`` per seed; ``arms``: which and in what order (default: the
    first seed's).

    Introduced in notebooks/09_recursion_or_depth.
    """
    arms = list(arms or records[0])
    fig, axes = plt.subplots(1, 2, figsize=(12.5, 4.3))
    for ax, split in zip(axes, ("simple", "complex")):
        for arm in arms:
            rs = [r for r in records if arm in r]
            steps = np.asarray(rs[0][arm].eval_step)
            vals = 100 * np.stack([r[arm].curve(split)[1] for r in rs])  # (seeds, evals)
            st = ARM_STYLE.get(arm, dict(color=_arm_color(arm), ls="-"))
            label = (labels or {}).get(arm, arm_label(arm))
            ax.plot(steps, vals.mean(0), color=st["color"], ls=st["ls"], lw=2, label=label)
            if len(rs) > 1:
                ax.fill_between(steps, vals.min(0), vals.max(0), color=st["color"], alpha=0.15, lw=0)
            if markers and split == "complex" and markers.get(arm) is not None:
                m = float(markers[arm])
                ax.plot([m], [np.interp(m, steps, vals.mean(0))], marker="o", ms=6, color=st["color"], mec="white")
        add_accuracy_references(ax, _split_references(records, split))
        if stable_end is not None:
            end = float(stable_end)
            ax.axvspan(0.8 * end, end, color="0.85", alpha=0.5, hatch="//", lw=0, zorder=0,
                       label="convergence judged (last 20 % of the stable phase)")
            ax.axvspan(end, float(steps[-1]), color="0.9", zorder=0, label="lr decay (WSD)")
        ax.set(title=f"{split} split", xlabel="training step", ylabel="next-token accuracy (%)")
        ax.set_ylim(min(ax.get_ylim()[0], 30), None)
    axes[1].legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.02, 1.0), frameon=False)
    fig.tight_layout()
    return fig


def plot_dose_response(table: Mapping[str, Mapping[int, Sequence[float]]], references: Mapping[str, float]):
    """The loop-count sweep: final complex-split accuracy against T for Looped-T and Untied-T — the
    mean over seeds (line) and every seed (points, jittered) — with the uniform (1/V), in-context
    unigram and in-context bigram reference lines.

    ``table``: ``{"looped": {T: [accuracy % per seed]}, "untied": {...}}``
    (:func:`loopvalley.looped.recursion_depth.sweep_table`); ``references``: reference accuracies (%).

    Introduced in notebooks/09_recursion_or_depth.
    """
    fig, ax = plt.subplots(figsize=(8.6, 4.4))
    for i, (kind, rows) in enumerate(table.items()):
        st = SWEEP_STYLE.get(kind, dict(color="0.3", marker="o", label=kind))
        Ts = sorted(rows)
        ax.plot(Ts, [np.mean(rows[T]) for T in Ts], color=st["color"], lw=2, marker=st["marker"], ms=7,
                label=f"{st['label']}: mean over seeds")
        off = 0.06 * (i - 0.5)
        for T in Ts:
            v = np.asarray(rows[T], float)
            ax.scatter(np.full(v.size, T + off), v, s=16, color=st["color"], alpha=0.55, marker=st["marker"],
                       lw=0, label=f"{st['label'].split(' (')[0]}: one seed" if T == Ts[0] else None)
    add_accuracy_references(ax, references)
    Ts = sorted({T for rows in table.values() for T in rows})
    ax.set_xticks(Ts, [f"{T}" + (" (Single)" if T == 1 else "") for T in Ts])
    ax.set(xlabel="loop count T (layer applications per forward pass)", ylabel="final complex-split accuracy (%)")
    ax.set_ylim(min(ax.get_ylim()[0], 30), None)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.02, 1.0), frameon=False)
    fig.tight_layout()
    return fig


def plot_convergence(conv: Mapping):
    """The convergence judgement: how far each arm's complex-split accuracy moved over the last 20 % of
    the stable phase, one point per seed (filled: converged; open: not), with the ±tolerance band.

    ``conv``: :func:`loopvalley.looped.recursion_depth.convergence_table`.

    Introduced in notebooks/09_recursion_or_depth.
    """
    arms = list(conv["arms"])
    tol = float(conv["tol"])
    fig, ax = plt.subplots(figsize=(8.2, 0.55 * len(arms) + 1.6))
    ax.axvspan(-tol, tol, color="0.9", zorder=0, label=f"converged: |move| < {tol:g} point")
    for i, arm in enumerate(arms):
        d = np.asarray(conv["arms"][arm]["drift"], float)
        ok = np.asarray(conv["arms"][arm]["converged"], bool)
        jitter = np.linspace(-0.15, 0.15, d.size) if d.size > 1 else np.zeros(1)
        c = _arm_color(arm)
        ax.scatter(d[ok], i + jitter[ok], s=30, color=c, zorder=3)
        ax.scatter(d[~ok], i + jitter[~ok], s=30, facecolor="white", edgecolor=c, zorder=3)
    ax.axvline(0, color="0.4", lw=0.8)
    ax.set_yticks(range(len(arms)), [arm_label(a) for a in arms])
    ax.invert_yaxis()
    ax.set(xlabel="complex accuracy: move over the last 20 % of the stable phase (points)")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.02, 1.0), frameon=False)
    fig.tight_layout()
    return fig
