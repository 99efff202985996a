"""The Markov language: sampling, information content and reference predictors against brute force."""

import itertools
import math

import pytest
import torch

from loopvalley.language.markov import (
    MarkovConfig,
    information_content,
    make_markov_data,
    predictive,
    predictor_metrics,
    sample_chains,
    sample_gamma,
    sample_sequences,
    stationary,
    surprisal,
)

torch.set_num_threads(1)
P3 = torch.tensor([[[0.7, 0.2, 0.1], [0.1, 0.1, 0.8], [0.3, 0.5, 0.2]]], dtype=torch.float64)


def test_gamma_and_dirichlet_moments():
    g = torch.Generator().manual_seed(0)
    for a in (0.3, 2.5):
        x = sample_gamma((100_000,), a, g)
        assert abs(x.mean() - a) < 0.02 * max(a, 1) and abs(x.var() - a) < 0.05 * max(a, 1)
    P = sample_chains(20_000, 3, 0.5, g)
    assert torch.allclose(P.sum(-1), torch.ones(20_000, 3, dtype=torch.float64))
    # Dirichlet(α·1): E[P_ij] = 1/V, Var = (1/V)(1 − 1/V)/(Vα + 1)
    assert abs(P.mean() - 1 / 3) < 5e-3
    assert abs(P[..., 0].var() - (1 / 3) * (2 / 3) / 2.5) < 5e-3


def test_stationary_distribution():
    P = sample_chains(50, 4, 0.7, torch.Generator().manual_seed(1))
    pi = stationary(P)
    assert torch.allclose(torch.einsum("ni,nij->nj", pi, P), pi, atol=1e-10)
    assert torch.allclose(pi.sum(-1), torch.ones(50, dtype=torch.float64))


def test_sampled_transitions_match_the_chain():
    g = torch.Generator().manual_seed(2)
    P = P3.expand(4000, 3, 3).contiguous()
    x = sample_sequences(P, stationary(P), 50, g)
    counts = torch.zeros(3, 3, dtype=torch.float64)
    counts.index_put_((x[:, :-1].reshape(-1), x[:, 1:].reshape(-1)), torch.ones(x[:, 1:].numel(), dtype=torch.float64), accumulate=True)
    assert torch.allclose(counts / counts.sum(1, keepdim=True), P3[0], atol=0.01)


def _all_sequences(V, T):
    return torch.tensor(list(itertools.product(range(V), repeat=T)))


def test_ic_and_bayes_accuracy_against_enumeration():
    """E[IC] over every sequence equals the chain's mutual information I(X_t; X_{t-1}); E[Bayes acc]
    equals Σ_i π_i max_j P_ij; the sequence probabilities sum to 1."""
    V, T = 3, 4
    pi = stationary(P3)[0]
    x = _all_sequences(V, T)  # (V^T, T)
    n = x.shape[0]
    P = P3.expand(n, V, V)
    pis = pi.expand(n, V)
    logp = torch.log(pi[x[:, 0]]) + torch.log(P3[0][x[:, :-1], x[:, 1:]]).sum(1)
    w = logp.exp()
    assert abs(float(w.sum()) - 1) < 1e-12
    mi = sum(float(pi[i] * P3[0, i, j] * math.log(P3[0, i, j] / pi[j])) for i in range(V) for j in range(V))
    assert abs(float((w * information_content(x, P, pis)).sum()) - mi) < 1e-12
    # surprisal is −log p(x) / T
    assert torch.allclose(surprisal(x, P, pis), -logp / T)
    acc = (predictive(x, "bayes", P).argmax(-1) == x[:, 1:]).double().mean(1)
    assert abs(float((w * acc).sum()) - float((pi * P3[0].max(1).values).sum())) < 1e-12


def test_ic_by_hand():
    pi = stationary(P3)[0]
    x = torch.tensor([[0, 0, 2]])
    want = (math.log(0.7 / pi[0]) + math.log(0.1 / pi[2])) / 2
    assert abs(float(information_content(x, P3, pi[None])) - want) < 1e-12


def test_reference_predictors_on_a_hand_made_sequence():
    x = torch.tensor([[0, 0, 1, 0]])
    uni = predictive(x, "unigram", alpha=1.0, vocab_size=2)[0]
    # after x≤1 = (0): counts (1, 0) → (2/3, 1/3); after (0,0,1): counts (2, 1) → (3/5, 2/5)
    assert torch.allclose(uni, torch.tensor([[2 / 3, 1 / 3], [3 / 4, 1 / 4], [3 / 5, 2 / 5]], dtype=torch.float64))
    bi = predictive(x, "bigram", alpha=1.0, vocab_size=2)[0]
    # t=1: no transitions yet → (1/2, 1/2); t=2: row 0 saw 0→0 → (2/3, 1/3); t=3: row 1 empty → (1/2, 1/2)
    assert torch.allclose(bi, torch.tensor([[0.5, 0.5], [2 / 3, 1 / 3], [0.5, 0.5]], dtype=torch.float64))
    m = predictor_metrics(bi[None], x)
    assert abs(m["loss"] - (-(math.log(0.5) + math.log(1 / 3) + math.log(0.5)) / 3)) < 1e-12
    assert abs(m["acc"] - 2 / 3) < 1e-12  # argmax ties go to token 0: right at t=1 and t=3
    assert torch.allclose(predictive(x, "uniform", vocab_size=2), torch.full((1, 3, 2), 0.5, dtype=torch.float64))


def test_dataset_splits_and_determinism():
    cfg = MarkovConfig(vocab_size=3, seq_len=16, alpha=0.5)
    a = make_markov_data(cfg, 256, 64, torch.Generator().manual_seed(0))
    b = make_markov_data(cfg, 256, 64, torch.Generator().manual_seed(0))
    c = make_markov_data(cfg, 256, 64, torch.Generator().manual_seed(1))
    assert a.train.shape == (256, 16) and a.test["simple"].shape == a.test["complex"].shape == (64, 16)
    assert torch.equal(a.train, b.train) and torch.equal(a.test["complex"], b.test["complex"])
    assert not torch.equal(a.train, c.train)
    lo, hi = a.thresholds
    assert lo < hi and bool((a.ic["simple"] <= lo).all()) and bool((a.ic["complex"] >= hi).all())
    # IC grades what a frequency model misses: the unigram-to-Bayes gap is larger on the complex split
    r = a.references
    gap = {s: r[s]["bayes"]["acc"] - r[s]["unigram"]["acc"] for s in r}
    assert gap["complex"] > gap["simple"] + 0.1


@pytest.mark.parametrize(
    "kwargs, name",
    [({"vocab_size": 1}, "vocab_size"), ({"seq_len": 1}, "seq_len"), ({"alpha": 0.0}, "alpha"),
     ({"alpha": -1.0}, "alpha"), ({"simple_quantile": 0.9, "complex_quantile": 0.5}, "simple_quantile")],
)
def test_bad_config_raises(kwargs, name):
    with pytest.raises(ValueError, match=name):
        MarkovConfig(**kwargs)


def test_bad_arguments_raise():
    g = torch.Generator().manual_seed(0)
    with pytest.raises(ValueError, match="alpha"):
        sample_chains(2, 3, 0.0, g)
    with pytest.raises(ValueError, match="vocab_size"):
        sample_chains(2, 1, 1.0, g)
    with pytest.raises(ValueError, match="length"):
        sample_sequences(P3, stationary(P3), 1, g)
    with pytest.raises(ValueError, match="kind"):
        predictive(torch.zeros(1, 3, dtype=torch.long), "trigram")
