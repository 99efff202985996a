"""Chapter 08's exercise checkers: check_addition_answer and check_exact_match accept the reference, an
independent implementation and the stub, and name the mistake of plausible wrong ones (one test per
mistake)."""

import re

import pytest
import torch

from loopvalley.checking import ExerciseError
from loopvalley.shift.exercises_ch08 import (
    _Predicts,
    _corrupt,
    _problems,
    addition_answer_reference,
    check_addition_answer,
    check_exact_match,
    exact_match_reference,
)
from loopvalley.shift.tasks import PAD, SEP, answer_accuracy, answer_mask, decode, problem_tokens


def stub(*args):
    raise NotImplementedError


# -- addition_answer ---------------------------------------------------------------------------------
def add_by_hand(a, b):
    """Schoolbook addition, least-significant bit first, carrying to the right."""
    out, carry = [], 0
    for x, y in zip(a, b):
        s = x + y + carry
        out.append(s % 2)
        carry = s // 2
    return out + [carry]


def test_addition_reference_is_the_tasks_answer():
    assert decode(problem_tokens("addition", [1, 0, 1] + [1, 1, 0])).endswith("= " + " ".join(map(str, add_by_hand([1, 0, 1], [1, 1, 0]))))
    for a, b in (([1, 1], [1, 1]), ([0, 1, 1, 0], [1, 1, 1, 1])):
        assert addition_answer_reference(a, b) == add_by_hand(a, b)


@pytest.mark.parametrize("fn", [add_by_hand, addition_answer_reference])
def test_addition_accepts_correct_implementations(fn):
    assert check_addition_answer(fn) is fn


def test_addition_stub_falls_back(capsys):
    assert check_addition_answer(stub) is addition_answer_reference
    assert "not implemented yet" in capsys.readouterr().out


@pytest.mark.parametrize("fn, message", [
    (lambda a, b: add_by_hand(a, b)[:-1], "keep the final carry"),
    (lambda a, b: add_by_hand(a, b)[::-1], "the answer is reversed"),
    (lambda a, b: add_by_hand(a[::-1], b[::-1])[::-1], "it reads the inputs most-significant bit first"),
    (lambda a, b: [x ^ y for x, y in zip(a, b)] + [0], "the carry is missing"),
    (lambda a, b: sum(x << i for i, x in enumerate(a)) + sum(y << i for i, y in enumerate(b)), "it returned one number"),
])
def test_addition_rejects_plausible_mistakes(fn, message):
    with pytest.raises(ExerciseError, match=re.escape(message)):
        check_addition_answer(fn)


# -- exact_match -------------------------------------------------------------------------------------
def em_by_hand(pred, tokens):
    """Row by row: find '=', compare every non-PAD target after it."""
    right = 0
    for p, row in zip(pred.tolist(), tokens.tolist()):
        sep = row.index(SEP)
        ok = all(p[t - 1] == row[t] for t in range(sep + 1, len(row)) if row[t] != PAD)
        right += ok
    return right / len(tokens)


def test_exact_match_reference_is_answer_accuracy_of_a_model():
    toks = _problems("addition", 20, (1, 4), 5)
    pred = _corrupt(toks, 5)
    assert exact_match_reference(pred, toks) == pytest.approx(em_by_hand(pred, toks))
    # the stand-in model predicts exactly pred: a perfect prediction scores 1
    assert answer_accuracy(_Predicts(toks[:, 1:]), toks)["exact_match"] == 1.0


@pytest.mark.parametrize("fn", [em_by_hand, exact_match_reference])
def test_exact_match_accepts_correct_implementations(fn):
    assert check_exact_match(fn) is fn


def test_exact_match_stub_falls_back(capsys):
    assert check_exact_match(stub) is exact_match_reference
    assert "not implemented yet" in capsys.readouterr().out


def _rows(mask_fn, shift=1):
    def fn(pred, tokens):
        target = tokens[:, shift:] if shift else tokens[:, :-1]
        m = mask_fn(tokens)
        return float(((pred == target) | ~m).all(dim=1).double().mean())
    return fn


@pytest.mark.parametrize("fn, message", [
    (lambda p, t: answer_accuracy(_Predicts(p), t)["token_acc"], "that is the token accuracy"),
    (_rows(lambda t: torch.ones_like(answer_mask(t))), "it scores every position, the prompt included"),
    (_rows(lambda t: (t == SEP).long().cumsum(1)[:, :-1] > 0), "it scores the padding after the answer too"),
    (_rows(lambda t: ((t[:, 1:] == SEP).long().cumsum(1) > 0) & (t[:, 1:] != PAD)), "it scores the '=' itself"),
    (_rows(answer_mask, shift=0), "pred[:, t] is the prediction of the *next* token"),
])
def test_exact_match_rejects_plausible_mistakes(fn, message):
    with pytest.raises(ExerciseError, match=re.escape(message)):
        check_exact_match(fn)
