"""Figures for the Markov language (notebook 03) and the Single-vs-Looped dynamics (notebook 04).

Plots never train: every function draws what the data, the run records or a model's attention maps
already hold, and returns the matplotlib figure.

Introduced in notebooks/03_markov_language and notebooks/04_single_vs_looped.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np

# Okabe–Ito colours (colour-blind safe); the reference lines also differ in line style
MODEL_STYLE = {
    "single": dict(color="#0072B2", label="Single-Attn (1 loop)"),
    "looped": dict(color="#D55E00", label="Looped-Attn (3 loops)"),
}
REF_STYLE = {
    "bayes": dict(color="0.2", ls="-", label="Bayes (true chain)"),
    "bigram": dict(color="#009E73", ls="--", label="in-context bigram"),
    "unigram": dict(color="#CC79A7", ls=":", label="in-context unigram"),
    "uniform": dict(color="0.55", ls="-.", label="chance"),
}
LOOP_COLORS = ("#E69F00", "#0072B2", "#D55E00", "#CC79A7", "#009E73", "#56B4E9")  # one per loop (offsets figure)
SPLIT_COLOR = {"simple": "#56B4E9", "complex": "#E69F00"}  # Okabe–Ito sky blue / orange
TOKEN_COLORS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#7F7F7F")  # token id → colour


def _np(x):
    return x.detach().cpu().numpy() if hasattr(x, "detach") else np.asarray(x)


# ----------------------------------------------------------------------------------------------
# Notebook 03: the language


def plot_ic_distribution(data, bins: int = 50):
    """(a) Histogram of the training IC with the simple/complex regions; (b) IC against the
    classical surprisal −log p(x)/T, coloured by split. IC = 0 (transitions carry nothing beyond
    the token frequencies) is marked in both panels; legends sit in empty corners.

    Introduced in notebooks/03_markov_language.
    """
    from matplotlib.lines import Line2D

    from ..markov import surprisal

    ic = _np(data.ic["train"])
    lo, hi = data.thresholds
    fig, (a, b) = plt.subplots(1, 2, figsize=(11.5, 4.0), layout="constrained")
    a.hist(ic, bins=bins, color="0.55")
    a.axvspan(ic.min(), lo, color=SPLIT_COLOR["simple"], alpha=0.35, lw=0, label=f"simple (IC ≤ {lo:.2f})")
    a.axvspan(hi, ic.max(), color=SPLIT_COLOR["complex"], alpha=0.35, lw=0, label=f"complex (IC ≥ {hi:.2f})")
    for ax in (a, b):
        ax.axvline(0, color="black", lw=0.8, ls=":")
    a.set(xlabel="IC (nats / token)", ylabel="training sequences", title="(a) information content of the training set")
    a.legend(fontsize=8, loc="upper right")
    s = _np(surprisal(data.train, data.P["train"], data.pi["train"]))
    col = np.where(ic <= lo, SPLIT_COLOR["simple"], np.where(ic >= hi, SPLIT_COLOR["complex"], "0.75"))
    b.scatter(ic, s, s=5, c=col, alpha=0.7, linewidths=0)
    b.set(xlabel="IC (nats / token)", ylabel="surprisal −log p(x) / T", title="(b) IC against the noise level")
    dot = dict(marker="o", ls="", ms=5)
    b.legend(handles=[Line2D([], [], color=SPLIT_COLOR["simple"], label="simple", **dot),
                      Line2D([], [], color="0.75", label="neither", **dot),
                      Line2D([], [], color=SPLIT_COLOR["complex"], label="complex", **dot)],
             fontsize=8, loc="upper right", title="split", title_fontsize=8)
    return fig


def _representative(ic, n: int):
    """Indices of ``n`` sequences at evenly spaced IC quantiles (i + ½)/n of a split, in IC order."""
    order = np.argsort(ic)
    pos = ((np.arange(n) + 0.5) / n * len(ic)).astype(int).clip(0, len(ic) - 1)
    return order[pos]


def plot_sequences(data, n: int = 6):
    """``n`` representative simple and complex test sequences (at evenly spaced IC quantiles of each
    split, not the first ones drawn) as strips of coloured tokens, the token id written in each
    cell, with a token legend and each sequence's IC.

    Introduced in notebooks/03_markov_language.
    """
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Patch

    V = data.cfg.vocab_size
    colors = [TOKEN_COLORS[i % len(TOKEN_COLORS)] for i in range(V)]
    fig, axes = plt.subplots(1, 2, figsize=(11.5, 0.45 * n + 1.6), layout="constrained")
    for ax, split in zip(axes, ("simple", "complex")):
        ic = _np(data.ic[split])
        idx = _representative(ic, n)
        x = _np(data.test[split])[idx]  # (n, T)
        ax.imshow(x, cmap=ListedColormap(colors), vmin=-0.5, vmax=V - 0.5, aspect="auto", interpolation="nearest")
        if x.shape[1] <= 48:
            for (i, t), tok in np.ndenumerate(x):
                ax.text(t, i, str(tok), ha="center", va="center", fontsize=5.5,
                        color="white" if colors[tok] in ("#0072B2", "#009E73", "#7F7F7F") else "black")
        ax.set_yticks(range(n), [f"IC = {v:.2f}" for v in ic[idx]], fontsize=8)
        ax.set_yticks(np.arange(n + 1) - 0.5, minor=True)
        ax.tick_params(axis="y", which="minor", length=0)
        ax.set(xlabel="position t", title=f"{split} sequences")
        ax.grid(False)
        ax.grid(True, which="minor", axis="y", color="white", lw=2, alpha=1)  # one white line between sequences
    fig.legend(handles=[Patch(color=c, label=f"token {i}") for i, c in enumerate(colors)], loc="outside lower center",
               ncol=V, fontsize=8, frameon=False)
    return fig


def plot_references(references: Mapping, metric: str = "acc"):
    """Grouped bars: every reference predictor's accuracy (or loss) on every split, the value on
    each bar, the legend below the axes.

    Introduced in notebooks/03_markov_language.
    """
    splits = list(references)
    names = [k for k in REF_STYLE if k in references[splits[0]]]
    fig, ax = plt.subplots(figsize=(7.5, 4.2), layout="constrained")
    w = 0.8 / len(names)
    top = 0.0
    for i, k in enumerate(names):
        vals = [references[s][k][metric] * (100 if metric == "acc" else 1) for s in splits]
        top = max(top, *vals)
        bars = ax.bar(np.arange(len(splits)) + i * w, vals, w, color=REF_STYLE[k]["color"], label=REF_STYLE[k]["label"])
        ax.bar_label(bars, fmt="%.1f" if metric == "acc" else "%.2f", fontsize=8, padding=2)
    ax.set_xticks(np.arange(len(splits)) + w * (len(names) - 1) / 2, splits)
    ax.set_ylim(0, 1.1 * top)  # room for the bar labels
    ax.set_ylabel("next-token accuracy (%)" if metric == "acc" else "loss (nats / token)")
    ax.legend(fontsize=8, ncol=len(names), loc="upper center", bbox_to_anchor=(0.5, -0.1), frameon=False)
    return fig


def plot_ic_profile(profile: Mapping, metric: str = "acc", ax=None, styles: Mapping | None = None):
    """Accuracy (or loss) of each predictor against IC (equal-count bins), from
    :func:`loopvalley.markov.ic_profile`; reference predictors thin, models (``single``, ``looped``)
    thick with markers; the legend outside the axes, on the right.

    Introduced in notebooks/03_markov_language.
    """
    fig, ax = (ax.figure, ax) if ax is not None else plt.subplots(figsize=(8.5, 3.8), layout="constrained")
    styles = {**REF_STYLE, **{k: dict(v, ls="-", lw=2.2, marker="o", ms=3) for k, v in MODEL_STYLE.items()}, **(styles or {})}
    ic = _np(profile["ic"])
    scale = 100 if metric == "acc" else 1
    for name, vals in profile[metric].items():
        st = styles.get(name, dict(label=name))
        ax.plot(ic, _np(vals) * scale, **st)
    ax.set(xlabel="IC (nats / token, bin mean)", ylabel="accuracy (%)" if metric == "acc" else "loss (nats / token)")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return fig


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
