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

from loopvalley.language.plots import MODEL_STYLE, REF_STYLE, _np

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
    predictors as horizontal lines and Single's plateau onset (the phase boundary) marked.

    ``records``: one ``{"single": RunRecord, "looped": RunRecord}`` per seed. ``x``: "step" or "epoch".
    ``labels`` overrides the legend entries, e.g. ``{"looped": "Looped-Attn (5 loops)"}``.

    Introduced in notebooks/04_single_vs_looped.
    """
    splits = ("simple", "complex")
    fig, axes = plt.subplots(1, 2, figsize=(11.5, 4), sharey=(metric == "loss"))
    scale = 100 if metric == "acc" else 1
    names = [n for n in ("single", "looped") if n in records[0]]
    per_epoch = records[0][names[0]].meta.get("steps_per_epoch", 1) if x == "epoch" else 1
    for ax, split in zip(axes, splits):
        for name in names:
            steps, vals = _stack(records, name, split, metric)
            xs = steps / per_epoch
            st = MODEL_STYLE.get(name, dict(label=name))
            label = (labels or {}).get(name, st["label"])
            ax.plot(xs, scale * vals.mean(0), color=st.get("color"), lw=2, label=label)
            if len(records) > 1:
                ax.fill_between(xs, scale * vals.min(0), scale * vals.max(0), color=st.get("color"), alpha=0.2)
        if references:
            refs = [r[names[0]].meta.get("references", {}) for r in records]
            for k in ("bayes", "bigram", "unigram"):
                if refs[0] and k in refs[0].get(split, {}):
                    v = np.mean([r[split][k][metric] for r in refs]) * scale
                    ax.axhline(v, lw=1, **{kk: vv for kk, vv in REF_STYLE[k].items()})
        if marker_step is not None:
            xm = marker_step / per_epoch
            ax.axvline(xm, color="0.3", lw=1)
            ax.axvspan(0, xm, color="0.9", zorder=-1)
            ax.text(xm / 2, 0.02, "phase 1", transform=ax.get_xaxis_transform(), ha="center", fontsize=8, color="0.3")
            ax.text(xm + (xs[-1] - xm) / 2, 0.02, "phase 2", transform=ax.get_xaxis_transform(), ha="center",
                    fontsize=8, color="0.3")
        ax.set(title=f"{split} split", xlabel="training step" if x == "step" else "epoch",
               ylabel="next-token accuracy (%)" if metric == "acc" else "loss (nats / token)")
    if metric == "acc":
        lo = min(ax.get_ylim()[0] for ax in axes)
        for ax in axes:
            ax.set_ylim(max(lo, 30), None)
    # one legend for both panels, below them: off the data
    handles, names_ = axes[0].get_legend_handles_labels()
    fig.tight_layout(rect=(0, 0.09, 1, 1))
    fig.legend(handles, names_, loc="lower center", ncol=len(names_), fontsize=8, frameon=False)
    return fig


def plot_attention_maps(maps, tokens=None, seq: int = 0, head: int = 0, max_len: int = 32):
    """The attention pattern A[i, j] (query i attends to key j) of every loop, for one sequence.

    ``maps``: ``(n_loops, B, H, T, T)`` from ``model.attention_maps(tokens)``.

    Introduced in notebooks/04_single_vs_looped.
    """
    A = _np(maps)[:, seq, head, :max_len, :max_len]  # (L, T, T)
    L = A.shape[0]
    fig, axes = plt.subplots(1, L, figsize=(3.6 * L + 0.6, 3.7), squeeze=False)
    vmax = max(float(A.max()), 1e-9)  # one colour scale for every loop (the colorbar is shared)
    for i, ax in enumerate(axes[0]):
        im = ax.imshow(A[i], cmap="viridis", vmin=0, vmax=vmax)
        ax.set(title=f"loop {i + 1}", xlabel="key position j", ylabel="query position i" if i == 0 else None)
        ax.grid(False)
        if tokens is not None and A.shape[-1] <= 24:
            t = _np(tokens)[seq, : A.shape[-1]]
            ax.set_xticks(range(len(t)), t, fontsize=6)
            ax.set_yticks(range(len(t)), t, fontsize=6)
    fig.colorbar(im, ax=axes[0].tolist(), shrink=0.8, label="attention weight")
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

# Okabe–Ito colours; wide and single also get their own line styles (readable in greyscale)
ARM_STYLE = {
    "single": dict(color="#000000", ls=":", label="Single-Attn (1 layer, once)"),
    "looped": dict(color="#D55E00", ls="-", label="Looped-Attn (1 layer, 3 loops)"),
    "untied-2": dict(color="#56B4E9", ls="-", label="Untied-2 (2 layers)"),
    "untied-3": dict(color="#0072B2", ls="-", label="Untied-3 (3 layers)"),
    "wide-single": dict(color="#E69F00", ls="--", label="wide Single-Attn (3× heads)"),
}
CHANCE_STYLE = dict(color="0.5", ls="--", lw=1)


def _label(arm: str) -> str:
    return ARM_STYLE.get(arm, {}).get("label", arm)



def plot_depth_curves(records: Sequence[Mapping], metric: str = "acc", arms: Sequence[str] | None = None,
                      references: bool = True, markers: Mapping[str, float] | None = None):
    """Simple- and complex-split curves of every arm over seeds (mean line, min–max band), with the
    reference predictors as thin horizontal lines.

    ``records``: one ``{arm: RunRecord}`` per seed; ``arms`` selects and orders the arms (default:
    all of the first seed's). ``markers`` (``{arm: step}``) draws a tick on the complex panel at,
    e.g., each arm's half-climb step.

    Introduced in notebooks/09_recursion_or_depth.
    """
    arms = list(arms or records[0])
    scale = 100 if metric == "acc" else 1
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.1), sharey=(metric == "loss"))
    for ax, split in zip(axes, ("simple", "complex")):
        for arm in arms:
            steps = np.asarray(records[0][arm].eval_step)
            vals = scale * np.stack([r[arm].curve(split, metric)[1] for r in records])  # (seeds, evals)
            st = ARM_STYLE.get(arm, dict(color=None, ls="-"))
            ax.plot(steps, vals.mean(0), color=st["color"], ls=st["ls"], lw=2, label=_label(arm))
            if len(records) > 1:
                ax.fill_between(steps, vals.min(0), vals.max(0), color=st["color"], alpha=0.15, lw=0)
            if markers and split == "complex" and markers.get(arm) is not None:
                m = float(markers[arm])
                ax.plot([m], [np.interp(m, steps, vals.mean(0))], marker="o", ms=6, color=st["color"], mec="white")
        if references:
            refs = [r[arms[0]].meta.get("references", {}) for r in records]
            for k, st in REF_STYLE.items():
                if k != "uniform" and refs[0] and k in refs[0].get(split, {}):
                    ax.axhline(scale * np.mean([r[split][k][metric] for r in refs]), lw=1, **st)
        ax.set(title=f"{split} split", xlabel="training step",
               ylabel="next-token accuracy (%)" if metric == "acc" else "loss (nats / token)")
    if metric == "acc":
        lo = min(ax.get_ylim()[0] for ax in axes)
        for ax in axes:
            ax.set_ylim(max(lo, 30), None)
    axes[1].legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.02, 1.0), frameon=False)
    fig.tight_layout()
    return fig


def plot_mechanism_over_training(records: Sequence[Mapping], arms: Sequence[str] = ("looped", "untied-3"),
                                 climb: Mapping[str, float] | None = None, onset: Mapping[str, float] | None = None):
    """The mechanism check: for each arm (a column), the previous-token score (top row) and the
    induction score (middle row) of every loop/layer over training — the best head, mean over seeds
    with a min–max band, the uniform-attention chance level dashed — and the arm's complex-split
    accuracy (bottom row). ``climb`` / ``onset`` (``{arm: step}``) draw vertical lines at the complex
    accuracy's half-climb step (solid) and the induction head's formation step (dotted).

    ``records``: one ``{arm: RunRecord}`` per seed, trained with a ``mechanism`` probe.

    Introduced in notebooks/09_recursion_or_depth.
    """
    arms = [a for a in arms if a in records[0]]
    fig, axes = plt.subplots(3, len(arms), figsize=(4.6 * len(arms) + 1.8, 8.2), sharex="col", squeeze=False)
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
        ax.plot(steps, acc.mean(0), color=st["color"], ls=st["ls"], lw=2, label="complex accuracy")
        if len(records) > 1:
            ax.fill_between(steps, acc.min(0), acc.max(0), color=st["color"], alpha=0.15, lw=0)
        ax.set(xlabel="training step", ylabel="complex accuracy (%)" if j == 0 else None)
        for row in axes[:, j]:
            if climb and climb.get(arm) is not None:
                row.axvline(float(climb[arm]), color="0.2", lw=1, label="complex accuracy half-way up")
            if onset and onset.get(arm) is not None:
                row.axvline(float(onset[arm]), color="0.2", lw=1.2, ls=":", label="induction head forms")
    for i in range(3):  # one legend per row, right of the last column
        axes[i, -1].legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.02, 1.0), frameon=False)
    fig.tight_layout()
    return fig


def plot_attention_grid(maps: Mapping, tokens=None, seq: int = 0, max_len: int = 32):
    """Attention patterns A[i, j] (query i attends to key j) side by side: one row per model, one
    column per loop/layer; the heads are averaged. ``maps``: ``{arm: (L, B, H, T, T)}`` from
    ``model.attention_maps(tokens)``.

    Introduced in notebooks/09_recursion_or_depth.
    """
    arms = list(maps)
    L = max(int(_np(maps[a]).shape[0]) for a in arms)
    fig, axes = plt.subplots(len(arms), L, figsize=(3.3 * L + 1.2, 3.2 * len(arms)), squeeze=False)
    im = None
    for r, arm in enumerate(arms):
        A = _np(maps[arm])[:, seq].mean(axis=1)[:, :max_len, :max_len]  # (L, T, T), heads averaged
        word = "loop" if arm in ("looped", "single", "wide-single") else "layer"
        for c in range(L):
            ax = axes[r, c]
            ax.grid(False)
            if c >= A.shape[0]:
                ax.axis("off")
                continue
            im = ax.imshow(A[c], cmap="viridis", vmin=0, vmax=1)
            ax.set(title=f"{_label(arm).split(' (')[0]}: {word} {c + 1}", xlabel="key position j",
                   ylabel="query position i" if c == 0 else None)
    if im is not None:
        fig.colorbar(im, ax=axes.ravel().tolist(), shrink=0.8, label="attention weight")
    return fig


def plot_climb_timing(per: Sequence[Mapping], arms: Sequence[str] = ("looped", "untied-2", "untied-3")):
    """When each deep arm's induction head forms (open marker) and when its complex accuracy is half-way
    up from the one-layer plateau (filled marker), one row per arm, one point per seed.

    ``per``: :func:`loopvalley.looped.recursion_depth.measure_seed` of every seed.

    Introduced in notebooks/09_recursion_or_depth.
    """
    fig, ax = plt.subplots(figsize=(8.5, 0.8 * len(arms) + 1.4))
    for i, arm in enumerate(arms):
        st = ARM_STYLE.get(arm, dict(color="0.3"))
        ind = [p["arms"][arm].get("induction_step") for p in per]
        half = [p["arms"][arm].get("half_step") for p in per]
        jitter = np.linspace(-0.12, 0.12, len(per)) if len(per) > 1 else np.zeros(1)
        for k, (a, b) in enumerate(zip(ind, half)):
            y = i + jitter[k]
            if a is not None and b is not None:
                ax.plot([a, b], [y, y], color=st["color"], lw=1, alpha=0.6)
            if a is not None:
                ax.plot(a, y, "o", mfc="white", mec=st["color"], ms=7, label="induction head forms" if i == k == 0 else None)
            if b is not None:
                ax.plot(b, y, "o", color=st["color"], ms=7, label="complex accuracy half-way up" if i == k == 0 else None)
    ax.set_yticks(range(len(arms)), [_label(a) for a in arms])
    ax.invert_yaxis()
    ax.set(xlabel="training step")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.02, 1.0), frameon=False)
    fig.tight_layout()
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
