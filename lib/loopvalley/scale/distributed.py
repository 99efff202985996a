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

``benchmarks/throughput.py`` times this trainer's real training step (tokens/s, achieved FLOP/s,
fraction of the card's bf16 peak).

Introduced in notebooks/06_full_gpu_training.
"""

from __future__ import annotations

import contextlib
import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import torch

from loopvalley._validate import check_choice
from loopvalley.checkpoint import save_checkpoint
from loopvalley.train import Trainer

AMP_MODES = ("auto", "bf16", "off")  # bf16 autocast of the training forward: auto (on a bf16 CUDA GPU), bf16, off

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
        """Rank 0 writes :func:`loopvalley.checkpoint.trainer_state` atomically; every rank waits."""

        path = Path(path)
        if self.dist.is_main:
            tmp = path.with_name(path.name + ".tmp")
            save_checkpoint(self, tmp)
            os.replace(tmp, path)  # atomic: an interruption never leaves a half-written checkpoint
        barrier()
        return path


def barrier() -> None:
    """Wait for every rank (no-op in one process)."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.barrier()
