"""Chapter 02's exercise checkers (κ(H_V), the cumulative-force recursion, Theorem 1's bound, the limit C_∞)
accept the reference, an independent implementation and the stub, and name the mistake of plausible
wrong implementations (one test per mistake)."""

import re

import numpy as np
import pytest
import torch

from loopvalley.checking import ExerciseError
from loopvalley.valley.exercises_ch02 import (
    check_cumulative_force_bound,
    check_cumulative_force_steps,
    check_force_limit,
    check_kappa_valley,
    cumulative_force_bound_reference,
    cumulative_force_steps_reference,
    force_limit_reference,
    kappa_valley_reference,
)
from loopvalley.valley.landscapes import RiverValleyQuadratic, cumulative_force_limit
from loopvalley.valley.simulate import measured_cumulative_force, simulate


def stub(*args):
    raise NotImplementedError


# -- kappa_valley -------------------------------------------------------------------------------
def kappa_correct(H):
    lam = torch.linalg.eigvalsh(H)
    return lam.max() / lam.min()


def test_kappa_reference_matches_numpy():
    g = torch.Generator().manual_seed(0)
    A = torch.randn(6, 6, generator=g, dtype=torch.float64)
    H = A @ A.T + 0.1 * torch.eye(6, dtype=torch.float64)
    s = np.linalg.svd(H.numpy(), compute_uv=False)  # SPD: singular values = eigenvalues
    assert float(kappa_valley_reference(H)) == pytest.approx(s.max() / s.min(), rel=1e-10)


@pytest.mark.parametrize("fn", [kappa_correct, kappa_valley_reference, lambda H: float(np.linalg.cond(H.numpy()))])
def test_kappa_accepts_correct_implementations(fn):
    assert check_kappa_valley(fn) is fn


def test_kappa_stub_falls_back(capsys):
    assert check_kappa_valley(stub) is kappa_valley_reference
    assert "not implemented yet" in capsys.readouterr().out


@pytest.mark.parametrize("fn, message", [
    (lambda H: torch.linalg.eigvalsh(H).min() / torch.linalg.eigvalsh(H).max(), "κ = λ_max / λ_min ≥ 1"),
    (lambda H: torch.diagonal(H).max() / torch.diagonal(H).min(), "reads κ off the diagonal"),
    (lambda H: torch.linalg.eigvalsh(H), "it returns the m eigenvalues"),
    (lambda H: torch.linalg.eigvalsh(H).max(), "it returns one eigenvalue"),
    (lambda H: torch.linalg.eigvalsh(H).max() / torch.linalg.eigvalsh(H).min() ** 2, "κ is off by a constant factor"),
])
def test_kappa_rejects_plausible_mistakes(fn, message):
    with pytest.raises(ExerciseError, match=re.escape(message)):
        check_kappa_valley(fn)


# -- cumulative_force_bound ---------------------------------------------------------------------
def bound_correct(lam, b, v0):
    return (2 * b.abs() * v0.abs() / lam).sum(-1)


def test_bound_reference_bounds_the_force_over_every_K():
    """Independent truth: iterate the unforced recursion and check max_K |C_K| ≤ 𝒞, and that it is
    nearly reached when one term dominates with ηλ ≈ 2."""
    lam = torch.tensor([1.0, 0.3, 0.01], dtype=torch.float64)
    b = torch.tensor([0.02, -0.01, 0.005], dtype=torch.float64)
    v0 = torch.tensor([1.0, 2.0, -1.0], dtype=torch.float64)
    for eta in (0.5, 1.0, 1.99):
        v, C, worst = v0.clone(), 0.0, 0.0
        for _ in range(3000):
            C += eta * float(b @ v)  # C_K = η Σ_k bᵀ v_k
            v = (1 - eta * lam) * v  # v_{k+1} = (1 − ηλ) v_k
            worst = max(worst, abs(C))
        assert worst <= float(cumulative_force_bound_reference(lam, b, v0)) + 1e-12
    # one direction, λ = 1, η = 1.99: C_1 = η b v⁰ is already 99.5 % of 𝒞 = 2|b||v⁰|/λ (the bound is tight)
    C1 = 1.99 * float(b[0] * v0[0])
    assert abs(C1) / float(cumulative_force_bound_reference(lam[:1], b[:1], v0[:1])) == pytest.approx(0.995, rel=1e-12)


@pytest.mark.parametrize("fn", [bound_correct, cumulative_force_bound_reference])
def test_bound_accepts_correct_implementations(fn):
    assert check_cumulative_force_bound(fn) is fn


def test_bound_stub_falls_back(capsys):
    assert check_cumulative_force_bound(stub) is cumulative_force_bound_reference
    assert "not implemented yet" in capsys.readouterr().out


@pytest.mark.parametrize("fn, message", [
    (lambda lam, b, v0: (b.abs() * v0.abs() / lam).sum(-1), "it is half of 𝒞"),
    (lambda lam, b, v0: (2 * b * v0 / lam).sum(-1), "the terms cancel"),
    (lambda lam, b, v0: (2 * b.abs() * v0.abs() * lam).sum(-1), "you multiplied by λ_i"),
    (lambda lam, b, v0: (2 * b.abs() * v0.abs()).sum(-1), "the 1/λ_i of every term is missing"),
    (lambda lam, b, v0: (2 * b.abs() * v0.abs() / lam).sum(), "sum over the last axis"),
    (lambda lam, b, v0: 2 * b.abs() * v0.abs() / lam, "𝒞 is one number per draw"),
])
def test_bound_rejects_plausible_mistakes(fn, message):
    with pytest.raises(ExerciseError, match=re.escape(message)):
        check_cumulative_force_bound(fn)


# -- cumulative_force_steps (the mechanism) ------------------------------------------------------
def steps_correct(lam, b, v0, eta, K):
    v, C = v0.clone(), [torch.zeros((), dtype=torch.float64)]
    for _ in range(K):
        C.append(C[-1] + eta * (b @ v))  # push with v^k ...
        v = (1 - eta * lam) * v  # ... then one gradient step of the valley
    return torch.stack(C)


def test_steps_reference_is_the_simulated_force():
    """Independent truth: the force read off a simulated unforced trajectory, C_K = ηKh − (r_K − r_0)."""
    lam = torch.tensor([1.0, 0.1, 0.01], dtype=torch.float64)
    b = torch.tensor([0.01, -0.02, 0.005], dtype=torch.float64)
    land = RiverValleyQuadratic(lam, b, forced=False)
    theta0 = torch.tensor([[0.0, 1.0, -2.0, 0.5]], dtype=torch.float64)
    traj = simulate(land, theta0, lr=1.5, steps=30)
    torch.testing.assert_close(cumulative_force_steps_reference(lam, b, theta0[0, 1:], 1.5, 30),
                               measured_cumulative_force(traj, land)[:, 0])


@pytest.mark.parametrize("fn", [steps_correct, cumulative_force_steps_reference])
def test_steps_accepts_correct_implementations(fn):
    assert check_cumulative_force_steps(fn) is fn


def test_steps_stub_falls_back(capsys):
    assert check_cumulative_force_steps(stub) is cumulative_force_steps_reference
    assert "not implemented yet" in capsys.readouterr().out


def _steps_late(lam, b, v0, eta, K):
    v, C = v0.clone(), [torch.zeros((), dtype=torch.float64)]
    for _ in range(K):
        v = (1 - eta * lam) * v
        C.append(C[-1] + eta * (b @ v))
    return torch.stack(C)


@pytest.mark.parametrize("fn, message", [
    (_steps_late, "every push comes one step late"),
    (lambda lam, b, v0, eta, K: steps_correct(lam, b, v0, eta, K)[1:], "C_0 = 0 (no step taken yet) comes first"),
    (lambda lam, b, v0, eta, K: torch.arange(K + 1) * eta * (b @ v0), "the valley never moves"),
    (lambda lam, b, v0, eta, K: steps_correct(lam, b, v0, eta, K) / eta, "the factor η is missing"),
    (lambda lam, b, v0, eta, K: torch.stack([torch.zeros_like(b)] + [eta * b * ((1 - eta * lam) ** k * v0) for k in range(K)]).cumsum(0),
     "one column per valley direction"),
])
def test_steps_rejects_plausible_mistakes(fn, message):
    with pytest.raises(ExerciseError, match=re.escape(message)):
        check_cumulative_force_steps(fn)


def test_steps_names_a_factor_without_eta():
    def no_eta(lam, b, v0, eta, K):
        v, C = v0.clone(), [torch.zeros((), dtype=torch.float64)]
        for _ in range(K):
            C.append(C[-1] + eta * (b @ v))
            v = (1 - lam) * v
        return torch.stack(C)

    with pytest.raises(ExerciseError, match="ignores the step size"):
        check_cumulative_force_steps(no_eta)


# -- force_limit (the derivation's result) -------------------------------------------------------
def limit_correct(H, h, th):
    return h @ torch.linalg.solve(H, th)  # C_∞ = H_RV H_V⁻¹ θ_V⁰


def test_limit_reference_is_the_force_after_many_steps():
    """Independent truth: C_K of the eigenbasis closed form at a K where every direction has drained."""
    from loopvalley.valley.exercises_ch02 import _spd

    H = _spd(torch.tensor([1.0, 0.3, 0.05], dtype=torch.float64), seed=3)
    h = torch.tensor([0.01, -0.02, 0.03], dtype=torch.float64)
    th = torch.tensor([1.0, -1.0, 2.0], dtype=torch.float64)
    lam, U = torch.linalg.eigh(H)
    C = cumulative_force_steps_reference(lam, U.T @ h, U.T @ th, 1.0, 2000)[-1]
    torch.testing.assert_close(force_limit_reference(H, h, th), C)
    torch.testing.assert_close(force_limit_reference(H, h, th), limit_correct(H, h, th))
    torch.testing.assert_close(force_limit_reference(H, h, th), cumulative_force_limit(lam, U.T @ h, U.T @ th))


@pytest.mark.parametrize("fn", [limit_correct, force_limit_reference])
def test_limit_accepts_correct_implementations(fn):
    assert check_force_limit(fn) is fn


def test_limit_stub_falls_back(capsys):
    assert check_force_limit(stub) is force_limit_reference
    assert "not implemented yet" in capsys.readouterr().out


@pytest.mark.parametrize("fn, message", [
    (lambda H, h, th: h @ H @ th, "it multiplies by H_V"),
    (lambda H, h, th: (h * th / torch.diagonal(H)).sum(), "it divides by the diagonal of H_V"),
    (lambda H, h, th: 2 * limit_correct(H, h, th), "it is twice the limit"),
    (lambda H, h, th: h * torch.linalg.solve(H, th), "C_∞ is how far the river coordinate is pushed in total"),
    (lambda H, h, th: -limit_correct(H, h, th), "wrong sign"),
])
def test_limit_rejects_plausible_mistakes(fn, message):
    with pytest.raises(ExerciseError, match=re.escape(message)):
        check_force_limit(fn)
