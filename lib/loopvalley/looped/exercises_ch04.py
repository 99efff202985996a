"""Chapter 04's exercises: one loop's causal attention, the looped forward pass, and the
previous-token score of a loop.

1. ``causal_attention(q, k, v)``: the attention of one loop, for a batch and several heads,

       out = softmax(Q Kᵀ / √d_h + M) V,   M[i, j] = −∞ for j > i (a query never sees a later key),

   with ``q, k, v`` of shape ``(B, H, T, d_h)`` and ``out`` of the same shape.
   :func:`check_causal_attention` compares it with :func:`causal_attention_reference` and names the
   usual mistakes: returning the weights instead of ``A V``, a mask applied after the softmax, no
   mask (checked by changing the *later* keys and values and watching the earlier outputs move), a
   missing or wrong 1/√d_h, the softmax over the wrong axis, transposed scores.

2. ``previous_token_score(maps)``: from attention maps ``(L, B, H, T, T)`` (one per loop, as
   ``model.attention_maps(tokens)`` returns), the mean attention from query t to key t − 1,

       prev[l, h] = 1/(B (T − 1)) Σ_b Σ_{t=1}^{T−1} A[l, b, h, t, t − 1],     shape (L, H),

   checked against :func:`loopvalley.looped.mechanism.previous_token_score`: the diagonal instead of the
   sub-diagonal, a future key, the wrong count (query 0 has no previous token), pooled heads or an
   unpooled batch.

3. ``looped_forward(model, x, n_loops)``: the mechanism of the chapter — Looped-Attn's logits written
   out from the model's weights (embedding + positions, then ``n_loops`` times a pre-LayerNorm causal
   attention added to the residual stream, then the readout), checked by :func:`check_looped_forward`
   against ``model(x, n_loops=n_loops)`` of :class:`loopvalley.looped.models.LoopedAttn`. It names the
   usual mistakes: no readout, a missing residual, the LayerNorm applied once (or not at all, or
   without its weight and bias), no positions, no causal mask, the wrong score scale, nn.Linear's
   weight used untransposed, one loop too few or too many — and it refuses a call of ``model(...)``
   or ``model.attn(...)`` (the point is to write them).

Introduced in notebooks/04_single_vs_looped.
"""

from __future__ import annotations

import contextlib

import math
from typing import Callable

import numpy as np
import torch

from loopvalley.checking import ExerciseError, _np, close, guided_checks, shape_hint
from loopvalley.looped.mechanism import previous_token_score as _previous_token_score
from loopvalley.looped.models import ModelConfig, looped_attn

# --------------------------------------------------------------------------------------------
# causal_attention
# --------------------------------------------------------------------------------------------


def causal_attention_reference(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """softmax(Q Kᵀ/√d_h + M) V with the causal mask M (−∞ above the diagonal): ``(B, H, T, d_h)``
    for ``q, k, v`` of that shape — what one loop of ``loopvalley.looped.models.AttnLayer`` computes
    between its projections.

    Introduced in notebooks/04_single_vs_looped.
    """
    T, d_h = q.shape[-2], q.shape[-1]
    scores = q @ k.transpose(-2, -1) / math.sqrt(d_h)  # Q Kᵀ / √d_h: (B, H, T, T)
    future = torch.ones(T, T, dtype=torch.bool, device=q.device).triu(1)  # j > i: (T, T)
    weights = scores.masked_fill(future, float("-inf")).softmax(dim=-1)  # A = softmax(· + M) over keys j
    return weights @ v  # (B, H, T, d_h)


def _qkv(B: int, H: int, T: int, d: int, seed: int, spread: float = 1.0):
    g = torch.Generator().manual_seed(seed)
    return tuple(spread * torch.randn(B, H, T, d, generator=g, dtype=torch.float64) for _ in range(3))


_ATTN_CASES = [
    (_qkv(2, 1, 6, 4, 0), "2 sequences, 1 head, T = 6, d_h = 4"),
    (_qkv(3, 2, 9, 8, 1), "3 sequences, 2 heads, T = 9, d_h = 8"),
    (_qkv(1, 1, 1, 5, 2), "T = 1: the only key is the query's own position"),
    (_qkv(2, 3, 12, 16, 3, spread=3.0), "large scores (a peaked softmax), 3 heads"),
]


def _weights(q, k, scale: float, axis: int = -1, transpose: bool = False):
    """Masked softmax weights with a given score scale / softmax axis / (mis)ordered scores."""
    T = q.shape[-2]
    s = q @ k.transpose(-2, -1) * scale  # (B, H, T, T)
    if transpose:
        s = s.transpose(-2, -1)  # s[i, j] = k_i · q_j
    future = torch.ones(T, T, dtype=torch.bool).triu(1)
    return s.masked_fill(future, float("-inf")).softmax(dim=axis)


def _attn_hints():
    q, k, v = _qkv(2, 2, 7, 8, 11)  # T = 7 ≠ d_h = 8 (weights and output differ in shape); 1, 1/√8, 1/8 differ
    T, d = q.shape[-2:]
    want = causal_attention_reference(q, k, v)
    scores = q @ k.transpose(-2, -1) / math.sqrt(d)  # (B, H, T, T)
    lower = torch.ones(T, T, dtype=torch.float64).tril()  # 1 for keys j ≤ i

    def shape(fn):
        got = fn(q, k, v)
        g = _np(got)
        if g.shape == (2, 2, T, T):
            return ("it returned shape (B, H, T, T) — the attention weights A; the output is A·V, shape "
                    f"{tuple(want.shape)} (B, H, T, d_h)")
        return shape_hint(got, want, "the output")

    def mask_after_softmax(fn):
        got = fn(q, k, v)
        post = (scores.softmax(-1) * lower) @ v  # softmax over all keys, then the future zeroed
        if close(got, post):
            return ("the mask is applied after the softmax: each query's weights then sum to less than 1 and still "
                    "depend on the later keys; put −∞ on the scores above the diagonal *before* the softmax")
        return None

    def causal(fn):
        if np.isnan(_np(fn(q, k, v))[..., 0, :]).all():
            return ("the output at position 0 is NaN: the mask also hides the diagonal, so query 0 has no key left; "
                    "mask the keys j > i only (a query attends to its own position too: triu(diagonal=1))")
        # change the keys and values of the later positions j ≥ 4: the outputs at i < 4 must not move
        k2, v2 = k.clone(), v.clone()
        k2[..., 4:, :] += 1.5
        v2[..., 4:, :] -= 2.0
        a, b = _np(fn(q, k, v))[..., :4, :], _np(fn(q, k2, v2))[..., :4, :]  # (B, H, 4, d_h)
        moved = np.abs(a - b).max(axis=(0, 1, 3)) > 1e-9 + 1e-6 * np.abs(a).max()  # (4,)
        if moved.any():
            i = int(np.flatnonzero(moved)[0])
            return (f"it is not causal: changing the keys and values at positions 4..{T - 1} changed the output at "
                    f"position {i} < 4; mask the scores above the diagonal (key j > query i) with −∞ before the softmax")
        return None

    def scale(fn):
        got = fn(q, k, v)
        if close(got, _weights(q, k, 1.0) @ v):
            return f"the scores are not scaled: divide Q Kᵀ by √d_h (here √{d} ≈ {math.sqrt(d):.3g}) before the softmax"
        if close(got, _weights(q, k, 1.0 / d) @ v):
            return f"the scores are divided by d_h = {d}; the scale is 1/√d_h (here 1/√{d} ≈ {1 / math.sqrt(d):.3g})"
        return None

    def axis(fn):
        got = fn(q, k, v)
        if close(got, _weights(q, k, 1 / math.sqrt(d), axis=-2) @ v):
            return ("the softmax runs over the wrong axis (the queries): normalise over the keys j, the last axis, "
                    "so that each query's weights sum to 1 (softmax(dim=-1))")
        if close(got, _weights(q, k, 1 / math.sqrt(d), transpose=True) @ v):
            return ("the scores are transposed: score[i, j] must be q_i · k_j (query i, key j), i.e. Q Kᵀ, not K Qᵀ")
        if close(got, -want):
            return "the output has the wrong sign (it is −1 × softmax(Q Kᵀ/√d_h + M) V)"
        return None

    return [shape, mask_after_softmax, causal, scale, axis]


def check_causal_attention(fn: Callable) -> Callable:
    """Check a student's ``causal_attention(q, k, v)`` (``(B, H, T, d_h)`` each → ``(B, H, T, d_h)``)
    against :func:`causal_attention_reference`; returns the function to use next (the reference
    while ``fn`` is the stub).

    Introduced in notebooks/04_single_vs_looped.
    """
    return guided_checks("causal_attention", fn, causal_attention_reference, _ATTN_CASES, _attn_hints())


# --------------------------------------------------------------------------------------------
# previous_token_score
# --------------------------------------------------------------------------------------------


def previous_token_score_reference(maps: torch.Tensor) -> torch.Tensor:
    """Mean attention from t to t − 1 per loop and head, ``(L, H)``: the library's
    :func:`loopvalley.looped.mechanism.previous_token_score`.

    Introduced in notebooks/04_single_vs_looped.
    """
    return _previous_token_score(maps)


def random_attention_maps(L: int, B: int, H: int, T: int, seed: int, peak: float = 1.0) -> torch.Tensor:
    """Random causal attention maps (rows are distributions over keys j ≤ i): ``(L, B, H, T, T)``; the
    checkers' test inputs here and in :mod:`loopvalley.looped.exercises_ch09`."""
    g = torch.Generator().manual_seed(seed)
    s = peak * torch.randn(L, B, H, T, T, generator=g, dtype=torch.float64)
    future = torch.ones(T, T, dtype=torch.bool).triu(1)
    return s.masked_fill(future, float("-inf")).softmax(-1)


_PREV_CASES = [
    ((random_attention_maps(3, 4, 1, 8, 0),), "3 loops, 4 sequences, 1 head, T = 8"),
    ((random_attention_maps(2, 3, 2, 5, 1, peak=4.0),), "2 loops, 2 heads, peaked maps"),
    ((random_attention_maps(1, 1, 1, 2, 2),), "T = 2: a single query (t = 1) has a previous token"),
    ((random_attention_maps(3, 2, 3, 16, 3),), "3 loops, 3 heads, T = 16"),
]


def _prev_hints():
    maps = random_attention_maps(3, 4, 2, 7, 21)  # L = 3, B = 4, H = 2, T = 7: every axis has its own length
    L, B, H, T = maps.shape[:4]
    want = previous_token_score_reference(maps)
    sub = maps.diagonal(offset=-1, dim1=-2, dim2=-1)  # A[..., t, t−1]: (L, B, H, T−1)

    def shape(fn):
        got = _np(fn(maps))
        if got.shape == (L,):
            return (f"it has shape ({L},): one score per loop, but every head gets its own — average over the batch "
                    f"and the query positions only, shape (L, H) = {(L, H)}")
        if got.shape == (L, B, H):
            return f"it has shape {(L, B, H)}: average over the batch (axis 1) as well, shape (L, H) = {(L, H)}"
        if got.shape in ((L, H, T - 1), (L, B, H, T - 1)):
            return f"it has shape {got.shape}: average over the query positions t (the last axis) as well, shape (L, H)"
        return shape_hint(got, want, "the score")

    def offset(fn):
        got = _np(fn(maps))
        if close(got, _np(maps.diagonal(dim1=-2, dim2=-1).mean(dim=(1, 3)))):
            return ("you read the diagonal A[t, t] — attention to the current token; the previous token is key t − 1: "
                    "A[t, t − 1] (torch.diagonal(..., offset=-1))")
        if close(got, np.zeros((L, H))):
            return ("it is 0 everywhere: A[t, t + 1] is a later key, which the causal mask hides; the previous token "
                    "is key t − 1: A[t, t − 1] (torch.diagonal(..., offset=-1))")
        return None

    def count(fn):
        got = _np(fn(maps))
        if close(got, _np(want) * (T - 1) / T):
            return (f"it is off by a factor (T − 1)/T = {(T - 1) / T:.3g}: query 0 has no previous token, so average "
                    "over the T − 1 queries t = 1..T−1, not over T")
        if close(got, _np(sub.sum(dim=(1, 3)))):
            return f"it is a sum over the batch and the positions, not a mean: divide by B·(T − 1) = {B * (T - 1)}"
        return None

    return [shape, offset, count]


def check_previous_token_score(fn: Callable) -> Callable:
    """Check a student's ``previous_token_score(maps)`` (``(L, B, H, T, T)`` → ``(L, H)``) against
    :func:`loopvalley.looped.mechanism.previous_token_score`; returns the function to use next.

    Introduced in notebooks/04_single_vs_looped.
    """
    return guided_checks("previous_token_score", fn, previous_token_score_reference, _PREV_CASES, _prev_hints())


# --------------------------------------------------------------------------------------------
# looped_forward (the mechanism: one layer applied n times with shared weights)
# --------------------------------------------------------------------------------------------


def looped_forward_reference(model, x: torch.Tensor, n_loops: int) -> torch.Tensor:
    """The logits ``(B, T, V)`` of ``model`` on tokens ``x`` ``(B, T)`` at ``n_loops`` loops: the
    library's own forward pass, ``model(x, n_loops=n_loops)``.

    Introduced in notebooks/04_single_vs_looped.
    """
    with torch.no_grad():
        return model(x, n_loops=n_loops)


def _exercise_model(seed: int = 0) -> torch.nn.Module:
    """A small one-head Looped-Attn in float64 with a pre-LayerNorm whose weight and bias are not (1, 0)
    (so a LayerNorm without them shows) and weights large enough for the attention to be far from uniform."""
    cfg = ModelConfig(vocab_size=5, max_len=8, d_model=8, layernorm=True, init_std=0.3)
    model = looped_attn(cfg, 3, generator=torch.Generator().manual_seed(seed)).double()
    g = torch.Generator().manual_seed(seed + 1)
    with torch.no_grad():
        model.ln_attn.weight.copy_(1 + 0.5 * torch.randn(cfg.d_model, generator=g, dtype=torch.float64))
        model.ln_attn.bias.copy_(0.3 * torch.randn(cfg.d_model, generator=g, dtype=torch.float64))
        model.pos.copy_(0.5 * torch.randn(cfg.max_len, cfg.d_model, generator=g, dtype=torch.float64))
    model.eval()
    return model


_MODEL = _exercise_model(0)
_MODEL_B = _exercise_model(5)


def _x(B: int, T: int, seed: int) -> torch.Tensor:
    return torch.randint(0, 5, (B, T), generator=torch.Generator().manual_seed(seed))


_FORWARD_CASES = [
    ((_MODEL, _x(2, 6, 0), 3), "Looped-Attn, 3 loops, 2 sequences of 6 tokens"),
    ((_MODEL, _x(3, 8, 1), 1), "Single-Attn: the same model at 1 loop"),
    ((_MODEL, _x(1, 5, 2), 2), "2 loops"),
    ((_MODEL, _x(2, 1, 3), 3), "T = 1: one token, its own only key"),
    ((_MODEL_B, _x(4, 8, 4), 3), "another model, 4 sequences"),
]


def _variant(model, x, n, *, residual=True, ln="each", mask=True, scale="sqrt", positions=True, transpose=False):
    """Looped-Attn's logits with one thing changed (a plausible mistake)."""
    a, norm, T = model.attn, model.ln_attn, x.shape[1]
    W = (lambda lin: lin.weight) if transpose else (lambda lin: lin.weight.T)  # x @ Wᵀ is nn.Linear
    E = model.embed.weight[x] + (model.pos[:T] if positions else 0)  # E_0: (B, T, d)

    def LN(E):
        if ln == "none":
            return E
        mu, var = E.mean(-1, keepdim=True), E.var(-1, unbiased=False, keepdim=True)
        z = (E - mu) / torch.sqrt(var + norm.eps)
        return z if ln == "noaffine" else z * norm.weight + norm.bias

    M = torch.full((T, T), float("-inf"), dtype=E.dtype).triu(1) if mask else torch.zeros(T, T, dtype=E.dtype)
    div = {"sqrt": math.sqrt(E.shape[-1]), "none": 1.0, "d": float(E.shape[-1])}[scale]
    Eb = LN(E)
    for _ in range(n):
        if ln != "once":
            Eb = LN(E)
        Q, K, V = Eb @ W(a.W_Q), Eb @ W(a.W_K), Eb @ W(a.W_V)  # (B, T, d)
        A = torch.softmax(Q @ K.transpose(1, 2) / div + M, dim=-1)  # (B, T, T)
        out = (A @ V) @ W(a.W_O)
        E = E + out if residual else out
        if ln == "once":
            Eb = E
    return E @ model.readout.weight.T  # (B, T, V)


@contextlib.contextmanager
def _no_shortcuts(model):
    """Inside: calling ``model(...)`` or ``model.attn(...)`` raises an ExerciseError that says why."""
    def refuse(what):
        def f(*args, **kwargs):
            raise ExerciseError(f"looped_forward calls {what}: write the forward pass from the weights "
                                "(model.attn.W_Q.weight, …) — that is the exercise")
        return f
    model.forward, model.attn.forward = refuse("model(...)"), refuse("model.attn(...)")
    try:
        yield
    finally:
        del model.forward, model.attn.forward


def _forward_hints():
    model, x = _MODEL_B, _x(3, 7, 21)

    def shape(fn):
        got = fn(model, x, 3)
        want = looped_forward_reference(model, x, 3)
        g = _np(got)
        if g.shape == (3, 7, model.cfg.d_model) and model.cfg.d_model != model.cfg.vocab_size:
            return ("it returned the residual stream E_n, shape (B, T, d); the logits are its readout, "
                    f"model.readout.weight, shape (B, T, V) = {tuple(want.shape)}")
        return shape_hint(got, want, "the logits")

    def causal(fn):
        x2 = x.clone()
        x2[:, 4:] = (x2[:, 4:] + 1) % model.cfg.vocab_size  # change the later tokens only
        a, b = _np(fn(model, x, 3))[:, :4], _np(fn(model, x2, 3))[:, :4]
        if not np.allclose(a, b, rtol=1e-9, atol=1e-9):
            return ("it is not causal: changing the tokens at positions 4.. changed the logits at positions 0..3; "
                    "mask the scores of later keys (key j > query i) with −∞ before the softmax")
        return None

    def loops(fn):
        got = _np(fn(model, x, 2))
        for k, what in ((1, "one loop too few"), (3, "one loop too many")):
            if close(got, _np(looped_forward_reference(model, x, k))):
                return f"with n_loops = 2 it computed {k} loop(s) ({what}): apply the layer exactly n_loops times"
        return None

    def structure(fn):
        got = _np(fn(model, x, 3))
        named = [
            (dict(residual=False), "the residual is missing: each loop *adds* its attention output to the stream, "
                                   "E_(k+1) = E_k + (attention of LN(E_k))"),
            (dict(ln="once"), "the LayerNorm is applied once, before the loop; it is applied at every loop, to the "
                              "current stream E_k (pre-LayerNorm), while the residual adds to the un-normalised E_k"),
            (dict(ln="none"), "the pre-LayerNorm is missing: the attention reads LN(E_k) (model.ln_attn), not E_k"),
            (dict(ln="noaffine"), "the LayerNorm lacks its weight and bias (model.ln_attn.weight, .bias): "
                                  "normalise, then scale and shift — or call model.ln_attn(E)"),
            (dict(positions=False), "the positions are missing: E_0 = embedding of the tokens + model.pos[:T]"),
            (dict(scale="none"), f"the scores are not scaled: divide Q Kᵀ by √d_h (√{model.cfg.d_model} here)"),
            (dict(scale="d"), f"the scores are divided by d_h = {model.cfg.d_model}; the scale is 1/√d_h"),
            (dict(transpose=True), "an nn.Linear stores its weight as (out, in) and computes x @ weight.T: "
                                   "the projections are transposed"),
        ]
        for kw, msg in named:
            if close(got, _np(_variant(model, x, 3, **kw))):
                return msg
        return None

    return [shape, causal, loops, structure]


def check_looped_forward(fn: Callable) -> Callable:
    """Check a student's ``looped_forward(model, x, n_loops)`` (a one-head
    :class:`loopvalley.looped.models.LoopedAttn`, tokens ``(B, T)`` → logits ``(B, T, V)``) against
    ``model(x, n_loops=n_loops)``; returns the function to use next (the reference while ``fn`` is the stub).

    Introduced in notebooks/04_single_vs_looped.
    """
    def guarded(model, x, n_loops):
        with _no_shortcuts(model):
            return fn(model, x, n_loops)

    out = guided_checks("looped_forward", guarded, looped_forward_reference, _FORWARD_CASES, _forward_hints())
    return fn if out is guarded else out
