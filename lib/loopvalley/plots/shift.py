"""Figures for SHIFT: the criterion drawn on a training curve, the three arms against steps, FLOPs
and wall-clock time, the ablation heat-maps, Theorem 3's alignment curves, and accuracy by length on
the algorithmic tasks.

Every function takes run records or result dicts and returns a matplotlib ``Figure``; none trains.

Introduced in notebooks/07_shift.
"""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np

from ..shift import criterion_trace, switch_step_of

ARM_STYLE = {
    "single": {"color": "tab:blue", "label": "Single-Attn"},
    "looped": {"color": "tab:orange", "label": "Looped-Attn"},
    "shift": {"color": "tab:green", "label": "SHIFT"},
}


def plot_criterion(history, cfg, records=None, split: str = "complex", delta1=None, delta2=None, patience=None):
    """SCP replayed on Single's recorded ``history``: window loss L_t (top), the relative improvement
    r_t against δ1 and the gradient coherence ρ_t against δ2 (middle), the patience counter against
    W (bottom); stalled checks shaded, the switch step marked. With ``records`` the top panel also
    shows the three arms' ``split`` accuracy.

    Introduced in notebooks/07_shift.
    """
    d1 = cfg.delta1 if delta1 is None else delta1
    d2 = cfg.delta2 if delta2 is None else delta2
    W = cfg.patience if patience is None else patience
    tr = criterion_trace(history, d1, d2, W)
    steps = np.asarray(history["step"])
    fire = None if tr["fire"] is None else steps[tr["fire"]]
    fig, axes = plt.subplots(3, 1, figsize=(8, 7.5), sharex=True, gridspec_kw={"height_ratios": [1.4, 1, 0.7]})
    ax = axes[0]
    ax.plot(steps, history["loss"], color="k", lw=1.2, label="Single: window loss $L_t$")
    ax.set_ylabel("training loss")
    if records:
        ax2 = ax.twinx()
        for arm, rec in records.items():
            st, acc = rec.curve(split, "acc")
            ax2.plot(st, 100 * acc, **ARM_STYLE.get(arm, {"label": arm}), lw=1.4, alpha=0.85)
        ax2.set_ylabel(f"{split}-split accuracy (%)")
        ax2.grid(False)
        ax2.legend(loc="center right", fontsize=8)
    ax.legend(loc="upper right", fontsize=8)
    ax = axes[1]
    ax.plot(steps, 100 * tr["r"], color="tab:purple", lw=1.2, label=r"$r_t$ (%): relative loss improvement")
    ax.axhline(100 * d1, color="tab:purple", ls="--", lw=1, label=fr"$\delta_1$ = {100 * d1:g} %")
    ax.plot(steps, 100 * tr["rho"], color="tab:brown", lw=1.2, label=r"$\rho_t$ (%): gradient coherence")
    if math.isfinite(d2):
        ax.axhline(100 * d2, color="tab:brown", ls="--", lw=1, label=fr"$\delta_2$ = {100 * d2:g} %")
    ax.set_ylim(-5, 60)
    ax.set_ylabel("%")
    ax.legend(fontsize=7, ncol=2, loc="upper right")
    ax = axes[2]
    ax.step(steps, tr["count"], where="post", color="k", lw=1.2, label="patience counter $c_t$")
    ax.axhline(W, color="r", ls="--", lw=1, label=f"W = {W}")
    ax.set_ylabel("$c_t$")
    ax.set_xlabel("step")
    ax.legend(fontsize=8, loc="upper left")
    width = steps[1] - steps[0] if len(steps) > 1 else 1
    for a in axes:
        for s, st in zip(steps, tr["stalled"]):
            if st:
                a.axvspan(s - width, s, color="0.85", lw=0, zorder=0)
        if fire is not None:
            a.axvline(fire, color="r", lw=1.5)
    title = f"SCP: δ1 = {d1:g}, δ2 = {d2:g}, W = {W} → " + (f"switch at step {fire}" if fire is not None else "never switches")
    axes[0].set_title(title)
    fig.tight_layout()
    return fig


def _mean_curve(records, arm, x: str, split: str):
    """Mean over seeds of ``split`` accuracy against ``x`` in {"step", "flops", "wall"}."""
    xs, ys = [], []
    for r in records:
        rec = r[arm]
        st, acc = rec.curve(split, "acc")
        xs.append({"step": st, "flops": np.asarray(rec.flops), "wall": np.asarray(rec.wall)}[x])
        ys.append(100 * acc)
    n = min(len(y) for y in ys)
    return np.mean([v[:n] for v in xs], 0), np.mean([v[:n] for v in ys], 0)


def plot_comparison(records, split: str = "complex"):
    """Single, Looped and SHIFT: ``split`` accuracy (mean over seeds) against steps, training FLOPs
    and wall-clock seconds; SHIFT's switch steps marked; the target (Looped's final − 1 point) dotted.

    Introduced in notebooks/07_shift.
    """
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8), sharey=True)
    looped_final = np.mean([100 * np.mean(r["looped"].curve(split, "acc")[1][-3:]) for r in records])
    for ax, x, label in zip(axes, ("step", "flops", "wall"), ("training step", "training FLOPs", "wall-clock (s)")):
        for arm in ("single", "looped", "shift"):
            xs, ys = _mean_curve(records, arm, x, split)
            ax.plot(xs, ys, lw=1.6, **ARM_STYLE[arm])
        ax.axhline(looped_final - 1, color="0.4", ls=":", lw=1, label="Looped's final − 1 point")
        ax.set_xlabel(label)
    for r in records:
        s = switch_step_of(r["shift"])
        if s is not None:
            axes[0].axvline(s, color=ARM_STYLE["shift"]["color"], ls="--", lw=0.8, alpha=0.6)
    axes[0].set_ylabel(f"{split}-split accuracy (%)")
    axes[0].legend(fontsize=8, loc="lower right")
    axes[0].set_title("against steps (dashed: switch)")
    axes[1].set_title("against compute")
    axes[2].set_title("against time")
    fig.tight_layout()
    return fig


def plot_ablation(table, grid, metrics=("switch_step", "f1_gap", "transient_drop", "flops_ratio")):
    """Heat-maps of the ablation: for each metric (rows) and optimizer-state policy (columns), a grid
    of δ1 (x) × W (y), one block per δ2. Values averaged over the ablation seeds; ∞ = never.

    Introduced in notebooks/07_shift.
    """
    titles = {"switch_step": "switch step", "f1_gap": "SHIFT − Looped final acc (points)",
              "flops_ratio": "FLOPs to target / Looped's run", "wall_ratio": "wall-clock to target / Looped's run",
              "transient_drop": "drop after switch (points)"}
    cmaps = {"switch_step": "viridis", "f1_gap": "RdYlGn", "flops_ratio": "RdYlGn_r", "wall_ratio": "RdYlGn_r",
             "transient_drop": "Reds"}
    d1s, d2s, Ws = list(grid["delta1"]), list(grid["delta2"]), list(grid["patience"])
    policies = table["policies"]
    fig, axes = plt.subplots(len(metrics), len(policies), figsize=(4.8 * len(policies), 2.6 * len(metrics)), squeeze=False)
    for i, metric in enumerate(metrics):
        vals = np.asarray(table[metric], dtype=float)  # (policy, cell)
        finite = vals[np.isfinite(vals)]
        vmin, vmax = (finite.min(), finite.max()) if finite.size else (0, 1)
        if metric == "f1_gap":
            lim = max(abs(vmin), abs(vmax), 1.0)
            vmin, vmax = -lim, lim
        for p, policy in enumerate(policies):
            ax = axes[i, p]
            # image: rows = W, columns = (δ2 block, δ1)
            img = np.full((len(Ws), len(d2s) * (len(d1s) + 1) - 1), np.nan)
            for c, (d1, d2, w) in enumerate(table["cells"]):
                col = d2s.index(d2) * (len(d1s) + 1) + d1s.index(d1)
                img[Ws.index(w), col] = vals[p, c]
            shown = np.where(np.isfinite(img), img, np.nan)
            ax.imshow(shown, cmap=cmaps[metric], vmin=vmin, vmax=vmax, aspect="auto", origin="lower")
            for (yy, xx), v in np.ndenumerate(img):
                if (xx + 1) % (len(d1s) + 1) == 0:
                    continue
                txt = "∞" if np.isinf(v) else ("–" if np.isnan(v) else f"{v:.3g}" if metric != "switch_step" else f"{v:.0f}")
                ax.text(xx, yy, txt, ha="center", va="center", fontsize=7)
            ax.set_yticks(range(len(Ws)), [str(w) for w in Ws])
            ax.set_xticks([k * (len(d1s) + 1) + j for k in range(len(d2s)) for j in range(len(d1s))],
                          [f"{d1:g}" for _ in d2s for d1 in d1s], fontsize=7)
            for k, d2 in enumerate(d2s):
                ax.text(k * (len(d1s) + 1) + (len(d1s) - 1) / 2, len(Ws) - 0.35, f"δ2 = {d2:g}", ha="center",
                        va="bottom", fontsize=8)
            ax.set_ylim(-0.5, len(Ws) - 0.5 + 0.45)
            ax.grid(False)
            ax.set_ylabel("W")
            ax.set_xlabel("δ1")
            ax.set_title(f"{titles[metric]} — Adam state: {policy}", fontsize=9)
    fig.tight_layout()
    return fig


def plot_alignment(records, switch_steps=None, weights=("W_Q", "W_K", "W_V", "W_O")):
    """Theorem 3: cos(∇_W L_single, ∇_W L_looped) at the same weights, along Single's run (left) and
    Looped's run (middle), mean over seeds; right: the premises (diagonal dominance of W_QᵀW_K, PSD-ness
    of W_QᵀW_K, W_O W_V and their product) along Single's run. Dashed: the switch steps.

    Introduced in notebooks/07_shift.
    """
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.6))
    colors = {"W_Q": "tab:red", "W_K": "tab:purple", "W_V": "tab:gray", "W_O": "tab:olive"}
    for ax, arm in zip(axes[:2], ("single", "looped")):
        for w in weights:
            st = np.asarray(records[0][arm].probes["theorem3"]["step"])
            c = np.nanmean([np.asarray(r[arm].probes["theorem3"][f"cos_{w}"], float)[: len(st)] for r in records], 0)
            ax.plot(st[1:], c[1:], marker="o", ms=3, lw=1.4 if w in ("W_Q", "W_K") else 1.0,
                    ls="-" if w in ("W_Q", "W_K") else "--", color=colors[w], label=w)
        ax.axhline(0, color="k", lw=0.6)
        ax.set_ylim(-1.05, 1.05)
        ax.set_xlabel("step")
        ax.set_title(f"gradient cosine, along {ARM_STYLE[arm]['label']}'s run", fontsize=10)
    axes[0].set_ylabel("cos(Single grad, Looped grad)")
    axes[0].legend(fontsize=8, ncol=2)
    ax = axes[2]
    st = np.asarray(records[0]["single"].probes["theorem3"]["step"])
    for key, label, col in (("dd_QK", "diag. dominant rows of $W_Q^TW_K$", "k"),
                            ("psd_QK", "PSD-ness of $W_Q^TW_K$", "tab:red"),
                            ("psd_OV", "PSD-ness of $W_OW_V$", "tab:blue"),
                            ("psd_QK_OV", "PSD-ness of the product", "tab:green")):
        v = np.mean([np.asarray(r["single"].probes["theorem3"][key], float)[: len(st)] for r in records], 0)
        ax.plot(st, v, marker="o", ms=3, color=col, label=label)
    ax.set_ylim(-0.05, 1.05)
    ax.set_xlabel("step")
    ax.set_title("Theorem 3's premises along Single's run", fontsize=10)
    ax.legend(fontsize=7)
    for s in switch_steps or []:
        if s is not None:
            for a in axes:
                a.axvline(s, color=ARM_STYLE["shift"]["color"], ls="--", lw=0.8, alpha=0.6)
    fig.tight_layout()
    return fig


def plot_length_generalisation(task_runs, n_train: int, metric: str = "exact_match"):
    """Accuracy by length for each task (one panel each), the three arms, mean over seeds; the shaded
    region is beyond the training length n.

    Introduced in notebooks/08_algorithmic_tasks.
    """
    tasks = list(task_runs)
    fig, axes = plt.subplots(1, len(tasks), figsize=(3.6 * len(tasks), 3.2), sharey=True, squeeze=False)
    for ax, task in zip(axes[0], tasks):
        for arm in ("single", "looped", "shift"):
            L = np.asarray(task_runs[task][0][arm]["by_length"]["length"])
            acc = np.mean([np.asarray(r[arm]["by_length"][metric]) for r in task_runs[task]], 0)
            ax.plot(L, 100 * acc, marker="o", ms=3, lw=1.4, **ARM_STYLE[arm])
        ax.axvspan(n_train + 0.5, L.max() + 0.5, color="0.9", lw=0, zorder=0)
        ax.set_title(task.replace("_", " "))
        ax.set_xlabel("length n")
    axes[0, 0].set_ylabel(metric.replace("_", " ") + " (%)")
    axes[0, 0].legend(fontsize=8)
    fig.tight_layout()
    return fig
