"""Phase detectors against their nulls (planted phases, pure noise, closed forms) and the attention
block's gauge symmetries (the loss is flat along them; the projected Hessian is the dense one with the
gauge directions removed)."""

import numpy as np
import pytest
import torch

from loopvalley.hessian import phases as ph
from loopvalley.hessian.gauge import ProjectedHessian, gauge_tangents
from loopvalley.hessian.operator import Hessian
from loopvalley.looped.arms import build_arm
from loopvalley.looped.models import block_params
from loopvalley.looped.runs import markov_run
from loopvalley.train import next_token_loss

torch.set_num_threads(1)
STEPS = [20, 60, 100, 150, 200, 300, 400, 480, 520, 560, 600]


def test_detect_reads_planted_phases_in_log_units():
    vals = [40, 20, 10, 15, 25, 40, 40, 41, 40, 40, 41]  # collapse ×4, diversification ×4, then flat
    p = ph.detect(STEPS, vals, anchor_step=20, converged_from=480)
    assert p.collapse == pytest.approx(np.log(4)) and p.diversification == pytest.approx(np.log(4))  # peak before the converged segment
    assert (p.anchor_step, p.min_step, p.peak_step) == (20, 100, 300)  # the first probe at the peak
    assert p.stabilization == pytest.approx(np.log(41 / 40))
    later = ph.detect(STEPS, vals, anchor_step=60, converged_from=480)
    assert later.anchor_step == 60 and later.collapse == pytest.approx(np.log(2))
    assert ph.detect(STEPS, vals, 20, None).stabilization is None  # no converged segment: not judged
    with pytest.raises(ValueError, match="anchor_step"):
        ph.detect(STEPS, vals, anchor_step=900, converged_from=None)


def test_the_noise_null_is_not_centred_at_zero_and_its_threshold_controls_false_phases():
    """Max/min statistics over noisy probes are biased away from 0; thresholding at the null's 95th
    percentile flags ≈ 5 % of phase-free series (planted: flat + N(0, σ²))."""
    sigma = 0.1
    null = ph.noise_null(STEPS, sigma, 20, 480, draws=4000, seed=1)
    assert null[:, 1].mean() > 0.1  # D under pure noise: ≈ 0.14–0.3 log, not 0
    tau = ph.threshold(null)
    rng = np.random.default_rng(7)
    flat = np.exp(rng.normal(0, sigma, size=(2000, len(STEPS))))
    fired = np.mean([ph.detect(STEPS, v, 20, 480).diversification > tau[1] for v in flat])
    assert 0.03 < fired < 0.07
    planted = np.exp(np.log([40, 20, 10, 15, 25, 40, 40, 41, 40, 40, 41]) + rng.normal(0, sigma, size=(200, len(STEPS))))
    assert np.mean([ph.detect(STEPS, v, 20, 480).diversification > tau[1] for v in planted]) > 0.99


def test_contrast_threshold_is_the_null_of_a_difference():
    a = ph.noise_null(STEPS, 0.1, 20, 480, seed=1)
    b = ph.noise_null(STEPS, 0.3, 20, 480, seed=2)
    t = ph.contrast_threshold(a, b)
    assert t[1] == pytest.approx(np.quantile(a[:, 1] - b[:, 1], 0.95))
    assert t[1] < ph.threshold(a)[1] + 0.5  # a noisier reference arm lowers the contrast's threshold


def test_shuffle_null_keeps_the_values_and_loses_the_order():
    vals = [40, 20, 10, 15, 25, 40, 40, 41, 40, 40, 41]
    null = ph.shuffle_null(STEPS, vals, 20, 480, draws=500, seed=0)
    assert null.shape == (500, 3) and np.isfinite(null[:, :2]).all()
    assert (null[:, 1] <= np.log(41 / 10) + 1e-12).all()  # no shuffle can rise more than max/min


def test_start_spread_recovers_a_planted_sigma():
    rng = np.random.default_rng(3)
    rows = rng.normal(0, 0.2, size=(400, 3)) + rng.normal(0, 5, size=(400, 1))  # per-probe level + noise
    assert ph.start_spread(rows) == pytest.approx(0.2, rel=0.05)
    ragged = [r[: 2 + i % 2] for i, r in enumerate(rows)]  # 2 or 3 starts per probe: pooled by degrees of freedom
    assert ph.start_spread(ragged) == pytest.approx(0.2, rel=0.07)
    with pytest.raises(ValueError, match="starts"):
        ph.start_spread(np.ones((4, 1)))


def test_milestones_are_shares_of_the_arms_own_gain():
    steps = np.arange(0, 601, 50)
    acc = np.minimum(0.8, 0.4 + steps / 1000)  # 0.4 → 0.8, reached at step 400
    assert ph.milestone_steps(steps, acc, (0.1, 0.45, 0.7)) == [50, 200, 300]  # levels 0.44, 0.58, 0.68


# -- gauge --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module", params=["looped", "untied-3"])
def hessian(request):
    torch.manual_seed(0)
    run = markov_run("ci", d_model=8)
    model = build_arm(request.param, run, 3)
    with torch.no_grad():  # away from the small init, so that the tangents are generic
        for p in model.parameters():
            p.add_(0.3 * torch.randn_like(p))
    return Hessian(model, next_token_loss, run.data.sample(3).train[:16], block_params(model, "attention"), torch.float64)


def test_the_loss_is_flat_along_the_gauge_directions(hessian):
    H = hessian
    T = gauge_tangents(H)
    layers = 3 if H.n == 3 * 4 * 64 else 1
    assert T.shape == (H.n, layers * 2 * 8 * 8) and torch.linalg.matrix_rank(T) == T.shape[1]  # 2·d² per layer
    g = H.gradient()
    assert float((g @ T).abs().max()) < 1e-12 * float(g.norm() * T.norm(dim=0).max())  # ∇L ⟂ every tangent
    for j in (0, 5, 77):
        t = T[:, j] / T[:, j].norm()
        for eps in (1e-2, 1e-3):  # first order: the loss changes by O(ε²) at most
            assert abs(float(H.loss_at(H.theta + eps * t)) - H.loss()) < 10 * eps**2


def test_projected_hessian_is_the_dense_one_without_the_gauge(hessian):
    H = hessian
    P = ProjectedHessian(H)
    D = H.dense()
    Q, _ = torch.linalg.qr(P.T)
    proj = torch.eye(H.n, dtype=torch.float64) - Q @ Q.T
    want = torch.linalg.eigvalsh(proj @ D @ proj)
    got = torch.linalg.eigvalsh(torch.stack([P.hvp(e) for e in torch.eye(H.n, dtype=torch.float64)]))
    assert torch.allclose(got, want, atol=1e-12)
    assert int((want.abs() < 1e-10).sum()) >= P.n_gauge  # the gauge directions sit at 0
