"""The ``shift`` experiment: SHIFT (Single-Attn first, Looped-Attn after the SHIFT Criterion with
Patience fires) against Single- and Looped-Attn, on the Markov language and on algorithmic tasks,
and Theorem 3's gradient alignment.

Claims:

- **F1** SHIFT's final complex-split accuracy, at the end of Looped's FLOP budget, is within 1 point
  of Looped-Attn's final accuracy.
- **F2** SHIFT first reaches Looped's final accuracy (to F1's 1-point tolerance) with less wall-clock
  time and fewer FLOPs than Looped's whole run; target ≤ 0.6× Looped's FLOPs.
- **F3** Early in training (before the switch), Single's and Looped's gradients with respect to W_Q
  and W_K at the same weights are aligned (Theorem 3, "shared river upstream").
- **F4** On algorithmic tasks SHIFT ≈ Looped in distribution, and Looped length-generalises better
  than Single.

Equal compute. The paper's claim is that SHIFT reaches Looped's accuracy in less *time*, so the
arms are compared at equal training FLOPs, not equal steps: Looped trains S steps (budget S·F₃);
SHIFT trains s cheap Single steps (F₁ ≈ F₃/3 each), switches, and keeps training Looped steps until
the next one would exceed S·F₃, i.e. s + ⌊(S·F₃ − s·F₁)/F₃⌋ ≈ S + ⅔s steps in all
(:func:`loopvalley.shift.equal_flop_steps`). F1 compares its accuracy at the end of that budget with
Looped's final accuracy; F2 takes the FLOPs and wall-clock time at which SHIFT *first* reaches Looped's
final accuracy − 1 point (first evaluation at or above it), divided by Looped's total. An earlier
equal-steps protocol (SHIFT stopped at step S too) cut SHIFT off while it was still climbing: it had
only S − s looped steps against Looped's S, and Looped itself only starts its complex-split climb
~250 steps in; at ci it measured SHIFT − Looped = −5.6 ± 4.4 points and never reached the F2 target.
The algorithmic tasks (F4) use the same budget, enforced live by :class:`loopvalley.shift.FlopBudget`.

Protocol. The Markov data, model and training are those of the ``sample-dynamics`` experiment
(:func:`loopvalley.experiments.sample_dynamics.settings`), same seeds, same initial weights, same data
order, so the three arms differ only in when they loop. The Single run carries a monitoring-only
SHIFT controller and keeps snapshots at every check; SHIFT's run is Single's run continued from
the snapshot at the step where SCP fires (bit-identical to a run that switches live; tested), and
the ablation over δ1, δ2, W and the optimizer-state policy replays SCP on the same recorded history
and continues from the snapshot at every distinct switch step it produces: every cell is a real
training run, nothing is interpolated.

Introduced in notebooks/07_shift.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field, replace
from typing import Mapping, Sequence

import numpy as np
import torch

from ..claims import Claim, check, summary
from ..markov import make_markov_data
from ..models import ModelConfig, build_model
from ..scales import by_scale, current_scale
from ..shift import (
    FlopBudget,
    ShiftConfig,
    ShiftController,
    Snapshots,
    Theorem3Probe,
    final_accuracy,
    switch_criterion,
    switch_from_snapshot,
    switch_step_of,
    time_to_reach,
    train_step_flops,
    transient_drop,
)
from ..tasks import TaskConfig, accuracy_by_length, answer_loss, answer_token_accuracy, sample_problems, VOCAB_SIZE
from ..train import RunRecord, TrainConfig, Trainer
from . import Context, register
from .sample_dynamics import Settings, settings as markov_settings

F1_TOL = 1.0  # points: "within 1 point of Looped's final accuracy"
F2_TARGET = 0.6  # SHIFT/Looped FLOPs to reach the target
F3_MIN_COS = 0.5  # "aligned": mean early cosine of W_Q and W_K gradients
F4_TOL = 2.0  # points: SHIFT's in-distribution exact match ≥ Looped's − 2


@dataclass
class TaskSettings:
    """The algorithmic-task part: which tasks, how long, which model and training."""

    tasks: tuple  # task names (loopvalley.tasks.TASKS)
    n_train: int  # train on lengths 1..n_train, evaluate on 1..2·n_train
    n_examples: int  # fixed training problems per task
    n_eval: int  # test problems per length
    model: ModelConfig  # max_len is set per task to cover length 2·n_train
    train: TrainConfig
    shift: ShiftConfig
    seeds: int


@dataclass
class ShiftSettings:
    """Everything the experiment does at one scale."""

    markov: Settings  # the sample-dynamics settings: data, model, training (shared with notebook 04)
    shift: ShiftConfig  # the default SCP and switch mechanics
    theorem3_every: int  # steps between gradient-alignment probes
    theorem3_sequences: int  # training sequences the gradients of the alignment probe are taken on
    grid: dict  # ablation values {"delta1": (...), "delta2": (...), "patience": (...)}
    policies: tuple  # optimizer-state policies to ablate
    ablation_seeds: int  # seeds the ablation runs on (the first ones)
    tasks: TaskSettings


def shift_settings(scale: str | None = None) -> ShiftSettings:
    """The documented settings at ``scale``. SCP checks every 25 steps (δ2 = 0.2 ≈ 1/√25, the
    coherence of independent noise), δ1 = 1 %, W = 3.

    Introduced in notebooks/07_shift.
    """
    s = current_scale(scale)
    m = markov_settings(s)
    task_model = ModelConfig(vocab_size=VOCAB_SIZE, max_len=8, d_model=by_scale(s, ci=32, small=64, paper=64),
                             n_heads=2, layernorm=True, mlp=True)
    task_train = TrainConfig(lr=by_scale(s, ci=3e-3, small=2e-3, paper=2e-3), schedule="warmup_constant",
                             warmup_steps=20, batch_size=64, max_steps=by_scale(s, ci=600, small=1500, paper=6000),
                             eval_every=25, eval_batch_size=512, device=by_scale(s, ci="cpu", small="cpu", paper="auto"))
    all_tasks = ("parity", "copy", "addition", "binary_sum", "unique_set")
    return ShiftSettings(
        markov=m,
        shift=ShiftConfig(delta1=0.01, delta2=0.2, patience=3, check_every=25),
        theorem3_every=by_scale(s, ci=50, small=50, paper=100),
        theorem3_sequences=128,
        grid={"delta1": (0.003, 0.01, 0.03), "delta2": (0.15, 0.2, math.inf), "patience": (2, 3, 6)},
        policies=("keep", "reset"),
        ablation_seeds=1,
        tasks=TaskSettings(
            tasks=by_scale(s, ci=("parity", "binary_sum"), small=all_tasks, paper=all_tasks),
            n_train=by_scale(s, ci=4, small=6, paper=10),
            n_examples=by_scale(s, ci=4096, small=8192, paper=32768),
            n_eval=by_scale(s, ci=128, small=256, paper=512),
            model=task_model,
            train=task_train,
            shift=ShiftConfig(delta1=0.01, delta2=0.2, patience=3, check_every=25),
            seeds=by_scale(s, ci=1, small=1, paper=3),
        ),
    )


# ----------------------------------------------------------------------------------------------
# Markov task: Single, Looped, SHIFT and the ablation


@dataclass
class MarkovShiftRun:
    """One seed: the three arms' records, the Single run's snapshots and the ablation's records."""

    seed: int
    records: dict  # {"single", "looped", "shift"} → RunRecord
    switch_step: int | None  # where SCP fired on Single's recorded history
    ablation: dict = field(default_factory=dict)  # (policy, switch step) → RunRecord


def _markov_data(seed: int, m: Settings):
    # the same data as sample_dynamics.run_pair (generator 1000 + seed)
    return make_markov_data(m.markov, m.n_train, m.n_test, torch.Generator().manual_seed(1000 + seed))


def run_markov_seed(seed: int, s: ShiftSettings, ablate: bool = False, progress: bool = False) -> MarkovShiftRun:
    """Single (monitored by SCP, with snapshots and Theorem 3 probes), Looped (with Theorem 3 probes)
    and SHIFT for one seed; with ``ablate`` also every distinct switch step the grid produces, under
    every optimizer-state policy. Every SHIFT run trains until it has spent Looped's FLOPs (equal
    compute); if SCP never fires within Single's run, SHIFT is Single's run.

    Introduced in notebooks/07_shift.
    """
    m = s.markov
    data = _markov_data(seed, m)
    tc = replace(m.train, seed=seed, progress=progress)
    meta = {"seed": seed, "references": data.references}

    def trainer(loops, probes):
        model = build_model(replace(m.model, n_loops=loops), torch.Generator().manual_seed(seed))
        t = Trainer(model, data.train, data.eval_sets, tc, probes=probes)
        t.record.meta.update(meta)
        return t

    monitor = ShiftController(replace(s.shift, act=False))
    snaps = Snapshots(every=s.shift.check_every)
    single = trainer(1, [monitor, Theorem3Probe(s.theorem3_every, m.n_loops, s.theorem3_sequences), snaps]).run()
    single.meta["name"] = "single"
    looped = trainer(m.n_loops, [Theorem3Probe(s.theorem3_every, m.n_loops, s.theorem3_sequences)]).run()
    looped.meta["name"] = "looped"

    history = single.probes["shift"]
    cfg = replace(s.shift, n_loops=m.n_loops)

    budget = float(looped.flops[-1])  # equal compute: SHIFT may spend what Looped spent

    def continued(step, policy):
        if step is None:  # SCP never fired: SHIFT is Single
            return single
        rec = switch_from_snapshot(snaps.states[step], m.model, data.train, data.eval_sets, tc,
                                   replace(cfg, optimizer_state=policy), flop_budget=budget)
        rec.meta.update(meta, name=f"shift ({policy} @ {step})")
        return rec

    s0 = switch_criterion(history, cfg.delta1, cfg.delta2, cfg.patience)
    run = MarkovShiftRun(seed, {"single": single, "looped": looped}, s0)
    shift_rec = continued(s0, cfg.optimizer_state)
    run.records["shift"] = shift_rec if s0 is not None else RunRecord.from_dict(single.to_dict())
    run.records["shift"].meta["name"] = "shift"
    if ablate:
        steps = {switch_criterion(history, d1, d2, w) for d1, d2, w in _grid_cells(s.grid)}
        for policy in s.policies:
            for step in sorted(steps, key=lambda v: math.inf if v is None else v):
                if policy == cfg.optimizer_state and step == s0:
                    run.ablation[(policy, step)] = run.records["shift"]
                else:
                    run.ablation[(policy, step)] = continued(step, policy)
    return run


def _grid_cells(grid: Mapping) -> list:
    return list(itertools.product(grid["delta1"], grid["delta2"], grid["patience"]))


def run_markov(seeds: Sequence[int], s: ShiftSettings, progress: bool = False) -> list:
    """:func:`run_markov_seed` for every seed; the first ``s.ablation_seeds`` also run the ablation.

    Introduced in notebooks/07_shift.
    """
    seeds = list(seeds)
    it = seeds
    if progress:
        from tqdm.auto import tqdm

        it = tqdm(seeds, desc="seeds", leave=False)
    return [run_markov_seed(int(sd), s, ablate=i < s.ablation_seeds) for i, sd in enumerate(it)]


def measure_seed(run: MarkovShiftRun, split: str = "complex") -> dict:
    """The numbers behind F1–F3 for one seed (accuracies in points).

    Introduced in notebooks/07_shift.
    """
    r = run.records
    acc = {k: 100 * final_accuracy(rec, split) for k, rec in r.items()}
    target = (acc["looped"] - F1_TOL) / 100  # Looped's final accuracy, to F1's tolerance
    reach = {k: time_to_reach(rec, target, split) for k, rec in r.items()}
    total = r["single"].eval_step[-1]
    looped_flops, looped_wall = r["looped"].flops[-1], r["looped"].wall[-1]
    out = {
        "single_final": acc["single"],
        "looped_final": acc["looped"],
        "shift_final": acc["shift"],
        "f1_gap": acc["shift"] - acc["looped"],
        "target": 100 * target,
        "looped_steps_to_target": reach["looped"]["step"],
        "shift_steps_to_target": reach["shift"]["step"],
        "shift_total_steps": r["shift"].eval_step[-1],
        # F2: what SHIFT spent to first reach the target ÷ what Looped spent in its whole run
        "flops_ratio": _ratio(reach["shift"]["flops"], looped_flops),
        "wall_ratio": _ratio(reach["shift"]["wall"], looped_wall),
        # context: ÷ what Looped itself spent to first reach the same target
        "flops_ratio_vs_looped_reach": _ratio(reach["shift"]["flops"], reach["looped"]["flops"]),
        "wall_ratio_vs_looped_reach": _ratio(reach["shift"]["wall"], reach["looped"]["wall"]),
        "total_flops_ratio": r["shift"].flops[-1] / r["looped"].flops[-1],
        "total_wall_ratio": r["shift"].wall[-1] / r["looped"].wall[-1],
        "switch_step": run.switch_step if run.switch_step is not None else math.inf,
        "switch_frac": (run.switch_step if run.switch_step is not None else math.inf) / total,
        "transient_drop": 100 * transient_drop(r["shift"], split),
    }
    out.update(alignment_summary(r["single"], run.switch_step))
    along_looped = alignment_summary(r["looped"], run.switch_step)
    out.update({f"looped_run_{k}": along_looped[k] for k in ("early_cos_W_Q", "early_cos_W_K", "late_cos_W_Q", "late_cos_W_K")})
    return out


def _ratio(a: float, b: float) -> float:
    return a / b if math.isfinite(a) and math.isfinite(b) and b > 0 else math.inf


def alignment_summary(single: RunRecord, switch_step: int | None) -> dict:
    """Theorem 3 along Single's trajectory: mean gradient cosine per weight over the early window
    (0 < step ≤ switch step) and after it; the premises at the start, the switch and the end.

    Introduced in notebooks/07_shift.
    """
    p = single.probes["theorem3"]
    steps = np.asarray(p["step"])
    cut = switch_step if switch_step is not None else steps[-1] // 4
    early, late = (steps > 0) & (steps <= cut), steps > cut
    out = {}
    for w in ("W_Q", "W_K", "W_V", "W_O"):
        c = np.asarray(p[f"cos_{w}"], dtype=float)
        out[f"early_cos_{w}"] = float(np.nanmean(c[early])) if early.any() else math.nan
        out[f"late_cos_{w}"] = float(np.nanmean(c[late])) if late.any() else math.nan
    at = {"init": 0, "switch": int(np.argmin(np.abs(steps - cut))), "end": len(steps) - 1}
    for key in ("dd_QK", "psd_QK", "psd_OV", "psd_QK_OV"):
        for name, i in at.items():
            out[f"{key}_{name}"] = float(p[key][i])
    return out


def ablation_table(runs: Sequence[MarkovShiftRun], grid: Mapping, policies: Sequence[str], split: str = "complex") -> dict:
    """Per grid cell (δ1, δ2, W) and policy: switch step, final accuracy gap to Looped, FLOP and
    wall ratios to the target, transient drop — averaged over the ablation seeds.

    Returns ``{"cells": [(δ1, δ2, W), ...], "policies": [...], metric: array (policy, cell)}``.

    Introduced in notebooks/07_shift.
    """
    runs = [r for r in runs if r.ablation]
    cells = _grid_cells(grid)
    keys = ("switch_step", "f1_gap", "flops_ratio", "wall_ratio", "transient_drop")
    table = {k: np.full((len(policies), len(cells), len(runs)), np.nan) for k in keys}
    for j, run in enumerate(runs):
        history = run.records["single"].probes["shift"]
        for c, (d1, d2, w) in enumerate(cells):
            step = switch_criterion(history, d1, d2, w)
            for i, policy in enumerate(policies):
                trial = MarkovShiftRun(run.seed, {**run.records, "shift": run.ablation[(policy, step)]}, step)
                mj = measure_seed(trial, split)
                for k in keys:
                    table[k][i, c, j] = mj[k]
    out = {"cells": cells, "policies": list(policies), "seeds": [r.seed for r in runs]}
    for k in keys:
        with np.errstate(all="ignore"):
            out[k] = np.mean(table[k], axis=2)  # inf stays inf (never reached / never switched)
    return out


# ----------------------------------------------------------------------------------------------
# Algorithmic tasks


def run_task(task: str, seed: int, ts: TaskSettings, progress: bool = False) -> dict:
    """Single, Looped and SHIFT on one algorithmic task: ``{arm: {"record", "by_length"}}``.

    Training problems have lengths 1..n_train, placed at random offsets in ``max_len`` positions
    (enough for length 2·n_train); the split ``"in"`` holds lengths ≤ n_train, ``"out"`` longer ones.
    Single and Looped train ``ts.train``'s steps; SHIFT (SCP live) trains until it has spent Looped's
    training FLOPs (:class:`loopvalley.shift.FlopBudget`), so it takes more steps when it switches.

    Introduced in notebooks/08_algorithmic_tasks.
    """
    tcfg = TaskConfig(task, n_train=ts.n_train)
    g = torch.Generator().manual_seed(2000 + seed)
    train = sample_problems(task, ts.n_examples, (1, ts.n_train), tcfg.max_len, g)
    evals = {
        "in": sample_problems(task, ts.n_eval * 4, (1, ts.n_train), tcfg.max_len, g),
        "out": sample_problems(task, ts.n_eval * 4, (ts.n_train + 1, tcfg.n_eval), tcfg.max_len, g),
    }
    mcfg = replace(ts.model, max_len=tcfg.max_len)
    tc = replace(ts.train, seed=seed, progress=progress)
    out = {}
    for arm, loops in (("single", 1), ("looped", 3), ("shift", 1)):
        model = build_model(replace(mcfg, n_loops=loops), torch.Generator().manual_seed(seed))
        probes = []
        if arm == "shift":  # equal compute: stop before the step that would exceed Looped's FLOPs
            budget = float(out["looped"]["record"].flops[-1])
            probes = [ShiftController(ts.shift), FlopBudget(budget)]
        t = Trainer(model, train, evals, tc, probes=probes, loss_fn=answer_loss, acc_fn=answer_token_accuracy)
        if arm == "shift":  # a horizon the budget binds before: all-Single steps would fit ⌈budget / F₁⌉
            f1 = train_step_flops(mcfg, 1, t.batch_size * t.world_size, int(t.train_tokens.shape[1]))
            t.total_steps = int(math.ceil(budget / f1)) + 1
        t.record.meta.update(task=task, seed=seed, name=arm)
        rec = t.run()
        by_len = accuracy_by_length(t.model, tcfg, torch.Generator().manual_seed(3000 + seed), ts.n_eval)
        out[arm] = {"record": rec, "by_length": by_len}
    return out


def run_tasks(seeds: Sequence[int], ts: TaskSettings, progress: bool = False) -> dict:
    """``{task: [run_task(task, seed) for seed in seeds]}``.

    Introduced in notebooks/08_algorithmic_tasks.
    """
    jobs = [(t, sd) for t in ts.tasks for sd in seeds]
    if progress:
        from tqdm.auto import tqdm

        jobs = tqdm(jobs, desc="tasks", leave=False)
    out: dict = {t: [] for t in ts.tasks}
    for t, sd in jobs:
        out[t].append(run_task(t, int(sd), ts))
    return out


def measure_tasks(task_runs: Mapping, n_train: int) -> dict:
    """Per task and arm: exact match averaged over lengths ≤ n_train (``in``) and n_train < n ≤ 2n
    (``out``), mean over seeds, in points; SHIFT's ``switch_step`` and ``total_steps`` (equal-FLOP horizon).

    Introduced in notebooks/08_algorithmic_tasks.
    """
    out = {}
    for task, runs in task_runs.items():
        row = {}
        for arm in ("single", "looped", "shift"):
            ins, outs = [], []
            for r in runs:
                L = np.asarray(r[arm]["by_length"]["length"])
                em = np.asarray(r[arm]["by_length"]["exact_match"])
                ins.append(100 * em[L <= n_train].mean())
                outs.append(100 * em[L > n_train].mean())
            row[f"{arm}_in"], row[f"{arm}_out"] = float(np.mean(ins)), float(np.mean(outs))
        sw = [switch_step_of(r["shift"]["record"]) for r in runs]
        row["shift_switch_step"] = [s if s is not None else math.inf for s in sw]
        row["shift_total_steps"] = [int(r["shift"]["record"].train_step[-1]) + 1 for r in runs]
        out[task] = row
    return out


# ----------------------------------------------------------------------------------------------
# Claims


def shift_claims(markov_runs: Sequence[MarkovShiftRun] | None, task_runs: Mapping | None, scale: str,
                 seeds: Sequence[int], task_seeds: Sequence[int] = (), n_train: int | None = None) -> list[Claim]:
    """F1–F3 from the Markov runs, F4 from the task runs (either may be ``None`` to skip its claims).

    Introduced in notebooks/07_shift.
    """
    with np.errstate(invalid="ignore"):  # std over seeds that never reached a target (∞)
        return _shift_claims(markov_runs, task_runs, scale, seeds, task_seeds, n_train)


def _shift_claims(markov_runs, task_runs, scale, seeds, task_seeds, n_train) -> list[Claim]:
    claims = []
    if markov_runs:
        per = [measure_seed(r) for r in markov_runs]
        col = lambda k: [p[k] for p in per]  # noqa: E731
        seeds = [r.seed for r in markov_runs]
        f1 = {
            "shift_minus_looped_points": summary(col("f1_gap")),
            "shift_final": summary(col("shift_final")),
            "looped_final": summary(col("looped_final")),
            "single_final": summary(col("single_final")),
            "switch_step": col("switch_step"),
            "shift_total_steps": col("shift_total_steps"),
            "transient_drop_points": _summary(col("transient_drop")),
        }
        claims.append(check(
            "F1", "At equal compute SHIFT's final complex-split accuracy matches Looped-Attn's",
            "comparable accuracy to Looped-Attn (Fig. 4)", f1,
            lambda m: _num(m["shift_minus_looped_points"]["mean"]) >= -F1_TOL,
            rule=(f"mean over seeds of SHIFT − Looped final complex accuracy (last 3 evaluations) ≥ −{F1_TOL:g} point, "
                  "SHIFT trained until it has spent Looped's training FLOPs"),
            scale=scale, seeds=seeds,
            fails_because=(f"with Looped's FLOP budget ({col('shift_total_steps')} steps, switching at "
                           f"{col('switch_step')}) SHIFT ends {-np.mean(col('f1_gap')):.1f} points below Looped on average "
                           f"(per seed {[round(v, 1) for v in col('f1_gap')]})"),
            holds_note=(f"with Looped's FLOP budget ({col('shift_total_steps')} steps, switching at {col('switch_step')}) "
                        f"SHIFT ends {np.mean(col('f1_gap')):+.1f} points from Looped on average"),
        ))
        fr, wr = col("flops_ratio"), col("wall_ratio")
        f2 = {
            "flops_ratio": _summary(fr), "wall_ratio": _summary(wr),
            "looped_steps_to_target": col("looped_steps_to_target"),
            "shift_steps_to_target": col("shift_steps_to_target"),
            "target_accuracy": summary(col("target")),
            "flops_ratio_vs_looped_reach": _summary(col("flops_ratio_vs_looped_reach")),
            "wall_ratio_vs_looped_reach": _summary(col("wall_ratio_vs_looped_reach")),
            "total_flops_ratio": _summary(col("total_flops_ratio")),
            "total_wall_ratio": _summary(col("total_wall_ratio")),
        }
        never = [sd for sd, v in zip(seeds, fr) if not math.isfinite(v)]
        reached = [v for v in fr if math.isfinite(v)]
        claims.append(check(
            "F2", "SHIFT reaches Looped-Attn's final accuracy with less compute than Looped's run",
            "less training time than Looped-Attn (Fig. 4, Fig. 11); no number given", f2,
            lambda m: _finite_mean(m["flops_ratio"]) <= F2_TARGET and _finite_mean(m["wall_ratio"]) < 1.0,
            rule=(f"FLOPs and wall-clock time at which SHIFT first reaches Looped's final accuracy − {F1_TOL:g} point, "
                  f"÷ Looped's total: mean FLOP ratio ≤ {F2_TARGET} and mean wall-clock ratio < 1 (a seed that does "
                  "not reach it within Looped's FLOP budget counts as ∞)"),
            scale=scale, seeds=seeds,
            fails_because=(f"within Looped's FLOP budget SHIFT never reached the target in seeds {never}"
                           + (f" (the others needed {[round(v, 2) for v in reached]}× Looped's FLOPs)" if reached else "")
                           if never else
                           f"SHIFT needed {np.mean(fr):.2f}× Looped's FLOPs and {np.mean(wr):.2f}× its wall-clock time "
                           f"(rule: ≤ {F2_TARGET} and < 1)"),
            holds_note=f"SHIFT used {np.mean(fr):.2f}× the FLOPs and {np.mean(wr):.2f}× the wall-clock time of Looped's run",
        ))
        f3 = {k: _summary(col(k)) for k in per[0] if k.startswith(("early_cos", "late_cos", "looped_run_"))}
        f3.update({k: _summary(col(k)) for k in per[0] if k.startswith(("dd_", "psd_"))})
        qk = (np.mean(col("early_cos_W_Q")), np.mean(col("early_cos_W_K")))
        qk_l = (np.mean(col("looped_run_early_cos_W_Q")), np.mean(col("looped_run_early_cos_W_K")))
        both = (f"early W_Q/W_K cosines along Single's run {qk[0]:.2f}/{qk[1]:.2f}, "
                f"along Looped's run {qk_l[0]:.2f}/{qk_l[1]:.2f}")
        claims.append(check(
            "F3", "Early in training Single's and Looped's W_Q, W_K gradients are aligned (Theorem 3)",
            "shared river upstream: W_Q, W_K gradients aligned early, under Assumptions 4–5", f3,
            lambda m: _finite_mean(m["early_cos_W_Q"]) >= F3_MIN_COS and _finite_mean(m["early_cos_W_K"]) >= F3_MIN_COS,
            rule=(f"along Single's run, the mean cosine between Single's and Looped's gradients at the same weights, "
                  f"over 0 < step ≤ switch step, is ≥ {F3_MIN_COS} for W_Q and for W_K (mean over seeds)"),
            scale=scale, seeds=seeds,
            fails_because=f"{both}; the rule reads Single's run and needs ≥ {F3_MIN_COS}",
            holds_note=f"{both}; " + _premise_note(per),
        ))
    if task_runs:
        n_train = n_train if n_train is not None else 0
        per_task = measure_tasks(task_runs, n_train)
        mean = lambda k: float(np.mean([row[k] for row in per_task.values()]))  # noqa: E731
        f4 = {"mean_" + k: mean(k) for k in ("shift_in", "looped_in", "single_in", "looped_out", "single_out", "shift_out")}
        f4.update({f"{t}_{k}": v for t, row in per_task.items() for k, v in row.items() if not k.endswith("step")})
        f4["tasks"] = list(per_task)
        f4["n_train"] = n_train
        claims.append(check(
            "F4", "On algorithmic tasks SHIFT matches Looped-Attn, and Looped-Attn length-generalises better than Single-Attn",
            "SHIFT: minimal accuracy loss, less time (Fig. 11); Looped: better length generalisation", f4,
            lambda m: m["mean_shift_in"] >= m["mean_looped_in"] - F4_TOL and m["mean_looped_out"] > m["mean_single_out"],
            rule=(f"mean over tasks of exact-match accuracy: SHIFT ≥ Looped − {F4_TOL:g} points on lengths ≤ n, and "
                  "Looped > Single on lengths n+1..2n"),
            scale=scale, seeds=list(task_seeds),
            fails_because=(f"in distribution SHIFT {mean('shift_in'):.1f} vs Looped {mean('looped_in'):.1f}; "
                           f"beyond the training length Looped {mean('looped_out'):.1f} vs Single {mean('single_out'):.1f}"),
        ))
    return claims


def _summary(vals) -> dict:
    """:func:`claims.summary` when every value is finite; otherwise only the per-seed values
    (∞ = never reached / never switched), so the ledger never prints a mean of infinities."""
    vals = [float(v) for v in vals]
    if all(math.isfinite(v) for v in vals):
        return summary(vals)
    return {"per_seed": vals, "n_not_finite": sum(not math.isfinite(v) for v in vals)}


def _num(v) -> float:
    """A ledger value back to a float: None (NaN) → nan, "inf" → inf."""
    if v is None:
        return math.nan
    return float(v)


def _finite_mean(s: Mapping) -> float:
    """Mean of a summary's per-seed values, ∞ where a seed never got there."""
    return float(np.mean([_num(v) for v in s["per_seed"]]))


def _premise_note(per) -> str:
    dd = np.mean([p["dd_QK_switch"] for p in per])
    psd = np.mean([p["psd_QK_switch"] for p in per])
    return (f"premises at the switch (Single's weights): {dd:.0%} of W_QᵀW_K's rows diagonally dominant, "
            f"PSD-ness of its symmetric part {psd:.2f} (1 = PSD) — the alignment is measured, not derived")


def compute(ctx: Context):
    """Train everything the experiment needs: ``(settings, markov runs, task runs, task seeds)``.

    Introduced in notebooks/07_shift.
    """
    torch.set_num_threads(1)
    s = shift_settings(ctx.scale)
    seeds = ctx.seeds_or(s.markov.seeds)
    runs = run_markov(seeds, s, progress=ctx.progress)
    task_seeds = list(range(s.tasks.seeds)) if ctx.seeds is None else ctx.seeds[: s.tasks.seeds]
    tasks = run_tasks(task_seeds, s.tasks, progress=ctx.progress)
    return s, runs, tasks, task_seeds


def report(ctx: Context, s: ShiftSettings, runs, tasks, task_seeds) -> list[Claim]:
    """Figures and F1–F4 from what :func:`compute` trained.

    Introduced in notebooks/07_shift.
    """
    from ..plots.shift import plot_ablation, plot_alignment, plot_comparison, plot_criterion, plot_length_generalisation

    claims = shift_claims(runs, tasks, ctx.scale, [r.seed for r in runs], task_seeds, s.tasks.n_train)
    ctx.save_figure(plot_criterion(runs[0].records["single"].probes["shift"], s.shift, runs[0].records), "shift_criterion")
    ctx.save_figure(plot_comparison([r.records for r in runs]), "shift_comparison")
    ctx.save_figure(plot_ablation(ablation_table(runs, s.grid, s.policies), s.grid), "shift_ablation")
    ctx.save_figure(plot_alignment([r.records for r in runs], [r.switch_step for r in runs]), "shift_theorem3")
    ctx.save_figure(plot_length_generalisation(tasks, s.tasks.n_train), "shift_tasks")
    return claims


@register("shift", ["F1", "F2", "F3", "F4"], "SHIFT vs Single/Looped: accuracy, compute, Theorem 3, algorithmic tasks")
def run(ctx: Context) -> list[Claim]:
    """Markov comparison and ablation, Theorem 3, algorithmic tasks; figures; F1–F4."""
    return report(ctx, *compute(ctx))
