"""Chapter 03's exercise checkers: check_unigram_predictive and check_bigram_predictive accept the
reference, an independent implementation and the stub, and name the mistake of plausible wrong
implementations (one test per mistake)."""

import re

import pytest
import torch
import torch.nn.functional as F

from loopvalley.checking import ExerciseError
from loopvalley.language.exercises_ch03 import (
    _bigram_variant,
    bigram_predictive_reference,
    check_bigram_predictive,
    check_unigram_predictive,
    unigram_predictive_reference,
)


def brute_force(tokens, alpha, V):
    """Independent truth: count by hand, position by position."""
    n, T = tokens.shape
    out = torch.empty(n, T - 1, V, dtype=torch.float64)
    for i in range(n):
        for t in range(1, T):  # predict x_{t+1} from x_1..x_t (0-based: tokens[i, :t])
            seen = tokens[i, :t].tolist()
            for j in range(V):
                out[i, t - 1, j] = (seen.count(j) + alpha) / (t + V * alpha)
    return out


def correct(tokens, alpha, V):
    counts = F.one_hot(tokens, V).double().cumsum(1)[:, :-1]  # N_t(j), t = 1..T−1
    t = torch.arange(1, tokens.shape[1], dtype=torch.float64)[None, :, None]
    return (counts + alpha) / (t + V * alpha)


def test_reference_matches_counting_by_hand():
    x = torch.randint(0, 4, (3, 11), generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(unigram_predictive_reference(x, 0.3, 4), brute_force(x, 0.3, 4))


@pytest.mark.parametrize("fn", [correct, unigram_predictive_reference, brute_force])
def test_accepts_correct_implementations(fn):
    assert check_unigram_predictive(fn) is fn


def test_stub_falls_back(capsys):
    def stub(tokens, alpha, V):
        raise NotImplementedError

    assert check_unigram_predictive(stub) is unigram_predictive_reference
    assert "not implemented yet" in capsys.readouterr().out


def _counts(tokens, V):
    return F.one_hot(tokens, V).double().cumsum(1)


def _t(T, start=1):
    return torch.arange(start, start + T, dtype=torch.float64)[None, :, None]


@pytest.mark.parametrize("fn, message", [
    # one prediction per position, including after the last token
    (lambda x, a, V: (_counts(x, V) + a) / (_t(x.shape[1]) + V * a), "nothing to predict after the last token"),
    # counts x_1..x_{t+1}: peeks at the answer
    (lambda x, a, V: (_counts(x, V)[:, 1:] + a) / (_t(x.shape[1] - 1, 2) + V * a), "it is not causal"),
    # no prior
    (lambda x, a, V: _counts(x, V)[:, :-1] / _t(x.shape[1] - 1), "the add-α prior is missing"),
    # forgets V in the denominator
    (lambda x, a, V: (_counts(x, V)[:, :-1] + a) / (_t(x.shape[1] - 1) + a), "rows do not sum to 1"),
    # vocabulary from the data
    (lambda x, a, V: correct(x, a, int(x.max()) + 1), "take the vocabulary from vocab_size"),
])
def test_rejects_plausible_mistakes(fn, message):
    with pytest.raises(ExerciseError, match=re.escape(message)):
        check_unigram_predictive(fn)


# -- bigram_predictive (the mechanism) ---------------------------------------------------------------
def bigram_by_hand(tokens, alpha, V):
    """Independent truth: for each position, count the transitions out of x_t seen inside x_1..x_t."""
    n, T = tokens.shape
    out = torch.empty(n, T - 1, V, dtype=torch.float64)
    for i in range(n):
        x = tokens[i].tolist()
        for t in range(1, T):  # predict x_{t+1} from x_1..x_t (0-based: x[:t], current token x[t-1])
            cur = x[t - 1]
            nxt = [x[s + 1] for s in range(t - 1) if x[s] == cur]  # what followed earlier copies of x_t
            for j in range(V):
                out[i, t - 1, j] = (nxt.count(j) + alpha) / (len(nxt) + V * alpha)
    return out


def test_bigram_reference_matches_counting_by_hand():
    x = torch.randint(0, 3, (4, 13), generator=torch.Generator().manual_seed(1))
    torch.testing.assert_close(bigram_predictive_reference(x, 0.5, 3), bigram_by_hand(x, 0.5, 3))


@pytest.mark.parametrize("fn", [bigram_by_hand, bigram_predictive_reference])
def test_bigram_accepts_correct_implementations(fn):
    assert check_bigram_predictive(fn) is fn


def test_bigram_stub_falls_back(capsys):
    def stub(*args):
        raise NotImplementedError

    assert check_bigram_predictive(stub) is bigram_predictive_reference
    assert "not implemented yet" in capsys.readouterr().out


@pytest.mark.parametrize("fn, message", [
    (lambda x, a, V: _bigram_variant(x, a, V, peek=True), "it is not causal"),
    (lambda x, a, V: _bigram_variant(x, a, V, row_shift=1), "use the row of x_t"),
    (lambda x, a, V: unigram_predictive_reference(x, a, V), "that is the unigram predictor"),
    (lambda x, a, V: _bigram_variant(x, a, V, prior=False), "it gives NaN where the current token has never been followed"),
    (lambda x, a, V: _bigram_variant(x, a, V, norm="t"), "its rows do not sum to 1"),
    (lambda x, a, V: bigram_by_hand(torch.cat([x, x[:, -1:]], 1), a, V), "nothing to predict after the last token"),
])
def test_bigram_rejects_plausible_mistakes(fn, message):
    with pytest.raises(ExerciseError, match=re.escape(message)):
        check_bigram_predictive(fn)
