"""Chapter 05's exercise checkers: check_effective_rank and check_kappa_k accept the reference, an
independent implementation and the stub, and name the mistake of plausible wrong ones."""

import math
import re

import pytest
import torch

from loopvalley.checking import ExerciseError
from loopvalley.hessian import spectra as sx
from loopvalley.hessian.exercises_ch05 import (
    check_effective_rank,
    check_kappa_k,
    effective_rank_reference,
    kappa_k_reference,
)


def _stub(*args):
    raise NotImplementedError


# -- effective rank ----------------------------------------------------------------------------------

def brute_effective_rank(eigs):
    a = [abs(float(x)) for x in eigs]
    tot = sum(a)
    return math.exp(-sum(x / tot * math.log(x / tot) for x in a if x > 0))


def test_effective_rank_reference_against_closed_forms():
    assert effective_rank_reference(torch.ones(7, dtype=torch.float64)) == pytest.approx(7)  # all equal → n
    assert effective_rank_reference(torch.tensor([3.0, 0.0, 0.0], dtype=torch.float64)) == pytest.approx(1)  # one carries all
    assert effective_rank_reference(torch.tensor([1.0, -1.0], dtype=torch.float64)) == pytest.approx(2)  # |λ| weights
    e = torch.randn(30, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    assert effective_rank_reference(e) == pytest.approx(brute_effective_rank(e), rel=1e-12)


def test_effective_rank_accepts_correct_implementations(capsys):
    assert check_effective_rank(brute_effective_rank) is brute_effective_rank
    assert "✓ effective_rank passes" in capsys.readouterr().out

    def with_xlogy(eigs):
        p = eigs.abs() / eigs.abs().sum()
        return float(torch.exp(-torch.xlogy(p, p).sum()))

    assert check_effective_rank(with_xlogy) is with_xlogy


def test_effective_rank_stub_falls_back_to_the_reference(capsys):
    assert check_effective_rank(_stub) is effective_rank_reference
    assert "not written yet" in capsys.readouterr().out


def _erank(weights="abs", exp=True, log=torch.log, drop_zeros=True):
    def fn(eigs):
        a = {"abs": eigs.abs(), "signed": eigs, "square": eigs**2, "positive": eigs.clamp(min=0)}[weights]
        p = a / a.sum()
        if drop_zeros:
            p = p[p != 0]
        S = -(p * log(p)).sum()
        return float(torch.exp(S)) if exp else float(S)
    return fn


@pytest.mark.parametrize("wrong, message", [
    (_erank(exp=False), "returns the entropy S"),
    (_erank(weights="signed"), "NaN on a spectrum with negative eigenvalues"),
    (_erank(weights="positive"), "drops the negative eigenvalues"),
    (_erank(weights="square"), "p_i ∝ λ_i²"),
    (_erank(log=torch.log2), "in bits"),
    (_erank(drop_zeros=False), "exactly 0"),
    (lambda e: float(e.abs().sum() ** 2 / (e**2).sum()), "participation ratio"),
    (lambda e: torch.ones(2), "one number"),
])
def test_effective_rank_names_the_mistake(wrong, message):
    with pytest.raises(ExerciseError, match=re.escape(message)):
        check_effective_rank(wrong)


# -- κ_k -----------------------------------------------------------------------------------------------

def brute_kappa_k(eigs, k):
    e = sorted((float(x) for x in eigs), reverse=True)
    return e[0] / e[k - 1] if len(e) >= k and e[k - 1] > 0 else float("nan")


def test_kappa_k_reference_against_closed_forms():
    assert kappa_k_reference(torch.tensor([1.0, 8.0, 2.0, 4.0], dtype=torch.float64), 3) == pytest.approx(4.0)  # 8 / 2
    assert math.isnan(kappa_k_reference(torch.tensor([2.0, -1.0, -3.0], dtype=torch.float64), 2))  # λ_2 < 0
    # ε-free: the bulk under the k-th wall does not move κ_k (section 5's point)
    walls = torch.tensor([10.0, 6.0, 3.0], dtype=torch.float64)
    for bulk in (1e-6, 1e-4, 1e-2):
        e = torch.cat([walls, torch.full((50,), bulk, dtype=torch.float64)])
        assert kappa_k_reference(e, 3) == pytest.approx(10 / 3)
    assert kappa_k_reference(walls, 3) == sx.kappa_k(sx.spectrum_of(walls), 3)


def test_kappa_k_accepts_correct_implementations(capsys):
    assert check_kappa_k(brute_kappa_k) is brute_kappa_k
    assert "✓ kappa_k passes" in capsys.readouterr().out


def test_kappa_k_stub_falls_back_to_the_reference(capsys):
    assert check_kappa_k(_stub) is kappa_k_reference
    assert "not written yet" in capsys.readouterr().out


def _kappa(order="desc", index=lambda k: k - 1, nan=True):
    def fn(eigs, k):
        if order == "desc":
            e = torch.sort(eigs, descending=True).values
        elif order == "asc":
            e = torch.sort(eigs).values
        else:
            e = eigs[torch.argsort(eigs.abs(), descending=True)]
        lk = e[index(k)]
        if nan and lk <= 0:
            return float("nan")
        return float(e[0] / lk)
    return fn


@pytest.mark.parametrize("wrong, message", [
    (_kappa(order="asc"), "ascending order"),
    (_kappa(index=lambda k: k), "λ_{k+1}"),
    (_kappa(order="abs"), "ranks the eigenvalues by |λ|"),
    (lambda e, k: float(e.max() / e[e > 0].min()), "the old κ"),
    (_kappa(nan=False), "return float('nan')"),
    (lambda e, k: torch.tensor([1.0, 2.0]), "one number"),
])
def test_kappa_k_names_the_mistake(wrong, message):
    with pytest.raises(ExerciseError, match=re.escape(message)):
        check_kappa_k(wrong)


def test_a_student_bug_is_reported_in_one_line():
    def broken(eigs, k):
        return eigs.sortt()  # a typo

    with pytest.raises(ExerciseError, match="raised AttributeError"):
        check_kappa_k(broken)
