"""Figures for the Hessian chapter: Lanczos against the dense answer, SLQ densities, spectra as
histograms, the statistic family over training with its phase windows, the ε sweep of κ, Assumption 1
and the recursion signature.

Every function takes spectra, run records or result dicts and returns a matplotlib ``Figure``;
none of them trains or computes a Hessian.

Introduced in notebooks/05_hessian_dynamics.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np

from loopvalley.hessian import spectra as sx
from loopvalley.hessian.operator import density

# Okabe–Ito colours, the same arms' styles as notebook 09's figures
ARM_STYLE = {
    "single": dict(color="#000000", ls=":", label="Single-Attn"),
    "looped": dict(color="#D55E00", ls="-", label="Looped-Attn (3 loops)"),
    "untied-3": dict(color="#0072B2", ls="--", label="Untied-3 (3 layers)"),
}
PHASE_COLORS = {"collapse": "#999999", "diversification": "#E69F00", "stabilization": "#56B4E9"}
STAT_LABELS = {
    "effective_rank": "effective rank exp(S)", "participation": "participation ratio",
    "outliers": f"# λ > {sx.OUTLIER_FRAC:g}·λ_max", "positive_rank": "exp(entropy of λ₊)",
    "steep_count": f"# |λ| ≥ {sx.TAU_REL:g}·λ_max", "negative_mass": "negative mass share",
    "kappa": f"κ_k = λ₁/λ_{sx.KAPPA_K}", "kappa_10": "κ₁₀ = λ₁/λ₁₀", "lambda_max": "λ_max (sharpness)",
}


def _np(x):
    return x.detach().cpu().numpy() if hasattr(x, "detach") else np.asarray(x)


def plot_lanczos_convergence(dense_eigs, ritz, power=None, k: int = 5):
    """Left: the top-k Ritz values after each Lanczos step against the dense eigenvalues (dashed).
    Right: the largest relative eigenvalue error against the number of Hessian-vector products,
    for Lanczos (top-k largest) and, optionally, deflated power iteration (``power``: an
    :class:`loopvalley.hessian.operator.EigResult` with its ``history``; it finds the largest |λ| first, so
    its errors are measured against the eigenvalues ranked by |λ|, over the ones found so far).

    Introduced in notebooks/05_hessian_dynamics.
    """
    e = _np(dense_eigs)
    exact = np.sort(e)[::-1][:k]  # largest first (what Lanczos "LA" finds)
    by_size = e[np.argsort(-np.abs(e))][:k]  # largest |λ| first (what power iteration finds)
    ritz = np.asarray(ritz)[:, :k]
    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 3.8))
    steps = np.arange(1, ritz.shape[0] + 1)
    for i in range(k):
        a.plot(steps, ritz[:, i], lw=1.5)
        a.axhline(exact[i], ls="--", lw=0.8, color="k")
    a.set(xlabel="Lanczos step (= Hessian-vector products)", ylabel="Ritz value",
          title=f"top-{k} Ritz values → eigenvalues (dashed)")
    err = np.nanmax(np.abs(ritz - exact[None]) / np.abs(exact[None]), axis=1)  # max_i |θ_i − λ_i| / |λ_i|
    b.semilogy(steps, np.maximum(err, 1e-17), color="#0072B2", label=f"Lanczos, top-{k}")
    if power is not None and power.history:
        hist = np.array(power.history)  # rows: (products so far, index i being found, λ estimate)
        found = _np(power.eigenvalues)
        perr = []
        for n_hvp, i, lam in hist:
            est = np.append(found[: int(i)], lam)  # finished eigenvalues + the current estimate
            perr.append(np.max(np.abs(est - by_size[: est.size]) / np.abs(by_size[: est.size])))
        b.semilogy(hist[:, 0], np.maximum(perr, 1e-17), color="#D55E00", label="deflated power iteration, found so far")
    b.set(xlabel="Hessian-vector products", ylabel="max relative error", title="cost to accuracy")
    b.legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_slq_density(dense_eigs, slq_result, sigma: float, bins: int = 60):
    """The dense spectrum as a histogram (a density) with the SLQ estimate smoothed by a Gaussian
    of width ``sigma`` on top.

    Introduced in notebooks/05_hessian_dynamics.
    """
    e = _np(dense_eigs)
    lo, hi = e.min() - 3 * sigma, e.max() + 3 * sigma
    grid = np.linspace(lo, hi, 800)
    fig, ax = plt.subplots(figsize=(7.5, 3.6))
    heights, _, _ = ax.hist(e, bins=bins, density=True, color="0.75", label=f"dense eigenvalues (n = {e.size})")
    phi = density(slq_result, grid, sigma)  # φ_σ(t) on the grid
    ax.plot(grid, phi, "k", lw=1.5,
            label=f"SLQ: {len(slq_result.nodes)} vectors × {len(slq_result.nodes[0])} steps, σ = {sigma:.2g}")
    ax.set(xlabel="eigenvalue λ", ylabel="density", yscale="log",
           ylim=(1e-3 / (hi - lo), 3 * max(heights.max(), phi.max())))
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_spectrum_histograms(spectra: Mapping[str, "sx.Spectrum"], title: str = "", colors=None):
    """Histograms of λ/λ_max on a symmetric-log axis (weights = eigenvalue counts, so a Lanczos
    estimate and the dense spectrum compare), one outline per labelled spectrum.

    Introduced in notebooks/05_hessian_dynamics.
    """
    fig, ax = plt.subplots(figsize=(7.5, 3.6))
    bins = np.concatenate([-np.logspace(0, -5, 21), np.logspace(-5, 0, 21)])
    palette = colors or ["#0072B2", "#D55E00", "#009E73", "#E69F00", "#CC79A7"]
    for i, (label, sp) in enumerate(spectra.items()):
        lam = sp.lambda_max if sp.lambda_max > 0 else np.abs(sp.values).max()
        ax.hist(np.clip(sp.values / lam, -1, 1), bins=bins, weights=sp.weights, histtype="step", lw=1.8,
                color=palette[i % len(palette)], label=f"{label} ({sp.method}, negative mass {sx.negative_mass(sp):.2f})")
    ax.set_xscale("symlog", linthresh=1e-5)
    ax.set_yscale("log")
    ax.set(xlabel="λ / λ_max (symmetric log)", ylabel="eigenvalues", title=title)
    ax.legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    return fig


def plot_estimator_check(rows: Sequence[Mapping]):
    """Each statistic of the family from Lanczos spectra with m products, relative to the dense
    value (1 = exact): ``rows`` of ``{"m", "statistic", "ratio"}`` (several starts per m).

    Introduced in notebooks/05_hessian_dynamics.
    """
    stats = list(dict.fromkeys(r["statistic"] for r in rows))
    ms = sorted({r["m"] for r in rows})
    fig, ax = plt.subplots(figsize=(8.5, 3.4))
    w = 0.8 / len(ms)
    palette = ["#56B4E9", "#0072B2", "#E69F00", "#D55E00", "#CC79A7"]
    for j, m in enumerate(ms):
        for i, s in enumerate(stats):
            v = [r["ratio"] for r in rows if r["m"] == m and r["statistic"] == s]
            ax.scatter(np.full(len(v), i + (j - (len(ms) - 1) / 2) * w), v, s=14, color=palette[j % len(palette)],
                       label=f"m = {m}" if i == 0 else None)
    ax.axhline(1, color="k", lw=0.8)
    ax.set_xticks(range(len(stats)), [STAT_LABELS.get(s, s) for s in stats], rotation=20, fontsize=8)
    ax.set(ylabel="Lanczos / dense", title="the family from m Hessian-vector products (dense: 1 = exact)")
    ax.legend(fontsize=8, loc="upper right")
    fig.tight_layout()
    return fig


def _band(ax, steps, Y, style, label):
    Y = np.asarray(Y, float)  # (seeds, probes)
    if not np.isfinite(Y).any():
        return
    Y = np.where(np.isfinite(Y), Y, np.nan)
    ok = np.isfinite(Y).any(0)
    steps, Y = np.asarray(steps)[ok], Y[:, ok]
    med = np.nanmedian(Y, 0)
    ax.plot(steps, med, color=style["color"], ls=style["ls"], lw=1.6, marker="o", ms=2.5, label=label)
    if Y.shape[0] > 1:
        ax.fill_between(steps, np.nanmin(Y, 0), np.nanmax(Y, 0), color=style["color"], alpha=0.15, lw=0)


def plot_family_over_training(series: Mapping, accuracy: Mapping | None = None, probe_steps=(),
                              stats=sx.STATISTICS + ("kappa_10", "lambda_max"), converged_from: int | None = None):
    """The statistic family over training, one panel per statistic (its name as the y label): each
    arm's median over seeds (line) and range (band), on linear step axes. ``series[arm]`` = ``(steps,
    {stat: (seeds, probes)})``. ``accuracy[arm]`` = ``(eval steps, (seeds, evals))`` complex-split accuracy,
    drawn on top with the probe steps marked (so a reader sees that the probes cover the climb);
    ``converged_from`` shades the converged segment (the lr decay).

    Introduced in notebooks/05_hessian_dynamics.
    """
    stats = list(stats)
    ncol = 4
    nrow = 1 + int(np.ceil(len(stats) / ncol))
    fig = plt.figure(figsize=(3.5 * ncol, 2.35 * nrow + 0.6), layout="constrained")
    gs = fig.add_gridspec(nrow, ncol)
    top = fig.add_subplot(gs[0, :])
    axes = [fig.add_subplot(gs[1 + i // ncol, i % ncol], sharex=top) for i in range(len(stats))]
    conv_label = "converged segment (lr decay)"
    for arm, (steps, acc) in (accuracy or {}).items():
        st = ARM_STYLE.get(arm, dict(color="0.4", ls="-", label=arm))
        _band(top, steps, 100 * np.asarray(acc, float), st, st["label"])
    if probe_steps:
        top.plot(list(probe_steps), np.full(len(probe_steps), top.get_ylim()[0] if accuracy else 0), "|", color="0.2", ms=12,
                 mew=1.2, label="probe steps (spectra)")
    top.set(ylabel="complex-split\naccuracy (%)", title="accuracy climb and where the spectra are taken")
    for ax, k in zip(axes, stats):
        for arm, (steps, ser) in series.items():
            st = ARM_STYLE.get(arm, dict(color="0.4", ls="-", label=arm))
            _band(ax, steps, ser[k], st, st["label"])
        vals = np.concatenate([np.ravel(ser[k]) for _, ser in series.values()])
        if k != "negative_mass" and (np.isfinite(vals) & (vals > 0)).any():
            ax.set_yscale("log")
        ax.set_ylabel(STAT_LABELS.get(k, k), fontsize=8)
        ax.tick_params(labelsize=7)
    for ax in [top, *axes]:
        if converged_from is not None:
            ax.axvspan(converged_from, max(float(np.max(list(probe_steps) or [converged_from + 1])), converged_from + 1),
                       color=PHASE_COLORS["stabilization"], alpha=0.18, lw=0, label=conv_label if ax is top else None)
    for ax in axes[-ncol:]:
        ax.set_xlabel("training step")
    for ax in fig.axes[1 + len(stats):]:
        ax.axis("off")
    top.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    return fig


def plot_null_calibration(data: Mapping):
    """How large a diversification contrast must be before it is one: the noise null of the
    Looped − Single contrast of one statistic (histogram, from flat series plus the estimator's measured
    noise), its 95th percentile (the threshold), and each seed's observed contrast (ticks).

    Introduced in notebooks/05_hessian_dynamics.
    """
    fig, ax = plt.subplots(figsize=(7.2, 3.3), layout="constrained")
    null, obs = np.asarray(data["null"], float), np.asarray(data["observed"], float)
    ax.hist(null, bins=60, color="0.75", density=True, label="null: no phase, estimator noise only")
    ax.axvline(data["threshold"], color="0.2", ls="--", lw=1.2, label=f"95th percentile of the null ({data['threshold']:.2f})")
    for i, v in enumerate(obs):
        ax.axvline(v, color=ARM_STYLE["looped"]["color"], lw=2, alpha=0.8, label="observed, one line per seed" if i == 0 else None)
    ax.set(xlabel=f"Looped − Single diversification of {STAT_LABELS.get(data['statistic'], data['statistic'])} (log units)",
           ylabel="density")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    return fig


def plot_width_trend(rows: Sequence[Mapping]):
    """Across widths: the Looped − Single diversification contrast (beyond its null) and the mean log κ_10
    contrast over the climb, per seed (dots) and their mean (line) — a trend toward the paper's scale.

    Introduced in notebooks/05_hessian_dynamics.
    """
    fig, axes = plt.subplots(1, 2, figsize=(9.0, 3.2), layout="constrained")
    d = [r["d_model"] for r in rows]
    for ax, key, per, label in ((axes[0], "diversification_contrast", "per_seed_diversification",
                                 "Looped − Single diversification\nbeyond the null (log units)"),
                                (axes[1], "kappa_log_ratio", "per_seed_kappa", "mean log(κ_L / κ_S)\nover the climb")):
        ax.plot(d, [r[key] for r in rows], "-", color=ARM_STYLE["looped"]["color"], lw=1.5, label="mean over seeds")
        for r in rows:
            ax.scatter(np.full(len(r[per]), r["d_model"]), r[per], s=18, color="0.3", zorder=3)
        ax.axhline(0, color="0.5", lw=0.8)
        ax.set_xscale("log", base=2)
        ax.set_xticks(d, [str(x) for x in d])
        ax.set(xlabel="width d_model", ylabel=label)
    axes[0].legend(fontsize=8, frameon=False)
    return fig


def plot_kappa_sweep(sweep: Mapping):
    """The old κ_ε = λ_max / min{λ > ε} and the ε-free κ_k = λ_1/λ_k over ε/λ_max, on one dense
    spectrum (:func:`loopvalley.hessian.spectra.kappa_eps_sweep`), with the 1/ε ceiling of κ_ε.

    Introduced in notebooks/05_hessian_dynamics.
    """
    e = np.asarray(sweep["eps_rel"], float)
    fig, ax = plt.subplots(figsize=(6.8, 3.6))
    ax.loglog(e, sweep["kappa_eps"], "o-", color="#D55E00",
              label=f"old κ_ε = λ_max / min{{λ > ε}} (changes ×{1 + sweep['change_eps']:.3g})")
    ax.loglog(e, sweep["kappa_k"], "s-", color="#0072B2",
              label=f"κ_k = λ₁/λ_{sx.KAPPA_K} (changes {100 * sweep['change_k']:.2g} %)")
    ax.loglog(e, 1 / e, ":", color="0.4", label="1/ε ceiling of κ_ε")
    ax.set(xlabel="ε / λ_max", ylabel="valley conditioning κ", title="κ against the river threshold ε")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_assumption1(a1: Mapping, step=None):
    """Assumption 1 on the low valley band: each model's eigenvalues λ/λ_max in the band, sorted, at
    their positions (so "more and smaller" reads as the Looped-Attn curve lying right of and under the
    Single-Attn one), with Assumption 1 (i)'s count ratio.

    Introduced in notebooks/05_hessian_dynamics.
    """
    fig, ax = plt.subplots(figsize=(7.2, 3.6))
    for m, key in (("single", "single"), ("looped", "looped")):
        v = np.asarray(a1[key])
        st = ARM_STYLE[m]
        if v.size:
            ax.semilogy(np.arange(1, v.size + 1), v, color=st["color"], ls=st["ls"], marker="o", ms=3,
                        label=f"{st['label']}: {v.size} eigenvalues")
    title = "Assumption 1 on the low valley band" + (f" at step {step}" if step is not None else "")
    if np.isfinite(a1.get("log_count_ratio", np.nan)):
        title += f"\nlog(n_L/n_S) = {a1['log_count_ratio']:+.2f} (more low-curvature eigenvalues when > 0)"
    ax.set(xlabel="index i (ascending)", ylabel="λ_(i) / λ_max", title=title)
    ax.title.set_fontsize(9)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_signature_distances(distances: Sequence[Mapping]):
    """H4: per signature statistic, the distances d(Looped, Untied-3), d(Untied-3, Single) and
    d(Looped, Single) (mean |log ratio| over probes), one dot per seed.

    Introduced in notebooks/05_hessian_dynamics.
    """
    pairs = (("looped_untied", "Looped – Untied-3", "#D55E00"), ("untied_single", "Untied-3 – Single", "#0072B2"),
             ("looped_single", "Looped – Single", "#999999"))
    stats = list(distances[0]["looped_untied"])
    fig, ax = plt.subplots(figsize=(8.5, 3.4))
    for j, (key, label, c) in enumerate(pairs):
        for i, s in enumerate(stats):
            v = [d[key][s] for d in distances]
            ax.scatter(np.full(len(v), i + (j - 1) * 0.25), v, s=16, color=c, label=label if i == 0 else None)
    ax.set_xticks(range(len(stats)), [STAT_LABELS.get(s, s) for s in stats], rotation=20, fontsize=8)
    ax.set(ylabel="mean |log ratio| over probes", title="spectral signature distances (one dot per seed)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig
