"""Algorithmic tasks for length generalisation: parity, copy, addition, binary sum, unique set.

The suite follows Fan et al. 2024 ("Looped Transformers for Length Generalization"), the most likely
source of the paper's algorithmic tasks (paper-notes §3.2; the paper's own list is not public).
Every task is a next-token sequence

    [input x_1 .. x_n]  =  [answer y_1 .. y_m]                     (m depends on the task and n)

and the loss is cross-entropy on the answer tokens only (teacher forcing). Numbers are written
least-significant bit first, as in Fan et al., so that carries flow left to right.

Positions. The model uses learned absolute positions up to ``cfg.max_len``. A model trained only at
lengths ≤ n would never see positions beyond its training sequences, and every length-2n test would
fail for a trivial reason. We therefore pad every sequence to ``max_len = sequence_length(task, 2n)``
and place the problem at a random offset (PAD tokens before and after, as in randomised positional
encodings, Ruoss et al. 2023): every position embedding is trained, and what is tested at length 2n
is the *algorithm*, not an untrained embedding. ``random_offset=False`` turns this off.

Held-out evaluation. A length-n problem has only ``n_distinct_problems(task, n)`` possible contents
(2ⁿ for parity): 4096 training rows at lengths 1..4 hold at most 30 distinct parity problems, and a
fresh length-3 test problem is then always one of them — "in-distribution accuracy" would measure
memorisation. :func:`split_problems` draws the evaluation problems first and the training problems
from the rest, so no test problem's content (its unpadded token sequence) occurs in training;
``accuracy_by_length(..., exclude=train)`` does the same for fresh samples.

Baselines. :func:`chance_exact_match` / :func:`chance_token_accuracy` (uniform guessing over the
answer alphabet) and :func:`majority_exact_match` / :func:`majority_token_accuracy` (the best
predictor that ignores the input and knows only the length) are computed exactly per task and length;
an accuracy is only evidence of an algorithm where it is above both.

Introduced in notebooks/08_algorithmic_tasks.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from functools import lru_cache
from typing import Mapping

import torch
import torch.nn.functional as F

from loopvalley._validate import check_choice, check_int

TASKS = ("parity", "copy", "addition", "binary_sum", "unique_set")

# One vocabulary for every task: 4 special tokens, then the symbols 0..N_SYMBOLS-1.
PAD, SEP, PLUS, BOS = 0, 1, 2, 3
N_SPECIAL = 4
N_SYMBOLS = 8  # unique_set and copy draw from 8 symbols; the binary tasks use symbols 0 and 1
VOCAB_SIZE = N_SPECIAL + N_SYMBOLS


def sym(v: int) -> int:
    """Token id of symbol ``v`` (0 ≤ v < N_SYMBOLS)."""
    return N_SPECIAL + int(v)


def _alphabet(task: str) -> int:
    """How many symbols the input digits of ``task`` use."""
    return N_SYMBOLS if task in ("copy", "unique_set") else 2


# --------------------------------------------------------------------------------------------------
# answers (plain Python: readable, and the tests check them against independent brute force)


def _bits_lsb(value: int, width: int) -> list[int]:
    """``value`` in binary, least-significant bit first, exactly ``width`` bits."""
    return [(value >> i) & 1 for i in range(width)]


def answer_length(task: str, n: int) -> int:
    """Number of answer tokens m for an input of length n (variable for unique_set: at most n)."""
    check_choice("task", task, TASKS)
    n = check_int("length", n, 1)
    return {
        "parity": 1,  # y = Σ x_i mod 2
        "copy": n,  # y = x
        "addition": n + 1,  # y = a + b, one more bit for the carry
        "binary_sum": n.bit_length(),  # y = Σ x_i, and Σ x_i ≤ n
        "unique_set": n,  # at most n distinct symbols
    }[task]


def input_length(task: str, n: int) -> int:
    """Number of input tokens before ``=``: 2n+1 for addition (a + b), n otherwise."""
    check_choice("task", task, TASKS)
    n = check_int("length", n, 1)
    return 2 * n + 1 if task == "addition" else n


def sequence_length(task: str, n: int) -> int:
    """Longest token count of one problem of length n: BOS, input, ``=``, answer."""
    return 1 + input_length(task, n) + 1 + answer_length(task, n)


def task_answer(task: str, digits) -> list[int]:
    """The answer symbols for input digits (a list of ints; for addition, a then b, each n long).

    Introduced in notebooks/08_algorithmic_tasks.
    """
    check_choice("task", task, TASKS)
    x = [int(v) for v in digits]
    if task == "parity":
        return [sum(x) % 2]
    if task == "copy":
        return list(x)
    if task == "addition":
        n = len(x) // 2
        a = sum(bit << i for i, bit in enumerate(x[:n]))  # LSB first
        b = sum(bit << i for i, bit in enumerate(x[n:]))
        return _bits_lsb(a + b, n + 1)
    if task == "binary_sum":
        return _bits_lsb(sum(x), len(x).bit_length())
    # unique_set: the distinct symbols in order of first appearance
    seen, out = set(), []
    for v in x:
        if v not in seen:
            seen.add(v)
            out.append(v)
    return out


def problem_tokens(task: str, digits) -> list[int]:
    """Token ids of one problem: ``BOS x = y`` (``BOS a + b = y`` for addition), no padding."""
    x = [int(v) for v in digits]
    if task == "addition":
        n = len(x) // 2
        prompt = [sym(v) for v in x[:n]] + [PLUS] + [sym(v) for v in x[n:]]
    else:
        prompt = [sym(v) for v in x]
    return [BOS] + prompt + [SEP] + [sym(v) for v in task_answer(task, x)]


def decode(tokens) -> str:
    """A problem as text, padding dropped: ``BOS 1 0 1 = 0`` → ``"1 0 1 = 0"``.

    Introduced in notebooks/08_algorithmic_tasks.
    """
    names = {SEP: "=", PLUS: "+"}
    ids = tokens.tolist() if hasattr(tokens, "tolist") else list(tokens)
    return " ".join(names.get(t, str(t - N_SPECIAL)) for t in ids if t not in (PAD, BOS))


# --------------------------------------------------------------------------------------------------
# batches


@dataclass
class TaskConfig:
    task: str = "parity"  # one of TASKS
    n_train: int = 8  # train on lengths 1..n_train
    n_eval: int = 0  # evaluate up to this length (0: 2·n_train)
    random_offset: bool = True  # place each problem at a random offset inside max_len

    def __post_init__(self):
        check_choice("task", self.task, TASKS)
        check_int("n_train", self.n_train, 1)
        check_int("n_eval", self.n_eval, 0)
        if self.n_eval == 0:
            self.n_eval = 2 * self.n_train
        if self.n_eval < self.n_train:
            raise ValueError(f"n_eval must be >= n_train={self.n_train}, got {self.n_eval}")

    @property
    def max_len(self) -> int:
        """Positions the model needs: the longest problem evaluated (set ``ModelConfig.max_len`` to it)."""
        return sequence_length(self.task, self.n_eval)

    def to_dict(self) -> dict:
        return asdict(self)


def sample_problems(
    task: str,
    n_examples: int,
    lengths,
    max_len: int,
    generator: torch.Generator,
    random_offset: bool = True,
) -> torch.Tensor:
    """``n_examples`` problems, each padded with PAD to ``max_len`` tokens: ``(n_examples, max_len)``.

    ``lengths`` is one length n or a ``(lo, hi)`` range (each problem's n uniform in lo..hi). With
    ``random_offset`` each problem starts at a uniform offset in ``0 .. max_len − its length``.

    Introduced in notebooks/08_algorithmic_tasks.
    """
    check_choice("task", task, TASKS)
    n_examples = check_int("n_examples", n_examples, 1)
    lo, hi = (lengths, lengths) if isinstance(lengths, int) else tuple(lengths)
    lo, hi = check_int("length", lo, 1), check_int("length", hi, 1)
    if hi < lo:
        raise ValueError(f"length range must have lo <= hi, got ({lo}, {hi})")
    if sequence_length(task, hi) > max_len:
        raise ValueError(f"max_len={max_len} is shorter than a length-{hi} {task} problem ({sequence_length(task, hi)})")
    n_per = torch.randint(lo, hi + 1, (n_examples,), generator=generator)
    n_in = torch.tensor([input_length(task, int(n)) for n in n_per])  # digits drawn per problem
    digits = torch.randint(0, _alphabet(task), (n_examples, int(n_in.max())), generator=generator)
    out = torch.full((n_examples, max_len), PAD, dtype=torch.long)
    room = torch.rand(n_examples, generator=generator)
    for i in range(n_examples):
        n = int(n_per[i])
        x = digits[i, : (2 * n if task == "addition" else n)].tolist()
        seq = problem_tokens(task, x)
        start = int(room[i] * (max_len - len(seq) + 1)) if random_offset else 0
        out[i, start : start + len(seq)] = torch.tensor(seq)
    return out


# --------------------------------------------------------------------------------------------------
# distinct problems and held-out splits


def _n_digits(task: str, n: int) -> int:
    """Input digits of a length-n problem: 2n for addition (a and b), n otherwise."""
    return 2 * n if task == "addition" else n


def n_distinct_problems(task: str, n: int) -> int:
    """How many different length-n problems exist: A^d, A = the input alphabet, d = input digits.

    The answer is a function of the input, so problems and inputs are in one-to-one correspondence:
    2ⁿ for parity and binary_sum, 4ⁿ for addition (a, b ∈ [0, 2ⁿ)), 8ⁿ for copy and unique_set.

    ====================  =====  =====  ======  ==========  =======================
    task                  n = 2  n = 4  n = 6   n = 8       lengths 1..4 in all
    ====================  =====  =====  ======  ==========  =======================
    parity, binary_sum    4      16     64      256         30
    addition              16     256    4096    65536       340
    copy, unique_set      64     4096   262144  16777216    4680
    ====================  =====  =====  ======  ==========  =======================

    A held-out in-distribution test at length n needs n_distinct_problems(task, n) well above the
    training rows of that length; at lengths 1..4 every parity problem is a training problem.

    Introduced in notebooks/08_algorithmic_tasks.
    """
    check_choice("task", task, TASKS)
    n = check_int("length", n, 1)
    return _alphabet(task) ** _n_digits(task, n)


def problem_content(tokens: torch.Tensor) -> list:
    """Each row's problem without its padding, ``(B, T)`` → B tuples of token ids.

    Two rows hold the same problem iff their contents are equal, whatever their offsets.

    Introduced in notebooks/08_algorithmic_tasks.
    """
    if not isinstance(tokens, torch.Tensor) or tokens.dim() != 2:
        raise ValueError("tokens must be a LongTensor of shape (n_problems, length)")
    return [tuple(t for t in row if t != PAD) for row in tokens.tolist()]


def _content_digits(content) -> tuple:
    """The input digits of one problem's content (``BOS x = y`` or ``BOS a + b = y``)."""
    body = content[1 : content.index(SEP)]  # drop BOS, stop at '='
    return tuple(t - N_SPECIAL for t in body if t != PLUS)


_ENUMERATE_MAX = 1 << 16  # lengths with at most this many problems are enumerated, larger ones rejection-sampled


def _all_digits(task: str, n: int) -> torch.Tensor:
    """Every length-n input, index i ↔ digits d_j = ⌊i / A^j⌋ mod A: ``(A^d, d)``."""
    A, d = _alphabet(task), _n_digits(task, n)
    idx = torch.arange(A**d)  # (A^d,)
    return (idx[:, None] // A ** torch.arange(d)) % A  # (A^d, d)


def _draw_inputs(task: str, n: int, k: int, generator: torch.Generator, exclude: set, distinct: bool,
                 name: str = "n_examples") -> list:
    """``k`` length-n inputs (digit tuples), uniform over those not in ``exclude`` (a set of digit
    tuples), with or without replacement. Raises ``ValueError`` naming ``name`` if too few exist."""
    A, d = _alphabet(task), _n_digits(task, n)
    total = A**d
    n_excluded = sum(1 for x in exclude if len(x) == d)
    available = total - n_excluded
    if k == 0:
        return []
    if available == 0 or (distinct and k > available):
        raise ValueError(
            f"{name}={k} distinct {task} problems of length {n} requested, but only {available} exist "
            f"({total} in all{f', {n_excluded} excluded' if n_excluded else ''}); see n_distinct_problems"
        )
    if total <= _ENUMERATE_MAX:  # enumerate the allowed inputs, then draw indices into them
        allowed = [x for x in map(tuple, _all_digits(task, n).tolist()) if x not in exclude]
        pick = (torch.randperm(len(allowed), generator=generator)[:k] if distinct
                else torch.randint(0, len(allowed), (k,), generator=generator))
        return [allowed[i] for i in pick.tolist()]
    # more than 2^16 problems: rejection sampling (the excluded ones are a small fraction here)
    out, taken = [], set()
    for _ in range(1000):
        for x in map(tuple, torch.randint(0, A, (2 * (k - len(out)) + 16, d), generator=generator).tolist()):
            if x in exclude or (distinct and x in taken):
                continue
            out.append(x)
            taken.add(x)
            if len(out) == k:
                return out
    raise ValueError(f"could not draw {name}={k} {task} problems of length {n} outside the {n_excluded} excluded ones")


def _place(task: str, inputs: list, max_len: int, generator: torch.Generator, random_offset: bool) -> torch.Tensor:
    """Problems for the digit tuples ``inputs``, each padded to ``max_len`` at a uniform random offset."""
    out = torch.full((len(inputs), max_len), PAD, dtype=torch.long)  # (N, max_len)
    room = torch.rand(len(inputs), generator=generator)
    for i, x in enumerate(inputs):
        seq = problem_tokens(task, x)
        start = int(room[i] * (max_len - len(seq) + 1)) if random_offset else 0
        out[i, start : start + len(seq)] = torch.tensor(seq)
    return out


def _length_range(name: str, lengths) -> tuple:
    lo, hi = (lengths, lengths) if isinstance(lengths, int) else tuple(lengths)
    lo, hi = check_int(name, lo, 1), check_int(name, hi, 1)
    if hi < lo:
        raise ValueError(f"{name} range must have lo <= hi, got ({lo}, {hi})")
    return lo, hi


@dataclass
class ProblemSplit:
    """Training problems and held-out test problems of one task; no test problem occurs in training."""

    task: str
    max_len: int  # every row is padded to this many tokens
    train_lengths: tuple  # (lo, hi): training problems have lengths lo..hi
    train: torch.Tensor  # (n_train_problems, max_len); may repeat a problem (at another offset)
    eval: dict = field(default_factory=dict)  # length n → (n_eval_per_length, max_len), distinct problems

    def eval_sets(self) -> dict:
        """``{"in": test problems at training lengths, "out": at the other lengths}`` (the Trainer's
        ``eval_sets``; a split is left out when no test length falls in it)."""
        lo, hi = self.train_lengths
        inside = [t for n, t in sorted(self.eval.items()) if lo <= n <= hi]
        outside = [t for n, t in sorted(self.eval.items()) if not lo <= n <= hi]
        out = {}
        if inside:
            out["in"] = torch.cat(inside)
        if outside:
            out["out"] = torch.cat(outside)
        return out

    @property
    def n_distinct_train(self) -> int:
        """How many different problems the training rows hold."""
        return len(set(problem_content(self.train)))


def split_problems(
    task: str,
    n_train_problems: int,
    n_eval_per_length: int,
    train_lengths,
    eval_lengths,
    max_len: int,
    generator: torch.Generator,
    random_offset: bool = True,
) -> ProblemSplit:
    """Disjoint training and test problems: no test problem's content occurs in the training set.

    For every test length n in ``eval_lengths`` (one length or a ``(lo, hi)`` range) draw
    ``n_eval_per_length`` *distinct* length-n problems, uniformly without replacement; then draw
    ``n_train_problems`` training rows, each of a length uniform in ``train_lengths`` and uniform
    over the problems of that length that are not test problems (with replacement: at short lengths
    the same problem recurs at other offsets — ``ProblemSplit.n_distinct_train`` counts them).
    Raises ``ValueError`` when a test length has fewer than ``n_eval_per_length`` problems, or, at a
    training length, leaves no problem to train on — choose test lengths where
    :func:`n_distinct_problems` is large. Test lengths inside ``train_lengths`` are the held-out
    in-distribution test, the others the out-of-distribution one (:meth:`ProblemSplit.eval_sets`).

    Introduced in notebooks/08_algorithmic_tasks.
    """
    check_choice("task", task, TASKS)
    n_train_problems = check_int("n_train_problems", n_train_problems, 1)
    n_eval_per_length = check_int("n_eval_per_length", n_eval_per_length, 1)
    t_lo, t_hi = _length_range("train_lengths", train_lengths)
    e_lo, e_hi = _length_range("eval_lengths", eval_lengths)
    longest = max(t_hi, e_hi)
    max_len = check_int("max_len", max_len, 2)
    if sequence_length(task, longest) > max_len:
        raise ValueError(f"max_len={max_len} is shorter than a length-{longest} {task} problem "
                         f"({sequence_length(task, longest)})")
    held_out: dict = {}  # length → set of test inputs
    evals = {}
    for n in range(e_lo, e_hi + 1):
        if t_lo <= n <= t_hi and n_eval_per_length >= n_distinct_problems(task, n):
            raise ValueError(f"n_eval_per_length={n_eval_per_length} would hold out all "
                             f"{n_distinct_problems(task, n)} {task} problems of training length {n}")
        xs = _draw_inputs(task, n, n_eval_per_length, generator, set(), distinct=True, name="n_eval_per_length")
        held_out[n] = set(xs)
        evals[n] = _place(task, xs, max_len, generator, random_offset)
    n_per = torch.randint(t_lo, t_hi + 1, (n_train_problems,), generator=generator)  # each row's length
    inputs: list = [None] * n_train_problems
    for n in range(t_lo, t_hi + 1):
        rows = (n_per == n).nonzero().flatten().tolist()
        xs = _draw_inputs(task, n, len(rows), generator, held_out.get(n, set()), distinct=False,
                          name="n_train_problems")
        for i, x in zip(rows, xs):
            inputs[i] = x
    train = _place(task, inputs, max_len, generator, random_offset)
    return ProblemSplit(task, max_len, (t_lo, t_hi), train, evals)


# --------------------------------------------------------------------------------------------------
# loss and accuracy on the answer tokens


def answer_mask(tokens: torch.Tensor) -> torch.Tensor:
    """Which next-token targets are answer tokens: ``(B, T-1)`` bool.

    Target t+1 is an answer token iff a ``=`` occurs at or before position t and token t+1 is not PAD.
    """
    after_sep = (tokens == SEP).long().cumsum(dim=1) > 0  # (B, T): at or after '='
    return after_sep[:, :-1] & (tokens[:, 1:] != PAD)  # (B, T-1)


def answer_loss(model, tokens: torch.Tensor) -> torch.Tensor:
    """Cross-entropy of the answer tokens, −(1/|A|) Σ_{t∈A} log p(x_{t+1} | x_{≤t}); the Trainer's loss_fn.

    Introduced in notebooks/08_algorithmic_tasks.
    """
    logits = model(tokens)[:, :-1]  # (B, T-1, V)
    mask = answer_mask(tokens)  # (B, T-1)
    return F.cross_entropy(logits[mask], tokens[:, 1:][mask])


@torch.no_grad()
def answer_accuracy(model, tokens: torch.Tensor) -> dict:
    """Teacher-forced accuracy on the answer tokens: per token, and per problem (every token right,
    which is the same as greedy decoding getting the whole answer right).

    Introduced in notebooks/08_algorithmic_tasks.
    """
    pred = model(tokens)[:, :-1].argmax(-1)  # (B, T-1)
    mask = answer_mask(tokens)  # (B, T-1)
    right = (pred == tokens[:, 1:]) | ~mask
    return {
        "token_acc": float((right & mask).sum() / mask.sum()),
        "exact_match": float(right.all(dim=1).float().mean()),
    }


def answer_token_accuracy(model, tokens: torch.Tensor) -> float:
    """Teacher-forced accuracy on the answer tokens (the Trainer's ``acc_fn``).

    Introduced in notebooks/08_algorithmic_tasks.
    """
    return answer_accuracy(model, tokens)["token_acc"]


@torch.no_grad()
def accuracy_by_length(
    model,
    task_cfg: TaskConfig,
    generator: torch.Generator,
    n_examples: int = 256,
    *,
    exclude: torch.Tensor | None = None,
    problems: Mapping | None = None,
) -> dict:
    """Exact-match and token accuracy by length: ``{"length", "exact_match", "token_acc", "n_problems"}``.

    By default: ``n_examples`` fresh problems (drawn with replacement) at every length 1..n_eval.
    ``exclude`` (e.g. the training tokens ``(N, T)``) evaluates on held-out problems only: at every
    length up to ``n_examples`` *distinct* problems whose content is not in ``exclude`` — fewer where
    fewer exist (``n_problems`` says how many; accuracy is NaN where none is left).
    ``problems`` (``{length: tokens}``, e.g. ``ProblemSplit.eval``) evaluates on those instead,
    minus any row in ``exclude``.

    Introduced in notebooks/08_algorithmic_tasks.
    """
    banned = set() if exclude is None else {_content_digits(c) for c in problem_content(exclude)}
    if problems is not None:
        lengths = sorted(int(n) for n in problems)
    else:
        n_examples = check_int("n_examples", n_examples, 1)
        lengths = list(range(1, task_cfg.n_eval + 1))
    em, ta, counts = [], [], []
    for n in lengths:
        if problems is not None:
            toks = problems[n]
            if banned:
                keep = [_content_digits(c) not in banned for c in problem_content(toks)]
                toks = toks[torch.tensor(keep, dtype=torch.bool)]
        elif exclude is None:
            toks = sample_problems(task_cfg.task, n_examples, n, task_cfg.max_len, generator, task_cfg.random_offset)
        else:
            left = n_distinct_problems(task_cfg.task, n) - sum(1 for x in banned if len(x) == _n_digits(task_cfg.task, n))
            xs = _draw_inputs(task_cfg.task, n, min(n_examples, left), generator, banned, distinct=True)
            toks = _place(task_cfg.task, xs, task_cfg.max_len, generator, task_cfg.random_offset)
        if toks.shape[0] == 0:
            em.append(math.nan)
            ta.append(math.nan)
        else:
            acc = answer_accuracy(model, toks)
            em.append(acc["exact_match"])
            ta.append(acc["token_acc"])
        counts.append(int(toks.shape[0]))
    return {"length": lengths, "exact_match": em, "token_acc": ta, "n_problems": counts}


# --------------------------------------------------------------------------------------------------
# baselines: what an accuracy must beat (exact, per task and length)


@lru_cache(maxsize=None)
def _stirling2(n: int, k: int) -> int:
    """Stirling number of the second kind: partitions of n items into k non-empty blocks."""
    if n == k:
        return 1
    if k == 0 or k > n:
        return 0
    return k * _stirling2(n - 1, k) + _stirling2(n - 1, k - 1)  # S(n,k) = k S(n−1,k) + S(n−1,k−1)


def _unique_counts(n: int) -> dict:
    """unique_set: P(K = k) for the number K of distinct symbols among n uniform ones (exact)."""
    A = N_SYMBOLS
    # P(K = k) = A (A−1) ⋯ (A−k+1) · S(n, k) / Aⁿ
    return {k: Fraction(math.perm(A, k) * _stirling2(n, k), A**n) for k in range(1, min(n, A) + 1)}


def _answer_alphabet(task: str) -> int:
    """Symbols an answer token can take: 2 for the binary tasks, N_SYMBOLS for copy and unique_set."""
    return _alphabet(task)


def chance_exact_match(task: str, n: int) -> float:
    """P(the whole answer right) guessing each answer token uniformly over the answer alphabet:
    A^(−m) for a fixed answer length m, E[A^(−K)] for unique_set (K = number of distinct symbols).

    Introduced in notebooks/08_algorithmic_tasks.
    """
    check_choice("task", task, TASKS)
    n = check_int("length", n, 1)
    A = _answer_alphabet(task)
    if task == "unique_set":
        return float(sum(p * Fraction(1, A**k) for k, p in _unique_counts(n).items()))  # E[A^(−K)]
    return float(Fraction(1, A ** answer_length(task, n)))  # A^(−m)


def chance_token_accuracy(task: str, n: int) -> float:
    """Expected token accuracy guessing uniformly over the answer alphabet: 1/A at every token.

    Introduced in notebooks/08_algorithmic_tasks.
    """
    check_choice("task", task, TASKS)
    check_int("length", n, 1)
    return 1.0 / _answer_alphabet(task)


def majority_exact_match(task: str, n: int) -> float:
    """Exact match of the best input-blind predictor at length n: one fixed answer for every length-n
    problem, the most frequent one, max_y P(answer = y) over uniform inputs.

    Teacher forcing scores only the true answer's tokens, so a fixed guess is right whenever the
    answer is a *prefix* of it; for unique_set (answers of varying length) the best guess is n
    distinct symbols, right for Σ_k S(n, k) of the 8ⁿ inputs. No predictor that sees the length
    and the answer so far but not the digits does better: it is right on every token only for the
    one answer it would itself generate.

    Introduced in notebooks/08_algorithmic_tasks.
    """
    check_choice("task", task, TASKS)
    n = check_int("length", n, 1)
    if task == "parity":
        return 0.5  # Σ x_i mod 2 is 0 or 1 with probability 1/2 each
    if task == "copy":
        return float(Fraction(1, N_SYMBOLS**n))  # every answer equally likely
    if task == "addition":
        M = 2**n  # #{(a, b): a + b = s} = min(s, 2M − 2 − s) + 1, largest (M) at s = M − 1
        return float(Fraction(M, M * M))
    if task == "binary_sum":
        return float(Fraction(math.comb(n, n // 2), 2**n))  # Σ x_i ~ Binomial(n, ½), mode ⌊n/2⌋
    # unique_set: the answers s_1..s_k (k = 1..n) of a fixed list of distinct symbols s, S(n, k) inputs each
    return float(Fraction(sum(_stirling2(n, k) for k in range(1, min(n, N_SYMBOLS) + 1)), N_SYMBOLS**n))


def majority_token_accuracy(task: str, n: int) -> float:
    """Token accuracy of the best input-blind predictor at length n: it sees the length and (teacher
    forcing) the true answer so far, not the digits, and predicts the most likely next answer token,
    Σ_j E[max_s P(y_j = s | y_<j)] / Σ_j P(position j exists).

    Introduced in notebooks/08_algorithmic_tasks.
    """
    check_choice("task", task, TASKS)
    n = check_int("length", n, 1)
    if task in ("parity", "copy"):
        return 1.0 / _answer_alphabet(task)  # parity: 0/1 equally likely; copy: y_j = x_j, independent of y_<j
    if task == "unique_set":
        # given j−1 distinct answer symbols and that position j exists, y_j is uniform over the 8−(j−1) others
        pk = _unique_counts(n)
        exists = [sum(p for k, p in pk.items() if k >= j) for j in range(1, min(n, N_SYMBOLS) + 1)]  # P(K ≥ j)
        return float(sum(e / (N_SYMBOLS - j) for j, e in enumerate(exists)) / sum(exists))
    if task == "addition":
        # bits 0..n−1 of a + b are fair coins whatever the lower ones; given r = (a + b) mod M the
        # carry-out is 0 for r + 1 pairs and 1 for M − 1 − r pairs (each r has M pairs in all)
        M = 2**n
        carry = Fraction(sum(max(r + 1, M - 1 - r) for r in range(M)), M * M)
        return float((Fraction(n, 2) + carry) / (n + 1))
    # binary_sum: s ~ Binomial(n, ½); bit j is predicted from s mod 2^j (the bits below it)
    w = n.bit_length()
    right = 0
    for j in range(w):
        for low in range(2**j):
            ones = sum(math.comb(n, s) for s in range(n + 1) if s % 2**j == low and (s >> j) & 1)
            zeros = sum(math.comb(n, s) for s in range(n + 1) if s % 2**j == low and not (s >> j) & 1)
            right += max(ones, zeros)
    return float(Fraction(right, w * 2**n))


def baselines_by_length(task: str, lengths) -> dict:
    """Chance and majority baselines at every length in ``lengths`` (one length or ``(lo, hi)``):
    ``{"length", "chance_exact_match", "chance_token_acc", "majority_exact_match", "majority_token_acc"}``.

    Introduced in notebooks/08_algorithmic_tasks.
    """
    check_choice("task", task, TASKS)
    lo, hi = _length_range("lengths", lengths)
    L = list(range(lo, hi + 1))
    return {
        "length": L,
        "chance_exact_match": [chance_exact_match(task, n) for n in L],
        "chance_token_acc": [chance_token_accuracy(task, n) for n in L],
        "majority_exact_match": [majority_exact_match(task, n) for n in L],
        "majority_token_acc": [majority_token_accuracy(task, n) for n in L],
    }
