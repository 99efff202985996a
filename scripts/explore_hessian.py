"""The exploration behind the Hessian chapter's rules (v4), on exploratory seeds only.

    python scripts/explore_hessian.py [--seeds 3] [--out docs/exploration/hessian_v4.json] [--records DIR]

Runs the ``hessian-dynamics`` experiment at ``small`` on exploratory seeds 0, 1, … (never a confirmatory
one), then:

1. measures the estimator's noise σ per arm and statistic from the independent Lanczos starts at the
   deciding probes (the median over seeds of each seed's pooled spread) — the values frozen in
   ``lib/loopvalley/rules.toml`` [H1.params.sigma], the input of every noise null;
2. with those σ, computes H1–H4 on these seeds under the main analysis and every declared alternative
   (the specification curve the confirmatory run will report), and the cost of every job;
3. writes it all to ``--out`` (JSON) and prints the σ table to paste into the rules.

The rules were then fixed (docs/exploration/hessian.md, "v4") before any confirmatory seed ran.

Introduced in notebooks/05_hessian_dynamics.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from loopvalley import rules as R
from loopvalley.hessian import experiment as hd
from loopvalley.hessian import spectra as sx
from loopvalley.jsonable import jsonable
from loopvalley.records import load_records, save_records
from loopvalley.seeds import exploratory


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--out", default="docs/exploration/hessian_v4.json")
    ap.add_argument("--records", default=None, help="keep / reuse the runs' records here (JSON)")
    ap.add_argument("--workers", type=int, default=None)
    args = ap.parse_args(argv)
    cfg = hd.config("small")
    seeds = exploratory(args.seeds)
    t0 = time.perf_counter()
    path = Path(args.records) if args.records else None
    if path is not None and path.exists():
        records = load_records(path)
    else:
        records = hd.run_seeds(seeds, cfg, workers=args.workers, progress=True)
        if path is not None:
            save_records(path, records)
    wall = time.perf_counter() - t0
    per = hd.by_seed(records)
    sigma = {}
    for arm in hd.ARMS:
        by = [hd.noise_sigma(per[s][arm]) for s in seeds if arm in per[s]]
        sigma[arm] = {k: round(float(np.median([b[k] for b in by])), 3) for k in sx.STATISTICS}
    print("[H1.params.sigma]  (median over exploratory seeds of the pooled spread over independent starts)")
    for arm, row in sigma.items():
        key = f'"{arm}"' if "-" in arm else arm
        print(f"{key} = {{ " + ", ".join(f"{k} = {v}" for k, v in row.items()) + " }")
    cost = {k: {"cpu_train": r.meta.get("cpu_seconds"), "cpu_after": r.meta.get("after_cpu_seconds")} for k, r in records.items()}
    for cid in ("H1", "H2", "H3", "H4"):  # judged here on the exploratory seeds themselves: an exploration
        R.table()[cid] = replace(R.rule(cid), exploratory_seeds=())
    claims = hd.hessian_claims(records, cfg, "small", seeds)
    out = {"seeds": seeds, "wall_seconds": wall, "sigma": sigma, "cost": cost,
           "cpu_total": sum(v["cpu_train"] + v["cpu_after"] for v in cost.values()),
           "claims": [c.to_json() for c in claims]}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(jsonable(out), indent=1, ensure_ascii=False) + "\n")
    for c in claims:
        print(f"{c.id}: {c.verdict} ({c.status}) margin {c.margin}; flips: {c.flips}")
    print(f"CPU seconds of the jobs: {out['cpu_total']:.0f} (wall {wall:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
