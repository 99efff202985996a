"""The trainer: next-token training with per-split evaluation, probes and a plain-array run record.

One :class:`Trainer` trains one model on a fixed training set (the paper counts epochs), evaluates
loss and accuracy on every named evaluation split at a fixed cadence, calls *probes* (Hessian
spectra, the SHIFT controller, ...) and writes everything into a :class:`RunRecord` of plain
arrays that can be saved, loaded and plotted without the model.

Probe protocol. A probe is any callable ``probe(trainer) -> dict | None`` with attributes
``name: str`` and ``every: int`` (steps). The trainer calls it at step 0, whenever
``trainer.step % every == 0`` and once more at the end of training; a returned dict (scalars or
arrays) is appended, with the step, to ``record.probes[name]``. A probe may call
``trainer.request_stop()``, set ``trainer.model.n_loops`` or rebuild ``trainer.optimizer``
(``trainer.build_optimizer()``); the trainer reads all three afresh every step. A probe with
``state_dict()`` / ``load_state_dict(d)`` has its state saved in checkpoints. A probe on an
irregular schedule sets ``every = 1``, returns ``None`` off its schedule and keeps the schedule in
an attribute ``steps`` (sorted steps), which :func:`step_budget` compresses like ``every``.

Introduced in notebooks/04_single_vs_looped.
"""

from __future__ import annotations

import contextlib
import dataclasses
import copy
import json
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Mapping, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from ._validate import check_choice, check_int, check_positive, check_range
from .models import LoopedAttn, ModelConfig, forward_flops

OPTIMIZERS = ("adamw", "sgd")
SCHEDULES = ("constant", "warmup_constant", "cosine", "wsd")
DEVICES = ("auto", "cpu", "cuda")


class NonFiniteLossError(FloatingPointError, ValueError):
    """The training loss became NaN or infinite (the message names the step)."""


@dataclass
class TrainConfig:
    optimizer: str = "adamw"  # "adamw" or "sgd"
    lr: float = 1e-3  # peak learning rate η
    weight_decay: float = 0.0  # decoupled weight decay (AdamW) / L2 (SGD)
    betas: tuple = (0.9, 0.999)  # AdamW (β₁, β₂)
    momentum: float = 0.0  # SGD heavy-ball momentum (0 = plain SGD)
    schedule: str = "constant"  # "constant", "warmup_constant", "cosine" or "wsd" (warmup-stable-decay)
    warmup_steps: int = 0  # linear warmup 0 → η over this many steps (not used by "constant")
    decay_frac: float = 0.2  # "wsd": the final fraction of steps that decays η linearly
    min_lr_frac: float = 0.0  # "cosine"/"wsd": η at the last step, as a fraction of the peak
    batch_size: int = 64  # sequences per step
    epochs: float = 10.0  # passes over the fixed training set (used when max_steps is None)
    max_steps: int | None = None  # total steps; overrides epochs when set
    eval_every: int = 50  # evaluate every split every this many steps (and at steps 0 and last)
    eval_batch_size: int = 1024  # sequences per forward pass during evaluation
    probe_batch_size: int = 256  # size of the fixed training batch ``trainer.probe_batch``
    seed: int = 0  # seeds the data-shuffling generator
    device: str = "auto"  # "auto" (cuda when available), "cpu" or "cuda"
    grad_clip: float | None = None  # clip the global gradient norm to this value (None: off)
    progress: bool = False  # show a tqdm.auto progress bar

    def __post_init__(self):
        check_choice("optimizer", self.optimizer, OPTIMIZERS)
        check_positive("lr", self.lr)
        check_positive("weight_decay", self.weight_decay, allow_zero=True)
        if len(self.betas) != 2:
            raise ValueError(f"betas must be a pair (beta1, beta2), got {self.betas!r}")
        for i, b in enumerate(self.betas):
            check_range(f"betas[{i}]", b, 0.0, 1.0, hi_open=True)
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
# A global step budget: time-compressed runs of any experiment (``reproduce --max-steps N``)

_STEP_BUDGETS: list = []  # the active budgets, innermost last


@contextlib.contextmanager
def step_budget(max_steps: int | None):
    """Inside this block every new :class:`Trainer` trains at most ``max_steps`` steps.

    A capped run is the same run *compressed in time*: with f = max_steps / total_steps the
    evaluation cadence, every probe's ``every`` (and ``steps`` schedule) shrink by f (at least 1), so a capped run
    still has about as many evaluation points and probe calls (e.g. Hessian spectra) as the full
    one. ``None`` is no cap. Used by ``python -m loopvalley reproduce --max-steps N`` to run the
    paper-scale experiments on a CPU as a smoke test.

    Introduced in notebooks/06_full_gpu_training.
    """
    if max_steps is not None:
        check_int("max_steps", max_steps, 1)
    _STEP_BUDGETS.append(max_steps)
    try:
        yield
    finally:
        _STEP_BUDGETS.pop()


# ----------------------------------------------------------------------------------------------
# Losses and metrics


def next_token_loss(model, tokens: torch.Tensor) -> torch.Tensor:
    """Cross-entropy of predicting ``tokens[:, 1:]`` from ``logits[:, :-1]`` (mean over positions).

    L = −(1 / B(T−1)) Σ_b Σ_{t<T} log softmax(f(x_{≤t}))[x_{t+1}]

    Introduced in notebooks/04_single_vs_looped.
    """
    logits = model(tokens)[:, :-1]  # (B, T-1, V)
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), tokens[:, 1:].reshape(-1))


@torch.no_grad()
def next_token_accuracy(model, tokens: torch.Tensor) -> torch.Tensor:
    """Top-1 accuracy of predicting ``tokens[:, 1:]``: mean of [argmax logits[:, t] = x_{t+1}].

    Introduced in notebooks/04_single_vs_looped.
    """
    logits = model(tokens)[:, :-1]  # (B, T-1, V)
    return (logits.argmax(-1) == tokens[:, 1:]).float().mean()


@torch.no_grad()
def next_token_metrics(model, tokens: torch.Tensor) -> tuple[float, float]:
    """``(loss, accuracy)`` of next-token prediction from one forward pass."""
    logits = model(tokens)[:, :-1]  # (B, T-1, V)
    target = tokens[:, 1:]
    loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), target.reshape(-1))
    acc = (logits.argmax(-1) == target).float().mean()
    return float(loss), float(acc)


# ----------------------------------------------------------------------------------------------
# Learning-rate schedules


def lr_at(step: int, cfg: TrainConfig, total_steps: int) -> float:
    """The learning rate η_k of ``cfg.schedule`` at step k (0-based) of ``total_steps``.

    - constant:        η_k = η
    - warmup_constant: η_k = η · min(1, (k+1)/W)
    - cosine:          warmup, then η_k = η · (m + (1−m)·½(1 + cos(π·p))), p = progress after warmup
    - wsd:             warmup, stable at η, then linear decay to m·η over the last ``decay_frac``

    Introduced in notebooks/04_single_vs_looped.
    """
    eta, W, m = cfg.lr, cfg.warmup_steps, cfg.min_lr_frac
    if cfg.schedule == "constant":
        return eta
    if W > 0 and step < W:
        return eta * (step + 1) / W  # η (k+1)/W
    if cfg.schedule == "warmup_constant":
        return eta
    if cfg.schedule == "cosine":
        p = (step - W) / max(1, total_steps - W - 1)  # progress in [0, 1]
        return eta * (m + (1 - m) * 0.5 * (1 + math.cos(math.pi * min(1.0, p))))
    # wsd: stable until the decay window, then linear to m·η
    n_decay = int(round(cfg.decay_frac * total_steps))
    start = total_steps - n_decay
    if step < start or n_decay == 0:
        return eta
    p = (step - start + 1) / n_decay  # in (0, 1]
    return eta * (1 - (1 - m) * p)


def build_optimizer(model: torch.nn.Module, cfg: TrainConfig) -> torch.optim.Optimizer:
    """AdamW(η, betas, weight_decay) or SGD(η, momentum, weight_decay) over the trainable parameters.

    Introduced in notebooks/04_single_vs_looped.
    """
    params = [p for p in model.parameters() if p.requires_grad]
    if cfg.optimizer == "adamw":
        return torch.optim.AdamW(params, lr=cfg.lr, betas=cfg.betas, weight_decay=cfg.weight_decay)
    return torch.optim.SGD(params, lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)


# ----------------------------------------------------------------------------------------------
# The run record


@dataclass
class RunRecord:
    """Everything a run measured, as plain lists (JSON-serialisable; no pickled objects).

    Per training step: ``train_step``, ``train_loss``, ``lr``, ``n_loops_step``.
    Per evaluation point: ``eval_step``, ``eval_epoch``, ``wall`` (cumulative training seconds),
    ``flops`` (cumulative training FLOPs), ``n_loops``, and per split ``eval_loss[split]``,
    ``eval_acc[split]``. ``probes[name]`` maps keys to lists, always including ``"step"``.
    ``meta`` holds the configs and the parameter count.

    Introduced in notebooks/04_single_vs_looped.
    """

    meta: dict = field(default_factory=dict)
    train_step: list = field(default_factory=list)
    train_loss: list = field(default_factory=list)
    lr: list = field(default_factory=list)
    n_loops_step: list = field(default_factory=list)
    eval_step: list = field(default_factory=list)
    eval_epoch: list = field(default_factory=list)
    wall: list = field(default_factory=list)
    flops: list = field(default_factory=list)
    n_loops: list = field(default_factory=list)
    eval_loss: dict = field(default_factory=dict)
    eval_acc: dict = field(default_factory=dict)
    probes: dict = field(default_factory=dict)

    # -- access ---------------------------------------------------------------------------------
    @property
    def splits(self) -> list:
        return list(self.eval_acc)

    def curve(self, split: str, metric: str = "acc") -> tuple[np.ndarray, np.ndarray]:
        """``(steps, values)`` of ``metric`` ("acc" or "loss") on ``split``."""
        check_choice("metric", metric, ("acc", "loss"))
        table = self.eval_acc if metric == "acc" else self.eval_loss
        check_choice("split", split, tuple(table))
        return np.asarray(self.eval_step), np.asarray(table[split], dtype=float)

    def probe(self, name: str, key: str) -> tuple[np.ndarray, np.ndarray]:
        """``(steps, values)`` that probe ``name`` returned under ``key`` (values stacked if possible)."""
        check_choice("name", name, tuple(self.probes))
        rows = self.probes[name]
        check_choice("key", key, tuple(rows))
        try:
            vals = np.asarray(rows[key], dtype=float)
        except ValueError:  # ragged (e.g. spectra of varying length)
            vals = np.asarray(rows[key], dtype=object)
        return np.asarray(rows["step"]), vals

    # -- io ---------------------------------------------------------------------------------------
    def to_dict(self) -> dict:
        return _plain(asdict(self))

    @classmethod
    def from_dict(cls, d: Mapping) -> "RunRecord":
        return cls(**{k: d[k] for k in cls.__dataclass_fields__ if k in d})

    def save(self, path) -> Path:
        """Write the record as JSON (``.json``) or as a NumPy archive of JSON text (``.npz``)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps(self.to_dict())
        if path.suffix == ".npz":
            np.savez_compressed(path, record=np.asarray(text))
        else:
            path.write_text(text)
        return path

    @classmethod
    def load(cls, path) -> "RunRecord":
        """Read a record written by :meth:`save`."""
        path = Path(path)
        if path.suffix == ".npz":
            with np.load(path, allow_pickle=False) as z:
                text = str(z["record"])
        else:
            text = path.read_text()
        return cls.from_dict(json.loads(text))


def _plain(x):
    """Tensors/arrays/numpy scalars → lists/floats/ints (recursively)."""
    if isinstance(x, Mapping):
        return {str(k): _plain(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_plain(v) for v in x]
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().numpy()
    if isinstance(x, np.ndarray):
        return x.tolist()
    if isinstance(x, (np.bool_,)):
        return bool(x)
    if isinstance(x, np.integer):
        return int(x)
    if isinstance(x, np.floating):
        return float(x)
    return x


# ----------------------------------------------------------------------------------------------
# The trainer


class Trainer:
    """Train ``model`` on the fixed set ``train_tokens`` ``(N, T)``; evaluate on ``eval_sets``.

    Attributes: ``model``, ``optimizer``, ``step``, ``epoch`` (completed passes), ``cfg``,
    ``record`` (:class:`RunRecord`), ``probe_batch`` (a fixed batch of training tokens for
    Hessian probes), ``total_steps``, ``steps_per_epoch``, ``device``, ``lr_fn`` (step → η;
    replace it to change the schedule mid-run).

    Each epoch visits a fresh permutation of the training set drawn from a seeded generator
    (``cfg.seed``) in batches of ``cfg.batch_size`` (the last incomplete batch is dropped).

    Introduced in notebooks/04_single_vs_looped.
    """

    def __init__(
        self,
        model: torch.nn.Module,
        train_tokens: torch.Tensor,
        eval_sets: Mapping[str, torch.Tensor] | None,
        cfg: TrainConfig | None = None,
        probes: Sequence = (),
        loss_fn: Callable = next_token_loss,
        acc_fn: Callable = next_token_accuracy,
    ):
        self.cfg = cfg = cfg if cfg is not None else TrainConfig()
        if not isinstance(train_tokens, torch.Tensor) or train_tokens.dim() != 2:
            raise ValueError("train_tokens must be a LongTensor of shape (n_sequences, length)")
        if train_tokens.shape[1] < 2:
            raise ValueError(f"train_tokens length must be >= 2, got {train_tokens.shape[1]}")
        self.device = resolve_device(cfg.device)
        self.model = model.to(self.device)
        self.train_tokens = train_tokens.long().to(self.device)
        self.eval_sets = {k: v.long().to(self.device) for k, v in dict(eval_sets or {}).items()}
        for p in probes:  # the probe protocol: name: str, every: int >= 1
            if not isinstance(getattr(p, "name", None), str):
                raise ValueError(f"probe {p!r} needs an attribute name: str")
            check_int(f"probe {p.name!r} every", getattr(p, "every", None), 1)
        self.probes = list(probes)
        self.loss_fn, self.acc_fn = loss_fn, acc_fn

        N = self.train_tokens.shape[0]
        self.batch_size = min(cfg.batch_size, N)
        self.steps_per_epoch = N // self.batch_size
        self.total_steps = (
            cfg.max_steps if cfg.max_steps is not None else max(1, int(round(cfg.epochs * self.steps_per_epoch)))
        )
        self._apply_step_budget()  # reproduce --max-steps: cap total_steps, compress the cadences
        self.probe_batch = self.train_tokens[: min(cfg.probe_batch_size, N)]
        self.lr_fn: Callable[[int], float] = lambda k: lr_at(k, self.cfg, self.total_steps)
        self.optimizer = build_optimizer(self.model, cfg)

        # position in the data stream: the permutation of the current epoch and the next batch in it
        self.generator = torch.Generator().manual_seed(cfg.seed)
        self.step, self.epoch, self._batch_idx = 0, 0, 0
        self._perm = torch.randperm(N, generator=self.generator)
        self._stop = False
        self._wall, self._flops = 0.0, 0.0
        self._evaluated_at = -1
        self._probed_at: dict = {}
        self.record = RunRecord(meta=self._meta())

    # -- hooks for accelerated / distributed subclasses (identities in one plain process) --------
    # loopvalley.distributed.AcceleratedTrainer overrides them for bf16 autocast, torch.compile and
    # DistributedDataParallel: each rank trains on its equal share of the same global batch.
    rank = 0  # this process's rank
    world_size = 1  # processes that share every global batch

    def shard(self, rows: torch.Tensor) -> torch.Tensor:
        """This process's share of ``rows`` (a global batch of indices, or an evaluation split)."""
        return rows

    def all_reduce_sum(self, values: torch.Tensor) -> torch.Tensor:
        """Σ over processes of ``values`` (a new tensor; ``values`` itself in one process)."""
        return values

    def train_context(self):
        """Context for the training forward pass (e.g. bf16 autocast); probes run outside it."""
        return contextlib.nullcontext()

    @property
    def train_module(self) -> torch.nn.Module:
        """The module the training forward pass calls (the model, or its DDP/compiled wrapper)."""
        return self.model

    def _apply_step_budget(self) -> None:
        budget = next((b for b in reversed(_STEP_BUDGETS) if b is not None), None)
        if budget is None or budget >= self.total_steps:
            return
        f = budget / self.total_steps  # compress every cadence by f: same number of evals/probes
        self.cfg = dataclasses.replace(
            self.cfg, max_steps=budget, eval_every=max(1, int(round(self.cfg.eval_every * f)))
        )
        for p in self.probes:
            p.every = max(1, int(round(p.every * f)))
            if getattr(p, "steps", None) is not None:  # an explicit schedule is compressed the same way
                p.steps = tuple(sorted({int(round(s * f)) for s in p.steps}))
        self.total_steps = budget

    # -- bookkeeping ------------------------------------------------------------------------------
    def _meta(self) -> dict:
        mcfg = getattr(self.model, "cfg", None)
        return {
            "train_cfg": self.cfg.to_dict(),
            "model_cfg": mcfg.to_dict() if isinstance(mcfg, ModelConfig) else None,
            "n_params": int(sum(p.numel() for p in self.model.parameters() if p.requires_grad)),
            "n_train": int(self.train_tokens.shape[0]),
            "seq_len": int(self.train_tokens.shape[1]),
            "steps_per_epoch": int(self.steps_per_epoch),
            "total_steps": int(self.total_steps),
        }

    def build_optimizer(self) -> torch.optim.Optimizer:
        """Rebuild (reset) the optimizer from ``cfg`` — e.g. at a SHIFT switch; returns it."""
        self.optimizer = build_optimizer(self.model, self.cfg)
        return self.optimizer

    def request_stop(self) -> None:
        """Ask :meth:`run` to stop after the current step (a final evaluation is still recorded)."""
        self._stop = True

    @property
    def done(self) -> bool:
        return self._stop or self.step >= self.total_steps

    def _next_batch(self) -> torch.Tensor:
        if self._batch_idx >= self.steps_per_epoch:  # epoch finished: draw a new permutation
            self.epoch += 1
            self._batch_idx = 0
            self._perm = torch.randperm(self.train_tokens.shape[0], generator=self.generator)
        i = self._batch_idx * self.batch_size
        idx = self.shard(self._perm[i : i + self.batch_size]).to(self.device)  # this rank's share
        self._batch_idx += 1
        return self.train_tokens[idx]  # (B, T)

    # -- evaluation and probes -----------------------------------------------------------------------
    @torch.no_grad()
    def evaluate(self) -> dict:
        """``{split: {"loss", "acc"}}`` on every evaluation split (model in eval mode, no grad)."""
        was_training = self.model.training
        self.model.eval()
        out = {}
        for split, data in self.eval_sets.items():
            data = self.shard(data)  # this rank's share of the split (all of it in one process)
            tot_loss = tot_acc = 0.0
            for i in range(0, data.shape[0], self.cfg.eval_batch_size):
                chunk = data[i : i + self.cfg.eval_batch_size]
                if self.loss_fn is next_token_loss and self.acc_fn is next_token_accuracy:
                    loss, acc = next_token_metrics(self.model, chunk)
                else:
                    loss, acc = float(self.loss_fn(self.model, chunk)), float(self.acc_fn(self.model, chunk))
                tot_loss += loss * chunk.shape[0]
                tot_acc += acc * chunk.shape[0]
            # sums over all ranks' shares: (Σ loss·n, Σ acc·n, Σ n)
            sums = torch.tensor([tot_loss, tot_acc, float(data.shape[0])], dtype=torch.float64, device=self.device)
            tot_loss, tot_acc, n = self.all_reduce_sum(sums).tolist()
            out[split] = {"loss": tot_loss / n, "acc": tot_acc / n}
        self.model.train(was_training)
        return out

    def _record_eval(self) -> None:
        if self._evaluated_at == self.step:
            return
        self._evaluated_at = self.step
        r = self.record
        r.eval_step.append(self.step)
        r.eval_epoch.append(self.step / self.steps_per_epoch)
        r.wall.append(self._wall)
        r.flops.append(self._flops)
        r.n_loops.append(int(getattr(self.model, "n_loops", 1)))
        for split, m in self.evaluate().items():
            r.eval_loss.setdefault(split, []).append(m["loss"])
            r.eval_acc.setdefault(split, []).append(m["acc"])

    def _call_probes(self, final: bool = False) -> None:
        for p in self.probes:
            if self._probed_at.get(p.name) == self.step:
                continue
            if not (final or self.step % p.every == 0):
                continue
            self._probed_at[p.name] = self.step
            got = p(self)
            if got:
                rows = self.record.probes.setdefault(p.name, {"step": []})
                rows["step"].append(self.step)
                for k, v in got.items():
                    rows.setdefault(k, []).append(_plain(v))

    # -- training ---------------------------------------------------------------------------------
    def train_step(self) -> float:
        """One optimiser step on the next batch; returns the loss. Raises on a non-finite loss."""
        t0 = time.perf_counter()
        self.model.train()
        batch = self._next_batch()
        eta = self.lr_fn(self.step)
        for group in self.optimizer.param_groups:
            group["lr"] = eta
        with self.train_context():  # e.g. bf16 autocast, training forward only
            loss = self.loss_fn(self.train_module, batch)
        # the global batch's loss: the mean of the ranks' equal-share means (the loss itself in one process)
        global_loss = self.all_reduce_sum(loss.detach().float()) / self.world_size
        if not torch.isfinite(global_loss):
            raise NonFiniteLossError(
                f"training loss became {float(global_loss)} at step {self.step} (lr={eta:.3g}); "
                "lower lr, add warmup or set grad_clip"
            )
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if self.cfg.grad_clip is not None:
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.cfg.grad_clip)
        self.optimizer.step()
        loops = int(getattr(self.model, "n_loops", 1))
        mcfg = getattr(self.model, "cfg", None)
        if isinstance(mcfg, ModelConfig):  # forward + backward ≈ 3 × forward
            self._flops += 3.0 * forward_flops(mcfg, loops, batch.shape[0] * self.world_size, batch.shape[1])
        value = float(global_loss)
        r = self.record
        r.train_step.append(self.step)
        r.train_loss.append(value)
        r.lr.append(eta)
        r.n_loops_step.append(loops)
        self.step += 1
        self._wall += time.perf_counter() - t0
        return value

    def run(self, steps: int | None = None) -> RunRecord:
        """Train until ``total_steps`` (or for ``steps`` more steps, or until a probe stops it).

        Evaluates at step 0, every ``cfg.eval_every`` steps and at the end of training; calls the
        probes on their cadence. Returns the record.
        """
        if steps is not None:
            check_int("steps", steps, 0)
        target = self.total_steps if steps is None else min(self.total_steps, self.step + steps)
        self._stop = False
        bar = None
        if self.cfg.progress:
            from tqdm.auto import tqdm

            bar = tqdm(total=target - self.step, desc=f"train (loops={getattr(self.model, 'n_loops', 1)})", leave=False)
        if self.step == 0:
            self._record_eval()
            self._call_probes()
        while self.step < target and not self._stop:
            loss = self.train_step()
            if self.step % self.cfg.eval_every == 0:
                self._record_eval()
            self._call_probes()
            if bar is not None:
                bar.update(1)
                if self.step % 20 == 0:
                    bar.set_postfix(loss=f"{loss:.3f}", loops=getattr(self.model, "n_loops", 1))
        if self.done:  # end of training: a final evaluation and probe call
            self._record_eval()
            self._call_probes(final=True)
        if bar is not None:
            bar.close()
        return self.record

    # -- checkpoints --------------------------------------------------------------------------------
    def state_dict(self) -> dict:
        """Everything needed to resume bit for bit (tensors and plain values only)."""
        probe_states = {p.name: p.state_dict() for p in self.probes if hasattr(p, "state_dict")}
        mcfg = getattr(self.model, "cfg", None)
        return {
            "model": self.model.state_dict(),
            "n_loops": int(getattr(self.model, "n_loops", 1)),
            "model_cfg": mcfg.to_dict() if isinstance(mcfg, ModelConfig) else None,
            "optimizer": self.optimizer.state_dict(),
            "train_cfg": self.cfg.to_dict(),
            "step": self.step,
            "epoch": self.epoch,
            "batch_idx": self._batch_idx,
            "perm": self._perm.clone(),
            "generator": self.generator.get_state(),
            "wall": self._wall,
            "flops": self._flops,
            "evaluated_at": self._evaluated_at,
            "probed_at": dict(self._probed_at),
            "record": self.record.to_dict(),
            "probe_states": _plain(probe_states),
        }

    def load_state_dict(self, state: Mapping) -> None:
        """Restore a :meth:`state_dict` into this trainer (same model architecture and data)."""
        self.model.load_state_dict(state["model"])
        if hasattr(self.model, "n_loops"):
            self.model.n_loops = state["n_loops"]
        self.optimizer = build_optimizer(self.model, self.cfg)
        self.optimizer.load_state_dict(state["optimizer"])
        self.step, self.epoch, self._batch_idx = state["step"], state["epoch"], state["batch_idx"]
        self._perm = state["perm"].clone()
        self.generator.set_state(state["generator"])
        self._wall, self._flops = state["wall"], state["flops"]
        self._evaluated_at = state["evaluated_at"]
        self._probed_at = dict(state["probed_at"])
        self.record = RunRecord.from_dict(copy.deepcopy(state["record"]))  # never append to the caller's lists
        for p in self.probes:
            if hasattr(p, "load_state_dict") and p.name in state["probe_states"]:
                p.load_state_dict(state["probe_states"][p.name])

    def save_checkpoint(self, path) -> Path:
        """Save :meth:`state_dict` with ``torch.save`` (loadable with ``weights_only=True``)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        torch.save(self.state_dict(), path)
        return path

    @classmethod
    def from_checkpoint(
        cls,
        path,
        train_tokens: torch.Tensor,
        eval_sets: Mapping[str, torch.Tensor] | None,
        model: torch.nn.Module | None = None,
        probes: Sequence = (),
        loss_fn: Callable = next_token_loss,
        acc_fn: Callable = next_token_accuracy,
        device: str | None = None,
    ) -> "Trainer":
        """Resume from :meth:`save_checkpoint`; ``model=None`` rebuilds a :class:`LoopedAttn` from
        the saved config. The data must be the same tensors the run started with.

        Introduced in notebooks/04_single_vs_looped.
        """
        state = torch.load(path, map_location="cpu", weights_only=True)
        tc = dict(state["train_cfg"])
        tc["betas"] = tuple(tc["betas"])
        if device is not None:
            tc["device"] = device
        cfg = TrainConfig(**tc)
        if model is None:
            if state["model_cfg"] is None:
                raise ValueError("the checkpoint has no model config: pass model=")
            model = LoopedAttn(ModelConfig(**state["model_cfg"]))
        trainer = cls(model, train_tokens, eval_sets, cfg, probes=probes, loss_fn=loss_fn, acc_fn=acc_fn)
        trainer.load_state_dict(state)
        return trainer


def train(
    model: torch.nn.Module,
    train_tokens: torch.Tensor,
    eval_sets: Mapping[str, torch.Tensor] | None,
    cfg: TrainConfig | None = None,
    probes: Sequence = (),
    **kwargs,
) -> RunRecord:
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
