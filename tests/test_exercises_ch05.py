"""Chapter 05's exercise checkers (Lanczos, the Ritz residuals, the effective rank, κ_k) accept the reference, an
independent implementation and the stub, and name the mistake of plausible wrong ones."""

import math
import re

import numpy as np
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
    assert "not implemented yet" in capsys.readouterr().out


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
    assert "not implemented yet" in capsys.readouterr().out


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


# -- lanczos (the mechanism) ------------------------------------------------------------------------
from loopvalley.hessian.exercises_ch05 import (  # noqa: E402
    _MatVec,
    _plain_lanczos,
    _start,
    _sym,
    check_lanczos,
    check_ritz_residuals,
    lanczos_reference,
    ritz_residuals_reference,
)


def lanczos_by_hand(matvec, q0, m):
    """Independent implementation: modified Gram–Schmidt against the whole basis, twice."""
    Q = [q0 / q0.norm()]
    alphas, betas = [], []
    for _ in range(m):
        w = matvec(Q[-1])
        alphas.append(float(Q[-1] @ w))
        for _ in range(2):
            for q in Q:
                w = w - (q @ w) * q
        betas.append(float(w.norm()))
        Q.append(w / betas[-1])
    return torch.tensor(alphas), torch.tensor(betas)


def test_lanczos_reference_tridiagonalises_and_its_ritz_values_are_the_eigenvalues():
    """Independent truth: Q_mᵀ A Q_m = T_m, and at m = n the Ritz values are eigh's eigenvalues."""
    A = _sym(14, 5, "signed")
    a, b = lanczos_reference(_MatVec(A), _start(14, 5), 14)
    T = np.diag(a.numpy()) + np.diag(b[:-1].numpy(), 1) + np.diag(b[:-1].numpy(), -1)
    np.testing.assert_allclose(np.linalg.eigvalsh(T), torch.linalg.eigvalsh(A).numpy(), atol=1e-10)
    a8, b8 = lanczos_reference(_MatVec(A), _start(14, 5), 8)
    torch.testing.assert_close(a8, a[:8])  # the first 8 steps do not depend on how many follow
    torch.testing.assert_close(b8[:7], b[:7])


@pytest.mark.parametrize("fn", [lanczos_by_hand, lanczos_reference])
def test_lanczos_accepts_correct_implementations(fn):
    assert check_lanczos(fn) is fn


def test_lanczos_stub_falls_back(capsys):
    assert check_lanczos(_stub) is lanczos_reference
    assert "not implemented yet" in capsys.readouterr().out


def _unnormalised(matvec, q0, m):
    return lanczos_by_hand(matvec, q0, m)[0] * float(q0 @ q0), lanczos_by_hand(matvec, q0, m)[1]


def _alpha_after(matvec, q0, m):
    Q, alphas, betas = [q0 / q0.norm()], [], []
    for _ in range(m):
        w = matvec(Q[-1])
        for q in Q:
            w = w - (q @ w) * q
        alphas.append(float(Q[-1] @ w))  # read after the orthogonalisation: 0
        betas.append(float(w.norm()))
        Q.append(w / betas[-1])
    return torch.tensor(alphas), torch.tensor(betas)


def _beta_before(matvec, q0, m):
    a, _ = lanczos_by_hand(matvec, q0, m)
    Q, betas = [q0 / q0.norm()], []
    for _ in range(m):
        w = matvec(Q[-1])
        betas.append(float(w.norm()))  # ‖H q_j‖: before orthogonalising
        for q in Q:
            w = w - (q @ w) * q
        Q.append(w / w.norm())
    return a, torch.tensor(betas)


@pytest.mark.parametrize("fn, message", [
    (_plain_lanczos, "the basis has lost orthogonality"),
    (_unnormalised, "the start vector is not normalised"),
    (_alpha_after, "every α is 0"),
    (_beta_before, "β_1 is ‖H q_1‖"),
    (lambda mv, q0, m: (lanczos_by_hand(mv, q0, m)[0], lanczos_by_hand(mv, q0, m)[1][:-1]), "keep the last one too"),
    (lambda mv, q0, m: torch.stack(lanczos_by_hand(mv, q0, m)), "return a pair (alphas, betas)"),
])
def test_lanczos_rejects_plausible_mistakes(fn, message):
    with pytest.raises(ExerciseError, match=re.escape(message)):
        check_lanczos(fn)


# -- ritz_residuals (the derivation's result) -------------------------------------------------------
def residuals_by_hand(alphas, betas):
    a, b = alphas.numpy(), betas.numpy()
    T = np.diag(a) + np.diag(b[:-1], 1) + np.diag(b[:-1], -1)
    theta, S = np.linalg.eigh(T)
    return np.abs(b[-1] * S[-1, np.argsort(-theta)])


def test_residuals_reference_is_the_explicit_residual():
    """Independent truth: ‖A y_i − θ_i y_i‖ with the Ritz vectors y_i = Q_m s_i built from the basis."""
    from loopvalley.hessian.operator import lanczos_recurrence

    A = _sym(40, 6, "outliers")
    K = lanczos_recurrence(_MatVec(A), _start(40, 6), 12)
    alphas, betas, Q = list(K.T.diagonal()[: K.steps]), list(K.betas), K.basis[: K.steps]
    a, b = torch.tensor(alphas), torch.tensor(betas)
    T = np.diag(alphas) + np.diag(betas[:-1], 1) + np.diag(betas[:-1], -1)
    theta, S = np.linalg.eigh(T)
    order = np.argsort(-theta)
    Y = torch.from_numpy(S[:, order]).T @ Q  # Ritz vectors, largest θ first: (m, n)
    explicit = (Y @ A - torch.from_numpy(theta[order])[:, None] * Y).norm(dim=1)  # A symmetric: (A y)ᵀ = yᵀA
    np.testing.assert_allclose(ritz_residuals_reference(a, b).numpy(), explicit.numpy(), rtol=1e-6, atol=1e-10)


@pytest.mark.parametrize("fn", [residuals_by_hand, ritz_residuals_reference])
def test_residuals_accept_correct_implementations(fn):
    assert check_ritz_residuals(fn) is fn


def test_residuals_stub_falls_back(capsys):
    assert check_ritz_residuals(_stub) is ritz_residuals_reference
    assert "not implemented yet" in capsys.readouterr().out


def _resid_variant(row=-1, beta=-1, ascending=False, absolute=True, column=False):
    def fn(alphas, betas):
        a, b = alphas.numpy(), betas.numpy()
        T = np.diag(a) + np.diag(b[:-1], 1) + np.diag(b[:-1], -1)
        theta, S = np.linalg.eigh(T)
        order = np.argsort(theta if ascending else -theta)
        comp = S[order, row] if column else S[row, order]
        r = b[beta] * comp if beta is not None else comp
        return np.abs(r) if absolute else r
    return fn


@pytest.mark.parametrize("fn, message", [
    (_resid_variant(row=0), "it uses the *first* component"),
    (_resid_variant(ascending=True), "the order is ascending"),
    (_resid_variant(beta=None), "the factor |β_m| is missing"),
    (_resid_variant(beta=-2), "it uses β_(m−1)"),
    (_resid_variant(absolute=False), "a residual is a norm"),
])
def test_residuals_reject_plausible_mistakes(fn, message):
    with pytest.raises(ExerciseError, match=re.escape(message)):
        check_ritz_residuals(fn)


@pytest.mark.parametrize("check, reference", [(check_effective_rank, effective_rank_reference),
                                              (check_kappa_k, kappa_k_reference)])
def test_the_checkers_accept_their_reference(check, reference):
    assert check(reference) is reference
