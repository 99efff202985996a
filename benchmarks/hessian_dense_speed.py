"""Seconds per dense Hessian of the attention weights, before vs after the symmetric, pruned
``Hessian.dense``, side by side in one run.

    python benchmarks/hessian_dense_speed.py [--batches 64 256] [--loops 1 3] [--dtypes float32 float64] [--repeat 1]

The problem is the spectrum probe's (notebook 05): the Hessian of ``next_token_loss`` over W_Q, W_K,
W_V, W_O (n = 4·16² = 1024) of ``looped_attn(ModelConfig(vocab_size=3, max_len=32, d_model=16,
n_heads=1, layernorm=True), loops)`` at its seeded initial weights, on a batch of B sequences of
length 32 (seeded uniform tokens: the cost does not depend on the token values), one CPU thread.

- before: the previous ``Hessian.dense(8)``, reproduced verbatim below (:func:`dense_before`): one
  flat leaf θ, ∇L kept as a graph, n full products H e_i in vmapped batches of 8, then (H + Hᵀ)/2.
- after: ``Hessian(model, loss, batch, "attention", dtype).dense()``: one leaf per parameter; the
  product for a basis vector of parameter p starts from ∂L/∂θ_p and stops at θ_p, θ_{p+1}, …
  (rows at and below p's block; the blocks above are their transposes), and products are batched
  only while the batch is small (here B·T ≥ 2048 elements: one product per backward pass).

Each timing includes making the Hessian (weight copy, gradient graph). We print wall-clock and
CPU seconds (``time.process_time``: user + system time of this process, which a busy machine
inflates less than the wall clock), their ratios, and max|H_after − H_before| / max|H_before|
(rounding only: ≤ 1e-10 in float64). With ``--repeat r`` each time is the best of r interleaved
runs. The full default grid takes about 15 CPU-minutes.
"""

from __future__ import annotations

import argparse
import time

import torch

torch.set_num_threads(1)

from loopvalley.hessian.operator import Hessian  # noqa: E402
from loopvalley.looped.models import ModelConfig, looped_attn  # noqa: E402
from loopvalley.train import next_token_loss  # noqa: E402

CFG = ModelConfig(vocab_size=3, max_len=32, d_model=16, n_heads=1, layernorm=True)
DTYPES = {"float32": torch.float32, "float64": torch.float64}


def dense_before(H: Hessian, chunk: int = 8) -> torch.Tensor:
    """The previous ``Hessian.dense``: n full products through a flat θ, ``chunk`` per vmapped call."""
    theta = H.theta.clone().requires_grad_(True)
    with torch.enable_grad():
        (g,) = torch.autograd.grad(H.loss_at(theta), theta, create_graph=True)  # ∇L: (n,)
    eye = torch.eye(H.n, dtype=H.dtype, device=H.device)
    cols = [torch.autograd.grad(g, theta, eye[i : i + chunk], retain_graph=True, is_grads_batched=True)[0]
            for i in range(0, H.n, chunk)]  # H e_i for each row e_i: (chunk, n) each
    Hm = torch.cat(cols)  # row i = H e_i: (n, n)
    return 0.5 * (Hm + Hm.T)


def timed(fn):
    w, c = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - w, time.process_time() - c


def main(args):
    print(f"Dense Hessian of W_Q, W_K, W_V, W_O (n = {4 * CFG.d_model ** 2}), next_token_loss, T = 32, 1 thread; "
          f"seconds per Hessian, best of {args.repeat}")
    print(f"  {'loops':>5s} {'dtype':>8s} {'batch':>5s} | {'before wall':>11s} {'cpu':>7s} | {'after wall':>10s} {'cpu':>7s} "
          f"| {'speed-up wall':>13s} {'cpu':>6s} | max|ΔH|/max|H|")
    rows = []
    for loops in args.loops:
        model = looped_attn(CFG, loops, torch.Generator().manual_seed(0))
        for name in args.dtypes:
            dtype = DTYPES[name]
            for B in args.batches:
                tokens = torch.randint(0, CFG.vocab_size, (B, 32), generator=torch.Generator().manual_seed(B))
                make = lambda: Hessian(model, next_token_loss, tokens, "attention", dtype)  # noqa: E731
                best = {"before": [float("inf")] * 2, "after": [float("inf")] * 2}
                for r in range(args.repeat):
                    order = ("before", "after") if r % 2 == 0 else ("after", "before")
                    for which in order:
                        fn = (lambda: dense_before(make())) if which == "before" else (lambda: make().dense())
                        D, w, c = timed(fn)
                        best[which] = [min(best[which][0], w), min(best[which][1], c)]
                        if which == "before":
                            D_before = D
                        else:
                            D_after = D
                diff = float((D_after - D_before).abs().max() / D_before.abs().max())
                (bw, bc), (aw, ac) = best["before"], best["after"]
                rows.append((loops, name, B, bw, bc, aw, ac, diff))
                print(f"  {loops:5d} {name:>8s} {B:5d} | {bw:11.1f} {bc:7.1f} | {aw:10.1f} {ac:7.1f} "
                      f"| {bw / aw:12.2f}× {bc / ac:5.2f}× | {diff:.1e}", flush=True)
    sw = [r[3] / r[5] for r in rows]
    sc = [r[4] / r[6] for r in rows]
    print(f"  -> after is {min(sw):.2f}–{max(sw):.2f}× faster by the wall clock, {min(sc):.2f}–{max(sc):.2f}× by CPU time")
    for name in args.dtypes:
        print(f"  -> {name}: max|H_after − H_before| / max|H_before| = {max(r[7] for r in rows if r[1] == name):.1e}")


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--batches", type=int, nargs="+", default=[64, 256], help="sequences per batch")
    p.add_argument("--loops", type=int, nargs="+", default=[1, 3], help="numbers of loops")
    p.add_argument("--dtypes", nargs="+", default=["float32", "float64"], choices=list(DTYPES))
    p.add_argument("--repeat", type=int, default=1, help="timing repeats (best of, interleaved)")
    main(p.parse_args())
