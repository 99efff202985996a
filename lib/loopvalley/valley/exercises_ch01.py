"""Chapter 01's exercise: the gradient of the 2-D river valley, written by hand.

The student writes ``river_valley_grad(theta, h, lam, a, omega)`` for

    L(x, y) = −h·x + (λ/2)(y − f(x))²,   f(x) = a·sin(ωx),

and :func:`check_river_valley_grad` compares it with
:meth:`loopvalley.valley.landscapes.RiverValley2D.grad`: first a few targeted probes (the floor, where the
gradient is (−h, 0); the chain rule through f; the factor ω), then every case.

:func:`guided_checks` is the pattern every chapter's checker follows (chapters 02 and 03 reuse it):
a stub falls back to the reference with a visible notice, targeted hints run first so that the
message names the mistake, then :func:`loopvalley.checking.run_checks` compares all cases.

Introduced in notebooks/01_river_valley.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import torch

from loopvalley.checking import _np, close, diagnose, guided_checks, shape_hint
from loopvalley.valley.landscapes import DTYPE, RiverValley2D

# --------------------------------------------------------------------------------------------
# river_valley_grad
# --------------------------------------------------------------------------------------------


def river_valley_grad_reference(theta, h: float = 0.05, lam: float = 1.0, a: float = 1.0, omega: float = 0.5):
    """∇L(x, y) = (−h − λ e f'(x), λ e), e = y − a sin(ωx), for ``theta`` (R, 2): the library's
    :meth:`RiverValley2D.grad`.

    Introduced in notebooks/01_river_valley.
    """
    return RiverValley2D(slope=h, hill=lam, amplitude=a, frequency=omega).grad(theta)


def _points(n: int, seed: int, a: float, omega: float, on_floor: bool = False) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(n, generator=g, dtype=DTYPE) * 12 - 3  # x ∈ [−3, 9): bends of both signs
    y = a * torch.sin(omega * x)
    if not on_floor:
        y = y + torch.randn(n, generator=g, dtype=DTYPE)  # off the floor: e ≠ 0
    return torch.stack([x, y], dim=-1)  # (n, 2)


_GRAD_CASES = [
    ((_points(5, 0, 1.0, 0.5), 0.05, 1.0, 1.0, 0.5), "5 points, the notebook's defaults"),
    ((_points(1, 1, 1.0, 0.5), 0.05, 1.0, 1.0, 0.5), "a batch of one point"),
    ((_points(6, 2, 2.0, 1.5), 0.3, 4.0, 2.0, 1.5), "a steeper, faster meandering valley"),
    ((_points(4, 3, 0.0, 0.5), 0.05, 1.0, 0.0, 0.5), "a straight river (a = 0)"),
    ((_points(4, 4, 1.0, 0.5), 0.0, 1.0, 1.0, 0.5), "a flat river (h = 0)"),
    ((_points(4, 5, 1.0, 0.5, on_floor=True), 0.05, 2.0, 1.0, 0.5), "points on the river floor"),
]


def _grad_hints():

    h, lam, a, w = 0.05, 2.0, 1.0, 0.5
    floor = _points(6, 11, a, w, on_floor=True)
    off = _points(6, 12, a, w)
    want_off = river_valley_grad_reference(off, h, lam, a, w)
    x, y = off[:, 0], off[:, 1]
    e = y - a * torch.sin(w * x)  # height above the floor
    df = a * w * torch.cos(w * x)  # f'(x)

    def shape(fn):
        return shape_hint(fn(off, h, lam, a, w), want_off, "the gradient")

    def on_the_floor(fn):
        got = _np(fn(floor, h, lam, a, w))
        if close(got[:, 0], np.full(len(floor), h)):
            return ("the river term has the wrong sign: on the river floor (y = f(x)) ∂L/∂x should be −h "
                    "(the loss −h·x falls as x grows), yours is +h")
        if not close(got[:, 0], np.full(len(floor), -h)):
            return "on the river floor (y = f(x)) the gradient should be (−h, 0): only the river term is left"
        return None

    def d_dy(fn):
        got = _np(fn(off, h, lam, a, w))[:, 1]
        if close(got, _np(lam * y)):
            return "∂L/∂y should be λ·(y − f(x)); yours is λ·y: the floor f(x) = a·sin(ωx) is missing"
        msg = diagnose(got, want_off[:, 1], "∂L/∂y = λ·(y − f(x))")
        return msg

    def d_dx(fn):
        got = _np(fn(off, h, lam, a, w))[:, 0]
        if close(got, np.full(len(off), -h)):
            return ("∂L/∂x is missing the hillside term −λ·(y − f(x))·f'(x): the valley part depends on x through "
                    "f(x) (chain rule)")
        if close(got, _np(-h + lam * e * df)):
            return "the hillside term of ∂L/∂x has the wrong sign: ∂/∂x (λ/2)(y − f(x))² = −λ·(y − f(x))·f'(x)"
        if close(got, _np(-h - lam * e * df / w)):
            return "f'(x) should be a·ω·cos(ωx): the factor ω from the chain rule is missing"
        return diagnose(got, want_off[:, 0], "∂L/∂x = −h − λ·(y − f(x))·f'(x)")

    return [shape, d_dy, on_the_floor, d_dx]


def check_river_valley_grad(fn: Callable) -> Callable:
    """Check a student's ``river_valley_grad(theta, h, lam, a, omega)`` (``theta`` (R, 2) → (R, 2))
    against :meth:`RiverValley2D.grad`; returns the function to use next (the reference while
    ``fn`` is the stub).

    Introduced in notebooks/01_river_valley.
    """
    return guided_checks("river_valley_grad", fn, river_valley_grad_reference, _GRAD_CASES, _grad_hints())
