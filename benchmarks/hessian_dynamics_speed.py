"""Where the time of ``reproduce --only hessian-dynamics`` goes, old pipeline against new, side by side.

Run: ``python benchmarks/hessian_dynamics_speed.py`` (one torch thread; about a minute on a quiet core).

The old pipeline (before rule v3): dense Hessians of the attention weights (1024 dimensions at d = 16),
float64, Hessian-vector products batched 32 at a time, probe batch 64, 15 probes per run, Single and
Looped, 3 seeds, 600 steps. The new one: Lanczos spectra (``lanczos_steps`` products) in float32, one
product at a time, probe batch 256, three views per probe (training batch, held-out batch, W_Q/W_K
block), Single, Looped and Untied-3, 5 seeds, plus the finer Assumption-1 spectra; the (seed, arm)
jobs run on both cores.

Everything is measured here, in one process, on the same model weights; pipeline totals are the
measured unit costs times the counts of each pipeline (printed), so the ratio is what the machine's
noise leaves comparable. Timings are not tests.

It also prints one product before and after the explicit attention path was trimmed for the double
backward (the "before" path is reproduced here: 4-d heads split by view + transpose even for one head,
and the causal mask by ``masked_fill``; "after" is today's ``AttnLayer``, one head as 3-d tensors and
the mask added inside ``baddbmm``). Both give the same products bit for bit (printed).
"""

from __future__ import annotations

import time
from dataclasses import replace

import numpy as np
import torch

torch.set_num_threads(1)

from loopvalley.hessian import experiment as hd  # noqa: E402
from loopvalley.hessian.operator import Hessian  # noqa: E402
from loopvalley.looped.models import block_params  # noqa: E402
from loopvalley.looped.arms import build_arm  # noqa: E402
from loopvalley.train import Trainer, next_token_loss  # noqa: E402


def per_hvp(model, batch, dtype, chunk, reps=2):
    """Seconds per Hessian-vector product (``chunk`` products per call)."""
    H = Hessian(model, next_token_loss, batch, block_params(model, "attention"), dtype)
    V = torch.randn(chunk, H.n, dtype=dtype, generator=torch.Generator().manual_seed(0))
    H.hvp(V if chunk > 1 else V[0])  # builds the gradient graph
    t0 = time.perf_counter()
    for _ in range(reps):
        H.hvp(V if chunk > 1 else V[0])
    return (time.perf_counter() - t0) / (reps * chunk), H.n


def before_math_forward(self, h, backend="fused", return_scores=False):
    """``AttnLayer.forward`` on the explicit path as it was before the trim (for the side-by-side)."""
    import math

    B, T, _ = h.shape
    H, A = self.n_heads, self.W_Q.out_features
    q, k, v = (W(h).view(B, T, H, A // H).transpose(1, 2) for W in (self.W_Q, self.W_K, self.W_V))  # (B, H, T, d_h)
    causal = torch.ones(T, T, dtype=torch.bool, device=h.device).tril()
    scores = (q @ k.transpose(-2, -1) / math.sqrt(A // H)).masked_fill(~causal, float("-inf")).softmax(dim=-1)
    out = self.W_O((scores @ v).transpose(1, 2).reshape(B, T, A))
    return (out, scores) if return_scores else out


def trim_side_by_side(models, batch, rounds=5, reps=6):
    """Per-product seconds of the explicit path before and after the trim, interleaved rounds (best of)."""
    from loopvalley.looped import models as M

    after = M.AttnLayer.forward
    best = {}
    for a, model in models.items():
        v = None
        for name, fwd in (("before", before_math_forward), ("after", after)):
            M.AttnLayer.forward = fwd
            try:
                H = Hessian(model, next_token_loss, batch, block_params(model, "attention"), torch.float32)
                if v is None:
                    v = torch.randn(H.n, generator=torch.Generator().manual_seed(0))
                best[(a, name)] = (H, H.hvp(v), v)  # builds the graph
            finally:
                M.AttnLayer.forward = after
    t = {k: float("inf") for k in best}
    for _ in range(rounds):
        for k, (H, _, v) in best.items():
            c0 = time.process_time()
            for _ in range(reps):
                H.hvp(v)
            t[k] = min(t[k], (time.process_time() - c0) / reps)
    print("\none product, B = 256, float32, explicit attention path before / after the trim (CPU ms, best of "
          f"{rounds} interleaved rounds):")
    for a in models:
        same = torch.equal(best[(a, "before")][1], best[(a, "after")][1])
        print(f"  {a:9s} {1e3 * t[(a, 'before')]:6.1f} -> {1e3 * t[(a, 'after')]:6.1f}   "
              f"{t[(a, 'before')] / t[(a, 'after')]:.2f}x faster; identical products: {same}")


def per_step(arm, run, data, steps=30):
    model = build_arm(arm, run, 0)
    tr = Trainer(model, data.train, None, replace(run.train, max_steps=steps, eval_every=10**6))
    t0 = time.perf_counter()
    tr.run()
    return (time.perf_counter() - t0) / steps


def main():
    cfg = hd.config("small")
    run = cfg.run
    data = run.data.sample(0)
    arms = ("single", "looped", "untied-3")
    models = {a: build_arm(a, run, 0) for a in arms}
    configs = {"old": (64, torch.float64, 32), "f64 x1": (64, torch.float64, 1), "f32 x1": (64, torch.float32, 1),
               "new": (cfg.probe_batch, torch.float32, 1)}
    times = {(a, c): [] for a in arms for c in configs}
    for _ in range(3):  # round robin: a busy machine slows every configuration alike
        for a in arms:
            for c, (B, dt, chunk) in configs.items():
                t, n = per_hvp(models[a], data.train[:B], dt, chunk, reps=2 if chunk > 1 else 6)
                times[(a, c)].append(t)
    cost = {a: {c: float(np.median(times[(a, c)])) for c in configs} for a in arms}
    for a in arms:
        cost[a]["n"] = len(torch.cat([p.reshape(-1) for n_, p in models[a].named_parameters()
                                      if n_ in block_params(models[a], "attention")]))
    print("cost of one Hessian-vector product over the attention weights (ms, median of 3 rounds), d = 16, T = 32")
    print(f"{'arm':9s} {'n':>5s} {'B=64 f64 x32':>13s} {'B=64 f64 x1':>12s} {'B=64 f32 x1':>12s} {f'B={cfg.probe_batch} f32 x1':>13s}")
    for a in arms:
        print(f"{a:9s} {cost[a]['n']:5d} " + " ".join(f"{1e3 * cost[a][c]:12.1f}" for c in configs))
    trim_side_by_side(models, data.train[:256])
    step = {a: per_step(a, run, data) for a in arms}
    print("training step (ms): " + ", ".join(f"{a} {1e3 * t:.1f}" for a, t in step.items()))

    # the old pipeline: 3 seeds x (single, looped) x 15 dense probes of n products, 600 steps
    old_seed = sum(15 * cost[a]["n"] * cost[a]["old"] + 600 * step[a] for a in ("single", "looped"))
    print(f"\nbatching 32 products per call vs one at a time (float64, B = 64): "
          + ", ".join(f"{a} x{cost[a]['old'] / cost[a]['f64 x1']:.2f}" for a in arms)
          + "; float64 vs float32: " + ", ".join(f"{a} x{cost[a]['f64 x1'] / cost[a]['f32 x1']:.2f}" for a in arms))
    views = {a: len(cfg.views) + (1 if cfg.gauge else 0) for a in arms}  # + the gauge-projected spectra
    K = len(cfg.probe_steps)
    fine = cfg.fine_steps - cfg.lanczos_steps  # Assumption 1's spectra continue the probe's runs
    new_seed = sum(K * views[a] * cfg.lanczos_steps * cost[a]["new"] + cfg.run.train.max_steps * step[a] for a in arms)
    new_seed += 2 * fine * (cost["single"]["new"] + cost["looped"]["new"])  # Assumption 1
    print("\nwhere the old pipeline's time went (per seed, single + looped):")
    print(f"  dense spectra: {sum(15 * cost[a]['n'] * cost[a]['old'] for a in ('single', 'looped')):.0f} s "
          f"(15 probes x {cost['looped']['n']} products, float64, batched 32) ; training {600 * (step['single'] + step['looped']):.0f} s")
    print("new pipeline per seed (3 arms): "
          f"{K} probes x {'/'.join(str(views[a]) for a in arms)} views ({', '.join(arms)}) x {cfg.lanczos_steps} products "
          f"(float32, B = {cfg.probe_batch}) = {sum(K * views[a] * cfg.lanczos_steps * cost[a]['new'] for a in arms):.0f} s; "
          f"Assumption-1 spectra (continued to {cfg.fine_steps}) {2 * fine * (cost['single']['new'] + cost['looped']['new']):.0f} s; "
          f"training {sum(cfg.run.train.max_steps * step[a] for a in arms):.0f} s")
    print(f"\nold: 3 seeds, one core       : {3 * old_seed / 60:6.1f} min")
    print(f"new: {cfg.n_seeds} seeds, two cores (÷2) : {cfg.n_seeds * new_seed / 2 / 60:6.1f} min")
    print(f"per seed, new / old (one core): {new_seed / old_seed:.2f}  (the new one has a 4x larger batch, a third arm, "
          "three views and 3x the steps)")
    print(f"with the old pipeline's 28 min for 3 seeds on a quiet machine, the new one projects to "
          f"{28 * (cfg.n_seeds * new_seed / 2) / (3 * old_seed):.1f} min for {cfg.n_seeds} seeds on two cores")


if __name__ == "__main__":
    main()
