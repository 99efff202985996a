"""How fast is the vectorised simulator? A sweep of 1,000 runs × 1,000 steps in one call, for each
optimizer, against the same runs simulated one at a time (measured on a few, extrapolated).

    python benchmarks/simulate_speed.py [--runs 1000] [--steps 1000]

Prints the time, runs·steps per second, and the speed-up of batching over a loop of single runs.
"""

from __future__ import annotations

import argparse
import time

import torch

from loopvalley.valley.landscapes import (
    RiverValley2D,
    RiverValleyQuadratic,
    random_coupling_and_start,
    v_valley_eigenvalues,
)
from loopvalley.valley.simulate import simulate


def _time(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=1000)
    p.add_argument("--steps", type=int, default=1000)
    p.add_argument("--single", type=int, default=10, help="runs simulated one by one for the loop estimate")
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    R, T = args.runs, args.steps
    g = torch.Generator().manual_seed(0)
    b, theta0 = random_coupling_and_start(10, R, g)
    quad = RiverValleyQuadratic(v_valley_eigenvalues(10, 1.0, 100.0), b)
    wen = RiverValley2D()
    w0 = torch.tensor([0.0, 2.0], dtype=torch.float64).expand(R, 2)
    lrs = torch.linspace(0.1, 1.5, R, dtype=torch.float64)
    cases = [
        ("GD, quadratic m=10", quad, theta0, dict(optimizer="gd")),
        ("SGD (valley noise), 2-D", wen, w0, dict(optimizer="sgd", noise=0.5, noise_kind="valley", schedule="wsd")),
        ("momentum, 2-D", wen, w0, dict(optimizer="momentum", momentum=0.9)),
        ("Adam, quadratic m=10", quad, theta0, dict(optimizer="adam")),
    ]
    print(f"{R} runs × {T} steps, 1 CPU thread, float64, trajectory recorded every 10 steps")
    print(f"{'case':28s} {'batched s':>10s} {'runs·steps/s':>14s} {'loop of singles s (est.)':>26s} {'speed-up':>9s}")
    for name, land, th0, kw in cases:
        lr = lrs if land is wen else 0.5
        kw = dict(kw, generator=torch.Generator().manual_seed(1), record_every=10)
        t_batch = _time(lambda: simulate(land, th0, lr=lr, steps=T, **kw))
        n = min(args.single, R)

        def loop():
            for i in range(n):
                single = land if land is wen else RiverValleyQuadratic(quad.lam, quad.coupling[i])
                lr_i = lr[i] if torch.is_tensor(lr) else lr
                simulate(single, th0[i:i + 1], lr=lr_i, steps=T, **kw)

        t_loop = _time(loop) * R / n
        print(f"{name:28s} {t_batch:10.2f} {R * T / t_batch:14.3g} {t_loop:26.1f} {t_loop / t_batch:8.0f}×")


if __name__ == "__main__":
    main()
