"""Chapter 02's exercises: the valley's condition number κ(H_V) and Theorem 1's force bound 𝒞.

- ``kappa_valley(H_V)``: κ = λ_max/λ_min of a symmetric positive-definite valley block (m, m), which
  is diagonal only in its eigenbasis; checked by :func:`check_kappa_valley` against
  :func:`loopvalley.valley.landscapes.kappa_valley`.
- ``cumulative_force_bound(lam, b, v0)``: 𝒞 = Σ_i 2|b_i||v⁰_i|/λ_i (valley eigenvalues λ_i, coupling
  b_i = H_RV u_i, start v⁰_i = u_iᵀθ_V⁰), for one draw (m,) or a batch (R, m); checked by
  :func:`check_cumulative_force_bound` against :func:`loopvalley.valley.landscapes.cumulative_force_bound`.

Introduced in notebooks/02_u_vs_v_valleys.
"""

from __future__ import annotations

from typing import Callable

import torch

from loopvalley.checking import _np, close, diagnose, guided_checks, shape_hint
from loopvalley.valley.landscapes import (
    DTYPE,
    cumulative_force_bound,
    cumulative_force_limit,
    kappa_valley,
    v_valley_eigenvalues,
)


def _rotation(m: int, seed: int) -> torch.Tensor:
    """A random orthogonal matrix Q (m, m) (QR of a Gaussian matrix)."""
    g = torch.Generator().manual_seed(seed)
    q, r = torch.linalg.qr(torch.randn(m, m, generator=g, dtype=DTYPE))
    return q * torch.sign(torch.diagonal(r))  # (m, m)


def _spd(lam, seed: int | None = None) -> torch.Tensor:
    """H = Q diag(λ) Qᵀ (Q = I when ``seed`` is None)."""
    lam = torch.as_tensor(lam, dtype=DTYPE)
    if seed is None:
        return torch.diag(lam)
    q = _rotation(len(lam), seed)
    H = q @ torch.diag(lam) @ q.T  # Q diag(λ) Qᵀ: the valley block in the parameter basis
    return 0.5 * (H + H.T)


# --------------------------------------------------------------------------------------------
# kappa_valley
# --------------------------------------------------------------------------------------------


def kappa_valley_reference(H) -> torch.Tensor:
    """κ(H_V) = λ_max/λ_min of a symmetric positive-definite (m, m) matrix (a 0-d tensor): the
    library's :func:`loopvalley.valley.landscapes.kappa_valley` on its eigenvalues.

    Introduced in notebooks/02_u_vs_v_valleys.
    """
    return kappa_valley(torch.linalg.eigvalsh(torch.as_tensor(H, dtype=DTYPE)))


_KAPPA_CASES = [
    ((_spd(v_valley_eigenvalues(4, 1.0, 100.0), seed=0),), "a rotated V-valley, m = 4, κ = 100"),
    ((_spd(v_valley_eigenvalues(4, 1.0, 100.0)),), "a diagonal V-valley"),
    ((_spd(torch.full((3,), 2.0), seed=1),), "a U-valley 2·I, seen in a rotated basis (κ = 1)"),
    ((_spd([0.5], None),), "one valley direction, m = 1 (κ = 1)"),
    ((_spd(torch.linspace(0.1, 3.0, 10, dtype=DTYPE), seed=2),), "m = 10, rotated"),
]


def _kappa_hints():

    lam = v_valley_eigenvalues(5, 1.0, 50.0)
    H = _spd(lam, seed=7)
    want = kappa_valley_reference(H)
    d = torch.diagonal(H)

    def returns_one_number(fn):
        got = fn(H)
        if close(got, lam) or close(got, torch.sort(lam).values):
            return "it returns the m eigenvalues; κ is one number, λ_max / λ_min"
        return shape_hint(got, want, "κ")

    def inverted(fn):
        got = _np(fn(H))
        if close(got, 1 / _np(want)):
            return "it is λ_min / λ_max (≤ 1); the condition number is κ = λ_max / λ_min ≥ 1"
        if close(got, lam.max()) or close(got, lam.min()):
            return "it returns one eigenvalue; κ is the ratio of the largest to the smallest, λ_max / λ_min"
        return None

    def diagonal(fn):
        got = _np(fn(H))
        if close(got, _np(d.max() / d.min())) and not close(got, want):
            return ("it reads κ off the diagonal of H_V; H_V is diagonal only in its eigenbasis — use its "
                    "eigenvalues (torch.linalg.eigvalsh)")
        return diagnose(got, want, "κ")

    return [returns_one_number, inverted, diagonal]


def check_kappa_valley(fn: Callable) -> Callable:
    """Check a student's ``kappa_valley(H_V)`` ((m, m) → one number) against
    :func:`loopvalley.valley.landscapes.kappa_valley`; returns the function to use next.

    Introduced in notebooks/02_u_vs_v_valleys.
    """
    return guided_checks("kappa_valley", fn, kappa_valley_reference, _KAPPA_CASES, _kappa_hints())


# --------------------------------------------------------------------------------------------
# cumulative_force_bound
# --------------------------------------------------------------------------------------------


def cumulative_force_bound_reference(lam, b, v0) -> torch.Tensor:
    """𝒞 = Σ_i 2|b_i||v⁰_i|/λ_i over the last axis: :func:`loopvalley.valley.landscapes.cumulative_force_bound`.

    Introduced in notebooks/02_u_vs_v_valleys.
    """
    return cumulative_force_bound(lam, b, v0)


def _draw(R: int | None, m: int, seed: int, kappa: float = 100.0):
    g = torch.Generator().manual_seed(seed)
    shape = (m,) if R is None else (R, m)
    lam = v_valley_eigenvalues(m, 1.0, kappa) if m > 1 else torch.ones(1, dtype=DTYPE)
    lam = lam if R is None else lam.expand(R, m).clone()
    b = 0.01 * torch.randn(shape, generator=g, dtype=DTYPE)  # coupling b_i, mixed signs
    v0 = torch.randn(shape, generator=g, dtype=DTYPE)  # start v⁰_i, mixed signs
    return lam, b, v0


_BOUND_CASES = [
    (_draw(None, 10, 0), "one draw, m = 10, κ = 100"),
    (_draw(8, 10, 1), "a batch of 8 draws (R, m) → (R,)"),
    (_draw(None, 1, 2), "one valley direction (m = 1)"),
    (_draw(3, 2, 3, kappa=1.0), "a U-valley (κ = 1)"),
    ((torch.tensor([1.0, 0.01], dtype=DTYPE), torch.tensor([0.01, -0.01], dtype=DTYPE),
      torch.tensor([-2.0, 0.0], dtype=DTYPE)), "a start with v⁰_2 = 0"),
]


def _bound_hints():

    lam, b, v0 = _draw(6, 5, 9)
    want = cumulative_force_bound_reference(lam, b, v0)
    lam1, b1, v01 = _draw(None, 5, 10)

    def batched(fn):
        one = fn(lam1, b1, v01)
        msg = shape_hint(one, cumulative_force_bound_reference(lam1, b1, v01), "𝒞 of one draw (m,)")
        if msg:
            return msg + ": 𝒞 is one number per draw"
        got = fn(lam, b, v0)
        msg = shape_hint(got, want, "𝒞 of a batch (R, m)")
        return msg + ": sum over the last axis (the valley directions), one 𝒞 per draw" if msg else None

    def structure(fn):
        got = _np(fn(lam, b, v0))
        if close(got, _np(want) / 2):
            return ("it is half of 𝒞: Theorem 1 bounds |1 − (1 − ηλ_i)^K| ≤ 2, so every term is "
                    "2·|b_i|·|v⁰_i| / λ_i")
        if close(got, 2 * _np(cumulative_force_limit(lam, b, v0))) or close(got, _np(cumulative_force_limit(lam, b, v0))):
            return ("the terms cancel: 𝒞 adds absolute values, 2·|b_i|·|v⁰_i| / λ_i (without them you get "
                    "C_∞-like sums of signed terms)")
        if close(got, _np((2 * b.abs() * v0.abs() * lam).sum(-1))):
            return "each term carries 1/λ_i (the flat valley directions push the river the most): you multiplied by λ_i"
        if close(got, _np((2 * b.abs() * v0.abs()).sum(-1))):
            return "the 1/λ_i of every term is missing: 𝒞 = Σ_i 2·|b_i|·|v⁰_i| / λ_i"
        return diagnose(got, want, "𝒞")

    return [batched, structure]


def check_cumulative_force_bound(fn: Callable) -> Callable:
    """Check a student's ``cumulative_force_bound(lam, b, v0)`` ((…, m) → (…)) against
    :func:`loopvalley.valley.landscapes.cumulative_force_bound`; returns the function to use next.

    Introduced in notebooks/02_u_vs_v_valleys.
    """
    return guided_checks("cumulative_force_bound", fn, cumulative_force_bound_reference, _BOUND_CASES, _bound_hints())
