"""Chapter 02's exercises: κ(H_V), the cumulative-force recursion C_0..C_K, Theorem 1's bound 𝒞 and the limit C_∞.

- ``kappa_valley(H_V)``: κ = λ_max/λ_min of a symmetric positive-definite valley block (m, m), which
  is diagonal only in its eigenbasis; checked by :func:`check_kappa_valley` against
  :func:`loopvalley.valley.landscapes.kappa_valley`.
- ``cumulative_force_bound(lam, b, v0)``: 𝒞 = Σ_i 2|b_i||v⁰_i|/λ_i (valley eigenvalues λ_i, coupling
  b_i = H_RV u_i, start v⁰_i = u_iᵀθ_V⁰), for one draw (m,) or a batch (R, m); checked by
  :func:`check_cumulative_force_bound` against :func:`loopvalley.valley.landscapes.cumulative_force_bound`.
- ``cumulative_force_steps(lam, b, v0, eta, K)``: the mechanism — run the unforced valley recursion
  and add up its pushes on the river, C_0 … C_K (K + 1,); checked by
  :func:`check_cumulative_force_steps` against :func:`loopvalley.valley.landscapes.cumulative_force`.
- ``force_limit(H_V, h_rv, theta_v0)``: a derivation's result — C_∞ = H_RV H_V⁻¹ θ_V⁰ in the parameter
  basis (H_V a full matrix); checked by :func:`check_force_limit` against
  :func:`loopvalley.valley.landscapes.cumulative_force_limit` in the eigenbasis.

Introduced in notebooks/02_u_vs_v_valleys.
"""

from __future__ import annotations

from typing import Callable

import torch

from loopvalley.checking import _np, close, diagnose, guided_checks, shape_hint
from loopvalley.valley.landscapes import (
    DTYPE,
    cumulative_force,
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


# --------------------------------------------------------------------------------------------
# cumulative_force_steps (the mechanism: the unforced valley recursion, one push per step)
# --------------------------------------------------------------------------------------------


def cumulative_force_steps_reference(lam, b, v0, eta, K: int) -> torch.Tensor:
    """C_0, C_1, …, C_K of one draw, shape (K + 1,): the library's closed form
    :func:`loopvalley.valley.landscapes.cumulative_force` at K = 0..K (C_0 = 0).

    Introduced in notebooks/02_u_vs_v_valleys.
    """
    return cumulative_force(lam, b, v0, eta, torch.arange(int(K) + 1))


def _steps_case(m: int, seed: int, kappa: float = 100.0, eta: float = 1.5, K: int = 40):
    lam, b, v0 = _draw(None, m, seed, kappa)
    return lam, b, v0, eta, K


_STEPS_CASES = [
    (_steps_case(10, 0), "a V-valley, m = 10, κ = 100, η = 1.5, K = 40"),
    (_steps_case(3, 1, kappa=1.0, eta=0.5), "a U-valley (κ = 1), η = 0.5"),
    (_steps_case(1, 2, eta=1.9, K=15), "one valley direction, η = 1.9 (it hops)"),
    (_steps_case(4, 3, K=0), "K = 0: only C_0"),
    (_steps_case(6, 4, eta=0.1, K=200), "a small step, η = 0.1, K = 200"),
]


def _recursion(lam, b, v0, eta, K, factor=None, push_after=False):
    """C_0..C_K of the recursion with a given valley factor (default 1 − ηλ), pushing with v^k (or v^{k+1})."""
    q = 1 - eta * lam if factor is None else factor
    v, out = v0.clone(), [torch.zeros((), dtype=DTYPE)]
    for _ in range(K):
        if push_after:
            v = q * v
        out.append(out[-1] + eta * (b @ v))
        if not push_after:
            v = q * v
    return torch.stack(out)


def _steps_hints():
    lam, b, v0, eta, K = _steps_case(5, 9, kappa=50.0, eta=1.2, K=12)
    want = cumulative_force_steps_reference(lam, b, v0, eta, K)

    def shape(fn):
        got = fn(lam, b, v0, eta, K)
        g = _np(got)
        if g.shape == (K,):
            return (f"it returned {K} values; return K + 1 = {K + 1}: C_0 = 0 (no step taken yet) comes first, "
                    "then C_1 … C_K")
        if g.shape in ((K + 1, len(lam)), (K, len(lam))):
            return ("it returned one column per valley direction: the river feels the sum of the directions' pushes, "
                    "one number per step (a dot product with b)")
        return shape_hint(got, want, "C_0..C_K")

    def mechanism(fn):
        got = _np(fn(lam, b, v0, eta, K))
        if close(got, _np(_recursion(lam, b, v0, eta, K, push_after=True))):
            return ("every push comes one step late: step k pushes the river with the valley position *before* that "
                    "step, so C_1 is η·bᵀv⁰ (push, then move the valley)")
        if close(got, _np(_recursion(lam, b, v0, eta, K, factor=torch.ones_like(lam)))):
            return ("the valley never moves: after each push every valley coordinate v_i is multiplied by its own "
                    "factor, which depends on η and λ_i (gradient descent on ½λ_i v_i²)")
        if close(got, _np(_recursion(lam, b, v0, eta, K, factor=1 - lam))):
            return "the valley factor ignores the step size: one gradient step on ½λ_i v_i² changes v_i by −η·λ_i·v_i"
        if close(got, _np(_recursion(lam, b, v0, eta, K, factor=1 + eta * lam))):
            return "the valley coordinates grow: a gradient step goes *down* the wall, v_i ← v_i − η·λ_i·v_i"
        if close(got, _np(want) / eta):
            return "the factor η is missing from each push: the river moves by η times the force bᵀv^k per step"
        return None

    return [shape, mechanism]


def check_cumulative_force_steps(fn: Callable) -> Callable:
    """Check a student's ``cumulative_force_steps(lam, b, v0, eta, K)`` (``(m,)`` each, numbers η, K →
    ``(K + 1,)``) against :func:`loopvalley.valley.landscapes.cumulative_force`; returns the function
    to use next.

    Introduced in notebooks/02_u_vs_v_valleys.
    """
    return guided_checks("cumulative_force_steps", fn, cumulative_force_steps_reference, _STEPS_CASES, _steps_hints())


# --------------------------------------------------------------------------------------------
# force_limit (Derivation: C_∞ in the parameter basis)
# --------------------------------------------------------------------------------------------


def force_limit_reference(H_V, h_rv, theta_v0) -> torch.Tensor:
    """C_∞ = H_RV H_V⁻¹ θ_V⁰ for a full (rotated) valley block ``H_V`` (m, m), the coupling row
    ``h_rv`` (m,) and the start ``theta_v0`` (m,): a 0-d tensor. In the eigenbasis it is the library's
    :func:`loopvalley.valley.landscapes.cumulative_force_limit`.

    Introduced in notebooks/02_u_vs_v_valleys.
    """
    H = torch.as_tensor(H_V, dtype=DTYPE)
    lam, U = torch.linalg.eigh(H)  # H_V = U diag(λ) Uᵀ
    b = U.T @ torch.as_tensor(h_rv, dtype=DTYPE)  # b_i = H_RV u_i
    v0 = U.T @ torch.as_tensor(theta_v0, dtype=DTYPE)  # v⁰_i = u_iᵀθ_V⁰
    return cumulative_force_limit(lam, b, v0)


def _limit_case(lam, seed: int | None, draw_seed: int):
    lam = torch.as_tensor(lam, dtype=DTYPE)
    g = torch.Generator().manual_seed(draw_seed)
    h = 0.01 * torch.randn(len(lam), generator=g, dtype=DTYPE)
    th = torch.randn(len(lam), generator=g, dtype=DTYPE)
    return _spd(lam, seed), h, th


_LIMIT_CASES = [
    (_limit_case(v_valley_eigenvalues(4, 1.0, 100.0), 0, 0), "a rotated V-valley, m = 4"),
    (_limit_case(v_valley_eigenvalues(3, 1.0, 10.0), None, 1), "a diagonal V-valley (its own eigenbasis)"),
    (_limit_case(torch.full((3,), 2.0), 1, 2), "a U-valley 2·I in a rotated basis"),
    (_limit_case([0.3], None, 3), "one valley direction"),
    (_limit_case(torch.linspace(0.05, 1.0, 10, dtype=DTYPE), 2, 4), "m = 10, rotated"),
]


def _limit_hints():
    H, h, th = _limit_case(v_valley_eigenvalues(5, 1.0, 50.0), 7, 8)
    want = force_limit_reference(H, h, th)

    def shape(fn):
        got = fn(H, h, th)
        msg = shape_hint(got, want, "C_∞")
        if msg and _np(got).shape == (len(h),):
            return (f"{msg}: C_∞ is how far the river coordinate is pushed in total — one number (H_RV is a row, "
                    "so the result is a dot product)")
        return msg

    def formula(fn):
        got = _np(fn(H, h, th))
        if close(got, _np(h @ H @ th)):
            return ("it multiplies by H_V: the flat valley directions (small λ_i) drain slowly and push the river for "
                    "longest, so H_V enters inverted")
        if close(got, _np((h * th / torch.diagonal(H)).sum())):
            return ("it divides by the diagonal of H_V: that is its inverse only in the eigenbasis; in the parameter "
                    "basis H_V is a full matrix — solve the linear system (torch.linalg.solve)")
        if close(got, 2 * _np(want)):
            return ("it is twice the limit: as K → ∞ every factor (1 − ηλ_i)^K → 0 (for 0 < ηλ_i < 2), so each "
                    "1 − (1 − ηλ_i)^K → 1; the 2 belongs to the bound 𝒞, which holds at every K")
        if close(got, _np(cumulative_force_bound(torch.linalg.eigvalsh(H), *(torch.linalg.eigh(H)[1].T @ x for x in (h, th)))) / 2):
            return "it adds absolute values: the limit keeps the signs of the pushes (the bound 𝒞 adds |·|, the limit does not)"
        return None

    return [shape, formula]


def check_force_limit(fn: Callable) -> Callable:
    """Check a student's ``force_limit(H_V, h_rv, theta_v0)`` (``(m, m)``, ``(m,)``, ``(m,)`` → one
    number) against :func:`loopvalley.valley.landscapes.cumulative_force_limit` in the eigenbasis;
    returns the function to use next.

    Introduced in notebooks/02_u_vs_v_valleys.
    """
    return guided_checks("force_limit", fn, force_limit_reference, _LIMIT_CASES, _limit_hints())
