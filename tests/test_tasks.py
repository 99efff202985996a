"""Algorithmic tasks: answers against brute force, the token layout, the answer mask, bad input."""

import itertools

import pytest
import torch

from loopvalley import tasks
from loopvalley.tasks import (
    PAD,
    PLUS,
    SEP,
    TASKS,
    TaskConfig,
    answer_accuracy,
    answer_length,
    answer_loss,
    answer_mask,
    problem_tokens,
    sample_problems,
    sequence_length,
    task_answer,
)


def _brute(task, x):
    """Independent answers: string arithmetic, Python's int/bin, set bookkeeping by search."""
    if task == "parity":
        return [bin(int("".join(map(str, x)) or "0", 2)).count("1") % 2]
    if task == "copy":
        return list(x)
    if task == "addition":
        n = len(x) // 2
        a = int("".join(map(str, reversed(x[:n]))), 2)  # LSB first → reverse to read
        b = int("".join(map(str, reversed(x[n:]))), 2)
        s = format(a + b, "b").zfill(n + 1)
        return [int(c) for c in reversed(s)]
    if task == "binary_sum":
        w = len(format(len(x), "b"))
        return [int(c) for c in reversed(format(x.count(1), "b").zfill(w))]
    if task == "unique_set":
        return [v for i, v in enumerate(x) if v not in x[:i]]
    raise AssertionError(task)


@pytest.mark.parametrize("task", TASKS)
def test_answers_match_brute_force(task):
    alphabet = 3 if task in ("copy", "unique_set") else 2
    for n in range(1, 5):
        width = 2 * n if task == "addition" else n
        for x in itertools.product(range(alphabet), repeat=width):
            assert task_answer(task, list(x)) == _brute(task, list(x)), (task, x)
            assert len(task_answer(task, list(x))) <= answer_length(task, n)


def test_addition_example():
    # 3 + 6 = 9: a = 110 (LSB first = 011₂ = 3), b = 011 (LSB first = 110₂ = 6), 9 = 1001₂ → 1001 reversed
    assert task_answer("addition", [1, 1, 0, 0, 1, 1]) == [1, 0, 0, 1]


@pytest.mark.parametrize("task", TASKS)
def test_sampled_problems_are_well_formed(task):
    cfg = TaskConfig(task, n_train=4)
    g = torch.Generator().manual_seed(0)
    toks = sample_problems(task, 64, (1, 4), cfg.max_len, g)
    assert toks.shape == (64, cfg.max_len)
    for row in toks.tolist():
        body = [t for t in row if t != PAD]
        start = row.index(tasks.BOS)
        assert row[start : start + len(body)] == body  # one contiguous problem inside the padding
        sep = body.index(SEP)
        prompt, answer = body[1:sep], body[sep + 1 :]
        if task == "addition":
            plus = prompt.index(PLUS)
            x = [t - tasks.N_SPECIAL for t in prompt[:plus] + prompt[plus + 1 :]]
        else:
            x = [t - tasks.N_SPECIAL for t in prompt]
        assert [t - tasks.N_SPECIAL for t in answer] == _brute(task, x)
        assert problem_tokens(task, x) == body


def test_random_offset_covers_the_positions():
    cfg = TaskConfig("parity", n_train=4)
    toks = sample_problems("parity", 512, (1, 4), cfg.max_len, torch.Generator().manual_seed(0))
    starts = (toks == tasks.BOS).float().argmax(1)
    assert starts.min() == 0 and starts.max() == cfg.max_len - sequence_length("parity", 1)
    fixed = sample_problems("parity", 16, 3, cfg.max_len, torch.Generator().manual_seed(0), random_offset=False)
    assert (fixed[:, 0] == tasks.BOS).all()


def test_max_len_covers_twice_the_training_length():
    cfg = TaskConfig("addition", n_train=5)
    assert cfg.n_eval == 10 and cfg.max_len == sequence_length("addition", 10) == 1 + 21 + 1 + 11


def test_answer_mask_selects_exactly_the_answer_targets():
    seq = problem_tokens("copy", [1, 2, 3])  # BOS 1 2 3 = 1 2 3
    toks = torch.tensor([[PAD, PAD] + seq + [PAD, PAD]])
    mask = answer_mask(toks)[0]
    targets = toks[0, 1:][mask].tolist()
    assert targets == [t for t in seq[seq.index(SEP) + 1 :]]


class _Oracle(torch.nn.Module):
    """Logits that put all mass on the true next token: loss → 0, accuracy 1."""

    def forward(self, tokens):
        nxt = torch.cat([tokens[:, 1:], tokens[:, :1]], 1)
        return 50.0 * torch.nn.functional.one_hot(nxt, tasks.VOCAB_SIZE).float()


def test_loss_and_accuracy_on_an_oracle():
    cfg = TaskConfig("unique_set", n_train=5)
    toks = sample_problems("unique_set", 32, (1, 5), cfg.max_len, torch.Generator().manual_seed(1))
    assert float(answer_loss(_Oracle(), toks)) < 1e-6
    assert answer_accuracy(_Oracle(), toks) == {"token_acc": 1.0, "exact_match": 1.0}


@pytest.mark.parametrize(
    "call, name",
    [
        (lambda: answer_length("parity", 0), "length"),
        (lambda: sequence_length("copy", -1), "length"),
        (lambda: answer_length("sorting", 3), "task"),
        (lambda: TaskConfig("parity", n_train=0), "n_train"),
        (lambda: TaskConfig("parity", n_train=4, n_eval=2), "n_eval"),
        (lambda: sample_problems("copy", 0, 3, 20, torch.Generator()), "n_examples"),
        (lambda: sample_problems("copy", 4, 0, 20, torch.Generator()), "length"),
        (lambda: sample_problems("copy", 4, 9, 10, torch.Generator()), "max_len"),
    ],
)
def test_bad_input_names_the_parameter(call, name):
    with pytest.raises(ValueError, match=name):
        call()
