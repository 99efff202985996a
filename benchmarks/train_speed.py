"""Training speed of Single-Attn vs Looped-Attn, measured side by side in one run.

Prints steps/s and tokens/s for both and their ratio beside the ideal 3× (one attention pass vs
three; embedding and readout are shared, so the FLOP ratio is slightly below 3). The two models
alternate in short blocks so that background load hits both alike.

    python benchmarks/train_speed.py [--scale ci|small|paper] [--steps 200] [--block 20]
"""

from __future__ import annotations

import argparse
import time

import torch

from loopvalley.experiments.sample_dynamics import settings
from loopvalley.markov import make_markov_data
from loopvalley.models import forward_flops, looped_attn, single_attn
from loopvalley.train import Trainer


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--scale", choices=("ci", "small", "paper"), default=None)
    p.add_argument("--steps", type=int, default=200, help="timed steps per model")
    p.add_argument("--block", type=int, default=20, help="steps per alternating block")
    p.add_argument("--threads", type=int, default=1)
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    s = settings(a.scale)
    data = make_markov_data(s.markov, s.n_train, 64, torch.Generator().manual_seed(0))
    cfg = s.train
    trainers = {
        "Single-Attn": Trainer(single_attn(s.model, torch.Generator().manual_seed(0)), data.train, {}, cfg),
        f"Looped-Attn ({s.n_loops})": Trainer(looped_attn(s.model, s.n_loops, torch.Generator().manual_seed(0)), data.train, {}, cfg),
    }
    for t in trainers.values():  # warm up
        for _ in range(5):
            t.train_step()
    secs = {k: 0.0 for k in trainers}
    done = 0
    while done < a.steps:
        n = min(a.block, a.steps - done)
        for k, t in trainers.items():
            t0 = time.perf_counter()
            for _ in range(n):
                t.train_step()
            secs[k] += time.perf_counter() - t0
        done += n
    B, T = cfg.batch_size, s.markov.seq_len
    print(f"scale={a.scale or 'default'}  device={next(iter(trainers.values())).device}  "
          f"batch={B}  length={T}  d_model={s.model.d_model}  threads={a.threads}")
    rate = {}
    for k in trainers:
        rate[k] = a.steps / secs[k]
        print(f"{k:18s} {rate[k]:8.1f} steps/s  {rate[k] * B * T:10.0f} tokens/s")
    single, looped = list(rate)
    flop_ratio = forward_flops(s.model, s.n_loops, B, T) / forward_flops(s.model, 1, B, T)
    print(f"time ratio Looped/Single: {rate[single] / rate[looped]:.2f}x   "
          f"(ideal {s.n_loops}x: attention cost linear in loops; FLOP ratio {flop_ratio:.2f}x)")


if __name__ == "__main__":
    main()
