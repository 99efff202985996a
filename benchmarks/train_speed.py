"""Training speed, measured side by side in one run: Single vs Looped, and seeds trained together.

    python benchmarks/train_speed.py [--scale ci|small] [--seeds 5] [--steps 60]
    python benchmarks/train_speed.py --reproduce [ci|small]   # also time `reproduce` end to end, two ways

1. **Single vs Looped** — seconds per training step of both (one thread), alternating in short
   blocks so background load hits both alike, beside the FLOP ratio (the ideal 3× less the readout).
2. **Seeds together** — ``--seeds`` Looped-Attn runs of ``--steps`` training steps each (data
   sampled beforehand, no evaluation: the same work for all three), three ways:
   - *sequential*: one after the other in this process, one thread;
   - *stacked*: all seeds in one batched model (``torch.func.stack_module_state`` + ``vmap`` over a
     functional forward on the explicit attention path — the fused CPU kernel has no batching rule),
     one thread (training steps only: the stacking is measured, not used);
   - *processes*: :func:`loopvalley.parallel.map_seeds`, one worker per core, one thread each —
     what the experiments use.
   The three are timed back to back twice and the best of each is printed, with speed-ups over
   sequential. Results of *processes* are checked to equal *sequential* bit for bit.
3. With ``--reproduce`` (default scale small): the wall-clock time of ``python -m loopvalley
   reproduce`` run two ways back to back — experiments one after another (``--at-once 1``) and two
   side by side sharing the cores (the default) — with the speed-up, and a check that both wrote
   the same ledger (claims.json byte for byte: verdicts, margins, intervals, measured values).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from dataclasses import replace
from functools import partial
from pathlib import Path

import torch

from loopvalley.looped.arms import build_arm
from loopvalley.looped.compute import train_step_flops
from loopvalley.looped.runs import markov_run
from loopvalley.parallel import default_workers, map_seeds
from loopvalley.train import Trainer, next_token_loss


def _train_steps(job, run, steps: int) -> tuple:
    """``steps`` Looped-Attn training steps on one seed's training set (no evaluation): the part that
    the three ways share. Returns the losses and the seconds the steps took."""
    seed, tokens = job
    trainer = Trainer(build_arm("looped", run, seed), tokens, None, replace(run.train, seed=seed, max_steps=steps))
    t0 = time.perf_counter()
    losses = [trainer.train_step() for _ in range(steps)]
    return losses, time.perf_counter() - t0


def single_vs_looped(run, steps: int, block: int) -> None:
    data = run.data.sample(0)
    t = {}
    trainers = {a: Trainer(build_arm(a, run, 0), data.train, None, replace(run.train, max_steps=10**6, progress=False))
                for a in ("single", "looped")}
    t = {a: 0.0 for a in trainers}
    for _ in range(max(1, steps // block)):
        for a, tr in trainers.items():
            t0 = time.perf_counter()
            for _ in range(block):
                tr.train_step()
            t[a] += time.perf_counter() - t0
    n = max(1, steps // block) * block
    fl = {a: train_step_flops(run.model, 1 if a == "single" else run.looped_depth, run.train.batch_size, run.data.markov.seq_len)
          for a in trainers}
    print(f"1. Single {1e3 * t['single'] / n:.2f} ms/step, Looped {1e3 * t['looped'] / n:.2f} ms/step: "
          f"Looped/Single time {t['looped'] / t['single']:.2f}× (FLOP ratio {fl['looped'] / fl['single']:.2f}×, ideal 3×)")


def stacked_steps(run, seeds, data, steps: int) -> float:
    """Seconds for ``steps`` training steps of all seeds stacked into one vmapped model."""
    from torch.func import functional_call, stack_module_state, vmap

    models = [build_arm("looped", run, s) for s in seeds]
    for m in models:
        m.backend = "math"
    base = build_arm("looped", run, seeds[0]).to("meta")
    base.backend = "math"
    params, buffers = stack_module_state(models)
    params = {k: torch.nn.Parameter(v) for k, v in params.items()}
    opt = torch.optim.AdamW(params.values(), lr=run.train.lr)
    B = run.train.batch_size

    def loss_one(p, b, x):
        return next_token_loss(lambda t: functional_call(base, (p, b), (t,)), x)

    t0 = time.perf_counter()
    for k in range(steps):
        x = torch.stack([d[(k * B) % (d.shape[0] - B):][:B] for d in data])  # (S, B, T)
        opt.zero_grad()
        vmap(loss_one)(params, buffers, x).sum().backward()  # Σ_s L_s: each seed's own gradient
        opt.step()
    return time.perf_counter() - t0


def seeds_together(run, n_seeds: int, steps: int) -> None:
    seeds = list(range(n_seeds))
    jobs = [(s, run.data.sample(s).train) for s in seeds]  # each seed's training set, sampled once
    workers = default_workers(n_seeds)
    best = {"sequential": float("inf"), "stacked": float("inf"), "processes": float("inf")}
    fn = partial(_train_steps, run=run, steps=steps)
    for _ in range(2):
        t0 = time.perf_counter()
        seq = [fn(j)[0] for j in jobs]
        best["sequential"] = min(best["sequential"], time.perf_counter() - t0)
        best["stacked"] = min(best["stacked"], stacked_steps(run, seeds, [t for _, t in jobs], steps))
        t0 = time.perf_counter()
        par = [r[0] for r in map_seeds(fn, jobs, workers=workers)]  # wall clock, worker start-up included
        best["processes"] = min(best["processes"], time.perf_counter() - t0)
    assert par == seq, "processes must equal sequential training bit for bit"
    per = {k: v / (steps * n_seeds) for k, v in best.items()}
    print(f"2. {n_seeds} seeds × {steps} Looped steps (batch {run.train.batch_size}), seconds per training step per seed:")
    for k, v in per.items():
        extra = f" ({workers} workers, wall clock incl. start-up)" if k == "processes" else ""
        print(f"   {k:10s} {1e3 * v:6.2f} ms  speed-up {per['sequential'] / v:4.2f}×{extra}")
    print("   processes == sequential bit for bit: yes")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scale", choices=("ci", "small"), default="small")
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--steps", type=int, default=60)
    ap.add_argument("--block", type=int, default=20)
    ap.add_argument("--reproduce", nargs="?", const="small", choices=("ci", "small"), default=None,
                    help="also time the whole reproduce at this scale (default small, ≈ 45 min; ci ≈ 9 min), "
                    "experiments one after another and side by side")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    run = markov_run(args.scale)
    print(f"scale {args.scale}: d_model {run.model.d_model}, T {run.data.markov.seq_len}, batch {run.train.batch_size}; "
          f"{os.cpu_count()} CPUs, torch {torch.__version__}")
    single_vs_looped(run, 3 * args.steps, args.block)
    seeds_together(run, args.seeds, args.steps)
    if args.reproduce:
        whole_reproduce(args.reproduce)
    return 0


def whole_reproduce(scale: str) -> None:
    """``reproduce --scale scale`` one experiment after another, then two side by side: seconds each,
    the speed-up, and whether the two ledgers are equal."""
    seconds, ledgers = {}, {}
    for label, at_once in (("one after another", "1"), ("side by side", "2")):
        out = Path("runs") / f"bench_reproduce_{at_once}"
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "loopvalley", "reproduce", "--scale", scale, "--out", str(out),
                        "--at-once", at_once, "--quiet"], check=True)
        seconds[label] = time.perf_counter() - t0
        ledgers[label] = (out / "claims.json").read_text()
        print(f"3. reproduce --scale {scale}, experiments {label}: {seconds[label]:.0f} s", flush=True)
    print(f"   side by side: {seconds['one after another'] / seconds['side by side']:.2f}× faster; "
          f"same ledger: {'yes' if ledgers['one after another'] == ledgers['side by side'] else 'NO'}")


if __name__ == "__main__":
    sys.exit(main())
