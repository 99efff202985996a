"""Chapter 04's exercise checkers: check_causal_attention and check_previous_token_score accept the
reference, an independent implementation and the stub, and name the mistake of plausible wrong ones."""

import math
import re

import pytest
import torch
import torch.nn.functional as F

from loopvalley.checking import ExerciseError
from loopvalley.looped.exercises_ch04 import (
    causal_attention_reference,
    check_causal_attention,
    check_previous_token_score,
    previous_token_score_reference,
)
from loopvalley.looped.models import ModelConfig, looped_attn


def _qkv(seed=0, B=2, H=3, T=7, d=8):
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(B, H, T, d, generator=g, dtype=torch.float64) for _ in range(3)]


# -- causal attention --------------------------------------------------------------------------------

def test_reference_is_pytorchs_causal_attention():
    q, k, v = _qkv(1)
    torch.testing.assert_close(causal_attention_reference(q, k, v), F.scaled_dot_product_attention(q, k, v, is_causal=True))


def test_reference_is_what_the_models_layer_computes():
    """The library's AttnLayer: W_O · causal_attention(W_Q h, W_K h, W_V h), heads split and merged."""
    cfg = ModelConfig(vocab_size=3, max_len=8, d_model=8, n_heads=2, layernorm=True)
    model = looped_attn(cfg, 3, generator=torch.Generator().manual_seed(0)).double()
    h = torch.randn(2, 6, 8, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    a = model.attn
    split = lambda x: x.view(2, 6, 2, 4).transpose(1, 2)  # noqa: E731  (B, H, T, d_h)
    out = causal_attention_reference(split(a.W_Q(h)), split(a.W_K(h)), split(a.W_V(h)))
    want = a.W_O(out.transpose(1, 2).reshape(2, 6, 8))
    torch.testing.assert_close(want, a(h, backend="math"))


def brute_force_attention(q, k, v):
    out = torch.zeros_like(q)
    T, d = q.shape[-2:]
    for i in range(T):
        s = torch.stack([(q[..., i, :] * k[..., j, :]).sum(-1) / math.sqrt(d) for j in range(i + 1)], -1)  # (B, H, i+1)
        w = torch.exp(s - s.max(-1, keepdim=True).values)
        w = w / w.sum(-1, keepdim=True)
        out[..., i, :] = (w[..., None] * v[..., : i + 1, :]).sum(-2)
    return out


def test_accepts_a_correct_implementation(capsys):
    assert check_causal_attention(brute_force_attention) is brute_force_attention
    assert "✓ causal_attention passes" in capsys.readouterr().out


def test_accepts_the_reference():
    assert check_causal_attention(causal_attention_reference) is causal_attention_reference


def test_stub_falls_back_with_a_notice(capsys):
    def stub(q, k, v):
        raise NotImplementedError

    assert check_causal_attention(stub) is causal_attention_reference
    assert "not implemented yet" in capsys.readouterr().out


def _attn(scale=None, mask="before", axis=-1, transpose=False, weights_only=False, diag=1):
    def fn(q, k, v):
        T, d = q.shape[-2:]
        s = q @ k.transpose(-2, -1) * (1 / math.sqrt(d) if scale is None else scale(d))
        if transpose:
            s = s.transpose(-2, -1)
        future = torch.ones(T, T, dtype=torch.bool).triu(diag)
        if mask == "before":
            w = s.masked_fill(future, float("-inf")).softmax(axis)
        elif mask == "after":
            w = s.softmax(axis).masked_fill(future, 0.0)
        else:
            w = s.softmax(axis)
        return w if weights_only else w @ v
    return fn


@pytest.mark.parametrize("fn, message", [
    (_attn(mask="none"), "it is not causal: changing the keys and values at positions 4..6 changed the output at position 0"),
    (_attn(mask="after"), "the mask is applied after the softmax"),
    (_attn(diag=0), "query 0 has no key left"),
    (_attn(scale=lambda d: 1.0), "the scores are not scaled: divide Q Kᵀ by √d_h"),
    (_attn(scale=lambda d: 1.0 / d), "the scores are divided by d_h = 8; the scale is 1/√d_h"),
    (_attn(axis=-2), "the softmax runs over the wrong axis"),
    (_attn(transpose=True), "the scores are transposed"),
    (_attn(weights_only=True), "the attention weights A; the output is A·V"),
    (lambda q, k, v: -causal_attention_reference(q, k, v), "the wrong sign"),
])
def test_rejects_plausible_mistakes_with_the_reason(fn, message):
    with pytest.raises(ExerciseError, match=re.escape(message)):
        check_causal_attention(fn)


def test_a_crash_is_reported_in_one_line():
    with pytest.raises(ExerciseError, match="raised RuntimeError"):
        check_causal_attention(lambda q, k, v: q @ k @ v)


# -- previous-token score ----------------------------------------------------------------------------

def _maps(seed=0, L=3, B=4, H=2, T=9):
    g = torch.Generator().manual_seed(seed)
    s = torch.randn(L, B, H, T, T, generator=g, dtype=torch.float64)
    return s.masked_fill(torch.ones(T, T, dtype=torch.bool).triu(1), float("-inf")).softmax(-1)


def brute_force_prev(maps):
    L, B, H, T, _ = maps.shape
    out = torch.zeros(L, H, dtype=maps.dtype)
    for l in range(L):
        for h in range(H):
            out[l, h] = sum(float(maps[l, b, h, t, t - 1]) for b in range(B) for t in range(1, T)) / (B * (T - 1))
    return out


def test_previous_token_reference_is_the_brute_force_mean():
    m = _maps(3)
    torch.testing.assert_close(previous_token_score_reference(m), brute_force_prev(m))
    # a pure previous-token head scores 1 (query 0 attends to itself: it has no predecessor)
    T = 6
    pure = torch.zeros(1, 2, 1, T, T, dtype=torch.float64)
    pure[..., 0, 0] = 1.0
    pure[..., torch.arange(1, T), torch.arange(T - 1)] = 1.0
    torch.testing.assert_close(previous_token_score_reference(pure), torch.ones(1, 1, dtype=torch.float64))


def test_previous_token_checker_accepts_correct_ones(capsys):
    assert check_previous_token_score(brute_force_prev) is brute_force_prev
    assert check_previous_token_score(previous_token_score_reference) is previous_token_score_reference
    assert "✓ previous_token_score passes" in capsys.readouterr().out


def test_previous_token_stub_falls_back(capsys):
    def stub(maps):
        raise NotImplementedError

    assert check_previous_token_score(stub) is previous_token_score_reference
    assert "not implemented yet" in capsys.readouterr().out


def _sub(maps, offset=-1):
    return maps.diagonal(offset=offset, dim1=-2, dim2=-1)  # (L, B, H, T − |offset|)


@pytest.mark.parametrize("fn, message", [
    (lambda m: _sub(m, 0).mean(dim=(1, 3)), "you read the diagonal A[t, t]"),
    (lambda m: _sub(m, 1).mean(dim=(1, 3)), "it is 0 everywhere: A[t, t + 1] is a later key"),
    (lambda m: _sub(m).sum(-1).mean(1) / m.shape[-1], "off by a factor (T − 1)/T"),
    (lambda m: _sub(m).sum(dim=(1, 3)), "a sum over the batch and the positions, not a mean: divide by B·(T − 1) = 24"),
    (lambda m: _sub(m).mean(dim=(1, 2, 3)), "every head gets its own"),
    (lambda m: _sub(m).mean(dim=3), "average over the batch (axis 1) as well"),
    (lambda m: _sub(m).mean(dim=1), "average over the query positions t"),
])
def test_previous_token_rejects_plausible_mistakes(fn, message):
    with pytest.raises(ExerciseError, match=re.escape(message)):
        check_previous_token_score(fn)


# -- looped_forward (the mechanism) -----------------------------------------------------------------
from loopvalley.looped.exercises_ch04 import (  # noqa: E402
    _MODEL,
    _variant,
    check_looped_forward,
    looped_forward_reference,
)


def looped_by_hand(model, x, n_loops):
    """Independent truth: one head, pre-LayerNorm, written with nn.functional pieces."""
    a, T = model.attn, x.shape[1]
    E = F.embedding(x, model.embed.weight) + model.pos[:T]
    for _ in range(n_loops):
        Eb = F.layer_norm(E, E.shape[-1:], model.ln_attn.weight, model.ln_attn.bias, model.ln_attn.eps)
        q, k, v = F.linear(Eb, a.W_Q.weight), F.linear(Eb, a.W_K.weight), F.linear(Eb, a.W_V.weight)
        E = E + F.linear(brute_force_attention(q[:, None], k[:, None], v[:, None])[:, 0], a.W_O.weight)
    return F.linear(E, model.readout.weight)


def test_looped_reference_is_the_models_forward_pass():
    x = torch.randint(0, 5, (2, 7), generator=torch.Generator().manual_seed(3))
    for n in (1, 2, 3):
        torch.testing.assert_close(looped_forward_reference(_MODEL, x, n), looped_by_hand(_MODEL, x, n))


@pytest.mark.parametrize("fn", [looped_by_hand, lambda m, x, n: _variant(m, x, n)])
def test_looped_accepts_correct_implementations(fn):
    assert check_looped_forward(fn) is fn


def test_looped_stub_falls_back(capsys):
    def stub(*args):
        raise NotImplementedError

    assert check_looped_forward(stub) is looped_forward_reference
    assert "not implemented yet" in capsys.readouterr().out


@pytest.mark.parametrize("fn, message", [
    (lambda m, x, n: _variant(m, x, n, residual=False), "the residual is missing"),
    (lambda m, x, n: _variant(m, x, n, ln="once"), "the LayerNorm is applied once"),
    (lambda m, x, n: _variant(m, x, n, ln="none"), "the pre-LayerNorm is missing"),
    (lambda m, x, n: _variant(m, x, n, ln="noaffine"), "the LayerNorm lacks its weight and bias"),
    (lambda m, x, n: _variant(m, x, n, positions=False), "the positions are missing"),
    (lambda m, x, n: _variant(m, x, n, mask=False), "it is not causal"),
    (lambda m, x, n: _variant(m, x, n, scale="none"), "the scores are not scaled"),
    (lambda m, x, n: _variant(m, x, n, scale="d"), "the scale is 1/√d_h"),
    (lambda m, x, n: _variant(m, x, n, transpose=True), "the projections are transposed"),
    (lambda m, x, n: _variant(m, x, max(n - 1, 1)), "one loop too few"),
    (lambda m, x, n: _variant(m, x, n + 1), "one loop too many"),
    (lambda m, x, n: _variant(m, x, n) @ m.readout.weight.pinverse().T, "it returned the residual stream"),
    (lambda m, x, n: m(x, n_loops=n), "looped_forward calls model(...)"),
])
def test_looped_rejects_plausible_mistakes(fn, message):
    with pytest.raises(ExerciseError, match=re.escape(message)):
        check_looped_forward(fn)


def test_looped_refusal_leaves_the_model_intact():
    x = torch.randint(0, 5, (1, 4), generator=torch.Generator().manual_seed(0))
    with pytest.raises(ExerciseError):
        check_looped_forward(lambda m, x, n: m.attn(m.ln_attn(m.embed_tokens(x))))
    assert "forward" not in vars(_MODEL) and "forward" not in vars(_MODEL.attn)
    _MODEL(x)  # still callable
