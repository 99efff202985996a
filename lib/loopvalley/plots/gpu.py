"""Figures of the scale-up chapter: what a loop costs at each scale.

Plots never train: they take the rows of :func:`loopvalley.presets.scale_table` and the presets.

Introduced in notebooks/06_full_gpu_training.
"""

from __future__ import annotations

import matplotlib.pyplot as plt

from ..scales import SCALES


def plot_cost_ratio(rows, scales=SCALES):
    """Bars of GFLOP per forward pass, Single-Attn vs Looped-Attn, at each scale, annotated with
    F(n)/F(1) = n − (n−1)·R/F(1) (R: the readout, paid once). Returns ``(fig, ratios)`` with
    ``ratios[scale] = cost_ratio(...)``.

    Introduced in notebooks/06_full_gpu_training.
    """
    from ..distributed import cost_ratio
    from ..presets import preset

    fig, ax = plt.subplots(figsize=(6.5, 3.4))
    ratios = {}
    for i, s in enumerate(scales):
        p = preset("looped", s)
        cr = cost_ratio(p.model, p.train.batch_size, p.data.markov.seq_len, p.model.n_loops)
        ratios[s] = cr
        single = next(r for r in rows if r["scale"] == s and r["model"] == "single")["forward_gflops"]
        looped = single * cr["ratio"]  # F(n) = F(1) · ratio
        ax.bar(i - 0.18, single, 0.36, color="tab:blue", label="Single-Attn" if i == 0 else None)
        ax.bar(i + 0.18, looped, 0.36, color="tab:orange", label="Looped-Attn" if i == 0 else None)
        ax.text(i + 0.18, looped, f"{cr['ratio']:.3f}×", ha="center", va="bottom", fontsize=8)
    ax.set(xticks=range(len(scales)), xticklabels=scales, yscale="log",
           ylabel="GFLOP per forward pass (one batch)",
           title="Looped-Attn costs 3× Single-Attn, less the readout")
    ax.legend(fontsize=8)
    return fig, ratios
