"""Chapter 01's exercise checker: check_river_valley_grad accepts the reference and the stub, and
names the mistake of plausible wrong gradients."""

import re

import pytest
import torch

from loopvalley.checking import ExerciseError
from loopvalley.valley.exercises_ch01 import check_river_valley_grad, river_valley_grad_reference


def correct(theta, h, lam, a, omega):
    x, y = theta[:, 0], theta[:, 1]
    e = y - a * torch.sin(omega * x)
    return torch.stack([-h - lam * e * a * omega * torch.cos(omega * x), lam * e], dim=-1)


def test_reference_is_the_autograd_gradient():
    theta = torch.randn(7, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(0)).requires_grad_()
    h, lam, a, w = 0.1, 3.0, 1.5, 0.7
    x, y = theta[:, 0], theta[:, 1]
    loss = (-h * x + 0.5 * lam * (y - a * torch.sin(w * x)) ** 2).sum()
    (g,) = torch.autograd.grad(loss, theta)
    torch.testing.assert_close(river_valley_grad_reference(theta.detach(), h, lam, a, w), g)


def test_accepts_a_correct_gradient(capsys):
    assert check_river_valley_grad(correct) is correct
    assert "✓ river_valley_grad passes" in capsys.readouterr().out


def test_accepts_the_reference():
    assert check_river_valley_grad(river_valley_grad_reference) is river_valley_grad_reference


def test_stub_falls_back_with_a_notice(capsys):
    def stub(theta, h, lam, a, omega):
        raise NotImplementedError

    assert check_river_valley_grad(stub) is river_valley_grad_reference
    assert "not implemented yet" in capsys.readouterr().out


def _wrong(fx=None, fy=None, stack_dim=-1):
    def fn(theta, h, lam, a, omega):
        x, y = theta[:, 0], theta[:, 1]
        e = y - a * torch.sin(omega * x)
        df = a * omega * torch.cos(omega * x)
        gx = fx(h, lam, e, df, omega) if fx else -h - lam * e * df
        gy = fy(lam, e, y) if fy else lam * e
        return torch.stack([gx, gy], dim=stack_dim)
    return fn


@pytest.mark.parametrize("fn, message", [
    (_wrong(fx=lambda h, lam, e, df, w: h - lam * e * df), "the river term has the wrong sign"),  # river term +h
    (_wrong(fx=lambda h, lam, e, df, w: -h + 0 * e), "missing the hillside term"),  # no chain rule
    (_wrong(fx=lambda h, lam, e, df, w: -h + lam * e * df), "hillside term of ∂L/∂x has the wrong sign"),
    (_wrong(fx=lambda h, lam, e, df, w: -h - lam * e * df / w), "the factor ω"),
    (_wrong(fy=lambda lam, e, y: lam * y), "the floor f(x) = a·sin(ωx) is missing"),
    (_wrong(fy=lambda lam, e, y: 2 * lam * e), "off by a constant factor of 2"),
    (_wrong(stack_dim=0), "looks transposed"),
])
def test_rejects_plausible_mistakes_with_the_reason(fn, message):
    with pytest.raises(ExerciseError, match=re.escape(message)):
        check_river_valley_grad(fn)


def test_a_crash_is_reported_in_one_line():
    def crash(theta, h, lam, a, omega):
        return theta[:, 2]

    with pytest.raises(ExerciseError, match="raised IndexError"):
        check_river_valley_grad(crash)
