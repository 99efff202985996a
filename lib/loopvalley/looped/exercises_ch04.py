"""Chapter 04's exercises: one loop's causal attention, and the previous-token score of a loop.

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

Introduced in notebooks/04_single_vs_looped.
"""

from __future__ import annotations

import math
from typing import Callable

import numpy as np
import torch

from loopvalley.checking import _np, close, guided_checks, shape_hint
from loopvalley.looped.mechanism import previous_token_score as _previous_token_score

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


def _maps(L: int, B: int, H: int, T: int, seed: int, peak: float = 1.0) -> torch.Tensor:
    """Random causal attention maps (rows are distributions over keys j ≤ i): ``(L, B, H, T, T)``."""
    g = torch.Generator().manual_seed(seed)
    s = peak * torch.randn(L, B, H, T, T, generator=g, dtype=torch.float64)
    future = torch.ones(T, T, dtype=torch.bool).triu(1)
    return s.masked_fill(future, float("-inf")).softmax(-1)


_PREV_CASES = [
    ((_maps(3, 4, 1, 8, 0),), "3 loops, 4 sequences, 1 head, T = 8"),
    ((_maps(2, 3, 2, 5, 1, peak=4.0),), "2 loops, 2 heads, peaked maps"),
    ((_maps(1, 1, 1, 2, 2),), "T = 2: a single query (t = 1) has a previous token"),
    ((_maps(3, 2, 3, 16, 3),), "3 loops, 3 heads, T = 16"),
]


def _prev_hints():
    maps = _maps(3, 4, 2, 7, 21)  # L = 3, B = 4, H = 2, T = 7: every axis has its own length
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
