"""Chapter 05's exercises: Lanczos by hand, the residual bound of its Ritz values, and two statistics
of a Hessian spectrum.

0. ``lanczos(matvec, q0, m)``: the mechanism — m steps of Lanczos with full re-orthogonalisation from
   a start vector, returning the tridiagonal entries α_1..α_m and β_1..β_m (the last one, β_m = ‖w_m‖,
   bounds the Ritz values' errors); checked by :func:`check_lanczos` against
   :func:`loopvalley.hessian.operator.lanczos`'s basis builder and, through the Ritz values, against a dense
   ``eigh``. The usual mistakes: an unnormalised start, α read after the orthogonalisation, β read
   before it, the last β dropped, no re-orthogonalisation (the basis loses orthogonality and the Ritz
   values get ghost copies).

0'. ``ritz_residuals(alphas, betas)``: a derivation's result — the residual ‖H y_i − θ_i y_i‖ of every
   Ritz pair from T_m alone, |β_m s_{m,i}| (s_i the eigenvector of T_m), in the order of the Ritz values,
   largest first; checked by :func:`check_ritz_residuals`.

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
from loopvalley.hessian.operator import lanczos_recurrence


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


# --------------------------------------------------------------------------------------------
# lanczos (the mechanism)
# --------------------------------------------------------------------------------------------


def lanczos_reference(matvec, q0, m: int):
    """m Lanczos steps with full re-orthogonalisation from ``q0``: ``(alphas (m,), betas (m,))`` as float64
    tensors, α_j = q_jᵀ H q_j on the diagonal of T_m, β_j = ‖w_j‖ off it (β_m is the residual norm).
    The basis builder of :func:`loopvalley.hessian.operator.lanczos`.

    Introduced in notebooks/05_hessian_dynamics.
    """
    K = lanczos_recurrence(matvec, torch.as_tensor(q0, dtype=torch.float64), int(m))
    return torch.tensor(K.T.diagonal()[: K.steps].copy()), torch.tensor(K.betas, dtype=torch.float64)


def _sym(n: int, seed: int, kind: str = "spread") -> torch.Tensor:
    """A symmetric (n, n) matrix with a known spectrum in a random basis."""
    g = torch.Generator().manual_seed(seed)
    q, r = torch.linalg.qr(torch.randn(n, n, generator=g, dtype=torch.float64))
    q = q * torch.sign(torch.diagonal(r))
    if kind == "outliers":  # three outliers over a bulk: plain Lanczos loses orthogonality quickly
        lam = torch.cat([torch.tensor([10.0, 8.0, 6.0], dtype=torch.float64), torch.linspace(0, 1, n - 3, dtype=torch.float64)])
    elif kind == "signed":
        lam = torch.linspace(-2.0, 3.0, n, dtype=torch.float64)
    else:
        lam = torch.logspace(0, -2, n, dtype=torch.float64)
    A = q @ torch.diag(lam) @ q.T
    return 0.5 * (A + A.T)


class _MatVec:
    """``v ↦ A v`` with a readable name in messages."""

    def __init__(self, A: torch.Tensor):
        self.A = A

    def __call__(self, v):
        return self.A @ v

    def __repr__(self):
        return f"<matvec of a {self.A.shape[0]}×{self.A.shape[0]} matrix>"


def _start(n: int, seed: int, scale: float = 1.0) -> torch.Tensor:
    return scale * torch.randn(n, generator=torch.Generator().manual_seed(100 + seed), dtype=torch.float64)


_LANCZOS_CASES = [
    ((_MatVec(_sym(12, 0)), _start(12, 0), 6), "n = 12, m = 6, log-spaced eigenvalues"),
    ((_MatVec(_sym(30, 1, "signed")), _start(30, 1), 10), "eigenvalues of both signs, m = 10"),
    ((_MatVec(_sym(8, 2)), _start(8, 2), 1), "a single step"),
    ((_MatVec(_sym(20, 3)), _start(20, 3, scale=5.0), 5), "a start vector of norm ≠ 1"),
    ((_MatVec(_sym(60, 4, "outliers")), _start(60, 4), 40), "three outliers over a bulk, m = 40 (orthogonality matters)"),
]


def _pack(out):
    """(alphas, betas) → (2, m) for the comparison (None when the two lengths differ)."""
    a, b = (torch.as_tensor(np.asarray(_np(v)), dtype=torch.float64).reshape(-1) for v in out)
    return torch.stack([a, b]) if a.shape == b.shape else None


def _plain_lanczos(matvec, q0, m):
    """The three-term recurrence without re-orthogonalisation (exact in exact arithmetic only)."""
    q, q_prev, beta = q0 / q0.norm(), torch.zeros_like(q0), 0.0
    alphas, betas = [], []
    for _ in range(m):
        w = matvec(q) - beta * q_prev
        alpha = float(q @ w)
        w = w - alpha * q
        beta = float(w.norm())
        alphas.append(alpha)
        betas.append(beta)
        q_prev, q = q, w / beta
    return torch.tensor(alphas), torch.tensor(betas)


def _lanczos_hints():
    A = _sym(16, 7)
    mv, q0, m = _MatVec(A), _start(16, 7), 6
    ref_a, ref_b = lanczos_reference(mv, q0, m)

    def structure(fn):
        out = fn(mv, q0, m)
        if not isinstance(out, (tuple, list)) or len(out) != 2:
            return "return a pair (alphas, betas): the diagonal α_1..α_m and the norms β_1..β_m"
        a, b = (np.asarray(_np(v)).reshape(-1) for v in out)
        if a.shape != (m,):
            return f"alphas has {a.size} entries, expected m = {m}: one α per Lanczos step"
        if b.shape == (m - 1,):
            return (f"betas has {m - 1} entries, expected m = {m}: keep the last one too, β_m = ‖w_m‖ — it is "
                    "what bounds the Ritz values' errors (the next derivation)")
        if b.shape != (m,):
            return f"betas has {b.size} entries, expected m = {m}"
        return None

    def normalise(fn):
        a1, a3 = (np.asarray(_np(fn(mv, c * q0, m)[0])).reshape(-1)[0] for c in (1.0, 3.0))
        if not close(a1, a3) and close(a3, 9.0 * a1):
            return ("the start vector is not normalised (α_1 grows 9× when q0 is scaled by 3): the first basis "
                    "vector is q_1 = q0 / ‖q0‖")
        return None

    def order_of_operations(fn):
        a, b = (_np(v) for v in fn(mv, q0, m))
        if np.allclose(a, 0.0, atol=1e-9) and not np.allclose(_np(ref_a), 0.0):
            return ("every α is 0: α_j = q_jᵀ H q_j must be read *before* w is orthogonalised (afterwards w ⟂ q_j)")
        q = q0 / q0.norm()
        if close(b[0], float(mv(q).norm())):
            return ("β_1 is ‖H q_1‖: β_j is the norm of w *after* the components along q_1..q_j are removed")
        return None

    def orthogonality(fn):
        mv2, q2, m2 = _LANCZOS_CASES[-1][0]
        got = _pack(fn(mv2, q2, m2))
        want = torch.stack(lanczos_reference(mv2, q2, m2))
        if got is None or got.shape != want.shape or close(got, want, rtol=1e-6, atol=1e-8):
            return None
        if close(got[:, :8], want[:, :8], rtol=1e-6, atol=1e-8):
            T = np.diag(_np(got[0])) + np.diag(_np(got[1, :-1]), 1) + np.diag(_np(got[1, :-1]), -1)
            top = np.sort(np.linalg.eigvalsh(T))[::-1][:4]
            return ("the first steps are right but later ones drift: the basis has lost orthogonality (rounding "
                    f"errors grow once a Ritz value converges; your largest Ritz values {np.round(top, 3).tolist()} "
                    "repeat the top eigenvalue 10 — 'ghosts'). Re-orthogonalise w against *every* basis vector so "
                    "far, not only the last two (twice is enough)")
        return None

    return [structure, normalise, order_of_operations, orthogonality]


def check_lanczos(fn: Callable) -> Callable:
    """Check a student's ``lanczos(matvec, q0, m)`` (a function ``v ↦ Hv``, a start ``(n,)``, a number of
    steps → ``(alphas (m,), betas (m,))``) against :func:`lanczos_reference`; returns the function to
    use next (the reference while ``fn`` is the stub).

    Introduced in notebooks/05_hessian_dynamics.
    """
    def packed(matvec, q0, m):
        return _pack(fn(matvec, q0, m))

    def packed_ref(matvec, q0, m):
        return torch.stack(lanczos_reference(matvec, q0, m))

    out = guided_checks("lanczos", packed, packed_ref, _LANCZOS_CASES, _wrap_hints(_lanczos_hints(), fn))
    return fn if out is packed else lanczos_reference


def _wrap_hints(hints, fn):
    """Hints that call the student's raw ``fn`` (``guided_checks`` hands them its wrapped version)."""
    return [(lambda _wrapped, h=h: h(fn)) for h in hints]


# --------------------------------------------------------------------------------------------
# ritz_residuals (Derivation: the residual of a Ritz pair from T_m alone)
# --------------------------------------------------------------------------------------------


def ritz_residuals_reference(alphas, betas) -> torch.Tensor:
    """|β_m s_{m,i}| for every Ritz value θ_i of T_m, largest θ first: ``(m,)``. ``alphas`` (m,) is the
    diagonal of T_m, ``betas`` (m,) the off-diagonal β_1..β_{m−1} followed by β_m = ‖w_m‖.

    Introduced in notebooks/05_hessian_dynamics.
    """
    a = np.asarray(_np(alphas), dtype=np.float64)
    b = np.asarray(_np(betas), dtype=np.float64)
    T = np.diag(a) + np.diag(b[:-1], 1) + np.diag(b[:-1], -1)  # T_m: (m, m)
    theta, S = np.linalg.eigh(T)  # ascending Ritz values, eigenvectors s_i in the columns
    order = np.argsort(-theta, kind="stable")
    return torch.from_numpy(np.abs(b[-1] * S[-1, order]))  # |β_m s_{m,i}|, largest θ first


_RESID_CASES = [
    (lanczos_reference(_MatVec(_sym(20, 10)), _start(20, 10), 6), "n = 20, m = 6"),
    (lanczos_reference(_MatVec(_sym(30, 11, "signed")), _start(30, 11), 12), "eigenvalues of both signs, m = 12"),
    (lanczos_reference(_MatVec(_sym(60, 12, "outliers")), _start(60, 12), 15), "outliers, m = 15 (the top ones converged)"),
    (lanczos_reference(_MatVec(_sym(10, 13)), _start(10, 13), 1), "one step: T_1 = (α_1)"),
]


def _resid_hints():
    a, b = lanczos_reference(_MatVec(_sym(25, 14)), _start(25, 14), 7)
    want = _np(ritz_residuals_reference(a, b))
    T = np.diag(_np(a)) + np.diag(_np(b)[:-1], 1) + np.diag(_np(b)[:-1], -1)
    theta, S = np.linalg.eigh(T)
    order = np.argsort(-theta)

    def shape(fn):
        return shape_hint(fn(a, b), want, "the residuals")

    def formula(fn):
        got = _np(fn(a, b))
        if close(got, np.abs(_np(b)[-1] * S[0, order])):
            return ("it uses the *first* component of each eigenvector of T_m; the residual lives in the direction "
                    "q_(m+1) that T_m leaves out, so it is β_m times the *last* component, s_(m,i)")
        if close(got, np.abs(_np(b)[-1] * S[-1, order[::-1]])) and not close(want, want[::-1]):
            return "the order is ascending: list the residuals in the order of the Ritz values, largest first"
        if close(got, np.abs(S[-1, order])):
            return "the factor |β_m| is missing: H Q_m = Q_m T_m + β_m q_(m+1) e_mᵀ"
        if close(got, np.abs(_np(b)[-2] * S[-1, order])) and len(_np(b)) > 1:
            return "it uses β_(m−1), an entry of T_m; the residual's factor is β_m = ‖w_m‖, the last β"
        if close(got, _np(b)[-1] * S[-1, order]) or close(np.abs(got), want) and (got < 0).any():
            return "a residual is a norm: take the absolute value"
        if close(got, np.abs(_np(b)[-1] * S[order, -1])):
            return "it reads a row of S as an eigenvector; the eigenvectors s_i of T_m are the *columns* of S"
        return None

    return [shape, formula]


def check_ritz_residuals(fn: Callable) -> Callable:
    """Check a student's ``ritz_residuals(alphas, betas)`` (``(m,)``, ``(m,)`` → ``(m,)``, largest Ritz
    value first) against :func:`ritz_residuals_reference`; returns the function to use next.

    Introduced in notebooks/05_hessian_dynamics.
    """
    return guided_checks("ritz_residuals", fn, ritz_residuals_reference, _RESID_CASES, _resid_hints())
