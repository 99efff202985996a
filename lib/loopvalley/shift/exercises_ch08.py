"""Chapter 08's exercises: the answer of an addition problem, and the exact-match metric.

1. ``addition_answer(a, b)``: the answer tokens of one addition problem — two n-bit numbers written
   least-significant bit first, their sum written the same way in n + 1 bits; checked by
   :func:`check_addition_answer` against :func:`loopvalley.shift.tasks.task_answer`. The usual
   mistakes: the bits read most-significant first, the answer reversed, the final carry dropped, no
   carry at all, a number instead of a list of bits.

2. ``exact_match(pred, tokens)``: the fraction of problems whose every answer token is predicted
   right, from next-token predictions ``pred`` ``(B, T−1)`` (``pred[:, t]`` predicts ``tokens[:, t+1]``)
   and padded problems ``tokens`` ``(B, T)``; checked by :func:`check_exact_match` against
   :func:`loopvalley.shift.tasks.answer_accuracy`. The usual mistakes: token accuracy instead of
   exact match, the prompt (or the '=' itself) scored, the padding after the answer scored, the
   predictions compared with the wrong position.

Introduced in notebooks/08_algorithmic_tasks.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F

from loopvalley.checking import _np, close, guided_checks, shape_hint
from loopvalley.shift.tasks import PAD, SEP, VOCAB_SIZE, answer_accuracy, answer_mask, sample_problems, task_answer

# --------------------------------------------------------------------------------------------
# addition_answer
# --------------------------------------------------------------------------------------------


def addition_answer_reference(a, b) -> list:
    """The n + 1 answer bits (least-significant first) of a + b for n-bit inputs ``a``, ``b`` written
    least-significant bit first: :func:`loopvalley.shift.tasks.task_answer` for ``"addition"``.

    Introduced in notebooks/08_algorithmic_tasks.
    """
    return task_answer("addition", [int(v) for v in a] + [int(v) for v in b])


_ADD_CASES = [
    (([1, 0, 1], [1, 1, 0]), "5 + 3 = 8, three bits"),
    (([1], [1]), "1 + 1 = 2: the carry makes a second bit"),
    (([0, 0, 0, 0], [0, 0, 0, 0]), "0 + 0"),
    (([1, 1, 1, 1, 1], [1, 0, 0, 0, 0]), "31 + 1 = 32: a carry through every bit"),
    (([0, 1, 1, 0, 1, 0], [1, 1, 0, 1, 0, 1]), "22 + 43 = 65, six bits"),
]


def _bits_to_int(bits) -> int:
    return sum(int(v) << i for i, v in enumerate(bits))


def _int_to_bits(value: int, width: int) -> list:
    return [(value >> i) & 1 for i in range(width)]


def _add_hints():
    a, b = [1, 1, 0, 0], [1, 0, 1, 1]  # 3 + 13 = 16 (LSB first); read MSB first it would be 12 + 11
    n = len(a)
    want = addition_answer_reference(a, b)

    def shape(fn):
        got = fn(a, b)
        if np.ndim(got) == 0:
            return (f"it returned one number ({got!r}); return the answer *tokens*: a list of n + 1 = {n + 1} bits, "
                    "least-significant first")
        g = np.asarray(_np(got)).reshape(-1)
        if g.size == n and close(g, want[:n]):
            return f"it has {n} bits: a + b can need n + 1 = {n + 1}, so keep the final carry"
        return shape_hint(got, want, "the answer")

    def order(fn):
        g = np.asarray(_np(fn(a, b))).reshape(-1)
        if close(g, want[::-1]):
            return "the answer is reversed: it is written least-significant bit first, like the inputs"
        msb = _int_to_bits(_bits_to_int(a[::-1]) + _bits_to_int(b[::-1]), n + 1)[::-1]  # inputs read MSB first
        if (close(g, msb) or close(g, msb[::-1])) and not close(g, want):
            return ("it reads the inputs most-significant bit first; here bit i of a is worth 2^i (least-significant "
                    "first, so that carries flow left to right)")
        if close(g, [x ^ y for x, y in zip(a, b)] + [0]):
            return "the carry is missing: 1 + 1 = 10 in binary — write 0 and carry 1 into the next bit"
        return None

    return [shape, order]


def check_addition_answer(fn: Callable) -> Callable:
    """Check a student's ``addition_answer(a, b)`` (two lists of n bits, LSB first → n + 1 bits, LSB
    first) against :func:`loopvalley.shift.tasks.task_answer`; returns the function to use next.

    Introduced in notebooks/08_algorithmic_tasks.
    """
    return guided_checks("addition_answer", fn, addition_answer_reference, _ADD_CASES, _add_hints())


# --------------------------------------------------------------------------------------------
# exact_match
# --------------------------------------------------------------------------------------------


class _Predicts:
    """A stand-in model whose next-token prediction at position t is ``pred[:, t]`` (for answer_accuracy)."""

    def __init__(self, pred: torch.Tensor):
        self.pred = torch.as_tensor(pred).long()

    def __call__(self, tokens):
        full = torch.cat([self.pred, torch.zeros_like(self.pred[:, :1])], dim=1)  # (B, T): the last is unused
        return F.one_hot(full, VOCAB_SIZE).double()  # logits whose argmax is pred: (B, T, V)


def exact_match_reference(pred, tokens) -> float:
    """The fraction of rows whose every answer target is predicted right:
    :func:`loopvalley.shift.tasks.answer_accuracy`'s ``exact_match`` for predictions ``pred`` ``(B, T−1)``.

    Introduced in notebooks/08_algorithmic_tasks.
    """
    return answer_accuracy(_Predicts(pred), torch.as_tensor(tokens).long())["exact_match"]


def _problems(task: str, B: int, n, seed: int, offset: bool = True) -> torch.Tensor:
    return sample_problems(task, B, n, 24, torch.Generator().manual_seed(seed), random_offset=offset)


def _corrupt(tokens: torch.Tensor, seed: int, prompt: float = 0.5, pad: float = 0.5, answer: float = 0.3):
    """Predictions = the true next tokens, with wrong guesses in the prompt, in the padding after the answer,
    and in the answer, each in a random share of the rows: ``(B, T−1)``."""
    g = torch.Generator().manual_seed(seed)
    target = tokens[:, 1:].clone()  # (B, T−1)
    mask = answer_mask(tokens)  # answer targets
    after = (tokens == SEP).long().cumsum(1)[:, :-1] > 0  # targets after '='
    pred = target.clone()
    wrong = (target + 1 + torch.randint(0, VOCAB_SIZE - 1, target.shape, generator=g)) % VOCAB_SIZE
    B = tokens.shape[0]
    for share, where in ((prompt, ~after), (pad, after & ~mask), (answer, mask)):
        rows = torch.rand(B, generator=g) < share  # (B,)
        pick = where & rows[:, None] & (torch.rand(target.shape, generator=g) < 0.5)
        pred[pick] = wrong[pick]
    return pred


def _em_case(task, B, n, seed, **kw):
    toks = _problems(task, B, n, seed)
    return _corrupt(toks, seed, **kw), toks


_EM_CASES = [
    (_em_case("addition", 16, (1, 4), 0), "16 addition problems, lengths 1–4, random offsets"),
    (_em_case("copy", 12, (2, 5), 1), "copy, wrong guesses in prompts, padding and answers"),
    (_em_case("parity", 10, (1, 8), 2, answer=0.0), "parity, only the prompts and the padding are mispredicted"),
    (_em_case("unique_set", 8, 6, 3, prompt=0.0, pad=0.0, answer=1.0), "unique set, every row has a wrong answer token"),
]


def _em_hints():
    toks = _problems("addition", 24, (1, 5), 11)
    pred = _corrupt(toks, 11, prompt=0.6, pad=0.6, answer=0.4)
    want = exact_match_reference(pred, toks)
    target = toks[:, 1:]
    mask = answer_mask(toks)

    def rows_right(m, p=pred, t=target):
        return float((((p == t) | ~m).all(dim=1)).double().mean())

    def shape(fn):
        return shape_hint(fn(pred, toks), np.float64(want), "the exact match") or None

    def which_targets(fn):
        got = float(_np(fn(pred, toks)))
        if close(got, answer_accuracy(_Predicts(pred), toks)["token_acc"]):
            return ("that is the token accuracy (the share of answer tokens right); exact match counts a problem only "
                    "when *every* one of its answer tokens is right")
        if close(got, rows_right(torch.ones_like(mask))):
            return ("it scores every position, the prompt included: the prompt is random input nobody can predict — "
                    "only the targets after '=' (the answer) count")
        after = (toks == SEP).long().cumsum(1)[:, :-1] > 0
        if close(got, rows_right(after)):
            return ("it scores the padding after the answer too: a target that is PAD is not part of the answer "
                    f"(PAD = {PAD})")
        eq = ((target == SEP).long().cumsum(1) > 0) & (target != PAD)
        if close(got, rows_right(eq)):
            return "it scores the '=' itself: the answer starts with the token *after* '='"
        if close(got, rows_right(answer_mask(toks), t=toks[:, :-1])):
            return "pred[:, t] is the prediction of the *next* token, tokens[:, t + 1]; it was compared with tokens[:, t]"
        return None

    return [shape, which_targets]


def check_exact_match(fn: Callable) -> Callable:
    """Check a student's ``exact_match(pred, tokens)`` (``(B, T−1)`` predictions, ``(B, T)`` padded problems
    → a number in [0, 1]) against :func:`loopvalley.shift.tasks.answer_accuracy`; returns the function
    to use next.

    Introduced in notebooks/08_algorithmic_tasks.
    """
    return guided_checks("exact_match", fn, exact_match_reference, _EM_CASES, _em_hints())
