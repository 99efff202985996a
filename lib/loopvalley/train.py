"""The trainer: the loop, evaluation on named splits, and probe calls — nothing about the model.

Like minGPT's trainer, nothing in :class:`Trainer` has anything to do with looped attention: it
trains any ``torch.nn.Module`` on a fixed set of token sequences with ``loss_fn(model, batch)``,
evaluates ``metrics_fn(model, tokens) -> (loss, acc)`` on every evaluation split at a fixed cadence,
and calls *probes*. FLOP accounting (:class:`loopvalley.looped.compute.FlopCounter`), Hessian spectra, the
SHIFT controller are probes; checkpoints live in :mod:`loopvalley.checkpoint`.

Probe protocol. A probe is a callable ``probe(trainer) -> dict | None`` with ``name: str`` and
``every: int``. The trainer calls the probes in list order at step 0, after every step whose count
is a multiple of ``every``, and once more at the end; a returned dict is appended, with the step, to
``record.probes[name]``. A probe may call ``trainer.request_stop()``, change the model (e.g. its
``n_loops``), rebuild the optimizer (``trainer.build_optimizer()``) or replace ``trainer.lr_fn``;
the trainer reads all of them afresh every step. A probe with ``state_dict()``/``load_state_dict()``
is checkpointed. A probe on an irregular schedule sets ``every = 1`` and returns ``None`` off it.

Introduced in notebooks/04_single_vs_looped.
"""

from __future__ import annotations

import contextlib
import math
import time
from dataclasses import asdict, dataclass, field, fields
from typing import Callable, Mapping, Sequence

import torch
import torch.nn.functional as F

from loopvalley._validate import check_choice, check_int, check_positive, check_range
from loopvalley.records import RunRecord
from loopvalley.schedule import SCHEDULES, lr_multiplier, n_decay_steps

OPTIMIZERS = ("adamw", "sgd")
DEVICES = ("auto", "cpu", "cuda")


class NonFiniteLossError(FloatingPointError, ValueError):
    """The training loss became NaN or infinite (the message names the step)."""


def _f(default, help: str, **kw):
    """A dataclass field whose ``help`` (the CLI's option help) lives in its metadata."""
    return field(default=default, metadata={"help": help, **kw})


@dataclass
class TrainConfig:
    optimizer: str = _f("adamw", "optimizer", choices=OPTIMIZERS)
    lr: float = _f(1e-3, "peak learning rate η")
    weight_decay: float = _f(0.0, "decoupled weight decay (AdamW) / L2 (SGD)")
    betas: tuple = _f((0.9, 0.999), "AdamW (β₁, β₂)")
    momentum: float = _f(0.0, "SGD heavy-ball momentum (0 = plain SGD)")
    schedule: str = _f("constant", "learning-rate schedule (wsd = warmup-stable-decay)", choices=SCHEDULES)
    warmup_steps: int = _f(0, "linear warmup 0 → η over this many steps (not used by 'constant')")
    decay_frac: float = _f(0.2, "wsd: the final fraction of steps that decays η linearly")
    min_lr_frac: float = _f(0.0, "cosine/wsd: η at the last step, as a fraction of the peak")
    batch_size: int = _f(64, "sequences per step")
    epochs: float = _f(10.0, "passes over the fixed training set (used when max_steps is None)")
    max_steps: int | None = _f(None, "total steps; overrides epochs when set")
    eval_every: int = _f(50, "evaluate every split every this many steps (and at step 0 and the end)")
    eval_batch_size: int = _f(1024, "sequences per forward pass during evaluation")
    probe_batch_size: int = _f(256, "size of the fixed training batch trainer.probe_batch")
    seed: int = _f(0, "seeds the data order")
    device: str = _f("auto", "auto (cuda when available), cpu or cuda", choices=DEVICES)
    grad_clip: float | None = _f(None, "clip the global gradient norm to this value (None: off)")
    progress: bool = _f(False, "show a tqdm.auto progress bar")

    def __post_init__(self):
        check_choice("optimizer", self.optimizer, OPTIMIZERS)
        check_positive("lr", self.lr)
        check_positive("weight_decay", self.weight_decay, allow_zero=True)
        if len(tuple(self.betas)) != 2:
            raise ValueError(f"betas must be a pair (β₁, β₂), got {self.betas!r}")
        for b in self.betas:
            check_range("betas", b, 0.0, 1.0, hi_open=True)
        self.betas = tuple(float(b) for b in self.betas)
        check_range("momentum", self.momentum, 0.0, 1.0, hi_open=True)
        check_choice("schedule", self.schedule, SCHEDULES)
        check_int("warmup_steps", self.warmup_steps, 0)
        check_range("decay_frac", self.decay_frac, 0.0, 1.0)
        check_range("min_lr_frac", self.min_lr_frac, 0.0, 1.0)
        check_int("batch_size", self.batch_size, 1)
        check_positive("epochs", self.epochs)
        if self.max_steps is not None:
            check_int("max_steps", self.max_steps, 1)
        check_int("eval_every", self.eval_every, 1)
        check_int("eval_batch_size", self.eval_batch_size, 1)
        check_int("probe_batch_size", self.probe_batch_size, 1)
        check_int("seed", self.seed)
        check_choice("device", self.device, DEVICES)
        if self.grad_clip is not None:
            check_positive("grad_clip", self.grad_clip)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["betas"] = list(self.betas)
        return d

    @classmethod
    def from_dict(cls, d: Mapping) -> "TrainConfig":
        return cls(**{f.name: d[f.name] for f in fields(cls) if f.name in d})


def resolve_device(device: str = "auto") -> torch.device:
    """``"auto"`` → CUDA when available, else CPU.

    Introduced in notebooks/04_single_vs_looped.
    """
    check_choice("device", device, DEVICES)
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise ValueError("device='cuda' requested but CUDA is not available")
    return torch.device(device)


# ----------------------------------------------------------------------------------------------
# Losses, metrics, schedules, optimizers


def next_token_loss(model, tokens: torch.Tensor) -> torch.Tensor:
    """Cross-entropy of predicting ``tokens[:, 1:]`` from ``logits[:, :-1]`` (mean over positions).

    L = −(1 / B(T−1)) Σ_b Σ_{t<T} log softmax(f(x_{≤t}))[x_{t+1}]

    Introduced in notebooks/04_single_vs_looped.
    """
    logits = model(tokens)[:, :-1]  # (B, T-1, V)
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), tokens[:, 1:].reshape(-1))


@torch.no_grad()
def next_token_metrics(model, tokens: torch.Tensor) -> tuple[float, float]:
    """``(loss, accuracy)`` of next-token prediction from one forward pass; accuracy = mean of
    [argmax logits[:, t] = x_{t+1}].

    Introduced in notebooks/04_single_vs_looped.
    """
    logits = model(tokens)[:, :-1]  # (B, T-1, V)
    target = tokens[:, 1:]
    loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), target.reshape(-1))
    return float(loss), float((logits.argmax(-1) == target).float().mean())


def lr_at(step: int, cfg: TrainConfig, total_steps: int) -> float:
    """The learning rate η_k of ``cfg.schedule`` at step k (0-based) of ``total_steps``: the shared
    schedule :func:`loopvalley.schedule.lr_multiplier` with η = ``cfg.lr``, W = ``cfg.warmup_steps``,
    m = ``cfg.min_lr_frac`` and, for ``wsd``, a decay over the last D = round(``decay_frac`` · S) steps.

    - constant:        η_k = η
    - warmup_constant: η_k = η · min(1, (k+1)/W)
    - cosine:          warmup, then η_k = η · (m + (1−m)·½(1 + cos(π·p))), p = progress after warmup
    - wsd:             warmup, stable at η, then linear decay to m·η over the last ``decay_frac``

    Introduced in notebooks/04_single_vs_looped.
    """
    return lr_multiplier(step, cfg.schedule, total_steps, cfg.warmup_steps,
                         n_decay_steps(total_steps, cfg.decay_frac), cfg.min_lr_frac, peak=cfg.lr)


def build_optimizer(model: torch.nn.Module, cfg: TrainConfig) -> torch.optim.Optimizer:
    """AdamW(η, betas, weight_decay) or SGD(η, momentum, weight_decay) over the trainable parameters.

    Introduced in notebooks/04_single_vs_looped.
    """
    params = [p for p in model.parameters() if p.requires_grad]
    if cfg.optimizer == "adamw":
        return torch.optim.AdamW(params, lr=cfg.lr, betas=cfg.betas, weight_decay=cfg.weight_decay)
    return torch.optim.SGD(params, lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)


class BatchStream:
    """The data order: a fresh seeded permutation of the ``n`` training rows every epoch, cut into
    batches of ``batch_size`` (the last incomplete batch is dropped). ``next()`` → the row indices."""

    def __init__(self, n: int, batch_size: int, seed: int):
        self.n, self.batch_size = n, min(batch_size, n)
        self.steps_per_epoch = n // self.batch_size
        self.generator = torch.Generator().manual_seed(seed)
        self.epoch, self.index, self.perm = 0, 0, torch.randperm(n, generator=self.generator)

    def next(self) -> torch.Tensor:
        if self.index >= self.steps_per_epoch:  # epoch finished: a new permutation
            self.epoch, self.index = self.epoch + 1, 0
            self.perm = torch.randperm(self.n, generator=self.generator)
        i = self.index * self.batch_size
        self.index += 1
        return self.perm[i : i + self.batch_size]

    def state_dict(self) -> dict:
        return {"epoch": self.epoch, "index": self.index, "perm": self.perm.clone(), "generator": self.generator.get_state()}

    def load_state_dict(self, d: Mapping) -> None:
        self.epoch, self.index, self.perm = d["epoch"], d["index"], d["perm"].clone()
        self.generator.set_state(d["generator"])


# ----------------------------------------------------------------------------------------------
# The trainer


class Trainer:
    """Train ``model`` on the fixed set ``train_tokens`` ``(N, T)``; evaluate on ``eval_sets``.

    Attributes: ``model``, ``optimizer``, ``cfg``, ``step``, ``epoch``, ``record``, ``probe_batch``
    (a fixed batch of training rows for probes), ``total_steps``, ``batch_size``, ``device``,
    ``lr_fn`` (step → η; replace it to change the schedule mid-run), ``loss_fn``, ``metrics_fn``.

    Introduced in notebooks/04_single_vs_looped.
    """

    rank, world_size = 0, 1  # one process; loopvalley.scale.distributed.AcceleratedTrainer overrides the hooks

    def __init__(self, model: torch.nn.Module, train_tokens: torch.Tensor, eval_sets: Mapping | None = None,
                 cfg: TrainConfig | None = None, probes: Sequence = (), loss_fn: Callable = next_token_loss,
                 metrics_fn: Callable = next_token_metrics, acc_fn: Callable | None = None):
        self.cfg = cfg = cfg if cfg is not None else TrainConfig()
        if not isinstance(train_tokens, torch.Tensor) or train_tokens.dim() != 2 or train_tokens.shape[1] < 2:
            raise ValueError("train_tokens must be a LongTensor of shape (n_sequences, length >= 2)")
        for p in probes:  # the probe protocol: name: str, every: int >= 1
            if not isinstance(getattr(p, "name", None), str):
                raise ValueError(f"probe {p!r} needs an attribute name: str")
            check_int(f"probe {p.name!r} every", getattr(p, "every", None), 1)
        self.device = resolve_device(cfg.device)
        self.model = model.to(self.device)
        self.train_tokens = train_tokens.long().to(self.device)
        self.eval_sets = {k: v.long().to(self.device) for k, v in dict(eval_sets or {}).items()}
        self.probes, self.loss_fn = list(probes), loss_fn
        self.metrics_fn = metrics_fn if acc_fn is None else (lambda m, x: (float(loss_fn(m, x)), float(acc_fn(m, x))))
        self.stream = BatchStream(self.train_tokens.shape[0], cfg.batch_size, cfg.seed)
        self.batch_size, self.steps_per_epoch = self.stream.batch_size, self.stream.steps_per_epoch
        self.total_steps = cfg.max_steps or max(1, int(round(cfg.epochs * self.steps_per_epoch)))
        self.probe_batch = self.train_tokens[: min(cfg.probe_batch_size, self.train_tokens.shape[0])]
        self.lr_fn: Callable[[int], float] = lambda k: lr_at(k, self.cfg, self.total_steps)
        self.optimizer = build_optimizer(self.model, cfg)
        self.step, self.wall, self._stop, self._done_at = 0, 0.0, False, {}
        self.record = RunRecord(meta={
            "train_cfg": cfg.to_dict(), "n_train": int(self.train_tokens.shape[0]), "seq_len": int(self.train_tokens.shape[1]),
            "n_params": sum(p.numel() for p in self.model.parameters() if p.requires_grad),
            "steps_per_epoch": self.steps_per_epoch, "total_steps": self.total_steps,
            **({"model_cfg": model.cfg.to_dict()} if hasattr(getattr(model, "cfg", None), "to_dict") else {}),
        })

    # -- hooks (identities in one process; loopvalley.scale.distributed fills them for DDP, bf16, compile) --
    def shard(self, rows: torch.Tensor) -> torch.Tensor:  # this process's share of a batch or split
        return rows

    def all_reduce_sum(self, values: torch.Tensor) -> torch.Tensor:  # Σ over processes
        return values

    def train_context(self):  # around the training forward only (e.g. bf16 autocast)
        return contextlib.nullcontext()

    @property
    def train_module(self) -> torch.nn.Module:  # what the training forward calls (model, DDP, compiled)
        return self.model

    # -- control ------------------------------------------------------------------------------------
    @property
    def epoch(self) -> int:
        return self.stream.epoch

    @property
    def done(self) -> bool:
        return self._stop or self.step >= self.total_steps

    def request_stop(self) -> None:
        """Stop after the current step (a final evaluation and probe call are still made)."""
        self._stop = True

    def build_optimizer(self) -> torch.optim.Optimizer:
        """Rebuild (reset) the optimizer from ``cfg`` — e.g. at a SHIFT switch; returns it."""
        self.optimizer = build_optimizer(self.model, self.cfg)
        return self.optimizer

    # -- evaluation and probes ----------------------------------------------------------------------
    @torch.no_grad()
    def evaluate(self) -> dict:
        """``{split: {"loss", "acc"}}`` on every evaluation split (eval mode, no grad)."""
        was_training, out = self.model.training, {}
        self.model.eval()
        for split, data in self.eval_sets.items():
            data, sums = self.shard(data), torch.zeros(3, dtype=torch.float64)
            for i in range(0, data.shape[0], self.cfg.eval_batch_size):
                chunk = data[i : i + self.cfg.eval_batch_size]
                loss, acc = self.metrics_fn(self.model, chunk)
                sums += torch.tensor([loss * len(chunk), acc * len(chunk), len(chunk)], dtype=torch.float64)
            loss, acc, n = self.all_reduce_sum(sums.to(self.device)).tolist()  # Σ loss·n, Σ acc·n, Σ n
            out[split] = {"loss": loss / n, "acc": acc / n}
        self.model.train(was_training)
        return out

    def _observe(self, final: bool = False) -> None:
        """Evaluate (on the cadence) and call the probes due at this step, once per step each."""
        if (final or self.step % self.cfg.eval_every == 0) and self._done_at.get("eval") != self.step:
            self._done_at["eval"] = self.step
            r = self.record
            r.eval_step.append(self.step)
            r.eval_epoch.append(self.step / self.steps_per_epoch)
            r.wall.append(self.wall)
            for split, m in self.evaluate().items():
                r.eval_loss.setdefault(split, []).append(m["loss"])
                r.eval_acc.setdefault(split, []).append(m["acc"])
        for p in self.probes:
            if (final or self.step % p.every == 0) and self._done_at.get(p.name) != self.step:
                self._done_at[p.name] = self.step
                row = p(self)
                if row:
                    self.record.add_probe_row(p.name, self.step, row)

    # -- training -------------------------------------------------------------------------------------
    def train_step(self) -> float:
        """One optimizer step on the next batch; returns its loss. Raises on a non-finite loss."""
        t0 = time.perf_counter()
        self.model.train()
        batch = self.train_tokens[self.shard(self.stream.next()).to(self.device)]  # (B, T): this rank's share
        eta = self.lr_fn(self.step)
        for group in self.optimizer.param_groups:
            group["lr"] = eta
        with self.train_context():
            loss = self.loss_fn(self.train_module, batch)
        value = float(self.all_reduce_sum(loss.detach().float()) / self.world_size)  # the global batch's loss
        if not math.isfinite(value):
            raise NonFiniteLossError(f"training loss became {value} at step {self.step} (lr={eta:.3g}); "
                                     "lower lr, add warmup or set grad_clip")
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if self.cfg.grad_clip is not None:
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.cfg.grad_clip)
        self.optimizer.step()
        self.record.train_step.append(self.step)
        self.record.train_loss.append(value)
        self.record.lr.append(eta)
        self.step += 1
        self.wall += time.perf_counter() - t0
        return value

    def run(self, steps: int | None = None) -> RunRecord:
        """Train until ``total_steps`` (or ``steps`` more, or until a probe stops it); returns the record."""
        target = self.total_steps if steps is None else min(self.total_steps, self.step + check_int("steps", steps, 0))
        self._stop, bar = False, None
        if self.cfg.progress:
            from tqdm.auto import tqdm

            bar = tqdm(total=target - self.step, desc="train", leave=True)
        if self.step == 0:
            self._observe()
        while self.step < target and not self._stop:
            loss = self.train_step()
            self._observe()
            if bar is not None:
                bar.update(1)
                bar.set_postfix(loss=f"{loss:.3f}", refresh=False)
        if self.done:
            self._observe(final=True)
        if bar is not None:
            bar.close()
        return self.record


def train(model, train_tokens, eval_sets=None, cfg: TrainConfig | None = None, probes: Sequence = (), **kwargs) -> RunRecord:
    """Shortcut: ``Trainer(model, train_tokens, eval_sets, cfg, probes, **kwargs).run()``.

    Introduced in notebooks/04_single_vs_looped.
    """
    return Trainer(model, train_tokens, eval_sets, cfg, probes, **kwargs).run()


@torch.no_grad()
def per_sequence_metrics(model, tokens: torch.Tensor, batch_size: int = 1024) -> dict:
    """Per-sequence next-token ``{"loss": (n,), "acc": (n,)}`` of ``model`` (eval mode, CPU tensors).

    Introduced in notebooks/04_single_vs_looped.
    """
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    losses, accs = [], []
    for i in range(0, tokens.shape[0], batch_size):
        x = tokens[i : i + batch_size].to(device)
        logits = model(x)[:, :-1]  # (b, T-1, V)
        nll = F.cross_entropy(logits.transpose(1, 2), x[:, 1:], reduction="none")  # (b, T-1)
        losses.append(nll.mean(1).double().cpu())
        accs.append((logits.argmax(-1) == x[:, 1:]).double().mean(1).cpu())
    model.train(was_training)
    return {"loss": torch.cat(losses), "acc": torch.cat(accs)}
