"""Training at scale: bf16 autocast, ``torch.compile``, DistributedDataParallel, throughput.

:class:`AcceleratedTrainer` is the plain :class:`loopvalley.train.Trainer` with its four hooks
filled in, so every probe, record and checkpoint works unchanged:

- ``train_context``: bf16 autocast around the *training forward only*. Evaluation runs the eager
  float32 model, and probes (Hessian spectra in float32/float64 on the explicit ``"math"``
  attention path, the SHIFT controller) run outside the autocast block.
- ``train_module``: the model, wrapped in DDP when several processes train, then compiled with
  ``torch.compile`` when asked. Compilation is tried on one warm-up forward/backward at start-up;
  if it fails (no compiler, an unsupported op) the trainer warns and trains eagerly.
- ``shard`` / ``all_reduce_sum``: with ``torchrun --nproc_per_node N``, every rank draws the *same*
  global batch of indices from the shared, seeded permutation and trains on its equal slice; DDP
  averages the gradients, so one step is the step of one process on the global batch. Training
  losses and evaluation metrics are reduced across ranks, so every rank holds the same record, and
  only rank 0 writes records and checkpoints.

Seeds: the model's initial weights, the language sample and the data order come from explicit
generators seeded identically on every rank (the run is the same whatever the number of
processes); the global torch seed is set to ``seed + rank`` for anything unseeded.

The data (a few MB of tokens) is sampled on the CPU, so a seed gives bit-identical tokens on every
device, and moved to the device once; batches are then indexed on the device.

:func:`measure_throughput` times the real training step (tokens/s, achieved FLOP/s, fraction of the
card's bf16 peak from :data:`PEAK_BF16_TFLOPS`); ``benchmarks/throughput.py`` prints the table.

Introduced in notebooks/06_full_gpu_training.
"""

from __future__ import annotations

import contextlib
import os
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import torch

from ._validate import check_choice, check_int
from .train import Trainer

AMP_MODES = ("auto", "bf16", "off")

# Dense bf16 tensor-core peak (TFLOP/s, no sparsity) by device-name substring; the longest match wins.
PEAK_BF16_TFLOPS = {
    "H200": 989.0,
    "H100": 989.0,  # SXM
    "H100 PCIe": 756.0,
    "A100": 312.0,
    "L40S": 362.0,
    "L4": 121.0,
}


# ----------------------------------------------------------------------------------------------
# Processes


@dataclass(frozen=True)
class DistInfo:
    """This process's place in the job (one process: rank 0 of 1)."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    backend: str = ""  # "nccl", "gloo" or "" (no process group)

    @property
    def is_main(self) -> bool:
        """Rank 0: the process that prints and writes."""
        return self.rank == 0


def dist_info() -> DistInfo:
    """The current process group's :class:`DistInfo` (rank 0 of 1 when there is none)."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        return DistInfo(dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", 0)),
                        dist.get_backend())
    return DistInfo()


def init_from_env(device: str = "auto") -> DistInfo:
    """Join the process group that ``torchrun`` describes (``WORLD_SIZE``, ``RANK``, ``LOCAL_RANK``,
    ``MASTER_ADDR``/``PORT``); a no-op returning rank 0 of 1 when ``WORLD_SIZE`` is unset or 1.

    Backend: NCCL when training on CUDA (each rank on ``cuda:LOCAL_RANK``), gloo on the CPU.

    Introduced in notebooks/06_full_gpu_training.
    """
    import torch.distributed as dist

    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return DistInfo()
    if dist.is_initialized():
        return dist_info()
    rank, local = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", 0))
    cuda = device != "cpu" and torch.cuda.is_available()
    if cuda:
        torch.cuda.set_device(local)
    backend = "nccl" if cuda else "gloo"
    dist.init_process_group(backend=backend)
    return DistInfo(rank, world, local, backend)


def shutdown() -> None:
    """Leave the process group (if any)."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def resolve_amp(amp: str, device: torch.device) -> str:
    """``"auto"`` → ``"bf16"`` on a CUDA device that supports bfloat16, else ``"off"``."""
    check_choice("amp", amp, AMP_MODES)
    if amp != "auto":
        return amp
    if device.type == "cuda" and torch.cuda.is_bf16_supported():
        return "bf16"
    return "off"


# ----------------------------------------------------------------------------------------------
# The trainer


class AcceleratedTrainer(Trainer):
    """:class:`loopvalley.train.Trainer` with bf16 autocast, optional ``torch.compile`` and DDP.

    ``amp``: "auto" | "bf16" | "off"; ``compile``: try ``torch.compile`` (eager fallback);
    ``dist``: a :class:`DistInfo` (default: the current process group, if any). The global
    ``cfg.batch_size`` must be divisible by the number of processes. ``compiled`` says whether the
    compiled module is in use; ``amp`` the resolved precision.

    Introduced in notebooks/06_full_gpu_training.
    """

    def __init__(self, model, train_tokens, eval_sets, cfg=None, probes=(), *, amp: str = "auto",
                 compile: bool = False, dist: DistInfo | None = None, **kwargs):
        info = dist if dist is not None else dist_info()
        self.dist = info
        self.rank, self.world_size = info.rank, info.world_size
        super().__init__(model, train_tokens, eval_sets, cfg, probes, **kwargs)
        if self.batch_size % self.world_size:
            raise ValueError(
                f"batch_size ({self.batch_size}) must be divisible by the number of processes ({self.world_size})"
            )
        self.amp = resolve_amp(amp, self.device)
        module = self.model
        if self.world_size > 1:
            from torch.nn.parallel import DistributedDataParallel as DDP

            ids = [self.device.index if self.device.index is not None else torch.cuda.current_device()] \
                if self.device.type == "cuda" else None
            module = DDP(module, device_ids=ids)
        self._eager_module = module
        self._train_module = module
        self.compiled = False
        if compile:
            self._try_compile()
        self.record.meta.update(world_size=self.world_size, amp=self.amp, compiled=self.compiled,
                                device=str(self.device))

    # -- hooks
    @property
    def train_module(self):
        return self._train_module

    def train_context(self):
        if self.amp == "bf16":
            return torch.autocast(device_type=self.device.type, dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def shard(self, rows: torch.Tensor) -> torch.Tensor:
        if self.world_size == 1:
            return rows
        return rows.tensor_split(self.world_size)[self.rank]  # equal shares of a divisible batch

    def all_reduce_sum(self, values: torch.Tensor) -> torch.Tensor:
        if self.world_size == 1:
            return values
        import torch.distributed as dist

        out = values.detach().clone()  # never reduce in place into a tensor autograd may hold
        dist.all_reduce(out, op=dist.ReduceOp.SUM)
        return out

    # -- compile with an eager fallback
    def _try_compile(self) -> None:
        compiled = torch.compile(self._eager_module)
        batch = self.train_tokens[: self.batch_size // self.world_size]  # the training batch shape
        try:
            with self.train_context():
                loss = self.loss_fn(compiled, batch)
            loss.backward()
        except Exception as e:  # noqa: BLE001 - any compiler failure means: train eagerly
            warnings.warn(f"torch.compile failed ({type(e).__name__}: {str(e)[:200]}); training eagerly",
                          RuntimeWarning, stacklevel=3)
            compiled = None
        finally:
            self.optimizer.zero_grad(set_to_none=True)  # the warm-up step leaves no trace
        if compiled is not None:
            self._train_module, self.compiled = compiled, True

    # -- checkpoints: rank 0 writes, everyone waits
    def save_checkpoint(self, path) -> Path:
        path = Path(path)
        if self.dist.is_main:
            tmp = path.with_name(path.name + ".tmp")
            super().save_checkpoint(tmp)
            os.replace(tmp, path)  # atomic: an interruption never leaves a half-written checkpoint
        barrier()
        return path


def barrier() -> None:
    """Wait for every rank (no-op in one process)."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.barrier()


def load_checkpoint(path) -> dict:
    """A trainer checkpoint read with ``torch.load(..., weights_only=True)`` onto the CPU."""
    path = Path(path)
    if not path.exists():
        raise ValueError(f"resume: no checkpoint at {path}")
    return torch.load(path, map_location="cpu", weights_only=True)


# ----------------------------------------------------------------------------------------------
# Throughput


def peak_bf16_flops(device_name: str | None = None, override_tflops: float | None = None) -> float | None:
    """The card's dense bf16 peak in FLOP/s: ``override_tflops`` if given, else the longest
    :data:`PEAK_BF16_TFLOPS` key contained in ``device_name`` (``None`` if unknown or on a CPU)."""
    if override_tflops is not None:
        return float(override_tflops) * 1e12
    if not device_name:
        return None
    hits = [k for k in PEAK_BF16_TFLOPS if k.lower() in device_name.lower()]
    return PEAK_BF16_TFLOPS[max(hits, key=len)] * 1e12 if hits else None


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    import platform

    return f"cpu ({platform.processor() or platform.machine()}, {torch.get_num_threads()} threads)"


def measure_throughput(model: str = "looped", scale: str | None = None, *, compile: bool = False, steps: int = 20,
                       warmup: int = 3, device: str = "auto", amp: str = "auto", batch_size: int | None = None,
                       peak_tflops: float | None = None, seed: int = 0) -> dict:
    """Time ``steps`` training steps of the ``model`` preset at ``scale`` (after ``warmup`` steps).

    Runs the real :class:`AcceleratedTrainer` step (forward under autocast, backward, AdamW) on
    random tokens of the preset's shape. Returns ``{"model", "scale", "mode" ("eager"/"compiled"),
    "device", "amp", "batch", "seq_len", "d_model", "n_loops", "step_ms", "tokens_per_s",
    "flops_per_step", "flops_per_s", "peak_flops", "mfu"}``; FLOPs count a training step as
    3 × :func:`loopvalley.models.forward_flops`. ``mode`` is "eager" when compiling failed.

    Introduced in notebooks/06_full_gpu_training.
    """
    from .models import build_model, forward_flops
    from .presets import preset
    from .train import TrainConfig, resolve_device

    check_int("steps", steps, 1)
    check_int("warmup", warmup, 0)
    p = preset(model if model != "shift" else "single", scale)
    B = check_int("batch_size", batch_size, 1) if batch_size is not None else p.train.batch_size
    T = p.data.markov.seq_len
    dev = resolve_device(device)
    g = torch.Generator().manual_seed(seed)
    tokens = torch.randint(p.model.vocab_size, (B * (warmup + steps), T), generator=g)  # (N, T)
    cfg = TrainConfig(**{**p.train.to_dict(), "betas": tuple(p.train.betas), "batch_size": B,
                         "max_steps": warmup + steps, "eval_every": 10**9, "device": dev.type, "progress": False})
    net = build_model(p.model, torch.Generator().manual_seed(seed))
    tr = AcceleratedTrainer(net, tokens, None, cfg, amp=amp, compile=compile, dist=DistInfo())
    for _ in range(warmup):
        tr.train_step()
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)
    t0 = time.perf_counter()
    for _ in range(steps):
        tr.train_step()
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)
    dt = (time.perf_counter() - t0) / steps
    fl = 3.0 * forward_flops(p.model, p.model.n_loops, B, T)
    name = device_name(dev)
    peak = peak_bf16_flops(name if dev.type == "cuda" else None, peak_tflops)
    return {
        "model": model, "scale": p.scale, "mode": "compiled" if tr.compiled else "eager", "device": name,
        "amp": tr.amp, "batch": B, "seq_len": T, "d_model": p.model.d_model, "n_loops": p.model.n_loops,
        "step_ms": 1e3 * dt, "tokens_per_s": B * T / dt, "flops_per_step": fl, "flops_per_s": fl / dt,
        "peak_flops": peak, "mfu": (fl / dt / peak) if peak else None,
    }


def throughput_table(rows) -> str:
    """A Markdown table of :func:`measure_throughput` rows, with the looped/single time ratio
    beside the FLOP ratio (≈ the ideal 3× minus the readout's share)."""
    by = {(r["scale"], r["mode"], r["model"]): r for r in rows}
    lines = ["| scale | mode | model | batch×T | step (ms) | tokens/s | TFLOP/s | % of bf16 peak | looped/single time | FLOP ratio (ideal 3) |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        ratio = flop_ratio = ""
        single = by.get((r["scale"], r["mode"], "single"))
        if r["model"] == "looped" and single is not None:
            ratio = f"{r['step_ms'] / single['step_ms']:.2f}×"
            flop_ratio = f"{r['flops_per_step'] / single['flops_per_step']:.2f}×"
        mfu = f"{100 * r['mfu']:.2f}" if r.get("mfu") else "–"
        lines.append(
            f"| {r['scale']} | {r['mode']} | {r['model']} | {r['batch']}×{r['seq_len']} | {r['step_ms']:.2f} | "
            f"{r['tokens_per_s']:,.0f} | {r['flops_per_s'] / 1e12:.4f} | {mfu} | {ratio} | {flop_ratio} |"
        )
    return "\n".join(lines)


# ----------------------------------------------------------------------------------------------
# The chapter's checks


def cost_ratio(model_cfg, batch: int, length: int, n_loops: int = 3) -> dict:
    """FLOPs of Looped- vs Single-Attn: ``{"ratio", "readout_share", "ideal"}`` where
    F(n) = n·P + R (P per loop, R the readout), ratio = F(n)/F(1) = n − (n−1)·R/F(1).

    Introduced in notebooks/06_full_gpu_training.
    """
    from .models import forward_flops

    f1 = forward_flops(model_cfg, 1, batch, length)
    fn = forward_flops(model_cfg, n_loops, batch, length)
    readout = 2.0 * batch * length * model_cfg.d_model * model_cfg.vocab_size  # R = 2·B·T·d·V
    return {"ratio": fn / f1, "readout_share": readout / f1, "ideal": float(n_loops)}


def scale_claims(smoke: dict, scale: str) -> list:
    """The chapter's checks from two smoke-run records ``smoke = {"single": RunRecord, "looped":
    RunRecord}`` (same preset, same steps):

    - **G1** the trainer's FLOP accounting charges Looped-Attn n× Single-Attn per step, less the
      readout's share: n − F₍ₙ₎/F₍₁₎ = (n − 1)·R/F₍₁₎ and that share is small (< 10 %);
    - **G2** the smoke run learns: for both models the mean training loss of the last 10 steps is
      ≥ 5 % below that of the first 10, and the final test loss is below the initial one on both splits.

    Introduced in notebooks/06_full_gpu_training.
    """
    import numpy as np

    from .claims import check
    from .models import ModelConfig

    s, l = smoke["single"], smoke["looped"]
    cfg = ModelConfig(**l.meta["model_cfg"])
    n = int(cfg.n_loops)
    per_step = {k: r.flops[-1] / max(1, len(r.train_step)) for k, r in smoke.items()}  # training FLOPs per step
    cr = cost_ratio(cfg, int(l.meta["train_cfg"]["batch_size"]), int(l.meta["seq_len"]), n)
    measured = {
        "flop_ratio": per_step["looped"] / per_step["single"],
        "ideal": float(n),
        "readout_share": cr["readout_share"],
        "predicted_ratio": cr["ratio"],
    }
    g1 = check(
        "G1", "Looped-Attn costs n× Single-Attn per step, less the readout overhead",
        "T = 3 loops of one shared layer: 3× the compute at equal parameters", measured,
        lambda m: abs((m["ideal"] - m["flop_ratio"]) - (m["ideal"] - 1) * m["readout_share"]) < 1e-4
        and m["readout_share"] < 0.1,
        rule="n − ratio = (n − 1)·readout share (to 1e-4) and readout share < 10 %", scale=scale, seeds=[0],
        fails_because=f"measured ratio {measured['flop_ratio']:.4f} vs predicted {cr['ratio']:.4f}, "
        f"readout share {cr['readout_share']:.3f}",
    )
    loss = {}
    for k, r in smoke.items():
        tl = np.asarray(r.train_loss, dtype=float)
        loss[k] = {
            "first10": float(tl[:10].mean()), "last10": float(tl[-10:].mean()),
            "drop": float(1 - tl[-10:].mean() / tl[:10].mean()),
            "test_first": {sp: r.eval_loss[sp][0] for sp in r.eval_loss},
            "test_last": {sp: r.eval_loss[sp][-1] for sp in r.eval_loss},
        }
    g2 = check(
        "G2", "The CPU smoke run of the train command learns", "(a pipeline check, not a paper claim)", loss,
        lambda m: all(v["drop"] >= 0.05 and all(v["test_last"][sp] < v["test_first"][sp] for sp in v["test_first"])
                      for v in m.values()),
        rule="both models: last-10-step train loss ≥ 5 % below the first 10; final test loss < initial on every split",
        scale=scale, seeds=[int(l.meta.get("seed", 0))],
        fails_because="; ".join(f"{k}: train loss drop {v['drop']:.1%}" for k, v in loss.items()),
    )
    return [g1, g2]
