"""The ``hessian-dynamics`` experiment: Hessian spectra over training for Single- vs Looped-Attn
(paper §4.2–4.3, Figs. 3, 7, 8) and the claims H1–H3.

- H1: Looped-Attn's spectrum goes through Collapse → Diversification → Stabilization, in order.
- H2: Single-Attn lacks the Diversification phase.
- H3: during Looped-Attn's diversification, κ(H_valley) is larger for Looped-Attn, and it has
  more, component-wise smaller low-curvature valley eigenvalues (Assumption 1).

Both models train on the same Markov data with a :class:`loopvalley.hessian.SpectrumProbe` that
stores the full spectrum of the attention weights' Hessian (W_Q, W_K, W_V, W_O) on a fixed
training batch on a schedule that is dense early (every 5 steps up to step 20 of 600, when the
simple patterns are fitted and the collapse should happen) and sparse late
(:func:`loopvalley.hessian.probe_schedule`: 15 spectra per run). Everything below the training — the phase rule, κ, Assumption 1,
the ε/τ sensitivity grids and the verdicts — is computed from the stored spectra, so the notebook
and ``python -m loopvalley reproduce`` share it: :func:`hessian_claims` turns run records into claims.

**The phase rule** (our operationalisation; the paper names the phases but gives no rule). Let
r_k = exp(S_k) be the *effective rank* of the spectrum at probe k, S the spectral entropy of
|λ|/Σ|λ| — the effective number of curvature directions. With c = argmin_k r_k:

- Collapse:        r_c ≤ (1 − drop)·r_0                  (the spectrum concentrates on a few outliers)
- Diversification: max_{k>c} r_k ≥ (1 + rise)·r_c        (many new curvature directions appear)
- Stabilization:   over the last ``window`` of the probes, (max r − min r)/mean r ≤ ``flat``
- In order:        c < onset of diversification (first k > c with r_k ≥ (1 + rise)·r_c) <
                   start of the stabilization window.

The defaults drop = rise = 0.2, window = 0.25, flat = 0.1 are round numbers set when the rule
was written; they are not tuned to the verdicts (:func:`rule_sensitivity` varies them).

Introduced in notebooks/05_hessian_dynamics.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, replace

import numpy as np
import torch

from .._validate import check_range
from ..claims import check, summary
from ..hessian import (
    SpectrumProbe, kappa_valley, low_valley_eigenvalues, probe_schedule, record_spectra, spectral_entropy, thresholds,
)
from ..scales import by_scale, current_scale
from . import register

EPS_REL = 1e-3  # river/valley threshold ε as a fraction of λ_max (paper-notes §9)
TAU_REL = 1e-2  # low-valley threshold τ as a fraction of λ_max (paper-notes §9)
EPS_GRID = (1e-4, 3e-4, 1e-3, 3e-3, 1e-2)  # the ε/λ_max values of the sensitivity grid
TAU_GRID = (3e-3, 1e-2, 3e-2, 1e-1)  # the τ/λ_max values of the sensitivity grid
MODELS = ("single", "looped")


# --------------------------------------------------------------------------------------------
# The phase rule
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PhaseRule:
    """Thresholds of the phase rule on the effective rank r_k = exp(S_k) (see the module doc).

    Introduced in notebooks/05_hessian_dynamics.
    """

    drop: float = 0.2  # collapse: min r ≤ (1 − drop) · r_0
    rise: float = 0.2  # diversification: max r after the minimum ≥ (1 + rise) · min r
    window: float = 0.25  # stabilization is judged on this final fraction of the probes (≥ 3 probes)
    flat: float = 0.1  # stabilization: (max − min) / mean of r over the window ≤ flat

    def __post_init__(self):
        check_range("drop", self.drop, 0.0, 1.0, lo_open=True, hi_open=True)
        check_range("rise", self.rise, 0.0, None, lo_open=True)
        check_range("window", self.window, 0.0, 1.0, lo_open=True)
        check_range("flat", self.flat, 0.0, None, lo_open=True)

    def describe(self) -> str:
        return (
            f"r = exp(spectral entropy); collapse: min r <= {1 - self.drop:g}·r_0; diversification: "
            f"max r after the minimum >= {1 + self.rise:g}·min r; stabilization: (max-min)/mean r <= "
            f"{self.flat:g} over the last {self.window:.0%} of probes; in that order"
        )


def effective_ranks(spectra) -> np.ndarray:
    """r_k = exp(S_k), S the spectral entropy of |λ|/Σ|λ|, for each spectrum.

    Introduced in notebooks/05_hessian_dynamics.
    """
    return np.array([math.exp(spectral_entropy(e)) for e in spectra])


def detect_phases(steps, r, rule: PhaseRule = PhaseRule()) -> dict:
    """Apply the phase rule to the effective ranks ``r`` measured at ``steps``.

    Returns booleans ``collapse``, ``diversification``, ``stabilization``, ``in_order``,
    ``three_phases`` (all four), the numbers behind them (``drop`` = r_min/r_0, ``rise`` =
    r_peak/r_min, ``spread`` over the final window) and the steps where each phase starts
    (``collapse_step`` = argmin, ``diversification_start``/``_end`` = onset and peak,
    ``stabilization_start``), ``None`` where a phase is absent.

    Introduced in notebooks/05_hessian_dynamics.
    """
    steps, r = np.asarray(steps), np.asarray(r, dtype=float)
    K = len(r)
    if K < 4 or len(steps) != K:
        raise ValueError(f"need at least 4 probes with one step each, got {K} values and {len(steps)} steps")
    c = int(np.argmin(r))
    collapse = bool(r[c] <= (1 - rule.drop) * r[0])
    after = r[c + 1 :]
    peak = c + 1 + int(np.argmax(after)) if after.size else c
    rise = float(r[peak] / r[c]) if after.size else 1.0
    diversification = bool(after.size and rise >= 1 + rule.rise)
    onset = c + 1 + int(np.argmax(after >= (1 + rule.rise) * r[c])) if diversification else None
    w = max(3, int(math.ceil(rule.window * K)))
    tail = r[K - w :]
    spread = float((tail.max() - tail.min()) / tail.mean())
    stabilization = bool(spread <= rule.flat)
    in_order = bool(collapse and diversification and stabilization and c < onset < K - w)
    return {
        "collapse": collapse,
        "diversification": diversification,
        "stabilization": stabilization,
        "in_order": in_order,
        "three_phases": in_order,
        "drop": float(r[c] / r[0]),
        "rise": rise,
        "spread": spread,
        "collapse_step": int(steps[c]) if collapse else None,
        "minimum_step": int(steps[c]),
        "diversification_start": int(steps[onset]) if diversification else None,
        "diversification_end": int(steps[peak]) if diversification else None,
        "stabilization_start": int(steps[K - w]) if stabilization else None,
        "window_start": int(steps[K - w]),
    }


def diversification_window(steps, phases: dict) -> np.ndarray:
    """The probe steps of Looped-Attn's diversification: from just after the effective-rank
    minimum to the peak. When no diversification is detected: every probe after the minimum
    (so H3 can still be measured; the H1 verdict reports the missing phase).

    Introduced in notebooks/05_hessian_dynamics.
    """
    steps = np.asarray(steps)
    lo = phases["minimum_step"]
    hi = phases["diversification_end"] if phases["diversification"] else steps[-1]
    sel = steps[(steps > lo) & (steps <= hi)]
    return sel if sel.size else steps[-1:]


# --------------------------------------------------------------------------------------------
# κ(H_valley) and Assumption 1, per eigenvalue
# --------------------------------------------------------------------------------------------


def normalised_low_valley(eigs, eps_rel: float = EPS_REL, tau_rel: float = TAU_REL) -> np.ndarray:
    """The low valley eigenvalues λ/λ_max in (ε_rel, τ_rel), ascending.

    Introduced in notebooks/05_hessian_dynamics.
    """
    eps, tau = thresholds(eigs, eps_rel, tau_rel)
    return low_valley_eigenvalues(eigs, eps, tau) / float(np.max(eigs))


def assumption1(eigs_looped, eigs_single, eps_rel: float = EPS_REL, tau_rel: float = TAU_REL) -> dict:
    """Assumption 1 checked per eigenvalue at one step. Sort each model's low valley eigenvalues
    λ/λ_max ∈ (ε_rel, τ_rel) ascending; with m = the smaller count, compare them in pairs:

    - (i)  ``more``: Looped-Attn has more of them (n_L > n_S);
    - (ii) ``componentwise``: λ^L_(i) ≤ λ^S_(i) for every i ≤ m (``frac_smaller``: the share of
      pairs where it holds; nan when m = 0, i.e. a model has none).

    ``holds`` = (i) and (ii) (with m = 0 counting as (ii) vacuously only if n_L > n_S).

    Introduced in notebooks/05_hessian_dynamics.
    """
    L = normalised_low_valley(eigs_looped, eps_rel, tau_rel)
    S = normalised_low_valley(eigs_single, eps_rel, tau_rel)
    m = min(L.size, S.size)
    smaller = L[:m] <= S[:m]
    more = bool(L.size > S.size)
    return {
        "n_low_looped": int(L.size),
        "n_low_single": int(S.size),
        "more": more,
        "frac_smaller": float(smaller.mean()) if m else float("nan"),
        "componentwise": bool(smaller.all()),
        "holds": bool(more and smaller.all()),
        "looped": L,
        "single": S,
    }


def spectra_of(records: dict) -> dict:
    """``{model: (steps, [spectra])}`` from ``{"single": record, "looped": record}``.

    Introduced in notebooks/05_hessian_dynamics.
    """
    return {k: record_spectra(records[k]) for k in MODELS}


def h3_measures(records: dict, window, eps_rel: float = EPS_REL, tau_rel: float = TAU_REL) -> dict:
    """Over the steps in ``window``: the share of steps where κ_L > κ_S, the mean of
    log10(κ_L/κ_S), the mean counts of low valley eigenvalues, and the share of steps where
    Assumption 1 holds (per eigenvalue).

    Introduced in notebooks/05_hessian_dynamics.
    """
    sp = spectra_of(records)
    (sL, eL), (sS, eS) = sp["looped"], sp["single"]
    idx_L = {int(s): i for i, s in enumerate(sL)}
    idx_S = {int(s): i for i, s in enumerate(sS)}
    rows = []
    for s in window:
        if int(s) not in idx_L or int(s) not in idx_S:
            continue
        a, b = eL[idx_L[int(s)]], eS[idx_S[int(s)]]
        kL = kappa_valley(a, thresholds(a, eps_rel, tau_rel)[0])
        kS = kappa_valley(b, thresholds(b, eps_rel, tau_rel)[0])
        a1 = assumption1(a, b, eps_rel, tau_rel)
        rows.append((kL, kS, a1["n_low_looped"], a1["n_low_single"], a1["holds"], a1["frac_smaller"]))
    if not rows:
        raise ValueError("the window holds no step probed in both runs")
    kL, kS, nL, nS, a1, fs = (np.array(c, dtype=float) for c in zip(*rows))
    return {
        "kappa_looped": float(np.nanmean(kL)),
        "kappa_single": float(np.nanmean(kS)),
        "kappa_larger_frac": float(np.mean(kL > kS)),
        "log10_kappa_ratio": float(np.nanmean(np.log10(kL / kS))),
        "n_low_looped": float(nL.mean()),
        "n_low_single": float(nS.mean()),
        "assumption1_frac": float(a1.mean()),
        "frac_smaller": float(np.nanmean(fs)) if np.isfinite(fs).any() else float("nan"),
        "n_steps": len(rows),
    }


# --------------------------------------------------------------------------------------------
# From run records to claims
# --------------------------------------------------------------------------------------------


def measure_seed(records: dict, eps_rel: float = EPS_REL, tau_rel: float = TAU_REL,
                 rule: PhaseRule = PhaseRule()) -> dict:
    """Everything H1–H3 need from one seed's ``{"single": record, "looped": record}``:
    the phases of both models, Looped-Attn's diversification window and :func:`h3_measures` on it.

    Introduced in notebooks/05_hessian_dynamics.
    """
    sp = spectra_of(records)
    ph = {k: detect_phases(sp[k][0], effective_ranks(sp[k][1]), rule) for k in MODELS}
    window = diversification_window(sp["looped"][0], ph["looped"])
    return {"phases": ph, "window": [int(s) for s in window], "h3": h3_measures(records, window, eps_rel, tau_rel)}


def h3_holds(h3: dict) -> bool:
    """H3 for one seed: κ_L > κ_S on most window steps, more low valley eigenvalues on average,
    and Assumption 1 (per eigenvalue) on most window steps.

    Introduced in notebooks/05_hessian_dynamics.
    """
    return bool(
        h3["kappa_larger_frac"] > 0.5 and h3["n_low_looped"] > h3["n_low_single"] and h3["assumption1_frac"] > 0.5
    )


def final_accuracies(records: dict, split: str = "complex") -> dict | None:
    """``{"single": acc, "looped": acc}``: each run's last evaluated accuracy on ``split`` (None when
    a record has no such split, e.g. records built from spectra alone). It shows whether the runs
    whose spectra we read have the sample-level phenomenon (Looped-Attn ahead on complex sequences).

    Introduced in notebooks/05_hessian_dynamics.
    """
    out = {}
    for k in MODELS:
        acc = getattr(records[k], "eval_acc", None) or {}
        if not acc.get(split):
            return None
        out[k] = float(acc[split][-1])
    return out


def hessian_claims(runs: dict, scale: str, eps_rel: float = EPS_REL, tau_rel: float = TAU_REL,
                   rule: PhaseRule = PhaseRule()) -> list:
    """H1–H3 from ``runs = {seed: {"single": record, "looped": record}}``; verdicts by
    :func:`loopvalley.claims.check` from the measured numbers. A claim holds when its rule holds
    in at least half of the seeds. Every claim's ``measured`` also carries both models' final
    complex-split accuracies (``complex_acc_single``/``_looped``, when the records have them).

    Introduced in notebooks/05_hessian_dynamics.
    """
    seeds = sorted(runs)
    per = [measure_seed(runs[s], eps_rel, tau_rel, rule) for s in seeds]
    L = [p["phases"]["looped"] for p in per]
    S = [p["phases"]["single"] for p in per]
    H3 = [p["h3"] for p in per]
    frac = lambda xs: float(np.mean([bool(x) for x in xs]))  # noqa: E731
    where = f"ε = {eps_rel:g}·λ_max, τ = {tau_rel:g}·λ_max"
    accs = [final_accuracies(runs[s]) for s in seeds]
    acc = {} if any(a is None for a in accs) else {
        f"complex_acc_{k}": summary([a[k] for a in accs]) for k in MODELS
    }  # the sample-level phenomenon in these same runs

    m1 = {
        "frac_seeds": frac(x["three_phases"] for x in L),
        "looped_drop": summary([x["drop"] for x in L]),
        "looped_rise": summary([x["rise"] for x in L]),
        "looped_spread": summary([x["spread"] for x in L]),
        "looped_three_phases": [x["three_phases"] for x in L],
        "looped_collapse": [x["collapse"] for x in L],
        "looped_diversification": [x["diversification"] for x in L],
        "looped_stabilization": [x["stabilization"] for x in L],
        **acc,
    }
    missing = [p for p in ("collapse", "diversification", "stabilization") if frac(x[p] for x in L) < 0.5]
    h1 = check(
        "H1",
        "Looped-Attn's Hessian spectrum goes through Collapse → Diversification → Stabilization",
        "three phases in Looped-Attn (Fig. 3, Fig. 8)",
        m1,
        lambda m: m["frac_seeds"] >= 0.5,
        rule=f"all three phases in order in >= half the seeds; {rule.describe()}",
        scale=scale,
        seeds=seeds,
        fails_because=(
            f"the phase rule finds the three phases in order in only {m1['frac_seeds']:.0%} of the seeds"
            + (f"; missing in most seeds: {', '.join(missing)}" if missing else "; the phases come out of order")
            + f" (r_min/r_0 = {m1['looped_drop']['mean']:.2f}, peak/min = {m1['looped_rise']['mean']:.2f}, "
            f"final spread = {m1['looped_spread']['mean']:.2f})"
        ),
    )

    m2 = {
        "frac_seeds_without": frac(not x["diversification"] for x in S),
        "single_rise": summary([x["rise"] for x in S]),
        "looped_rise": summary([x["rise"] for x in L]),
        "single_diversification": [x["diversification"] for x in S],
        **acc,
    }
    h2 = check(
        "H2",
        "Single-Attn's spectrum lacks the Diversification phase",
        "no three-phase evolution for Single-Attn (Fig. 7)",
        m2,
        lambda m: m["frac_seeds_without"] >= 0.5,
        rule=f"no diversification (max r after the minimum < {1 + rule.rise:g}·min r) in >= half the seeds",
        scale=scale,
        seeds=seeds,
        fails_because=(
            f"Single-Attn's effective rank also rises by x{m2['single_rise']['mean']:.2f} after its minimum "
            f"(threshold x{1 + rule.rise:g}) in {1 - m2['frac_seeds_without']:.0%} of the seeds"
        ),
    )

    m3 = {
        "kappa_looped": summary([h["kappa_looped"] for h in H3]),
        "kappa_single": summary([h["kappa_single"] for h in H3]),
        "kappa_larger_frac": summary([h["kappa_larger_frac"] for h in H3]),
        "n_low_looped": summary([h["n_low_looped"] for h in H3]),
        "n_low_single": summary([h["n_low_single"] for h in H3]),
        "assumption1_frac": summary([h["assumption1_frac"] for h in H3]),
        "frac_seeds": frac(h3_holds(h) for h in H3),
        "eps_rel": eps_rel,
        "tau_rel": tau_rel,
        **acc,
    }
    parts = []
    if np.mean([h["kappa_larger_frac"] for h in H3]) <= 0.5:
        parts.append(
            f"κ(H_valley) is larger for Looped-Attn on only {m3['kappa_larger_frac']['mean']:.0%} of the window's "
            f"steps (mean κ {m3['kappa_looped']['mean']:.3g} vs {m3['kappa_single']['mean']:.3g})"
        )
    if m3["n_low_looped"]["mean"] <= m3["n_low_single"]["mean"]:
        parts.append(
            f"Looped-Attn has {m3['n_low_looped']['mean']:.1f} low valley eigenvalues vs Single-Attn's "
            f"{m3['n_low_single']['mean']:.1f}"
        )
    if m3["assumption1_frac"]["mean"] <= 0.5:
        parts.append(f"Assumption 1 holds per eigenvalue on only {m3['assumption1_frac']['mean']:.0%} of the steps")
    h3 = check(
        "H3",
        "During diversification κ(H_valley) is larger for Looped-Attn, with more and smaller "
        "low-curvature valley eigenvalues (Assumption 1)",
        "River-V-Valley (κ ≫ 1) for Looped vs River-U-Valley for Single; Assumption 1 (Fig. 8(o) vs 7(j))",
        m3,
        lambda m: m["frac_seeds"] >= 0.5,
        rule=(
            f"in >= half the seeds, over Looped-Attn's diversification window ({where}): κ_L > κ_S on most "
            "steps, more low valley eigenvalues on average, Assumption 1 per eigenvalue on most steps"
        ),
        scale=scale,
        seeds=seeds,
        fails_because="; ".join(parts) or f"H3 holds in only {m3['frac_seeds']:.0%} of the seeds",
    )
    return [h1, h2, h3]


def threshold_sensitivity(runs: dict, eps_grid=EPS_GRID, tau_grid=TAU_GRID, rule: PhaseRule = PhaseRule()) -> dict:
    """The H3 verdict (share of seeds where it holds) and its parts at every (ε, τ) of the grid
    (τ ≤ ε cells are nan). The phase verdicts (H1, H2) do not depend on ε or τ: the phase rule
    reads the effective rank of the whole spectrum.

    Returns arrays ``(len(eps_grid), len(tau_grid))``: ``holds``, ``kappa_larger_frac``,
    ``n_low_diff`` (looped − single), ``assumption1_frac``.

    Introduced in notebooks/05_hessian_dynamics.
    """
    keys = ("holds", "kappa_larger_frac", "n_low_diff", "assumption1_frac")
    out = {k: np.full((len(eps_grid), len(tau_grid)), np.nan) for k in keys}
    per = {s: measure_seed(runs[s], EPS_REL, TAU_REL, rule) for s in runs}
    for i, e in enumerate(eps_grid):
        for j, t in enumerate(tau_grid):
            if t <= e:
                continue
            h = [h3_measures(runs[s], per[s]["window"], e, t) for s in runs]
            out["holds"][i, j] = np.mean([h3_holds(x) for x in h])
            out["kappa_larger_frac"][i, j] = np.mean([x["kappa_larger_frac"] for x in h])
            out["n_low_diff"][i, j] = np.mean([x["n_low_looped"] - x["n_low_single"] for x in h])
            out["assumption1_frac"][i, j] = np.mean([x["assumption1_frac"] for x in h])
    out.update(eps_grid=np.asarray(eps_grid), tau_grid=np.asarray(tau_grid))
    return out


def rule_sensitivity(runs: dict, rises=(0.1, 0.2, 0.3, 0.5), flats=(0.05, 0.1, 0.2)) -> dict:
    """The phase verdicts over a grid of the rule's own thresholds (drop = rise): the share of
    seeds where Looped-Attn shows the three phases (H1) and where Single-Attn lacks
    diversification (H2). Arrays ``(len(rises), len(flats))``.

    Introduced in notebooks/05_hessian_dynamics.
    """
    h1 = np.zeros((len(rises), len(flats)))
    h2 = np.zeros((len(rises), len(flats)))
    sp = {s: spectra_of(runs[s]) for s in runs}
    r = {s: {k: (sp[s][k][0], effective_ranks(sp[s][k][1])) for k in MODELS} for s in runs}
    for i, x in enumerate(rises):
        for j, f in enumerate(flats):
            rule = PhaseRule(drop=min(x, 0.9), rise=x, flat=f)
            h1[i, j] = np.mean([detect_phases(*r[s]["looped"], rule)["three_phases"] for s in runs])
            h2[i, j] = np.mean([not detect_phases(*r[s]["single"], rule)["diversification"] for s in runs])
    return {"H1": h1, "H2": h2, "rises": np.asarray(rises), "flats": np.asarray(flats)}


# --------------------------------------------------------------------------------------------
# The runs
# --------------------------------------------------------------------------------------------


@dataclass
class HessianSetup:
    """Data, model, training and probe settings of one Single-vs-Looped pair of runs.

    Introduced in notebooks/05_hessian_dynamics.
    """

    markov: object  # loopvalley.markov.MarkovConfig
    model: object  # loopvalley.models.ModelConfig (n_loops is set per model)
    train: object  # loopvalley.train.TrainConfig
    n_train: int  # fixed training set (sequences)
    n_test: int  # sequences per test split
    n_loops: int = 3  # Looped-Attn's loops (paper: 3)
    seeds: int = 1  # default number of seeds
    probe_steps: tuple = (0, 10, 20, 40, 80, 160, 320, 600)  # the steps with a spectrum (sorted)
    params: object = "attention"  # Hessian over W_Q, W_K, W_V, W_O (the looped, shared weights)
    dtype: torch.dtype = torch.float64  # precision of the Hessian products
    dense_max: int = 4096  # dense Hessians up to this many dimensions (4·d² must fit: full spectra)
    chunk: int = 32  # Hessian-vector products per batched call when building the dense Hessian


def preset(scale: str | None = None) -> HessianSetup:
    """The setup at ``scale``: the sample-dynamics experiment's data, model and training
    (:func:`loopvalley.experiments.sample_dynamics.settings`, so the Hessian story is about the
    same kind of run) with a narrower residual stream, d_model = 16 on CPU scales (32 at paper),
    so that the attention weights' Hessian (4·d² = 1024 dimensions; 4096 at paper) is dense at
    every probe. d = 16 is the narrowest width at which the runs still show the sample-level
    phenomenon clearly (Looped-Attn ends ~11 points above Single-Attn on the complex split at ci;
    at d = 8 only ~4). Spectra are taken at :func:`loopvalley.hessian.probe_schedule`'s 15 steps,
    dense early so that the collapse (while the simple patterns are fitted, in the first few dozen
    steps) is sampled.

    Introduced in notebooks/05_hessian_dynamics.
    """
    from .sample_dynamics import settings

    s = current_scale(scale)
    base = settings(s)
    d = by_scale(s, ci=16, small=16, paper=32)
    steps = base.train.max_steps
    return HessianSetup(
        markov=base.markov,
        model=replace(base.model, d_model=d),
        train=replace(base.train, probe_batch_size=by_scale(s, ci=16, small=64, paper=256)),
        n_train=base.n_train,
        n_test=base.n_test,
        n_loops=base.n_loops,
        seeds=by_scale(s, ci=2, small=3, paper=5),
        probe_steps=probe_schedule(steps),  # 15 spectra per run
        dense_max=4 * d * d,
        # float32 at ci: 3× faster dense spectra; eigenvalue error ~1e-6·λ_max ≪ ε = 1e-3·λ_max
        dtype=by_scale(s, ci=torch.float32, small=torch.float64, paper=torch.float64),
    )


def run_pair(setup: HessianSetup, seed: int = 0, progress: bool = False) -> dict:
    """Train Single-Attn and Looped-Attn with a :class:`SpectrumProbe`, seeded as in
    :func:`loopvalley.experiments.sample_dynamics.run_pair` (data from generator 1000 + seed, both
    models from the same initial weights); returns ``{"single": RunRecord, "looped": RunRecord}``.

    Introduced in notebooks/05_hessian_dynamics.
    """
    from ..markov import make_markov_data
    from ..models import looped_attn, single_attn
    from ..train import Trainer

    data = make_markov_data(setup.markov, setup.n_train, setup.n_test, torch.Generator().manual_seed(1000 + int(seed)))
    cfg = replace(setup.train, seed=int(seed), progress=progress)
    out = {}
    for name, loops in (("single", 1), ("looped", setup.n_loops)):
        g = torch.Generator().manual_seed(int(seed))
        model = single_attn(setup.model, g) if loops == 1 else looped_attn(setup.model, loops, g)
        probe = SpectrumProbe(steps=tuple(setup.probe_steps), params=setup.params, dtype=setup.dtype,
                              dense_max=setup.dense_max, chunk=setup.chunk, eps_rel=EPS_REL, tau_rel=TAU_REL, seed=int(seed))
        trainer = Trainer(model, data.train, data.eval_sets, cfg, probes=[probe])
        trainer.record.meta.update(name=name, seed=int(seed), references=data.references)
        out[name] = trainer.run()
    return out


def run_seeds(scale: str | None, seeds, progress: bool = False) -> dict:
    """``{seed: run_pair(preset(scale), seed)}``.

    Introduced in notebooks/05_hessian_dynamics.
    """
    setup = preset(scale)
    return {int(s): run_pair(setup, int(s), progress=progress) for s in seeds}


@register("hessian-dynamics", ["H1", "H2", "H3"],
          "Hessian spectra over training: the three phases, κ(H_valley), Assumption 1")
def run(ctx) -> list:
    """Train both architectures with spectra over the seeds, save the figures, return H1–H3."""
    from ..plots.spectra import plot_kappa, plot_phases, plot_spectra_over_training, plot_threshold_sensitivity

    torch.set_num_threads(1)
    scale = ctx.scale
    setup = preset(scale)
    seeds = ctx.seeds_or(setup.seeds)
    t0 = time.perf_counter()
    runs = {}
    for s in seeds:
        runs[s] = run_pair(setup, s)
        if ctx.progress:
            print(f"  seed {s}: {time.perf_counter() - t0:.0f} s", flush=True)
    claims = hessian_claims(runs, scale)
    first = runs[seeds[0]]
    m = measure_seed(first)
    ctx.save_figure(plot_spectra_over_training(first), "hessian_spectra_over_training")
    ctx.save_figure(plot_phases(first, m["phases"]), "hessian_phases")
    ctx.save_figure(plot_kappa(first, m["window"]), "hessian_kappa_valley")
    ctx.save_figure(plot_threshold_sensitivity(threshold_sensitivity(runs)), "hessian_threshold_sensitivity")
    return claims
