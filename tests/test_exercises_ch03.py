"""Chapter 03's exercise checker: check_unigram_predictive accepts the reference and the stub, and
names the mistake of plausible wrong implementations."""

import re

import pytest
import torch
import torch.nn.functional as F

from loopvalley.checking import ExerciseError
from loopvalley.language.exercises_ch03 import check_unigram_predictive, unigram_predictive_reference


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
    assert "not written yet" in capsys.readouterr().out


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


def _notebook_solutions(stem):
    """The code of every collapsed solution in notebooks/<stem>.py (what a student would paste)."""
    import re
    from pathlib import Path

    src = (Path(__file__).resolve().parents[1] / "notebooks" / f"{stem}.py").read_text()
    return [re.sub(r"^# ?", "", b, flags=re.M) for b in re.findall(r"<summary>Solution</summary>\n#\n# ```python\n(.*?)# ```", src, re.S)]


def test_the_notebooks_solutions_pass_their_checkers():
    import torch as _torch

    from loopvalley.language import exercises_ch03 as exercises

    sols = _notebook_solutions("03_markov_language")
    assert len(sols) == 1, "one collapsed solution per exercise"
    for code, (name, checker) in zip(sols, [('unigram_predictive', 'check_unigram_predictive')]):
        ns = {"torch": _torch}
        exec(code, ns)
        assert getattr(exercises, checker)(ns[name]) is ns[name]
