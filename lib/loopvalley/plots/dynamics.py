"""Figures for the Markov language (notebook 03) and the Single-vs-Looped dynamics (notebook 04).

Plots never train: every function draws what the data, the run records or a model's attention maps
already hold, and returns the matplotlib figure.

Introduced in notebooks/03_markov_language and notebooks/04_single_vs_looped.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np

MODEL_STYLE = {
    "single": dict(color="tab:blue", label="Single-Attn (1 loop)"),
    "looped": dict(color="tab:red", label="Looped-Attn (3 loops)"),
}
REF_STYLE = {
    "bayes": dict(color="black", ls="-", label="Bayes (true chain)"),
    "bigram": dict(color="tab:green", ls="--", label="in-context bigram"),
    "unigram": dict(color="tab:purple", ls=":", label="in-context unigram"),
    "uniform": dict(color="grey", ls="-.", label="chance"),
}
SPLIT_COLOR = {"simple": "tab:cyan", "complex": "tab:orange"}


def _np(x):
    return x.detach().cpu().numpy() if hasattr(x, "detach") else np.asarray(x)


# ----------------------------------------------------------------------------------------------
# Notebook 03: the language


def plot_ic_distribution(data, bins: int = 50):
    """(a) Histogram of the training IC with the simple/complex regions; (b) IC against the
    classical surprisal −log p(x)/T: the two measure different things.

    Introduced in notebooks/03_markov_language.
    """
    from ..markov import surprisal

    ic = _np(data.ic["train"])
    lo, hi = data.thresholds
    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 3.8))
    a.hist(ic, bins=bins, color="0.6")
    a.axvspan(ic.min(), lo, color=SPLIT_COLOR["simple"], alpha=0.3, label=f"simple (IC ≤ {lo:.2f})")
    a.axvspan(hi, ic.max(), color=SPLIT_COLOR["complex"], alpha=0.3, label=f"complex (IC ≥ {hi:.2f})")
    a.set(xlabel="IC (nats / token)", ylabel="training sequences", title="(a) information content of the training set")
    a.legend(fontsize=8)
    s = _np(surprisal(data.train, data.P["train"], data.pi["train"]))
    col = np.where(ic <= lo, SPLIT_COLOR["simple"], np.where(ic >= hi, SPLIT_COLOR["complex"], "0.75"))
    b.scatter(ic, s, s=4, c=col, alpha=0.6)
    b.set(xlabel="IC (nats / token)", ylabel="surprisal −log p(x) / T", title="(b) IC is not the noise level")
    fig.tight_layout()
    return fig


def plot_sequences(data, n: int = 6):
    """A few simple and complex test sequences as coloured token strips, with their IC.

    Introduced in notebooks/03_markov_language.
    """
    V = data.cfg.vocab_size
    fig, axes = plt.subplots(1, 2, figsize=(11, 0.45 * n + 1.2))
    for ax, split in zip(axes, ("simple", "complex")):
        x = _np(data.test[split][:n])
        ax.imshow(x, cmap=plt.get_cmap("viridis", V), vmin=-0.5, vmax=V - 0.5, aspect="auto", interpolation="nearest")
        ax.set_yticks(range(n), [f"IC={v:.2f}" for v in _np(data.ic[split][:n])], fontsize=8)
        ax.set(xlabel="position t", title=f"{split} sequences (colour = token)")
        ax.grid(False)
    fig.tight_layout()
    return fig


def plot_references(references: Mapping, metric: str = "acc"):
    """Grouped bars: every reference predictor's accuracy (or loss) on every split.

    Introduced in notebooks/03_markov_language.
    """
    splits = list(references)
    names = [k for k in REF_STYLE if k in references[splits[0]]]
    fig, ax = plt.subplots(figsize=(7, 3.6))
    w = 0.8 / len(names)
    for i, k in enumerate(names):
        vals = [references[s][k][metric] * (100 if metric == "acc" else 1) for s in splits]
        bars = ax.bar(np.arange(len(splits)) + i * w, vals, w, color=REF_STYLE[k]["color"], label=REF_STYLE[k]["label"])
        ax.bar_label(bars, fmt="%.1f" if metric == "acc" else "%.2f", fontsize=7)
    ax.set_xticks(np.arange(len(splits)) + w * (len(names) - 1) / 2, splits)
    ax.set_ylabel("next-token accuracy (%)" if metric == "acc" else "loss (nats / token)")
    ax.legend(fontsize=8, ncol=2)
    fig.tight_layout()
    return fig


def plot_ic_profile(profile: Mapping, metric: str = "acc", ax=None, styles: Mapping | None = None):
    """Accuracy (or loss) of each predictor against IC (equal-count bins), from
    :func:`loopvalley.markov.ic_profile`.

    Introduced in notebooks/03_markov_language.
    """
    fig, ax = (ax.figure, ax) if ax is not None else plt.subplots(figsize=(7, 3.8))
    styles = {**REF_STYLE, **{k: dict(v, ls="-", lw=2.2, marker="o", ms=3) for k, v in MODEL_STYLE.items()}, **(styles or {})}
    ic = _np(profile["ic"])
    scale = 100 if metric == "acc" else 1
    for name, vals in profile[metric].items():
        st = styles.get(name, dict(label=name))
        ax.plot(ic, _np(vals) * scale, **st)
    ax.set(xlabel="IC (nats / token, bin mean)", ylabel="accuracy (%)" if metric == "acc" else "loss (nats / token)")
    ax.legend(fontsize=8)
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
    axes[1].legend(fontsize=7.5, loc="lower right" if metric == "acc" else "upper right")
    fig.tight_layout()
    return fig


def plot_attention_maps(maps, tokens=None, seq: int = 0, head: int = 0, max_len: int = 32):
    """The attention pattern A[i, j] (query i attends to key j) of every loop, for one sequence.

    ``maps``: ``(n_loops, B, H, T, T)`` from ``model.attention_maps(tokens)``.

    Introduced in notebooks/04_single_vs_looped.
    """
    A = _np(maps)[:, seq, head, :max_len, :max_len]  # (L, T, T)
    L = A.shape[0]
    fig, axes = plt.subplots(1, L, figsize=(3.6 * L + 0.6, 3.7), squeeze=False)
    for i, ax in enumerate(axes[0]):
        im = ax.imshow(A[i], cmap="Blues", vmin=0, vmax=max(A[i].max(), 1e-9))
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
        ax.bar(offs + i * w, mass, w, label=f"loop {i + 1}")
    ax.set(xlabel="offset i − j (0 = the current token)", ylabel="mean attention weight")
    ax.set_xticks(offs + w * (L - 1) / 2, offs)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig
