"""Figures for the Hessian chapter: Lanczos against the dense answer, SLQ densities, spectra over
training, the three phases, κ(H_valley), Assumption 1 per eigenvalue and the threshold grids.

Every function takes spectra, run records or result dicts and returns a matplotlib ``Figure``;
none of them trains or computes a Hessian.

Introduced in notebooks/05_hessian_dynamics.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from ..hessian import density, kappa_valley, n_low_valley, record_spectra, spectral_entropy, thresholds

COLORS = {"single": "tab:blue", "looped": "tab:red"}
LABELS = {"single": "Single-Attn", "looped": "Looped-Attn"}
PHASE_COLORS = {"collapse": "tab:gray", "diversification": "tab:orange", "stabilization": "tab:green"}


def _np(x):
    return x.detach().cpu().numpy() if hasattr(x, "detach") else np.asarray(x)


def plot_lanczos_convergence(dense_eigs, ritz, power=None, k: int = 5):
    """Left: the top-k Ritz values after each Lanczos step against the dense eigenvalues (dashed).
    Right: the largest relative eigenvalue error against the number of Hessian-vector products,
    for Lanczos (top-k largest) and, optionally, deflated power iteration (``power``: an
    :class:`loopvalley.hessian.EigResult` with its ``history``; it finds the largest |λ| first, so
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
    b.semilogy(steps, np.maximum(err, 1e-17), label=f"Lanczos, top-{k}")
    if power is not None and power.history:
        hist = np.array(power.history)  # rows: (products so far, index i being found, λ estimate)
        found = _np(power.eigenvalues)
        perr = []
        for n_hvp, i, lam in hist:
            est = np.append(found[: int(i)], lam)  # finished eigenvalues + the current estimate
            perr.append(np.max(np.abs(est - by_size[: est.size]) / np.abs(by_size[: est.size])))
        b.semilogy(hist[:, 0], np.maximum(perr, 1e-17), label="deflated power iteration, found so far")
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


def plot_spectra_over_training(records: dict, eps_rel: float = 1e-3, tau_rel: float = 1e-2, name: str = "spectrum"):
    """Every eigenvalue at every probe (dots, symmetric-log scale), one panel per model, with the
    river band |λ| ≤ ε and the low-valley threshold τ (both relative to each step's λ_max).

    Introduced in notebooks/05_hessian_dynamics.
    """
    models = [m for m in ("single", "looped") if m in records]
    spec = {m: record_spectra(records[m], name) for m in models}
    top = max(float(np.max(np.abs(e))) for m in models for e in spec[m][1])
    fig, axes = plt.subplots(1, len(models), figsize=(5.8 * len(models), 4.0), sharey=True, squeeze=False)
    for ax, m in zip(axes[0], models):
        steps, eigs = spec[m]
        width = (steps[1] - steps[0]) * 0.35 if len(steps) > 1 else 1.0
        rng = np.random.default_rng(0)
        for s, e in zip(steps, eigs):
            ax.scatter(s + rng.uniform(-width, width, e.size), e, s=2, alpha=0.35, color=COLORS[m], lw=0)
        eps = [thresholds(e, eps_rel, tau_rel)[0] if e.max() > 0 else np.nan for e in eigs]
        tau = [thresholds(e, eps_rel, tau_rel)[1] if e.max() > 0 else np.nan for e in eigs]
        ax.fill_between(steps, -np.array(eps), eps, color="0.6", alpha=0.35, label=f"river |λ| ≤ ε = {eps_rel:g}·λ_max")
        ax.plot(steps, tau, "k--", lw=1, label=f"τ = {tau_rel:g}·λ_max")
        lin = top * 1e-5
        ax.set_yscale("symlog", linthresh=lin, linscale=0.3)
        decades = 10.0 ** np.arange(np.ceil(np.log10(lin)) + 1, np.ceil(np.log10(top)) + 1)
        ax.set_yticks(np.concatenate([-decades[::-1], [0.0], decades]))
        ax.set(title=f"{LABELS[m]}: Hessian spectrum (attention weights)", xlabel="training step")
        ax.legend(fontsize=7, loc="lower right")
    axes[0, 0].set_ylabel("eigenvalue λ (symlog)")
    fig.tight_layout()
    return fig


def _shade_phases(ax, phases: dict, steps):
    steps = np.asarray(steps)
    if phases.get("collapse"):
        ax.axvspan(steps[0], phases["collapse_step"], color=PHASE_COLORS["collapse"], alpha=0.15, label="collapse")
    if phases.get("diversification"):
        ax.axvspan(phases["minimum_step"], phases["diversification_end"], color=PHASE_COLORS["diversification"],
                   alpha=0.15, label="diversification")
    if phases.get("stabilization"):
        ax.axvspan(phases["stabilization_start"], steps[-1], color=PHASE_COLORS["stabilization"], alpha=0.2,
                   label="stabilization")


def plot_phases(records: dict, phases: dict, name: str = "spectrum"):
    """Top: the effective rank r = exp(S) of each model's spectrum over training, with Looped-Attn's
    detected phases shaded (and Single-Attn's as hatched outlines). Bottom: accuracy on the simple
    and complex test splits.

    ``phases``: ``{model: detect_phases(...)}``.

    Introduced in notebooks/05_hessian_dynamics.
    """
    fig, (a, b) = plt.subplots(2, 1, figsize=(8.5, 6.0), sharex=True, gridspec_kw={"height_ratios": [3, 2]})
    for m in ("single", "looped"):
        steps, eigs = record_spectra(records[m], name)
        r = [np.exp(spectral_entropy(e)) for e in eigs]
        a.plot(steps, r, "o-", ms=3, color=COLORS[m], label=LABELS[m])
        if m == "looped":
            _shade_phases(a, phases[m], steps)
    a.set(ylabel="effective rank exp(S)", title="phases of the spectrum (shaded: Looped-Attn's, by the phase rule)")
    a.legend(fontsize=8, ncol=2)
    for m in ("single", "looped"):
        for split, ls in (("simple", ":"), ("complex", "-")):
            if split in records[m].eval_acc:
                x, y = records[m].curve(split)
                b.plot(x, y, ls, color=COLORS[m], label=f"{LABELS[m]}, {split}")
    b.set(xlabel="training step", ylabel="test accuracy")
    b.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    return fig


def plot_kappa(records: dict, window=None, eps_rel: float = 1e-3, tau_rel: float = 1e-2, name: str = "spectrum"):
    """κ(H_valley) (log scale) and the number of low valley eigenvalues (ε < λ < τ) over training
    for both models; ``window`` (steps) shades Looped-Attn's diversification.

    Introduced in notebooks/05_hessian_dynamics.
    """
    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 3.8))
    for m in ("single", "looped"):
        steps, eigs = record_spectra(records[m], name)
        ok = [e.max() > 0 for e in eigs]
        k = [kappa_valley(e, thresholds(e, eps_rel, tau_rel)[0]) if o else np.nan for e, o in zip(eigs, ok)]
        n = [n_low_valley(e, *thresholds(e, eps_rel, tau_rel)) if o else np.nan for e, o in zip(eigs, ok)]
        a.semilogy(steps, k, "o-", ms=3, color=COLORS[m], label=LABELS[m])
        b.plot(steps, n, "o-", ms=3, color=COLORS[m], label=LABELS[m])
    for ax in (a, b):
        if window is not None and len(window):
            ax.axvspan(min(window), max(window), color=PHASE_COLORS["diversification"], alpha=0.15,
                       label="Looped-Attn diversification")
        ax.set_xlabel("training step")
        ax.legend(fontsize=8)
    a.axhline(1 / eps_rel, ls=":", color="k", lw=0.8)
    a.set(ylabel="κ(H_valley) = λ_max / λ_min(valley)", title=f"valley conditioning (ε = {eps_rel:g}·λ_max; dotted: 1/ε bound)")
    b.set(ylabel="# valley eigenvalues below τ", title=f"low-curvature valley directions (τ = {tau_rel:g}·λ_max)")
    fig.tight_layout()
    return fig


def plot_assumption1(a1: dict, step=None, eps_rel: float = 1e-3, tau_rel: float = 1e-2):
    """Assumption 1 per eigenvalue: each model's low valley eigenvalues λ/λ_max, sorted ascending
    and plotted against their index i, so component-wise dominance (λ^L_(i) ≤ λ^S_(i)) reads as
    the red curve lying under the blue one; ``a1`` from
    :func:`loopvalley.experiments.hessian_dynamics.assumption1`.

    Introduced in notebooks/05_hessian_dynamics.
    """
    fig, ax = plt.subplots(figsize=(7.5, 3.8))
    for m in ("single", "looped"):
        v = np.asarray(a1[m])
        ax.semilogy(np.arange(1, v.size + 1), v, "o-", ms=4, color=COLORS[m], label=f"{LABELS[m]}: {v.size} eigenvalues")
    ax.axhline(tau_rel, ls="--", color="k", lw=0.8, label="τ")
    ax.axhline(eps_rel, ls=":", color="k", lw=0.8, label="ε")
    frac = a1["frac_smaller"]
    verdict = "holds" if a1["holds"] else "does not hold"
    title = f"Assumption 1 {verdict}" + (f" at step {step}" if step is not None else "")
    title += f": more = {a1['more']}, λ^L ≤ λ^S in {frac:.0%} of pairs" if np.isfinite(frac) else ""
    ax.set(xlabel="index i (ascending)", ylabel="λ_(i) / λ_max", title=title)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def _heatmap(ax, M, xt, yt, title, fmt="{:.2f}", cmap="RdYlGn", vmin=None, vmax=None):
    im = ax.imshow(M, cmap=cmap, vmin=vmin, vmax=vmax, origin="lower", aspect="auto")
    ax.grid(False)
    ax.set_xticks(range(len(xt)), [f"{x:g}" for x in xt], fontsize=8)
    ax.set_yticks(range(len(yt)), [f"{y:g}" for y in yt], fontsize=8)
    for i in range(M.shape[0]):
        for j in range(M.shape[1]):
            if np.isfinite(M[i, j]):
                ax.text(j, i, fmt.format(M[i, j]), ha="center", va="center", fontsize=7)
    ax.set_title(title, fontsize=9)
    return im


def plot_threshold_sensitivity(grid: dict):
    """Heatmaps over the (ε, τ) grid (rows ε/λ_max, columns τ/λ_max) of H3 and its parts: the share
    of window steps where κ_L > κ_S, the mean excess of low valley eigenvalues (looped − single),
    the share of steps where Assumption 1 holds per eigenvalue, and the share of seeds where H3 holds.

    Introduced in notebooks/05_hessian_dynamics.
    """
    fig, axes = plt.subplots(1, 4, figsize=(15, 3.4))
    e, t = grid["eps_grid"], grid["tau_grid"]
    d = grid["n_low_diff"]
    lim = max(1.0, float(np.nanmax(np.abs(d)))) if np.isfinite(d).any() else 1.0
    _heatmap(axes[0], grid["kappa_larger_frac"], t, e, "share of steps with κ_L > κ_S", vmin=0, vmax=1)
    _heatmap(axes[1], d, t, e, "# low valley eigs: looped − single", fmt="{:.1f}", vmin=-lim, vmax=lim)
    _heatmap(axes[2], grid["assumption1_frac"], t, e, "share of steps: Assumption 1 holds", vmin=0, vmax=1)
    _heatmap(axes[3], grid["holds"], t, e, "H3 holds (share of seeds)", vmin=0, vmax=1)
    for ax in axes:
        ax.set_xlabel("τ / λ_max")
    axes[0].set_ylabel("ε / λ_max")
    fig.tight_layout()
    return fig


def plot_rule_sensitivity(grid: dict):
    """Heatmaps of the phase verdicts over the rule's thresholds (rows: drop = rise, columns: flat):
    the share of seeds where Looped-Attn shows the three phases (H1) and where Single-Attn lacks
    diversification (H2).

    Introduced in notebooks/05_hessian_dynamics.
    """
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.2))
    _heatmap(axes[0], grid["H1"], grid["flats"], grid["rises"], "H1: Looped-Attn shows three phases", vmin=0, vmax=1)
    _heatmap(axes[1], grid["H2"], grid["flats"], grid["rises"], "H2: Single-Attn lacks diversification", vmin=0, vmax=1)
    for ax in axes:
        ax.set(xlabel="flat (stabilization spread)", ylabel="drop = rise")
    fig.tight_layout()
    return fig


def plot_spectrum_at(records: dict, index: int, eps_rel: float = 1e-3, tau_rel: float = 1e-2, name: str = "spectrum"):
    """The two spectra at probe number ``index``: histograms of λ/λ_max on a symmetric-log axis
    with the river band and τ marked. (The widget scrubs ``index``.)

    Introduced in notebooks/05_hessian_dynamics.
    """
    fig, ax = plt.subplots(figsize=(7.5, 3.6))
    bins = np.concatenate([-np.logspace(0, -5, 21), np.logspace(-5, 0, 21)])
    step = None
    for m in ("single", "looped"):
        steps, eigs = record_spectra(records[m], name)
        i = int(np.clip(index, 0, len(steps) - 1))
        e = eigs[i]
        step = steps[i]
        lam_max = e.max() if e.max() > 0 else np.abs(e).max()
        ax.hist(np.clip(e / lam_max, -1, 1), bins=bins, histtype="step", lw=1.8, color=COLORS[m],
                label=f"{LABELS[m]}: λ_max = {lam_max:.3g}")
    ax.axvspan(-eps_rel, eps_rel, color="0.6", alpha=0.35, label=f"river (ε = {eps_rel:g})")
    ax.axvline(tau_rel, ls="--", color="k", lw=0.8, label=f"τ = {tau_rel:g}")
    ax.set_xscale("symlog", linthresh=1e-5)
    ax.set(xlabel="λ / λ_max", ylabel="count", title=f"Hessian spectra at step {step}")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig
