"""Chapter 02's exercise checkers: check_kappa_valley and check_cumulative_force_bound accept the
reference and the stub, and name the mistake of plausible wrong implementations."""

import re

import numpy as np
import pytest
import torch

from loopvalley.checking import ExerciseError
from loopvalley.valley.exercises_ch02 import (
    check_cumulative_force_bound,
    check_kappa_valley,
    cumulative_force_bound_reference,
    kappa_valley_reference,
)


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
    assert "not written yet" in capsys.readouterr().out


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
    assert "not written yet" in capsys.readouterr().out


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


def _notebook_solutions(stem):
    """The code of every collapsed solution in notebooks/<stem>.py (what a student would paste)."""
    import re
    from pathlib import Path

    src = (Path(__file__).resolve().parents[1] / "notebooks" / f"{stem}.py").read_text()
    return [re.sub(r"^# ?", "", b, flags=re.M) for b in re.findall(r"<summary>Solution</summary>\n#\n# ```python\n(.*?)# ```", src, re.S)]


def test_the_notebooks_solutions_pass_their_checkers():
    import torch as _torch

    from loopvalley.valley import exercises_ch02 as exercises

    sols = _notebook_solutions("02_u_vs_v_valleys")
    assert len(sols) == 2, "one collapsed solution per exercise"
    for code, (name, checker) in zip(sols, [('kappa_valley', 'check_kappa_valley'), ('cumulative_force_bound', 'check_cumulative_force_bound')]):
        ns = {"torch": _torch}
        exec(code, ns)
        assert getattr(exercises, checker)(ns[name]) is ns[name]
