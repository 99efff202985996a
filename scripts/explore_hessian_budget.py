"""Choose the Hessian measurement's budget at ``small`` (rule v4) on exploratory seeds — before any
confirmatory seed is run with it.

    python scripts/explore_hessian_budget.py run      # trains the exploratory seeds with the v3 budget (~8 min)
    python scripts/explore_hessian_budget.py analyse  # reads every candidate budget off those runs

**Why.** Rule v3 measures every spectrum with 60 Lanczos products and Assumption 1 with 300; at
``small`` that made ``hessian-dynamics`` take ≈ 745 s against its 600 s target. The thresholds of the
rule stay as they are; only the number of products per spectrum is chosen here.

**How, without re-measuring.** Lanczos is a recurrence: the first m steps of a longer run from the
same start are exactly an m-step run (:func:`loopvalley.hessian.spectra.truncate`, tested bitwise). So the v3
budget is run once on exploratory seeds, keeping each spectrum's tridiagonal, and every candidate
budget (m products per spectrum over training, f per Assumption-1 spectrum) is read off it. Where a
candidate moves Looped-Attn's diversification window so that Assumption 1 falls on another probe, the
finer spectra at that probe are computed from the kept weights.

**The selection rule, fixed before the analysis was run:**

1. *Cost.* A candidate's predicted ``hessian-dynamics`` wall time at ``small`` (5 seeds, 2 workers) is
   the v3 time measured in the shipped ledger's run (pool and Assumption-1 phase separately), scaled
   by the candidate's products and this run's measured cost per product and per training step. Only
   candidates predicted ≤ 540 s (90 % of the target, a margin for a second machine) are eligible.
2. *Agreement with v3, not verdicts.* For every eligible candidate: (a) the median over seeds, arms,
   views, probes after warmup and the six statistics plus κ_10 of |log s_candidate − log s_v3| must be
   ≤ 0.05 (half the measurement noise 0.10 that sets the phase thresholds); (b) every per-seed family
   margin of H1–H4 (and Assumption 1's two log ratios) must move by ≤ 0.15 (half of PHASE_LOG = 0.3);
   (c) κ_10 must be defined at ≥ 95 % of the probes where v3 defines it.
3. Among the eligible candidates that pass, the one with the largest predicted time (the most
   products, the closest to v3) becomes rule v4's budget; ties by the larger m. If none passes, v3
   stays and the cost target is reported unmet.

The verdicts of the confirmatory run are not looked at here, and v4 runs on confirmatory seeds that
no earlier rule used.
"""

from __future__ import annotations

import itertools
import json
import pickle
import sys
import time
from copy import deepcopy
from functools import partial
from pathlib import Path

import numpy as np

from loopvalley.hessian import experiment as hd
from loopvalley.hessian import spectra as sx
from loopvalley.parallel import map_seeds
from loopvalley.seeds import exploratory

OUT = Path("/tmp/loopvalley_budget")
SEEDS = exploratory(3)  # 0, 1, 2
M_CANDIDATES = (40, 45, 50, 60)  # Lanczos products per spectrum over training (60 = v3)
F_CANDIDATES = (150, 200, 250, 300)  # products per Assumption-1 spectrum (300 = v3)
BUDGET_S = 540.0
MAX_LOG_ERR, MAX_MARGIN_MOVE, MIN_KAPPA_DEFINED = 0.05, 0.15, 0.95
V3_POOL_S, V3_FINE_S, V3_REST_S = 594.0, 132.0, 19.0  # results/small: the v3 run's phases (seconds)


def run():
    cfg = hd.config("small")
    OUT.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    jobs = sorted([(s, a) for s in SEEDS for a in cfg.arms], key=lambda j: -hd._cost(j, cfg))
    done = map_seeds(partial(hd.run_arm, cfg=cfg), jobs, progress=True)
    runs = {s: {"records": {}, "fine": None, "fine_step": None} for s in SEEDS}
    states = {}
    for r in done:
        runs[r["seed"]]["records"][r["arm"]] = r["record"]
        states[(r["seed"], r["arm"])] = r["states"]
    t_pool = time.perf_counter() - t0
    fine_jobs = []
    for s in SEEDS:
        runs[s]["fine_step"] = hd.fine_step(runs[s]["records"], cfg)
        if runs[s]["fine_step"] is not None:
            fine_jobs += [(s, "looped", runs[s]["fine_step"]), (s, "single", runs[s]["fine_step"])]
    t1 = time.perf_counter()
    got = map_seeds(partial(hd.fine_spectra, cfg=cfg, states=states), fine_jobs)
    for (s, arm, _), rows in zip(fine_jobs, got):
        runs[s]["fine"] = runs[s]["fine"] or {}
        runs[s]["fine"][arm] = rows
    timing = {"pool_s": t_pool, "fine_s": time.perf_counter() - t1, "fine_jobs": fine_jobs}
    with open(OUT / "runs.pkl", "wb") as f:
        pickle.dump({"runs": runs, "states": {k: v for k, v in states.items() if k[1] != "untied-3"},
                     "timing": timing}, f)
    print(f"pool {t_pool:.0f} s, fine {timing['fine_s']:.0f} s -> {OUT / 'runs.pkl'}")


def _truncate_row(row, m):
    return sx.truncate(sx.Spectrum.from_row(row), m).to_row()


_FINE: dict = {}  # (seed, step) -> the v3-budget Assumption-1 rows at a probe the v3 run did not use


def candidate_runs(runs, states, cfg, m, f):
    """The v3 runs read at budget (m, f): every spectrum over training truncated to m products, the
    Assumption-1 spectra to f (recomputed at the candidate's own fine step when it moved)."""
    out = {}
    for s, e in runs.items():
        recs = {}
        for arm, rec in e["records"].items():
            r = deepcopy(rec)
            rows = r.probes["spectra"]
            for view in [k for k in rows if "/" in k]:
                rows[view] = [_truncate_row(x, m) for x in rows[view]]
            recs[arm] = r
        step = hd.fine_step(recs, cfg)
        fine = None
        if step is not None:
            if step == e["fine_step"]:
                src = e["fine"]
            else:  # the window moved: the finer spectra at the candidate's probe, from the kept weights
                if (s, step) not in _FINE:
                    _FINE[(s, step)] = {arm: hd.fine_spectra((s, arm, step), cfg, states) for arm in ("looped", "single")}
                src = _FINE[(s, step)]
            fine = {arm: {b: _truncate_row(row, f) for b, row in src[arm].items()} for arm in src}
        out[s] = {"records": recs, "fine": fine, "fine_step": step}
    return out


def margins(per):
    """Every per-seed family margin the claims use (log units), flat: {name: value or None}."""
    out = {}
    for view in (hd.MAIN, hd.HELDOUT, hd.QK):
        v = per[view]
        for part, vals in v["h1"].items():
            out[f"{view} H1 {part}"] = hd._median(vals.values())
        out[f"{view} H2"] = hd._median(v["h2"].values())
        out[f"{view} H3 kappa"] = v["kappa_log_ratio"]
        if "h4" in v:
            out[f"{view} H4"] = hd._median(v["h4"].values())
    for b in ("train", "heldout"):
        a1 = per[f"a1/{b}"]
        out[f"A1 {b} count"] = None if a1 is None else a1["log_count_ratio"]
        out[f"A1 {b} quantiles"] = None if a1 is None else a1["log_quantile_ratio"]
    return out


def stat_errors(base, cand, cfg):
    """|log s_cand − log s_v3| at every probe after warmup, every view, arm, statistic and κ_10; and
    the share of probes with κ_10 defined in v3 that keep it defined."""
    errs, kept, defined = [], 0, 0
    for s in base:
        for arm, rec in base[s]["records"].items():
            for view in [k for k in rec.probes["spectra"] if "/" in k]:
                st, a = hd.statistic_series(rec, view)
                _, b = hd.statistic_series(cand[s]["records"][arm], view)
                after = np.asarray(st) >= cfg.warmup
                for k in sx.STATISTICS + ("kappa",):
                    x, y = np.asarray(a[k], float)[after], np.asarray(b[k], float)[after]
                    ok = np.isfinite(x) & np.isfinite(y) & (x > 0) & (y > 0)
                    errs += list(np.abs(np.log(y[ok]) - np.log(x[ok])))
                    if k == "kappa":
                        defined += int(np.isfinite(x).sum())
                        kept += int((np.isfinite(x) & np.isfinite(y)).sum())
    return np.asarray(errs), kept / max(defined, 1)


def predicted_seconds(base, m, f, cfg, n_seeds=5):
    """The candidate's ``hessian-dynamics`` wall time at small: the v3 run's phases (results/small)
    with the product-proportional parts scaled by m/60 and f/300, the split between products and
    training taken from this run's records."""
    probe = train = 0.0
    for e in base.values():
        for rec in e["records"].values():
            probe += rec.meta["probe_seconds"]
            train += rec.meta["seconds"] - rec.meta["probe_seconds"]
    share = probe / (probe + train)  # the products' share of the pool's work
    pool = V3_POOL_S * (share * m / cfg.lanczos_steps + (1 - share))
    return pool + V3_FINE_S * f / cfg.fine_steps + V3_REST_S


def analyse():
    cfg = hd.config("small")
    with open(OUT / "runs.pkl", "rb") as fh:
        saved = pickle.load(fh)
    runs, states = saved["runs"], saved["states"]
    base_per = {s: hd.measure_seed(runs[s], cfg, s) for s in runs}
    base_m = {s: margins(p) for s, p in base_per.items()}
    rows = []
    for m, f in itertools.product(M_CANDIDATES, F_CANDIDATES):
        cand = candidate_runs(runs, states, cfg, m, f)
        per = {s: hd.measure_seed(cand[s], cfg, s) for s in cand}
        errs, kappa_kept = stat_errors(runs, cand, cfg)
        moves = []
        for s in runs:
            cm = margins(per[s])
            for k, x in base_m[s].items():
                y = cm.get(k)
                if x is None and y is None:
                    continue
                if x is None or y is None or not (np.isfinite(x) and np.isfinite(y)):
                    moves.append((k, s, float("inf") if (x is None) != (y is None) else 0.0))
                else:
                    moves.append((k, s, abs(y - x)))
        worst = max(moves, key=lambda t: t[2])
        secs = predicted_seconds(runs, m, f, cfg)
        row = {"m": m, "f": f, "predicted_s": round(secs), "median_log_err": float(np.median(errs)),
               "p90_log_err": float(np.quantile(errs, 0.9)), "kappa_defined": kappa_kept,
               "max_margin_move": worst[2], "worst": f"{worst[0]} (seed {worst[1]})",
               "fine_step_moved": [s for s in runs if cand[s]["fine_step"] != runs[s]["fine_step"]]}
        row["eligible"] = secs <= BUDGET_S
        row["passes"] = (row["median_log_err"] <= MAX_LOG_ERR and row["max_margin_move"] <= MAX_MARGIN_MOVE
                         and row["kappa_defined"] >= MIN_KAPPA_DEFINED)
        rows.append(row)
        print(json.dumps(row), flush=True)
    ok = [r for r in rows if r["eligible"] and r["passes"]]
    chosen = max(ok, key=lambda r: (r["predicted_s"], r["m"])) if ok else None
    print("chosen:", None if chosen is None else {"m": chosen["m"], "f": chosen["f"]})
    with open(OUT / "analysis.json", "w") as fh:
        json.dump({"rows": rows, "chosen": chosen, "timing": saved["timing"]}, fh, indent=1, default=str)


if __name__ == "__main__":
    {"run": run, "analyse": analyse}[sys.argv[1] if len(sys.argv) > 1 else "run"]()
