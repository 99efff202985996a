"""The ``shift`` experiment: SHIFT (Single-Attn first, Looped-Attn once the SHIFT Criterion with
Patience fires) against Single- and Looped-Attn on the Markov language, and Theorem 3's gradient
alignment in two models. The algorithmic tasks (F4a–F4c) are the ``algorithmic-tasks`` experiment
(:mod:`loopvalley.shift.algorithmic_tasks`).

Claims (margins per confirmatory seed; rules in ``rules.toml``, judged by :func:`loopvalley.claims.judge`
under every declared analysis alternative):

- **F1** At equal compute, SHIFT's final complex-split accuracy is within 1 point of Looped-Attn's
  (margin: SHIFT − Looped + 1 point, paired by seed).
- **F2** SHIFT reaches Looped-Attn's final accuracy with less compute (margin: 1 − SHIFT's FLOPs to
  reach Looped's final accuracy ÷ Looped's FLOPs) — the target is Looped's final accuracy itself;
  a tolerance, where an alternative reads one, is given to both arms.
- **F3a** In the experiments' model (softmax, pre-LayerNorm), Single's and Looped's W_Q and W_K
  gradients are aligned over the window SHIFT actually uses: from step 0 to SHIFT's switch step on
  that seed (margin: time-averaged cosine − 0.5).
- **F3b** In the theorem's model (linear attention, no LayerNorm), they are aligned after the
  small-weight regime: from the first step the cosine drops below 0.99 to the switch step (margin:
  time-averaged cosine there − 0.5). Below 0.99 every loop sees nearly the same input, ∇Looped ≈
  3∇Single, and the alignment is a property of the initialisation, not of training.

**Protocol** (every choice fixed on exploratory seeds; ``docs/exploration/shift.md``):

- *Equal compute.* Looped trains S steps (budget S·F₃). SHIFT trains s Single steps (F₁ ≈ F₃/3 each),
  switches, and trains Looped steps until the next one would exceed S·F₃: s + ⌊(S·F₃ − s·F₁)/F₃⌋ ≈
  S + ⅔s steps (:func:`loopvalley.looped.compute.equal_flop_steps`).
- *A fair horizon.* Every arm ends with the same decay: the last ``decay_steps`` (D) steps of its own
  horizon decay η linearly to 0 (:func:`loopvalley.shift.controller.wsd_lr`). At a constant learning rate
  Looped is still hopping between the valley walls at the horizon and any lag would read as a gap;
  the decay reveals where each arm got to. F1's alternatives read a decay half as long, and none.
- *The switch.* SCP (δ1 = 1 %, δ2 = 0.2, W = 3 checks of 25 steps) is replayed on Single's recorded
  history, checks up to Single's decay start S − D; SHIFT's run is Single's run continued from the
  snapshot at the switch step (bit-identical to a live switch; tested). A seed where SCP never
  fires is counted as *not switched*: its "SHIFT" is Single's own run (it is reported in the switch
  rate, not silently treated as SHIFT).
- *The switch policy* (what Adam and η do at the switch) is ``reset``, chosen by :func:`choose_policy`
  — the policy with the highest mean F1 margin on exploratory seeds 0–4 (:data:`POLICY_SELECTION`).
- *F2.* Decayed accuracies of SHIFT at budgets f·S·F₃ for f in ``branch_fractions``, and of Looped
  at ``looped_fractions`` (decay branches off one stable trajectory each: the stable part does not
  depend on the horizon); the FLOPs to reach the target are interpolated linearly between budgets.
  A seed already there at the smallest budget is counted at that budget, one not there by the
  largest at the largest (both conservative for the verdict). Wall-clock enters only through the
  per-step time ratio c_wall of ``benchmarks/shift_speed.py`` (an alternative of F2).
- *F3.* Theorem 3's probe (:class:`loopvalley.shift.controller.Theorem3Probe`: the gradient cosines at the
  same weights, 512 training sequences) at every step 0..50, then every ``theorem3_every`` steps up
  to the switch step (where SCP fires on the monitored Single run), along Single's run (the
  experiments' model) and along a run of the theorem's model on the same data, as long as the
  switch step; cosines are averaged over steps (trapezoid rule, so the dense early probes do not
  outweigh the rest).

Introduced in notebooks/07_shift.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Mapping, Sequence

import numpy as np

from loopvalley import rules as R
from loopvalley.claims import Claim, judge, summary
from loopvalley.looped.arms import train_arm
from loopvalley.looped.compute import FlopCounter, equal_flop_steps, flops_at_evals, train_step_flops
from loopvalley.looped.runs import MarkovRun, markov_run
from loopvalley.parallel import map_seeds
from loopvalley.records import RunRecord
from loopvalley.registry import Context, register
from loopvalley.scales import current_scale
from loopvalley.seeds import exploratory, verdict_seeds
from loopvalley.shift.controller import (
    ATTN_WEIGHTS,
    SWITCH_POLICIES,
    ShiftConfig,
    ShiftController,
    Snapshots,
    Theorem3Probe,
    criterion_trace,
    flop_ratio_bound,
    resume_trainer,
    shift_lr,
    shift_trainer,
    switch_criterion,
    transient_drop,
    with_policy,
    wsd_lr,
)
from loopvalley.shift.plots import plot_alignment_windows, plot_comparison, plot_reach, plot_switch_sweep
from loopvalley.stats import mean_interval

SPLIT = "complex"  # the split the claims read (where Looped's advantage lives)
F3_EARLY = 50  # probes at every step 0..50 (the small-weight regime ends inside this window)
RULE_SEEDS = exploratory(10)  # rules v4 (F1–F3b) were chosen on seeds 0–9 at `small`
POLICY_SEEDS = exploratory(5)  # the switch policy was chosen on seeds 0–4 at `small` (rule v3)


@dataclass
class ShiftExperimentConfig:
    """The SHIFT experiment on the Markov language: the run, SCP, the horizon, the switch policy,
    F2's budgets, Theorem 3's probes and how many confirmatory seeds decide."""

    run: MarkovRun  # data, model, training (loopvalley.looped.runs.markov_run, WSD schedule)
    shift: ShiftConfig  # SCP: δ1, δ2, W, check window
    decay_steps: int  # D: every arm's last D steps decay η linearly to 0
    alt_decay_steps: tuple  # F1's alternative decay lengths (extra decay branches of Looped and SHIFT at f = 1)
    policy: str  # the switch policy behind the verdicts (CHOSEN_POLICY, chosen by choose_policy)
    rewarmup_steps: int  # R of the reset+rewarmup policy
    branch_fractions: tuple  # F2: SHIFT's decayed accuracy at these fractions of Looped's FLOPs (1.0 = F1's run)
    looped_fractions: tuple  # F2's both-arms alternative: Looped's decayed accuracy at these fractions (< 1)
    theorem3_every: int  # Theorem 3 probes: every step up to theorem3_dense, then every this many steps
    theorem3_dense: int
    theorem3_sequences: int  # training sequences the probe gradients are taken on
    theorem_model_steps: int  # steps of the theorem's model (linear attention, no LayerNorm) run
    n_seeds: int  # confirmatory seeds behind the verdicts
    ablation: bool = False  # also run every policy (no F2 branches) on the confirmatory seeds
    policies: tuple = SWITCH_POLICIES


SCALES = {  # probe_every in units of a 600-step run (scaled with --max-steps)
    "ci": dict(n_seeds=2, branch_fractions=(0.85, 1.0, 1.15), looped_fractions=(0.85,), ablation=False,
               probe_every=20),
    "small": dict(n_seeds=10, branch_fractions=(0.8, 0.9, 1.0, 1.1, 1.2), looped_fractions=(0.8, 0.9),
                  ablation=False, probe_every=10),
    "paper": dict(n_seeds=10, branch_fractions=(0.8, 0.9, 1.0, 1.1, 1.2), looped_fractions=(0.8, 0.9),
                  ablation=True, probe_every=10),
}
DECAY_FRAC = 0.2  # D = 20 % of Looped's steps (the lib's WSD default; not tuned)
ALT_DECAY_FRACS = (0.1,)  # F1's alternative decay: half as long
CHOSEN_POLICY = "reset"  # = choose_policy(POLICY_SELECTION) (mean F1 margin +0.50 vs keep −5.77, reset+rewarmup −0.71)


def config(scale: str | None = None, max_steps: int | None = None) -> ShiftExperimentConfig:
    """The experiment at ``scale`` (:data:`SCALES`), every run capped at ``max_steps`` if given.

    Introduced in notebooks/07_shift.
    """
    s = current_scale(scale)
    run = markov_run(s).capped(max_steps)
    S = run.train.max_steps
    D = max(1, round(DECAY_FRAC * S))
    # every arm: warmup, stable η, the last D steps decay to 0; a 512-sequence probe batch for Theorem 3
    train = replace(run.train, schedule="wsd", decay_frac=D / S, min_lr_frac=0.0, probe_batch_size=512)
    run = replace(run, train=train)
    every = max(1, round(25 * S / 600))
    v = dict(SCALES[s])
    probe_every = v.pop("probe_every")
    return ShiftExperimentConfig(
        run=run, shift=ShiftConfig(delta1=0.01, delta2=0.2, patience=3, check_every=every, loops_after_switch=run.looped_depth),
        decay_steps=D, alt_decay_steps=tuple(max(1, round(a * S)) for a in ALT_DECAY_FRACS), policy=CHOSEN_POLICY,
        rewarmup_steps=max(1, round(20 * S / 600)), theorem3_every=max(1, round(probe_every * S / 600)),
        theorem3_dense=min(F3_EARLY, S), theorem3_sequences=512, theorem_model_steps=S - D, **v)


def theorem_model_run(run: MarkovRun) -> MarkovRun:
    """The theorem's model on the same data: linear attention (no softmax), no LayerNorm, no MLP.

    Introduced in notebooks/07_shift.
    """
    return replace(run, model=replace(run.model, attn_type="linear", layernorm=False, mlp=False))


# ----------------------------------------------------------------------------------------------
# Training: one seed = Single (monitored), Looped, SHIFT (+ F2's decay branches), the theorem's model


@dataclass
class ShiftRuns:
    """One seed's records (plain, picklable)."""

    seed: int
    records: dict  # {"single", "looped", "shift"} → RunRecord ("shift": the chosen policy at f = 1)
    switch_step: int | None  # where SCP fired on Single's history (None: never, within its stable phase)
    branches: dict = field(default_factory=dict)  # policy → {f: {"acc", "flops", "steps"}} (decayed, per budget)
    policies: dict = field(default_factory=dict)  # policy → RunRecord of SHIFT at f = 1
    theorem_model: RunRecord | None = None  # Single run of the theorem's model, with Theorem 3 probes
    decays: dict = field(default_factory=dict)  # policy → {D': {"acc", "flops", "steps"}} (SHIFT at f = 1, decay D')
    looped_branches: dict = field(default_factory=dict)  # {"budget": {f: summary}, "decay": {D': summary}}
    cpu_seconds: dict = field(default_factory=dict)  # CPU seconds of this seed's jobs, by part, and "total"


def _single_probes(cfg: ShiftExperimentConfig, dense: bool = True):
    run, sc = cfg.run, cfg.shift
    S, D = run.train.max_steps, cfg.decay_steps
    monitor = ShiftController(replace(sc, act=False))
    snaps = Snapshots(steps=[k for k in range(sc.check_every, S - D + 1, sc.check_every)])

    def switched(trainer) -> bool:  # SCP has fired on the history so far: the window SHIFT trains Single ends here
        h = monitor.history
        return bool(h["loss"]) and h["step"][-1] == trainer.step and \
            criterion_trace(h, sc.delta1, sc.delta2, sc.patience)["fire"] == len(h["loss"]) - 1

    theorem = Theorem3Probe(cfg.theorem3_every, run.looped_depth, cfg.theorem3_sequences,
                            dense_until=cfg.theorem3_dense if dense else 0, until=S - D, stop_when=switched)
    return monitor, theorem, snaps  # order in the trainer: monitor, theorem, FLOP counter, snapshots


def stable_history(history: Mapping, last_step: int) -> dict:
    """The checks of a recorded SCP ``history`` up to ``last_step`` (SHIFT may only switch there)."""
    keep = [i for i, s in enumerate(history["step"]) if s <= last_step]
    return {k: [history[k][i] for i in keep] for k in ("step", "loss", "coherence")}


def _step_flops(cfg: ShiftExperimentConfig) -> tuple:
    run = cfg.run
    B, T = run.train.batch_size, run.data.markov.seq_len
    return train_step_flops(run.model, 1, B, T), train_step_flops(run.model, run.looped_depth, B, T)


def horizons(cfg: ShiftExperimentConfig, switch_step: int, budget: float) -> dict:
    """SHIFT's total steps at each budget f·``budget`` of ``branch_fractions`` (equal compute at f = 1):
    s + ⌊(f·B − s·F₁)/F₃⌋.

    Introduced in notebooks/07_shift.
    """
    f1, f3 = _step_flops(cfg)
    return {f: switch_step + equal_flop_steps(f * budget, switch_step * f1, f3) for f in cfg.branch_fractions}


def _summary(rec: RunRecord) -> dict:
    return {"acc": float(rec.eval_acc[SPLIT][-1]), "flops": float(flops_at_evals(rec)[-1]), "steps": int(rec.eval_step[-1])}


def run_shift_branches(cfg: ShiftExperimentConfig, seed: int, data, snapshot: Mapping, switch_step: int,
                       budget: float, policy: str, fractions: Sequence[float] | None = None,
                       decays: Sequence[int] = ()) -> dict:
    """SHIFT from Single's ``snapshot`` at ``switch_step`` under ``policy``: one stable trajectory to
    the last branch's decay start, then one decayed run per budget fraction (decay D) and, at Looped's
    budget, one per alternative decay length in ``decays``. Returns ``{"budget": {f: RunRecord},
    "decay": {D': RunRecord}}``.

    Introduced in notebooks/07_shift.
    """
    run, D = cfg.run, cfg.decay_steps
    tc = replace(run.train, seed=int(seed))
    sc = with_policy(cfg.shift, policy, cfg.rewarmup_steps)
    hz = horizons(cfg, switch_step, budget)
    ends = {("budget", f): (t, D) for f, t in hz.items() if fractions is None or f in fractions}
    ends.update({("decay", d): (hz[1.0], d) for d in decays})
    starts = {k: max(switch_step, t - d) for k, (t, d) in ends.items()}
    model_cfg = replace(run.model, n_loops=1)
    snaps = Snapshots(steps=[s for s in starts.values() if s > switch_step])
    stable = shift_trainer(snapshot, model_cfg, data.train, data.eval_sets, tc, sc,
                           total_steps=max(starts.values()), decay_steps=0, probes=[snaps])
    stable.record.meta.update(seed=int(seed))
    stable.run()
    out = {"budget": {}, "decay": {}}
    for (kind, key), (total, d) in sorted(ends.items()):
        start = starts[(kind, key)]
        state = snaps.states[start] if start > switch_step else snapshot
        main = kind == "budget" and key == 1.0
        btc = tc if main else replace(tc, eval_every=10**9)  # F2's and F1's extra branches: only the final evaluation
        if start > switch_step:
            tr = resume_trainer(state, model_cfg, data.train, data.eval_sets, btc,
                                probes=[ShiftController(sc), FlopCounter()], total_steps=total,
                                lr_fn=shift_lr(tc, total, d, switch_step, sc.rewarmup_steps))
        else:  # the whole post-switch run is the decay
            tr = shift_trainer(state, model_cfg, data.train, data.eval_sets, btc, sc, total_steps=total, decay_steps=d)
        rec = tr.run()
        f = key if kind == "budget" else 1.0
        rec.meta.update(name=f"shift ({policy}, {f:g}× Looped's FLOPs, decay {d})", seed=int(seed), policy=policy,
                        budget_fraction=float(f), decay_steps=int(d), flop_budget=float(f * budget))
        out[kind][key] = rec
    return out


def run_looped(cfg: ShiftExperimentConfig, seed: int, data) -> tuple[RunRecord, dict]:
    """Looped-Attn: one stable trajectory, then its decays — the run every claim compares with (S steps,
    the last D decaying; bit-identical to a run trained with that schedule, tested), and the extra
    decays F1 and F2 read: at Looped's budget with each alternative decay length, and at the budgets
    f·S·F₃ of ``looped_fractions``. Returns ``(record, {"budget": {f: summary}, "decay": {D': summary}})``.

    Introduced in notebooks/07_shift.
    """
    run, D = cfg.run, cfg.decay_steps
    S = run.train.max_steps
    tc = replace(run.train, seed=int(seed))
    _, f3 = _step_flops(cfg)
    ends = {("budget", f): (equal_flop_steps(f * S * f3, 0.0, f3), D) for f in (*cfg.looped_fractions, 1.0)}
    ends.update({("decay", d): (S, d) for d in cfg.alt_decay_steps})
    starts = {k: t - d for k, (t, d) in ends.items()}
    stable_run = replace(run, train=replace(run.train, max_steps=max(starts.values()), decay_frac=0.0))
    snaps = Snapshots(steps=sorted(set(starts.values())))
    train_arm("looped", stable_run, seed, data, probes=[FlopCounter(), snaps])
    model_cfg = replace(run.model, n_loops=run.looped_depth)
    main, out = None, {"budget": {}, "decay": {}}
    for (kind, key), (total, d) in sorted(ends.items()):
        is_main = kind == "budget" and key == 1.0
        btc = tc if is_main else replace(tc, eval_every=10**9)  # the extra decays: only the final evaluation
        tr = resume_trainer(snaps.states[total - d], model_cfg, data.train, data.eval_sets, btc,
                            probes=[FlopCounter()], total_steps=total, lr_fn=wsd_lr(tc, total, d))
        rec = tr.run()
        rec.meta.update(train_cfg=tc.to_dict(), decay_steps=int(d))
        out[kind][key] = _summary(rec)
        if is_main:
            main = rec
    return main, out


def run_seed(seed: int, cfg: ShiftExperimentConfig, policies: Sequence[str] | None = None,
             branch_policies: Sequence[str] | None = None, theorem_model: bool = True) -> ShiftRuns:
    """Everything one seed needs: Single (SCP monitor, snapshots, Theorem 3 probes), Looped (with its
    extra decays), SHIFT under each of ``policies`` (default: the chosen one), with F2's decay branches
    and F1's alternative decays for ``branch_policies`` (default: the chosen one), and the theorem's
    model's Single run. ``cpu_seconds`` holds each part's ``time.process_time()``.

    Introduced in notebooks/07_shift.
    """
    t0 = time.process_time()
    cpu = {}

    def lap(part):
        nonlocal t0
        t = time.process_time()
        cpu[part] = cpu.get(part, 0.0) + t - t0
        t0 = t

    run, D = cfg.run, cfg.decay_steps
    S = run.train.max_steps
    policies = [cfg.policy] if policies is None else list(policies)
    branch_policies = [cfg.policy] if branch_policies is None else list(branch_policies)
    data = run.data.sample(seed)
    monitor, theorem, snaps = _single_probes(cfg)
    single, _ = train_arm("single", run, seed, data, probes=[monitor, theorem, FlopCounter(), snaps])
    lap("single")
    looped, looped_branches = run_looped(cfg, seed, data)
    lap("looped")
    budget = float(flops_at_evals(looped)[-1])  # equal compute: SHIFT may spend what Looped spent
    s = switch_criterion(stable_history(single.probes["shift"], S - D), cfg.shift.delta1, cfg.shift.delta2,
                         cfg.shift.patience)
    out = ShiftRuns(int(seed), {"single": single, "looped": looped}, s, looped_branches=looped_branches)
    for policy in dict.fromkeys([cfg.policy, *policies, *branch_policies]):
        if s is None:  # never switched: "SHIFT" is Single's run (counted as not switched)
            rec = RunRecord.from_dict(single.to_dict())
            rec.meta.update(name="shift (never switched)", switch_step=None, policy=policy)
            out.policies[policy] = rec
            out.branches[policy] = {1.0: {"acc": float(rec.eval_acc[SPLIT][-1]),
                                          "flops": float(flops_at_evals(rec)[-1]), "steps": S}}
            out.decays[policy] = {}
            continue
        extra = policy in branch_policies
        recs = run_shift_branches(cfg, seed, data, snaps.states[s], s, budget, policy, None if extra else (1.0,),
                                  cfg.alt_decay_steps if extra else ())
        out.policies[policy] = recs["budget"][1.0]
        out.branches[policy] = {f: _summary(r) for f, r in recs["budget"].items()}
        out.decays[policy] = {d: _summary(r) for d, r in recs["decay"].items()}
    out.records["shift"] = out.policies[cfg.policy]
    lap("shift")
    if theorem_model:
        out.theorem_model = run_theorem_model(cfg, seed, data, steps=switch_window_end(out, cfg))
        lap("theorem_model")
    out.cpu_seconds = {**cpu, "total": float(sum(cpu.values()))}
    return out


def run_theorem_model(cfg: ShiftExperimentConfig, seed: int, data=None, steps: int | None = None) -> RunRecord:
    """Single-Attn of the theorem's model (:func:`theorem_model_run`) for ``steps`` steps (default
    ``theorem_model_steps``, the last step SCP may switch at; the experiment runs it to the seed's
    switch step, the end of F3b's window) at a constant η after warmup — so a shorter run is the
    start of a longer one — probed by :class:`loopvalley.shift.controller.Theorem3Probe` at every step
    to ``theorem3_dense``, then every ``theorem3_every`` steps, and at the last step.

    Introduced in notebooks/07_shift.
    """
    run = theorem_model_run(cfg.run)
    steps = cfg.theorem_model_steps if steps is None else max(int(steps), cfg.theorem3_dense)
    run = replace(run, train=replace(run.train, max_steps=steps, schedule="warmup_constant"))
    probe = Theorem3Probe(cfg.theorem3_every, run.looped_depth, cfg.theorem3_sequences, dense_until=cfg.theorem3_dense)
    rec, _ = train_arm("single", run, seed, data, probes=[probe])
    rec.meta["name"] = "single (theorem's model)"
    return rec


def run_seeds(seeds: Sequence[int], cfg: ShiftExperimentConfig, workers: int | None = None, threads: int = 1,
              progress: bool = False, **kwargs) -> list[ShiftRuns]:
    """:func:`run_seed` for every seed, seeds side by side (:func:`loopvalley.parallel.map_seeds`).

    Introduced in notebooks/07_shift.
    """
    return map_seeds(partial(run_seed, cfg=cfg, **kwargs), seeds, workers=workers, threads=threads, progress=progress)


def records_of(runs: Sequence[ShiftRuns]) -> dict:
    """``{"<seed>/<arm>": RunRecord}`` of ``runs`` (arms ``single``, ``looped``, ``shift/<policy>``,
    ``theorem_model``), the SCP switch step, the decay branches' summaries and the CPU seconds in the
    records' ``meta`` — what ``reproduce`` ships and :func:`runs_from_records` reads back.

    Introduced in notebooks/07_shift.
    """
    out = {}
    for r in runs:
        single = RunRecord.from_dict(r.records["single"].to_dict())
        single.meta["seed_cpu_seconds"] = dict(r.cpu_seconds)
        looped = RunRecord.from_dict(r.records["looped"].to_dict())
        looped.meta["branches"] = {kind: {f"{k:g}": v for k, v in d.items()} for kind, d in r.looped_branches.items()}
        out[f"{r.seed}/single"], out[f"{r.seed}/looped"] = single, looped
        for p, rec in r.policies.items():
            rec = RunRecord.from_dict(rec.to_dict())
            rec.meta.update(scp_switch_step=r.switch_step, policy=p,
                            branches={f"{f:g}": v for f, v in r.branches.get(p, {}).items()},
                            decays={f"{d:g}": v for d, v in r.decays.get(p, {}).items()})
            out[f"{r.seed}/shift/{p}"] = rec
        if r.theorem_model is not None:
            out[f"{r.seed}/theorem_model"] = r.theorem_model
    return out


def runs_from_records(records: Mapping, policy: str = CHOSEN_POLICY) -> list[ShiftRuns]:
    """The :class:`ShiftRuns` list back from :func:`records_of` (e.g. shipped records), ``policy`` as
    the runs' SHIFT arm.

    Introduced in notebooks/07_shift.
    """
    seeds = sorted({int(k.split("/")[0]) for k in records})
    out = []
    for sd in seeds:
        pols = {k.split("/")[2]: v for k, v in records.items() if k.startswith(f"{sd}/shift/")}
        looped = records[f"{sd}/looped"]
        lb = {kind: {float(k) if kind == "budget" else int(float(k)): v for k, v in d.items()}
              for kind, d in looped.meta.get("branches", {}).items()}
        r = ShiftRuns(sd, {"single": records[f"{sd}/single"], "looped": looped},
                      pols[policy].meta.get("scp_switch_step"), policies=pols,
                      branches={p: {float(f): v for f, v in rec.meta.get("branches", {}).items()} for p, rec in pols.items()},
                      theorem_model=records.get(f"{sd}/theorem_model"),
                      decays={p: {int(float(d)): v for d, v in rec.meta.get("decays", {}).items()} for p, rec in pols.items()},
                      looped_branches=lb, cpu_seconds=dict(records[f"{sd}/single"].meta.get("seed_cpu_seconds", {})))
        r.records["shift"] = pols[policy]
        out.append(r)
    return out


# ----------------------------------------------------------------------------------------------
# Measuring the claims from the records


def final_acc(record: RunRecord) -> float:
    """Accuracy (points) on the complex split at the last evaluation — the end of the decay."""
    return 100 * float(record.eval_acc[SPLIT][-1])


def window_acc(record: RunRecord, last_steps: int) -> float:
    """Mean accuracy (points) on the complex split over the evaluations in the last ``last_steps`` steps."""
    steps, acc = record.curve(SPLIT)
    return 100 * float(np.mean(acc[steps >= steps[-1] - last_steps]))


def steps_to_reach(record: RunRecord, target: float) -> float:
    """First evaluation step with complex-split accuracy ≥ ``target`` (a fraction); ∞ if never."""
    steps, acc = record.curve(SPLIT)
    hit = np.flatnonzero(acc >= target)
    return float(steps[hit[0]]) if len(hit) else math.inf


def flops_to_reach(branches: Mapping, target: float, budget: float, interp: str = "linear") -> dict:
    """F2's measured ratio from decayed accuracies at several budgets: ``{"ratio", "censored"}``.

    ``branches`` maps a budget fraction to ``{"acc", "flops"}`` (decayed accuracy, FLOPs spent).
    The ratio is the FLOPs (÷ ``budget``) at which the accuracy first reaches ``target``, linearly
    interpolated between consecutive budgets (``interp="grid"``: the first budget that reaches it);
    ``censored`` is ``"below"`` when the smallest budget is already there (ratio = that budget: an
    upper bound), ``"above"`` when the largest is not (ratio = the largest: a lower bound), else ``""``.

    Introduced in notebooks/07_shift.
    """
    pts = sorted((b["flops"] / budget, b["acc"]) for b in branches.values())
    x, y = [p[0] for p in pts], [p[1] for p in pts]
    if y[0] >= target:
        return {"ratio": x[0], "censored": "below"}
    for i in range(1, len(x)):
        if y[i] >= target:  # first crossing between budgets i−1 and i
            if interp == "grid":
                return {"ratio": x[i], "censored": ""}
            t = (target - y[i - 1]) / (y[i] - y[i - 1])
            return {"ratio": x[i - 1] + t * (x[i] - x[i - 1]), "censored": ""}
    return {"ratio": x[-1], "censored": "above"}


def time_average(steps, values, lo: float, hi: float) -> float:
    """The step-weighted mean of ``values`` over the probes in [``lo``, ``hi``]: the trapezoid rule,
    (1/(x_n − x_0)) Σ_i ½(y_i + y_{i+1})(x_{i+1} − x_i), so dense and sparse probes weigh by the
    steps they stand for (one probe: its value; none: NaN).

    Introduced in notebooks/07_shift.
    """
    x, y = np.asarray(steps, float), np.asarray(values, float)
    m = (x >= lo) & (x <= hi) & np.isfinite(y)
    x, y = x[m], y[m]
    if not len(x):
        return math.nan
    if len(x) == 1 or x[-1] == x[0]:
        return float(np.mean(y))
    return float(np.trapezoid(y, x) / (x[-1] - x[0]))


def exit_step(record: RunRecord, threshold: float, weights: Sequence[str] = ("W_Q", "W_K")) -> float:
    """The first probe step at which the Single/Looped gradient cosine of any of ``weights`` is below
    ``threshold`` — where the run leaves the small-weight regime (∇Looped ≈ 3∇Single); ∞ if never.

    Introduced in notebooks/07_shift.
    """
    p = record.probes["theorem3"]
    steps = np.asarray(p["step"], float)
    c = np.min([np.asarray(p[f"cos_{w}"], float) for w in weights], axis=0)
    hit = np.flatnonzero(c < threshold)
    return float(steps[hit[0]]) if len(hit) else math.inf


def alignment_window(record: RunRecord, lo: float, hi: float, weights: Sequence[str] = ATTN_WEIGHTS) -> dict:
    """``{W: time-averaged cosine over steps [lo, hi]}`` of a run's Theorem 3 probe (:func:`time_average`).

    Introduced in notebooks/07_shift.
    """
    p = record.probes["theorem3"]
    return {w: time_average(p["step"], p[f"cos_{w}"], lo, hi) for w in weights}


def alignment_stats(record: RunRecord, early: int = F3_EARLY) -> dict:
    """Theorem 3 along a run: mean gradient cosine per weight over probes at steps 0..``early`` and
    after; the premises at step 0, at ``early`` and at the end.

    Introduced in notebooks/07_shift.
    """
    p = record.probes["theorem3"]
    steps = np.asarray(p["step"])
    out = {}
    for w in ATTN_WEIGHTS:
        c = np.asarray(p[f"cos_{w}"], dtype=float)
        out[f"early_cos_{w}"] = float(np.nanmean(c[steps <= early]))
        out[f"late_cos_{w}"] = float(np.nanmean(c[steps > early])) if (steps > early).any() else math.nan
        out[f"min_early_cos_{w}"] = float(np.nanmin(c[steps <= early]))
    at = {"init": 0, "early": int(np.argmin(np.abs(steps - early))), "end": len(steps) - 1}
    for key in ("dd_QK", "psd_QK", "psd_OV", "psd_QK_OV"):
        for name, i in at.items():
            out[f"{key}_{name}"] = float(p[key][i])
    return out


def switch_window_end(r: ShiftRuns, cfg: ShiftExperimentConfig) -> int:
    """The last step of the window SHIFT uses Single-Attn on this seed: its switch step (S − D, the last
    step SCP may switch at, when it never switched).

    Introduced in notebooks/07_shift.
    """
    return int(r.switch_step) if r.switch_step is not None else cfg.run.train.max_steps - cfg.decay_steps


def f3a_window(r: ShiftRuns, cfg: ShiftExperimentConfig, which: str = "to_switch") -> tuple:
    """F3a's window [lo, hi] of steps along Single's run: ``to_switch`` (0 to the switch step, the
    window SHIFT uses), ``early`` (0–50), ``second_half`` (the second half of ``to_switch``).

    Introduced in notebooks/07_shift.
    """
    s = switch_window_end(r, cfg)
    windows = {"to_switch": (0, s), "early": (0, cfg.theorem3_dense), "second_half": (s / 2, s)}
    if which not in windows:
        raise ValueError(f"which must be one of {tuple(windows)}, got {which!r}")
    return windows[which]


def f3b_window(r: ShiftRuns, cfg: ShiftExperimentConfig, exit_cos: float = 0.99) -> tuple:
    """F3b's window [t*, s] along the theorem's model's run: t* = :func:`exit_step` at ``exit_cos``
    (where the small-weight regime ends), s = the seed's switch step (the end of the window SHIFT uses).

    Introduced in notebooks/07_shift.
    """
    return exit_step(r.theorem_model, exit_cos), switch_window_end(r, cfg)


def f2_reach(r: ShiftRuns, cfg: ShiftExperimentConfig, policy: str | None = None, target: str = "looped_final",
             grid: str = "all", interp: str = "linear", cost: str = "flops", c_wall: float = 0.48) -> dict:
    """F2 for one seed: ``{"ratio", "censored", "target", "looped_ratio"}`` — SHIFT's compute to reach
    the target ÷ Looped's.

    - ``target="looped_final"``: Looped's final accuracy; the denominator is Looped's whole budget
      (Looped reaches its final accuracy at its end). ``"both_within_1"``: Looped's final − 1 point,
      for both arms: SHIFT's FLOPs to reach it ÷ Looped's own FLOPs to reach it (from Looped's decayed
      accuracies at ``looped_fractions`` and 1).
    - ``grid``: ``all`` budgets, or ``coarse`` (the smallest, 1 and the largest); ``interp`` as in
      :func:`flops_to_reach`.
    - ``cost="time"``: a SHIFT run that spends r·S·F₃ with s Single steps takes (r + (s/S)(c_wall − c))
      of Looped's time, c = F₁/F₃, c_wall the measured per-step time ratio.

    Introduced in notebooks/07_shift.
    """
    policy = policy or cfg.policy
    S = cfg.run.train.max_steps
    looped = r.records["looped"]
    budget = float(flops_at_evals(looped)[-1])
    L = final_acc(looped)
    br = {f: {**v, "acc": 100 * v["acc"]} for f, v in r.branches[policy].items()}
    if grid == "coarse":
        fs = sorted(br)
        br = {f: v for f, v in br.items() if f in (fs[0], 1.0, fs[-1])}
    tgt = L if target == "looped_final" else L - 1.0
    reach = flops_to_reach(br, tgt, budget, interp)
    if r.switch_step is None and reach["censored"] == "above":  # never switched, never there
        reach = {"ratio": max(cfg.branch_fractions), "censored": "above"}
    out = {**reach, "target": tgt, "looped_ratio": 1.0, "looped_censored": ""}
    if target == "both_within_1":
        lb = {f: {**v, "acc": 100 * v["acc"]} for f, v in r.looped_branches["budget"].items()}
        lr = flops_to_reach(lb, tgt, budget, interp)
        out.update(ratio=reach["ratio"] / lr["ratio"], looped_ratio=lr["ratio"], looped_censored=lr["censored"])
    elif target != "looped_final":
        raise ValueError(f"target must be 'looped_final' or 'both_within_1', got {target!r}")
    if cost == "time" and r.switch_step is not None:
        f1, f3 = _step_flops(cfg)
        out["ratio"] = reach["ratio"] + r.switch_step / S * (c_wall - f1 / f3)  # r + (s/S)(c_wall − c)
    return out


def measure_seed(r: ShiftRuns, cfg: ShiftExperimentConfig, policy: str | None = None) -> dict:
    """The numbers behind F1–F3b for one seed (accuracies in points) under ``policy`` (default: the
    experiment's), at every claim's main analysis; the alternatives are recomputed by the claims.

    Introduced in notebooks/07_shift.
    """
    policy = policy or cfg.policy
    run = cfg.run
    single, looped, shift = r.records["single"], r.records["looped"], r.policies[policy]
    S, D = run.train.max_steps, cfg.decay_steps
    f1, f3 = _step_flops(cfg)
    c = f1 / f3
    acc = {"single": final_acc(single), "looped": final_acc(looped), "shift": final_acc(shift)}
    reach = f2_reach(r, cfg, policy)
    t_l = steps_to_reach(looped, float(looped.eval_acc[SPLIT][-1]))  # where Looped first reaches its final accuracy
    switched = r.switch_step is not None
    out = {
        "seed": r.seed, "policy": policy,
        "single_final": acc["single"], "looped_final": acc["looped"], "shift_final": acc["shift"],
        "f1_gap": acc["shift"] - acc["looped"], "f1_margin": acc["shift"] - acc["looped"] + 1.0,
        "switched": switched, "switch_step": r.switch_step if switched else math.inf,
        "shift_total_steps": int(shift.eval_step[-1]),
        "transient_drop": 100 * transient_drop(shift, SPLIT, window=4 * cfg.shift.check_every) if switched else 0.0,
        "looped_stable_end": 100 * _acc_at(looped, S - D),
        "shift_stable_end": 100 * _acc_at(shift, int(shift.eval_step[-1]) - D),
        "looped_final_window": window_acc(looped, D // 2), "shift_final_window": window_acc(shift, D // 2),
        "looped_final_decay": {d: 100 * v["acc"] for d, v in r.looped_branches.get("decay", {}).items()},
        "shift_final_decay": {d: 100 * v["acc"] for d, v in r.decays.get(policy, {}).items()},
        "target": reach["target"], "looped_steps_to_target": t_l,
        "f2_ratio": reach["ratio"], "f2_censored": reach["censored"], "f2_margin": 1 - reach["ratio"],
        "f2_bound": flop_ratio_bound(r.switch_step, t_l, S, c) if switched else math.inf,
        "cost_ratio": c,
        "branch_acc": {f"{f:g}": 100 * v["acc"] for f, v in sorted(r.branches[policy].items())},
        "looped_branch_acc": {f"{f:g}": 100 * v["acc"] for f, v in sorted(r.looped_branches.get("budget", {}).items())},
        "window_end": switch_window_end(r, cfg),
    }
    out.update({f"exp_{k}": v for k, v in alignment_stats(single).items()})
    lo, hi = f3a_window(r, cfg)
    out.update({f"f3a_cos_{w}": v for w, v in alignment_window(single, lo, hi).items()})
    if r.theorem_model is not None:
        out.update({f"thm_{k}": v for k, v in alignment_stats(r.theorem_model).items()})
        for thr in (0.99, 0.95):
            out[f"thm_exit_{thr:g}"] = exit_step(r.theorem_model, thr)
        lo, hi = f3b_window(r, cfg)
        out.update({f"f3b_cos_{w}": v for w, v in alignment_window(r.theorem_model, lo, hi).items()})
    return out


def _acc_at(record: RunRecord, step: int) -> float:
    steps, acc = record.curve(SPLIT)
    return float(acc[int(np.argmin(np.abs(steps - step)))])


# ----------------------------------------------------------------------------------------------
# The switch policy: chosen on the exploratory seeds by a rule written before the confirmatory run


def choose_policy(record: Mapping) -> str:
    """The rule: the policy with the highest mean F1 margin (SHIFT − Looped + 1 point, final
    complex-split accuracy at equal compute after the common decay) over the exploratory seeds of
    ``record`` (:data:`POLICY_SELECTION`); ties go to the smaller mean transient drop.

    Introduced in notebooks/07_shift.
    """
    f1 = record["f1_margin"]
    drop = record.get("transient_drop", {})
    return max(f1, key=lambda p: (round(float(np.mean(f1[p])), 6), -float(np.mean(drop.get(p, [0.0])))))


def explore_policies(scale: str = "small", seeds: Sequence[int] = POLICY_SEEDS, workers: int | None = None) -> dict:
    """Recompute the policy-selection record on exploratory ``seeds``: per policy, per seed, the F1
    margin, the transient drop, F2's ratio and the switch step (every policy with F2's branches).
    This is how :data:`POLICY_SELECTION` was made (at ``small``, seeds 0–4; about 10 minutes).

    Introduced in notebooks/07_shift.
    """
    cfg = config(scale)
    runs = run_seeds(seeds, cfg, workers=workers, policies=cfg.policies, branch_policies=cfg.policies)
    return selection_record(runs, cfg, scale)


def selection_record(runs: Sequence[ShiftRuns], cfg: ShiftExperimentConfig, scale: str) -> dict:
    """The per-policy, per-seed table :func:`choose_policy` reads (from runs with every policy).

    Introduced in notebooks/07_shift.
    """
    rec = {"scale": scale, "seeds": [r.seed for r in runs], "rule_version": R.rule("F1").version,
           "decay_steps": cfg.decay_steps, "rewarmup_steps": cfg.rewarmup_steps}
    keys = ("f1_margin", "transient_drop", "f2_ratio", "shift_final")
    for k in keys:
        rec[k] = {}
    for p in cfg.policies:
        per = [measure_seed(r, cfg, p) for r in runs]
        for k in keys:
            rec[k][p] = [round(float(m[k]), 3) for m in per]
    first = [measure_seed(r, cfg, cfg.policies[0]) for r in runs]
    rec["looped_final"] = [round(m["looped_final"], 3) for m in first]
    rec["single_final"] = [round(m["single_final"], 3) for m in first]
    rec["switch_step"] = [m["switch_step"] for m in first]
    return rec


# The record the policy was chosen on: `explore_policies("small", exploratory(5))`, run once before any
# confirmatory run (docs/exploration/shift.md). Per policy, per exploratory seed 0–4: the F1 margin
# (points), the accuracy lost right after the switch (points), F2's FLOP ratio (censored at 1.2) and
# SHIFT's final accuracy; Looped's and Single's final accuracies and SCP's switch step per seed.
POLICY_SELECTION: dict = {
    "scale": "small", "seeds": [0, 1, 2, 3, 4], "rule_version": "3", "decay_steps": 120, "rewarmup_steps": 20,
    "f1_margin": {"keep": [1.406, -11.563, -5.171, -13.091, -0.43], "reset": [0.446, 1.173, -0.178, 0.332, 0.748],
                  "reset+rewarmup": [-1.36, -0.121, -0.884, -0.575, -0.616]},
    "transient_drop": {"keep": [11.659, 9.939, 5.787, 6.436, 7.469], "reset": [7.015, 8.506, 0.444, 2.829, 5.229],
                       "reset+rewarmup": [8.105, 3.368, 5.352, 3.188, 6.48]},
    "f2_ratio": {"keep": [0.892, 1.198, 1.2, 1.2, 1.165], "reset": [0.966, 0.846, 1.027, 0.947, 0.891],
                 "reset+rewarmup": [1.129, 1.016, 1.2, 1.07, 1.08]},
    "shift_final": {"keep": [70.265, 57.809, 65.13, 55.655, 70.75], "reset": [69.304, 70.546, 70.123, 69.078, 71.929],
                    "reset+rewarmup": [67.499, 69.251, 69.418, 68.17, 70.565]},
    "looped_final": [69.859, 70.372, 71.302, 69.745, 72.181], "single_final": [53.667, 55.245, 53.547, 54.952, 56.036],
    "switch_step": [125, 125, 175, 175, 150],
}


# ----------------------------------------------------------------------------------------------
# The claims: one function each (measure → margin under every declared choice → claim)


def _col(per, k):
    return [p[k] for p in per]


def interval(values) -> dict:
    """``{"mean", "ci_low", "ci_high", "per_seed"}`` (Student-t 95 %; only the mean below 2 values)."""
    v = [float(x) for x in values]
    if len(v) >= 2 and all(math.isfinite(x) for x in v):
        m, lo, hi = mean_interval(v)
        return {"mean": m, "ci_low": lo, "ci_high": hi, "per_seed": v}
    return {"mean": float(np.mean(v)) if v else math.nan, "per_seed": v}


def _finite(v):
    return None if v is None or not math.isfinite(v) else float(v)


def _mean(v) -> float:
    """Mean of the finite values of ``v`` (NaN, without a warning, when there are none)."""
    v = [x for x in v if x is not None and math.isfinite(x)]
    return float(np.mean(v)) if v else math.nan


def _range(v, fmt="{:.0f}"):
    v = [x for x in v if x is not None and math.isfinite(x)]
    if not v:
        return "n/a"
    lo, hi = min(v), max(v)
    return fmt.format(lo) if lo == hi else f"{fmt.format(lo)} to {fmt.format(hi)}"


def claim_f1(runs: Sequence[ShiftRuns], cfg: ShiftExperimentConfig, scale: str, seeds: Sequence[int],
             ablation: Mapping | None = None) -> Claim:
    """F1: per seed, SHIFT − Looped final complex-split accuracy + the tolerance; every choice
    (tolerance, final window, decay length) recomputed from the runs."""
    per = [measure_seed(r, cfg) for r in runs]
    S = cfg.run.train.max_steps

    def finals(p, spec):
        d = float(spec["decay"])
        if d == 0.0:  # no decay: the stable-phase accuracy where both have spent budget − D·F₃
            return p["shift_stable_end"], p["looped_stable_end"]
        if abs(d - DECAY_FRAC) > 1e-9:
            D2 = max(1, round(d * S))
            return p["shift_final_decay"].get(D2), p["looped_final_decay"].get(D2)
        if spec["final"] == "decay_half":
            return p["shift_final_window"], p["looped_final_window"]
        return p["shift_final"], p["looped_final"]

    def margins(spec):
        out = []
        for p in per:
            a, b = finals(p, spec)
            out.append(None if a is None or b is None else a - b + float(spec["tol"]))
        return {"gap": out}

    sw = _col(per, "switched")
    never = [p["seed"] for p in per if not p["switched"]]
    gap = _col(per, "f1_gap")
    note = (f"switch rate {np.mean(sw):.0%}" + (f" (never: seeds {never})" if never else "")
            + f"; after the common {cfg.decay_steps}-step decay SHIFT − Looped = {np.mean(gap):+.2f} points (per seed "
            f"{_range(gap, '{:+.1f}')}): SHIFT {np.mean(_col(per, 'shift_final')):.1f} %, Looped "
            f"{np.mean(_col(per, 'looped_final')):.1f} %, Single {np.mean(_col(per, 'single_final')):.1f} %; "
            f"switch steps {_range(_col(per, 'switch_step'))}; policy '{cfg.policy}'")
    return judge(
        "F1", margins, scale=scale, seeds=seeds, note=note, decay_steps=cfg.decay_steps, policy=cfg.policy,
        measured={"policy": cfg.policy, "decay_steps": cfg.decay_steps, "alt_decay_steps": list(cfg.alt_decay_steps),
                  "shift_minus_looped_points": interval(gap),
                  "shift_final": summary(_col(per, "shift_final")), "looped_final": summary(_col(per, "looped_final")),
                  "single_final": summary(_col(per, "single_final")),
                  "switch_rate": float(np.mean(sw)), "never_switched_seeds": never,
                  "switch_step": _col(per, "switch_step"), "shift_total_steps": _col(per, "shift_total_steps"),
                  "transient_drop_points": summary(_col(per, "transient_drop")),
                  "looped_at_stable_end": summary(_col(per, "looped_stable_end")),
                  "shift_at_stable_end": summary(_col(per, "shift_stable_end")),
                  "policy_selection_exploratory": POLICY_SELECTION,
                  **({"policy_ablation_confirmatory": ablation} if ablation else {})})


def claim_f2(runs: Sequence[ShiftRuns], cfg: ShiftExperimentConfig, scale: str, seeds: Sequence[int]) -> Claim:
    """F2: per seed, 1 − SHIFT's FLOPs to reach Looped's final accuracy ÷ Looped's FLOPs; every choice
    (target and tolerance, budget grid, interpolation, FLOPs or time) recomputed from the runs."""
    rule = R.rule("F2")
    c_wall = float(rule.params["c_wall"])
    per = [measure_seed(r, cfg) for r in runs]

    def margins(spec):
        return {"saving": [1 - f2_reach(r, cfg, target=spec["target"], grid=spec["grid"], interp=spec["interp"],
                                        cost=spec["cost"], c_wall=c_wall)["ratio"] for r in runs]}

    ratio, bound = _col(per, "f2_ratio"), _col(per, "f2_bound")
    cens = {k: [p["seed"] for p in per if p["f2_censored"] == k] for k in ("below", "above")}
    both = [f2_reach(r, cfg, target="both_within_1") for r in runs]
    b = [v for v in bound if math.isfinite(v)]
    note = (f"SHIFT needed {np.mean(ratio):.2f}× Looped's FLOPs to reach Looped's final accuracy (per seed "
            f"{_range(ratio, '{:.2f}')}"
            + (f"; not reached by {max(cfg.branch_fractions):g}× on seeds {cens['above']}" if cens["above"] else "")
            + (f"; already at {min(cfg.branch_fractions):g}× on seeds {cens['below']}" if cens["below"] else "")
            + f"); with 1 point given to both arms, SHIFT's FLOPs to Looped's final − 1 ÷ Looped's own = "
            f"{np.mean([x['ratio'] for x in both]):.2f} (Looped got there at {np.mean([x['looped_ratio'] for x in both]):.2f}× "
            f"its budget); best case for the observed switch steps"
            + (f" {np.mean(b):.2f}× (every Single step a perfect substitute)" if b else ": none (never switched)"))
    return judge(
        "F2", margins, scale=scale, seeds=seeds, note=note, budgets=list(cfg.branch_fractions),
        looped_budgets=list(cfg.looped_fractions),
        measured={"flop_ratio": interval(ratio), "best_case_bound": summary(bound),
                  "censored_below_seeds": cens["below"], "censored_above_seeds": cens["above"],
                  "looped_steps_to_its_final": _col(per, "looped_steps_to_target"),
                  "switch_step": _col(per, "switch_step"), "cost_ratio_single_over_looped": per[0]["cost_ratio"],
                  "c_wall": c_wall, "branch_fractions": list(cfg.branch_fractions), "branch_acc": _col(per, "branch_acc"),
                  "looped_fractions": list(cfg.looped_fractions), "looped_branch_acc": _col(per, "looped_branch_acc"),
                  "target_accuracy": summary(_col(per, "target")),
                  "both_within_1": {"ratio": interval([x["ratio"] for x in both]),
                                    "looped_ratio": summary([x["looped_ratio"] for x in both]),
                                    "looped_censored": [x["looped_censored"] for x in both]}})


def claim_f3a(runs: Sequence[ShiftRuns], cfg: ShiftExperimentConfig, scale: str, seeds: Sequence[int]) -> Claim:
    """F3a: per seed, the time-averaged W_Q (W_K) gradient cosine along Single's run in the experiments'
    model, from step 0 to SHIFT's switch step, − the alignment threshold; every choice (window,
    threshold) recomputed from the records."""
    def margins(spec):
        out = {"W_Q": [], "W_K": []}
        for r in runs:
            lo, hi = f3a_window(r, cfg, spec["window"])
            a = alignment_window(r.records["single"], lo, hi, ("W_Q", "W_K"))
            for w in out:
                out[w].append(_finite(a[w] - float(spec["aligned"])))
        return out

    per = [measure_seed(r, cfg) for r in runs]
    ends = _col(per, "window_end")
    early = {w: [alignment_window(r.records["single"], *f3a_window(r, cfg, "early"))[w] for r in runs] for w in ("W_Q", "W_K")}
    lows = {w: [float(np.min(np.asarray(r.records["single"].probes["theorem3"][f"cos_{w}"], float)[
        np.asarray(r.records["single"].probes["theorem3"]["step"]) <= e])) for r, e in zip(runs, ends)] for w in ("W_Q", "W_K")}
    note = (f"experiments' model, steps 0 to the switch ({_range(ends)}): time-averaged cosine W_Q "
            f"{_mean(_col(per, 'f3a_cos_W_Q')):.2f} (per seed {_range(_col(per, 'f3a_cos_W_Q'), '{:.2f}')}), W_K "
            f"{_mean(_col(per, 'f3a_cos_W_K')):.2f} ({_range(_col(per, 'f3a_cos_W_K'), '{:.2f}')}); the lowest single "
            f"probe in the window: W_Q {np.min(lows['W_Q']):.2f}, W_K {np.min(lows['W_K']):.2f}; over steps 0–{cfg.theorem3_dense}: "
            f"W_Q {np.mean(early['W_Q']):.2f}, W_K {np.mean(early['W_K']):.2f}")
    return judge("F3a", margins, scale=scale, seeds=seeds, note=note, every=cfg.theorem3_every,
                 measured={"window_end": ends, "time_averaged_cos": {w: summary(_col(per, f"f3a_cos_{w}")) for w in ATTN_WEIGHTS},
                           "early_window_cos": {w: summary(v) for w, v in early.items()},
                           "min_probe_cos_in_window": {w: summary(v) for w, v in lows.items()},
                           "experiments_model": {k[4:]: summary(_col(per, k)) for k in per[0] if k.startswith("exp_")}})


def claim_f3b(runs: Sequence[ShiftRuns], cfg: ShiftExperimentConfig, scale: str, seeds: Sequence[int]) -> Claim:
    """F3b: per seed, along the theorem's model's run, the time-averaged W_Q (W_K) gradient cosine from
    the first step it drops below 0.99 (the end of the small-weight regime) to SHIFT's switch step,
    − the alignment threshold; every choice (exit cosine, window end, threshold) recomputed."""
    def margins(spec):
        out = {"W_Q": [], "W_K": []}
        for r in runs:
            lo, hi = f3b_window(r, cfg, float(spec["exit"]))
            a = alignment_window(r.theorem_model, lo, hi, ("W_Q", "W_K")) if lo < hi else {"W_Q": math.nan, "W_K": math.nan}
            for w in out:
                out[w].append(_finite(a[w] - float(spec["aligned"])))
        return out

    per = [measure_seed(r, cfg) for r in runs]
    exits = _col(per, "thm_exit_0.99")
    ends = _col(per, "window_end")
    share = [e / cfg.theorem3_dense for e in exits if math.isfinite(e)]
    swing = {w: [(float(np.min(c)), float(np.max(c))) for c in (
        np.asarray(r.theorem_model.probes["theorem3"][f"cos_{w}"], float)[
            (np.asarray(r.theorem_model.probes["theorem3"]["step"]) >= lo) & (np.asarray(r.theorem_model.probes["theorem3"]["step"]) <= hi)]
        for r, (lo, hi) in zip(runs, (f3b_window(r, cfg) for r in runs))) if c.size] for w in ("W_Q", "W_K")}
    note = (f"theorem's model: W_Q and W_K cosines ≥ 0.99 from step 0 until step {_range(exits)} "
            + (f"({_range([100 * x for x in share])} % of the 0–{cfg.theorem3_dense} window v3 averaged)" if share else "")
            + f"; from there to the switch ({_range(ends)}) the time-averaged cosine is W_Q "
            f"{_mean(_col(per, 'f3b_cos_W_Q')):.2f} ({_range(_col(per, 'f3b_cos_W_Q'), '{:.2f}')}), W_K "
            f"{_mean(_col(per, 'f3b_cos_W_K')):.2f} ({_range(_col(per, 'f3b_cos_W_K'), '{:.2f}')})"
            + (f", single probes ranging {min(a for a, _ in swing['W_Q']):.2f} to {max(b for _, b in swing['W_Q']):.2f} (W_Q)"
               if swing["W_Q"] else "")
            + f"; below 0.95 first at step {_range(_col(per, 'thm_exit_0.95'))}")
    return judge("F3b", margins, scale=scale, seeds=seeds, note=note,
                 measured={"exit_step_0.99": exits, "exit_step_0.95": _col(per, "thm_exit_0.95"), "window_end": ends,
                           "time_averaged_cos": {w: summary(_col(per, f"f3b_cos_{w}")) for w in ATTN_WEIGHTS},
                           "theorem_model": {k[4:]: summary(_col(per, k)) for k in per[0] if k.startswith("thm_")
                                             and not k.startswith("thm_exit")}})


def ablation_summary(runs: Sequence[ShiftRuns], cfg: ShiftExperimentConfig) -> dict:
    """Every policy trained on ``runs``: per policy, the F1 margin and transient drop with intervals.

    Introduced in notebooks/07_shift.
    """
    out = {}
    for p in cfg.policies:
        if all(p in r.policies for r in runs):
            per = [measure_seed(r, cfg, p) for r in runs]
            out[p] = {"f1_margin": interval(_col(per, "f1_margin")), "transient_drop": interval(_col(per, "transient_drop"))}
    return out


def shift_claims(runs: Sequence[ShiftRuns], cfg: ShiftExperimentConfig, scale: str, seeds: Sequence[int]) -> list[Claim]:
    """F1, F2, F3a, F3b from the runs of :func:`run_seeds`.

    Introduced in notebooks/07_shift.
    """
    ab = ablation_summary(runs, cfg) if cfg.ablation else None
    with np.errstate(invalid="ignore"):
        return [claim_f1(runs, cfg, scale, seeds, ab), claim_f2(runs, cfg, scale, seeds),
                claim_f3a(runs, cfg, scale, seeds), claim_f3b(runs, cfg, scale, seeds)]


def cpu_seconds(runs: Sequence[ShiftRuns]) -> float:
    """The training jobs' CPU seconds (``time.process_time()`` of each seed's job), summed over ``runs``.

    Introduced in notebooks/07_shift.
    """
    return float(sum(r.cpu_seconds.get("total", 0.0) for r in runs))


@register("shift", ["F1", "F2", "F3a", "F3b"],
          "SHIFT vs Single/Looped at equal compute after a common decay; Theorem 3 in two models")
def run(ctx: Context) -> list[Claim]:
    """Train every arm over the verdict seeds, save the figures, return F1–F3b."""

    cfg = config(ctx.scale, ctx.max_steps)
    seeds = verdict_seeds(ctx.n_seeds or cfg.n_seeds, ctx.scale)
    policies = cfg.policies if cfg.ablation else None
    runs = run_seeds(seeds, cfg, workers=ctx.workers, progress=ctx.progress, policies=policies)
    claims = shift_claims(runs, cfg, ctx.scale, seeds)
    if hasattr(ctx, "save_records"):  # ship the records the notebook's small-scale figures can draw from
        ctx.save_records("shift", records_of(runs))
    per = [measure_seed(r, cfg) for r in runs]
    ctx.save_figure(plot_comparison([r.records for r in runs], cfg.decay_steps), "shift_comparison",
                    alt="complex-split accuracy against steps and FLOPs: Single, Looped, SHIFT, each ending in a decay")
    ctx.save_figure(plot_reach(per), "shift_f2",
                    alt="SHIFT's and Looped's decayed accuracy at each FLOP budget against Looped's final accuracy, per seed")
    histories = [r.records["single"].probes["shift"] for r in runs]
    ctx.save_figure(plot_switch_sweep(histories, cfg.shift, cfg.run.train.max_steps - cfg.decay_steps, labels=seeds),
                    "shift_criterion_sweep",
                    alt="SCP's switch step as each of δ1, δ2, W varies (the others at their defaults), one line per seed, "
                        "values at which a seed never switches in a separate row")
    ctx.save_figure(plot_alignment_windows([r.records["single"] for r in runs], [r.theorem_model for r in runs],
                                           _col(per, "window_end"), _col(per, "thm_exit_0.99")),
                    "shift_theorem3", alt="gradient cosines of W_Q, W_K along Single's run in two models, with the "
                                          "switch window and where the theorem's model leaves the small-weight regime")
    return claims
