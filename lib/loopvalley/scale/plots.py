"""Figures of the scale-up chapter: what a loop costs at each scale.

Plots never train: they draw the rows of :func:`loopvalley.scale.presets.scale_table` they are handed.
Colours are Okabe–Ito (colour-blind safe); axes are linear, so a 3× cost looks 3× as tall.

Introduced in notebooks/06_full_gpu_training.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from loopvalley.scales import SCALES

COST_STYLE = {
    "single": dict(color="#0072B2", label="Single-Attn (1 loop)"),
    "looped": dict(color="#D55E00", label="Looped-Attn (3 loops)"),
}


def plot_cost_ratio(rows, scales=SCALES):
    """Two panels on linear axes: (a) GFLOP per forward pass of one batch, Single-Attn vs
    Looped-Attn, at each scale; (b) the ratio F(n)/F(1) = n − (n−1)·R/F(1) (R: the readout, paid
    once) against the ideal n. Returns ``(fig, ratios)`` with ``ratios[scale] = cost_ratio(...)``.

    Introduced in notebooks/06_full_gpu_training.
    """

    fig, (a, b) = plt.subplots(1, 2, figsize=(10.5, 3.8), gridspec_kw={"width_ratios": [1.25, 1]})
    ratios, x = {}, np.arange(len(scales))
    n_loops = None
    for i, s in enumerate(scales):
        row = next(r for r in rows if r["scale"] == s and r["model"] == "looped")
        n_loops, cr = row["n_loops"], row["cost_ratio"]
        ratios[s] = cr
        single = next(r for r in rows if r["scale"] == s and r["model"] == "single")["forward_gflops"]
        looped = single * cr["ratio"]  # F(n) = F(1) · ratio
        for dx, name, gflop in ((-0.19, "single", single), (0.19, "looped", looped)):
            st = COST_STYLE[name]
            a.bar(i + dx, gflop, 0.38, color=st["color"], label=st["label"] if i == 0 else None)
        b.bar(i, cr["ratio"], 0.5, color=COST_STYLE["looped"]["color"])
        b.text(i, cr["ratio"] / 2, f"{cr['ratio']:.3g}×", ha="center", va="center", fontsize=9, color="white")
    a.set(xticks=x, xticklabels=scales, ylabel="GFLOP per forward pass (one batch)",
          title="(a) cost of one forward pass")
    b.axhline(n_loops, color="0.3", ls="--", lw=1, label=f"{n_loops}× (the loops alone)")
    b.set(xticks=x, xticklabels=scales, ylim=(0, n_loops * 1.15), ylabel="Looped / Single FLOPs",
          title=f"(b) the price of the loops: F({n_loops}) / F(1)")
    for ax in (a, b):
        ax.set_axisbelow(True)
        ax.grid(False, axis="x")
    handles = a.get_legend_handles_labels()[0] + b.get_legend_handles_labels()[0]
    labels = a.get_legend_handles_labels()[1] + b.get_legend_handles_labels()[1]
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    fig.legend(handles, labels, loc="lower center", ncol=len(labels), fontsize=8, frameon=False)
    return fig, ratios
