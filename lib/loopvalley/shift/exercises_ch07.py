"""Chapter 07's exercises: the gradient coherence of one SCP window, the SCP switch controller over a
loss history, and SHIFT's compute when a Single step is worth only part of a Looped step.

``gradient_coherence(grads)``: for the k gradients of a window, stacked as ``(k, n)``,

    ρ = ‖Σ_j ∇L_j‖ / Σ_j ‖∇L_j‖ ∈ [0, 1]     (0 when every gradient is 0),

1 when every step pushes the same way (drifting down a river), ≈ 1/√k for independent noise, less
when successive steps cancel (hopping between valley walls). :func:`check_gradient_coherence`
compares it with :func:`gradient_coherence_reference` — the equation
:class:`loopvalley.shift.controller.ShiftController` evaluates at every check — and names the usual mistakes:
the ratio upside down, a mean in one place and a sum in the other, squared norms, sums over the
parameters instead of over the steps, NaN for an all-zero window.

``scp_switch(loss, coherence, delta1, delta2, patience)`` (the mechanism): replay the SHIFT Criterion
with Patience over a recorded history, one entry per check, and return the index of the check at
which it fires (``None`` if it never does); checked by :func:`check_scp_switch` against
:func:`loopvalley.shift.controller.criterion_trace`. The usual mistakes: check 0 counted as stalled,
a counter that is not reset, ``or`` for ``and``, firing one check late, an absolute instead of a
relative improvement, the improvement's sign, ``False`` instead of ``None``.

``shift_flop_fraction(s, T_L, S, c, phi)`` (a derivation's result): the fraction of Looped's S-step
budget SHIFT spends to reach what Looped reaches after T_L steps, when it switches at step s, a
Single step costs c of a Looped step and does the work of phi of one; checked by
:func:`check_shift_flop_fraction` against a step-by-step count and, at phi = 1, against
:func:`loopvalley.shift.controller.flop_ratio_bound`.

Introduced in notebooks/07_shift.
"""

from __future__ import annotations

import math
from typing import Callable

import numpy as np
import torch

from loopvalley.checking import _np, close, guided_checks, shape_hint
from loopvalley.shift.controller import criterion_trace, flop_ratio_bound


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



# --------------------------------------------------------------------------------------------
# scp_switch (the mechanism: the controller over a loss history)
# --------------------------------------------------------------------------------------------


def scp_switch_reference(loss, coherence, delta1: float, delta2: float, patience: int):
    """The index of the check at which SCP fires on the history (``loss``, ``coherence``: one entry per
    check), or ``None``: :func:`loopvalley.shift.controller.criterion_trace`'s ``fire``.

    Introduced in notebooks/07_shift.
    """
    return criterion_trace({"loss": list(loss), "coherence": list(coherence)}, delta1, delta2, patience)["fire"]


def _code(v):
    """An answer as a number for the comparison: the index, −1 for None (anything else as it is)."""
    if v is None:
        return -1.0
    if isinstance(v, (bool, np.bool_)):
        return {False: -2.0, True: -3.0}[bool(v)]  # never an index
    return v


_FLAT = [1.0, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9]  # improves once, then flat
_NOISY = [1.0, 0.8, 0.79, 0.7, 0.699, 0.698, 0.6, 0.599, 0.598, 0.597, 0.596]


_SCP_CASES = [
    ((_FLAT, [0.1] * 8, 0.01, 0.2, 3), "a plateau from check 1 on, W = 3"),
    ((_NOISY, [0.1] * 11, 0.01, 0.2, 3), "two stalls interrupted by drops in the loss"),
    ((_FLAT, [0.9] * 8, 0.01, 0.2, 3), "a plateau, but the gradients still agree (ρ = 0.9): no switch"),
    ((_FLAT, [0.1] * 8, 0.01, math.inf, 1), "δ2 = ∞ (no coherence test), W = 1"),
    (([1.0, 0.5, 0.25, 0.125], [0.1] * 4, 0.01, 0.2, 2), "the loss halves at every check: no switch"),
    (([2.0] * 12, [0.05] * 12, 0.001, 0.2, 5), "flat from the start, W = 5"),
    (([100.0, 99.5, 99.0, 98.5, 98.0, 97.5], [0.1] * 6, 0.01, 0.2, 3), "a large loss falling by 0.5 % per check"),
]


def _scp_variant(L, rho, d1, d2, W, *, first=False, reset=True, both=True, late=False, relative=True, sign=1):
    """SCP with one thing changed (a plausible mistake): the firing index or None."""
    count, fire = 0, None
    for t in range(len(L)):
        if t == 0:
            stalled = first and rho[0] < d2
        else:
            r = sign * (L[t - 1] - L[t]) / (L[t - 1] if relative else 1.0)
            stalled = (r < d1 and rho[t] < d2) if both else (r < d1 or rho[t] < d2)
        count = count + 1 if stalled else (0 if reset else count)
        if fire is None and (count > W if late else count >= W):
            fire = t
    return fire


def _scp_hints():
    flat, rho_lo = [1.0] * 10, [0.1] * 10  # flat from the start

    def answer(fn, *args):
        return _code(fn(*args))

    def variant(*args, **kw):
        return _code(_scp_variant(*args, **kw))

    halving = ([1.0, 0.5, 0.25, 0.125, 0.0625], [0.1] * 5, 0.01, 0.2, 2)  # r_t = 0.5 at every check: never stalled

    def none(fn):
        got = fn(*halving)
        if isinstance(got, (bool, np.bool_)) or (got is not None and np.ndim(got) == 0 and float(_np(got)) < 0):
            return f"it returned {got!r} when SCP never fires (the loss keeps halving): return None then"
        return None

    def first_check(fn):
        if answer(fn, flat, rho_lo, 0.01, 0.2, 3) == variant(flat, rho_lo, 0.01, 0.2, 3, first=True):
            return ("it fired one check early: check 0 has no previous loss, so it is never stalled — the first "
                    "possible stalled check is check 1")
        return None

    def counter(fn):
        L = [1.0, 0.95, 0.95, 0.8, 0.8, 0.7, 0.7, 0.7, 0.7, 0.7]  # stalled, drop, stalled, drop, then a plateau
        rho = [0.1] * 10
        if answer(fn, L, rho, 0.01, 0.2, 3) == variant(L, rho, 0.01, 0.2, 3, reset=False):
            return ("the patience counter is not reset: W *consecutive* stalled checks are needed, so a check that is "
                    "not stalled sets the counter back to 0")
        return None

    def conjunction(fn):
        rho_hi = [0.9] * 10  # the loss is flat but the gradients agree: not stalled
        if answer(fn, flat, rho_hi, 0.01, 0.2, 3) == variant(flat, rho_hi, 0.01, 0.2, 3, both=False):
            return ("it switched while the gradients still agree (ρ = 0.9 > δ2): a check is stalled only when the loss "
                    "has stopped improving *and* the gradients cancel (both conditions)")
        return None

    def timing(fn):
        if answer(fn, flat, rho_lo, 0.01, 0.2, 3) == variant(flat, rho_lo, 0.01, 0.2, 3, late=True):
            return "it fires one check late: switch at the W-th consecutive stalled check (counter ≥ W), not after it"
        return None

    def improvement(fn):
        L = [100.0, 99.5, 99.0, 98.5, 98.0, 97.5, 97.0]  # falls by 0.5 per check: 0.5 % relative
        rho = [0.1] * 7
        if answer(fn, L, rho, 0.01, 0.2, 3) == variant(L, rho, 0.01, 0.2, 3, relative=False):
            return ("it uses the absolute improvement L_(t−1) − L_t; r_t is *relative* (divide by L_(t−1)), so the "
                    "thresholds do not depend on the loss's scale")
        if answer(fn, *halving) == variant(*halving, sign=-1):
            return "the improvement has the wrong sign: r_t = (L_(t−1) − L_t)/L_(t−1) is positive while the loss falls"
        if answer(fn, *halving) != -1.0:
            return ("it fired on a history whose loss halves at every check (r_t = 0.5, far above δ1): a check is "
                    "stalled only when the relative improvement r_t is *below* δ1")
        return None

    return [none, first_check, counter, conjunction, timing, improvement]


def check_scp_switch(fn: Callable) -> Callable:
    """Check a student's ``scp_switch(loss, coherence, delta1, delta2, patience)`` (two lists, one entry
    per check, the thresholds and W → the index of the firing check, or None) against
    :func:`loopvalley.shift.controller.criterion_trace`; returns the function to use next.

    Introduced in notebooks/07_shift.
    """
    def coded(*args):
        return _code(fn(*args))

    def coded_ref(*args):
        return _code(scp_switch_reference(*args))

    out = guided_checks("scp_switch", coded, coded_ref, _SCP_CASES, [(lambda _c, h=h: h(fn)) for h in _scp_hints()])
    return fn if out is coded else scp_switch_reference


# --------------------------------------------------------------------------------------------
# shift_flop_fraction (Derivation: what SHIFT spends when a Single step is worth phi Looped steps)
# --------------------------------------------------------------------------------------------


def shift_flop_fraction_reference(s: float, T_L: float, S: float, c: float, phi: float) -> float:
    """(s·c + T_L − φ·s)/S = (T_L − s(φ − c))/S: SHIFT's FLOPs to reach Looped's T_L-step result, as a
    fraction of Looped's S-step budget, when it switches at step s (φ·s ≤ T_L), a Single step costs
    c = F₁/F₃ of a Looped step and does the work of φ of one. At φ = 1 it is
    :func:`loopvalley.shift.controller.flop_ratio_bound`.

    Introduced in notebooks/07_shift.
    """
    return (s * c + (T_L - phi * s)) / S  # s Single steps at c each, then T_L − φs Looped steps, per S


def _counted(s, T_L, S, c, phi):
    """The same by counting step by step: Single steps (cost c, work φ), then Looped steps until the work is T_L."""
    cost, work = 0.0, 0.0
    for _ in range(int(s)):
        cost, work = cost + c, work + phi
    while work < T_L - 1e-9:
        cost, work = cost + 1.0, work + 1.0
    return cost / S


_FRAC_CASES = [
    ((150, 600, 600, 0.34, 1.0), "φ = 1: the best case of §1"),
    ((150, 600, 600, 0.34, 0.5), "a Single step does half a Looped step's work"),
    ((150, 600, 600, 0.34, 0.34), "φ = c: no saving"),
    ((300, 500, 600, 0.34, 0.0), "Single steps useless (φ = 0)"),
    ((0, 600, 600, 0.34, 0.7), "no Single phase (s = 0)"),
    ((100, 400, 1000, 0.2, 0.8), "another budget"),
]


def _frac_hints():
    s, T_L, S, c, phi = 200, 500, 800, 0.3, 0.6
    want = shift_flop_fraction_reference(s, T_L, S, c, phi)

    def shape(fn):
        return shape_hint(fn(s, T_L, S, c, phi), float(want), "the fraction")

    def formula(fn):
        got = float(_np(fn(s, T_L, S, c, phi)))
        if close(got, flop_ratio_bound(s, T_L, S, c)):
            return ("it ignores φ (it is the φ = 1 best case): after s Single steps, worth φ·s Looped steps, Looped "
                    "still has T_L − φ·s steps to go")
        if close(got, want * S):
            return "it is a count of Looped-step FLOPs; the question asks for a fraction of Looped's budget S·F₃: divide by S"
        if close(got, (s + T_L - phi * s) / S):
            return "it charges a Single step as a Looped one: a Single step costs only c = F₁/F₃ of a Looped step"
        return None

    def check_counted(fn):
        got = float(_np(fn(s, T_L, S, c, phi)))
        if not close(got, _counted(s, T_L, S, c, phi)):
            return (f"counting step by step gives {_counted(s, T_L, S, c, phi):.4g}, yours {got:.4g}: add s Single steps "
                    "at c each and the Looped steps still needed, then divide by S")
        return None

    return [shape, formula, check_counted]


def check_shift_flop_fraction(fn: Callable) -> Callable:
    """Check a student's ``shift_flop_fraction(s, T_L, S, c, phi)`` (numbers → a number) against a
    step-by-step count and :func:`loopvalley.shift.controller.flop_ratio_bound` (φ = 1); returns the
    function to use next.

    Introduced in notebooks/07_shift.
    """
    return guided_checks("shift_flop_fraction", fn, shift_flop_fraction_reference, _FRAC_CASES, _frac_hints())
