"""Training throughput of Single-Attn and Looped-Attn at each scale, eager vs compiled.

    python benchmarks/throughput.py                       # ci and small (paper too on a GPU), eager + compiled
    python benchmarks/throughput.py --no-compile --scales ci small
    python benchmarks/throughput.py --scales paper --peak-tflops 989 --json results/paper/throughput.json

Times the real training step of :class:`loopvalley.scale.distributed.AcceleratedTrainer` (bf16 autocast on
a GPU, float32 on a CPU) on random tokens of each preset's shape, and prints tokens/s, achieved
TFLOP/s (a step = 3 × :func:`loopvalley.looped.models.forward_flops`), the fraction of the card's dense
bf16 peak (GPU only; table ``PEAK_BF16_TFLOPS`` below, or ``--peak-tflops``),
and Looped/Single side by side: the measured time ratio next to the FLOP ratio (the ideal 3× less
the readout's share). The toy models are tiny, so on a GPU the step is dominated by kernel-launch
and Python overhead and the time ratio sits far below 3×; that is the finding, not a bug.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

# Dense bf16 tensor-core peak (TFLOP/s, no sparsity) by device-name substring; the longest match wins.
PEAK_BF16_TFLOPS = {
    "H200": 989.0,
    "H100": 989.0,  # SXM
    "H100 PCIe": 756.0,
    "A100": 312.0,
    "L40S": 362.0,
    "L4": 121.0,
}


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
    3 × :func:`loopvalley.looped.models.forward_flops`. ``mode`` is "eager" when compiling failed.

    """
    from loopvalley._validate import check_int
    from loopvalley.looped.models import build_model, forward_flops
    from loopvalley.scale.distributed import AcceleratedTrainer, DistInfo
    from loopvalley.scale.presets import preset
    from loopvalley.train import TrainConfig, resolve_device

    check_int("steps", steps, 1)
    check_int("warmup", warmup, 0)
    p = preset(model if model != "shift" else "single", scale)
    B = check_int("batch_size", batch_size, 1) if batch_size is not None else p.train.batch_size
    T = p.data.markov.seq_len
    dev = resolve_device(device)
    g = torch.Generator().manual_seed(seed)
    tokens = torch.randint(p.model.vocab_size, (B * (warmup + steps), T), generator=g)  # (N, T)
    cfg = TrainConfig.from_dict({**p.train.to_dict(), "batch_size": B, "max_steps": warmup + steps,
                                 "eval_every": 10**9, "device": dev.type, "progress": False})
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




def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scales", nargs="+", choices=("ci", "small", "paper"), default=None,
                    help="default: ci small, plus paper when CUDA is available")
    ap.add_argument("--models", nargs="+", choices=("single", "looped"), default=["single", "looped"])
    ap.add_argument("--no-compile", action="store_true", help="eager only (torch.compile takes ~1 min per model on a CPU)")
    ap.add_argument("--compile-scales", nargs="+", choices=("ci", "small", "paper"), default=None,
                    help="measure compiled only at these scales (default: every scale in --scales)")
    ap.add_argument("--steps", type=int, default=None, help="timed steps per row (default: 50 on a GPU, 15 on a CPU)")
    ap.add_argument("--warmup", type=int, default=3, help="untimed steps before timing")
    ap.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    ap.add_argument("--amp", choices=("auto", "bf16", "off"), default="auto")
    ap.add_argument("--threads", type=int, default=1, help="CPU threads (default 1: comparable numbers)")
    ap.add_argument("--peak-tflops", type=float, default=None, help="override the card's dense bf16 peak (TFLOP/s)")
    ap.add_argument("--json", default=None, help="also write the rows to this JSON file")
    args = ap.parse_args(argv)

    torch.set_num_threads(args.threads)
    cuda = torch.cuda.is_available() and args.device != "cpu"
    scales = args.scales or (["ci", "small", "paper"] if cuda else ["ci", "small"])
    steps = args.steps or (50 if cuda else 15)
    rows = []
    for scale in scales:
        with_compile = not args.no_compile and (args.compile_scales is None or scale in args.compile_scales)
        for compiled in ([False, True] if with_compile else [False]):
            for model in args.models:
                t0 = time.perf_counter()
                r = measure_throughput(model, scale, compile=compiled, steps=steps, warmup=args.warmup,
                                       device=args.device, amp=args.amp, peak_tflops=args.peak_tflops)
                r["setup_s"] = time.perf_counter() - t0 - steps * r["step_ms"] / 1e3
                if compiled and r["mode"] != "compiled":
                    r["mode"] = "eager (compile failed)"
                rows.append(r)
                print(f"  {scale:5s} {r['mode']:8s} {model:6s} {r['tokens_per_s']:12,.0f} tokens/s "
                      f"({r['step_ms']:.2f} ms/step, setup {r['setup_s']:.0f} s)", file=sys.stderr, flush=True)
    print(f"device: {rows[0]['device']}; amp: {rows[0]['amp']}; torch {torch.__version__}")
    print(throughput_table(rows))
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(rows, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
