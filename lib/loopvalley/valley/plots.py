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
from matplotlib import patheffects

from loopvalley.notebook import OKABE_ITO
from loopvalley.valley.landscapes import RiverValley2D, kappa_valley
from loopvalley.valley.simulate import loss_split, river_progress, stable_phase_end

COLORS = list(OKABE_ITO)  # blue, vermillion, green, orange, purple, sky, yellow, grey (colour-blind safe)
BOUND_COLOR = "black"  # Theorem 1's bound 𝒞 and other reference lines
HALO = [patheffects.withStroke(linewidth=2.6, foreground="white")]  # a white outline: a path stays visible on any colour


def _np(t):
    return t.detach().cpu().numpy() if hasattr(t, "detach") else np.asarray(t)


def _smooth(a, w: int):
    """Running mean over w records along axis 0 (display only)."""
    if w <= 1:
        return a
    k = np.ones(w) / w
    return np.stack([np.convolve(a[:, r], k, mode="valid") for r in range(a.shape[1])], axis=1)


def plot_river_valley(landscape: RiverValley2D, traj, labels=None, runs=None, pad: float = 1.0):
    """Loss contours of the 2-D river valley (cividis, with a loss colorbar), the river (dashed) and
    the trajectory of each run in ``runs``, one panel per run (shared axes). Paths are drawn with a
    white outline so that every colour stays visible; a diverged run is drawn up to its blow-up.

    Introduced in notebooks/01_river_valley.
    """
    th = _np(traj.theta)  # (N, R, 2)
    runs = list(range(th.shape[1])) if runs is None else list(runs)
    e = np.abs(_np(landscape.valley_coordinates(traj.theta))[..., 0])  # (N, R): height above the floor
    near = np.isfinite(th).all(-1) & (e < 8)  # a diverged run's last points (far up the walls) leave the frame
    pts = th[:, runs][near[:, runs]]
    a = abs(landscape.amplitude)
    xlim = (pts[:, 0].min() - pad, pts[:, 0].max() + pad)
    ylim = (min(pts[:, 1].min(), -a) - pad, max(pts[:, 1].max(), a) + pad)
    fig, axes = plt.subplots(len(runs), 1, figsize=(9, 1.3 + 2.0 * len(runs)), sharex=True, squeeze=False,
                             layout="constrained")
    X, Y, L = (_np(t) for t in landscape.grid(xlim, ylim, 200))
    levels = np.linspace(L.min(), np.quantile(L, 0.9), 25)  # the far hillsides are clipped (extend="max")
    xs = np.linspace(*xlim, 400)
    for i, (r, ax) in enumerate(zip(runs, axes[:, 0])):
        cf = ax.contourf(X, Y, L, levels=levels, cmap="cividis_r", extend="max")
        ax.plot(xs, _np(landscape.river_curve(torch.tensor(xs))), "--", color="0.25", lw=1)
        c = COLORS[i % len(COLORS)]
        ax.plot(th[:, r, 0], th[:, r, 1], "-", lw=1.1, color=c, path_effects=HALO)
        ax.plot(th[0, r, 0], th[0, r, 1], "*", color="black", mec="white", ms=12)
        last = np.flatnonzero(near[:, r])[-1]
        ax.plot(th[last, r, 0], th[last, r, 1], "o", color=c, ms=8, mec="black")
        lab = labels[i] if labels is not None and i < len(labels) else f"run {r}"
        ax.text(0.01, 0.95, lab, transform=ax.transAxes, va="top", fontsize=9,
                bbox=dict(boxstyle="round", fc="white", alpha=0.9))
        ax.set(ylabel="y", xlim=xlim, ylim=ylim)
        ax.grid(False)
    axes[-1, 0].set_xlabel("x (along the river)")
    axes[0, 0].set_title("River valley L = −h·x + (λ/2)(y − a·sin ωx)²: river dashed, start ★, end ●")
    from matplotlib.ticker import MaxNLocator

    ticks = [t for t in MaxNLocator(5).tick_values(levels[0], levels[-1]) if levels[0] <= t <= levels[-1]]
    cb = fig.colorbar(cf, ax=axes[:, 0].tolist(), shrink=0.9, aspect=30, pad=0.02, label="loss L(x, y)", ticks=ticks)
    cb.ax.yaxis.set_major_formatter("{x:.2g}")
    return fig


def plot_loss_curves(landscape, traj, labels=None, reference=None, decay: float = 0.2, smooth: int = 10,
                     draws: int = 1):
    """Three panels over the steps: the loss, the river progress, the valley (hillside) loss (losses as
    running means over ``smooth`` records; with ``draws`` > 1, consecutive groups of ``draws`` runs
    are averaged into one curve). ``reference`` (another trajectory, e.g. constant lr) is drawn
    dashed; the decay start of a WSD ``traj`` is marked. The legend sits below the panels.

    Introduced in notebooks/01_river_valley.
    """
    from matplotlib.lines import Line2D

    fig, axes = plt.subplots(1, 3, figsize=(13, 4.2), layout="constrained")
    w = 1
    n_curves = 0
    for tr, style in ((traj, "-"), (reference, "--")):
        if tr is None:
            continue
        steps = _np(tr.steps_recorded)
        w = max(1, min(smooth, len(steps) // 4))
        ks = steps[w - 1:]

        def group(a):  # (N, R) → (N, R/draws): mean over each group of draws
            return a.reshape(a.shape[0], -1, draws).mean(-1)

        loss, prog = _smooth(group(_np(tr.loss)), w), group(_np(river_progress(tr, landscape)))
        valley = _smooth(group(_np(loss_split(tr, landscape)["valley"])), w)
        n_curves = loss.shape[1]
        for r in range(loss.shape[1]):
            c = COLORS[r % len(COLORS)]
            axes[0].plot(ks, loss[:, r], style, color=c, lw=1.1)
            axes[1].plot(steps, prog[:, r], style, color=c, lw=1.1)
            axes[2].semilogy(ks, np.maximum(valley[:, r], 1e-8), style, color=c, lw=1.1)
    if traj.schedule == "wsd":
        x0 = stable_phase_end(traj.lr.shape[0], decay)
        for ax in axes:
            ax.axvline(x0, color="gray", ls=":", lw=1)
        axes[1].text(x0, 0.02, " decay →", fontsize=8, transform=axes[1].get_xaxis_transform(), color="0.3")
    axes[0].set(xlabel="step", ylabel="loss", title=f"loss (running mean, {w} steps)")
    axes[1].set(xlabel="step", ylabel="x − x₀", title="progress along the river")
    axes[2].set(xlabel="step", ylabel="(λ/2)(y − f(x))²", title="valley (hillside) loss (running mean)")
    handles = [Line2D([], [], color=COLORS[r % len(COLORS)], lw=2,
                      label=labels[r] if labels is not None and r < len(labels) else f"run {r}") for r in range(n_curves)]
    handles.append(Line2D([], [], color="0.2", ls="-", label=f"{traj.schedule} schedule"))
    if reference is not None:
        handles.append(Line2D([], [], color="0.2", ls="--", label=f"{reference.schedule} schedule"))
    fig.legend(handles=handles, loc="outside lower center", ncol=len(handles), fontsize=8, frameon=False)
    return fig


def plot_lr_sweep(wen: dict):
    """Wen et al.'s summary over learning rates (means ± std over seeds): river progress, and the loss
    in the stable phase vs after the decay (means ± std over seeds; legend below the axes).

    Introduced in notebooks/01_river_valley.
    """
    lrs = wen["lrs"]
    fig, axes = plt.subplots(1, 3, figsize=(13, 4.1), layout="constrained")
    for ax, key, title, ylabel in ((axes[0], "progress", "river progress (end of stable phase)", "x − x₀ (along the river)"),
                                   (axes[1], "valley_stable", "valley loss (stable phase)", "(λ/2)(y − f(x))²")):
        ax.errorbar(lrs, wen[key].mean(0), wen[key].std(0), marker="o", capsize=3, color=COLORS[0])
        ax.set(xlabel="learning rate η of the stable phase", ylabel=ylabel, title=title)
    axes[2].errorbar(lrs, wen["loss_stable"].mean(0), wen["loss_stable"].std(0), marker="o", capsize=3,
                     color=COLORS[0], label="stable phase (mean of its second half)")
    axes[2].errorbar(lrs, wen["loss_final"].mean(0), wen["loss_final"].std(0), marker="s", capsize=3,
                     color=COLORS[1], label="after the decay")
    axes[2].set(xlabel="learning rate η of the stable phase", ylabel="loss L = −h·x + valley loss",
                title="loss: the decay reveals the progress")
    fig.legend(*axes[2].get_legend_handles_labels(), loc="outside lower center", ncol=2, fontsize=8, frameon=False,
               title="mean ± std over seeds", title_fontsize=8)
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


def plot_hopping_frames(landscapes: dict, trajs: dict, frames=(0, 1, 2, 3, 10, 60), lim: float = 2.5):
    """Valley hopping, frame by frame: for each (name → landscape, trajectory of one run, m = 2), one row
    of cross-sections (v₁ across, v₂ up) with the iterate at step k and its last three steps. Each row
    is labelled with its ηλᵢ: a coordinate with ηλᵢ > 1 changes sign every step (the iterate jumps from
    wall to wall), one with ηλᵢ < 1 drains without hopping; the titles give k and the river
    coordinate r, which advances meanwhile.

    Introduced in notebooks/02_u_vs_v_valleys.
    """
    frames = list(frames)
    fig, axes = plt.subplots(len(landscapes), len(frames), figsize=(2.3 * len(frames) + 0.8, 2.7 * len(landscapes) + 1.0),
                             squeeze=False, layout="constrained")
    for row, (name, land) in enumerate(landscapes.items()):
        th = _np(trajs[name].theta[:, 0])  # (N, 1 + m)
        eta = float(_np(trajs[name].lr).ravel()[0])
        el = eta * _np(land.lam).ravel()  # ηλ_i
        V1, V2, L = (_np(a) for a in land.cross_section(0.0, lim, 61))
        levels = np.linspace(L.min(), L.min() + 0.5 * float(land.lam.max()) * lim**2, 10)
        for col, k in enumerate(frames):
            ax = axes[row, col]
            ax.contour(V1, V2, L, levels=levels, cmap="viridis", linewidths=0.6)
            ax.plot(th[max(0, k - 3): k + 1, 1], th[max(0, k - 3): k + 1, 2], "-", color="0.35", lw=1)
            ax.plot(th[k, 1], th[k, 2], "o", color=COLORS[1], mec="black", ms=7)
            ax.set(xticks=[], yticks=[], aspect="equal")
            ax.set_title(f"step k = {k}\nr = {th[k, 0]:.3g}", fontsize=10)
            ax.grid(False)
        hops = ", ".join("v" + "".join(chr(0x2080 + int(d)) for d in str(i + 1)) for i in np.flatnonzero(el > 1)) or "none"  # v₁, v₂
        axes[row, 0].set_ylabel(f"{name}-valley\nηλ = {', '.join(f'{v:.3g}' for v in el)}\nhops: {hops}\n\nv₂ ↑",
                                fontsize=10)
    for ax in axes[-1]:
        ax.set_xlabel("v₁ →", fontsize=10)
    fig.suptitle("Valley hopping: where ηλᵢ > 1 the iterate (●, its last steps in grey) jumps between the walls\n"
                 "every step, while the river coordinate r (in each title) keeps advancing", fontsize=12)
    return fig


def plot_hopping_trace(landscape, traj, run: int = 0, reference=None, labels=("", "")):
    """Valley coordinates v_i(k) (symlog) and the river coordinate r(k) of one run; ``reference``
    (another trajectory from the same start, e.g. the unforced dynamics) is drawn dashed; legends
    below the axes.

    Introduced in notebooks/02_u_vs_v_valleys.
    """
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.0), layout="constrained")
    lam = _np(landscape.lam if landscape.lam.ndim == 1 else landscape.lam[run])
    eta = float(traj.lr[0, run])
    for tr, style, tag in ((traj, "-", labels[0]), (reference, "--", labels[1])):
        if tr is None:
            continue
        th, k = _np(tr.theta[:, run]), _np(tr.steps_recorded)
        for i in range(th.shape[1] - 1):
            axes[0].plot(k, th[:, 1 + i], style, color=COLORS[i % len(COLORS)], lw=0.8, marker="." if style == "-" else None,
                         ms=3, label=f"$v_{i + 1}$ (ηλ = {eta * lam[i]:.2g}) {tag}")
        axes[1].plot(k, th[:, 0], style, color="k", lw=1, label=f"r {tag}")
    axes[0].set_yscale("symlog", linthresh=1e-3)
    axes[0].set(xlabel="step k", ylabel="valley coordinate $v_i$\n(symmetric log scale, linear within ±10⁻³)",
                title="valley coordinates (a sign flip = a hop)")
    axes[0].legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.18), ncol=2, frameon=False)
    axes[1].set(xlabel="step k", ylabel="river coordinate r", title="river coordinate")
    if reference is not None:
        axes[1].legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.18), ncol=2, frameon=False)
    return fig


def plot_cumulative_force(curves: dict):
    """C_K against K (log axis) for the U and V valley of one draw, with ±𝒞 (dashed) and C_∞
    (dotted). Each panel has its own y-range (±1.15 𝒞 of that valley: 𝒞_U is many times smaller
    than 𝒞_V), and the V panel repeats the U curve in grey, on the V scale, for comparison.

    Introduced in notebooks/02_u_vs_v_valleys.
    """
    from matplotlib.lines import Line2D

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.1), layout="constrained")
    K = curves["K"][1:]
    for ax, name in zip(axes, ("U", "V")):
        c = curves[name]
        if name == "V":
            ax.plot(K, curves["U"]["C"][1:], "-", color="0.6", lw=1.5)
        ax.plot(K, c["C"][1:], "-", color=COLORS[0], lw=1.5)
        ax.axhline(c["bound"], color=BOUND_COLOR, ls="--", lw=1)
        ax.axhline(-c["bound"], color=BOUND_COLOR, ls="--", lw=1)
        ax.axhline(c["limit"], color=COLORS[1], ls=":", lw=1.5)
        ax.axhline(0, color="0.8", lw=0.5)
        ax.set_xscale("log")
        lim = 1.15 * max(c["bound"], abs(c["limit"]), 1e-12)
        ax.set(xlabel="K", ylabel="C_K", ylim=(-lim, lim),
               title=f"{name}-valley{' (its own y-scale)' if name == 'U' else ''}, η = {curves['eta']:g}:  "
                     rf"$\mathcal{{C}}$ = {c['bound']:.3g},  C_∞ = {c['limit']:.3g}")
        ax.title.set_fontsize(10)
    handles = [Line2D([], [], color=COLORS[0], lw=1.5, label="measured C_K"),
               Line2D([], [], color=BOUND_COLOR, ls="--", lw=1, label=r"$\pm\mathcal{C}$ (Theorem 1's bound)"),
               Line2D([], [], color=COLORS[1], ls=":", lw=1.5, label="C_∞ = bᵀH_V⁻¹θ_V⁰"),
               Line2D([], [], color="0.6", lw=1.5, label="U-valley's C_K on the V scale")]
    fig.legend(handles=handles, loc="outside lower center", ncol=4, fontsize=8, frameon=False)
    return fig


def plot_bound_sweep(t1: dict):
    """max_K ‖C_K‖/𝒞 for every (η, κ, m, seed) of the Theorem 1 sweep; the bound is 1 (black line) and
    η = 2/λ_max (gray) is where the valley diverges.

    Introduced in notebooks/02_u_vs_v_valleys.
    """
    rows = t1["rows"]
    fig, ax = plt.subplots(figsize=(8.8, 4.0), layout="constrained")
    kappas = t1["kappas"]
    cap = 1e3
    for i, kap in enumerate(kappas):
        sel = [r for r in rows if r["kappa"] == kap]
        x = np.array([r["eta"] for r in sel]) + 0.03 * (i - (len(kappas) - 1) / 2)
        raw = np.array([r["max_ratio"] for r in sel], float)
        y = np.minimum(np.nan_to_num(raw, nan=np.inf), cap)
        ok = y < cap
        ax.scatter(x[ok], y[ok], s=14, alpha=0.6, color=COLORS[i], label=f"κ = {kap:g}")
        ax.scatter(x[~ok], y[~ok], s=26, marker="^", facecolors="none", edgecolors=COLORS[i], lw=1)
    ax.axhline(1.0, color=BOUND_COLOR, lw=1, label=r"bound: $\|C_K\| = \mathcal{C}$")
    ax.axvline(2.0, color="gray", ls=":", lw=1, label="η = 2/λ_max: the valley diverges beyond")
    ax.scatter([], [], s=26, marker="^", facecolors="none", edgecolors="0.3", label="≥ 10³ (capped: diverged)")
    ax.set_yscale("log")
    ax.set(xlabel="step size η (λ_max = 1)", ylabel=r"$\max_K \|C_K\| / \mathcal{C}$",
           title=f"Theorem 1 over K ≤ {t1['K']}: one point per draw (κ side by side at each η)")
    ax.yaxis.label.set_fontsize(12)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    return fig


def plot_corollary1(c1: dict):
    """Left: the bound ratio 𝒞_V/𝒞_U against κ for each m, with (κ−1)/ln κ. Right: the realised force
    ratio mean|C_K^V| / mean|C_K^U| against K at the κ closest to 100, with that κ's bound ratio for
    each m dashed: the realised ratio starts at 1 and ends above or below the bound ratio — the title
    says which, from the numbers (𝒞 bounds each force, not the ratio of two forces).

    Introduced in notebooks/02_u_vs_v_valleys.
    """
    fig, axes = plt.subplots(1, 2, figsize=(11.5, 4.4), layout="constrained")
    kap = c1["kappas"]
    j = int(np.argmin(np.abs(kap - 100)))  # the κ closest to 100
    above = []
    for i, m in enumerate(c1["ms"]):
        bound = c1["bound_ratio"][:, i].mean(0)  # (n_κ,)
        realised = c1["realised_ratio"][:, i, j].mean(0)  # (n_K,)
        axes[0].loglog(kap, bound, "o-", ms=4, color=COLORS[i], label=f"m = {m}")
        axes[1].loglog(c1["Ks"], realised, "o-", ms=4, color=COLORS[i], label=f"m = {m}: realised")
        axes[1].axhline(bound[j], color=COLORS[i], ls="--", lw=1, label=f"m = {m}: bound ratio {bound[j]:.3g}")
        above.append(bool(realised[-1] > bound[j]))
    axes[0].loglog(kap, c1["prediction"], "k--", lw=1, label="(κ−1)/ln κ")
    axes[0].set(xlabel="κ(H_V)", ylabel=r"$\mathcal{C}_V / \mathcal{C}_U$", title="Corollary 1: the bound ratio")
    end = "above" if all(above) else "below" if not any(above) else "above for some m, below for others:"
    axes[1].set(xlabel="K (steps)", ylabel=r"mean$|C_K^V|$ / mean$|C_K^U|$",
                title=f"realised force ratio at κ = {kap[j]:g} (η = {c1['eta']:g}):\n"
                      f"from 1 at K = 1 to {end} the bound ratio (dashed)")
    axes[1].title.set_fontsize(10)
    for ax in axes:
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    return fig


def plot_corollary2(c2: dict):
    """Fraction of random draws with L_K(V) < L_K(U) against K: (a) under true GD, (b) under Theorem 1's
    unforced GD, each with random and downstream-aligned force; (b) also shows the accuracy of the
    sign rule "V wins ⟺ bᵀ(H_V⁻¹ − H_U⁻¹)θ_V⁰ < 0". Legends below the panels.

    Introduced in notebooks/02_u_vs_v_valleys.
    """
    fig, axes = plt.subplots(1, 2, figsize=(11.5, 4.3), sharey=True, layout="constrained")
    K = c2["Ks"]
    panels = (
        (axes[0], "(a) true gradient descent",
         (("true", "random draws", "-o", COLORS[0]), ("true_aligned", "force aligned downstream", "--s", COLORS[1]))),
        (axes[1], "(b) Theorem 1's unforced dynamics",
         (("unforced", "random draws", "-o", COLORS[0]), ("unforced_aligned", "force aligned downstream", "--s", COLORS[1]),
          ("sign_rule_accuracy", "accuracy of the sign rule", ":^", COLORS[2]))),
    )
    for ax, title, curves in panels:
        for key, lab, st, col in curves:
            ax.semilogx(K, c2[key].mean(0), st, ms=5, lw=1.3, color=col, label=lab)
        ax.axhline(0.5, color="gray", lw=0.8, label="one half")
        ax.axvline(c2["drained_K"], color="gray", ls=":", lw=1, label="the V-valley has drained (to the right)")
        ax.set(xlabel="K (steps)", title=title, ylim=(-0.03, 1.03))
    axes[0].set_ylabel("share of draws with $L_K(V) < L_K(U)$\n(or accuracy of the sign rule)")
    handles, labels = axes[1].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=3, fontsize=8, frameon=False)
    fig.suptitle(f"Corollary 2: is $L_K(V) < L_K(U)$ from the same start?  (η = {c2['eta']:g}, κ = {c2['kappa']:g}, "
                 f"m = {c2['m']})", fontsize=11)
    return fig


def plot_unforced_validity(uv: dict):
    """Median relative error of Theorem 1's river prediction ηKh − C_K under true GD, against K, for
    several coupling strengths.

    Introduced in notebooks/02_u_vs_v_valleys.
    """
    fig, ax = plt.subplots(figsize=(9.5, 4.0), layout="constrained")
    cap = 1e3
    capped = False
    for i, c in enumerate(uv["couplings"]):
        raw = np.asarray(uv["rel_error"][i], float)
        err = np.minimum(np.nan_to_num(raw, nan=np.inf), cap)
        ax.loglog(uv["Ks"], np.maximum(err, 1e-12), "o-", ms=4, color=COLORS[i],
                  label=f"c = {c:g}  (river curvature {uv['river_curvature'][i]:.2g})")
        hit = err >= cap
        if hit.any():
            capped = True
            ax.plot(np.asarray(uv["Ks"])[hit], err[hit], "^", ms=8, mfc="white", mec=COLORS[i])
    ax.axhline(0.1, color="gray", ls=":", lw=1, label="10 % error")
    if capped:
        ax.plot([], [], "^", ms=8, mfc="white", mec="0.3", ls="", label="≥ 10³ (capped: true GD ran away)")
    ax.set(xlabel="K (steps)", ylabel="median |Δr_true − Δr_pred| / |Δr_pred|",
           title="When does Theorem 1's unforced dynamics describe true GD?")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), title="coupling c", title_fontsize=8, frameon=False)
    return fig
