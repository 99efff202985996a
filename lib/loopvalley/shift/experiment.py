"""The ``shift`` experiment: SHIFT (Single-Attn first, Looped-Attn once the SHIFT Criterion with
Patience fires) against Single- and Looped-Attn on the Markov language, and Theorem 3's gradient
alignment in two models. The algorithmic tasks (F4) are the ``algorithmic-tasks`` experiment
(:mod:`loopvalley.shift.algorithmic_tasks`).

Claims (margins per confirmatory seed; see :mod:`loopvalley.claims`):

- **F1** At equal compute, SHIFT's final complex-split accuracy is within 1 point of Looped-Attn's
  (margin: SHIFT − Looped + 1 point, paired by seed).
- **F2** SHIFT needs less compute than Looped-Attn to reach Looped's final accuracy (margin:
  1 − SHIFT's FLOPs to reach it ÷ Looped's FLOPs), reported next to the best case
  :func:`loopvalley.shift.controller.flop_ratio_bound` for the observed switch step.
- **F3** In the theorem's model (linear attention, no LayerNorm), Single's and Looped's W_Q and W_K
  gradients at the same weights are aligned early in training (margin: mean cosine over steps
  0–50 − 0.5); the experiments' model (softmax, pre-LayerNorm) is reported beside it.

**Protocol** (every choice fixed on the exploratory seeds :data:`RULE_SEEDS`; the numbers behind
each are :data:`POLICY_SELECTION` and ``docs/exploration/shift.md``):

- *Equal compute.* Looped trains S steps (budget S·F₃). SHIFT trains s Single steps (F₁ ≈ F₃/3 each),
  switches, and trains Looped steps until the next one would exceed S·F₃: s + ⌊(S·F₃ − s·F₁)/F₃⌋ ≈
  S + ⅔s steps (:func:`loopvalley.looped.compute.equal_flop_steps`).
- *A fair horizon.* Every arm ends with the same decay: the last ``decay_steps`` (D) steps of its own
  horizon decay η linearly to 0 (:func:`loopvalley.shift.controller.wsd_lr`). At a constant learning rate
  Looped is still hopping between the valley walls at the horizon and any lag would read as a gap;
  the decay reveals where each arm got to.
- *The switch.* SCP (δ1 = 1 %, δ2 = 0.2, W = 3 checks of 25 steps) is replayed on Single's recorded
  history, checks up to Single's decay start S − D; SHIFT's run is Single's run continued from the
  snapshot at the switch step (bit-identical to a live switch; tested). A seed where SCP never
  fires is counted as *not switched*: its "SHIFT" is Single's own run (it is reported in the switch
  rate, not silently treated as SHIFT).
- *The switch policy* (what Adam and η do at the switch) is chosen by :func:`choose_policy` —
  the policy with the highest mean F1 margin on :data:`RULE_SEEDS` — and every policy is reported.
- *F2.* SHIFT's decayed accuracy is measured at budgets f·S·F₃ for f in ``branch_fractions``
  (decay branches off one stable SHIFT trajectory: the stable part does not depend on the
  horizon); the FLOPs to reach Looped's final accuracy − 1 point are interpolated linearly between
  branches. A seed that is already there at the smallest budget is counted at that budget, one that
  is not there by the largest at the largest (both conservative for the verdict). Wall-clock ratios
  are not taken from these runs (they ran at different times on a shared CPU); see
  ``benchmarks/shift_speed.py``.
- *F3.* Dense probes (every step 0..50, then every 25) of the gradient cosines on 512 training
  sequences, along Single's run, in both models.

Introduced in notebooks/07_shift.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Mapping, Sequence

import numpy as np

from loopvalley.claims import Claim, claim_from_margins, summary
from loopvalley.looped.arms import train_arm
from loopvalley.looped.compute import FlopCounter, equal_flop_steps, flops_at_evals, train_step_flops
from loopvalley.looped.runs import MarkovRun, markov_run
from loopvalley.parallel import map_seeds
from loopvalley.records import RunRecord
from loopvalley.registry import Context, register
from loopvalley.scales import current_scale
from loopvalley.seeds import verdict_seeds, exploratory
from loopvalley.shift.controller import (
    SWITCH_POLICIES,
    ShiftConfig,
    ShiftController,
    Snapshots,
    Theorem3Probe,
    flop_ratio_bound,
    resume_trainer,
    shift_lr,
    shift_trainer,
    switch_criterion,
    transient_drop,
    with_policy,
)
from loopvalley.shift.plots import plot_alignment, plot_budgets, plot_comparison, plot_switch_sweep
from loopvalley.stats import mean_interval

F1_TOL = 1.0  # points: "comparable" = within 1 point of Looped (paper-notes §8: "within about 1 point")
F3_MIN_COS = 0.5  # "aligned": mean early cosine of the W_Q and W_K gradients ≥ 0.5
F3_EARLY = 50  # "early": steps 0..50 (the dense probe window, before SCP can first fire at step 100)
SPLIT = "complex"  # the split the claims read (where Looped's advantage lives)

RULE_SEEDS = exploratory(5)  # the protocol (policy, horizon, F2 grid, F3 window) was chosen on seeds 0–4 at `small`
RULE_VERSION = "3"  # v1 check() rules; v2 equal FLOPs; v3 WSD horizon, chosen policy, F2 as a fraction, F3 in two models


@dataclass
class ShiftExperimentConfig:
    """The SHIFT experiment on the Markov language: the run, SCP, the horizon, the switch policy,
    F2's budgets, Theorem 3's probes and how many confirmatory seeds decide."""

    run: MarkovRun  # data, model, training (loopvalley.looped.runs.markov_run, WSD schedule)
    shift: ShiftConfig  # SCP: δ1, δ2, W, check window
    decay_steps: int  # D: every arm's last D steps decay η linearly to 0
    policy: str  # the switch policy behind the verdicts (CHOSEN_POLICY, chosen by choose_policy)
    rewarmup_steps: int  # R of the reset+rewarmup policy
    branch_fractions: tuple  # F2: SHIFT's decayed accuracy at these fractions of Looped's FLOPs (1.0 = F1's run)
    theorem3_every: int  # Theorem 3 probes: every step up to theorem3_dense, then every this many steps
    theorem3_dense: int
    theorem3_sequences: int  # training sequences the probe gradients are taken on
    theorem_model_steps: int  # steps of the theorem's model (linear attention, no LayerNorm) run
    n_seeds: int  # confirmatory seeds behind the verdicts
    ablation: bool = False  # also run every policy (no F2 branches) on the confirmatory seeds
    policies: tuple = SWITCH_POLICIES


SCALES = {  # probe_every / theorem_model_steps in units of a 600-step run (scaled with --max-steps)
    "ci": dict(n_seeds=2, branch_fractions=(0.85, 1.0, 1.15), ablation=False, probe_every=100, theorem_model_steps=60),
    "small": dict(n_seeds=6, branch_fractions=(0.8, 0.9, 1.0, 1.1, 1.2), ablation=False, probe_every=50,
                  theorem_model_steps=100),
    "paper": dict(n_seeds=10, branch_fractions=(0.8, 0.9, 1.0, 1.1, 1.2), ablation=True, probe_every=25,
                  theorem_model_steps=150),
}
DECAY_FRAC = 0.2  # D = 20 % of Looped's steps (the lib's WSD default; not tuned)
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
    probe_every, thm_steps = v.pop("probe_every"), v.pop("theorem_model_steps")
    return ShiftExperimentConfig(
        run=run, shift=ShiftConfig(delta1=0.01, delta2=0.2, patience=3, check_every=every, loops_after_switch=run.looped_depth),
        decay_steps=D, policy=CHOSEN_POLICY, rewarmup_steps=max(1, round(20 * S / 600)),
        theorem3_every=max(1, round(probe_every * S / 600)), theorem3_dense=min(F3_EARLY, S), theorem3_sequences=512,
        theorem_model_steps=min(S, max(F3_EARLY + 1, round(thm_steps * S / 600))), **v)


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


def _single_probes(cfg: ShiftExperimentConfig, dense: bool = True):
    run, sc = cfg.run, cfg.shift
    S, D = run.train.max_steps, cfg.decay_steps
    monitor = ShiftController(replace(sc, act=False))
    snaps = Snapshots(steps=[k for k in range(sc.check_every, S - D + 1, sc.check_every)])
    theorem = Theorem3Probe(cfg.theorem3_every, run.looped_depth, cfg.theorem3_sequences,
                            dense_until=cfg.theorem3_dense if dense else 0)
    return monitor, theorem, snaps  # order in the trainer: monitor, theorem, FLOP counter, snapshots


def stable_history(history: Mapping, last_step: int) -> dict:
    """The checks of a recorded SCP ``history`` up to ``last_step`` (SHIFT may only switch there)."""
    keep = [i for i, s in enumerate(history["step"]) if s <= last_step]
    return {k: [history[k][i] for i in keep] for k in ("step", "loss", "coherence")}


def horizons(cfg: ShiftExperimentConfig, switch_step: int, budget: float) -> dict:
    """SHIFT's total steps at each budget f·``budget`` of ``branch_fractions`` (equal compute at f = 1):
    s + ⌊(f·B − s·F₁)/F₃⌋.

    Introduced in notebooks/07_shift.
    """
    run = cfg.run
    B, T = run.train.batch_size, run.data.markov.seq_len
    f1 = train_step_flops(run.model, 1, B, T)
    f3 = train_step_flops(run.model, run.looped_depth, B, T)
    return {f: switch_step + equal_flop_steps(f * budget, switch_step * f1, f3) for f in cfg.branch_fractions}


def run_shift_branches(cfg: ShiftExperimentConfig, seed: int, data, snapshot: Mapping, switch_step: int,
                       budget: float, policy: str, fractions: Sequence[float] | None = None) -> dict:
    """SHIFT from Single's ``snapshot`` at ``switch_step`` under ``policy``: one stable trajectory to
    the last branch's decay start, then one decayed run per budget fraction. Returns ``{f: RunRecord}``.

    Introduced in notebooks/07_shift.
    """
    run, D = cfg.run, cfg.decay_steps
    tc = replace(run.train, seed=int(seed))
    sc = with_policy(cfg.shift, policy, cfg.rewarmup_steps)
    totals = {f: t for f, t in horizons(cfg, switch_step, budget).items() if fractions is None or f in fractions}
    starts = {f: max(switch_step, t - D) for f, t in totals.items()}
    model_cfg = replace(run.model, n_loops=1)
    snaps = Snapshots(steps=[s for s in starts.values() if s > switch_step])
    stable = shift_trainer(snapshot, model_cfg, data.train, data.eval_sets, tc, sc,
                           total_steps=max(starts.values()), decay_steps=0, probes=[snaps])
    stable.record.meta.update(seed=int(seed))
    stable.run()
    out = {}
    for f, total in sorted(totals.items()):
        start = starts[f]
        state = snaps.states[start] if start > switch_step else snapshot
        btc = tc if f == 1.0 else replace(tc, eval_every=10**9)  # F2's branches: only the final evaluation
        if start > switch_step:
            tr = resume_trainer(state, model_cfg, data.train, data.eval_sets, btc,
                                probes=[ShiftController(sc), FlopCounter()], total_steps=total,
                                lr_fn=shift_lr(tc, total, D, switch_step, sc.rewarmup_steps))
        else:  # the whole post-switch run is the decay
            tr = shift_trainer(state, model_cfg, data.train, data.eval_sets, btc, sc, total_steps=total, decay_steps=D)
        rec = tr.run()
        rec.meta.update(name=f"shift ({policy}, {f:g}× Looped's FLOPs)", seed=int(seed), policy=policy,
                        budget_fraction=float(f), decay_steps=int(D), flop_budget=float(f * budget))
        out[f] = rec
    return out


def _branch_summary(recs: Mapping) -> dict:
    return {float(f): {"acc": float(r.eval_acc[SPLIT][-1]), "flops": float(flops_at_evals(r)[-1]),
                       "steps": int(r.eval_step[-1])} for f, r in recs.items()}


def run_seed(seed: int, cfg: ShiftExperimentConfig, policies: Sequence[str] | None = None,
             branch_policies: Sequence[str] | None = None, theorem_model: bool = True) -> ShiftRuns:
    """Everything one seed needs: Single (SCP monitor, snapshots, dense Theorem 3 probes), Looped,
    SHIFT under each of ``policies`` (default: the chosen one), with F2's decay branches for
    ``branch_policies`` (default: the chosen one), and the theorem's model's Single run.

    Introduced in notebooks/07_shift.
    """
    run, D = cfg.run, cfg.decay_steps
    S = run.train.max_steps
    policies = [cfg.policy] if policies is None else list(policies)
    branch_policies = [cfg.policy] if branch_policies is None else list(branch_policies)
    data = run.data.sample(seed)
    monitor, theorem, snaps = _single_probes(cfg)
    single, _ = train_arm("single", run, seed, data, probes=[monitor, theorem, FlopCounter(), snaps])
    looped, _ = train_arm("looped", run, seed, data, probes=[FlopCounter()])
    budget = float(flops_at_evals(looped)[-1])  # equal compute: SHIFT may spend what Looped spent
    s = switch_criterion(stable_history(single.probes["shift"], S - D), cfg.shift.delta1, cfg.shift.delta2,
                         cfg.shift.patience)
    out = ShiftRuns(int(seed), {"single": single, "looped": looped}, s)
    for policy in dict.fromkeys([cfg.policy, *policies, *branch_policies]):
        if s is None:  # never switched: "SHIFT" is Single's run (counted as not switched)
            rec = RunRecord.from_dict(single.to_dict())
            rec.meta.update(name="shift (never switched)", switch_step=None, policy=policy)
            out.policies[policy] = rec
            out.branches[policy] = {1.0: {"acc": float(rec.eval_acc[SPLIT][-1]),
                                          "flops": float(flops_at_evals(rec)[-1]), "steps": S}}
            continue
        fr = None if policy in branch_policies else (1.0,)
        recs = run_shift_branches(cfg, seed, data, snaps.states[s], s, budget, policy, fr)
        out.policies[policy] = recs[1.0]
        out.branches[policy] = _branch_summary(recs)
    out.records["shift"] = out.policies[cfg.policy]
    if theorem_model:
        out.theorem_model = run_theorem_model(cfg, seed, data)
    return out


def run_theorem_model(cfg: ShiftExperimentConfig, seed: int, data=None) -> RunRecord:
    """Single-Attn of the theorem's model (:func:`theorem_model_run`) for ``theorem_model_steps``
    steps, probed densely by :class:`loopvalley.shift.controller.Theorem3Probe`.

    Introduced in notebooks/07_shift.
    """
    run = theorem_model_run(cfg.run)
    steps = cfg.theorem_model_steps
    run = replace(run, train=replace(run.train, max_steps=steps, schedule="warmup_constant"))
    probe = Theorem3Probe(max(1, cfg.theorem3_dense // 5), run.looped_depth, cfg.theorem3_sequences,
                          dense_until=cfg.theorem3_dense)
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
    ``theorem_model``), the SCP switch step and F2's branch summaries in the records' ``meta`` — what
    ``reproduce`` ships and :func:`runs_from_records` reads back.

    Introduced in notebooks/07_shift.
    """
    out = {}
    for r in runs:
        for arm in ("single", "looped"):
            out[f"{r.seed}/{arm}"] = r.records[arm]
        for p, rec in r.policies.items():
            rec = RunRecord.from_dict(rec.to_dict())
            rec.meta.update(scp_switch_step=r.switch_step, policy=p,
                            branches={f"{f:g}": v for f, v in r.branches.get(p, {}).items()})
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
        r = ShiftRuns(sd, {"single": records[f"{sd}/single"], "looped": records[f"{sd}/looped"]},
                    pols[policy].meta.get("scp_switch_step"), policies=pols,
                    branches={p: {float(f): v for f, v in rec.meta.get("branches", {}).items()} for p, rec in pols.items()},
                    theorem_model=records.get(f"{sd}/theorem_model"))
        r.records["shift"] = pols[policy]
        out.append(r)
    return out


# ----------------------------------------------------------------------------------------------
# Measuring the claims from the records


def final_acc(record: RunRecord) -> float:
    """Accuracy (points) on the complex split at the last evaluation — the end of the decay."""
    return 100 * float(record.eval_acc[SPLIT][-1])


def steps_to_reach(record: RunRecord, target: float) -> float:
    """First evaluation step with complex-split accuracy ≥ ``target`` (a fraction); ∞ if never."""
    steps, acc = record.curve(SPLIT)
    hit = np.flatnonzero(acc >= target)
    return float(steps[hit[0]]) if len(hit) else math.inf


def flops_to_reach(branches: Mapping, target: float, budget: float) -> dict:
    """F2's measured ratio from decayed accuracies at several budgets: ``{"ratio", "censored"}``.

    ``branches`` maps a budget fraction to ``{"acc", "flops"}`` (decayed accuracy, FLOPs spent).
    The ratio is the FLOPs (÷ ``budget``) at which the accuracy first reaches ``target``, linearly
    interpolated between consecutive budgets; ``censored`` is ``"below"`` when the smallest budget is
    already there (ratio = that budget: an upper bound), ``"above"`` when the largest is not (ratio =
    the largest: a lower bound), else ``""``.

    Introduced in notebooks/07_shift.
    """
    pts = sorted((b["flops"] / budget, b["acc"]) for b in branches.values())
    x, y = [p[0] for p in pts], [p[1] for p in pts]
    if y[0] >= target:
        return {"ratio": x[0], "censored": "below"}
    for i in range(1, len(x)):
        if y[i] >= target:  # first crossing between budgets i−1 and i
            t = (target - y[i - 1]) / (y[i] - y[i - 1])
            return {"ratio": x[i - 1] + t * (x[i] - x[i - 1]), "censored": ""}
    return {"ratio": x[-1], "censored": "above"}


def alignment_stats(record: RunRecord, early: int = F3_EARLY) -> dict:
    """Theorem 3 along a run: mean gradient cosine per weight over probes at steps 0..``early`` and
    after; the premises at step 0, at ``early`` and at the end.

    Introduced in notebooks/07_shift.
    """
    p = record.probes["theorem3"]
    steps = np.asarray(p["step"])
    out = {}
    for w in ("W_Q", "W_K", "W_V", "W_O"):
        c = np.asarray(p[f"cos_{w}"], dtype=float)
        out[f"early_cos_{w}"] = float(np.nanmean(c[steps <= early]))
        out[f"late_cos_{w}"] = float(np.nanmean(c[steps > early])) if (steps > early).any() else math.nan
        out[f"min_early_cos_{w}"] = float(np.nanmin(c[steps <= early]))
    at = {"init": 0, "early": int(np.argmin(np.abs(steps - early))), "end": len(steps) - 1}
    for key in ("dd_QK", "psd_QK", "psd_OV", "psd_QK_OV"):
        for name, i in at.items():
            out[f"{key}_{name}"] = float(p[key][i])
    return out


def measure_seed(r: ShiftRuns, cfg: ShiftExperimentConfig, policy: str | None = None) -> dict:
    """The numbers behind F1–F3 for one seed (accuracies in points) under ``policy`` (default: the
    experiment's).

    Introduced in notebooks/07_shift.
    """
    policy = policy or cfg.policy
    run = cfg.run
    single, looped, shift = r.records["single"], r.records["looped"], r.policies[policy]
    S = run.train.max_steps
    c = train_step_flops(run.model, 1, run.train.batch_size, run.data.markov.seq_len) / \
        train_step_flops(run.model, run.looped_depth, run.train.batch_size, run.data.markov.seq_len)
    budget = float(flops_at_evals(looped)[-1])
    acc = {"single": final_acc(single), "looped": final_acc(looped), "shift": final_acc(shift)}
    target = (acc["looped"] - F1_TOL) / 100
    reach = flops_to_reach({k: {**v, "acc": 100 * v["acc"]} for k, v in r.branches[policy].items()}, 100 * target, budget)
    t_l = steps_to_reach(looped, target)
    switched = r.switch_step is not None
    if not switched and reach["censored"] == "above":  # never switched, never there: not within the largest budget
        reach = {"ratio": max(cfg.branch_fractions), "censored": "above"}
    out = {
        "seed": r.seed, "policy": policy,
        "single_final": acc["single"], "looped_final": acc["looped"], "shift_final": acc["shift"],
        "f1_gap": acc["shift"] - acc["looped"], "f1_margin": acc["shift"] - acc["looped"] + F1_TOL,
        "switched": switched, "switch_step": r.switch_step if switched else math.inf,
        "shift_total_steps": int(shift.eval_step[-1]),
        "transient_drop": 100 * transient_drop(shift, SPLIT, window=4 * cfg.shift.check_every) if switched else 0.0,
        "looped_stable_end": 100 * _acc_at(looped, S - cfg.decay_steps),
        "shift_stable_end": 100 * _acc_at(shift, int(shift.eval_step[-1]) - cfg.decay_steps),
        "target": 100 * target,
        "looped_steps_to_target": t_l,
        "f2_ratio": reach["ratio"], "f2_censored": reach["censored"], "f2_margin": 1 - reach["ratio"],
        "f2_bound": flop_ratio_bound(r.switch_step, t_l, S, c) if switched else math.inf,
        "cost_ratio": c,
        "branch_acc": {f"{f:g}": 100 * v["acc"] for f, v in sorted(r.branches[policy].items())},
    }
    exp = alignment_stats(single)
    out.update({f"exp_{k}": v for k, v in exp.items()})
    if r.theorem_model is not None:
        out.update({f"thm_{k}": v for k, v in alignment_stats(r.theorem_model).items()})
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


def explore_policies(scale: str = "small", seeds: Sequence[int] = RULE_SEEDS, workers: int | None = None) -> dict:
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
    rec = {"scale": scale, "seeds": [r.seed for r in runs], "rule_version": RULE_VERSION,
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
# The claims: one function each


def _col(per, k):
    return [p[k] for p in per]


def interval(values) -> dict:
    """``{"mean", "ci_low", "ci_high", "per_seed"}`` (Student-t 95 %; only the mean below 2 values)."""
    v = [float(x) for x in values]
    if len(v) >= 2 and all(math.isfinite(x) for x in v):
        m, lo, hi = mean_interval(v)
        return {"mean": m, "ci_low": lo, "ci_high": hi, "per_seed": v}
    return {"mean": float(np.mean(v)) if v else math.nan, "per_seed": v}


def claim_f1(per: Sequence[Mapping], scale: str, seeds: Sequence[int], cfg: ShiftExperimentConfig,
             ablation: Mapping | None = None) -> Claim:
    """F1: per seed, SHIFT − Looped final complex-split accuracy + 1 point."""
    sw = _col(per, "switched")
    never = [p["seed"] for p in per if not p["switched"]]
    return claim_from_margins(
        "F1", "At equal compute SHIFT's final complex-split accuracy is within 1 point of Looped-Attn's",
        "comparable accuracy to Looped-Attn (Fig. 4)",
        {"SHIFT − Looped final complex accuracy + 1": _col(per, "f1_margin")}, units="points",
        rule=(f"per seed: SHIFT's final complex-split accuracy ≥ Looped's − {F1_TOL:g} point; SHIFT trained to Looped's "
              f"FLOP budget, every arm ending in the same {cfg.decay_steps}-step linear decay; switch policy "
              f"'{cfg.policy}' (chosen by choose_policy on exploratory seeds); a seed that never switched counts "
              "with Single's run"),
        rule_version=RULE_VERSION, scale=scale, seeds=seeds, exploratory_seeds=RULE_SEEDS,
        measured={"policy": cfg.policy, "decay_steps": cfg.decay_steps,
                  "shift_minus_looped_points": interval(_col(per, "f1_gap")),
                  "shift_final": summary(_col(per, "shift_final")), "looped_final": summary(_col(per, "looped_final")),
                  "single_final": summary(_col(per, "single_final")),
                  "switch_rate": float(np.mean(sw)), "never_switched_seeds": never,
                  "switch_step": _col(per, "switch_step"), "shift_total_steps": _col(per, "shift_total_steps"),
                  "transient_drop_points": summary(_col(per, "transient_drop")),
                  "looped_at_stable_end": summary(_col(per, "looped_stable_end")),
                  "shift_at_stable_end": summary(_col(per, "shift_stable_end")),
                  "policy_selection_exploratory": POLICY_SELECTION,
                  **({"policy_ablation_confirmatory": ablation} if ablation else {})},
        notes={"holds": f"switch rate {np.mean(sw):.0%}; SHIFT − Looped = {np.mean(_col(per, 'f1_gap')):+.1f} points "
                        f"after the common decay (policy '{cfg.policy}')",
               "fails": f"switch rate {np.mean(sw):.0%}; SHIFT ends {-np.mean(_col(per, 'f1_gap')):.1f} points below "
                        f"Looped after the common decay (policy '{cfg.policy}')",
               "inconclusive": f"switch rate {np.mean(sw):.0%}; SHIFT − Looped = {np.mean(_col(per, 'f1_gap')):+.1f} "
                               f"points, per seed {[round(v, 1) for v in _col(per, 'f1_gap')]}: the interval of "
                               "the margin contains 0"},
    )


def claim_f2(per: Sequence[Mapping], scale: str, seeds: Sequence[int], cfg: ShiftExperimentConfig) -> Claim:
    """F2: per seed, 1 − SHIFT's FLOPs to reach Looped's final accuracy − 1 point ÷ Looped's FLOPs."""
    ratio, bound = _col(per, "f2_ratio"), _col(per, "f2_bound")
    cens = {k: [p["seed"] for p in per if p["f2_censored"] == k] for k in ("below", "above")}
    m = float(np.mean(ratio))
    b = float(np.mean([v for v in bound if math.isfinite(v)])) if any(math.isfinite(v) for v in bound) else math.inf
    return claim_from_margins(
        "F2", "SHIFT reaches Looped-Attn's final accuracy with less compute than Looped-Attn",
        "less training time than Looped-Attn (Fig. 4, Fig. 11); no number given",
        {"1 − SHIFT's FLOPs to Looped's accuracy ÷ Looped's": _col(per, "f2_margin")}, units="× Looped's FLOPs",
        rule=(f"per seed: SHIFT's training FLOPs to first reach Looped's final complex accuracy − {F1_TOL:g} point "
              f"(decayed accuracy at budgets {list(cfg.branch_fractions)} × Looped's, interpolated linearly; "
              "censored at the smallest / largest budget) ÷ Looped's FLOPs < 1"),
        rule_version=RULE_VERSION, scale=scale, seeds=seeds, exploratory_seeds=RULE_SEEDS,
        measured={"flop_ratio": interval(ratio), "best_case_bound": summary(bound),
                  "censored_below_seeds": cens["below"], "censored_above_seeds": cens["above"],
                  "looped_steps_to_target": _col(per, "looped_steps_to_target"),
                  "switch_step": _col(per, "switch_step"), "cost_ratio_single_over_looped": per[0]["cost_ratio"],
                  "branch_fractions": list(cfg.branch_fractions), "branch_acc": _col(per, "branch_acc"),
                  "target_accuracy": summary(_col(per, "target"))},
        notes={v: (f"SHIFT needed {m:.2f}× Looped's FLOPs to reach its final accuracy (best case for the observed "
                   f"switch steps {b:.2f}×: every Single step a perfect substitute)"
                   + (f"; seeds {cens['above']} had not reached it at {max(cfg.branch_fractions):g}×" if cens["above"] else ""))
               for v in ("holds", "fails", "inconclusive")},
    )


def claim_f3(per: Sequence[Mapping], scale: str, seeds: Sequence[int]) -> Claim:
    """F3: per seed, mean cosine of Single's and Looped's W_Q (W_K) gradients over steps 0..50 in the
    theorem's model − 0.5; the experiments' model's margins are reported in ``measured``."""
    thm = {w: [p[f"thm_early_cos_{w}"] - F3_MIN_COS for p in per] for w in ("W_Q", "W_K")}
    exp = {w: [p[f"exp_early_cos_{w}"] - F3_MIN_COS for p in per] for w in ("W_Q", "W_K")}
    txt = lambda d: "/".join(f"{np.mean(v) + F3_MIN_COS:.2f}" for v in d.values())  # noqa: E731
    exp_i = {w: interval(v) for w, v in exp.items()}
    exp_ok = all(i.get("ci_low", -1) > 0 for i in exp_i.values())
    both = (f"mean W_Q/W_K cosine over steps 0–{F3_EARLY}: theorem's model (linear attention, no LayerNorm) {txt(thm)}; "
            f"experiments' model (softmax, pre-LayerNorm) {txt(exp)}"
            f" — {'aligned' if exp_ok else 'not clearly aligned'} there too")
    return claim_from_margins(
        "F3", "In the theorem's model (linear attention, no LayerNorm), Single's and Looped's W_Q, W_K gradients "
              "are aligned early in training (Theorem 3)",
        "shared river upstream: W_Q, W_K gradients aligned early, under Assumptions 4–5",
        {f"theorem's model: mean cos(∇{w} Single, ∇{w} Looped) over steps 0–{F3_EARLY} − {F3_MIN_COS}": v
         for w, v in thm.items()}, units="cosine",
        rule=(f"per seed, along Single-Attn's run of the theorem's model (linear attention, no LayerNorm, same data): "
              f"the mean over probes at steps 0..{F3_EARLY} (every step, 512 training sequences) of the cosine between "
              f"Single's and Looped's gradients at the same weights is ≥ {F3_MIN_COS} for W_Q and for W_K"),
        rule_version=RULE_VERSION, scale=scale, seeds=seeds, exploratory_seeds=RULE_SEEDS,
        measured={"theorem_model": {k[4:]: summary(_col(per, k)) for k in per[0] if k.startswith("thm_")},
                  "experiments_model": {k[4:]: summary(_col(per, k)) for k in per[0] if k.startswith("exp_")},
                  "experiments_model_margins": exp_i},
        notes={v: both for v in ("holds", "fails", "inconclusive")},
    )


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
    """F1–F3 from the runs of :func:`run_seeds`.

    Introduced in notebooks/07_shift.
    """
    per = [measure_seed(r, cfg) for r in runs]
    ab = ablation_summary(runs, cfg) if cfg.ablation else None
    with np.errstate(invalid="ignore"):
        return [claim_f1(per, scale, seeds, cfg, ab), claim_f2(per, scale, seeds, cfg), claim_f3(per, scale, seeds)]


@register("shift", ["F1", "F2", "F3"], "SHIFT vs Single/Looped at equal compute after a common decay; Theorem 3 in two models")
def run(ctx: Context) -> list[Claim]:
    """Train every arm over the confirmatory seeds, save the figures, return F1–F3."""

    cfg = config(ctx.scale, ctx.max_steps)
    seeds = verdict_seeds(ctx.n_seeds or cfg.n_seeds, ctx.scale)
    policies = cfg.policies if cfg.ablation else None
    runs = run_seeds(seeds, cfg, workers=ctx.workers, progress=ctx.progress, policies=policies)
    claims = shift_claims(runs, cfg, ctx.scale, seeds)
    if hasattr(ctx, "save_records"):  # ship the records the notebook's small-scale figures can draw from
        ctx.save_records("shift", records_of(runs))
    ctx.save_figure(plot_comparison([r.records for r in runs], cfg.decay_steps), "shift_comparison",
                    alt="complex-split accuracy against steps and against FLOPs as a fraction of Looped's: Single, Looped, "
                        "SHIFT, each ending in a decay, with the reference predictors and Looped's final − 1 point")
    ctx.save_figure(plot_budgets([measure_seed(r, cfg) for r in runs]), "shift_f2",
                    alt="SHIFT's decayed accuracy minus its target at each FLOP budget, per seed: the crossing is the measured "
                        "ratio, an open marker with ≤ or ≥ a censored one (a bound), ▲ the best case")
    histories = [r.records["single"].probes["shift"] for r in runs]
    ctx.save_figure(plot_switch_sweep(histories, cfg.shift, cfg.run.train.max_steps - cfg.decay_steps, labels=seeds),
                    "shift_criterion_sweep",
                    alt="SCP's switch step as each of δ1, δ2, W varies (the others at their defaults), one line per seed, "
                        "values at which a seed never switches in a separate row")
    ctx.save_figure(plot_alignment([r.records["single"] for r in runs], [r.theorem_model for r in runs], F3_EARLY),
                    "shift_theorem3", alt="cosine of Single's and Looped's gradients of W_Q, W_K, W_V, W_O at the same weights along "
                        "Single's run, in the theorem's model and the experiments' model, F3's early window and threshold marked")
    return claims
