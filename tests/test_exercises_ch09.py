"""Chapter 09's exercise checkers: check_untied_forward and check_induction_score accept the reference,
an independent implementation and the stub, and name the mistake of plausible wrong ones (one test per
mistake)."""

import re

import pytest
import torch
import torch.nn.functional as F

from loopvalley.checking import ExerciseError
from loopvalley.looped.exercises_ch09 import (
    _U3,
    _maps,
    _score,
    _stack,
    _targets,
    _tok,
    check_induction_score,
    check_untied_forward,
    induction_score_reference,
    untied_forward_reference,
)


def stub(*args):
    raise NotImplementedError


# -- untied_forward ----------------------------------------------------------------------------------
def untied_by_hand(model, x):
    """Independent truth: layer by layer with nn.functional pieces (one head, pre-LayerNorm)."""
    T = x.shape[1]
    E = F.embedding(x, model.embed.weight) + model.pos[:T]
    mask = torch.full((T, T), float("-inf"), dtype=E.dtype).triu(1)
    for blk in model.layers:
        ln, a = blk.ln_attn, blk.attn
        Eb = F.layer_norm(E, E.shape[-1:], ln.weight, ln.bias, ln.eps)
        q, k, v = (F.linear(Eb, W.weight) for W in (a.W_Q, a.W_K, a.W_V))
        A = torch.softmax(q @ k.transpose(1, 2) / q.shape[-1] ** 0.5 + mask, dim=-1)
        E = E + F.linear(A @ v, a.W_O.weight)
    return F.linear(E, model.readout.weight)


def test_untied_reference_is_the_models_forward_pass():
    x = _tok(2, 8, 9)
    torch.testing.assert_close(untied_forward_reference(_U3, x), untied_by_hand(_U3, x))


@pytest.mark.parametrize("fn", [untied_by_hand, lambda m, x: _stack(m, x)])
def test_untied_accepts_correct_implementations(fn):
    assert check_untied_forward(fn) is fn


def test_untied_stub_falls_back(capsys):
    assert check_untied_forward(stub) is untied_forward_reference
    assert "not implemented yet" in capsys.readouterr().out


@pytest.mark.parametrize("fn, message", [
    (lambda m, x: _stack(m, x, order=[0] * len(m.layers)), "that is Looped-Attn"),
    (lambda m, x: _stack(m, x, order=list(range(len(m.layers)))[::-1]), "the layers run in reverse order"),
    (lambda m, x: _stack(m, x, ln_from=0), "every layer uses layer 0's LayerNorm"),
    (lambda m, x: _stack(m, x, skip_last=True), "run every layer of model.layers"),
    (lambda m, x: _stack(m, x, residual=False), "the residual is missing"),
    (lambda m, x: m(x), "untied_forward calls model(...)"),
])
def test_untied_rejects_plausible_mistakes(fn, message):
    with pytest.raises(ExerciseError, match=re.escape(message)):
        check_untied_forward(fn)


# -- induction_score ---------------------------------------------------------------------------------
def induction_by_hand(maps, tokens):
    """Independent truth: loop over queries, collect the positions after earlier copies of x_t."""
    L, B, H, T, _ = maps.shape
    total, count = torch.zeros(L, H, dtype=torch.float64), 0
    for b in range(B):
        x = tokens[b].tolist()
        for t in range(T):
            S = [j + 1 for j in range(t) if x[j] == x[t]]
            if S:
                total += maps[:, b, :, t, S].sum(-1)
                count += 1
    return total / count


def test_induction_reference_matches_the_loop():
    maps, x = _maps(2, 3, 2, 11, 4), _tok(3, 11, 4) % 3
    torch.testing.assert_close(induction_score_reference(maps, x), induction_by_hand(maps, x))


@pytest.mark.parametrize("fn", [induction_by_hand, induction_score_reference])
def test_induction_accepts_correct_implementations(fn):
    assert check_induction_score(fn) is fn


def test_induction_stub_falls_back(capsys):
    assert check_induction_score(stub) is induction_score_reference
    assert "not implemented yet" in capsys.readouterr().out


@pytest.mark.parametrize("fn, message", [
    (lambda m, x: _score(m, x, _targets(x, shift=0)), "a duplicate-token head"),
    (lambda m, x: _score(m, x, _targets(x), all_queries=True), "average over the eligible queries only"),
    (lambda m, x: _score(m, x, _targets(x, include_self=True)), "a token always matches itself"),
    (lambda m, x: _score(m, x, _targets(x), per_target=True), "the score is the *total* mass"),
    (lambda m, x: _score(m, x, _targets(x), pool_batch=False), "pool the batch as well"),
])
def test_induction_rejects_plausible_mistakes(fn, message):
    with pytest.raises(ExerciseError, match=re.escape(message)):
        check_induction_score(fn)
