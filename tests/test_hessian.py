"""loopvalley.hessian against independent truth: finite differences of the gradient, the dense
Hessian from torch.autograd.functional.hessian, torch.linalg.eigvalsh, scipy's eigsh, and
matrices with a known spectrum."""

import math

import numpy as np
import pytest
import torch

from loopvalley import hessian as hs
from loopvalley.models import ModelConfig, build_model
from loopvalley.train import next_token_loss

torch.set_num_threads(1)


def tiny(attn_type="softmax", n_loops=3, seed=0, d=4, T=6):
    g = torch.Generator().manual_seed(seed)
    cfg = ModelConfig(vocab_size=3, max_len=T, d_model=d, n_loops=n_loops, attn_type=attn_type, init_std=0.5)
    model = build_model(cfg, g)
    tokens = torch.randint(0, 3, (8, T), generator=g)
    return model, tokens


@pytest.fixture(scope="module")
def looped():
    model, tokens = tiny()
    H = hs.Hessian(model, next_token_loss, tokens)
    return model, tokens, H, H.dense()


def known_spectrum(eigs, seed=0):
    """Q diag(eigs) Qᵀ for a random orthogonal Q (float64)."""
    g = torch.Generator().manual_seed(seed)
    n = len(eigs)
    Q = torch.linalg.qr(torch.randn(n, n, generator=g, dtype=torch.float64)).Q
    return Q @ torch.diag(torch.tensor(eigs, dtype=torch.float64)) @ Q.T


# -- Hessian-vector products -------------------------------------------------------------------


@pytest.mark.parametrize("attn_type", ["softmax", "linear"])
@pytest.mark.parametrize("method", ["reverse", "forward"])
def test_hvp_matches_finite_differences_of_the_gradient(attn_type, method):
    model, tokens = tiny(attn_type)
    H = hs.Hessian(model, next_token_loss, tokens, method=method)
    v = torch.randn(H.n, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    h = 1e-5

    def grad_at(theta):
        theta = theta.clone().requires_grad_(True)
        return torch.autograd.grad(H.loss_at(theta), theta)[0]

    fd = (grad_at(H.theta + h * v) - grad_at(H.theta - h * v)) / (2 * h)  # central difference of ∇L
    Hv = H.hvp(v)
    assert torch.linalg.norm(Hv - fd) <= 1e-6 * torch.linalg.norm(fd)


def test_dense_matches_autograd_hessian_and_both_methods_agree(looped):
    model, tokens, H, D = looped
    ref = torch.autograd.functional.hessian(lambda th: H.loss_at(th), H.theta)
    assert torch.allclose(D, ref, atol=1e-12, rtol=1e-9)
    Hf = hs.Hessian(model, next_token_loss, tokens, method="forward")
    assert torch.allclose(Hf.dense(chunk=16), D, atol=1e-12)
    assert torch.allclose(H.dense(chunk=7), D, atol=1e-12)  # batched products
    assert H.n == sum(p.numel() for p in model.parameters())


def test_fused_and_math_attention_agree_and_model_state_is_restored():
    model, tokens = tiny()
    model.train()
    with torch.no_grad():
        fused = float(next_token_loss(model, tokens))  # the fused softmax kernel
    H = hs.Hessian(model.double(), next_token_loss, tokens)
    assert H.loss() == pytest.approx(fused, rel=1e-6)
    H.hvp(torch.ones(H.n))  # double backward works although the model runs the fused kernel
    assert model.backend == "fused" and model.training


def test_weights_are_copied_when_the_hessian_is_made():
    model, tokens = tiny()
    H = hs.Hessian(model, next_token_loss, tokens)
    before = H.hvp(torch.ones(H.n))
    with torch.no_grad():
        for p in model.parameters():
            p.add_(1.0)
    assert torch.equal(H.hvp(torch.ones(H.n)), before)


def test_parameter_blocks_are_sub_blocks_of_the_full_hessian(looped):
    model, tokens, H, D = looped
    for block in ["W_Q", "W_K", "W_V", "output"]:
        Hb = hs.Hessian(model, next_token_loss, tokens, params=block)
        name = hs.PARAM_BLOCKS[block][0]
        assert torch.allclose(Hb.dense(), H.block(D, name), atol=1e-13)
    Ha = hs.Hessian(model, next_token_loss, tokens, params="attention")
    idx = torch.cat([torch.arange(H.n)[H.slices[k]] for k in hs.PARAM_BLOCKS["attention"]])
    assert torch.allclose(Ha.dense(), D[idx][:, idx], atol=1e-13)
    assert hs.select_params(model, ["output", "W_Q"]) == ["attn.W_Q.weight", "readout.weight"]


def test_float32_option_is_close_to_float64(looped):
    model, tokens, H, D = looped
    H32 = hs.Hessian(model, next_token_loss, tokens, dtype=torch.float32)
    assert H32.hvp(torch.ones(H32.n)).dtype == torch.float32
    assert torch.allclose(H32.dense().double(), D, atol=1e-4 * D.abs().max())


# -- eigenvalues ---------------------------------------------------------------------------------


def test_lanczos_matches_eigvalsh_of_the_dense_hessian(looped):
    _, _, H, D = looped
    exact = torch.linalg.eigvalsh(D)  # ascending
    for which, ref in [("LA", exact.flip(0)), ("SA", exact), ("LM", exact[exact.abs().argsort(descending=True)])]:
        res = hs.lanczos(H, 6, which=which, tol=1e-10, max_iter=H.n)
        assert res.converged
        assert torch.allclose(res.eigenvalues, ref[:6], rtol=1e-6, atol=1e-6 * exact.abs().max())
        assert (res.residuals <= 1e-6 * exact.abs().max()).all()  # explicit ‖Hv − λv‖


def test_lanczos_matches_scipy_eigsh_and_returns_eigenvectors(looped):
    from scipy.sparse.linalg import LinearOperator, eigsh

    _, _, H, D = looped
    op = LinearOperator((H.n, H.n), matvec=lambda x: H.hvp(torch.from_numpy(np.ascontiguousarray(x).ravel())).numpy())
    ref = np.sort(eigsh(op, k=5, which="LA", tol=1e-12)[0])[::-1]
    res = hs.lanczos(H, 5, tol=1e-10, return_vectors=True)
    assert np.allclose(res.eigenvalues.numpy(), ref, rtol=1e-6)
    V = res.eigenvectors  # (k, n), orthonormal Ritz vectors
    assert torch.allclose(V @ V.T, torch.eye(5, dtype=V.dtype), atol=1e-8)
    assert torch.allclose(V @ D @ V.T, torch.diag(res.eigenvalues), atol=1e-8)


def test_lanczos_on_a_known_spectrum_stops_early():
    eigs = [10.0, 9.0, 8.0, 5.0] + list(np.linspace(0.0, 1.0, 196))
    A = known_spectrum(eigs)
    res = hs.lanczos(A, 3, tol=1e-8)
    assert torch.allclose(res.eigenvalues, torch.tensor([10.0, 9.0, 8.0], dtype=torch.float64), rtol=1e-8)
    assert res.n_iter < 100 and res.converged


def test_power_iteration_finds_the_top_eigenvalues_with_a_gap():
    A = known_spectrum([4.0, 2.0, 1.0] + [0.1] * 30)
    res = hs.power_iteration(A, 3, tol=1e-12, max_iter=2000)
    assert np.allclose(res.eigenvalues.numpy(), [4.0, 2.0, 1.0], rtol=1e-6)
    assert res.n_hvp > hs.lanczos(A, 3, tol=1e-8).n_hvp  # slower than Lanczos


# -- traces and densities ------------------------------------------------------------------------


def test_hutch_plus_plus_is_exact_when_the_sketch_spans_everything(looped):
    _, _, H, D = looped
    exact = float(torch.trace(D))
    got = hs.hutch_plus_plus(H, 3 * H.n).estimate
    assert got == pytest.approx(exact, rel=1e-6, abs=1e-9)


def test_hutchinson_is_unbiased_and_hutch_plus_plus_beats_it_on_a_low_rank_matrix():
    A = known_spectrum([50.0, 30.0, 20.0, 10.0] + [0.01] * 96)
    exact = float(torch.trace(A))
    errs_h, errs_pp = [], []
    for s in range(20):
        g = torch.Generator().manual_seed(s)
        r = hs.hutchinson(A, 30, generator=g)
        errs_h.append(r.estimate - exact)
        errs_pp.append(hs.hutch_plus_plus(A, 30, generator=torch.Generator().manual_seed(s)).estimate - exact)
    assert abs(np.mean(errs_h)) < 4 * np.std(errs_h) / math.sqrt(20)  # unbiased
    assert np.sqrt(np.mean(np.square(errs_pp))) < 0.1 * np.sqrt(np.mean(np.square(errs_h)))


def test_slq_is_gauss_quadrature_on_the_dense_spectrum(looped):
    _, _, H, D = looped
    n = H.n
    starts = torch.randn(2, n, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    m = 6
    res = hs.slq(H, 2, m, starts=starts)
    for v, th, w in zip(starts, res.nodes, res.weights):
        assert float(w.sum()) == pytest.approx(1.0, abs=1e-12)
        u = v / v.norm()
        for p in range(2 * m):  # exact for polynomials of degree < 2m: Σ w θ^p = uᵀ H^p u
            exact = float(u @ torch.linalg.matrix_power(D, p) @ u)
            assert float((w * th**p).sum()) == pytest.approx(exact, rel=1e-6, abs=1e-12 * float(D.norm()) ** p)


def test_slq_with_full_steps_recovers_the_spectrum():
    eigs = np.linspace(-1.0, 3.0, 40)
    A = known_spectrum(eigs)
    starts = 2.0 * torch.randint(0, 2, (3, 40), generator=torch.Generator().manual_seed(0)) - 1  # ±1
    res = hs.slq(A, 3, 40, starts=starts)
    for th in res.nodes:
        assert np.allclose(np.sort(th.numpy()), eigs, atol=1e-6)
    # n·Σ_j w_j θ_j = vᵀ A v for a Rademacher start: SLQ's trace estimate is Hutchinson's
    hutch = float(torch.einsum("vi,ij,vj->v", starts.double(), A, starts.double()).mean())
    assert res.moment(lambda t: t) * 40 == pytest.approx(hutch, rel=1e-9)
    grid = np.linspace(-2, 4, 601)
    assert np.trapezoid(hs.density(res, grid, 0.05), grid) == pytest.approx(1.0, abs=1e-3)


def test_dense_matrix_spectrum_matches_scipy_eigsh():
    from scipy.sparse.linalg import eigsh

    A = known_spectrum(list(np.linspace(0.0, 2.0, 50)) + [5.0, 6.0])
    ref = np.sort(eigsh(A.numpy(), k=4, which="LA")[0])[::-1]
    assert np.allclose(hs.lanczos(A, 4).eigenvalues.numpy(), ref, rtol=1e-6)


# -- the river/valley split ----------------------------------------------------------------------

KNOWN = [-0.5, -1e-4, 0.0, 1e-4, 0.01, 0.1, 1.0, 10.0]


def test_river_valley_split_on_a_known_spectrum():
    split = hs.river_valley_split(KNOWN, eps=1e-3)
    assert split["river"].sum() == 3 and split["valley"].sum() == 4 and split["negative"].sum() == 1
    assert hs.kappa_valley(KNOWN, 1e-3) == pytest.approx(10.0 / 0.01)  # κ = λ_max / λ_min(valley)
    assert hs.kappa_valley(KNOWN, 0.5) == pytest.approx(10.0)
    assert np.isnan(hs.kappa_valley(KNOWN, 100.0))  # no valley
    assert hs.n_low_valley(KNOWN, 1e-3, 0.5) == 2
    assert list(hs.low_valley_eigenvalues(KNOWN, 1e-3, 0.5)) == [0.01, 0.1]
    assert hs.spectral_entropy([1.0, -1.0, 1.0, 1.0]) == pytest.approx(math.log(4))
    assert hs.spectral_entropy([3.0, 0.0, 0.0]) == pytest.approx(0.0)


def test_split_of_a_matrix_with_known_spectrum_via_its_dense_eigenvalues():
    A = known_spectrum(KNOWN)
    eigs = torch.linalg.eigvalsh(A)
    s = hs.spectrum_summary(eigs, eps_rel=1e-4, tau_rel=0.05)  # ε = 1e-3, τ = 0.5
    assert (s["n_river"], s["n_valley"], s["n_negative"], s["n_low_valley"]) == (3, 4, 1, 2)
    assert s["kappa_valley"] == pytest.approx(1000.0, rel=1e-8)
    assert s["lambda_max"] == pytest.approx(10.0)
    assert s["effective_rank"] == pytest.approx(math.exp(hs.spectral_entropy(KNOWN)), rel=1e-8)


# -- bad input -----------------------------------------------------------------------------------


def test_bad_input_raises_value_error_naming_the_parameter(looped):
    model, tokens, H, D = looped
    with pytest.raises(ValueError, match="k must be <= the Hessian's dimension"):
        hs.lanczos(H, H.n + 1)
    with pytest.raises(ValueError, match="k must be"):
        hs.power_iteration(D, D.shape[0] + 1)
    with pytest.raises(ValueError, match="eps must be >= 0"):
        hs.river_valley_split(KNOWN, -1e-3)
    with pytest.raises(ValueError, match="eps must be >= 0"):
        hs.kappa_valley(KNOWN, -1.0)
    with pytest.raises(ValueError, match="params selects no parameter"):
        hs.Hessian(model, next_token_loss, tokens, params=[])
    with pytest.raises(ValueError, match="params: 'W_X'"):
        hs.Hessian(model, next_token_loss, tokens, params="W_X")
    with pytest.raises(ValueError, match="tau must be > eps"):
        hs.n_low_valley(KNOWN, 0.1, 0.01)
    with pytest.raises(ValueError, match="tau_rel must be > eps_rel"):
        hs.spectrum_summary(KNOWN, eps_rel=0.1, tau_rel=0.01)
    with pytest.raises(ValueError, match="method must be one of"):
        hs.Hessian(model, next_token_loss, tokens, method="finite")
    with pytest.raises(ValueError, match="v must have shape"):
        H.hvp(torch.ones(H.n + 1))
    with pytest.raises(ValueError, match="which must be one of"):
        hs.lanczos(H, 2, which="XX")
    with pytest.raises(ValueError, match="eigs must contain"):
        hs.spectral_entropy([])
    with pytest.raises(ValueError, match="every must be"):
        hs.SpectrumProbe(every=0)
    with pytest.raises(ValueError, match="strictly increasing"):
        hs.SpectrumProbe(steps=(0, 10, 10))
    with pytest.raises(ValueError, match="steps must be an integer"):
        hs.SpectrumProbe(steps=(0, -5))


# -- tracking during training ----------------------------------------------------------------------


def test_probe_schedule_is_dense_early_and_scales_with_the_run():
    assert hs.probe_schedule(600) == (0, 5, 10, 15, 20, 30, 40, 60, 80, 120, 160, 240, 320, 440, 600)
    s = hs.probe_schedule(1200)
    assert s[:3] == (0, 10, 20) and s[-1] == 1200 and len(s) == 15
    short = hs.probe_schedule(60)  # rounding merges the earliest steps; ends stay
    assert short[0] == 0 and short[-1] == 60 and list(short) == sorted(set(short))
    with pytest.raises(ValueError, match="max_steps"):
        hs.probe_schedule(0)


def test_step_budget_compresses_a_probe_schedule():
    from loopvalley.train import Trainer, TrainConfig, step_budget

    data = torch.randint(0, 3, (64, 6), generator=torch.Generator().manual_seed(0))
    probe = hs.SpectrumProbe(steps=(0, 10, 20, 40), params="attention")
    with step_budget(10):
        t = Trainer(tiny(d=4, T=6)[0], data, None, TrainConfig(batch_size=16, max_steps=40), probes=[probe])
    assert probe.steps == (0, 2, 5, 10) and probe.every == 1
    assert t.run().probes["spectrum"]["step"] == [0, 2, 5, 10]


def test_spectrum_probe_records_spectra_during_training():
    from loopvalley.train import Trainer, TrainConfig

    model, _ = tiny(d=4, T=6)
    data = torch.randint(0, 3, (64, 6), generator=torch.Generator().manual_seed(0))
    probe = hs.SpectrumProbe(every=5, params="attention")
    cfg = TrainConfig(lr=1e-2, batch_size=16, max_steps=10, eval_every=5, probe_batch_size=16)
    rec = Trainer(model, data, {"all": data[:16]}, cfg, probes=[probe]).run()
    rows = rec.probes["spectrum"]
    assert rows["step"] == [0, 5, 10]
    assert all(len(e) == 64 for e in rows["eigenvalues"])  # 4 d² = 64 attention weights
    steps, spectra = hs.record_spectra(rec)
    assert rows["kappa_valley"][-1] == pytest.approx(hs.spectrum_summary(spectra[-1])["kappa_valley"])
    # an explicit schedule: spectra at those steps only, plus the trainer's final call
    sched = hs.SpectrumProbe(steps=(0, 1, 3, 7), params="attention", name="sched")
    assert sched.every == 1
    rec = Trainer(tiny(d=4, T=6)[0], data, None, cfg, probes=[sched]).run()
    assert rec.probes["sched"]["step"] == [0, 1, 3, 7, 10]
    # the large-model path: Lanczos top-k plus an SLQ density
    big = hs.SpectrumProbe(every=5, dense_max=10, top_k=3, slq_vectors=2, slq_steps=10, name="big")
    rec = Trainer(tiny()[0], data, None, cfg, probes=[big]).run()
    assert len(rec.probes["big"]["top"][0]) == 3 and len(rec.probes["big"]["slq_nodes"][0]) == 2
