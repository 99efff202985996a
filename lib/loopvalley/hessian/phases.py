"""Phases of a spectral statistic over training, and the nulls that say how large a phase must be
before it is one.

A statistic s of the Hessian's spectrum (effective rank, outliers, …) is read at the probe steps of a
run, in log units x_t = log s_t. From an anchor step on:

- **collapse** C = x_anchor − min_t x_t — how far the statistic falls after the anchor
  (the minimum taken before the converged segment);
- **diversification** D = max_{t after the minimum} x_t − x_min — how far it rises again;
- **stabilization** R = max − min of x_t over the converged segment — how much it still moves once
  training has converged (small = stable).

These are max/min statistics over a handful of noisy probes, so they are biased away from 0 even
when nothing happens: under pure estimator noise of σ ≈ 0.1 log units, D over 8 probes is ≈ 0.2. A
phase detector therefore needs a **null**: the distribution of the detector when there is no phase.
Two are provided:

- :func:`noise_null` — a flat series plus the estimator's own noise, i.i.d. N(0, σ²) per probe, with
  σ measured from independent Lanczos starts at fixed weights (the repeated spectra of
  :func:`start_spread`); its 95th percentile is the smallest phase the measurement can tell from noise;
- :func:`shuffle_null` — the observed series with its probes in random order: the detector's
  distribution when the values are kept but their order in time is not.

Introduced in notebooks/05_hessian_dynamics.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from loopvalley._validate import check_int, check_range

DETECTORS = ("collapse", "diversification", "stabilization")


@dataclass(frozen=True)
class Phases:
    """The phase statistics of one series (log units) and where they were read."""

    collapse: float  # C = x_anchor − x_min
    diversification: float  # D = x_peak − x_min, the peak after the minimum
    stabilization: float | None  # R = range over the converged segment (None: fewer than 2 probes there)
    anchor_step: int
    min_step: int
    peak_step: int
    converged_from: int | None  # the converged segment's first step (None: no converged segment)


def _split(steps, anchor_step: int, converged_from: int | None):
    steps = np.asarray(steps)
    after = steps >= anchor_step
    if not after.any():
        raise ValueError(f"anchor_step {anchor_step} is after the last probe ({int(steps[-1])})")
    a = int(np.argmax(after))  # the first probe at or after the anchor
    end = len(steps) if converged_from is None else int(np.searchsorted(steps, converged_from))
    end = max(end, a + 1)
    conv = np.arange(len(steps)) >= end if converged_from is not None else np.zeros(len(steps), bool)
    return a, end, conv


def detect(steps: Sequence[int], values: Sequence[float], anchor_step: int, converged_from: int | None) -> Phases:
    """The :class:`Phases` of ``values`` (positive numbers, one per probe step) from ``anchor_step`` on,
    with the converged segment starting at ``converged_from`` (``None``: none). Collapse and
    diversification are read before the converged segment, stabilization inside it.

    Introduced in notebooks/05_hessian_dynamics.
    """
    steps = np.asarray(steps)
    x = np.log(np.maximum(np.asarray(values, dtype=float), 1e-300))  # x_t = log s_t
    a, end, conv = _split(steps, anchor_step, converged_from)
    before = x[a:end]
    i_min = a + int(np.argmin(before))  # the post-anchor minimum
    rest = x[i_min:end]
    i_peak = i_min + int(np.argmax(rest))
    R = float(x[conv].max() - x[conv].min()) if conv.sum() >= 2 else None
    return Phases(collapse=float(x[a] - x[i_min]), diversification=float(x[i_peak] - x[i_min]), stabilization=R,
                  anchor_step=int(steps[a]), min_step=int(steps[i_min]), peak_step=int(steps[i_peak]),
                  converged_from=None if converged_from is None else int(converged_from))


def _detector_values(x: np.ndarray, a: int, end: int, conv: np.ndarray) -> np.ndarray:
    """(C, D, R) of many series at once: ``x`` (draws, probes) in log units."""
    before = x[:, a:end]
    i_min = np.argmin(before, axis=1)
    xmin = before[np.arange(len(x)), i_min]
    C = x[:, a] - xmin
    idx = np.arange(before.shape[1])[None, :]
    D = np.where(idx >= i_min[:, None], before, -np.inf).max(axis=1) - xmin  # the peak after the minimum
    R = (x[:, conv].max(axis=1) - x[:, conv].min(axis=1)) if conv.sum() >= 2 else np.full(len(x), np.nan)
    return np.stack([C, D, R], axis=1)  # (draws, 3)


def noise_null(steps: Sequence[int], sigma: float, anchor_step: int, converged_from: int | None, draws: int = 4000,
               seed: int = 0) -> np.ndarray:
    """``(draws, 3)`` null values of (C, D, R): the detectors on flat series plus i.i.d. N(0, σ²) noise
    at the same probe steps (σ in log units: the estimator's noise, :func:`start_spread`).

    Introduced in notebooks/05_hessian_dynamics.
    """
    sigma = check_range("sigma", sigma, 0.0, np.inf)
    draws = check_int("draws", draws, 1)
    a, end, conv = _split(steps, anchor_step, converged_from)
    x = np.random.default_rng(seed).normal(0.0, sigma, size=(draws, len(steps)))
    return _detector_values(x, a, end, conv)


def shuffle_null(steps: Sequence[int], values: Sequence[float], anchor_step: int, converged_from: int | None,
                 draws: int = 4000, seed: int = 0) -> np.ndarray:
    """``(draws, 3)`` null values of (C, D, R): the detectors on the observed series with its probes
    (from the anchor on) in random order — the values kept, their order in time not.

    Introduced in notebooks/05_hessian_dynamics.
    """
    draws = check_int("draws", draws, 1)
    a, end, conv = _split(steps, anchor_step, converged_from)
    x = np.log(np.maximum(np.asarray(values, dtype=float), 1e-300))
    rng = np.random.default_rng(seed)
    tail = x[a:]
    xs = np.tile(x, (draws, 1))
    for i in range(draws):
        xs[i, a:] = rng.permutation(tail)
    return _detector_values(xs, a, end, conv)


def threshold(null: np.ndarray, q: float = 0.95) -> np.ndarray:
    """The ``q`` quantile of each detector's null (NaN where a detector is undefined).

    Introduced in notebooks/05_hessian_dynamics.
    """
    return np.array([np.quantile(c[np.isfinite(c)], q) if np.isfinite(c).any() else np.nan for c in null.T])


def contrast_threshold(null_a: np.ndarray, null_b: np.ndarray, q: float = 0.95) -> np.ndarray:
    """The ``q`` quantile of each detector's difference a − b when neither series has a phase: the
    null of a paired contrast between two arms (draws paired at random).

    Introduced in notebooks/05_hessian_dynamics.
    """
    n = min(len(null_a), len(null_b))
    return threshold(null_a[:n] - null_b[:n], q)


def start_spread(log_values_by_start) -> float:
    """σ of the estimator: the pooled standard deviation over independent Lanczos starts at fixed
    weights, √(Σ_p (n_p − 1) s_p² / Σ_p (n_p − 1)). ``log_values_by_start``: one row per set of weights
    (a probe), each the log statistic under its n_p ≥ 2 starts (rows may differ in length).

    Introduced in notebooks/05_hessian_dynamics.
    """
    rows = [np.asarray(r, dtype=float) for r in log_values_by_start]
    rows = [r[np.isfinite(r)] for r in rows]
    if not rows or any(r.ndim != 1 for r in rows) or max((r.size for r in rows), default=0) < 2:
        raise ValueError("log_values_by_start must hold rows of ≥ 2 starts each (one row per probe)")
    rows = [r for r in rows if r.size >= 2]
    dof = sum(r.size - 1 for r in rows)
    return float(np.sqrt(sum((r.size - 1) * np.var(r, ddof=1) for r in rows) / dof))


def milestone_steps(steps: Sequence[int], acc: Sequence[float], fractions: Sequence[float], start_step: int = 0) -> list:
    """The first evaluation steps at which an arm has covered each of ``fractions`` of its own
    accuracy gain, from its accuracy at ``start_step`` to its final accuracy (training progress
    instead of steps: arms learn at different speeds).

    Introduced in notebooks/05_hessian_dynamics.
    """
    steps, acc = np.asarray(steps), np.asarray(acc, dtype=float)
    i0 = int(np.argmax(steps >= start_step))
    a0, a1 = acc[i0], acc[-1]
    out = []
    for f in fractions:
        level = a0 + check_range("fraction", f, 0.0, 1.0) * (a1 - a0)
        reached = np.nonzero((acc >= level) & (np.arange(len(acc)) >= i0))[0] if a1 >= a0 else \
            np.nonzero((acc <= level) & (np.arange(len(acc)) >= i0))[0]
        out.append(int(steps[reached[0]]) if reached.size else int(steps[-1]))
    return out
