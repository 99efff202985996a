"""Chapter 09's exercises: the untied stack's forward pass, and the induction score.

1. ``untied_forward(model, x)``: the logits of an Untied-L model (L distinct layers in series, each
   with its own pre-LayerNorm) written out layer by layer; checked by :func:`check_untied_forward`
   against ``model(x)`` of :func:`loopvalley.looped.models.untied_attn`. The usual mistakes: one layer
   reused at every step (that is Looped-Attn), the layers in reverse order, one LayerNorm for all,
   a layer left out, the residual or the readout missing — and it refuses a call of ``model(...)``.

2. ``induction_score(maps, tokens)``: for every loop/layer and head, the attention mass a query puts
   on the positions right *after* earlier occurrences of its own token, averaged over the queries
   that have such a position; checked by :func:`check_induction_score` against
   :func:`loopvalley.looped.mechanism.induction_score`. The usual mistakes: the earlier occurrences
   themselves as targets (a duplicate-token head), the query's own position counted as an earlier
   occurrence, every query averaged (also those with nothing to retrieve), the mass averaged over a
   query's targets instead of summed, the batch not pooled.

Introduced in notebooks/09_recursion_or_depth.
"""

from __future__ import annotations

import contextlib
from typing import Callable

import numpy as np
import torch

from loopvalley.checking import ExerciseError, _np, close, guided_checks, shape_hint
from loopvalley.looped.exercises_ch04 import random_attention_maps
from loopvalley.looped.mechanism import induction_score as _induction_score
from loopvalley.looped.models import ModelConfig, untied_attn

# --------------------------------------------------------------------------------------------
# untied_forward
# --------------------------------------------------------------------------------------------


def untied_forward_reference(model, x: torch.Tensor) -> torch.Tensor:
    """The logits ``(B, T, V)`` of an untied model on tokens ``x`` ``(B, T)``: ``model(x)``.

    Introduced in notebooks/09_recursion_or_depth.
    """
    with torch.no_grad():
        return model(x)


def _untied_model(L: int, seed: int) -> torch.nn.Module:
    """A small Untied-L in float64 whose layers and LayerNorms all differ (so each mistake shows)."""
    cfg = ModelConfig(vocab_size=5, max_len=8, d_model=8, layernorm=True, init_std=0.3)
    model = untied_attn(cfg, L, generator=torch.Generator().manual_seed(seed)).double()
    g = torch.Generator().manual_seed(seed + 1)
    with torch.no_grad():
        for block in model.layers:
            block.ln_attn.weight.copy_(1 + 0.5 * torch.randn(cfg.d_model, generator=g, dtype=torch.float64))
            block.ln_attn.bias.copy_(0.3 * torch.randn(cfg.d_model, generator=g, dtype=torch.float64))
        model.pos.copy_(0.5 * torch.randn(cfg.max_len, cfg.d_model, generator=g, dtype=torch.float64))
    model.eval()
    return model


_U3, _U2 = _untied_model(3, 0), _untied_model(2, 7)


def _tok(B: int, T: int, seed: int) -> torch.Tensor:
    return torch.randint(0, 5, (B, T), generator=torch.Generator().manual_seed(seed))


_UNTIED_CASES = [
    ((_U3, _tok(2, 6, 0)), "Untied-3, 2 sequences of 6 tokens"),
    ((_U2, _tok(3, 8, 1)), "Untied-2"),
    ((_U3, _tok(1, 1, 2)), "T = 1"),
    ((_U3, _tok(4, 8, 3)), "Untied-3, 4 sequences"),
]


def _stack(model, x, order=None, ln_from=None, skip_last=False, residual=True):
    """An untied forward pass with one thing changed (a plausible mistake)."""
    blocks = list(model.layers)
    order = range(len(blocks)) if order is None else order
    h = model.embed_tokens(x)
    steps = list(order)[:-1] if skip_last else list(order)
    for l in steps:
        ln = blocks[l if ln_from is None else ln_from].ln_attn
        out = blocks[l].attn(ln(h))
        h = h + out if residual else out
    return model.readout(h)


@contextlib.contextmanager
def _no_model_call(model):
    def refuse(*args, **kwargs):
        raise ExerciseError("untied_forward calls model(...): write the stack layer by layer (model.layers[l]) — "
                            "that is the exercise")
    model.forward = refuse
    try:
        yield
    finally:
        del model.forward


def _untied_hints():
    model, x = _U3, _tok(3, 7, 21)
    L = len(model.layers)

    def shape(fn):
        got = fn(model, x)
        want = untied_forward_reference(model, x)
        if _np(got).shape == (3, 7, model.cfg.d_model):
            return "it returned the residual stream (B, T, d); the logits are its readout, model.readout: (B, T, V)"
        return shape_hint(got, want, "the logits")

    def structure(fn):
        with torch.no_grad():
            got = _np(fn(model, x))
            named = [
                (dict(order=[0] * L), "it applies layer 0 at every step — that is Looped-Attn (one layer reused); "
                                      "an untied stack applies model.layers[0], then [1], …, each once"),
                (dict(order=list(range(L))[::-1]), "the layers run in reverse order: model.layers[0] acts on the "
                                                   "embedding first"),
                (dict(ln_from=0), "every layer uses layer 0's LayerNorm: each layer has its own, model.layers[l].ln_attn"),
                (dict(skip_last=True), f"it applies {L - 1} of the {L} layers: run every layer of model.layers"),
                (dict(residual=False), "the residual is missing: each layer *adds* its output to the stream"),
            ]
            for kw, msg in named:
                if close(got, _np(_stack(model, x, **kw))):
                    return msg
        return None

    return [shape, structure]


def check_untied_forward(fn: Callable) -> Callable:
    """Check a student's ``untied_forward(model, x)`` (an untied model, tokens ``(B, T)`` → logits
    ``(B, T, V)``) against ``model(x)`` of :func:`loopvalley.looped.models.untied_attn`; returns the
    function to use next.

    Introduced in notebooks/09_recursion_or_depth.
    """
    def guarded(model, x):
        with _no_model_call(model):
            return fn(model, x)

    out = guided_checks("untied_forward", guarded, untied_forward_reference, _UNTIED_CASES, _untied_hints())
    return fn if out is guarded else out


# --------------------------------------------------------------------------------------------
# induction_score
# --------------------------------------------------------------------------------------------


def induction_score_reference(maps: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
    """Mass on S_t = {j + 1 : j < t, x_j = x_t}, averaged over the queries with S_t ≠ ∅, per loop and
    head ``(L, H)``: the library's :func:`loopvalley.looped.mechanism.induction_score`.

    Introduced in notebooks/09_recursion_or_depth.
    """
    return _induction_score(maps, tokens)


def _maps(L: int, B: int, H: int, T: int, seed: int, peak: float = 1.5) -> torch.Tensor:
    return random_attention_maps(L, B, H, T, seed, peak)  # (L, B, H, T, T), a little more peaked than 04's


_IND_CASES = [
    ((_maps(3, 4, 1, 10, 0), _tok(4, 10, 0) % 3), "3 loops, 4 sequences over V = 3 tokens, T = 10"),
    ((_maps(2, 2, 2, 12, 1), _tok(2, 12, 1)), "2 layers, 2 heads, V = 5"),
    ((_maps(1, 1, 1, 6, 2), torch.tensor([[0, 1, 0, 1, 0, 1]])), "an alternating sequence"),
    ((_maps(2, 3, 1, 16, 3, peak=4.0), _tok(3, 16, 3) % 2), "peaked maps, V = 2"),
]


def _targets(tokens, shift=1, include_self=False):
    """M[b, t, s] = 1 where s = j + shift for an earlier (or, with include_self, the same) j with x_j = x_t."""
    B, T = tokens.shape
    same = tokens[:, :, None] == tokens[:, None, :]  # (B, T, T)
    earlier = torch.ones(T, T, dtype=torch.bool).tril(0 if include_self else -1)
    match = same & earlier
    out = torch.zeros_like(match)
    if shift == 1:
        out[:, :, 1:] = match[:, :, :-1]
    else:
        out = match
    return out


def _score(maps, tokens, targets, *, all_queries=False, per_target=False, pool_batch=True):
    eligible = targets.any(-1) if not all_queries else torch.ones_like(targets[..., 0])  # (B, T)
    mass = (maps * targets[None, :, None].double()).sum(-1)  # (L, B, H, T)
    if per_target:
        mass = mass / targets.sum(-1).clamp(min=1)[None, :, None].double()
    w = eligible[None, :, None].double()
    if not pool_batch:
        return (mass * w).sum(-1) / eligible.sum(-1).clamp(min=1)[None, :, None].double()  # (L, B, H)
    return (mass * w).sum(dim=(1, 3)) / eligible.sum().double()


def _ind_hints():
    maps, x = _maps(2, 5, 2, 14, 31), _tok(5, 14, 31) % 4  # L = 2, B = 5, H = 2, T = 14
    want = induction_score_reference(maps, x)

    def shape(fn):
        got = fn(maps, x)
        g = _np(got)
        if g.shape == (2, 5, 2):
            return "it has one score per sequence (L, B, H): pool the batch as well — average over every eligible query of every sequence"
        return shape_hint(got, want, "the score")

    def targets(fn):
        got = _np(fn(maps, x))
        if close(got, _np(_score(maps, x, _targets(x, shift=0)))):
            return ("it scores attention to the earlier copies of x_t themselves (a duplicate-token head); an induction "
                    "head attends to the position *after* each copy, j + 1, where the answer to 'what came next?' is")
        return None

    def averaging(fn):
        got = _np(fn(maps, x))
        t = _targets(x)
        if close(got, _np(_score(maps, x, t, all_queries=True))) or close(got, _np(_score(maps, x, _targets(x, include_self=True)))):
            return ("it averages over every query, also those whose token has not appeared at an earlier position j < t "
                    "(a token always matches itself, but that is no earlier occurrence): such a query has nothing to "
                    "retrieve — average over the eligible queries only")
        if close(got, _np(_score(maps, x, t, per_target=True))):
            return ("it averages the mass over a query's targets; the score is the *total* mass a query puts on all its "
                    "targets (a pure induction head scores 1)")
        return None

    return [shape, targets, averaging]


def check_induction_score(fn: Callable) -> Callable:
    """Check a student's ``induction_score(maps, tokens)`` (``(L, B, H, T, T)`` maps, ``(B, T)`` tokens →
    ``(L, H)``) against :func:`loopvalley.looped.mechanism.induction_score`; returns the function to use next.

    Introduced in notebooks/09_recursion_or_depth.
    """
    return guided_checks("induction_score", fn, induction_score_reference, _IND_CASES, _ind_hints())
