"""Closed-form landscapes against independent truth: autograd gradients and Hessians, dense
eigendecompositions, brute-force sums for Theorem 1's cumulative force."""

import math

import pytest
import torch

from loopvalley.valley.landscapes import (
    RiverValley2D,
    RiverValleyQuadratic,
    cumulative_force,
    cumulative_force_bound,
    cumulative_force_limit,
    kappa_valley,
    random_coupling_and_start,
    u_valley_eigenvalues,
    v_valley_eigenvalues,
    valley_family,
)

torch.set_num_threads(1)
D = torch.float64


def _gen(seed=0):
    return torch.Generator().manual_seed(seed)


def _autograd_grad_hess(loss_fn, theta):
    theta = theta.clone().requires_grad_(True)
    (g,) = torch.autograd.grad(loss_fn(theta), theta)
    H = torch.autograd.functional.hessian(loss_fn, theta.detach())
    return g, H


def test_river_valley_2d_grad_and_hessian_match_autograd():
    land = RiverValley2D(slope=0.07, hill=3.0, amplitude=0.8, frequency=1.3)
    pts = torch.randn(6, 2, generator=_gen(1), dtype=D) * 2
    for p in pts:
        g, H = _autograd_grad_hess(land.loss, p)
        torch.testing.assert_close(land.grad(p), g)
        torch.testing.assert_close(land.hessian(p), H)
    # batched shapes
    assert land.grad(pts).shape == (6, 2) and land.hessian(pts).shape == (6, 2, 2)


def test_river_valley_2d_floor_spectrum_and_parts():
    land = RiverValley2D()
    x = torch.linspace(-3, 3, 7, dtype=D)
    floor = torch.stack([x, land.river_curve(x)], -1)
    eig = torch.linalg.eigvalsh(land.hessian(floor))  # (7, 2)
    df = land.amplitude * land.frequency * torch.cos(land.frequency * x)
    torch.testing.assert_close(eig[:, 0], torch.zeros(7, dtype=D), atol=1e-12, rtol=0)  # flat river
    torch.testing.assert_close(eig[:, 1], land.hill * (1 + df**2))  # λ(1 + f'²) across
    pts = torch.randn(5, 2, generator=_gen(2), dtype=D)
    parts = land.loss_parts(pts)
    torch.testing.assert_close(parts["river"] + parts["valley"], land.loss(pts))


def test_river_valley_2d_valley_noise_is_normal_to_the_river():
    land = RiverValley2D()
    pts = torch.randn(8, 2, generator=_gen(3), dtype=D)
    xi = torch.randn(8, 2, generator=_gen(4), dtype=D)
    n = land.valley_noise(pts, xi)
    df = land.amplitude * land.frequency * torch.cos(land.frequency * pts[:, 0])
    tangent = torch.stack([torch.ones_like(df), df], -1)
    torch.testing.assert_close((n * tangent).sum(-1), torch.zeros(8, dtype=D), atol=1e-12, rtol=0)


@pytest.mark.parametrize("forced", [True, False])
def test_quadratic_grad_and_hessian_match_autograd(forced):
    m, R = 5, 4
    lam = v_valley_eigenvalues(m, 2.0, 50.0)
    b, theta = random_coupling_and_start(m, R, _gen(5), coupling=0.7)
    theta[:, 0] = torch.randn(R, generator=_gen(6), dtype=D)
    land = RiverValleyQuadratic(lam.expand(R, m), b, h=0.3, forced=forced)
    for i in range(R):
        single = RiverValleyQuadratic(lam, b[i], h=0.3)
        g, H = _autograd_grad_hess(single.loss, theta[i])
        torch.testing.assert_close(land.grad(theta)[i], g)
        torch.testing.assert_close(land.hessian(theta)[i], H)
    parts = land.loss_parts(theta)
    torch.testing.assert_close(parts["river"] + parts["valley"] + parts["coupling"], land.loss(theta))
    # the unforced field is the gradient without the forcing H_VR θ_R = r b
    expected = land.grad(theta).clone()
    if not forced:
        expected[:, 1:] -= theta[:, :1] * b
    torch.testing.assert_close(land.field(theta), expected)


def test_valley_families_condition_numbers():
    for m in (1, 2, 7, 40):
        assert float(kappa_valley(u_valley_eigenvalues(m, 3.0))) == pytest.approx(1.0)
        assert float(kappa_valley(u_valley_eigenvalues(m, 3.0, delta=0.2))) == pytest.approx(1.2 if m > 1 else 1.0)
        assert float(u_valley_eigenvalues(m, 3.0).max()) == pytest.approx(3.0)
    for m in (2, 10, 50):
        lam = v_valley_eigenvalues(m, 3.0, 100.0)
        assert float(lam.max()) == pytest.approx(3.0)
        assert float(kappa_valley(lam)) == pytest.approx(100.0)
    torch.testing.assert_close(valley_family("V", 4, 1.0, 10.0), v_valley_eigenvalues(4, 1.0, 10.0))


def test_kappa_of_a_rotated_valley_block_uses_its_eigenvalues():
    lam = v_valley_eigenvalues(6, 1.0, 30.0)
    Q, _ = torch.linalg.qr(torch.randn(6, 6, generator=_gen(7), dtype=D))
    H = Q @ torch.diag(lam) @ Q.T
    assert float(kappa_valley(H)) == pytest.approx(30.0)
    land = RiverValleyQuadratic(lam, torch.zeros(6))
    assert float(kappa_valley(land.hessian(torch.zeros(7))[1:, 1:])) == pytest.approx(30.0)


def test_cumulative_force_matches_the_brute_force_sum_in_any_basis():
    """C_K = η H_RV Σ_{k<K} (I − ηH_V)^k θ_V⁰ with a dense, rotated H_V, against the eigen-formula."""
    m = 5
    lam = v_valley_eigenvalues(m, 1.0, 20.0)
    Q, _ = torch.linalg.qr(torch.randn(m, m, generator=_gen(8), dtype=D))
    H = Q @ torch.diag(lam) @ Q.T
    w = torch.randn(m, generator=_gen(9), dtype=D)  # H_RV (a row)
    v0 = torch.randn(m, generator=_gen(10), dtype=D)
    eta = 1.3
    b, v0_eig = Q.T @ w, Q.T @ v0  # b_i = H_RV u_i, (u_iᵀθ_V⁰)
    Ks = torch.tensor([0, 1, 2, 5, 17, 60])
    closed = cumulative_force(lam, b, v0_eig, eta, Ks)
    M = torch.eye(m, dtype=D) - eta * H
    for j, K in enumerate(Ks.tolist()):
        brute = eta * w @ sum((torch.linalg.matrix_power(M, k) @ v0 for k in range(K)), torch.zeros(m, dtype=D))
        assert float(closed[j]) == pytest.approx(float(brute), abs=1e-10)
    assert float(cumulative_force(lam, b, v0_eig, eta, 17)) == pytest.approx(float(closed[4]))


def test_theorem1_bound_holds_on_a_random_sweep_and_the_force_saturates():
    g = _gen(11)
    for _ in range(40):
        m = int(torch.randint(1, 12, (1,), generator=g))
        kappa = 1.0 if m == 1 else float(10 ** (3 * torch.rand(1, generator=g)))
        lam = v_valley_eigenvalues(m, float(0.5 + 2 * torch.rand(1, generator=g)), kappa)
        b, theta0 = random_coupling_and_start(m, 3, g, coupling=1.0)
        eta = float(torch.rand(1, generator=g) * 1.999 / lam.max())  # 0 < η < 2/λ_max
        eta = max(eta, 1e-3)
        C = cumulative_force(lam, b, theta0[:, 1:], eta, torch.arange(400))
        bound = cumulative_force_bound(lam, b, theta0[:, 1:])
        assert (C.abs() <= bound * (1 + 1e-12)).all()
    # saturation: C_K → C_∞ = bᵀH_V⁻¹θ_V⁰ once (1 − ηλ_min)^K is negligible
    lam = v_valley_eigenvalues(4, 1.0, 10.0)
    b, theta0 = random_coupling_and_start(4, 5, _gen(12))
    C = cumulative_force(lam, b, theta0[:, 1:], 1.0, 2000)
    torch.testing.assert_close(C, cumulative_force_limit(lam, b, theta0[:, 1:]))


def test_same_seed_same_draws():
    a = random_coupling_and_start(6, 4, _gen(13))
    b = random_coupling_and_start(6, 4, _gen(13))
    c = random_coupling_and_start(6, 4, _gen(14))
    torch.testing.assert_close(a[0], b[0]) and torch.testing.assert_close(a[1], b[1])
    assert not torch.equal(a[0], c[0])


@pytest.mark.parametrize(
    "call, name",
    [
        (lambda: u_valley_eigenvalues(0), "m"),
        (lambda: v_valley_eigenvalues(0), "m"),
        (lambda: v_valley_eigenvalues(1, kappa=10.0), "m"),
        (lambda: v_valley_eigenvalues(4, kappa=0.5), "kappa"),
        (lambda: v_valley_eigenvalues(4, kappa=float("nan")), "kappa"),
        (lambda: v_valley_eigenvalues(4, lam_max=-1.0), "lam_max"),
        (lambda: u_valley_eigenvalues(4, delta=-0.1), "delta"),
        (lambda: valley_family("W", 4), "kind"),
        (lambda: kappa_valley(torch.tensor([1.0, -1.0])), "h_valley"),
        (lambda: RiverValleyQuadratic([1.0, -2.0], [0.0, 0.0]), "lam"),
        (lambda: RiverValleyQuadratic([1.0, 2.0], [0.0, float("nan")]), "coupling"),
        (lambda: RiverValleyQuadratic([1.0, 2.0], [0.0]), "coupling"),
        (lambda: RiverValleyQuadratic([1.0], [0.0], h=float("inf")), "h"),
        (lambda: RiverValley2D(hill=0.0), "hill"),
        (lambda: RiverValley2D(slope=float("nan")), "slope"),
        (lambda: RiverValley2D().loss(torch.zeros(3)), "theta"),
        (lambda: cumulative_force([1.0], [1.0], [1.0], -0.1, 3), "eta"),
        (lambda: cumulative_force([1.0], [1.0], [1.0], float("nan"), 3), "eta"),
        (lambda: cumulative_force([1.0], [1.0], [1.0], 0.5, -1), "K"),
        (lambda: cumulative_force([0.0], [1.0], [1.0], 0.5, 3), "lam"),
        (lambda: random_coupling_and_start(0, 3, _gen()), "m"),
        (lambda: random_coupling_and_start(3, 3, None), "generator"),
    ],
)
def test_bad_input_raises_value_error_naming_the_parameter(call, name):
    with pytest.raises(ValueError, match=name):
        call()


def test_stability_limit_and_cross_section():
    land = RiverValleyQuadratic(v_valley_eigenvalues(2, 4.0, 10.0), [0.1, -0.1])
    assert float(land.stability_limit()) == pytest.approx(0.5)
    V1, V2, L = land.cross_section(0.0, lim=1.0, n=5)
    assert L.shape == (5, 5) and math.isclose(float(L[2, 2]), 0.0, abs_tol=1e-15)
