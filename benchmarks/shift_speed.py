"""SHIFT's wall-clock saving, from interleaved repeated timings of the two step kinds in one process.

    python benchmarks/shift_speed.py [--scale ci|small] [--repeats 30] [--block 10] [--switch 150]

Separate runs made at different times on a shared CPU cannot be compared by their wall-clock (a
FLOP-identical rerun of Looped-Attn once took 1.285× the time of the first). So this script builds a
Single-Attn and a Looped-Attn trainer on the same data, and times them *alternately* in blocks of
``--block`` training steps, ``--repeats`` times, in one process with one thread: background load
hits both alike. It prints

- seconds per step of each (median over blocks, and the interquartile range), their ratio
  c_wall = t₁/t₃ next to the FLOP ratio c = F₁/F₃;
- the ratio for every block pair (its median and IQR) — the spread the machine adds;
- what that means for SHIFT at equal steps and at equal compute: a run that switches at step s of
  S costs (s·t₁ + (S − s)·t₃)/(S·t₃) = 1 − (s/S)(1 − c_wall) of Looped's time at equal steps, and at
  equal FLOPs it spends Looped's time × (s·t₁ + N·t₃)/(S·t₃) with N the looped steps the budget allows.

Nothing is trained to convergence: it measures time per step, the only thing wall-clock adds to the
FLOP accounting of :mod:`loopvalley.looped.compute`.
"""

from __future__ import annotations

import argparse
import statistics
import time
from dataclasses import replace

import torch

from loopvalley.looped.arms import build_arm
from loopvalley.looped.compute import equal_flop_steps, train_step_flops
from loopvalley.looped.runs import markov_run
from loopvalley.train import Trainer


def _quartiles(v):
    q = statistics.quantiles(v, n=4)
    return q[0], statistics.median(v), q[2]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--scale", default="small", choices=("ci", "small", "paper"))
    ap.add_argument("--repeats", type=int, default=30, help="block pairs (Single block, Looped block)")
    ap.add_argument("--block", type=int, default=10, help="training steps per timed block")
    ap.add_argument("--switch", type=int, default=150, help="SHIFT's switch step s for the projection")
    args = ap.parse_args()
    torch.set_num_threads(1)
    run = markov_run(args.scale)
    data = run.data.sample(0)
    cfg = replace(run.train, max_steps=10**7, progress=False, device="cpu")
    trainers = {a: Trainer(build_arm(a, run, 0), data.train, None, cfg) for a in ("single", "looped")}
    for tr in trainers.values():  # warm up allocator and kernels
        for _ in range(args.block):
            tr.train_step()
    per = {a: [] for a in trainers}
    for i in range(args.repeats):
        order = ("single", "looped") if i % 2 == 0 else ("looped", "single")  # alternate who goes first
        for a in order:
            t0 = time.perf_counter()
            for _ in range(args.block):
                trainers[a].train_step()
            per[a].append((time.perf_counter() - t0) / args.block)
    B, T = run.train.batch_size, run.data.markov.seq_len
    f1, f3 = (train_step_flops(run.model, n, B, T) for n in (1, run.looped_depth))
    c = f1 / f3
    t1, t3 = statistics.median(per["single"]), statistics.median(per["looped"])
    ratios = [a / b for a, b in zip(per["single"], per["looped"])]
    q1, qm, q3 = _quartiles(ratios)
    print(f"scale {args.scale}: batch {B} × T {T}, d_model {run.model.d_model}; {args.repeats} interleaved block pairs "
          f"of {args.block} steps, one thread")
    for a, v in per.items():
        lo, med, hi = _quartiles(v)
        print(f"  {a:6s}: {1e3 * med:.2f} ms/step (IQR {1e3 * lo:.2f}–{1e3 * hi:.2f})")
    print(f"  c_wall = t_single / t_looped = {t1 / t3:.3f} (block pairs: median {qm:.3f}, IQR {q1:.3f}–{q3:.3f}); "
          f"FLOP ratio c = {c:.3f}")
    S, s = run.train.max_steps, args.switch
    cw = t1 / t3
    print(f"  SHIFT switching at {s} of {S} steps, equal steps: {1 - s / S * (1 - cw):.3f}× Looped's time "
          f"(FLOPs: {1 - s / S * (1 - c):.3f}×)")
    n = equal_flop_steps(S * f3, s * f1, f3)
    print(f"  equal FLOPs ({s} + {n} steps): {(s * t1 + n * t3) / (S * t3):.3f}× Looped's time "
          f"(FLOPs: {(s * f1 + n * f3) / (S * f3):.3f}×)")


if __name__ == "__main__":
    main()
