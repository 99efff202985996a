"""Figures for the river-valley chapters: contours with trajectories, loss curves, valley cross
sections, valley hopping frame by frame, and the Theorem 1 / Corollary 1–2 checks.

Every function takes results (landscapes, trajectories, result dicts) and returns a matplotlib
``Figure``; none of them runs an optimizer.

Introduced in notebooks/01_river_valley.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import torch

from ..landscapes import RiverValley2D, kappa_valley
from ..simulate import loss_split, river_progress, stable_phase_end

COLORS = plt.rcParams["axes.prop_cycle"].by_key()["color"]


def _np(t):
    return t.detach().cpu().numpy() if hasattr(t, "detach") else np.asarray(t)


def _smooth(a, w: int):
    """Running mean over w records along axis 0 (display only)."""
    if w <= 1:
        return a
    k = np.ones(w) / w
    return np.stack([np.convolve(a[:, r], k, mode="valid") for r in range(a.shape[1])], axis=1)


def plot_river_valley(landscape: RiverValley2D, traj, labels=None, runs=None, pad: float = 1.0):
    """Loss contours of the 2-D river valley, the river (dashed) and the trajectory of each run in
    ``runs``, one panel per run (shared axes).

    Introduced in notebooks/01_river_valley.
    """
    th = _np(traj.theta)  # (N, R, 2)
    runs = list(range(th.shape[1])) if runs is None else list(runs)
    pts = th[:, runs].reshape(-1, 2)
    pts = pts[np.isfinite(pts).all(1)]
    a = abs(landscape.amplitude)
    xlim = (pts[:, 0].min() - pad, pts[:, 0].max() + pad)
    ylim = (min(pts[:, 1].min(), -a) - pad, max(pts[:, 1].max(), a) + pad)
    fig, axes = plt.subplots(len(runs), 1, figsize=(9, 1.2 + 2.0 * len(runs)), sharex=True, squeeze=False)
    X, Y, L = (_np(t) for t in landscape.grid(xlim, ylim, 200))
    xs = np.linspace(*xlim, 400)
    for i, (r, ax) in enumerate(zip(runs, axes[:, 0])):
        ax.contourf(X, Y, L, levels=30, cmap="Blues_r", alpha=0.85)
        ax.plot(xs, _np(landscape.river_curve(torch.tensor(xs))), "k--", lw=1)
        c = COLORS[i % len(COLORS)]
        ax.plot(th[:, r, 0], th[:, r, 1], "-", lw=0.6, color=c)
        ax.plot(th[0, r, 0], th[0, r, 1], "k*", ms=10)
        ax.plot(th[-1, r, 0], th[-1, r, 1], "o", color=c, ms=7, mec="k")
        lab = labels[i] if labels is not None and i < len(labels) else f"run {r}"
        ax.text(0.01, 0.95, lab, transform=ax.transAxes, va="top", fontsize=9,
                bbox=dict(boxstyle="round", fc="white", alpha=0.85))
        ax.set(ylabel="y", xlim=xlim, ylim=ylim)
        ax.grid(False)
    axes[-1, 0].set_xlabel("x (along the river)")
    axes[0, 0].set_title("River valley L = −h·x + (λ/2)(y − a·sin ωx)²: river dashed, start ★, end ●")
    fig.tight_layout()
    return fig


def plot_loss_curves(landscape, traj, labels=None, reference=None, decay: float = 0.2, smooth: int = 10,
                     draws: int = 1):
    """Three panels over the steps: the loss, the river progress, the valley (hillside) loss (losses as
    running means over ``smooth`` records; with ``draws`` > 1, consecutive groups of ``draws`` runs
    are averaged into one curve). ``reference`` (another trajectory, e.g. constant lr) is drawn
    dashed; the decay start of a WSD ``traj`` is marked.

    Introduced in notebooks/01_river_valley.
    """
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.6))
    for tr, style, tag in ((traj, "-", traj.schedule), (reference, "--", getattr(reference, "schedule", ""))):
        if tr is None:
            continue
        steps = _np(tr.steps_recorded)
        w = max(1, min(smooth, len(steps) // 4))
        ks = steps[w - 1:]
        def group(a):  # (N, R) → (N, R/draws): mean over each group of draws
            return a.reshape(a.shape[0], -1, draws).mean(-1)

        loss, prog = _smooth(group(_np(tr.loss)), w), group(_np(river_progress(tr, landscape)))
        valley = _smooth(group(_np(loss_split(tr, landscape)["valley"])), w)
        for r in range(loss.shape[1]):
            lab = (labels[r] if labels is not None else f"run {r}") + f" ({tag})"
            c = COLORS[r % len(COLORS)]
            axes[0].plot(ks, loss[:, r], style, color=c, lw=1, label=lab)
            axes[1].plot(steps, prog[:, r], style, color=c, lw=1)
            axes[2].semilogy(ks, np.maximum(valley[:, r], 1e-8), style, color=c, lw=1)
    if traj.schedule == "wsd":
        for ax in axes:
            ax.axvline(stable_phase_end(traj.lr.shape[0], decay), color="gray", ls=":", lw=1)
        axes[1].text(stable_phase_end(traj.lr.shape[0], decay), 0, " decay", fontsize=8)
    axes[0].set(xlabel="step", ylabel="loss", title=f"loss (running mean, {w} steps)")
    axes[1].set(xlabel="step", ylabel="x − x₀", title="progress along the river")
    axes[2].set(xlabel="step", ylabel="(λ/2)(y − f(x))²", title="valley (hillside) loss (running mean)")
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    return fig


def plot_lr_sweep(wen: dict):
    """Wen et al.'s summary over learning rates (means ± std over seeds): river progress, and the loss
    in the stable phase vs after the decay.

    Introduced in notebooks/01_river_valley.
    """
    lrs = wen["lrs"]
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.5))
    for ax, key, title in ((axes[0], "progress", "river progress (end of stable phase)"),
                           (axes[1], "valley_stable", "valley loss (stable phase)")):
        ax.errorbar(lrs, wen[key].mean(0), wen[key].std(0), marker="o", capsize=3)
        ax.set(xlabel="lr", title=title)
    axes[2].errorbar(lrs, wen["loss_stable"].mean(0), wen["loss_stable"].std(0), marker="o", capsize=3, label="stable phase")
    axes[2].errorbar(lrs, wen["loss_final"].mean(0), wen["loss_final"].std(0), marker="s", capsize=3, label="after decay")
    axes[2].set(xlabel="lr", title="loss: the decay reveals the progress")
    axes[2].legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_valley_cross_sections(U, V, r: float = 0.0, lim: float = 3.0):
    """Loss contours over two valley coordinates (v₁, v₂) at river position r, for a U- and a V-valley
    (m = 2), with κ(H_V) in the titles.

    Introduced in notebooks/02_u_vs_v_valleys.
    """
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.3))
    for ax, land, name in ((axes[0], U, "U-valley"), (axes[1], V, "V-valley")):
        V1, V2, L = (_np(a) for a in land.cross_section(r, lim))
        cs = ax.contour(V1, V2, L, levels=np.linspace(L.min(), L.min() + 0.5 * lim**2, 12), cmap="viridis")
        ax.clabel(cs, fontsize=6, fmt="%.2f")
        lam = _np(land.lam)
        ax.set(xlabel=f"v₁  (λ₁ = {lam[0]:.3g})", ylabel=f"v₂  (λ₂ = {lam[1]:.3g})", aspect="equal",
               title=f"{name}: κ(H_V) = {float(kappa_valley(land.lam)):.3g}")
        ax.grid(False)
    fig.suptitle("Cross-sections of the valley at fixed river position r")
    fig.tight_layout()
    return fig


def plot_hopping_frames(landscapes: dict, trajs: dict, frames=range(0, 8), lim: float = 2.5):
    """Valley hopping, frame by frame: for each (name → landscape, trajectory of one run, m = 2), one row
    of cross-sections at the current river position with the iterate and its recent path.

    Introduced in notebooks/02_u_vs_v_valleys.
    """
    frames = list(frames)
    fig, axes = plt.subplots(len(landscapes), len(frames), figsize=(1.9 * len(frames), 2.2 * len(landscapes)),
                             squeeze=False)
    for row, (name, land) in enumerate(landscapes.items()):
        th = _np(trajs[name].theta[:, 0])  # (N, 1 + m)
        V1, V2, L = (_np(a) for a in land.cross_section(0.0, lim, 61))
        levels = np.linspace(L.min(), L.min() + 0.5 * float(land.lam.max()) * lim**2, 10)
        for col, k in enumerate(frames):
            ax = axes[row, col]
            ax.contour(V1, V2, L, levels=levels, cmap="viridis", linewidths=0.6)
            ax.plot(th[max(0, k - 3): k + 1, 1], th[max(0, k - 3): k + 1, 2], "-", color="gray", lw=0.8)
            ax.plot(th[k, 1], th[k, 2], "o", color="crimson", ms=6)
            ax.set(xticks=[], yticks=[], aspect="equal", title=f"k={k}  r={th[k, 0]:.3f}")
            ax.title.set_fontsize(8)
            ax.grid(False)
        axes[row, 0].set_ylabel(f"{name}\nv₂", fontsize=9)
    for ax in axes[-1]:
        ax.set_xlabel("v₁", fontsize=8)
    fig.suptitle("Valley hopping: the iterate jumps between the walls while r advances")
    fig.tight_layout()
    return fig


def plot_hopping_trace(landscape, traj, run: int = 0, reference=None, labels=("", "")):
    """Valley coordinates v_i(k) (symlog) and the river coordinate r(k) of one run; ``reference``
    (another trajectory from the same start, e.g. the unforced dynamics) is drawn dashed.

    Introduced in notebooks/02_u_vs_v_valleys.
    """
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.4))
    lam = _np(landscape.lam if landscape.lam.ndim == 1 else landscape.lam[run])
    eta = float(traj.lr[0, run])
    for tr, style, tag in ((traj, "-", labels[0]), (reference, "--", labels[1])):
        if tr is None:
            continue
        th, k = _np(tr.theta[:, run]), _np(tr.steps_recorded)
        for i in range(th.shape[1] - 1):
            axes[0].plot(k, th[:, 1 + i], style, color=COLORS[i % len(COLORS)], lw=0.8, marker="." if style == "-" else None,
                         ms=3, label=f"v{i + 1} (ηλ = {eta * lam[i]:.2g}) {tag}")
        axes[1].plot(k, th[:, 0], style, color="k", lw=1, label=f"r {tag}")
    axes[0].set_yscale("symlog", linthresh=1e-3)
    axes[0].set(xlabel="step k", ylabel="v_i", title="valley coordinates (sign flips = hops)")
    axes[0].legend(fontsize=7)
    axes[1].set(xlabel="step k", ylabel="r", title="river coordinate")
    if reference is not None:
        axes[1].legend(fontsize=7)
    fig.tight_layout()
    return fig


def plot_cumulative_force(curves: dict):
    """C_K against K (log axis) for the U and V valley of one draw, with ±𝒞 (dashed) and C_∞ (dotted).

    Introduced in notebooks/02_u_vs_v_valleys.
    """
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.6))
    K = curves["K"][1:]
    for ax, name in zip(axes, ("U", "V")):
        c = curves[name]
        ax.plot(K, c["C"][1:], "-", lw=1, label="measured C_K")
        ax.axhline(c["bound"], color="crimson", ls="--", lw=1, label=r"$\pm\mathcal{C}$ (Theorem 1)")
        ax.axhline(-c["bound"], color="crimson", ls="--", lw=1)
        ax.axhline(c["limit"], color="k", ls=":", lw=1, label="C_∞ = bᵀH_V⁻¹θ_V⁰")
        ax.set_xscale("log")
        ax.set(xlabel="K", ylabel="C_K", title=f"{name}-valley, η = {curves['eta']:g}")
        ax.legend(fontsize=7)
    lim = max(curves["U"]["bound"], curves["V"]["bound"]) * 1.1
    for ax in axes:
        ax.set_ylim(-lim, lim)
    fig.tight_layout()
    return fig


def plot_bound_sweep(t1: dict):
    """max_K ‖C_K‖/𝒞 for every (η, κ, m, seed) of the Theorem 1 sweep; the bound is 1 (red line) and
    η = 2/λ_max (gray) is where the valley diverges.

    Introduced in notebooks/02_u_vs_v_valleys.
    """
    rows = t1["rows"]
    fig, ax = plt.subplots(figsize=(7.5, 3.8))
    kappas = t1["kappas"]
    for i, kap in enumerate(kappas):
        sel = [r for r in rows if r["kappa"] == kap]
        x = np.array([r["eta"] for r in sel]) + 0.03 * (i - (len(kappas) - 1) / 2)
        y = np.array([min(r["max_ratio"], 1e3) for r in sel])
        ax.scatter(x, y, s=12, alpha=0.6, color=COLORS[i], label=f"κ = {kap:g}")
    ax.axhline(1.0, color="crimson", lw=1, label=r"bound: $\|C_K\| = \mathcal{C}$")
    ax.axvline(2.0, color="gray", ls=":", lw=1)
    ax.text(2.0, ax.get_ylim()[0], " η = 2/λ_max", fontsize=8, va="bottom")
    ax.set_yscale("log")
    ax.set(xlabel="η (λ_max = 1)", ylabel=r"$\max_K \|C_K\| / \mathcal{C}$", title=f"Theorem 1 over K ≤ {t1['K']} (capped at 10³)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_corollary1(c1: dict):
    """Left: the bound ratio 𝒞_V/𝒞_U against κ for each m, with (κ−1)/ln κ. Right: the realised force
    ratio mean|C_K^V| / mean|C_K^U| against K.

    Introduced in notebooks/02_u_vs_v_valleys.
    """
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.7))
    kap = c1["kappas"]
    j = int(np.argmin(np.abs(kap - 100)))  # the κ closest to 100
    for i, m in enumerate(c1["ms"]):
        axes[0].loglog(kap, c1["bound_ratio"][:, i].mean(0), "o-", ms=4, label=f"m = {m}")
        axes[1].loglog(c1["Ks"], c1["realised_ratio"][:, i, j].mean(0), "o-", ms=4, label=f"m = {m}, κ = {kap[j]:g}")
    axes[0].loglog(kap, c1["prediction"], "k--", lw=1, label="(κ−1)/ln κ")
    axes[0].set(xlabel="κ(H_V)", ylabel=r"$\mathcal{C}_V / \mathcal{C}_U$", title="Corollary 1: the bound ratio")
    axes[1].set(xlabel="K", ylabel="mean|C_K^V| / mean|C_K^U|", title=f"realised force ratio (η = {c1['eta']:g})")
    for ax in axes:
        ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def plot_corollary2(c2: dict):
    """Fraction of random draws with L_K(V) < L_K(U) against K, for true GD and Theorem 1's unforced
    GD, with random or downstream-aligned force, and the accuracy of the sign rule.

    Introduced in notebooks/02_u_vs_v_valleys.
    """
    fig, ax = plt.subplots(figsize=(8, 3.8))
    K = c2["Ks"]
    styles = {"true": ("true GD, random draws", "-o"), "true_aligned": ("true GD, force aligned downstream", "--o"),
              "unforced": ("Theorem 1 (unforced), random draws", "-s"),
              "unforced_aligned": ("Theorem 1 (unforced), aligned", "--s"),
              "sign_rule_accuracy": ("sign rule accuracy (unforced)", ":^")}
    for key, (lab, st) in styles.items():
        ax.semilogx(K, c2[key].mean(0), st, ms=4, lw=1, label=lab)
    ax.axhline(0.5, color="gray", lw=0.5)
    ax.axvline(c2["drained_K"], color="gray", ls=":", lw=1)
    ax.text(c2["drained_K"], 0.02, " V drained", fontsize=8)
    ax.set(xlabel="K", ylabel="fraction of draws", ylim=(-0.03, 1.03),
           title=f"Corollary 2: is L_K(V) < L_K(U)?  (η = {c2['eta']:g}, κ = {c2['kappa']:g}, m = {c2['m']})")
    ax.legend(fontsize=7, loc="center left")
    fig.tight_layout()
    return fig


def plot_unforced_validity(uv: dict):
    """Median relative error of Theorem 1's river prediction ηKh − C_K under true GD, against K, for
    several coupling strengths.

    Introduced in notebooks/02_u_vs_v_valleys.
    """
    fig, ax = plt.subplots(figsize=(7.5, 3.6))
    for i, c in enumerate(uv["couplings"]):
        err = np.minimum(uv["rel_error"][i], 1e3)
        ax.loglog(uv["Ks"], np.maximum(err, 1e-12), "o-", ms=4,
                  label=f"c = {c:g}  (river curvature {uv['river_curvature'][i]:.1e})")
    ax.axhline(0.1, color="gray", ls=":", lw=1)
    ax.set(xlabel="K", ylabel="|Δr_true − Δr_pred| / |Δr_pred|", title="When does Theorem 1's unforced dynamics describe true GD?")
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig
