"""Algorithmic tasks: answers against brute force, the token layout, the answer mask, bad input."""

import itertools

import pytest
import torch

from loopvalley.shift import tasks
from loopvalley.shift.tasks import (
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


# --------------------------------------------------------------------------------------------------
# distinct problems, held-out splits, baselines

from loopvalley.shift.tasks import (
    N_SPECIAL,
    accuracy_by_length,
    baselines_by_length,
    chance_exact_match,
    chance_token_accuracy,
    majority_exact_match,
    majority_token_accuracy,
    n_distinct_problems,
    problem_content,
    split_problems,
)


def _alphabet(task):
    return 8 if task in ("copy", "unique_set") else 2


def _width(task, n):
    return 2 * n if task == "addition" else n


def _unpadded(row):
    """Independent of problem_content: the slice from BOS to the last non-PAD token."""
    row = list(row)
    start = row.index(tasks.BOS)
    end = max(i for i, t in enumerate(row) if t != PAD)
    return tuple(row[start : end + 1])


def _left_aligned(toks):
    """Every row rolled so that its BOS is at position 0: (N, T)."""
    starts = (toks == tasks.BOS).long().argmax(1)
    return torch.stack([torch.roll(r, -int(s)) for r, s in zip(toks, starts)])


@pytest.mark.parametrize("task", TASKS)
def test_n_distinct_problems_is_what_the_sampler_reaches(task):
    # small spaces: 4000 draws cover every problem (P(miss one of ≤ 64) < 64·(63/64)^4000 ≈ 0)
    for n in range(1, 5):
        if n_distinct_problems(task, n) > 64:
            break
        toks = sample_problems(task, 4000, n, sequence_length(task, n), torch.Generator().manual_seed(n))
        assert len({_unpadded(r) for r in toks.tolist()}) == n_distinct_problems(task, n), (task, n)
    for n in range(1, 4):  # and the count by enumeration: distinct inputs give distinct problems
        inputs = itertools.product(range(_alphabet(task)), repeat=_width(task, n))
        assert len({tuple(problem_tokens(task, list(x))) for x in inputs}) == n_distinct_problems(task, n)
    assert n_distinct_problems("parity", 10) == 1024 and n_distinct_problems("addition", 3) == 64


SPLITS = {  # task: (train lengths, eval lengths, eval per length) — every eval length has > 32 problems
    "parity": ((1, 8), (6, 12), 32),
    "binary_sum": ((1, 8), (6, 12), 32),
    "addition": ((1, 4), (3, 6), 32),
    "copy": ((1, 4), (2, 6), 48),
    "unique_set": ((1, 4), (2, 6), 48),
}


@pytest.mark.parametrize("task", TASKS)
def test_split_has_no_test_problem_in_training(task):
    tr, ev, k = SPLITS[task]
    max_len = sequence_length(task, ev[1])
    sp = split_problems(task, 3000, k, tr, ev, max_len, torch.Generator().manual_seed(0))
    assert sp.train.shape == (3000, max_len)
    train_al = _left_aligned(sp.train)
    for n, toks in sp.eval.items():
        assert toks.shape == (k, max_len)
        contents = [_unpadded(r) for r in toks.tolist()]
        assert len(set(contents)) == k  # distinct test problems
        assert all(len([t for t in c[1 : c.index(SEP)] if t != PLUS]) == _width(task, n) for c in contents)  # length n
        # brute force over all (test, train) pairs: left-aligned rows never coincide
        same = (_left_aligned(toks)[:, None, :] == train_al[None, :, :]).all(-1)  # (k, N)
        assert not same.any(), (task, n)
    # the training rows are well-formed problems of the training lengths, at offsets that vary
    for c in {_unpadded(r) for r in sp.train.tolist()}:
        x = [t - N_SPECIAL for t in c[1 : c.index(SEP)] if t != PLUS]
        assert tr[0] <= len(x) // (2 if task == "addition" else 1) <= tr[1] and list(c) == problem_tokens(task, x)
    assert len(set((sp.train == tasks.BOS).long().argmax(1).tolist())) > 3
    ins, outs = sp.eval_sets()["in"], sp.eval_sets()["out"]
    assert ins.shape[0] == k * (tr[1] - ev[0] + 1) and outs.shape[0] == k * (ev[1] - tr[1])


def test_split_trains_on_exactly_the_problems_left_over():
    # length 4: 16 parity problems, 6 held out → the 2000 training rows cover the other 10, and only them
    sp = split_problems("parity", 2000, 6, 4, 4, sequence_length("parity", 4), torch.Generator().manual_seed(3))
    held = {_unpadded(r) for r in sp.eval[4].tolist()}
    train = {_unpadded(r) for r in sp.train.tolist()}
    everything = {tuple(problem_tokens("parity", list(x))) for x in itertools.product((0, 1), repeat=4)}
    assert len(held) == 6 and train == everything - held and sp.n_distinct_train == 10
    assert set(problem_content(sp.train)) == train


def test_split_is_reproducible_and_large_spaces_are_sampled():
    a = split_problems("copy", 64, 16, (5, 9), (9, 12), 40, torch.Generator().manual_seed(5))  # 8^9.. > 2^16
    b = split_problems("copy", 64, 16, (5, 9), (9, 12), 40, torch.Generator().manual_seed(5))
    assert torch.equal(a.train, b.train) and all(torch.equal(a.eval[n], b.eval[n]) for n in a.eval)
    assert sorted(a.eval) == [9, 10, 11, 12] and len(set(problem_content(a.eval[12]))) == 16


@pytest.mark.parametrize(
    "call, name",
    [
        (lambda: split_problems("parity", 100, 9, (1, 8), 3, 30, torch.Generator()), "n_eval_per_length"),
        (lambda: split_problems("parity", 100, 8, (1, 8), 3, 30, torch.Generator()), "n_eval_per_length"),
        (lambda: split_problems("parity", 0, 4, (1, 8), 8, 30, torch.Generator()), "n_train_problems"),
        (lambda: split_problems("parity", 10, 4, (5, 2), 8, 30, torch.Generator()), "train_lengths"),
        (lambda: split_problems("parity", 10, 4, (1, 8), 0, 30, torch.Generator()), "eval_lengths"),
        (lambda: split_problems("parity", 10, 4, (1, 8), 20, 15, torch.Generator()), "max_len"),
        (lambda: n_distinct_problems("copy", 0), "length"),
        (lambda: chance_exact_match("sorting", 3), "task"),
        (lambda: majority_token_accuracy("parity", 0), "length"),
    ],
)
def test_split_and_baselines_bad_input(call, name):
    with pytest.raises(ValueError, match=name):
        call()


class _Memoriser(torch.nn.Module):
    """An oracle on the problems it was 'trained' on and wrong (predicts PAD) on every other one."""

    def __init__(self, train_tokens):
        super().__init__()
        self.seen = {_unpadded(r) for r in train_tokens.tolist()}

    def forward(self, tokens):
        logits = _Oracle()(tokens)
        wrong = 50.0 * torch.nn.functional.one_hot(torch.full_like(tokens, PAD), tasks.VOCAB_SIZE).float()
        known = torch.tensor([_unpadded(r) in self.seen for r in tokens.tolist()])
        return torch.where(known[:, None, None], logits, wrong)


def test_held_out_accuracy_does_not_reward_memorisation():
    cfg = TaskConfig("parity", n_train=4, n_eval=10)
    train = sample_problems("parity", 4096, (1, 4), cfg.max_len, torch.Generator().manual_seed(0))
    model = _Memoriser(train)
    plain = accuracy_by_length(model, cfg, torch.Generator().manual_seed(1), 64)
    assert plain["exact_match"][:4] == [1.0] * 4 and plain["exact_match"][4:] == [0.0] * 6  # memorised
    assert plain["n_problems"] == [64] * 10
    held = accuracy_by_length(model, cfg, torch.Generator().manual_seed(1), 64, exclude=train)
    assert held["n_problems"] == [0, 0, 0, 0, 32, 64, 64, 64, 64, 64]  # 1..4: all 30 problems in training
    assert all(v != v for v in held["exact_match"][:4])  # NaN: no held-out problem exists
    assert held["exact_match"][4:] == [0.0] * 6
    # a split's test sets, with and without the training rows excluded again
    sp = split_problems("parity", 4096, 32, (1, 8), (6, 10), cfg.max_len, torch.Generator().manual_seed(2))
    on_split = accuracy_by_length(_Memoriser(sp.train), cfg, torch.Generator(), problems=sp.eval)
    assert on_split["length"] == [6, 7, 8, 9, 10] and on_split["exact_match"] == [0.0] * 5
    assert accuracy_by_length(_Oracle(), cfg, torch.Generator(), problems=sp.eval)["exact_match"] == [1.0] * 5
    mixed = {6: torch.cat([sp.eval[6], sp.train[:5]])}
    assert accuracy_by_length(_Oracle(), cfg, torch.Generator(), problems=mixed, exclude=sp.train)["n_problems"] == [32]


def _answers(task, n):
    """Every length-n answer under uniform inputs (brute force, the independent _brute)."""
    return [_brute(task, list(x)) for x in itertools.product(range(_alphabet(task)), repeat=_width(task, n))]


BASELINE_NS = {"parity": 5, "binary_sum": 6, "addition": 4, "copy": 3, "unique_set": 3}


@pytest.mark.parametrize("task", TASKS)
def test_baselines_against_enumeration(task):
    A = _alphabet(task)
    for n in range(1, BASELINE_NS[task] + 1):
        ys = _answers(task, n)
        m = answer_length(task, n)
        guesses = list(itertools.product(range(A), repeat=m))
        # uniform guessing: teacher forcing scores the first len(y) tokens of a uniform length-m guess
        em = sum(list(g[: len(y)]) == y for y in ys for g in guesses) / (len(ys) * len(guesses))
        tok = sum(g[j] == y[j] for y in ys for g in guesses for j in range(len(y))) / (
            len(guesses) * sum(map(len, ys)))
        assert chance_exact_match(task, n) == pytest.approx(em, rel=1e-12), (task, n)
        assert chance_token_accuracy(task, n) == pytest.approx(tok, rel=1e-12), (task, n)
        # best fixed guess, searched over every guess
        best = max(sum(list(g[: len(y)]) == y for y in ys) for g in guesses) / len(ys)
        assert majority_exact_match(task, n) == pytest.approx(best, rel=1e-12), (task, n)
        # best input-blind next-token predictor: the most frequent y_j after each answer prefix y_<j
        counts: dict = {}
        for y in ys:
            for j in range(len(y)):
                counts.setdefault(tuple(y[:j]), {}).setdefault(y[j], 0)
                counts[tuple(y[:j])][y[j]] += 1
        right = sum(max(c.values()) for c in counts.values())
        assert majority_token_accuracy(task, n) == pytest.approx(right / sum(map(len, ys)), rel=1e-12), (task, n)


class _FixedAnswer(torch.nn.Module):
    """Ignores the input: the i-th answer token it predicts is guess[i] (PAD elsewhere)."""

    def __init__(self, guess):
        super().__init__()
        self.guess = [tasks.sym(v) for v in guess]

    def forward(self, tokens):
        B, T = tokens.shape
        sep = (tokens == SEP).long().argmax(1)  # (B,)
        j = torch.arange(T)[None, :] - sep[:, None]  # (B, T): answer index each position predicts
        table = torch.tensor(self.guess + [PAD])
        pred = torch.where((j >= 0) & (j < len(self.guess)), table[j.clamp(0, len(self.guess))], torch.tensor(PAD))
        return 50.0 * torch.nn.functional.one_hot(pred, tasks.VOCAB_SIZE).float()


@pytest.mark.parametrize("task, n, guess", [
    ("unique_set", 3, [0, 1, 2]), ("binary_sum", 6, [1, 1, 0]), ("addition", 3, [1, 1, 1, 0]), ("parity", 4, [0]),
])
def test_majority_baseline_is_what_the_metric_gives_a_fixed_guess(task, n, guess):
    # every length-n problem once, at random offsets, scored by answer_accuracy (teacher forcing)
    inputs = [list(x) for x in itertools.product(range(_alphabet(task)), repeat=_width(task, n))]
    max_len = sequence_length(task, n) + 3
    g = torch.Generator().manual_seed(0)
    toks = torch.full((len(inputs), max_len), PAD, dtype=torch.long)
    for i, x in enumerate(inputs):
        seq = problem_tokens(task, x)
        s = int(torch.randint(0, max_len - len(seq) + 1, (1,), generator=g))
        toks[i, s : s + len(seq)] = torch.tensor(seq)
    acc = answer_accuracy(_FixedAnswer(guess), toks)
    assert acc["exact_match"] == pytest.approx(majority_exact_match(task, n), abs=1e-6)
    row = baselines_by_length(task, (1, n))
    assert row["length"][-1] == n and row["majority_exact_match"][-1] == majority_exact_match(task, n)
    assert all(c <= mj + 1e-12 for c, mj in zip(row["chance_exact_match"], row["majority_exact_match"]))


def test_accuracy_by_length_default_draws_what_sample_problems_draws():
    # without exclude/problems: the same fresh problems as before (sample_problems per length, one generator)
    cfg = TaskConfig("binary_sum", n_train=3)
    model = _FixedAnswer([1, 1, 0])
    got = accuracy_by_length(model, cfg, torch.Generator().manual_seed(7), 50)
    g = torch.Generator().manual_seed(7)
    want = [answer_accuracy(model, sample_problems("binary_sum", 50, n, cfg.max_len, g))["exact_match"] for n in range(1, 7)]
    assert got["exact_match"] == want and got["length"] == list(range(1, 7)) and got["n_problems"] == [50] * 6
