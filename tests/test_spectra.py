"""loopvalley.hessian.spectra against independent truth: closed forms of the statistics on planted spectra,
dense eigendecompositions for the Lanczos estimate, a recorded spectrum for the ε-free conditioning,
planted phases for the phase detector."""

import math

import numpy as np
import pytest
import torch

from loopvalley.hessian import spectra as sx
from loopvalley.looped.models import block_params

torch.set_num_threads(1)


def planted(r: int, n: int = 64, neg: int = 0) -> np.ndarray:
    """r eigenvalues equal to 1, ``neg`` equal to −1, the rest 0."""
    return np.concatenate([np.ones(r), -np.ones(neg), np.zeros(n - r - neg)])


def random_symmetric(eigs, seed=0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    Q, _ = torch.linalg.qr(torch.randn(len(eigs), len(eigs), generator=g, dtype=torch.float64))
    return Q @ torch.diag(torch.as_tensor(eigs, dtype=torch.float64)) @ Q.T


# -- the statistic family: closed forms --------------------------------------------------------------


def test_family_closed_forms_on_planted_spectra():
    f = sx.family(planted(7))
    assert f["effective_rank"] == pytest.approx(7) and f["participation"] == pytest.approx(7)
    assert f["outliers"] == 7 and f["positive_rank"] == pytest.approx(7) and f["steep_count"] == 7
    assert f["negative_mass"] == 0
    # a ±-symmetric saddle: half the |λ| mass is negative; the positive part has rank 5
    g = sx.family(planted(5, neg=5))
    assert g["negative_mass"] == pytest.approx(0.5) and g["effective_rank"] == pytest.approx(10)
    assert g["positive_rank"] == pytest.approx(5) and g["steep_count"] == 10 and g["outliers"] == 5
    # one dominant eigenvalue: participation → 1; outliers and steep count by their thresholds
    e = np.array([100.0, 8.0, 3.0, 1.0, 0.0])
    h = sx.family(e)
    assert h["participation"] == pytest.approx(112.0**2 / (100**2 + 64 + 9 + 1))
    assert h["outliers"] == 1 and h["steep_count"] == 2  # 8 ≥ 0.05·100 > 3
    p = e[:4] / 112.0
    assert h["effective_rank"] == pytest.approx(math.exp(-(p * np.log(p)).sum()))


def test_weighted_measure_equals_the_expanded_spectrum():
    vals, w = np.array([-0.5, 0.0, 0.2, 1.0]), np.array([3.0, 10.0, 4.0, 1.0])
    sp = sx.Spectrum(vals, w, 18, "lanczos", np.ones(4, bool), np.zeros(4))
    dense = sx.spectrum_of(np.repeat(vals, w.astype(int)))
    for k, v in sx.family(dense).items():
        assert sx.family(sp)[k] == pytest.approx(v), k


def test_statistics_bad_input():
    with pytest.raises(ValueError, match="frac must be in"):
        sx.n_outliers(planted(3), frac=1.5)
    with pytest.raises(ValueError, match="eigs must be"):
        sx.spectrum_of([])
    with pytest.raises(ValueError, match="tau_rel"):
        sx.flat_fraction(planted(3), tau_rel=0)


# -- the Lanczos estimate against the dense spectrum ----------------------------------------------------


def test_lanczos_is_exact_beyond_the_numerical_rank():
    # rank 30 (+ a 70-dimensional null space, like the attention Hessian's gauge directions)
    rng = np.random.default_rng(0)
    eigs = np.concatenate([rng.uniform(0.05, 3.0, 24), -rng.uniform(0.05, 1.0, 6), np.zeros(70)])
    H = random_symmetric(eigs)
    dense = sx.dense_spectrum(H)
    lz = sx.lanczos_spectrum(H, 40, generator=torch.Generator().manual_seed(1))
    assert lz.method == "lanczos" and lz.weights.sum() == pytest.approx(100)
    assert lz.converged.sum() == 30  # every nonzero eigenvalue, never the null space (relative test)
    for k, v in sx.family(dense).items():
        assert sx.family(lz)[k] == pytest.approx(v, rel=1e-6), k
    assert np.allclose(np.sort(lz.eigenvalues), np.sort(eigs[eigs != 0]), atol=1e-8)


def test_lanczos_top_values_are_eigenvalues_and_nodes_never_are():
    rng = np.random.default_rng(1)
    eigs = np.concatenate([[10.0, 9.0, 8.0], rng.uniform(-1, 1, 197)])
    H = random_symmetric(eigs, seed=2)
    lz = sx.lanczos_spectrum(H, 25, generator=torch.Generator().manual_seed(0))
    top = lz.top(3)
    assert np.allclose(top, [10, 9, 8], rtol=1e-6)
    assert np.isnan(lz.top(40)[-1])  # fewer than 40 converged: NaN, not a quadrature node
    assert lz.weights[~lz.converged].sum() == pytest.approx(200 - lz.converged.sum())
    # the old κ refuses a Lanczos estimate (its smallest valley "eigenvalue" would be a node)
    with pytest.raises(ValueError, match="dense spectrum"):
        sx.kappa_eps(lz, 1e-3)


def test_lanczos_statistics_on_a_real_attention_hessian():
    from loopvalley.hessian.operator import Hessian
    from loopvalley.looped.models import ModelConfig, looped_attn
    from loopvalley.train import next_token_loss

    cfg = ModelConfig(vocab_size=3, max_len=8, d_model=6, n_heads=1, layernorm=True)
    model = looped_attn(cfg, 3, torch.Generator().manual_seed(0))
    x = torch.randint(0, 3, (16, 8), generator=torch.Generator().manual_seed(1))
    H = Hessian(model, next_token_loss, x, block_params(model, "attention"))  # float64, n = 144
    dense = sx.dense_spectrum(H)
    full = sx.lanczos_spectrum(H, H.n, generator=torch.Generator().manual_seed(0))  # m = n: exact
    # the Krylov space closes early (the null space counts once); every eigenvalue estimate is one
    gap = np.abs(full.eigenvalues[:, None] - dense.values[None]).min(1)
    assert full.converged.sum() > 40 and gap.max() <= 1e-8 * dense.lambda_max
    for k, v in sx.family(dense).items():
        assert sx.family(full)[k] == pytest.approx(v, rel=1e-6, abs=1e-9), k


# -- ε-free valley conditioning ------------------------------------------------------------------------


def test_kappa_k_closed_form():
    e = np.concatenate([np.linspace(10, 1, 12), np.zeros(20)])  # λ_1 = 10, λ_10 = 10 − 9·(9/11)
    assert sx.kappa_k(e, k=10) == pytest.approx(10 / (10 - 9 * 9 / 11))
    assert np.isnan(sx.kappa_k(e, k=10, eps=5.0))  # fewer than 10 walls above ε
    assert sx.kappa_eps(e, 1e-3) == pytest.approx(10.0)  # no continuum: κ_ε is fine here


@pytest.fixture(scope="module")
def recorded_spectrum():
    """A dense spectrum recorded by the probe while a small Looped-Attn model trains (d = 8, so the
    attention Hessian has 256 dimensions and the near-zero continuum of a real one)."""
    from loopvalley.language.markov import MarkovConfig, make_markov_data
    from loopvalley.looped.models import ModelConfig, looped_attn
    from loopvalley.train import TrainConfig, Trainer

    data = make_markov_data(MarkovConfig(vocab_size=3, seq_len=16), 256, 32, torch.Generator().manual_seed(0))
    model = looped_attn(ModelConfig(vocab_size=3, max_len=16, d_model=8, layernorm=True), 3, torch.Generator().manual_seed(0))
    probe = sx.SpectrumProbe(steps=(60,), method="dense", dtype=torch.float64)
    cfg = TrainConfig(lr=3e-3, schedule="warmup_constant", warmup_steps=10, batch_size=32, max_steps=60,
                      eval_every=60, probe_batch_size=64)
    rec = Trainer(model, data.train, None, cfg, probes=[probe]).run()
    steps, sps = sx.record_spectra(rec)
    assert list(steps) == [60] and sps[0].n == 256
    return sps[0]


def test_new_kappa_moves_less_than_10_percent_over_the_eps_sweep(recorded_spectrum):
    sw = sx.kappa_eps_sweep(recorded_spectrum, eps_rels=(1e-4, 2e-4, 5e-4, 1e-3))
    assert sw["change_k"] < 0.10  # κ_k: < 10 % across ε ∈ [1e-4, 1e-3]·λ_max
    assert sw["change_eps"] > 2.0  # κ_ε = λ_max / min{λ > ε} moves ×3 or more on the same spectrum
    assert np.all(sw["kappa_eps"] <= 1 / sw["eps_rel"] + 1e-9)  # and it is capped at 1/ε_rel


# -- phases in steps -------------------------------------------------------------------------------------

STEPS = [0, 20, 40, 80, 150, 300, 600, 800, 1000, 1200]


def sequence(ranks, n=128):
    return [sx.spectrum_of(np.concatenate([np.linspace(1.0, 0.5, r), -0.01 * np.ones(2), np.zeros(n - r - 2)]))
            for r in ranks]


def test_probe_records_views_on_its_schedule_and_keeps_states():
    from loopvalley.language.markov import MarkovConfig, make_markov_data
    from loopvalley.looped.models import ModelConfig, untied_attn
    from loopvalley.train import TrainConfig, Trainer

    data = make_markov_data(MarkovConfig(vocab_size=3, seq_len=8), 64, 16, torch.Generator().manual_seed(0))
    model = untied_attn(ModelConfig(vocab_size=3, max_len=8, d_model=4, layernorm=True), 3, torch.Generator().manual_seed(0))
    assert len(block_params(model, "attention")) == 12 and len(block_params(model, "qk")) == 6
    probe = sx.SpectrumProbe(steps=(0, 5), batches={"heldout": data.test["complex"][:8]}, n_steps=20,
                             views=(("attention", "train"), ("attention", "heldout"), ("qk", "train")), keep_states=True)
    rec = Trainer(model, data.train, None, TrainConfig(max_steps=8, batch_size=16, probe_batch_size=8, eval_every=8),
                  probes=[probe]).run()
    rows = rec.probes["spectra"]
    assert rows["step"] == [0, 5, 8]  # the schedule and the final call
    for view, n in (("attention/train", 192), ("attention/heldout", 192), ("qk/train", 96)):
        steps, sps = sx.record_spectra(rec, view)
        assert all(sp.n == n and sp.method == "lanczos" and sp.n_hvp <= 20 for sp in sps)
    assert sorted(probe.states) == [0, 5, 8]
    with pytest.raises(ValueError, match="views: batch"):
        sx.SpectrumProbe(steps=(0,), views=(("attention", "heldout"),))
    with pytest.raises(ValueError, match="block"):
        block_params(model, "mlp")


# -- a Lanczos run read at fewer steps, and continued to more ------------------------------------------


def _same(a, b):
    return all(np.array_equal(getattr(a, f), getattr(b, f)) for f in ("values", "weights", "converged", "residuals"))


def test_truncated_run_is_the_shorter_run_and_a_resumed_run_the_longer_one():
    """Lanczos is a recurrence: a run's first m steps are an m-step run from the same start (bit for bit),
    so a kept tridiagonal can be re-read at any shorter length, and a kept basis continued."""
    rng = np.random.default_rng(3)
    H = random_symmetric(np.concatenate([rng.uniform(0.1, 5.0, 40), rng.uniform(-1, 0.1, 110)]), seed=4)
    run = lambda m, **kw: sx.lanczos_spectrum(H, m, generator=torch.Generator().manual_seed(5), **kw)  # noqa: E731
    long, short = run(60), run(25)
    assert _same(sx.truncate(long, 25), short)
    assert _same(sx.truncate(sx.Spectrum.from_row(long.to_row()), 25), short)  # the record keeps the tridiagonal
    resumed = run(60, resume=short)
    assert _same(resumed, long) and resumed.n_hvp == 35  # only the products after step 25 are spent
    assert _same(run(20, resume=short), run(20))  # shorter than the resumed run: read off it
    with pytest.raises(ValueError, match="n_steps"):
        sx.truncate(short, 26)
    with pytest.raises(ValueError, match="basis"):
        run(60, resume=sx.Spectrum.from_row(short.to_row()))  # a record keeps no Lanczos vectors


