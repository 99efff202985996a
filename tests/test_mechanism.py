"""Previous-token and induction scores: brute force, hand-built heads, closed-form chance levels, and a
two-layer untied model with a planted previous-token head feeding a planted induction head."""

import math
from fractions import Fraction

import pytest
import torch

from loopvalley.looped.mechanism import (
    induction_chance,
    induction_score,
    induction_targets,
    mechanism_scores,
    previous_token_chance,
    previous_token_score,
)
from loopvalley.looped.models import ModelConfig, looped_attn, untied_attn

torch.set_num_threads(1)


def _tokens(B=4, T=12, V=3, seed=0):
    return torch.randint(0, V, (B, T), generator=torch.Generator().manual_seed(seed))


def _uniform(L, B, H, T):
    """Uniform causal attention: A[t, s] = 1/(t + 1) for s ≤ t."""
    rows = torch.ones(T, T, dtype=torch.float64).tril()
    return (rows / rows.sum(-1, keepdim=True)).expand(L, B, H, T, T).clone()


def _brute_targets(x):
    """S_t = {j + 1 : j < t, x_j = x_t}, by loops."""
    return [[{j + 1 for j in range(t) if x[j] == x[t]} for t in range(len(x))] for x in x.tolist()]


def test_induction_targets_match_brute_force():
    x = _tokens(B=5, T=15, V=4, seed=3)
    M = induction_targets(x)
    brute = _brute_targets(x)
    for b in range(5):
        for t in range(15):
            assert {int(s) for s in M[b, t].nonzero().flatten()} == brute[b][t]
    assert not M.triu(1).any()  # targets never lie in the future
    assert not M[:, 0].any()  # the first token has no earlier occurrence


def test_previous_token_score_of_hand_built_heads():
    L, B, H, T = 2, 3, 2, 10
    A = _uniform(L, B, H, T)
    prev = torch.zeros(T, T, dtype=torch.float64)
    prev[0, 0] = 1.0
    prev[torch.arange(1, T), torch.arange(T - 1)] = 1.0  # A[t, t−1] = 1
    A[1, :, 0] = prev  # loop 1, head 0: a previous-token head; everything else uniform
    s = previous_token_score(A)
    assert s.shape == (L, H)
    assert float(s[1, 0]) == 1.0
    # uniform: (1/(T−1)) Σ_{t=1}^{T−1} 1/(t+1) = (H_T − 1)/(T − 1), H_T the harmonic number
    H_T = sum(Fraction(1, k) for k in range(1, T + 1))
    chance = float((H_T - 1) / (T - 1))
    assert previous_token_chance(T) == pytest.approx(chance, rel=1e-15)
    for l, h in [(0, 0), (0, 1), (1, 1)]:
        assert float(s[l, h]) == pytest.approx(chance, rel=1e-12)


def _induction_pattern(x):
    """A hand-built induction head: A[t, s] = 1/|S_t| on S_t, and A[t, t] = 1 where S_t = ∅."""
    B, T = x.shape
    A = torch.zeros(B, T, T, dtype=torch.float64)
    for b, rows in enumerate(_brute_targets(x)):
        for t, S in enumerate(rows):
            for s in S or {t}:
                A[b, t, s] = 1.0 / max(len(S), 1)
    return A


@pytest.mark.parametrize("V", [3, 50])
def test_induction_score_of_hand_built_heads(V):
    x = _tokens(B=4, T=16, V=V, seed=1)
    L, B, H, T = 2, 4, 3, 16
    A = _uniform(L, B, H, T)
    A[0, :, 2] = _induction_pattern(x)
    s = induction_score(A, x)
    assert s.shape == (L, H)
    assert float(s[0, 2]) == pytest.approx(1.0, abs=1e-12)
    # uniform attention sits at its closed-form chance level (1/|Q|) Σ_{Q} |S_t|/(t+1), by brute force
    fracs = [Fraction(len(S), t + 1) for rows in _brute_targets(x) for t, S in enumerate(rows) if S]
    chance = float(sum(fracs) / len(fracs))
    assert induction_chance(x) == pytest.approx(chance, rel=1e-12)
    for l, h in [(0, 0), (0, 1), (1, 0), (1, 2)]:
        assert float(s[l, h]) == pytest.approx(chance, rel=1e-12)
    if V == 3:
        assert chance > 0.25  # a small vocabulary: most earlier tokens match, chance is far from 0
    else:
        assert chance < 0.2  # a large one: an eligible query has ~1 target among its t + 1 keys


def test_off_by_one_heads_score_zero_on_a_repeated_sequence():
    """On a random sequence of distinct tokens repeated twice, S_t = {t − n + 1} in the second half.
    A duplicate-token head (attends to the earlier occurrence j itself) and a previous-token head both
    score 0; the induction head (attends to j + 1) scores 1; uniform attention is near 0."""
    n, B = 10, 3
    g = torch.Generator().manual_seed(4)
    first = torch.stack([torch.randperm(40, generator=g)[:n] for _ in range(B)])
    x = torch.cat([first, first], 1)  # (B, 2n)
    T = 2 * n
    t = torch.arange(n, T)
    dup, ind, prev = (torch.zeros(1, B, 1, T, T, dtype=torch.float64) for _ in range(3))
    for A in (dup, ind, prev):
        A[..., torch.arange(n), torch.arange(n)] = 1.0  # first half: no earlier occurrence, attend to self
    dup[..., t, t - n] = 1.0
    ind[..., t, t - n + 1] = 1.0
    prev[..., t, t - 1] = 1.0
    assert float(induction_score(dup, x)) == 0.0
    assert float(induction_score(prev, x)) == 0.0
    assert float(induction_score(ind, x)) == 1.0
    # chance: (1/n) Σ_{t=n}^{2n−1} 1/(t+1)
    want = sum(1.0 / (k + 1) for k in range(n, T)) / n
    assert induction_chance(x) == pytest.approx(want, rel=1e-12) and want < 0.1
    # t = 1..n−1 attend to themselves (0), t = n..2n−1 to t − 1 (1): n of the T − 1 scored queries
    assert float(previous_token_score(prev)) == pytest.approx(n / (T - 1), rel=1e-12)


def test_no_eligible_query_gives_nan():
    x = torch.arange(8).view(1, 8)  # all distinct
    assert math.isnan(induction_chance(x))
    assert torch.isnan(induction_score(_uniform(1, 1, 1, 8), x)).all()


def _planted_induction_model(V=8, T=12, c_over_sqrt_d=25.0):
    """Untied-2 with hand-set weights. Residual = [token one-hot | position one-hot | previous token].

    Layer 0 (previous-token head): q_t = c·pos_t, k_s = pos_{s+1} → scores c·[s = t − 1]; it copies the
    token at t − 1 into the "previous token" block. Layer 1 (induction head): q_t = c·tok(x_t), k_s =
    tok(x_{s−1}) from that block → scores c·[x_{s−1} = x_t], i.e. attention to S_t.
    """
    d = 2 * V + T
    tok, pos, prv = 0, V, V + T
    cfg = ModelConfig(vocab_size=V, max_len=T, d_model=d, share_weights=False, n_loops=2)
    model = untied_attn(cfg, 2).double()
    c = c_over_sqrt_d * math.sqrt(d)  # logits are divided by √d_h = √d
    with torch.no_grad():
        for p in model.parameters():
            p.zero_()
        model.embed.weight[:, tok:tok + V] = torch.eye(V)
        model.pos[:, pos:pos + T] = torch.eye(T)
        a0, a1 = model.layers[0].attn, model.layers[1].attn
        a0.W_Q.weight[pos:pos + T, pos:pos + T] = c * torch.eye(T)  # q_t = c·e_pos(t)
        a0.W_K.weight[pos + 1:pos + T, pos:pos + T - 1] = torch.eye(T - 1)  # k_s = e_pos(s+1)
        a0.W_V.weight[prv:prv + V, tok:tok + V] = torch.eye(V)  # v_s = e_prev(x_s)
        a0.W_O.weight.copy_(torch.eye(d))
        a1.W_Q.weight[tok:tok + V, tok:tok + V] = c * torch.eye(V)  # q_t = c·e_tok(x_t)
        a1.W_K.weight[tok:tok + V, prv:prv + V] = torch.eye(V)  # k_s = e_tok(x_{s−1})
    return model


def test_planted_previous_token_then_induction_circuit():
    V, T = 8, 12
    model = _planted_induction_model(V, T)
    x = torch.randint(0, V - 1, (16, T), generator=torch.Generator().manual_seed(2))
    x[:, 0] = V - 1  # a BOS token that never recurs, so position 0 is never a false target
    scores = mechanism_scores(model, x)
    prev, ind = scores["previous_token"], scores["induction"]
    assert prev.shape == ind.shape == (2, 1)
    assert float(prev[0, 0]) > 1 - 1e-6  # layer 0 is a previous-token head
    assert float(ind[1, 0]) > 1 - 1e-6  # layer 1 is an induction head
    assert float(ind[0, 0]) < 0.5 and float(prev[1, 0]) < 0.5  # and neither is the other
    assert scores["induction_chance"] == pytest.approx(induction_chance(x))
    assert scores["previous_token_chance"] == pytest.approx(previous_token_chance(T))
    assert float(ind[1, 0]) > scores["induction_chance"] + 0.3


def test_mechanism_scores_per_loop_of_a_shared_model():
    cfg = ModelConfig(vocab_size=3, max_len=10, d_model=8, n_heads=2, init_std=0.5)
    model = looped_attn(cfg, 3, generator=torch.Generator().manual_seed(0))
    x = _tokens(B=3, T=10)
    s = mechanism_scores(model, x)
    maps = model.attention_maps(x)
    assert s["previous_token"].shape == s["induction"].shape == (3, 2)
    assert torch.equal(s["previous_token"], previous_token_score(maps))
    assert torch.allclose(s["induction"], induction_score(maps, x))


def test_bad_input_raises():
    x = _tokens(B=2, T=6)
    A = _uniform(1, 2, 1, 6)
    with pytest.raises(ValueError, match="maps"):
        previous_token_score(A[0])
    with pytest.raises(ValueError, match="maps"):
        previous_token_score(A[..., :5])
    with pytest.raises(ValueError, match="tokens"):
        induction_score(A, x[:, :5])
    with pytest.raises(ValueError, match="tokens"):
        induction_score(A, x.double())
    with pytest.raises(ValueError, match="length"):
        previous_token_chance(1)
