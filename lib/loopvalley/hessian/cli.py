"""``python -m loopvalley spectrum``: the top-k eigenvalues of a small trained model's attention Hessian,
in one process or in several under ``torchrun``, the probe batch split across the ranks.

    python -m loopvalley spectrum --scale ci --arm looped --k 10
    python -m loopvalley spectrum --scale ci --arm single --k 5 --steps 200 --probe-batch 32
    torchrun --standalone --nproc_per_node 2 -m loopvalley spectrum --scale ci --arm looped --k 10
    python -m loopvalley spectrum --checkpoint runs/demo/checkpoint.pt --k 10

The model is the chapter's Markov run at that scale with the Hessian chapter's width
(``markov_run(scale, d_model=16)``; ``--steps`` changes its length), trained on rank 0 and sent to every
rank, or the weights of a ``checkpoint.pt`` written by ``python -m loopvalley train``. The probe batch,
the first ``--probe-batch`` training sequences, is split across the ranks: each rank differentiates its
shard on the model itself and the products are all-reduced (:class:`loopvalley.hessian.operator.Hessian`
with ``group``), so every rank runs the same Lanczos from the same start, and rank 0 prints the
eigenvalues with their residuals ‖Hv − λv‖ (``--out``: also as JSON). It runs on the CPU (gloo).

Introduced in notebooks/05_hessian_dynamics.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import replace
from pathlib import Path

import torch
import torch.distributed as dist

from loopvalley._validate import check_int, check_positive
from loopvalley.checkpoint import load_checkpoint
from loopvalley.hessian.operator import Hessian, lanczos
from loopvalley.looped.arms import ARMS, build_arm, train_arm
from loopvalley.looped.models import PARAM_BLOCKS, ModelConfig, block_params, build_model
from loopvalley.looped.runs import markov_run
from loopvalley.scale.distributed import init_from_env, shutdown
from loopvalley.scales import SCALES, current_scale
from loopvalley.train import next_token_loss

DTYPES = {"float64": torch.float64, "float32": torch.float32}


def add_spectrum_parser(subparsers) -> argparse.ArgumentParser:
    """Add the ``spectrum`` subcommand to ``subparsers`` (``python -m loopvalley spectrum ...``).

    Introduced in notebooks/05_hessian_dynamics.
    """
    sp = subparsers.add_parser(
        "spectrum", help="top-k eigenvalues of a small trained model's attention Hessian (torchrun: the probe "
        "batch split across the processes)", description=__doc__.split("\n\n")[0], allow_abbrev=False,
    )
    sp.add_argument("--scale", choices=SCALES, default=None,
                    help="the Markov run's scale (default: $LOOPVALLEY_SCALE, else paper on a GPU, small on a CPU)")
    sp.add_argument("--arm", choices=ARMS, default="looped", help="the architecture (default looped)")
    sp.add_argument("--k", type=int, default=10, help="eigenvalues wanted, largest first (default 10)")
    sp.add_argument("--steps", type=int, default=None, help="training steps (default: the run's)")
    sp.add_argument("--d-model", type=int, default=16, help="residual stream width (default 16, as in chapter 05)")
    sp.add_argument("--seed", type=int, default=0, help="seeds the weights, the language sample and the data order")
    sp.add_argument("--checkpoint", default=None, metavar="PATH",
                    help="take the weights from this checkpoint.pt (written by `train`) instead of training")
    sp.add_argument("--probe-batch", type=int, default=64, help="training sequences in the probe batch (default 64)")
    sp.add_argument("--block", choices=tuple(PARAM_BLOCKS), default="attention", help="the parameters (default attention)")
    sp.add_argument("--tol", type=float, default=1e-8, help="Lanczos's relative tolerance (default 1e-8)")
    sp.add_argument("--dtype", choices=tuple(DTYPES), default="float64", help="precision of the products")
    sp.add_argument("--threads", type=int, default=1, help="torch threads per process (default 1)")
    sp.add_argument("--out", default=None, metavar="FILE", help="also write the result as JSON (rank 0)")
    sp.set_defaults(func=_main_from_args, _spectrum_parser=sp)
    return sp


def _main_from_args(args) -> int:
    try:
        top_k_spectrum(arm=args.arm, scale=args.scale, k=args.k, steps=args.steps, d_model=args.d_model, seed=args.seed,
                       checkpoint=args.checkpoint, probe_batch=args.probe_batch, block=args.block, tol=args.tol,
                       dtype=DTYPES[args.dtype], threads=args.threads, out=args.out)
    except ValueError as e:  # bad options, found before any product
        args._spectrum_parser.error(str(e))
    finally:
        shutdown()  # leave the torchrun process group cleanly (no-op in one process)
    return 0


def top_k_spectrum(arm: str = "looped", scale: str | None = None, k: int = 10, steps: int | None = None,
                   d_model: int = 16, seed: int = 0, checkpoint=None, probe_batch: int = 64, block: str = "attention",
                   tol: float = 1e-8, dtype: torch.dtype = torch.float64, threads: int = 1, out=None, log=print) -> dict:
    """The top-k eigenvalues (and residuals ‖Hv − λv‖) of the ``block`` Hessian of a trained model on its
    probe batch, the batch split across the ``torchrun`` ranks (one process without torchrun). Every rank
    returns the same result; rank 0 prints it (``log``) and writes ``out`` (JSON).

    Introduced in notebooks/05_hessian_dynamics.
    """
    info = init_from_env("cpu")
    say = log if info.is_main else (lambda *a, **kw: None)
    torch.set_num_threads(check_int("threads", threads, 1))
    k = check_int("k", k, 1)
    check_positive("tol", tol)
    if checkpoint is None:
        run = markov_run(scale, d_model=check_int("d_model", d_model, 1))
        if steps is not None:
            run = replace(run, train=replace(run.train, max_steps=check_int("steps", steps, 1)))
        data = run.data.sample(seed)
        model = _trained(arm, run, seed, data, info.is_main)
        what = f"{arm} trained {run.train.max_steps} steps (seed {seed})"
    else:
        model, seed = _load(checkpoint)
        data = markov_run(scale, seq_len=model.cfg.max_len).data.sample(seed)  # the language it was trained on
        what = f"the weights of {checkpoint}"
    batch = data.train[: check_int("probe_batch", probe_batch, info.world_size, data.train.shape[0])]  # (B, T)
    shard = batch.tensor_split(info.world_size)[info.rank]  # this rank's sequences
    group = dist.group.WORLD if info.world_size > 1 else None
    H = Hessian(model, next_token_loss, shard, block_params(model, block), dtype, group=group)
    res = lanczos(H, k, tol=tol)
    shards = " + ".join(str(len(s)) for s in batch.tensor_split(info.world_size))
    result = {"eigenvalues": res.eigenvalues.tolist(), "residuals": res.residuals.tolist(), "n": H.n,
              "n_hvp": res.n_hvp, "converged": res.converged, "processes": info.world_size, "probe_batch": len(batch)}
    say(f"spectrum: {what}, d_model {model.cfg.d_model}, {current_scale(scale)} language")
    say(f"{block} Hessian, n = {H.n}, {str(dtype).replace('torch.', '')}, on {len(batch)} probe sequences "
        f"({info.world_size} process{'es' if info.world_size > 1 else ''}: {shards})")
    say(f"top-{k} by Lanczos (tol {tol:g}): {res.n_hvp} products per process ({k} for the residuals), "
        f"{'converged' if res.converged else 'NOT converged'}")
    say("    i       eigenvalue   residual ‖Hv − λv‖")
    for i, (lam, r) in enumerate(zip(result["eigenvalues"], result["residuals"]), 1):
        say(f"  {i:3d}  {lam:15.10f}   {r:18.2e}")
    if out is not None and info.is_main:
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        Path(out).write_text(json.dumps(result, indent=2) + "\n")
    return result


def _trained(arm: str, run, seed: int, data, train_here: bool) -> torch.nn.Module:
    """``arm`` trained on ``run`` by this process if ``train_here`` (rank 0), then rank 0's weights on every rank."""
    model = train_arm(arm, run, seed, data)[1] if train_here else build_arm(arm, run, seed)
    if dist.is_initialized():
        with torch.no_grad():
            for t in model.state_dict().values():
                dist.broadcast(t, src=0)  # in place: rank 0's weights everywhere
    return model


def _load(path) -> tuple[torch.nn.Module, int]:
    """``(model, seed)`` of a ``train`` checkpoint: its ``ModelConfig`` and seed from the record, its weights."""
    if not Path(path).is_file():
        raise ValueError(f"checkpoint: no file at {path}")
    state = load_checkpoint(path)
    meta = state["record"]["meta"]
    if "model_cfg" not in meta:
        raise ValueError(f"checkpoint: {path} records no model configuration")
    model = build_model(ModelConfig(**meta["model_cfg"]))
    for name, value in state.get("model_attrs", {}).items():
        setattr(model, name, value)
    model.load_state_dict(state["model"])
    return model, int(meta.get("seed", 0))
