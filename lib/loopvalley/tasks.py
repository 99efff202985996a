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

Introduced in notebooks/08_algorithmic_tasks.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F

from ._validate import check_choice, check_int

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
    model, task_cfg: TaskConfig, generator: torch.Generator, n_examples: int = 256
) -> dict:
    """Exact-match and token accuracy at every length 1..n_eval: ``{"length", "exact_match", "token_acc"}``.

    Introduced in notebooks/08_algorithmic_tasks.
    """
    lengths = list(range(1, task_cfg.n_eval + 1))
    em, ta = [], []
    for n in lengths:
        toks = sample_problems(task_cfg.task, n_examples, n, task_cfg.max_len, generator, task_cfg.random_offset)
        acc = answer_accuracy(model, toks)
        em.append(acc["exact_match"])
        ta.append(acc["token_acc"])
    return {"length": lengths, "exact_match": em, "token_acc": ta}
