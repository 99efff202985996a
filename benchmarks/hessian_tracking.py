"""Tracking the top-k Hessian eigenpairs over training: Lanczos warm-started from the previous probe's
Ritz vectors against a cold start, side by side on one recorded trajectory.

    python benchmarks/hessian_tracking.py [--k 10] [--tol 1e-8] [--probe 16]

The trajectory: the ci Markov run's Looped-Attn (``markov_run("ci", d_model=16)``: 3 loops, AdamW 3e-3,
600 steps), trained once by ``train_arm`` with a ``SpectrumProbe(keep_states=True)`` that keeps its
weights at 10 probe steps. At each probe, the attention-block Hessian (n = 4·16² = 1024, float64) on the
first ``--probe`` training sequences: ``Hessian(model, next_token_loss, batch, block_params(model, "attention"))``.

Three ways to its top-k, each stopped by ``lanczos``'s own test (every wanted Ritz value has an error
bound min(r, r²/δ) ≤ tol·|θ|), the first probe cold for all three:

- **cold**: a random start at every probe, ``lanczos(H, k, tol=tol)``;
- **warm**: ``lanczos(H, k, tol=tol, start=previous)`` from the previous probe's result, one start vector
  v0 = Σ_i y_i / √k + 0.01 r (its Ritz vectors y_i, a random unit vector r);
- **block**: ``lanczos(H, k, tol=tol, start=[y_1 … y_k; r])``, block Lanczos from the Ritz vectors and a
  random vector (b = k + 1 products per degree of the Krylov space).

Equal accuracy is checked, not assumed: every top-k is compared with ``eigvalsh`` of the dense Hessian
(relative error) and its residuals ‖Hv − λv‖ are computed with the dense matrix. Products exclude the
k explicit-residual products ``lanczos`` adds by default (``explicit_residuals=False``; the same k for
every start). The methods share one ``Hessian`` per probe (its gradient graph built before the clocks
start) and run in rotating order.

Also printed: how far the Hessian moves between probes (‖H_t − H_{t−1}‖₂ / ‖H_t‖₂ and the smallest
cosine of the principal angles between consecutive top-k eigenspaces), the same three starts on the
last probe's dense Hessian moved by a known amount (H + ε‖H‖₂ E, E symmetric random with ‖E‖₂ = 1),
and the cost of one Hessian-vector product against one gradient (same batch, float64, median of repeats).
122–177 s on the shared 2-core development machine (load 9–13).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

torch.set_num_threads(1)

from loopvalley.hessian import operator as hs  # noqa: E402
from loopvalley.hessian.spectra import SpectrumProbe, block_params  # noqa: E402
from loopvalley.looped.arms import build_arm, train_arm  # noqa: E402
from loopvalley.looped.runs import markov_run  # noqa: E402
from loopvalley.train import next_token_loss  # noqa: E402

PROBE_STEPS = (20, 40, 60, 80, 100, 150, 200, 300, 450, 600)
METHODS = ("cold", "warm", "block")


def record_trajectory(seed: int = 0):
    """``(run, data, {step: state_dict})``: the ci Looped-Attn run (d_model 16) and its weights at every probe step."""
    run = markov_run("ci", d_model=16)
    probe = SpectrumProbe(steps=PROBE_STEPS, views=(), keep_states=True)  # keeps the weights, takes no spectrum
    data = run.data.sample(seed)
    train_arm("looped", run, seed, data, probes=[probe])
    return run, data, probe.states


def top_k(H, method, k, tol, previous, g):
    """One top-k by ``method`` (``previous``: the last probe's result of the same method, or None)."""
    start = None
    if previous is not None and method == "warm":
        start = previous
    elif previous is not None and method == "block":
        r = torch.randn(1, previous.eigenvectors.shape[1], generator=g, dtype=torch.float64)
        start = torch.cat([previous.eigenvectors, r / r.norm()])  # (k + 1, n)
    return hs.lanczos(H, k, tol=tol, start=start, generator=g, return_vectors=True, explicit_residuals=False)


def accuracy(res, D, exact):
    """(max relative eigenvalue error, max residual ‖D y − θ y‖) of a top-k against the dense Hessian."""
    lam, Y = res.eigenvalues, res.eigenvectors
    rel = float(((lam - exact) / exact.abs()).abs().max())
    resid = float((Y @ D - lam[:, None] * Y).norm(dim=1).max())  # ‖H y_i − θ_i y_i‖ (D symmetric)
    return rel, resid


def median_seconds(fn, repeat=21):
    fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def hvp_per_gradient(H):
    """(seconds per HVP on the cached graph, seconds per gradient) on the same batch, parameters and dtype."""
    v = torch.randn(H.n, generator=torch.Generator().manual_seed(0), dtype=H.dtype)

    def gradient():
        theta = H.theta.clone().requires_grad_(True)
        return torch.autograd.grad(H.loss_at(theta), theta)[0]  # ∇L: one forward and one backward

    return median_seconds(lambda: H.hvp(v)), median_seconds(gradient)


def perturbation_sweep(D, k, tol, epsilons=(1e-1, 1e-2, 1e-3, 1e-4, 1e-6)):
    """Products of the three starts on D + ε‖D‖₂E, warm from D's own top-k (matrix-vector products)."""
    E = torch.randn(D.shape, generator=torch.Generator().manual_seed(1), dtype=D.dtype)
    E = (E + E.T) / torch.linalg.matrix_norm(E + E.T, 2)  # symmetric, ‖E‖₂ = 1
    scale = float(torch.linalg.matrix_norm(D, 2))
    g = torch.Generator().manual_seed(2)
    before = top_k(D, "cold", k, tol, None, g)
    rows = []
    for eps in epsilons:
        moved = D + eps * scale * E
        rows.append((eps, *(top_k(moved, m, k, tol, before, g).n_hvp for m in METHODS)))
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--k", type=int, default=10, help="eigenpairs tracked (default 10)")
    ap.add_argument("--tol", type=float, default=1e-8, help="lanczos's tolerance (default 1e-8, its default)")
    ap.add_argument("--probe", type=int, default=16, help="probe batch: the first N training sequences (default 16)")
    args = ap.parse_args()
    t_start = time.perf_counter()
    run, data, states = record_trajectory()
    batch = data.train[: args.probe]
    print(f"trajectory: ci Looped-Attn, d_model 16, 600 steps, weights at {len(states)} probes; attention Hessian "
          f"(n = 1024, float64) on {args.probe} sequences; top-{args.k}, tol {args.tol:g}; "
          f"trained in {time.perf_counter() - t_start:.0f} s")
    g = {m: torch.Generator().manual_seed(10 + i) for i, m in enumerate(METHODS)}
    prev = {m: None for m in METHODS}
    rows, worst = [], {m: (0.0, 0.0) for m in METHODS}
    D_prev = U_prev = None
    for i, step in enumerate(sorted(states)):
        model = build_arm("looped", run, 0)
        model.load_state_dict(states[step])
        H = hs.Hessian(model, next_token_loss, batch, block_params(model, "attention"))
        H.gradient()  # builds the gradient graph before any clock starts
        out = {}
        for m in METHODS[i % 3:] + METHODS[: i % 3]:  # rotating order
            t0, c0 = time.perf_counter(), time.process_time()
            res = top_k(H, m, args.k, args.tol, prev[m], g[m])
            out[m] = (res.n_hvp, time.perf_counter() - t0, time.process_time() - c0)
            prev[m] = res
        D = H.dense()
        lam, U = torch.linalg.eigh(D)
        exact, U = lam.flip(0)[: args.k], U.flip(1)[:, : args.k]  # top-k, descending
        for m in METHODS:
            worst[m] = tuple(max(a, b) for a, b in zip(worst[m], accuracy(prev[m], D, exact)))
        drift = cos = float("nan")
        if D_prev is not None:
            drift = float(torch.linalg.eigvalsh(D - D_prev).abs().max() / lam.abs().max())  # ‖ΔH‖₂ / ‖H‖₂
            cos = float(torch.linalg.svdvals(U_prev.T @ U).min())  # cosine of the largest principal angle
        D_prev, U_prev = D, U
        rows.append((step, drift, cos, out))
        moved = "‖ΔH‖/‖H‖    —, min cos    —" if i == 0 else f"‖ΔH‖/‖H‖ {drift:4.2f}, min cos {cos:4.2f}"
        print(f"  step {step:3d}: {moved} | "
              + " | ".join(f"{m} {out[m][0]:3d} products {1e3 * out[m][1]:5.0f} ms" for m in METHODS), flush=True)
    tracked = rows[1:]  # the first probe starts cold for every method
    mean = {m: np.mean([r[3][m][0] for r in tracked]) for m in METHODS}
    wall = {m: sum(r[3][m][1] for r in tracked) for m in METHODS}
    cpu = {m: sum(r[3][m][2] for r in tracked) for m in METHODS}
    print("\nper tracked probe (probes 2–10):")
    for m in METHODS:
        print(f"  {m:5s}: {mean[m]:5.1f} products, {1e3 * wall[m] / len(tracked):5.0f} ms wall "
              f"({1e3 * cpu[m] / len(tracked):4.0f} CPU-ms); "
              f"max relative eigenvalue error {worst[m][0]:.1e}, max residual ‖Hv − λv‖ {worst[m][1]:.1e}")
    t_hvp, t_grad = hvp_per_gradient(H)
    print(f"HVP / gradient: {t_hvp / t_grad:.2f} (one HVP {1e3 * t_hvp:.2f} ms on the cached graph, one gradient "
          f"{1e3 * t_grad:.2f} ms; same batch, float64, median of 21)")
    print(f"consecutive probes: ‖ΔH‖₂/‖H‖₂ from {min(r[1] for r in tracked):.2f} to {max(r[1] for r in tracked):.2f}; "
          f"smallest principal cosine of the top-{args.k} eigenspaces from {min(r[2] for r in tracked):.2f} to "
          f"{max(r[2] for r in tracked):.2f}")
    print(f"\nthe last probe's dense Hessian moved by ε‖H‖₂E (products to top-{args.k}, tol {args.tol:g}; warm from its own top-{args.k}):")
    for eps, *n in perturbation_sweep(D, args.k, args.tol):
        print(f"  ε = {eps:.0e}: " + ", ".join(f"{m} {c}" for m, c in zip(METHODS, n))
              + f"  (cold / warm {n[0] / n[1]:.2f}×, cold / block {n[0] / n[2]:.2f}×)")
    ratio = mean["cold"] / mean["warm"]
    print(f"\ncold products per tracked probe ÷ warm products per tracked probe: {ratio:.2f}× "
          f"(target ≥ 2× at equal accuracy: {'met' if ratio >= 2 else 'not met'}); "
          f"cold ÷ block: {mean['cold'] / mean['block']:.2f}×; wall clock cold ÷ warm {wall['cold'] / wall['warm']:.2f}×, "
          f"CPU time {cpu['cold'] / cpu['warm']:.2f}×")
    print(f"total {time.perf_counter() - t_start:.0f} s")


if __name__ == "__main__":
    main()
