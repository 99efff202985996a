"""Spectra of the training-loss Hessian as measures, and the statistics we read off them.

A Hessian spectrum here is a discrete measure μ = Σ_i w_i δ(λ_i) with Σ_i w_i = n (the dimension):

- **dense** (:func:`dense_spectrum`): the n eigenvalues of the dense Hessian, each with weight 1;
- **Lanczos** (:func:`lanczos_spectrum`): one Lanczos run of m ≪ n steps. Its *converged* Ritz values
  (residual ‖Hy − θy‖ ≤ tol·|θ|) are eigenvalue estimates and get weight 1 each; the other Ritz
  values are Gauss-quadrature *nodes* that share the remaining weight n − n_conv in proportion to
  their quadrature weights (stochastic Lanczos quadrature, deflated by the converged part). A node
  is never counted as an eigenvalue: statistics of a Lanczos spectrum are quadrature estimates, and
  every result says which estimator produced it (``method``).

**The statistic family** (:func:`family`), fixed before any confirmatory run. Each reads the whole
measure; each is oriented so that *larger = a more diverse spectrum* (more directions carry
curvature), which is the direction of a diversification and the opposite of a collapse:

- ``effective_rank`` — exp(S), S = −Σ p log p, p_i ∝ w_i |λ_i| (a count of directions);
- ``participation`` — (Σ w|λ|)² / Σ w λ², the participation ratio (a count);
- ``outliers`` — #{λ > OUTLIER_FRAC · λ_max} (a count);
- ``positive_rank`` — exp(S₊), the entropy of the positive part, p_i ∝ w_i max(λ_i, 0) (a count);
- ``steep_count`` — #{|λ| ≥ TAU_REL · λ_max} = n · (1 − the fraction of |λ| below τ) (a count);
- ``negative_mass`` — Σ_{λ<0} w|λ| / Σ w|λ|, the share of the |λ| mass on negative curvature (½ at a
  ±-symmetric saddle, 0 at a minimum; larger = curvature of both signs).

(``steep_count`` is the complement of "the fraction of |λ| below τ", written as a count so that a
collapse onto a few outliers lowers it like the others.)

**Valley conditioning without ε** (:func:`kappa_k`): κ_k = λ_1 / λ_k, the ratio of the
largest eigenvalue to the k-th largest (k = :data:`KAPPA_K`), a fixed number of valley walls instead
of every eigenvalue above a threshold ε. The old κ_ε = λ_max / min{λ > ε} (:func:`kappa_eps`) sits at ε when a
continuum of eigenvalues reaches down to zero (so κ ≈ 1/ε_rel); κ_k does not involve ε at all, and a
threshold ε only matters if fewer than k eigenvalues exceed it (:func:`kappa_eps_sweep` shows both).

Phases of a statistic over training, and their nulls, are in :mod:`loopvalley.hessian.phases`.

Introduced in notebooks/05_hessian_dynamics.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field, replace
from typing import Callable

import numpy as np
import torch

from loopvalley._validate import check_choice, check_int, check_positive, check_range
from loopvalley.hessian.operator import (
    Hessian,
    Krylov,
    _eigh_small,
    _Operator,
    _rademacher,
    _tridiag,
    lanczos_recurrence,
)
from loopvalley.looped.models import PARAM_BLOCKS, block_params

OUTLIER_FRAC = 0.1  # an outlier: λ > 0.1 · λ_max
TAU_REL = 0.05  # "steep": |λ| ≥ τ, τ = 0.05 · λ_max (resolvable by a 60-step Lanczos quadrature)
KAPPA_K = 10  # κ_k = λ_1 / λ_k with k = 10 valley walls
STATISTICS = ("effective_rank", "participation", "outliers", "positive_rank", "steep_count", "negative_mass")
METHODS = ("dense", "lanczos")


# ----------------------------------------------------------------------------------------------
# Spectra as measures


@dataclass(frozen=True)
class Spectrum:
    """A Hessian spectrum as a measure Σ_i w_i δ(λ_i), Σ w_i = n (see the module doc).

    ``values`` ascending; ``weights`` how many eigenvalues each value stands for (1 for dense and
    for converged Ritz values); ``converged`` which values are eigenvalue estimates (all, for dense);
    ``residuals`` the Lanczos residual estimates (zeros for dense); ``method`` "dense" or "lanczos".

    Introduced in notebooks/05_hessian_dynamics.
    """

    values: np.ndarray  # (m,) ascending
    weights: np.ndarray  # (m,), Σ = n
    n: int  # the Hessian's dimension
    method: str = "dense"
    converged: np.ndarray | None = None  # (m,) bool
    residuals: np.ndarray | None = None  # (m,)
    n_hvp: int = 0  # Hessian-vector products spent
    seconds: float = 0.0
    alphas: np.ndarray | None = None  # (m,) Lanczos: the diagonal of T_m (kept, so that any prefix can be re-read)
    betas: np.ndarray | None = None  # (m,) Lanczos: β_1 … β_m (the last one is the residual norm)
    basis: torch.Tensor | None = field(default=None, repr=False, compare=False)  # (m+1, n) Lanczos vectors ((m, n) if the
    # Krylov space closed); not in rows

    @property
    def lambda_max(self) -> float:
        return float(self.values[-1])

    @property
    def eigenvalues(self) -> np.ndarray:
        """The values that are eigenvalue estimates (all of them for dense; converged Ritz values
        for Lanczos), descending."""
        conv = np.ones(self.values.size, bool) if self.converged is None else self.converged
        return np.sort(self.values[conv])[::-1]

    def top(self, k: int) -> np.ndarray:
        """The k largest eigenvalue estimates, descending (NaN where fewer than k have converged:
        a quadrature node is never returned as an eigenvalue)."""
        e = self.eigenvalues
        if self.converged is not None:  # only a leading run of converged values is "the top k"
            order = np.argsort(self.values)[::-1]
            ok = self.converged[order]
            lead = int(np.argmin(ok)) if not ok.all() else ok.size
            e = self.values[order][:lead]
        out = np.full(k, np.nan)
        out[: min(k, e.size)] = e[:k]
        return out

    def to_row(self) -> dict:
        """Plain lists for a run record."""
        row = {"values": self.values.tolist(), "weights": self.weights.tolist(), "n": self.n, "method": self.method,
               "n_hvp": self.n_hvp, "seconds": self.seconds}
        if self.method != "dense":
            row["converged"] = self.converged.astype(int).tolist()
            row["residuals"] = self.residuals.tolist()
        if self.alphas is not None:
            row["alphas"], row["betas"] = np.asarray(self.alphas).tolist(), np.asarray(self.betas).tolist()
        return row

    @classmethod
    def from_row(cls, row: dict) -> "Spectrum":
        v = np.asarray(row["values"], float)
        conv = np.asarray(row["converged"], bool) if "converged" in row else None
        res = np.asarray(row["residuals"], float) if "residuals" in row else None
        ab = [np.asarray(row[k], float) if k in row else None for k in ("alphas", "betas")]
        return cls(v, np.asarray(row["weights"], float), int(row["n"]), row.get("method", "dense"), conv, res,
                   int(row.get("n_hvp", 0)), float(row.get("seconds", 0.0)), *ab)


def spectrum_of(eigs) -> Spectrum:
    """A dense :class:`Spectrum` from an array of eigenvalues (weight 1 each).

    Introduced in notebooks/05_hessian_dynamics.
    """
    a = eigs.detach().cpu().numpy() if isinstance(eigs, torch.Tensor) else np.asarray(eigs)
    a = np.sort(np.asarray(a, dtype=float).ravel())
    if a.size == 0 or not np.isfinite(a).all():
        raise ValueError("eigs must be a non-empty array of finite eigenvalues")
    return Spectrum(a, np.ones(a.size), int(a.size), "dense", np.ones(a.size, bool), np.zeros(a.size))


def dense_spectrum(H, chunk: int = 1) -> Spectrum:
    """The exact spectrum of a :class:`loopvalley.hessian.operator.Hessian` (``H.dense()`` + ``eigvalsh``), or
    of a square symmetric tensor.

    Introduced in notebooks/05_hessian_dynamics.
    """
    t0 = time.perf_counter()
    if isinstance(H, torch.Tensor):
        M, n_hvp = H, 0
    else:
        before = H.n_hvp
        M = H.dense(chunk)
        n_hvp = H.n_hvp - before
    eigs = torch.linalg.eigvalsh(M.double()).cpu()  # ascending: (n,)
    sp = spectrum_of(eigs)
    return Spectrum(sp.values, sp.weights, sp.n, "dense", sp.converged, sp.residuals, n_hvp, time.perf_counter() - t0)


def lanczos_spectrum(H, n_steps: int = 60, *, generator: torch.Generator | None = None, tol: float = 1e-3,
                     resume: Spectrum | None = None) -> Spectrum:
    """A Lanczos estimate of the spectrum of ``H`` (a Hessian or a symmetric tensor) from
    ``n_steps`` Hessian-vector products, one Rademacher start.

    Lanczos with full reorthogonalisation (:func:`loopvalley.hessian.operator.lanczos_recurrence`) builds
    T_m = Q_m H Q_mᵀ (tridiagonal); T_m = S diag(θ) Sᵀ.
    A Ritz value θ_j whose residual estimate |β_m S_{mj}| ≤ ``tol``·|θ_j| is an eigenvalue
    estimate (weight 1; the test is relative, so a Ritz value near 0, which may stand for a whole
    near-null space, never counts as one eigenvalue); the others are quadrature nodes of vᵀ f(H) v ≈ Σ_j S_{1j}² f(θ_j), which
    share the remaining weight n − n_conv in proportion to S_{1j}² (SLQ deflated by the converged
    part). Returns a :class:`Spectrum` with ``method = "lanczos"`` that keeps its tridiagonal and its
    Lanczos vectors (``basis``).

    ``resume``: a shorter run's spectrum of the same operator from the same start (with its ``basis``):
    its steps are this run's first ones (a recurrence), so only the remaining products are spent and
    the result is the one a fresh run gives.

    Introduced in notebooks/05_hessian_dynamics.
    """
    t0 = time.perf_counter()
    op = _Operator(H)
    m = min(check_int("n_steps", n_steps, 2), op.n)
    check_positive("tol", tol)
    k0 = 0
    if resume is None:
        g = generator if generator is not None else torch.Generator().manual_seed(0)
        start = _rademacher(1, op.n, g, op.dtype, op.device)[0]  # entries ±1
    else:
        if not isinstance(resume, Spectrum) or resume.basis is None or resume.alphas is None or resume.n != op.n:
            raise ValueError(f"resume must be a Lanczos Spectrum of this operator (n={op.n}) that kept its basis")
        k0 = int(np.asarray(resume.alphas).size)
        if k0 >= m or resume.basis.shape[0] <= k0:  # long enough, or the Krylov space closed: read it off
            return replace(truncate(resume, min(m, k0), tol), basis=resume.basis[: min(m, k0) + 1])
        alphas, betas = np.asarray(resume.alphas, float), [float(b) for b in resume.betas]
        T = _tridiag(np.append(alphas, 0.0), betas)  # (k0 + 1, k0 + 1): q_{k0} waits for its product
        start = Krylov(resume.basis[: k0 + 1].to(dtype=op.dtype, device=op.device), T, betas, k0)
    K = lanczos_recurrence(op, start, m)
    sp = _tridiagonal_spectrum(K.alphas, np.asarray(K.betas), op.n, tol)
    return replace(sp, seconds=time.perf_counter() - t0, n_hvp=op.count, basis=K.basis)


def _tridiagonal_spectrum(alphas: np.ndarray, betas: np.ndarray, n: int, tol: float) -> Spectrum:
    """The Lanczos :class:`Spectrum` of T_k (α on the diagonal, β_1 … β_{k−1} off it; β_k the residual norm)."""
    k = alphas.size
    theta, S = _eigh_small(_tridiag(alphas, betas))  # T_k = S diag(θ) Sᵀ
    res = np.abs(betas[-1] * S[-1])  # ‖H y_j − θ_j y_j‖ = |β_m S_{mj}|
    quad = S[0] ** 2  # Gauss weights, Σ = 1
    if k == n:  # the whole space: every Ritz value is an eigenvalue
        conv = np.ones(k, bool)
    else:  # relative accuracy: a Ritz value near 0 (the null space seen once) is never "converged"
        conv = res <= tol * np.abs(theta)
    weights = np.ones(k)
    rest = ~conv
    if rest.any():
        q = quad[rest]
        weights[rest] = (n - conv.sum()) * q / q.sum() if q.sum() > 0 else (n - conv.sum()) / rest.sum()
    elif conv.sum() < n:  # every node converged yet fewer than n: spread the rest over them
        weights = weights * n / k
    return Spectrum(theta, weights, n, "lanczos", conv, res, k, 0.0, alphas.copy(), betas.copy())


def truncate(sp: Spectrum, n_steps: int, tol: float = 1e-3) -> Spectrum:
    """The spectrum that ``n_steps`` Lanczos steps from the same start would have given, read off the
    kept tridiagonal of a longer run: T_m of a shorter run is the leading m × m block of the longer
    one's, and β_m its residual norm (Lanczos is a recurrence; the first m steps do not depend on
    later ones). ``tol`` as in :func:`lanczos_spectrum`.

    Introduced in notebooks/05_hessian_dynamics.
    """
    if not isinstance(sp, Spectrum) or sp.alphas is None:
        raise ValueError("sp must be a Lanczos Spectrum that kept its tridiagonal (alphas, betas)")
    m = check_int("n_steps", n_steps, 2, int(np.asarray(sp.alphas).size))
    return _tridiagonal_spectrum(np.asarray(sp.alphas, float)[:m], np.asarray(sp.betas, float)[:m], sp.n, tol)


# ----------------------------------------------------------------------------------------------
# The statistic family


def _check(sp) -> Spectrum:
    if not isinstance(sp, Spectrum):
        sp = spectrum_of(sp)
    return sp


def effective_rank(sp) -> float:
    """exp(S), S = −Σ_i p_i log p_i with p_i = w_i |λ_i| / Σ_j w_j |λ_j| — the number of directions
    that carry the |λ| mass (1 if one eigenvalue carries it all, n if all are equal).

    Introduced in notebooks/05_hessian_dynamics.
    """
    sp = _check(sp)
    a = np.abs(sp.values)
    mass = sp.weights * a  # w_i |λ_i|
    tot = mass.sum()
    if tot <= 0:
        return 0.0
    keep = mass > 0
    # each value stands for w_i eigenvalues of equal size: p per eigenvalue = |λ_i| / Σ w|λ|
    p = a[keep] / tot
    return float(math.exp(-(sp.weights[keep] * p * np.log(p)).sum()))  # exp(−Σ w p log p)


def participation_ratio(sp) -> float:
    """(Σ w|λ|)² / Σ w λ²: n if all |λ| are equal, 1 if one dominates.

    Introduced in notebooks/05_hessian_dynamics.
    """
    sp = _check(sp)
    s1 = float((sp.weights * np.abs(sp.values)).sum())
    s2 = float((sp.weights * sp.values**2).sum())
    return s1 * s1 / s2 if s2 > 0 else 0.0


def n_outliers(sp, frac: float = OUTLIER_FRAC) -> float:
    """#{λ > frac · λ_max} (a quadrature estimate where a Lanczos spectrum has unconverged nodes there).

    Introduced in notebooks/05_hessian_dynamics.
    """
    sp = _check(sp)
    check_range("frac", frac, 0.0, 1.0, lo_open=True)
    return float(sp.weights[sp.values > frac * sp.lambda_max].sum())


def positive_rank(sp) -> float:
    """exp(S₊), the entropy of the positive part: p_i ∝ w_i max(λ_i, 0).

    Introduced in notebooks/05_hessian_dynamics.
    """
    sp = _check(sp)
    pos = sp.values > 0
    return effective_rank(Spectrum(sp.values[pos], sp.weights[pos], int(sp.n), sp.method)) if pos.any() else 0.0


def flat_fraction(sp, tau_rel: float = TAU_REL) -> float:
    """The fraction of the spectrum with |λ| < τ = tau_rel · λ_max.

    Introduced in notebooks/05_hessian_dynamics.
    """
    sp = _check(sp)
    check_range("tau_rel", tau_rel, 0.0, 1.0, lo_open=True)
    return float(sp.weights[np.abs(sp.values) < tau_rel * sp.lambda_max].sum() / sp.weights.sum())


def steep_count(sp, tau_rel: float = TAU_REL) -> float:
    """#{|λ| ≥ τ}, τ = tau_rel · λ_max: n · (1 − :func:`flat_fraction`).

    Introduced in notebooks/05_hessian_dynamics.
    """
    sp = _check(sp)
    return float(sp.n * (1.0 - flat_fraction(sp, tau_rel)))


def negative_mass(sp) -> float:
    """Σ_{λ<0} w|λ| / Σ w|λ|: the share of the curvature mass on negative eigenvalues (½ at a
    ±-symmetric saddle, 0 at a minimum).

    Introduced in notebooks/05_hessian_dynamics.
    """
    sp = _check(sp)
    mass = sp.weights * np.abs(sp.values)
    tot = mass.sum()
    return float(mass[sp.values < 0].sum() / tot) if tot > 0 else 0.0


def family(sp, outlier_frac: float = OUTLIER_FRAC, tau_rel: float = TAU_REL) -> dict:
    """Every statistic of the family (:data:`STATISTICS`) of one spectrum, plus ``lambda_max``.

    Introduced in notebooks/05_hessian_dynamics.
    """
    sp = _check(sp)
    return {
        "effective_rank": effective_rank(sp),
        "participation": participation_ratio(sp),
        "outliers": n_outliers(sp, outlier_frac),
        "positive_rank": positive_rank(sp),
        "steep_count": steep_count(sp, tau_rel),
        "negative_mass": negative_mass(sp),
        "lambda_max": sp.lambda_max,
    }


# ----------------------------------------------------------------------------------------------
# Valley conditioning


def kappa_k(sp, k: int = KAPPA_K, eps: float = 0.0) -> float:
    """κ_k = λ_1 / λ_k: the largest eigenvalue over the k-th largest, among the valley eigenvalues
    λ > ``eps`` (NaN when fewer than k exceed ``eps`` or have converged).

    With a fixed k the valley is "the k steepest walls" rather than "every eigenvalue above ε", so
    ε no longer decides κ: it only enters when fewer than k eigenvalues exceed it.

    Introduced in notebooks/05_hessian_dynamics.
    """
    sp = _check(sp)
    k = check_int("k", k, 2)
    top = sp.top(k)
    if not np.isfinite(top).all() or top[-1] <= eps or top[-1] <= 0:
        return float("nan")
    return float(top[0] / top[-1])  # κ_k = λ_1 / λ_k


def kappa_eps(sp, eps_rel: float) -> float:
    """κ_ε = λ_max / min{λ > ε}, the old κ(H_valley), ε = eps_rel · λ_max (dense spectra only), kept to
    show that it measures ε: in a spectrum with a continuum near 0 it is ≈ 1/eps_rel.

    Introduced in notebooks/05_hessian_dynamics.
    """
    sp = _check(sp)
    if sp.method != "dense":
        raise ValueError("kappa_eps needs a dense spectrum (the smallest valley eigenvalue of a Lanczos "
                         "estimate is a quadrature node, not an eigenvalue)")
    check_range("eps_rel", eps_rel, 0.0, 1.0, lo_open=True, hi_open=True)
    v = sp.values[sp.values > eps_rel * sp.lambda_max]
    return float(v.max() / v.min()) if v.size else float("nan")


def kappa_eps_sweep(sp, eps_rels=(1e-4, 2e-4, 5e-4, 1e-3), k: int = KAPPA_K) -> dict:
    """κ_ε (:func:`kappa_eps`) and κ_k (:func:`kappa_k`) at each ε/λ_max in ``eps_rels`` on one (dense)
    spectrum, and each one's relative change across the sweep, (max − min) / min.

    Introduced in notebooks/05_hessian_dynamics.
    """
    sp = _check(sp)
    eps_rels = np.asarray(eps_rels, float)
    by_eps = np.array([kappa_eps(sp, e) for e in eps_rels])
    by_k = np.array([kappa_k(sp, k, e * sp.lambda_max) for e in eps_rels])
    change = lambda a: float((np.nanmax(a) - np.nanmin(a)) / np.nanmin(a)) if np.isfinite(a).any() else float("nan")  # noqa: E731
    return {"eps_rel": eps_rels, "kappa_eps": by_eps, "kappa_k": by_k, "change_eps": change(by_eps), "change_k": change(by_k)}


# ----------------------------------------------------------------------------------------------
# Tracking spectra during training

@dataclass
class SpectrumProbe:
    """A trainer probe that records Hessian spectra (:class:`Spectrum` rows) at the steps of a
    schedule: for every ``(block, batch)`` pair in ``views`` the Hessian of the training loss over
    ``block``'s parameters (:func:`block_params`) on that batch (``"train"``: ``trainer.probe_batch``;
    any other name: a tensor in ``batches``), by Lanczos (``n_steps`` products) or densely.

    Each row holds, under ``"{block}/{batch}"``, the spectrum's values and weights (and residuals);
    ``"seconds"`` and ``"n_hvp"`` count the cost. With ``keep_states`` the probe also keeps the
    model's weights at every probe step in ``self.states`` (for later, finer spectra at a chosen
    step; not written to the record).

    Introduced in notebooks/05_hessian_dynamics.
    """

    steps: tuple  # the steps to probe at (sorted); the trainer's final call also records
    batches: dict = field(default_factory=dict)  # {name: (B, T) tokens} besides "train"
    views: tuple = (("attention", "train"),)  # (block, batch) pairs
    method: str = "lanczos"
    n_steps: int = 60  # Lanczos steps (= Hessian-vector products) per spectrum
    dense_chunk: int = 1  # method "dense": products per batched backward (batching pays on small models)
    dtype: torch.dtype = torch.float32
    loss_fn: Callable | None = None  # default: the trainer's loss_fn
    seed: int = 0  # seeds the Lanczos starts
    keep_states: bool = False
    keep_bases: tuple = ()  # views ("block/batch") whose Lanczos vectors are kept in self.bases[(step, view)]
    name: str = "spectra"
    every: int = 1
    states: dict = field(default_factory=dict)
    bases: dict = field(default_factory=dict)

    def __post_init__(self):
        self.steps = tuple(sorted(check_int("steps", s, 0) for s in self.steps))
        if not self.steps or len(set(self.steps)) != len(self.steps):
            raise ValueError(f"steps must be a non-empty schedule of distinct steps, got {self.steps!r}")
        check_choice("method", self.method, METHODS)
        check_int("n_steps", self.n_steps, 2)
        check_int("dense_chunk", self.dense_chunk, 1)
        for block, batch in self.views:
            check_choice("block", block, tuple(PARAM_BLOCKS))
            if batch != "train" and batch not in self.batches:
                raise ValueError(f"views: batch {batch!r} is neither 'train' nor one of batches ({', '.join(self.batches)})")
        self.every = 1

    def spectrum(self, model, batch, block: str, loss_fn, step: int = 0, resume: Spectrum | None = None) -> Spectrum:
        """The spectrum of one block on one batch at the model's current weights (``resume``: continue a
        shorter Lanczos run of the same Hessian, see :func:`lanczos_spectrum`)."""

        H = Hessian(model, loss_fn, batch, block_params(model, block), self.dtype)
        if self.method == "dense":
            return dense_spectrum(H, self.dense_chunk)
        g = torch.Generator().manual_seed(int(self.seed))  # the same start at every step: errors correlate over time
        return lanczos_spectrum(H, self.n_steps, generator=g, resume=resume)

    def __call__(self, trainer) -> dict | None:
        if int(trainer.step) not in self.steps and not trainer.done:
            return None
        t0 = time.perf_counter()
        loss_fn = self.loss_fn or trainer.loss_fn
        out, n_hvp = {}, 0
        for block, batch in self.views:
            x = trainer.probe_batch if batch == "train" else self.batches[batch].to(trainer.probe_batch.device)
            sp = self.spectrum(trainer.model, x, block, loss_fn, trainer.step)
            out[f"{block}/{batch}"] = sp.to_row()
            n_hvp += sp.n_hvp
            if f"{block}/{batch}" in self.keep_bases and sp.basis is not None:
                self.bases[(int(trainer.step), f"{block}/{batch}")] = sp.basis.detach().cpu().clone()
        if self.keep_states:
            self.states[int(trainer.step)] = {k: v.detach().cpu().clone() for k, v in trainer.model.state_dict().items()}
        out["n_hvp"], out["seconds"] = n_hvp, time.perf_counter() - t0
        return out


def record_spectra(record, view: str = "attention/train", name: str = "spectra") -> tuple[np.ndarray, list]:
    """``(steps, [Spectrum])`` that a :class:`SpectrumProbe` stored in a run record under ``view``.

    Introduced in notebooks/05_hessian_dynamics.
    """
    rows = record.probes[name] if hasattr(record, "probes") else record["probes"][name]
    if view not in rows:
        raise ValueError(f"view {view!r} not recorded; recorded: {', '.join(k for k in rows if '/' in k)}")
    return np.asarray(rows["step"]), [Spectrum.from_row(r) for r in rows[view]]
