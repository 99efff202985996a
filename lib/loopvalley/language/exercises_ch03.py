"""Chapter 03's exercises: the in-context unigram and bigram predictors, written by hand.

The student writes ``unigram_predictive(tokens, alpha, vocab_size)``: for every sequence and every
position t = 1..T−1, the distribution of the next token x_{t+1} from the counts of x_1..x_t with an
add-α prior,

    p(x_{t+1} = j | x_≤t) = (N_t(j) + α) / (t + V·α),     shape (n, T−1, V),

and :func:`check_unigram_predictive` compares it with
``loopvalley.language.markov.predictive(tokens, "unigram", alpha=alpha, vocab_size=V)``, naming the usual
mistakes: one position too many, a prediction that peeks at the token it predicts (not causal), a
missing prior, rows that do not sum to 1, the vocabulary read off the data.

The mechanism exercise, ``bigram_predictive(tokens, alpha, vocab_size)``, is what the looped layer
must learn (notebook 04): from the transitions seen so far, the distribution of what follows the
*current* token,

    p(x_{t+1} = j | x_≤t) = (N_t(x_t → j) + α) / (N_t(x_t → ·) + V·α),     shape (n, T−1, V),

checked by :func:`check_bigram_predictive` against ``predictive(tokens, "bigram", ...)``: a count that
includes the transition being predicted, the row of the wrong token, the unigram counts instead of
the transitions, a missing prior, the wrong normaliser.

Introduced in notebooks/03_markov_language.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F

from loopvalley.checking import _np, close, diagnose, guided_checks, shape_hint
from loopvalley.language.markov import predictive


def unigram_predictive_reference(tokens, alpha: float, vocab_size: int) -> torch.Tensor:
    """(N_t(j) + α)/(t + Vα) for t = 1..T−1: ``loopvalley.language.markov.predictive(tokens, "unigram", ...)``.

    Introduced in notebooks/03_markov_language.
    """
    return predictive(torch.as_tensor(tokens), "unigram", alpha=alpha, vocab_size=vocab_size)


def _tokens(n: int, T: int, V: int, seed: int, hi: int | None = None) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, hi or V, (n, T), generator=g)  # (n, T)


_CASES = [
    ((_tokens(4, 12, 3, 0), 0.5, 3), "4 random sequences, V = 3, α = 0.5"),
    ((torch.zeros(1, 9, dtype=torch.long), 0.5, 3), "a constant sequence"),
    ((_tokens(3, 10, 5, 1, hi=3), 0.2, 5), "V = 5, but tokens 3 and 4 never appear"),
    ((_tokens(2, 2, 3, 2), 1.0, 3), "T = 2: a single prediction per sequence"),
    ((_tokens(2, 16, 4, 3), 10.0, 4), "a strong prior, α = 10"),
]


def _hints():

    x, a, V = _tokens(3, 10, 4, 5, hi=3), 0.5, 4  # token 3 never appears
    want = unigram_predictive_reference(x, a, V)
    onehot = F.one_hot(x, V).double()  # (n, T, V)
    counts = onehot.cumsum(1)  # N_t(j) over x_1..x_t, t = 1..T: (n, T, V)
    t = torch.arange(1, x.shape[1] + 1, dtype=torch.float64)[None, :, None]  # (1, T, 1)

    def shape(fn):
        got = fn(x, a, V)
        g = _np(got)
        n, T = x.shape
        if g.shape == (n, T, V):
            return (f"it has shape {tuple(g.shape)}, expected {(n, T - 1, V)}: predict x_(t+1) for t = 1..T−1 "
                    "(nothing to predict after the last token)")
        if g.shape == (n, T - 1, V - 1):
            return (f"its last axis has {V - 1} entries, expected V = {V}: take the vocabulary from vocab_size — "
                    "a token may never appear in a sequence")
        return shape_hint(got, want, "the prediction")

    def causal(fn):
        got = _np(fn(x, a, V))
        peek = (counts[:, 1:] + a) / (t[:, 1:] + V * a)  # counts x_1..x_{t+1}: sees the answer
        if close(got, _np(peek)):
            return ("it is not causal: the prediction for x_(t+1) counts x_(t+1) itself; use only x_1..x_t "
                    "(a cumulative sum shifted by one position)")
        return None

    def prior(fn):
        got = _np(fn(x, a, V))
        if close(got, _np(counts[:, :-1] / t[:, :-1])):
            return "the add-α prior is missing: p = (N_t(j) + α) / (t + V·α), so unseen tokens keep some probability"
        sums = got.sum(-1)
        if not np.allclose(sums, 1.0, atol=1e-6):
            return (f"its rows do not sum to 1 (e.g. {float(sums.flat[0]):.4g}): every prediction is a distribution "
                    "over the V tokens — divide by t + V·α")
        return diagnose(got, want, "the prediction")

    return [shape, causal, prior]


def check_unigram_predictive(fn: Callable) -> Callable:
    """Check a student's ``unigram_predictive(tokens, alpha, vocab_size)`` ((n, T) → (n, T−1, V))
    against ``loopvalley.language.markov.predictive(..., "unigram")``; returns the function to use next.

    Introduced in notebooks/03_markov_language.
    """
    return guided_checks("unigram_predictive", fn, unigram_predictive_reference, _CASES, _hints())


# --------------------------------------------------------------------------------------------
# bigram_predictive (the mechanism the looped layer learns)
# --------------------------------------------------------------------------------------------


def bigram_predictive_reference(tokens, alpha: float, vocab_size: int) -> torch.Tensor:
    """(N_t(x_t → j) + α)/(N_t(x_t → ·) + Vα) for t = 1..T−1: ``predictive(tokens, "bigram", ...)``.

    Introduced in notebooks/03_markov_language.
    """
    return predictive(torch.as_tensor(tokens), "bigram", alpha=alpha, vocab_size=vocab_size)


_BIGRAM_CASES = [
    ((_tokens(4, 12, 3, 0), 0.5, 3), "4 random sequences, V = 3, α = 0.5"),
    ((torch.tensor([[0, 1, 2, 0, 1, 2, 0, 1]]), 0.5, 3), "the cycle 0 → 1 → 2 → 0"),
    ((torch.zeros(1, 9, dtype=torch.long), 0.5, 3), "a constant sequence"),
    ((_tokens(3, 10, 5, 1, hi=3), 0.2, 5), "V = 5, but tokens 3 and 4 never appear"),
    ((_tokens(2, 2, 3, 2), 1.0, 3), "T = 2: a single prediction per sequence"),
    ((_tokens(2, 16, 4, 3), 10.0, 4), "a strong prior, α = 10"),
]


def _bigram_variant(x, a, V, *, peek=False, row_shift=0, prior=True, norm="row"):
    """The bigram estimate with one thing changed (a plausible mistake): (n, T−1, V)."""
    n, T = x.shape
    onehot = F.one_hot(x, V).double()  # (n, T, V)
    trans = torch.einsum("nsa,nsb->nsab", onehot[:, :-1], onehot[:, 1:])  # x_s → x_{s+1}: (n, T−1, V, V)
    seen = trans.cumsum(1) if peek else torch.cat([torch.zeros_like(trans[:, :1]), trans[:, :-1]], 1).cumsum(1)
    t_idx = torch.arange(T - 1)
    cur = x[:, :-1] if row_shift == 0 else torch.cat([x[:, :1], x[:, :-2]], 1)  # x_t, or x_{t−1}
    row = seen[torch.arange(n)[:, None], t_idx[None], cur]  # (n, T−1, V)
    a_ = a if prior else 0.0
    den = row.sum(-1, keepdim=True) + V * a_ if norm == "row" else (t_idx + 1).double()[None, :, None] + V * a_
    return (row + a_) / den


def _bigram_hints():
    x, a, V = _tokens(3, 14, 4, 15, hi=3), 0.5, 4  # token 3 never appears
    want = bigram_predictive_reference(x, a, V)
    n, T = x.shape

    def shape(fn):
        g = _np(fn(x, a, V))
        if g.shape == (n, T, V):
            return (f"it has shape {g.shape}, expected {(n, T - 1, V)}: predict x_(t+1) for t = 1..T−1 "
                    "(nothing to predict after the last token)")
        if g.shape == (n, T - 1, V - 1):
            return f"its last axis has {V - 1} entries, expected V = {V}: take the vocabulary from vocab_size"
        return shape_hint(g, want, "the prediction")

    def mechanism(fn):
        got = _np(fn(x, a, V))
        if close(got, _np(_bigram_variant(x, a, V, peek=True))):
            return ("it is not causal: the counts include the transition x_t → x_(t+1) that is being predicted; "
                    "use only the transitions inside x_1..x_t")
        if close(got, _np(_bigram_variant(x, a, V, row_shift=1))):
            return ("it reads the counts of the previous token x_(t−1); the next token follows the *current* one, so "
                    "use the row of x_t")
        if close(got, _np(unigram_predictive_reference(x, a, V))):
            return ("that is the unigram predictor (token counts): count only the tokens that followed earlier "
                    "copies of the current token x_t")
        if np.isnan(got).any():
            return ("it gives NaN where the current token has never been followed by anything yet (its first "
                    "occurrence): the add-α prior keeps that row a proper distribution")
        if close(got, _np(_bigram_variant(x, a, V, norm="t"))) or not np.allclose(got.sum(-1), 1.0, atol=1e-6):
            return ("its rows do not sum to 1: normalise by how many transitions *out of x_t* were seen (plus V·α), "
                    "not by the position t")
        return diagnose(got, want, "the prediction")

    return [shape, mechanism]


def check_bigram_predictive(fn: Callable) -> Callable:
    """Check a student's ``bigram_predictive(tokens, alpha, vocab_size)`` ((n, T) → (n, T−1, V))
    against ``loopvalley.language.markov.predictive(..., "bigram")``; returns the function to use next.

    Introduced in notebooks/03_markov_language.
    """
    return guided_checks("bigram_predictive", fn, bigram_predictive_reference, _BIGRAM_CASES, _bigram_hints())
