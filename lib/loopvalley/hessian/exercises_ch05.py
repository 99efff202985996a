"""Chapter 05's exercises: two statistics of a Hessian spectrum, from its eigenvalues.

1. ``effective_rank(eigs)``: the number of directions that carry the curvature mass,

       erank = exp(S),   S = −Σ_i p_i log p_i,   p_i = |λ_i| / Σ_j |λ_j|   (0 log 0 = 0),

   for a 1-D tensor of eigenvalues (any sign); checked by :func:`check_effective_rank` against
   :func:`loopvalley.hessian.spectra.effective_rank`. The usual mistakes it names: returning S instead of
   exp(S), weights from λ instead of |λ| (a saddle has negative eigenvalues), weights from λ², a
   base-2 entropy, NaN from a zero eigenvalue, the participation ratio instead.

2. ``kappa_k(eigs, k)``: the ε-free valley conditioning of section 5,

       κ_k = λ_1 / λ_k,   λ_1 ≥ λ_2 ≥ … the eigenvalues in descending order,

   NaN when λ_k ≤ 0 (fewer than k positive eigenvalues: there are not k valley walls); checked by
   :func:`check_kappa_k` against :func:`loopvalley.hessian.spectra.kappa_k`. The usual mistakes:
   ascending order, λ_{k+1} (an off-by-one index), ordering by |λ| (a large negative eigenvalue is not a
   wall), the old κ = λ_max / min{λ > 0}, a negative or infinite κ where NaN is due.

Introduced in notebooks/05_hessian_dynamics.
"""

from __future__ import annotations

import math
from typing import Callable

import numpy as np
import torch

from loopvalley.checking import _np, close, guided_checks, shape_hint
from loopvalley.hessian import spectra as _sx


def _eigs(values) -> torch.Tensor:
    return torch.as_tensor(values, dtype=torch.float64)


def _spectrum(n: int, seed: int, negative: float = 0.3, zeros: int = 0) -> torch.Tensor:
    """A spectrum with a few outliers, a bulk near 0 and a share of negative eigenvalues: (n,)."""
    g = torch.Generator().manual_seed(seed)
    bulk = torch.randn(n - zeros, generator=g, dtype=torch.float64).abs() * 0.05
    sign = torch.where(torch.rand(n - zeros, generator=g, dtype=torch.float64) < negative, -1.0, 1.0)
    top = torch.linspace(3.0, 0.5, min(5, n - zeros), dtype=torch.float64)
    e = bulk * sign
    e[: top.numel()] = top  # five outliers
    return torch.cat([e, torch.zeros(zeros, dtype=torch.float64)])


# --------------------------------------------------------------------------------------------
# effective_rank
# --------------------------------------------------------------------------------------------


def effective_rank_reference(eigs) -> float:
    """exp(−Σ p_i log p_i), p_i = |λ_i| / Σ|λ_j|: :func:`loopvalley.hessian.spectra.effective_rank` of the
    eigenvalues ``eigs`` (a 1-D tensor).

    Introduced in notebooks/05_hessian_dynamics.
    """
    return _sx.effective_rank(_sx.spectrum_of(eigs))


_ERANK_CASES = [
    ((_spectrum(40, 0),), "40 eigenvalues, some negative"),
    ((_eigs([2.0, 2.0, 2.0, 2.0]),), "four equal eigenvalues: the effective rank is 4"),
    ((_eigs([5.0, 1e-3, 1e-3]),), "one eigenvalue carries almost all the mass"),
    ((_eigs([1.0, -1.0, 0.5, -0.5]),), "a ±-symmetric saddle"),
    ((_spectrum(30, 1, zeros=6),), "six exact zeros (0 log 0 = 0)"),
]


def _entropy(p: np.ndarray) -> float:
    p = p[p > 0]
    return float(-(p * np.log(p)).sum())


def _erank_hints():
    e = _spectrum(24, 7, negative=0.5)  # negative eigenvalues and a large spread
    a = np.abs(_np(e))
    want = effective_rank_reference(e)
    S = _entropy(a / a.sum())

    def shape(fn):
        got = fn(e)
        msg = shape_hint(got, np.float64(want), "the effective rank")
        return msg and msg + " — return one number for the whole spectrum"

    def zeros(fn):
        z = _eigs([1.0, 0.5, 0.0, 0.0])
        got = _np(fn(z))
        if not np.isfinite(got).all():
            return ("it gives NaN when an eigenvalue is exactly 0: p log p → 0 as p → 0, so leave the zero "
                    "eigenvalues out of the sum (or use torch.xlogy(p, p))")
        return None

    def sign_and_weights(fn):
        got = _np(fn(e))
        if not np.isfinite(got).all():
            return ("it gives NaN on a spectrum with negative eigenvalues: the weights are p_i ∝ |λ_i| "
                    "(the curvature mass), so take the absolute value before normalising")
        pos = np.clip(_np(e), 0, None)
        if close(got, math.exp(_entropy(pos / pos.sum()))):
            return "it drops the negative eigenvalues: the weights are p_i ∝ |λ_i|, negative curvature counts too"
        sq = a**2
        if close(got, math.exp(_entropy(sq / sq.sum()))):
            return "the weights are p_i ∝ λ_i²; the effective rank weighs by |λ_i|: p_i = |λ_i| / Σ_j |λ_j|"
        if close(got, a.sum() ** 2 / (a**2).sum()):
            return ("that is the participation ratio (Σ|λ|)² / Σλ², another statistic of the family; the effective "
                    "rank is exp of the entropy of p_i = |λ_i| / Σ|λ_j|")
        return None

    def exp_and_base(fn):
        got = _np(fn(e))
        if close(got, S):
            return f"it returns the entropy S = {S:.4g}; the effective rank is exp(S) = {want:.4g}"
        if close(got, S / math.log(2)) or close(got, math.exp(S / math.log(2))):
            return "the entropy is in bits (log2): use the natural log with exp, or 2 ** S₂ — they agree"
        return None

    return [shape, zeros, sign_and_weights, exp_and_base]


def check_effective_rank(fn: Callable) -> Callable:
    """Check a student's ``effective_rank(eigs)`` (a 1-D tensor of eigenvalues → a number) against
    :func:`effective_rank_reference`; returns the function to use next (the reference while ``fn``
    is the stub).

    Introduced in notebooks/05_hessian_dynamics.
    """
    return guided_checks("effective_rank", fn, effective_rank_reference, _ERANK_CASES, _erank_hints())


# --------------------------------------------------------------------------------------------
# kappa_k
# --------------------------------------------------------------------------------------------


def kappa_k_reference(eigs, k: int) -> float:
    """κ_k = λ_1 / λ_k over the eigenvalues ``eigs`` in descending order, NaN when λ_k ≤ 0:
    :func:`loopvalley.hessian.spectra.kappa_k` (``eps = 0``).

    Introduced in notebooks/05_hessian_dynamics.
    """
    return _sx.kappa_k(_sx.spectrum_of(eigs), int(k))


_KAPPA_CASES = [
    ((_spectrum(40, 2), 3), "40 eigenvalues, k = 3"),
    ((_eigs([0.1, 4.0, 2.0, 1.0, -0.3]), 2), "unsorted input, k = 2"),
    ((_eigs([1.0, 1.0, 1.0]), 3), "equal walls: κ_3 = 1"),
    ((_spectrum(60, 3), 5), "60 eigenvalues, k = 5 (only the outliers are walls)"),
]


def _kappa_hints():
    e = _eigs([0.2, 8.0, -9.0, 4.0, 1.0, 0.01, 2.0, -0.5])  # descending positives: 8, 4, 2, 1, 0.2, 0.01
    k = 3
    want = kappa_k_reference(e, k)  # 8 / 2 = 4

    def shape(fn):
        msg = shape_hint(fn(e, k), np.float64(want), "κ_k")
        return msg and msg + " — return one number"

    def order(fn):
        got = _np(fn(e, k))
        if close(got, 8.0 / 1.0):
            return "it uses λ_{k+1} (here λ_4 = 1): with 0-based indexing λ_k is sorted[k − 1]"
        asc = np.sort(_np(e))
        if close(got, asc[0] / asc[k - 1]) or close(got, asc[0] / asc[k]):  # ascending: sorted[0] / sorted[k−1]
            return ("the eigenvalues are in ascending order: κ_k = λ_1 / λ_k with λ_1 the *largest* "
                    "(sort descending, e.g. torch.sort(eigs, descending=True))")
        if close(got, 9.0 / 4.0) or close(got, -9.0 / 4.0):
            return ("it ranks the eigenvalues by |λ|: the negative eigenvalue −9 is not a valley wall; order by λ "
                    "itself, largest first")
        if close(got, 8.0 / 0.01):
            return ("that is the old κ = λ_max / (smallest positive eigenvalue), which the near-zero bulk (or ε) decides; "
                    "κ_k stops at the k-th largest eigenvalue")
        return None

    def too_few(fn):
        few = _eigs([3.0, 1.0, -0.5, -2.0])
        got = _np(fn(few, 3))
        if np.isfinite(got).all():
            return (f"with only 2 positive eigenvalues and k = 3 it returned {float(got):.4g}: λ_3 ≤ 0 is not a valley "
                    "wall, so κ_3 is undefined — return float('nan')")
        return None

    return [shape, order, too_few]


def check_kappa_k(fn: Callable) -> Callable:
    """Check a student's ``kappa_k(eigs, k)`` (a 1-D tensor of eigenvalues and k → a number, NaN
    when λ_k ≤ 0) against :func:`kappa_k_reference`; returns the function to use next (the
    reference while ``fn`` is the stub).

    Introduced in notebooks/05_hessian_dynamics.
    """
    return guided_checks("kappa_k", fn, kappa_k_reference, _KAPPA_CASES, _kappa_hints())
