"""Figures for the Markov language (notebook 03): the IC distribution, sample sequences, the
reference predictors per split, and accuracy against IC.

Plots never train: every function draws what the data or the run records already hold, and returns
the matplotlib figure.

Introduced in notebooks/03_markov_language.
"""

from __future__ import annotations

from typing import Mapping

import matplotlib.pyplot as plt
import numpy as np

from loopvalley.language.markov import surprisal

# Okabe–Ito colours (colour-blind safe); the reference lines also differ in line style
MODEL_STYLE = {
    "single": dict(color="#0072B2", label="Single-Attn (1 loop)"),
    "looped": dict(color="#D55E00", label="Looped-Attn (3 loops)"),
}
REF_STYLE = {
    "bayes": dict(color="0.2", ls="-", label="Bayes with the true chain (oracle)"),
    "bigram": dict(color="#009E73", ls="--", label="in-context bigram (Bayes, Dirichlet prior)"),
    "unigram": dict(color="#CC79A7", ls=":", label="in-context unigram"),
    "uniform": dict(color="0.55", ls="-.", label="chance (1/V)"),
}
REF_ORDER = ("bayes", "bigram", "unigram", "uniform")  # top to bottom, as the levels usually sit
SPLIT_COLOR = {"simple": "#56B4E9", "complex": "#E69F00"}  # Okabe–Ito sky blue / orange
TOKEN_COLORS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#7F7F7F")  # token id → colour


def _np(x):
    return x.detach().cpu().numpy() if hasattr(x, "detach") else np.asarray(x)


def reference_level(refs: Mapping, kind: str, metric: str = "acc") -> float:
    """The level of reference predictor ``kind`` in ``refs`` (``{predictor: {"loss", "acc"}}`` of one
    split, e.g. a run record's ``meta["references"][split]``). Chance is 1/V: the uniform predictor's
    argmax always picks token 0, so its recorded accuracy is token 0's frequency, not chance; V is read
    off its loss, log V.

    Introduced in notebooks/03_markov_language.
    """
    if kind == "uniform" and metric == "acc":
        return 1.0 / round(float(np.exp(refs["uniform"]["loss"])))  # V = e^{log V}
    return float(refs[kind][metric])


def draw_references(ax, refs: list, split: str, metric: str = "acc", scale: float = 1.0,
                    kinds=REF_ORDER) -> list:
    """Horizontal lines at the reference predictors' levels on ``split`` (mean over ``refs``, one
    ``meta["references"]`` per seed): Bayes with the true chain (the oracle), the in-context bigram
    (Bayes for the Dirichlet prior, from the context alone), the in-context unigram, chance 1/V.
    Returns the lines (for a legend).

    Introduced in notebooks/04_single_vs_looped.
    """
    lines = []
    refs = [r for r in refs if r and split in r]
    for k in kinds:
        if refs and k in refs[0][split]:
            v = scale * float(np.mean([reference_level(r[split], k, metric) for r in refs]))
            lines.append(ax.axhline(v, lw=1, zorder=1, **REF_STYLE[k]))
    return lines


# ----------------------------------------------------------------------------------------------
# Notebook 03: the language


def plot_ic_distribution(data, bins: int = 50):
    """(a) Histogram of the training IC with the simple/complex regions; (b) IC against the
    classical surprisal −log p(x)/T, coloured by split. IC = 0 (transitions carry nothing beyond
    the token frequencies) is marked in both panels; legends sit in empty corners.

    Introduced in notebooks/03_markov_language.
    """
    from matplotlib.lines import Line2D


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
        vals = [reference_level(references[s], k, metric) * (100 if metric == "acc" else 1) for s in splits]
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
    :func:`loopvalley.language.markov.ic_profile`; reference predictors thin, models (``single``, ``looped``)
    thick with markers; the legend outside the axes, on the right.

    Introduced in notebooks/03_markov_language.
    """
    fig, ax = (ax.figure, ax) if ax is not None else plt.subplots(figsize=(8.5, 3.8), layout="constrained")
    styles = {**REF_STYLE, **{k: dict(v, ls="-", lw=2.2, marker="o", ms=3) for k, v in MODEL_STYLE.items()}, **(styles or {})}
    ic = _np(profile["ic"])
    scale = 100 if metric == "acc" else 1
    for name, vals in profile[metric].items():
        st = styles.get(name, dict(label=name))
        if name == "uniform" and metric == "acc":  # chance is 1/V (the uniform predictor's argmax is token 0)
            vals = 1.0 / np.round(np.exp(_np(profile["loss"]["uniform"])))
        ax.plot(ic, _np(vals) * scale, **st)
    ax.set(xlabel="IC (nats / token, bin mean)", ylabel="accuracy (%)" if metric == "acc" else "loss (nats / token)")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return fig
