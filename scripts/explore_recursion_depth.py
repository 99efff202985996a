"""The exploration behind notebook 09's rules (S4, S5a, S5b, S6): train the recursion-or-depth arms on
exploratory seeds, then read off where every arm has converged, the margins and their shape.

Two steps, each rerunnable:

    # 1. train (exploratory seeds only; records go to --out, never to results/)
    PYTHONPATH=lib python scripts/explore_recursion_depth.py train --seeds 0-7 --steps 3000 \
        --schedule warmup_constant --eval-every 50 --out /tmp/loopvalley-explore/constant3000
    PYTHONPATH=lib python scripts/explore_recursion_depth.py train --seeds 0-7 --steps 1500 \
        --schedule wsd --decay-frac 0.2 --eval-every 25 --out /tmp/loopvalley-explore/wsd1500

    # 2. report: convergence per arm and seed at every candidate stable-phase length, the margins
    PYTHONPATH=lib python scripts/explore_recursion_depth.py report /tmp/loopvalley-explore/constant3000 \
        --stable 600 900 1200 1500 2000 2500
    PYTHONPATH=lib python scripts/explore_recursion_depth.py report /tmp/loopvalley-explore/wsd1500

A constant-lr run does not know its own length, so its records read up to step S (``RunRecord.until``)
*are* the S-step constant run, and the stable phase of a WSD run of S/(1 − f) steps: one long constant
run judges every candidate stable phase at once. Workers: ``$LOOPVALLEY_WORKERS`` (default: one per
core, at most 2 on the shared development machine). The write-up is ``docs/exploration/recursion_depth.md``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from loopvalley.records import load_records, save_records
from loopvalley.seeds import exploratory


def _seeds(text: str) -> list[int]:
    out = []
    for part in text.split(","):
        a, _, b = part.partition("-")
        out += list(range(int(a), int(b or a) + 1))
    ok = set(exploratory(100))
    if not set(out) <= ok:
        raise SystemExit(f"--seeds: exploration runs exploratory seeds 0–99 only, got {sorted(set(out) - ok)}")
    return out


def train(args) -> None:
    import torch

    from loopvalley.looped import recursion_depth as rd

    torch.set_num_threads(1)
    cfg = rd.config("small")
    run = cfg.run
    t = replace(run.train, max_steps=args.steps, schedule=args.schedule, decay_frac=args.decay_frac,
                eval_every=args.eval_every)
    run = replace(run, train=t, model=replace(run.model, d_model=args.d_model or run.model.d_model))
    arms = tuple(args.arms.split(",")) if args.arms else rd.SWEEP_ARMS_ALL
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    seeds = _seeds(args.seeds)
    (out / "run.json").write_text(json.dumps({
        "seeds": seeds, "arms": list(arms), "steps": args.steps, "schedule": args.schedule,
        "decay_frac": args.decay_frac, "eval_every": args.eval_every, "d_model": run.model.d_model}, indent=1))
    t0 = time.time()
    for seed in seeds:  # one seed at a time (its arms side by side), saved as it ends: a partial run can be read
        path = out / f"records-{seed}.json"
        if path.exists():
            continue
        r = rd.run_seeds([seed], run, arms, cfg.probe_sequences, workers=args.workers)[0]
        save_records(path, {f"{r.seed}/{a}": rec for a, rec in r.records.items()})
        print(f"seed {seed}: {sum(rec.meta['cpu_seconds'] for rec in r.records.values()):.0f} CPU-s, "
              f"{time.time() - t0:.0f} s wall so far", flush=True)
    print(f"wrote {out}: {time.time() - t0:.0f} s wall")


def _load(root: Path):
    flat = {}
    for f in sorted(root.glob("records-*.json")):
        flat.update(load_records(f))
    return flat


def _iv(vals) -> str:
    """mean [t interval], median [sign interval] of per-seed values."""
    from loopvalley.stats import mean_interval, median_interval

    v = [x for x in vals if x is not None and np.isfinite(x)]
    if len(v) < 2:
        return f"{np.mean(v):+.2f} (n={len(v)})" if v else "n/a"
    m, lo, hi = mean_interval(v)
    md, slo, shi, cov = median_interval(v)
    return f"mean {m:+.2f} [{lo:+.2f}, {hi:+.2f}]; median {md:+.2f} [{slo:+.2f}, {shi:+.2f}] ({cov:.0%} sign)"


def exploration_table(recs, seeds, tol: float = 0.5) -> str:
    """The numbers of one horizon: per arm and seed the final complex accuracy, the convergence drift and
    the escape step; the convergence verdict; the margins of S4, S5a, S5b and S6 with both intervals."""
    from loopvalley.looped import recursion_depth as rd

    per = [rd.measure_seed(r) for r in recs]
    arms = [a for a in rd.SWEEP_ARMS_ALL if all(a in p["arms"] for p in per)]
    lines = ["complex accuracy (final 10 %) / drift over the last 20 % of the stable phase / escape step, per seed:"]
    lines.append(f"{'arm':<12} " + " ".join(f"{s:>20}" for s in seeds))
    for a in arms:
        cells = []
        for p in per:
            r = p["arms"][a]
            esc = "-" if r["escape_step"] is None else str(r["escape_step"])
            cells.append(f"{r['complex']:5.1f}/{r['drift']:+5.2f}{'' if abs(r['drift']) < tol else '!'}/{esc:>5}")
        lines.append(f"{a:<12} " + " ".join(f"{c:>20}" for c in cells))
    bad = [(a, s) for a in arms for s, p in zip(seeds, per) if abs(p["arms"][a]["drift"]) >= tol]
    lines.append(f"not converged (|drift| >= {tol}): " + (", ".join(f"{a}@{s}" for a, s in bad) or "none"))
    refs = {k: np.mean([p[f"{k}_complex"] for p in per]) for k in ("unigram", "bigram", "bayes")}
    lines.append("references: " + ", ".join(f"{k} {v:.1f}" for k, v in refs.items())
                 + f"; plateau (Single final) {np.mean([p['plateau'] for p in per]):.1f}")
    col = lambda a, k: [p["arms"][a][k] for p in per]  # noqa: E731
    wide = col("wide-single", "complex")
    lines.append("S4 (Untied-3 − wide) − 5: " + _iv([u - w - 5 for u, w in zip(col("untied-3", "complex"), wide)]))
    lines.append("S4 (Looped − wide) − 5:   " + _iv([u - w - 5 for u, w in zip(col("looped", "complex"), wide)]))
    lines.append("    wide − Single:        " + _iv([w - s for w, s in zip(wide, col("single", "complex"))]))
    d5 = [a - b for a, b in zip(col("looped", "complex"), col("untied-3", "complex"))]
    lines.append("S5a Looped − Untied-3:    " + _iv(d5) + "   per seed " + " ".join(f"{x:+.2f}" for x in d5))
    esc = lambda a: [p["arms"][a]["escape_step"] if p["arms"][a]["escape_step"] is not None else p["horizon"] for p in per]  # noqa: E731
    d5b = [u - lp for u, lp in zip(esc("untied-3"), esc("looped"))]
    lines.append("S5b Untied-3 − Looped escape (steps): " + _iv(d5b) + "   per seed " + " ".join(f"{x:+.0f}" for x in d5b))
    for T in rd.LOOPS[1:]:
        lp, ut = rd.sweep_arm("looped", T), rd.sweep_arm("untied", T)
        if lp in arms and ut in arms:
            d = [a - b for a, b in zip(col(lp, "complex"), col(ut, "complex"))]
            lines.append(f"S6 T={T} Looped − Untied:  " + _iv(d) + "   per seed " + " ".join(f"{x:+.2f}" for x in d))
    return "\n".join(lines)


def report(args) -> None:
    from loopvalley.looped.arms import records_by_seed

    root = Path(args.dir)
    info = json.loads((root / "run.json").read_text())
    flat = _load(root)
    seeds, recs = records_by_seed(flat)
    cpu = {k: r.meta.get("cpu_seconds", np.nan) for k, r in flat.items()}
    print(f"# {root}: seeds {seeds}, {info['steps']} steps, {info['schedule']}"
          f"{' decay ' + str(info['decay_frac']) if info['schedule'] == 'wsd' else ''}, eval every {info['eval_every']}, "
          f"d_model {info['d_model']}; {sum(cpu.values()):.0f} CPU-s")
    cpu_by_arm = {}
    for k, v in cpu.items():
        cpu_by_arm.setdefault(k.split("/", 1)[1], []).append(v)
    print("CPU-s per run: " + ", ".join(f"{a} {np.mean(v):.1f}" for a, v in cpu_by_arm.items()))
    for stable in args.stable or [None]:
        cut = [{a: r.until(stable) for a, r in rs.items()} for rs in recs] if stable else recs
        print(f"\n## horizon {stable or info['steps']}" + (" (a constant-lr run read up to here)" if stable else ""))
        print(exploration_table(cut, seeds, tol=args.tol))


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("train")
    t.add_argument("--seeds", default="0-7")
    t.add_argument("--steps", type=int, default=3000)
    t.add_argument("--schedule", default="warmup_constant")
    t.add_argument("--decay-frac", type=float, default=0.2)
    t.add_argument("--eval-every", type=int, default=50)
    t.add_argument("--d-model", type=int, default=None)
    t.add_argument("--arms", default="")
    t.add_argument("--workers", type=int, default=None)
    t.add_argument("--out", required=True)
    r = sub.add_parser("report")
    r.add_argument("dir")
    r.add_argument("--stable", type=int, nargs="*", default=None, help="read a constant-lr run up to these steps")
    r.add_argument("--tol", type=float, default=0.5)
    a = p.parse_args(argv)
    {"train": train, "report": report}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
