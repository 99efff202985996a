"""loopvalley.hessian.operator against independent truth: finite differences of the gradient, the dense
Hessian from torch.autograd.functional.hessian, torch.linalg.eigvalsh, scipy's eigsh, and
matrices with a known spectrum."""

import math

import numpy as np
import pytest
import torch

from loopvalley.hessian import operator as hs
from loopvalley.looped.models import PARAM_BLOCKS, ModelConfig, block_params, build_model, untied_attn
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


def brute_force_dense(H):
    """n separate full products H e_i, the plain definition (the implementation dense() replaced)."""
    eye = torch.eye(H.n, dtype=H.dtype)
    return torch.stack([H.hvp(e) for e in eye]).T  # column i = H e_i


@pytest.mark.parametrize("params", [None, "attention", ["W_K", "output"]])
def test_dense_equals_n_full_products_and_the_autograd_hessian(params):
    model, tokens = tiny(n_loops=2, seed=3)
    H = hs.Hessian(model, next_token_loss, tokens, params=params)
    ref = torch.autograd.functional.hessian(lambda th: H.loss_at(th), H.theta)  # independent truth
    brute = brute_force_dense(hs.Hessian(model, next_token_loss, tokens, params=params))
    scale = float(ref.abs().max())
    assert float((brute - ref).abs().max()) <= 1e-10 * scale
    for chunk in [1, 5, 64]:  # one product per pass; chunks that straddle parameter boundaries
        D = hs.Hessian(model, next_token_loss, tokens, params=params).dense(chunk)
        assert float((D - ref).abs().max()) <= 1e-10 * scale
        assert torch.equal(D, D.T)  # exactly symmetric by construction


def test_dense_on_a_large_batch_runs_one_product_per_pass_and_matches():
    model, _ = tiny(n_loops=1, seed=4)
    tokens = torch.randint(0, 3, (700, 6), generator=torch.Generator().manual_seed(5))  # 4200 > 4096 elements
    H = hs.Hessian(model, next_token_loss, tokens, params="attention")
    ref = torch.autograd.functional.hessian(lambda th: H.loss_at(th), H.theta)
    D = H.dense(8)
    assert H.n_hvp == H.n
    assert float((D - ref).abs().max()) <= 1e-10 * float(ref.abs().max())


class Quadratic(torch.nn.Module):
    """L = ½ aᵀ A a + aᵀ B c + bᵀ 1 with an unused parameter u: Hessian [[A, 0, B, 0], …] in closed form."""

    def __init__(self, A, B):
        super().__init__()
        self.A, self.B = A, B
        self.a = torch.nn.Parameter(torch.randn(A.shape[0], generator=torch.Generator().manual_seed(0)))
        self.b = torch.nn.Parameter(torch.ones(3))  # enters linearly: its gradient is constant
        self.c = torch.nn.Parameter(torch.randn(B.shape[1], generator=torch.Generator().manual_seed(1)))
        self.u = torch.nn.Parameter(torch.zeros(2))  # unused

    def forward(self, batch):
        a, c = self.a, self.c
        return 0.5 * a @ self.A @ a + a @ self.B @ c + self.b.sum()


def quadratic_loss(model, batch):
    return model(batch)


def test_dense_and_hvp_on_a_closed_form_hessian_with_constant_and_unused_gradients():
    g = torch.Generator().manual_seed(2)
    A = torch.randn(4, 4, generator=g, dtype=torch.float64)
    A = A + A.T
    B = torch.randn(4, 5, generator=g, dtype=torch.float64)
    model = Quadratic(A, B)
    H = hs.Hessian(model, quadratic_loss, None)
    exact = torch.zeros(H.n, H.n, dtype=torch.float64)  # θ = (a, b, c, u): sizes 4, 3, 5, 2
    exact[:4, :4], exact[:4, 7:12], exact[7:12, :4] = A, B, B.T
    for chunk in [1, 3, 16]:
        assert torch.allclose(hs.Hessian(model, quadratic_loss, None).dense(chunk), exact, atol=1e-12)
    V = torch.randn(3, H.n, generator=g, dtype=torch.float64)
    assert torch.allclose(H.hvp(V), V @ exact, atol=1e-12)  # batched
    assert torch.allclose(H.hvp(V[0]), exact @ V[0], atol=1e-12)
    only_b = hs.Hessian(model, quadratic_loss, None, params=["b", "u"])  # every gradient constant
    assert torch.equal(only_b.dense(), torch.zeros(5, 5, dtype=torch.float64))
    assert torch.equal(only_b.hvp(torch.ones(5)), torch.zeros(5, dtype=torch.float64))


def test_batched_products_equal_single_products(looped):
    _, _, H, D = looped
    V = torch.randn(5, H.n, generator=torch.Generator().manual_seed(6), dtype=torch.float64)
    single = torch.stack([H.hvp(v) for v in V])
    assert torch.allclose(H.hvp(V), single, atol=1e-13)
    assert torch.allclose(single, V @ D, atol=1e-12)
    theta = H.theta.clone().requires_grad_(True)
    assert torch.allclose(H.gradient(), torch.autograd.grad(H.loss_at(theta), theta)[0], atol=1e-14)


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
        name = PARAM_BLOCKS[block][0]
        assert torch.allclose(Hb.dense(), H.block(D, name), atol=1e-13)
    Ha = hs.Hessian(model, next_token_loss, tokens, params="attention")
    idx = torch.cat([torch.arange(H.n)[H.slices[k]] for k in PARAM_BLOCKS["attention"]])
    assert torch.allclose(Ha.dense(), D[idx][:, idx], atol=1e-13)
    assert hs.select_params(model, ["output", "W_Q"]) == ["attn.W_Q.weight", "readout.weight"]


def test_an_untied_models_blocks_are_every_layers():
    """The one block table (looped.models.PARAM_BLOCKS): on Untied-L, "attention" is every layer's W_Q, W_K,
    W_V, W_O — the Hessian over it is the full Hessian's sub-block on those rows and columns."""
    model = untied_attn(ModelConfig(vocab_size=3, max_len=6, d_model=4, init_std=0.3), 2,
                        torch.Generator().manual_seed(0)).double()
    tokens = torch.randint(0, 3, (4, 6), generator=torch.Generator().manual_seed(1))
    names = [f"layers.{l}.attn.{w}.weight" for l in range(2) for w in ("W_Q", "W_K", "W_V", "W_O")]
    assert hs.select_params(model, "attention") == block_params(model, "attention") == names
    assert hs.select_params(model, "W_K") == ["layers.0.attn.W_K.weight", "layers.1.attn.W_K.weight"]
    H = hs.Hessian(model, next_token_loss, tokens)
    D = H.dense()
    Ha = hs.Hessian(model, next_token_loss, tokens, params="attention")
    idx = torch.cat([torch.arange(H.n)[H.slices[k]] for k in names])
    assert torch.allclose(Ha.dense(), D[idx][:, idx], atol=1e-13)
    with pytest.raises(ValueError, match="params"):
        hs.select_params(model, "attn.W_Q.weight")  # a shared model's name: not a parameter here


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


def test_lanczos_for_one_eigenvalue_does_not_stop_at_the_first_rayleigh_quotient():
    # with a single Ritz value there is no gap to refine the residual bound with: the test must
    # use the residual itself (it once took min(r, r²/∞) = 0 and stopped after one product)
    eigs = list(np.linspace(0.0, 10.0, 100))
    A = known_spectrum(eigs, seed=1)
    res = hs.lanczos(A, 1, tol=1e-8)
    assert res.n_iter > 1 and res.converged
    assert float(res.eigenvalues[0]) == pytest.approx(10.0, rel=1e-7)
    assert float(res.residuals[0]) <= 1e-3  # explicit ‖Hv − λv‖


def test_lanczos_past_50_steps_still_converges_to_the_dense_answer():
    # clustered top eigenvalues: more than 50 steps, where the stopping test runs every few steps
    eigs = [1.0 + 1e-3 * i for i in range(6)] + list(np.linspace(0.0, 0.9, 294))
    A = known_spectrum(eigs, seed=2)
    res = hs.lanczos(A, 6, tol=1e-10, max_iter=300)
    assert res.converged and res.n_iter > 50
    assert np.allclose(res.eigenvalues.numpy(), sorted(eigs)[::-1][:6], rtol=1e-8)


@pytest.mark.parametrize("b", [1, 3])
def test_the_recurrence_projects_h_onto_an_orthonormal_basis(looped, b):
    """T = Q H Qᵀ on the multiplied rows (tridiagonal from one start vector, a band of width b from b),
    and the residuals read off T are the true ‖H y − θ y‖ of the Ritz pairs."""
    _, _, H, D = looped
    start = torch.randn(b, H.n, generator=torch.Generator().manual_seed(b), dtype=torch.float64)
    K = hs.lanczos_recurrence(H.hvp, start if b > 1 else start[0], 20)
    P, Q, N = K.steps, K.basis, b + 20  # each product added one vector to the b start vectors
    assert P == 20 and Q.shape[0] == N
    assert torch.allclose(Q @ Q.T, torch.eye(N, dtype=Q.dtype), atol=1e-12)  # orthonormal
    T = torch.from_numpy(K.T)
    assert torch.allclose(T[:, :P], Q @ D @ Q[:P].T, atol=1e-12)  # T[i, j] = q_iᵀ H q_j
    band = torch.ones(N, N, dtype=torch.bool).triu(b + 1)
    assert not T[band].any() and not T[band.T].any()  # zero beyond the band
    theta, S, res = K.ritz()
    Y = torch.from_numpy(S.T.copy()) @ Q[:P]  # Ritz vectors y_i = Q_Pᵀ s_i
    true = (Y @ D - torch.from_numpy(theta)[:, None] * Y).norm(dim=1)  # ‖H y_i − θ_i y_i‖
    assert np.allclose(res, true.numpy(), atol=1e-12)


@pytest.mark.parametrize("b", [1, 4])
def test_a_continued_recurrence_is_the_uninterrupted_one(looped, b):
    _, _, H, _ = looped
    start = torch.randn(b, H.n, generator=torch.Generator().manual_seed(7), dtype=torch.float64)
    start = start if b > 1 else start[0]
    whole = hs.lanczos_recurrence(H.hvp, start, 30)
    before = H.n_hvp
    first = hs.lanczos_recurrence(H.hvp, start, 12)
    rest = hs.lanczos_recurrence(H.hvp, first, 30)
    assert H.n_hvp - before == 30  # 12 + 18: no product is repeated
    assert torch.equal(rest.basis, whole.basis) and np.array_equal(rest.T, whole.T) and rest.betas == whole.betas


def test_both_entry_points_run_one_recurrence_and_agree_with_eigh(looped):
    """lanczos (top-k, stopping test) and lanczos_spectrum (a fixed number of steps) from the same start
    build the same Krylov space: the same tridiagonal, and eigenvalues that match eigvalsh."""
    from loopvalley.hessian import spectra as sx

    _, _, H, D = looped
    exact = torch.linalg.eigvalsh(D).flip(0).numpy()  # descending
    sp = sx.lanczos_spectrum(H, 60, generator=torch.Generator().manual_seed(2))
    g = torch.Generator().manual_seed(2)
    rademacher = (2 * torch.randint(0, 2, (1, H.n), generator=g) - 1).to(torch.float64)[0]
    top = hs.lanczos(H, 4, tol=1e-10, max_iter=60, start=rademacher)
    K = hs.lanczos_recurrence(H.hvp, rademacher, 60)
    assert np.array_equal(K.alphas, sp.alphas) and np.array_equal(np.asarray(K.betas), sp.betas)
    assert np.allclose(sp.top(4), exact[:4], rtol=1e-9)
    assert np.allclose(top.eigenvalues.numpy(), exact[:4], rtol=1e-9) and top.n_iter < 60


def test_a_warm_start_tracks_a_moved_matrix_to_the_dense_answer():
    """Lanczos started from the top-k of a nearby matrix — start=the previous result (one vector from its
    Ritz vectors), or its Ritz vectors as a block — passes the cold start's test and matches eigvalsh;
    the block needs only its k products when the matrix barely moved."""
    A0 = known_spectrum([10.0, 9.0, 8.0, 7.0, 6.0] + list(np.linspace(0.0, 5.0, 295)), seed=3)
    E = torch.randn(300, 300, generator=torch.Generator().manual_seed(4), dtype=torch.float64)
    E = (E + E.T) / torch.linalg.matrix_norm(E + E.T, 2)  # symmetric, ‖E‖₂ = 1
    previous = hs.lanczos(A0, 5, tol=1e-10, return_vectors=True)
    for eps in (1e-1, 1e-6):
        A1 = A0 + eps * E
        exact = torch.linalg.eigvalsh(A1).flip(0)[:5]
        cold = hs.lanczos(A1, 5, tol=1e-10)
        warm = hs.lanczos(A1, 5, tol=1e-10, start=previous)
        block = hs.lanczos(A1, 5, tol=1e-10, start=previous.eigenvectors)
        for res in (warm, block):
            assert res.converged and torch.allclose(res.eigenvalues, exact, rtol=1e-9)
            assert (res.residuals <= 1e-4).all()  # explicit ‖Hv − λv‖ (the test allows r ≈ √(tol·θ·δ))
        assert warm.n_iter < cold.n_iter
    assert block.n_iter == 5 < warm.n_iter  # ε = 1e-6: the old Ritz vectors span the new top-5


def test_a_warm_start_after_a_training_step_matches_eigh():
    model, tokens = tiny(seed=1)
    previous = hs.lanczos(hs.Hessian(model, next_token_loss, tokens), 4, tol=1e-10, return_vectors=True)
    loss = next_token_loss(model, tokens)
    with torch.no_grad():
        for p, g in zip(model.parameters(), torch.autograd.grad(loss, list(model.parameters()))):
            p -= 0.05 * g  # one gradient step
    H = hs.Hessian(model, next_token_loss, tokens)
    exact = torch.linalg.eigvalsh(H.dense()).flip(0)[:4]
    warm = hs.lanczos(H, 4, tol=1e-10, start=previous)
    assert warm.converged and torch.allclose(warm.eigenvalues, exact, rtol=1e-8)
    assert (warm.residuals <= 1e-5 * exact[0]).all()


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

# -- bad input -----------------------------------------------------------------------------------


def test_bad_input_raises_value_error_naming_the_parameter(looped):
    model, tokens, H, D = looped
    with pytest.raises(ValueError, match="k must be <= the Hessian's dimension"):
        hs.lanczos(H, H.n + 1)
    with pytest.raises(ValueError, match="k must be"):
        hs.power_iteration(D, D.shape[0] + 1)
    with pytest.raises(ValueError, match="params selects no parameter"):
        hs.Hessian(model, next_token_loss, tokens, params=[])
    with pytest.raises(ValueError, match="params: 'W_X'"):
        hs.Hessian(model, next_token_loss, tokens, params="W_X")
    with pytest.raises(ValueError, match="method must be one of"):
        hs.Hessian(model, next_token_loss, tokens, method="finite")
    with pytest.raises(ValueError, match="v must have shape"):
        H.hvp(torch.ones(H.n + 1))
    with pytest.raises(ValueError, match="which must be one of"):
        hs.lanczos(H, 2, which="XX")
    with pytest.raises(ValueError, match="start: an EigResult must carry its eigenvectors"):
        hs.lanczos(H, 2, start=hs.lanczos(H, 2))
    with pytest.raises(ValueError, match="start must have shape"):
        hs.lanczos(H, 2, start=torch.ones(2, H.n + 1))
    with pytest.raises(ValueError, match="start must hold finite, nonzero vectors"):
        hs.lanczos(H, 2, start=torch.zeros(H.n))
