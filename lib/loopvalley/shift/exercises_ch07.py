"""Chapter 07's exercise: the gradient coherence of one SCP window.

``gradient_coherence(grads)``: for the k gradients of a window, stacked as ``(k, n)``,

    ρ = ‖Σ_j ∇L_j‖ / Σ_j ‖∇L_j‖ ∈ [0, 1]     (0 when every gradient is 0),

1 when every step pushes the same way (drifting down a river), ≈ 1/√k for independent noise, less
when successive steps cancel (hopping between valley walls). :func:`check_gradient_coherence`
compares it with :func:`gradient_coherence_reference` — the equation
:class:`loopvalley.shift.controller.ShiftController` evaluates at every check — and names the usual mistakes:
the ratio upside down, a mean in one place and a sum in the other, squared norms, sums over the
parameters instead of over the steps, NaN for an all-zero window.

Introduced in notebooks/07_shift.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import torch

from loopvalley.checking import _np, close, guided_checks, shape_hint


def gradient_coherence_reference(grads) -> float:
    """ρ = ‖Σ_j g_j‖ / Σ_j ‖g_j‖ for ``grads`` of shape ``(k, n)`` (one gradient per row); 0 when
    every row is 0. The controller (:class:`loopvalley.shift.controller.ShiftController`) computes the same
    equation from running sums.

    Introduced in notebooks/07_shift.
    """
    g = torch.as_tensor(grads, dtype=torch.float64)
    if g.dim() != 2:
        raise ValueError(f"grads must have shape (k, n), got {tuple(g.shape)}")
    drift = float(g.sum(dim=0).norm())  # ‖Σ_j g_j‖: the window's net step direction
    total = float(g.norm(dim=1).sum())  # Σ_j ‖g_j‖: what the steps would add up to if aligned
    return drift / max(total, 1e-30)  # ρ ∈ [0, 1]


def _grads(k: int, n: int, seed: int, drift: float = 0.0) -> torch.Tensor:
    """k gradients (k, n): a shared direction × ``drift`` plus independent noise."""
    g = torch.Generator().manual_seed(seed)
    d = torch.randn(n, generator=g, dtype=torch.float64)
    return drift * d + torch.randn(k, n, generator=g, dtype=torch.float64)


_CASES = [
    ((_grads(25, 50, 0),), "25 independent noisy gradients (ρ ≈ 1/√25 = 0.2)"),
    ((_grads(10, 30, 1, drift=3.0),), "a strong shared drift (ρ near 1)"),
    ((torch.ones(4, 6, dtype=torch.float64) * torch.tensor([[1.0], [-1.0], [1.0], [-1.0]], dtype=torch.float64),),
     "four steps that cancel exactly (ρ = 0)"),
    ((_grads(1, 8, 2),), "a single gradient (ρ = 1)"),
]


def _hints():
    G = _grads(8, 5, 11, drift=0.5)  # k = 8 ≠ n = 5: summing over the wrong axis shows in the numbers
    k = G.shape[0]
    want = gradient_coherence_reference(G)
    s, norms = G.sum(0), G.norm(dim=1)

    def shape(fn):
        msg = shape_hint(fn(G), np.float64(want), "ρ")
        return msg and msg + " — return one number for the whole window"

    def zero(fn):
        got = _np(fn(torch.zeros(3, 4, dtype=torch.float64)))
        if not np.isfinite(got).all():
            return ("it gives NaN (0 / 0) when every gradient of the window is 0: nothing moves, so return ρ = 0 "
                    "(e.g. divide by max(Σ‖g‖, 1e-30))")
        return None

    def formula(fn):
        got = _np(fn(G))
        if close(got, 1 / want):
            return f"the ratio is upside down (it returned {float(got):.3g} ≥ 1): ρ = ‖Σ g‖ / Σ ‖g‖, which is ≤ 1"
        if close(got, want / k) or close(got, float(G.mean(0).norm() / norms.sum())):
            return (f"it is off by a factor 1/k = 1/{k}: the numerator averages the gradients but the denominator sums "
                    "their norms — use sums (or means) in both")
        if close(got, want * k) or close(got, float(s.norm() / norms.mean())):
            return (f"it is off by a factor k = {k}: the denominator averages the norms but the numerator sums the "
                    "gradients — use sums (or means) in both")
        if close(got, float(s.norm() ** 2 / (norms**2).sum())) or close(got, want**2):
            return "the norms are squared: ρ = ‖Σ_j g_j‖ / Σ_j ‖g_j‖ uses plain (not squared) Euclidean norms"
        if close(got, float(G.sum(1).norm() / G.norm(dim=0).sum())):
            return ("it sums over the parameters (axis 1) instead of over the steps: the rows of grads are the steps, "
                    "so Σ_j g_j is grads.sum(dim=0) and ‖g_j‖ is grads.norm(dim=1)")
        return None

    def sign_invariance(fn):
        lo, hi = _np(fn(_grads(6, 4, 3, drift=100.0))), _np(fn(-_grads(6, 4, 3, drift=100.0)))
        if not close(lo, hi):
            return "flipping the sign of every gradient changed ρ; it should not (a window drifting the other way is as coherent)"
        return None

    return [shape, formula, sign_invariance, zero]


def check_gradient_coherence(fn: Callable) -> Callable:
    """Check a student's ``gradient_coherence(grads)`` (``(k, n)`` → a number in [0, 1]) against
    :func:`gradient_coherence_reference`; returns the function to use next (the reference while
    ``fn`` is the stub).

    Introduced in notebooks/07_shift.
    """
    return guided_checks("gradient_coherence", fn, gradient_coherence_reference, _CASES, _hints())

