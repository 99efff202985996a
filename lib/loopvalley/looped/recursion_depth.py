"""Recursion or depth? The three-arm protocol of the looped-transformer literature (notebook 09).

The paper's thesis is that the *recursive* architecture — one layer applied T = 3 times with shared
weights — is what lets Looped-Attn learn the complex sequences. On the in-context Markov language the
complex split needs an in-context bigram (a previous-token head feeding an induction head), which one
attention layer cannot express and any stack of depth ≥ 2 can (Edelman et al. 2024; Ekbote et al.
2025). So the control is plain depth, in the three arms of the looped-transformer literature (Saunshi
et al., ICLR 2025): on the same language sample, data order, initial weights (as far as shapes allow)
and schedule (:mod:`loopvalley.looped.arms`),

- ``single``  — one layer, applied once;
- ``looped``  — the same layer applied T = 3 times (shared weights);
- ``untied-3`` — 3 distinct layers in series: Looped-3's training FLOPs exactly (checked with
  :func:`loopvalley.looped.compute.train_step_flops` and the runs' own
  :class:`loopvalley.looped.compute.FlopCounter`), 3× its layer parameters;

plus the **wide** control ``wide-single`` (one layer holding Untied-3's parameters side by side: 3× the
heads of the same width; Untied-3's parameters and FLOPs spent in parallel), and the **loop-count
sweep** T ∈ :data:`LOOPS` = {1, 2, 3, 4, 6} for both kinds (``looped-T``, ``untied-T``; T = 1 is
Single for both). Looped-T and Untied-T cost the same per step at every T, so equal steps are equal
compute throughout.

**The horizon.** Every arm is read where it has **converged**: a warmup–stable–decay schedule
(:mod:`loopvalley.schedule`; the linear decay over the last ``decay_frac`` of the steps settles each
run), long enough that every arm's complex-split accuracy has stopped moving before the decay. The
judgement (:func:`convergence_drift`): the mean complex accuracy over the last 10 % of the stable phase
minus its mean over the 10 % before the last 20 % — the move over the last 20 % of the stable phase,
smoothed by 10 %-windows — is below :data:`CONVERGED_TOL` = 0.5 points in absolute value. It is
recorded per arm and seed in the claims' ``measured`` (a flat curve on a plateau also passes it: the
escape steps say which arms left the one-layer plateau). Horizon and schedule were chosen on exploratory
seeds (``docs/exploration/recursion_depth.md``, ``scripts/explore_recursion_depth.py``).

Claims (margins per seed, paired within the seed; rules in ``rules.toml``; "final" complex accuracy =
mean over the evaluation points in the last ``final_frac`` of the steps):

- **S4** depth, not extra parameters: Untied-3 and Looped-3 both beat the wide Single-Attn.
- **S5a** final level at the converged horizon: Looped-3 − Untied-3 (paper's side: positive).
- **S5b** speed: Looped-3 leaves the one-layer plateau earlier than Untied-3 (escape-step difference).
- **S6** the loop-count sweep: Looped-T − Untied-T at every T ∈ {2, 3, 4, 6}, on the first
  ``n_sweep_seeds`` seeds.

The notes of S5a and S6 carry a sentence generated from their intervals (:func:`recursion_or_depth`)
that says which of "recursion beyond depth" and "depth, not recursion" the data support.

A mechanism check rides along (:class:`loopvalley.looped.mechanism.MechanismProbe` on 128 complex test
sequences at every evaluation): per loop / per layer previous-token and induction scores over
training, and the step at which the induction head forms next to the step at which the complex
accuracy climbs (in S5b's ``measured``, and in notebook 09's figure).

Introduced in notebooks/09_recursion_or_depth.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import partial
from typing import Mapping, Sequence

import numpy as np

from loopvalley import rules as R
from loopvalley.claims import Claim, interval_text, judge, judge_part, load_ledger, status_text, summary
from loopvalley.looped.arms import SeedRun, arm_config, records_by_seed, train_jobs, window_mean
from loopvalley.looped.compute import FlopCounter, train_step_flops
from loopvalley.looped.mechanism import MechanismProbe
from loopvalley.looped.models import forward_flops, n_params_formula
from loopvalley.looped.plots import (
    add_accuracy_references,
    plot_attention_grid,
    plot_convergence,
    plot_dose_response,
    plot_mechanism_over_training,
    plot_recursion_curves,
)
from loopvalley.looped.runs import MarkovRun, markov_run
from loopvalley.records import RunRecord, results_dir
from loopvalley.registry import Context, register, shipped_records
from loopvalley.scales import current_scale
from loopvalley.schedule import n_decay_steps
from loopvalley.seeds import verdict_seeds

LOOPS = (1, 2, 3, 4, 6)  # the loop-count sweep (T = 1 is Single-Attn for both kinds)
CORE_ARMS = ("single", "looped", "untied-3", "wide-single")  # S4, S5a, S5b: every seed
RECORDS_NAME = "recursion-or-depth"  # results/<scale>/records/<RECORDS_NAME>.json, keys "<seed>/<arm>"


def sweep_arm(kind: str, T: int) -> str:
    """The arm that applies ``T`` layers: ``kind`` ``"looped"`` (one shared layer) or ``"untied"`` (T
    layers); T = 1 is ``single`` for both, and the T = 3 arms keep their names ``looped`` and ``untied-3``.

    Introduced in notebooks/09_recursion_or_depth.
    """
    if T == 1:
        return "single"
    if kind == "looped" and T == 3:
        return "looped"
    return f"{kind}-{T}"


def sweep_arms(loops: Sequence[int] = LOOPS) -> tuple:
    """The arms the sweep adds to :data:`CORE_ARMS`: ``looped-T`` and ``untied-T`` for every T ∉ {1, 3}.

    Introduced in notebooks/09_recursion_or_depth.
    """
    return tuple(sweep_arm(k, T) for T in loops if T not in (1, 3) for k in ("looped", "untied"))


SWEEP_ARMS_ALL = CORE_ARMS + sweep_arms()  # every arm of a sweep seed


@dataclass
class RecursionDepthConfig:
    """The recursion-or-depth experiment: the Markov run (with this experiment's horizon and WSD
    schedule), the seeds that decide, and the sweep."""

    run: MarkovRun  # data, model (notebook 04's), training at the converged horizon (loopvalley.looped.runs)
    n_seeds: int  # seeds behind S4, S5a, S5b (the core arms)
    n_sweep_seeds: int  # the first n_sweep_seeds of them also train the sweep arms (S6)
    arms: tuple = CORE_ARMS
    loops: tuple = LOOPS
    probe_sequences: int = 128  # complex test sequences the mechanism probe scores at every evaluation

    @property
    def stable_steps(self) -> int:
        """Steps before the WSD decay starts (the stable phase, warmup included)."""
        t = self.run.train
        return t.max_steps - n_decay_steps(t.max_steps, t.decay_frac)


# Horizons and schedules chosen on exploratory seeds (docs/exploration/recursion_depth.md). `small`: 10
# seeds for S4–S5 and 3 of them for the sweep within ≈ 700 CPU-seconds; `ci` (notebook, tests, CI):
# 2 teaching seeds, a horizon too short for every arm to converge, within ≈ 60 s on 2 cores.
SCALES = {
    "ci": dict(n_seeds=2, n_sweep_seeds=1, steps=900, decay_frac=0.1, eval_every=50, n_test=384),
    "small": dict(n_seeds=10, n_sweep_seeds=3, steps=1500, decay_frac=0.1, eval_every=50, n_test=512),
    "paper": dict(n_seeds=10, n_sweep_seeds=5, steps=3000, decay_frac=0.1, eval_every=50, n_test=4096),
}


def config(scale: str | None = None, max_steps: int | None = None) -> RecursionDepthConfig:
    """The experiment at ``scale`` (:data:`SCALES`), every run capped at ``max_steps`` if given.

    Introduced in notebooks/09_recursion_or_depth.
    """
    s = current_scale(scale)
    v = SCALES[s]
    run = markov_run(s, eval_every=v["eval_every"], n_test=v["n_test"])
    run = replace(run, train=replace(run.train, max_steps=v["steps"], schedule="wsd", decay_frac=v["decay_frac"]))
    return RecursionDepthConfig(run=run.capped(max_steps), n_seeds=v["n_seeds"], n_sweep_seeds=v["n_sweep_seeds"])


# ----------------------------------------------------------------------------------------------
# Training the arms


def mechanism_probes(data, arm: str | None = None, probe_sequences: int = 128, every: int = 25) -> list:
    """A run's probes here: the induction/previous-token scores on ``probe_sequences`` held-out complex
    sequences every ``every`` steps (for the core arms; the sweep's extra arms skip it: S6 reads their
    accuracy only), and the FLOP counter (last, as it must be).

    Introduced in notebooks/09_recursion_or_depth.
    """
    mech = [] if arm is not None and arm not in CORE_ARMS else [MechanismProbe(data.test["complex"][:probe_sequences], every=every)]
    return mech + [FlopCounter()]


def run_seeds(seeds: Sequence[int], run: MarkovRun, arms: Sequence[str] = CORE_ARMS, probe_sequences: int = 128,
              workers: int | None = None, threads: int = 1, progress: bool = False,
              sweep: Mapping[int, Sequence[str]] | None = None) -> list[SeedRun]:
    """Every arm on every seed with :func:`mechanism_probes`, one (seed, arm) job per worker process
    (:func:`loopvalley.looped.arms.train_jobs`; each job is identical to a sequential 1-thread run);
    ``sweep`` adds arms on some seeds (``{seed: [arm, ...]}``).

    Introduced in notebooks/09_recursion_or_depth.
    """
    probes = partial(mechanism_probes, probe_sequences=probe_sequences, every=run.train.eval_every)
    arms_of = {int(s): tuple(arms) + tuple(a for a in (sweep or {}).get(int(s), ()) if a not in arms) for s in seeds}
    return train_jobs(arms_of, run, probes=probes, workers=workers, threads=threads, progress=progress)


def run_experiment(cfg: RecursionDepthConfig, seeds: Sequence[int], workers: int | None = None,
                   progress: bool = False) -> list[SeedRun]:
    """The core arms on every seed, and the sweep arms on the first ``cfg.n_sweep_seeds`` seeds.

    Introduced in notebooks/09_recursion_or_depth.
    """
    extra = {int(s): sweep_arms(cfg.loops) for s in list(seeds)[:cfg.n_sweep_seeds]}
    return run_seeds(seeds, cfg.run, cfg.arms, cfg.probe_sequences, workers=workers, progress=progress, sweep=extra)


def shipped_runs(scale: str, root=None, cfg: RecursionDepthConfig | None = None) -> tuple[list[int], list[dict]] | None:
    """The records ``reproduce`` shipped for this experiment at ``scale`` as ``(seeds, records)``
    (:func:`records_by_seed`; a sweep seed's dict also holds its sweep arms), or ``None`` when none
    were shipped or the file is damaged (:func:`loopvalley.registry.shipped_records` prints which
    file and what is wrong), or — given ``cfg`` — when they were trained with another horizon or
    schedule than ``cfg``'s (an older version of the experiment; one printed line says so).

    Introduced in notebooks/09_recursion_or_depth.
    """
    flat = shipped_records(scale, RECORDS_NAME, root)
    if flat is None:
        return None
    seeds, by_seed = records_by_seed(flat)
    if cfg is not None:
        got = next(iter(flat.values())).meta.get("train_cfg", {})
        want = cfg.run.train
        if (got.get("schedule"), got.get("max_steps"), got.get("decay_frac", want.decay_frac)) != (
                want.schedule, want.max_steps, want.decay_frac) or not all(set(cfg.arms) <= set(r) for r in by_seed):
            print(f"shipped records not used: they were trained with {got.get('max_steps')} steps of "
                  f"{got.get('schedule')} (this experiment: {want.max_steps} steps of {want.schedule}); "
                  "falling back to the live runs", flush=True)
            return None
    order = list(SWEEP_ARMS_ALL) + ["untied-2"]
    return seeds, [{a: r[a] for a in sorted(r, key=lambda a: order.index(a) if a in order else len(order))}
                   for r in by_seed]


def shipped_claims(scale: str, ids: Sequence[str] = ("S4", "S5a", "S5b", "S6"), root=None) -> list[dict] | None:
    """The ledger's entries for ``ids`` at ``scale`` (``results/<scale>/claims.json``), or ``None`` when
    there is no ledger, it is damaged, it lacks one of them, or one was computed under another rule
    than today's (its rule hash differs: a stale verdict); one printed line says which.

    Introduced in notebooks/09_recursion_or_depth.
    """
    path = results_dir(scale, root) / "claims.json"
    if not path.exists():
        return None
    try:
        entries = {c["id"]: c for c in load_ledger(path)}
    except ValueError as e:
        print(f"shipped ledger not used: {e}", flush=True)
        return None
    missing = [i for i in ids if i not in entries]
    stale = [i for i in ids if i in entries and entries[i].get("rule_hash") != R.rule(i).hash]
    if missing or stale:
        print(f"shipped ledger not used: {path} " + "; ".join(
            x for x in (f"lacks {', '.join(missing)}" if missing else "",
                        f"has {', '.join(stale)} under an older rule" if stale else "") if x), flush=True)
        return None
    return [entries[i] for i in ids]


def cpu_seconds(records: Sequence[Mapping[str, RunRecord]]) -> float:
    """Σ of the training jobs' ``time.process_time()`` (``meta["cpu_seconds"]``, written by
    :func:`loopvalley.looped.arms.train_jobs`); NaN when a record lacks it.

    Introduced in notebooks/09_recursion_or_depth.
    """
    return float(sum(r.meta.get("cpu_seconds", np.nan) for rs in records for r in rs.values()))


# ----------------------------------------------------------------------------------------------
# Measuring one seed


def first_step_above(steps, values, level: float, half_width: float = 0.0) -> int | None:
    """First step whose windowed value (mean over ±``half_width`` steps) is ≥ ``level``; ``None``
    if the curve never gets there.

    Introduced in notebooks/09_recursion_or_depth.
    """
    for s in steps:
        if window_mean(steps, values, s - half_width, s + half_width) >= level:
            return int(s)
    return None


def final_value(steps, values, frac: float = 0.1) -> float:
    """Mean of ``values`` over the last ``frac`` of training (the "final" of every margin here).

    Introduced in notebooks/09_recursion_or_depth.
    """
    total = float(np.asarray(steps)[-1])
    return window_mean(steps, values, (1 - frac) * total, total)


def stable_end(record: RunRecord) -> int:
    """The last step of ``record``'s stable phase: S − D for a WSD run of S steps decaying over the last
    D = round(decay_frac · S), else the run's last evaluation step.

    Introduced in notebooks/09_recursion_or_depth.
    """
    cfg = record.meta.get("train_cfg", {})
    total = int(record.meta.get("total_steps", record.eval_step[-1]))
    if cfg.get("schedule") != "wsd":
        return int(record.eval_step[-1])
    return total - n_decay_steps(total, float(cfg.get("decay_frac", 0.0)))


CONVERGED_TOL = 0.5  # points: an arm has converged when its complex accuracy moves less than this ...
CONVERGED_FRAC = 0.2  # ... over the last 20 % of the stable phase (smoothed: 10 %-window means)


def convergence_drift(steps, acc, end: float, frac: float = CONVERGED_FRAC) -> float:
    """How far ``acc`` moved over the last ``frac`` of the stable phase that ends at step ``end``, smoothed
    by trailing windows of ``frac``/2: (mean over (end − ½·frac·end, end]) − (mean over (end − 1.5·frac·end,
    end − frac·end]) — with frac = 0.2, the mean over the last 10 % of the stable phase minus the mean
    over the 10 % that ended 20 % of the stable phase earlier. Positive: still rising. Evaluation points
    after ``end`` (the decay) are not read.

    Introduced in notebooks/09_recursion_or_depth.
    """
    steps, acc = np.asarray(steps, float), np.asarray(acc, float)
    inside = steps <= end
    s, a = steps[inside], acc[inside]
    w = frac * end  # the last 20 % of the stable phase
    return window_mean(s, a, end - w / 2 + 1e-9, end) - window_mean(s, a, end - 1.5 * w + 1e-9, end - w)


def read(records: Mapping[str, RunRecord], horizon: str = "all") -> dict:
    """``records`` read up to the analysis's horizon: ``"all"`` (the whole WSD run) or ``"stable"``
    (up to the end of the stable phase, before the decay: the constant-lr run of that length).

    Introduced in notebooks/09_recursion_or_depth.
    """
    if horizon == "all":
        return dict(records)
    if horizon != "stable":
        raise ValueError(f"horizon must be 'all' or 'stable', got {horizon!r}")
    end = stable_end(next(iter(records.values())))
    return {a: r.until(end) for a, r in records.items()}


CLIMB_POINTS = 3.0  # an arm "leaves the one-layer plateau" when it is this many points above Single's final
SMOOTH_STEPS = 50  # ... its complex accuracy averaged over ± this many steps
MIN_INDUCTION_RISE = 0.2  # an induction head "forms" only if the best score ends this far above chance


def induction_curve(record: RunRecord) -> tuple[np.ndarray, np.ndarray]:
    """``(steps, best induction score)``: at every probe row, the largest induction score over the
    loops/layers and heads of the model (from :class:`loopvalley.looped.mechanism.MechanismProbe`).

    Introduced in notebooks/09_recursion_or_depth.
    """
    steps, ind = record.probe("mechanism", "induction")  # (rows, L, H)
    return steps, ind.reshape(len(steps), -1).max(axis=1)


def measure_seed(records: Mapping[str, RunRecord], final_frac: float = 0.1, climb: float = CLIMB_POINTS,
                 smooth: float = SMOOTH_STEPS, horizon: str = "all") -> dict:
    """The numbers behind S4–S6 for one seed (accuracies in points, %), per arm:

    - ``complex`` / ``simple``: accuracy over the last ``final_frac`` of the steps; ``complex_mean``:
      mean complex accuracy over all evaluation points (area under the curve / steps);
    - ``drift``: :func:`convergence_drift` of the complex accuracy over the stable phase, and
      ``converged`` = |drift| < :data:`CONVERGED_TOL`;
    - ``escape_step``: first step at which the complex accuracy (±``smooth`` steps) is ``climb``
      points above Single's final complex accuracy (the one-layer plateau) — ``None`` if never;
      ``half_step``: first step half-way from that plateau to the arm's own final accuracy (``None``
      when the arm ends less than ``climb`` above the plateau);
    - ``induction_final``: the best (over loops/layers and heads) induction score over the last
      10 % of steps, ``induction_chance`` its uniform-attention level, ``induction_step`` the first
      probe step half-way from step 0's best score to the final one (``None`` when the final score is
      less than ``MIN_INDUCTION_RISE`` above chance: no induction head formed); ``induction_lead`` =
      ``half_step − induction_step`` (> 0: the head forms before the accuracy climbs);
      ``previous_token_final`` the best previous-token score at the end;
    - ``n_params``, ``train_flops`` (the FlopCounter's total), ``train_step_flops``, ``cpu_seconds``.

    Plus ``plateau`` (Single's final complex accuracy), ``horizon``, ``stable_end`` and the references
    (``uniform_complex`` = 100/V, ``unigram_complex``, ``bigram_complex``, ``bayes_complex``). ``horizon``
    reads the records up to the end (``"all"``) or to the end of the stable phase (``"stable"``).

    Introduced in notebooks/09_recursion_or_depth.
    """
    full = records
    records = read(records, horizon)
    single = records["single"]
    st, s_complex = single.curve("complex")
    plateau = 100 * final_value(st, s_complex, final_frac)
    end = stable_end(full["single"])
    out: dict = {"plateau": plateau, "horizon": int(st[-1]), "stable_end": end, "arms": {}}
    refs = single.meta.get("references", {})
    for k in ("bayes", "bigram", "unigram"):
        if k in refs.get("complex", {}):
            out[f"{k}_complex"] = 100 * refs["complex"][k]["acc"]
    V = single.meta.get("model_cfg", {}).get("vocab_size")
    out["uniform_complex"] = 100 / V if V else np.nan
    for arm, rec in records.items():
        steps, acc = rec.curve("complex")
        acc = 100 * acc
        final = final_value(steps, acc, final_frac)
        fs, facc = full[arm].curve("complex")
        drift = convergence_drift(fs, 100 * facc, end)
        row = {"complex": final, "simple": 100 * final_value(*rec.curve("simple"), final_frac),
               "complex_mean": float(np.mean(acc)), "drift": drift, "converged": bool(abs(drift) < CONVERGED_TOL),
               "escape_step": first_step_above(steps, acc, plateau + climb, smooth),
               "half_step": (first_step_above(steps, acc, (plateau + final) / 2, smooth)
                             if final - plateau >= climb else None),
               "n_params": int(rec.meta["n_params"]), "cpu_seconds": rec.meta.get("cpu_seconds")}
        if "mechanism" in rec.probes:
            ps, best = induction_curve(rec)
            chance = float(rec.probes["mechanism"]["induction_chance"][0])
            ind_final = final_value(ps, best)
            formed = ind_final - chance >= MIN_INDUCTION_RISE
            row["induction_final"] = ind_final
            row["induction_chance"] = chance
            row["induction_step"] = (first_step_above(ps, best, best[0] + 0.5 * (ind_final - best[0]), smooth)
                                     if formed else None)
            pst, prev = rec.probe("mechanism", "previous_token")
            row["previous_token_final"] = final_value(pst, prev.reshape(len(pst), -1).max(axis=1))
            row["previous_token_chance"] = float(rec.probes["mechanism"]["previous_token_chance"][0])
            row["induction_lead"] = (row["half_step"] - row["induction_step"]
                                     if row["half_step"] is not None and row["induction_step"] is not None else None)
        if "flops" in rec.probes:
            row["train_flops"] = float(rec.probe("flops", "flops")[1][-1])
            row["train_step_flops"] = row["train_flops"] / max(1, rec.train_step[-1] + 1) if rec.train_step else None
        out["arms"][arm] = row
    return out


def mean_step(per: Sequence[Mapping], arm: str, key: str, all_seeds: bool = False) -> float | None:
    """Mean over seeds of a step of :func:`measure_seed` (``half_step``, ``escape_step``,
    ``induction_step``) for ``arm``, over the seeds where it is defined; ``None`` where it never is
    (with ``all_seeds``: unless it is defined on every seed).

    Introduced in notebooks/09_recursion_or_depth.
    """
    vals = [p["arms"][arm].get(key) for p in per if arm in p["arms"]]
    if all_seeds and None in vals:
        return None
    vals = [v for v in vals if v is not None]
    return float(np.mean(vals)) if vals else None


def arm_costs(run: MarkovRun, arms: Sequence[str] = CORE_ARMS) -> dict:
    """Closed-form parameters and FLOPs of every arm of ``run``: ``{arm: {"n_params",
    "forward_flops_per_sequence", "train_flops_per_step"}}`` (a training step = 3 forward passes of
    the batch, :func:`loopvalley.looped.compute.train_step_flops`).

    Introduced in notebooks/09_recursion_or_depth.
    """
    T, B = run.data.markov.seq_len, run.train.batch_size
    out = {}
    for arm in arms:
        c = arm_config(arm, run)
        out[arm] = {"n_params": n_params_formula(c), "forward_flops_per_sequence": forward_flops(c, c.n_loops, 1, T),
                    "train_flops_per_step": train_step_flops(c, c.n_loops, B, T)}
    return out


def sweep_table(per: Sequence[Mapping], loops: Sequence[int] = LOOPS, key: str = "complex") -> dict:
    """``{"looped": {T: [value per seed]}, "untied": {T: [...]}}`` of :func:`measure_seed`'s ``key``
    over the seeds that trained the sweep (T = 1 is Single for both kinds); the seeds lacking an arm
    are left out.

    Introduced in notebooks/09_recursion_or_depth.
    """
    arms = {sweep_arm(k, T) for k in ("looped", "untied") for T in loops}
    rows = [p for p in per if arms <= set(p["arms"])]
    return {k: {T: [p["arms"][sweep_arm(k, T)][key] for p in rows] for T in loops} for k in ("looped", "untied")}


def is_sweep_seed(records: Mapping[str, RunRecord], loops: Sequence[int] = LOOPS) -> bool:
    """Whether a seed's ``records`` hold every arm of the loop-count sweep.

    Introduced in notebooks/09_recursion_or_depth.
    """
    return {sweep_arm(k, T) for k in ("looped", "untied") for T in loops} <= set(records)


# ----------------------------------------------------------------------------------------------
# What the data support: recursion beyond depth, or depth, not recursion


def recursion_or_depth(diffs: Mapping[int, Sequence[float]], interval: str = "t") -> str:
    """One sentence, generated from per-seed Looped-T − Untied-T final complex accuracies
    (``{T: [difference per seed]}``, points): at each T the 95 % interval (Student-t of the mean, or
    the sign-test interval of the median) is above 0 (recursion ahead), below 0 (depth ahead) or
    contains 0; the sentence says which of "recursion beyond depth" and "depth, not recursion" the
    data support, or that the seeds cannot tell them apart.

    Introduced in notebooks/09_recursion_or_depth.
    """
    side, text = {}, {}
    for T, d in sorted(diffs.items()):
        p = judge_part(f"T={T}", list(d), "points", interval=interval)
        side[T] = {"holds": "recursion", "fails": "depth"}.get(p.verdict, "?" if p.ci_low is not None else "n/a")
        text[T] = (f"{p.mean:+.2f}" + (f" [{p.ci_low:+.2f}, {p.ci_high:+.2f}]" if p.ci_low is not None else "")
                   if p.mean is not None else "n/a")
    Ts = sorted(side)
    listed = "; ".join(f"T = {T}: {text[T]}" for T in Ts)
    where = lambda who: ", ".join(str(T) for T in Ts if side[T] == who)  # noqa: E731
    every = "at the loop count measured" if len(Ts) == 1 else "at every loop count measured"
    if all(side[T] == "depth" for T in Ts):
        verdict = f"Untied-T ends above Looped-T {every} (T = {where('depth')}): depth, not recursion"
    elif all(side[T] == "recursion" for T in Ts):
        verdict = f"Looped-T ends above Untied-T {every} (T = {where('recursion')}): recursion beyond depth"
    elif any(side[T] == "depth" for T in Ts) and not any(side[T] == "recursion" for T in Ts):
        verdict = (f"Untied-T ends above Looped-T at T = {where('depth')} and the seeds cannot tell them apart at "
                   f"T = {where('?') or '—'}: the data lean to depth, not recursion, and nowhere support recursion "
                   "beyond depth")
    elif any(side[T] == "recursion" for T in Ts) and not any(side[T] == "depth" for T in Ts):
        verdict = (f"Looped-T ends above Untied-T at T = {where('recursion')} and the seeds cannot tell them apart "
                   f"at T = {where('?') or '—'}: the data lean to recursion beyond depth, and nowhere to depth alone")
    elif any(side[T] == "recursion" for T in Ts):
        verdict = (f"Looped-T ends above Untied-T at T = {where('recursion')} and below it at T = {where('depth')}: "
                   "neither recursion beyond depth nor depth alone holds at every loop count")
    else:
        verdict = "the seeds cannot tell recursion from depth apart at any loop count measured"
    return f"{verdict} (Looped-T − Untied-T, points: {listed})."


def _entry(c) -> dict:
    return c.to_json() if isinstance(c, Claim) else dict(c)


def _claim(c: Mapping) -> Claim:
    return Claim(**{k: c[k] for k in Claim.__dataclass_fields__ if k in c})


def _status_word(c: Mapping) -> str:
    """``fails``, or ``fragile: fails under the main analysis`` when a declared alternative or one seed flips it."""
    status = c.get("status", c["verdict"])
    return c["verdict"] if status == c["verdict"] else f"{status}: {c['verdict']} under the main analysis"


def what_it_means(claims: Sequence) -> str:
    """A plain paragraph on the paper's thesis, generated from S4, S5a, S5b and S6 (:class:`Claim`
    objects or ``claims.json`` entries; any of them may be missing): each verdict with its margin and
    interval, and which of "recursion beyond depth" and "depth, not recursion" the final levels support
    (:func:`recursion_or_depth` of the per-seed Looped-T − Untied-T differences). Never typed: every
    number comes from the claims.

    Introduced in notebooks/09_recursion_or_depth.
    """
    by = {c["id"]: c for c in map(_entry, claims)}
    out = []

    def shown(c):
        return f"{c['id']} {status_text(c)}, {interval_text(_claim(c))}"

    if "S4" in by:
        c = by["S4"]
        wide = c["measured"].get("wide_minus_single_points")
        word = {"holds": "Depth, not extra parameters, lifts the complex split", "fails": "Depth alone does not lift the "
                "complex split above a wide layer", "inconclusive": "Whether depth beats width is not settled here"}
        out.append(f"{word.get(c['verdict'], '')} ({shown(c)} over the {R.rule('S4').main['beat']:g}-point margin): "
                   f"the wide layer ends "
                   f"{wide:+.1f} points from Single-Attn.")
    if "S5a" in by or "S6" in by:
        diffs = {}
        if "S6" in by:
            for k, v in by["S6"]["measured"].get("looped_minus_untied_points", {}).items():
                diffs[int(k.lstrip("T"))] = v["per_seed"]
        sentence5 = ""
        if "S5a" in by:
            c = by["S5a"]
            sentence5 = (f"At the converged horizon, Looped-3 − Untied-3 = {interval_text(_claim(c))} "
                         f"({c['id']} {_status_word(c)}, {c['n_seeds']} seeds). ")
        sweep = f"Over the loop counts ({by['S6']['n_seeds']} seeds, S6 {_status_word(by['S6'])}): " + recursion_or_depth(diffs) \
            if diffs else ""
        out.append(sentence5 + sweep)
    if "S5b" in by:
        c = by["S5b"]
        side = {"holds": "Looped-Attn leaves the one-layer plateau earlier than Untied-3",
                "fails": "Untied-3 leaves the one-layer plateau earlier than Looped-Attn",
                "inconclusive": "the seeds cannot tell which of Looped-Attn and Untied-3 leaves the plateau first"}
        why = {"holds": ": an optimisation effect, the kind the paper's landscape story is about, separate from the "
                        "final level", "fails": ": not even the speed of the escape favours recursion"}
        out.append(f"On speed, {side[c['verdict']]} ({shown(c)}){why.get(c['verdict'], '')}.")
    return " ".join(x for x in out if x)


# ----------------------------------------------------------------------------------------------
# The claims: one function each (measure → margin → claim)


def _col(per: Sequence[Mapping], arm: str, key: str) -> list:
    return [p["arms"][arm][key] for p in per]


def _per_arm(per: Sequence[Mapping], key: str, arms: Sequence[str]) -> dict:
    return {a: summary([np.nan if v is None else v for v in _col(per, a, key)]) for a in arms
            if all(a in p["arms"] for p in per)}


class _Measured:
    """:func:`measure_seed` of every seed under each analysis (final window, climb, smoothing,
    horizon), computed once per analysis."""

    def __init__(self, records: Sequence[Mapping[str, RunRecord]]):
        self.records, self._cache = records, {}

    def __call__(self, final_frac=0.1, climb=CLIMB_POINTS, smooth=SMOOTH_STEPS, horizon="all") -> list:
        key = (float(final_frac), float(climb), float(smooth), str(horizon))
        if key not in self._cache:
            self._cache[key] = [measure_seed(r, final_frac, climb, smooth, horizon) for r in self.records]
        return self._cache[key]


def _converged_seeds(per: Sequence[Mapping], arms: Sequence[str], keep) -> list[int]:
    """Indices of the seeds kept by the choice ``keep``: every seed, or those where every arm of
    ``arms`` moved less than ``keep`` points over the last 20 % of the stable phase."""
    if keep == "every seed":
        return list(range(len(per)))
    return [i for i, p in enumerate(per) if all(abs(p["arms"][a]["drift"]) < float(keep) for a in arms)]


def convergence_table(per: Sequence[Mapping], seeds: Sequence[int], arms: Sequence[str] | None = None) -> dict:
    """The convergence judgement per arm and seed: ``{arm: {"drift": [points per seed], "converged":
    [bool per seed], "escaped": [bool per seed]}}`` (``escaped``: left the one-layer plateau by
    ``CLIMB_POINTS``; a flat curve on the plateau also counts as converged), plus ``tol`` and ``seeds``.

    Introduced in notebooks/09_recursion_or_depth.
    """
    arms = arms or [a for a in per[0]["arms"] if all(a in p["arms"] for p in per)]
    out = {"tol": CONVERGED_TOL, "window": "last 20 % of the stable phase (10 %-window means)",
           "seeds": [int(s) for s in seeds], "arms": {}}
    for a in arms:
        out["arms"][a] = {"drift": [round(p["arms"][a]["drift"], 3) for p in per],
                          "converged": [p["arms"][a]["converged"] for p in per],
                          "escaped": [p["arms"][a]["escape_step"] is not None for p in per]}
    out["all_converged"] = all(all(v["converged"]) for v in out["arms"].values())
    return out


def _horizon_text(per: Sequence[Mapping]) -> str:
    p = per[0]
    return f"{p['horizon']}-step WSD horizon (stable to step {p['stable_end']})"


def claim_s4(m: _Measured, scale: str, seeds: Sequence[int], costs: Mapping) -> Claim:
    """S4: per seed, (Untied-3 − wide Single) − beat and (Looped − wide Single) − beat final complex-split
    accuracy, in points, under every analysis choice of the rule."""
    def margins(spec):
        per = m(final_frac=spec["final_frac"], horizon=spec["horizon"])
        wide = _col(per, "wide-single", "complex")
        return {"untied": [u - w - spec["beat"] for u, w in zip(_col(per, "untied-3", "complex"), wide)],
                "looped": [u - w - spec["beat"] for u, w in zip(_col(per, "looped", "complex"), wide)]}

    per = m()
    arms = list(CORE_ARMS)
    gain = float(np.mean(_col(per, "wide-single", "complex")) - np.mean(_col(per, "single", "complex")))
    u3 = float(np.mean(_col(per, "untied-3", "complex")) - np.mean(_col(per, "wide-single", "complex")))
    lp = float(np.mean(_col(per, "looped", "complex")) - np.mean(_col(per, "wide-single", "complex")))
    return judge(
        "S4", margins, scale=scale, seeds=seeds,
        measured={"complex_acc": _per_arm(per, "complex", arms), "simple_acc": _per_arm(per, "simple", arms),
                  "single_plateau": summary([p["plateau"] for p in per]),
                  "bigram_complex_acc": summary([p.get("bigram_complex", np.nan) for p in per]),
                  "unigram_complex_acc": summary([p.get("unigram_complex", np.nan) for p in per]),
                  "wide_minus_single_points": gain, "convergence": convergence_table(per, seeds, arms),
                  "costs": {a: costs[a] for a in arms if a in costs}},
        note=f"at the {_horizon_text(per)}: the wide layer, with Untied-3's parameters and FLOPs in parallel, ends "
             f"{gain:+.1f} points from Single-Attn, while Untied-3 and Looped-Attn end {u3:+.1f} and {lp:+.1f} points "
             f"from it (in-context bigram {np.mean([p.get('bigram_complex', np.nan) for p in per]):.1f} %)")


def claim_s5a(m: _Measured, scale: str, seeds: Sequence[int], costs: Mapping) -> Claim:
    """S5a: per seed, Looped-3 − Untied-3 final complex-split accuracy in points at the converged horizon
    (equal steps = equal compute), under every analysis choice of the rule."""
    pair = ("looped", "untied-3")

    def margins(spec):
        per = m(final_frac=spec["final_frac"], horizon=spec["horizon"])
        keep = _converged_seeds(m(), pair, spec["converged"])
        return {"diff": [per[i]["arms"]["looped"]["complex"] - per[i]["arms"]["untied-3"]["complex"] for i in keep]}

    per = m()
    diff = [a - b for a, b in zip(_col(per, "looped", "complex"), _col(per, "untied-3", "complex"))]
    auc = [a - b for a, b in zip(_col(per, "looped", "complex_mean"), _col(per, "untied-3", "complex_mean"))]
    flop_ratio = costs["looped"]["train_flops_per_step"] / costs["untied-3"]["train_flops_per_step"]
    counted = {a: summary(_col(per, a, "train_flops")) for a in pair if "train_flops" in per[0]["arms"][a]}
    sentence = recursion_or_depth({3: diff}, R.rule("S5a").interval)
    return judge(
        "S5a", margins, scale=scale, seeds=seeds, flop_ratio=flop_ratio,
        measured={"complex_acc": _per_arm(per, "complex", list(CORE_ARMS)),
                  "looped_minus_untied3_points": summary(diff),
                  "looped_minus_untied3_mean_complex_acc_points": summary(auc),
                  "convergence": convergence_table(per, seeds, list(CORE_ARMS)),
                  "train_flops_per_step_ratio_looped_vs_untied3": flop_ratio, "train_flops_counted": counted,
                  "costs": {a: costs[a] for a in pair}},
        note=f"at the {_horizon_text(per)}, with every arm's convergence judged in `measured`: {sentence}")


def claim_s5b(m: _Measured, scale: str, seeds: Sequence[int]) -> Claim:
    """S5b: per seed, Untied-3's escape step − Looped-3's (steps; > 0: Looped leaves the one-layer plateau
    earlier), a never-escaping arm counted at the horizon, under every analysis choice of the rule."""
    def escape(per, arm):
        return [p["arms"][arm]["escape_step"] if p["arms"][arm]["escape_step"] is not None else p["horizon"]
                for p in per]

    def margins(spec):
        per = m(climb=spec["climb"], smooth=spec["smooth"], horizon=spec["horizon"])
        return {"escape": [u - lp for u, lp in zip(escape(per, "untied-3"), escape(per, "looped"))]}

    per = m()
    arms = [a for a in per[0]["arms"] if a != "single"]
    d = [u - lp for u, lp in zip(escape(per, "untied-3"), escape(per, "looped"))]
    never = {a: sum(p["arms"][a]["escape_step"] is None for p in per) for a in ("looped", "untied-3")}
    return judge(
        "S5b", margins, scale=scale, seeds=seeds,
        measured={"untied3_minus_looped_escape_steps": summary(d),
                  "escape_step": _per_arm(per, "escape_step", arms), "half_climb_step": _per_arm(per, "half_step", arms),
                  "never_escaped": never,
                  "induction_step": _per_arm(per, "induction_step", arms),
                  "induction_lead_steps": _per_arm(per, "induction_lead", arms),
                  "induction_final": _per_arm(per, "induction_final", arms),
                  "induction_chance": summary([p["arms"]["looped"].get("induction_chance", np.nan) for p in per]),
                  "previous_token_final": _per_arm(per, "previous_token_final", arms)},
        note=f"Looped-Attn leaves the one-layer plateau at step {np.mean(escape(per, 'looped')):.0f} on average and "
             f"Untied-3 at step {np.mean(escape(per, 'untied-3')):.0f} (median difference {np.median(d):+.0f} steps"
             + (f"; never left it by the horizon: Looped {never['looped']}, Untied-3 {never['untied-3']} seeds"
                if any(never.values()) else "") + ")")


def claim_s6(m: _Measured, scale: str, seeds: Sequence[int], loops: Sequence[int], costs: Mapping,
             rule_seeds_note: str = "") -> Claim:
    """S6: per sweep seed and T ∈ ``loops`` \\ {1}, Looped-T − Untied-T final complex-split accuracy in
    points (− the rule's threshold), under every analysis choice of the rule."""
    Ts = [T for T in loops if T != 1]

    def diffs(per):
        return {T: [p["arms"][sweep_arm("looped", T)]["complex"] - p["arms"][sweep_arm("untied", T)]["complex"]
                    for p in per] for T in Ts}

    def margins(spec):
        per = m(final_frac=spec["final_frac"], horizon=spec["horizon"])
        return {f"T{T}": [v - spec["threshold"] for v in d] for T, d in diffs(per).items()}

    per = m()
    d = diffs(per)
    table = sweep_table(per, loops)
    ratio = {T: costs[sweep_arm("looped", T)]["train_flops_per_step"] / costs[sweep_arm("untied", T)]["train_flops_per_step"]
             for T in Ts}
    sweep_arm_names = sorted({sweep_arm(k, T) for k in ("looped", "untied") for T in loops}, key=lambda a: list(SWEEP_ARMS_ALL).index(a))
    sentence = recursion_or_depth(d)
    return judge(
        "S6", margins, scale=scale, seeds=seeds, n_sweep=len(seeds),
        measured={"looped_minus_untied_points": {f"T{T}": summary(v) for T, v in d.items()},
                  "final_complex_acc": {k: {f"T{T}": summary(v) for T, v in t.items()} for k, t in table.items()},
                  "references_complex_acc": {k: summary([p.get(f"{k}_complex", np.nan) for p in per])
                                             for k in ("uniform", "unigram", "bigram", "bayes")},
                  "convergence": convergence_table(per, seeds, sweep_arm_names),
                  "train_flops_per_step_ratio_looped_vs_untied": ratio,
                  "n_params": {a: costs[a]["n_params"] for a in sweep_arm_names},
                  "n_sweep_seeds": len(seeds), "note_on_seeds": rule_seeds_note},
        note=f"at the {_horizon_text(per)}, on {len(seeds)} seeds: {sentence}")


def recursion_depth_claims(records: Sequence[Mapping[str, RunRecord]], scale: str, seeds: Sequence[int],
                           run: MarkovRun | None = None, loops: Sequence[int] = LOOPS) -> list[Claim]:
    """S4, S5a, S5b from ``records`` (one ``{arm: RunRecord}`` per seed, with the core arms), and S6 from
    the seeds whose records also hold the sweep arms (:func:`is_sweep_seed`; none: S6 is left out).
    ``run`` gives the closed-form parameter and FLOP counts (default: the records' own counts only).

    Introduced in notebooks/09_recursion_or_depth.
    """
    seeds = [int(s) for s in seeds]
    m = _Measured(records)
    per = m()
    arms = sorted({a for p in per for a in p["arms"]}, key=lambda a: list(SWEEP_ARMS_ALL).index(a)
                  if a in SWEEP_ARMS_ALL else len(SWEEP_ARMS_ALL))
    costs = arm_costs(run, arms) if run is not None else {}
    for a in arms:  # what the runs themselves counted
        row = next(p["arms"][a] for p in per if a in p["arms"])
        c = costs.setdefault(a, {"n_params": row["n_params"]})
        c["n_params_counted"] = row["n_params"]
        if row.get("train_step_flops") is not None:
            c["train_flops_per_step_counted"] = row["train_step_flops"]
        c.setdefault("train_flops_per_step", c.get("train_flops_per_step_counted", np.nan))
    claims = [claim_s4(m, scale, seeds, costs), claim_s5a(m, scale, seeds, costs), claim_s5b(m, scale, seeds)]
    sweep = [i for i, r in enumerate(records) if is_sweep_seed(r, loops)]
    if sweep:
        ms = _Measured([records[i] for i in sweep])
        note = (f"the sweep ran on {len(sweep)} of the {len(seeds)} seeds (the first ones) to fit the time budget"
                if len(sweep) < len(seeds) else "")
        claims.append(claim_s6(ms, scale, [seeds[i] for i in sweep], loops, costs, note))
    return claims


def measured_all(records: Sequence[Mapping[str, RunRecord]]) -> list[dict]:
    """:func:`measure_seed` of every seed (the main analysis).

    Introduced in notebooks/09_recursion_or_depth.
    """
    return [measure_seed(r) for r in records]


@register("recursion-or-depth", ["S4", "S5a", "S5b", "S6"], "Single, Looped-3 and Untied-3 at equal compute, a wide "
          "Single-Attn, and the loop-count sweep, at a converged horizon (is it recursion or depth?)")
def run(ctx: Context) -> list[Claim]:
    """Train the core arms over the verdict seeds and the sweep on the first of them, save the figures and
    records, return S4–S6."""

    cfg = config(ctx.scale, ctx.max_steps)
    seeds = verdict_seeds(ctx.n_seeds or cfg.n_seeds, ctx.scale)
    runs = run_experiment(cfg, seeds, workers=ctx.workers, progress=ctx.progress)
    records = [r.records for r in runs]
    ctx.save_records(RECORDS_NAME, {f"{r.seed}/{a}": rec for r in runs for a, rec in r.records.items()})
    claims = recursion_depth_claims(records, ctx.scale, seeds, cfg.run, cfg.loops)
    per = measured_all(records)
    core = [{a: r[a] for a in cfg.arms} for r in records]
    half = {a: mean_step(per, a, "half_step", all_seeds=True) for a in cfg.arms}
    onset = {a: mean_step(per, a, "induction_step", all_seeds=True) for a in cfg.arms}
    ctx.save_figure(plot_recursion_curves(core, stable_end=cfg.stable_steps, markers=half), "recursion_depth_accuracy",
                    alt="simple- and complex-split accuracy over training for Single, Looped-3, Untied-3 and wide "
                        "Single-Attn (mean over seeds, min–max bands), the WSD decay shaded, with uniform, in-context "
                        "unigram and in-context bigram reference lines")
    sweep = [p for p in per if all(a in p["arms"] for a in SWEEP_ARMS_ALL)]
    if sweep:
        ctx.save_figure(plot_dose_response(sweep_table(sweep, cfg.loops), _references(sweep)), "recursion_depth_sweep",
                        alt="final complex-split accuracy against the loop count T = 1, 2, 3, 4, 6 for Looped-T and "
                            "Untied-T (mean and per-seed points) with uniform, in-context unigram and in-context bigram "
                            "reference lines")
    conv = convergence_table(per, seeds, list(cfg.arms))
    ctx.save_figure(plot_convergence(conv), "recursion_depth_convergence",
                    alt="how far each arm's complex-split accuracy moved over the last 20 % of the stable phase, one "
                        "point per seed, with the ±0.5-point convergence band")
    fig = plot_mechanism_over_training(core, climb=half, onset=onset)
    add_accuracy_references(fig.axes[4:6], _references(per), legend=True)
    ctx.save_figure(fig, "recursion_depth_mechanism",
                    alt="previous-token and induction scores of every loop of Looped-Attn and every layer of "
                        "Untied-3 over training, with their complex-split accuracy and the reference lines")
    x = cfg.run.data.sample(seeds[0]).test["complex"][:1]
    maps = {a: runs[0].model(a, cfg.run).attention_maps(x) for a in ("looped", "untied-3")}
    ctx.save_figure(plot_attention_grid(maps, x), "recursion_depth_attention",
                    alt="attention of Looped-Attn's loops and Untied-3's layers on one complex sequence, tokens on the axes, "
                        "each query's induction target marked")
    return claims


def _references(per: Sequence[Mapping]) -> dict:
    """Mean complex-split reference accuracies (points) over seeds: uniform (1/V), in-context unigram,
    in-context bigram (the Bayes in-context predictor), true-chain Bayes."""
    return {k: float(np.mean([p.get(f"{k}_complex", np.nan) for p in per])) for k in ("uniform", "unigram", "bigram", "bayes")}


def references(records: Sequence[Mapping[str, RunRecord]]) -> dict:
    """Mean complex-split reference accuracies (points) over the seeds of ``records``: ``uniform``
    (100/V), ``unigram`` (in-context unigram), ``bigram`` (in-context add-α bigram: the Bayes in-context
    predictor), ``bayes`` (the true-chain oracle).

    Introduced in notebooks/09_recursion_or_depth.
    """
    recs = [next(iter(r.values())) for r in records]
    out = {k: float(np.mean([100 * r.meta["references"]["complex"][k]["acc"] for r in recs]))
           for k in ("unigram", "bigram", "bayes")}
    return {"uniform": 100 / recs[0].meta["model_cfg"]["vocab_size"], **out}
