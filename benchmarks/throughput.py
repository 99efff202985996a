"""Training throughput of Single-Attn and Looped-Attn at each scale, eager vs compiled.

    python benchmarks/throughput.py                       # ci and small (paper too on a GPU), eager + compiled
    python benchmarks/throughput.py --no-compile --scales ci small
    python benchmarks/throughput.py --scales paper --peak-tflops 989 --json results/paper/throughput.json

Times the real training step of :class:`loopvalley.distributed.AcceleratedTrainer` (bf16 autocast on
a GPU, float32 on a CPU) on random tokens of each preset's shape, and prints tokens/s, achieved
TFLOP/s (a step = 3 × :func:`loopvalley.models.forward_flops`), the fraction of the card's dense
bf16 peak (GPU only; table in ``loopvalley.distributed.PEAK_BF16_TFLOPS``, or ``--peak-tflops``),
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


def main(argv=None) -> int:
    import torch

    from loopvalley.distributed import measure_throughput, throughput_table

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
