"""The vectorised simulator against closed forms (GD on quadratics, Theorem 1's river displacement)
and against torch.optim (heavy ball, Adam); schedules; divergence reported, never raised; bad input."""

import pytest
import torch

from loopvalley.valley.landscapes import (
    RiverValley2D,
    RiverValleyQuadratic,
    cumulative_force,
    random_coupling_and_start,
    u_valley_eigenvalues,
    v_valley_eigenvalues,
)
from loopvalley.valley.simulate import (
    loss_split,
    lr_schedule,
    measured_cumulative_force,
    river_progress,
    simulate,
    stable_phase_end,
    valley_sign_flips,
)

torch.set_num_threads(1)
D = torch.float64


def _gen(seed=0):
    return torch.Generator().manual_seed(seed)


def test_gd_matches_the_closed_form_on_the_full_quadratic():
    """θ_K = θ* + (I − ηH)^K (θ_0 − θ*), with ∇L(θ*) = 0, for the true gradient of the river-valley quadratic."""
    m, K, eta = 4, 37, 0.7
    lam = v_valley_eigenvalues(m, 1.0, 10.0)
    b, theta0 = random_coupling_and_start(m, 3, _gen(1), coupling=0.3)
    traj = simulate(RiverValleyQuadratic(lam, b, h=0.05), theta0, lr=eta, steps=K)
    for i in range(3):
        land = RiverValleyQuadratic(lam, b[i], h=0.05)
        H = land.hessian(theta0[i])
        rhs = torch.zeros(m + 1, dtype=D)
        rhs[0] = 0.05
        theta_star = torch.linalg.solve(H, rhs)  # ∇L = Hθ − h e_r = 0
        M = torch.eye(m + 1, dtype=D) - eta * H
        expected = theta_star + torch.linalg.matrix_power(M, K) @ (theta0[i] - theta_star)
        torch.testing.assert_close(traj.final[i], expected)


def test_gd_on_a_straight_valley():
    """a = 0: x_K = x_0 + ηKh, y_K = (1 − ηλ)^K y_0."""
    land = RiverValley2D(slope=0.1, hill=2.0, amplitude=0.0)
    theta0 = torch.tensor([[0.0, 1.0], [1.0, -0.5]], dtype=D)
    lr = torch.tensor([0.3, 0.8], dtype=D)
    traj = simulate(land, theta0, lr=lr, steps=25)
    torch.testing.assert_close(traj.final[:, 0], theta0[:, 0] + lr * 25 * 0.1)
    torch.testing.assert_close(traj.final[:, 1], (1 - lr * 2.0) ** 25 * theta0[:, 1])


@pytest.mark.parametrize("kind", ["U", "V"])
def test_unforced_river_displacement_is_eta_K_h_minus_C_K(kind):
    m, K = 6, 300
    lam = u_valley_eigenvalues(m) if kind == "U" else v_valley_eigenvalues(m, 1.0, 100.0)
    b, theta0 = random_coupling_and_start(m, 5, _gen(2), coupling=0.5)
    eta = torch.tensor([0.3, 0.9, 1.2, 1.7, 1.95], dtype=D)
    land = RiverValleyQuadratic(lam, b, h=0.02, forced=False)
    traj = simulate(land, theta0, lr=eta, steps=K)
    C = cumulative_force(lam, b, theta0[:, 1:], eta, torch.arange(K + 1))  # (K+1, R)
    torch.testing.assert_close(measured_cumulative_force(traj, land), C, atol=1e-12, rtol=1e-9)
    torch.testing.assert_close(river_progress(traj, land)[-1], eta * K * 0.02 - C[-1])
    # and on a coarser record
    coarse = simulate(land, theta0, lr=eta, steps=K, record_at=[10, 100, 300])
    torch.testing.assert_close(measured_cumulative_force(coarse, land), C[[0, 10, 100, 300]], atol=1e-12, rtol=1e-9)


def test_valley_sign_flips_when_eta_lambda_exceeds_one():
    lam = torch.tensor([1.0, 0.3], dtype=D)
    land = RiverValleyQuadratic(lam, torch.zeros(2), h=0.01, forced=False)
    traj = simulate(land, torch.tensor([[0.0, 1.0, 1.0]], dtype=D), lr=1.5, steps=30)  # ηλ = 1.5, 0.45
    flips = valley_sign_flips(traj, land)[0]
    assert float(flips[0]) == 1.0 and float(flips[1]) == 0.0
    assert float(river_progress(traj, land)[-1, 0]) == pytest.approx(1.5 * 30 * 0.01)


def test_heavy_ball_and_adam_match_torch_optim():
    land = RiverValley2D(slope=0.05, hill=1.5, amplitude=0.7, frequency=0.8)
    theta0 = torch.tensor([[0.3, 1.2]], dtype=D)
    for name, make, kw in (
        ("momentum", lambda p: torch.optim.SGD([p], lr=0.2, momentum=0.8), dict(momentum=0.8)),
        ("adam", lambda p: torch.optim.Adam([p], lr=0.05, betas=(0.9, 0.99), eps=1e-8), dict(betas=(0.9, 0.99))),
    ):
        lr = 0.2 if name == "momentum" else 0.05
        traj = simulate(land, theta0, lr=lr, steps=40, optimizer=name, **kw)
        p = theta0[0].clone().requires_grad_(True)
        opt = make(p)
        for _ in range(40):
            opt.zero_grad()
            land.loss(p).backward()
            opt.step()
        torch.testing.assert_close(traj.final[0], p.detach(), rtol=1e-10, atol=1e-12)


def test_schedules():
    c = lr_schedule("constant", 10)
    assert torch.equal(c, torch.ones(10, dtype=D))
    w = lr_schedule("wsd", 100, warmup=0.1, decay=0.2)
    assert w[0] == pytest.approx(0.1) and w[9] == 1.0 and w[79] == 1.0
    # the shared schedule's WSD (loopvalley.schedule): the decay's first step is already 1 − 1/D and its last
    # is 0 (it used to be one step later: w[80] = 1, w[-1] = 1/D)
    assert w[80] == pytest.approx(1 - 1 / 20) and w[-1] == 0.0 and (w[79:].diff() < 0).all()
    assert stable_phase_end(100, 0.2) == 80
    cos = lr_schedule("cosine", 50)
    assert cos[0] == 1.0 and (cos.diff() <= 0).all() and abs(float(cos[-1])) < 1e-15
    traj = simulate(RiverValley2D(), torch.zeros(2, 2, dtype=D), lr=[0.1, 0.5], steps=100, schedule="wsd")
    torch.testing.assert_close(traj.lr, lr_schedule("wsd", 100)[:, None] * torch.tensor([0.1, 0.5], dtype=D))


def test_divergence_is_reported_not_raised_and_other_runs_are_untouched():
    land = RiverValleyQuadratic(u_valley_eigenvalues(3, 1.0), torch.zeros(3), h=0.01)
    theta0 = torch.tensor([[0.0, 1.0, -1.0, 0.5]], dtype=D).expand(3, 4)
    traj = simulate(land, theta0, lr=[0.5, 2.5, 1.0], steps=100)
    assert traj.diverged.tolist() == [False, True, False]
    rep = traj.divergence_report()
    assert len(rep) == 1 and rep[0]["run"] == 1 and rep[0]["lr"] == 2.5
    assert rep[0]["step"] == 35  # first k with |1 − ηλ|^k |v⁰| = 1.5^k > 10⁶ (the blow-up threshold)
    assert torch.isnan(traj.final[1]).all() and torch.isfinite(traj.final[[0, 2]]).all()
    alone = simulate(land, theta0[:1], lr=0.5, steps=100)
    torch.testing.assert_close(alone.final[0], traj.final[0])


def test_noise_same_seed_same_numbers_and_valley_noise_spares_the_river():
    land = RiverValleyQuadratic(v_valley_eigenvalues(3, 1.0, 10.0), torch.zeros(3), h=0.01)
    theta0 = torch.zeros(4, 4, dtype=D)
    kw = dict(lr=0.5, steps=50, optimizer="sgd", noise=0.3)
    a = simulate(land, theta0, generator=_gen(5), **kw)
    b = simulate(land, theta0, generator=_gen(5), **kw)
    c = simulate(land, theta0, generator=_gen(6), **kw)
    assert torch.equal(a.theta, b.theta) and not torch.equal(a.theta, c.theta)
    v = simulate(land, theta0, generator=_gen(5), noise_kind="valley", **kw)
    torch.testing.assert_close(river_progress(v, land)[-1], torch.full((4,), 0.5 * 50 * 0.01, dtype=D))
    assert ((land.valley_coordinates(v.theta) ** 2).sum(-1).mean(0) > 0).all()  # mean ‖v_t‖² > 0 in every run
    parts = loss_split(v, land)
    torch.testing.assert_close(parts["river"] + parts["valley"] + parts["coupling"], v.loss)


def test_speed_sanity_many_runs_in_one_call():
    """1,000 runs × 200 steps in one vectorised call (the benchmark measures 1,000 × 1,000)."""
    b, theta0 = random_coupling_and_start(10, 1000, _gen(7))
    traj = simulate(RiverValleyQuadratic(v_valley_eigenvalues(10), b), theta0, lr=0.5, steps=200, record_every=50)
    assert traj.theta.shape == (5, 1000, 11) and not traj.diverged.any()


@pytest.mark.parametrize(
    "kwargs, name",
    [
        (dict(lr=-0.1), "lr"),
        (dict(lr=0.0), "lr"),
        (dict(lr=float("nan")), "lr"),
        (dict(lr=[0.1, float("inf")]), "lr"),
        (dict(lr=[0.1, 0.2, 0.3]), "lr"),
        (dict(optimizer="lbfgs"), "optimizer"),
        (dict(schedule="step"), "schedule"),
        (dict(steps=0), "steps"),
        (dict(noise=-1.0, optimizer="sgd"), "noise"),
        (dict(noise=0.1), "noise"),  # gd must be noiseless
        (dict(noise=0.1, optimizer="sgd", generator=None), "generator"),
        (dict(noise=0.1, optimizer="sgd", noise_kind="pink"), "noise_kind"),
        (dict(momentum=1.0, optimizer="momentum"), "momentum"),
        (dict(record_every=0), "record_every"),
        (dict(record_at=[0]), "record_at"),
        (dict(decay=1.5, schedule="wsd"), "decay"),
        (dict(warmup=float("nan")), "warmup"),
    ],
)
def test_bad_input_raises_value_error_naming_the_parameter(kwargs, name):
    base = dict(lr=0.1, steps=5)
    base.update(kwargs)
    with pytest.raises(ValueError, match=name):
        simulate(RiverValley2D(), torch.zeros(2, 2, dtype=D), **base)


def test_bad_theta0_and_landscape():
    with pytest.raises(ValueError, match="theta0"):
        simulate(RiverValley2D(), torch.zeros(2, 3), lr=0.1, steps=2)
    with pytest.raises(ValueError, match="theta0"):
        simulate(RiverValley2D(), torch.full((1, 2), float("nan")), lr=0.1, steps=2)
    with pytest.raises(ValueError, match="landscape"):
        simulate(object(), torch.zeros(1, 2), lr=0.1, steps=2)
    with pytest.raises(ValueError, match="schedule"):
        lr_schedule("linear", 10)
    with pytest.raises(ValueError, match="landscape"):
        measured_cumulative_force(simulate(RiverValley2D(), torch.zeros(1, 2), lr=0.1, steps=2), RiverValley2D())
