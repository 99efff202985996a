"""Recursion or depth? The untied-depth control through the sample-level chapter (notebook 09).

The paper's thesis is that the *recursive* architecture — one layer applied three times with shared
weights — is what lets Looped-Attn learn the complex sequences. On the in-context Markov language the
complex split needs an in-context bigram (a previous-token head feeding an induction head), which
one attention layer cannot express and any stack of depth ≥ 2 can. So the control is plain depth:
five arms on the same language sample, initial weights (as far as shapes allow), data order and
schedule (:mod:`loopvalley.looped.arms`):

- ``single``  — one layer, applied once;
- ``looped``  — the same layer applied 3 times (shared weights);
- ``untied-2``, ``untied-3`` — 2 or 3 distinct layers in series (no recursion, same compute per
  layer application; Untied-3 has exactly Looped-Attn's forward FLOPs per step);
- ``wide-single`` — one layer holding Untied-3's parameters side by side (3× the heads, same head
  width): Untied-3's parameters and FLOPs, spent in parallel instead of in series.

Claims (margins per confirmatory seed, paired within the seed; see :mod:`loopvalley.claims`). "Final"
complex accuracy = mean over the evaluation points in the last 10 % of steps.

- **S4** "Depth, not extra parameters, lifts the complex split": Untied-3 and Looped-Attn both beat
  wide Single-Attn on the complex split — per seed, (Untied-3 − wide) − 5 and (Looped − wide) − 5
  points (a conjunction).
- **S5** "Recursion adds something beyond depth" (the paper's implied claim): Looped-Attn ends above
  Untied-3 on the complex split at equal steps, which here *is* equal compute (their training FLOPs
  per step are identical: checked with :func:`loopvalley.looped.models.forward_flops` and the runs' own
  :class:`loopvalley.looped.compute.FlopCounter`) — per seed, Looped − Untied-3 points. Holds if Looped is
  better, fails if Untied-3 is better, inconclusive if the seeds cannot tell them apart.

A mechanism check rides along (:class:`loopvalley.looped.mechanism.MechanismProbe` on 128 complex test
sequences at every evaluation): per loop / per layer previous-token and induction scores over
training, and the step at which the induction head forms next to the step at which the complex
accuracy climbs (in ``measured``, and in notebook 09's figure).

Exploration (rule v1, fixed on exploratory seeds 0–4 at ``small`` before any confirmatory run; the
full tables are in ``docs/exploration/recursion_depth.md``). Final complex-split accuracy (%):

    seed   single  looped  untied-2  untied-3  wide  | S4 parts: U3−wide−5  Looped−wide−5 | S5: Looped−U3
    0       53.2    69.5     59.0      71.9    57.2  |            +9.7          +7.3     |   −2.4
    1       55.0    70.1     72.4      72.6    56.0  |           +11.7          +9.1     |   −2.5
    2       53.1    70.5     54.9      67.5    56.6  |            +5.9          +8.9     |   +3.0
    3       54.1    69.2     71.3      71.5    56.3  |           +10.2          +7.9     |   −2.3
    4       55.2    71.6     73.1      65.8    58.5  |            +2.3          +8.1     |   +5.8

The 5-point "beat" margin is the one S2 uses for Looped over Single; every S4 part clears it on every
exploratory seed. The wide layer gains +1.0 to +4.1 points over Single-Attn and stays far below the
deep arms. S5 needs no threshold (> 0 is the paper's side); on these seeds it is centred on 0
(+0.3 [−4.5, +5.1]): Untied-3 ends higher when its climb is over by step 600 and lower when it starts
late, while Looped-Attn leaves the plateau 25–150 steps *earlier* than Untied-3 on every seed (a
descriptive number in S5's ``measured``, not a verdict). An induction head counts as formed when the
best induction score ends ≥ ``MIN_INDUCTION_RISE`` = 0.2 above chance (0.1 would credit the wide
layer's best-of-three-heads bias).

Introduced in notebooks/09_recursion_or_depth.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Mapping, Sequence

import numpy as np

from loopvalley.claims import Claim, claim_from_margins, summary
from loopvalley.looped.arms import SeedRun, arm_config, records_by_seed, train_seeds, window_mean
from loopvalley.looped.compute import FlopCounter, train_step_flops
from loopvalley.looped.mechanism import MechanismProbe
from loopvalley.looped.models import forward_flops, n_params_formula
from loopvalley.looped.plots import plot_attention_grid, plot_depth_curves, plot_mechanism_over_training
from loopvalley.looped.runs import MarkovRun, markov_run
from loopvalley.records import RunRecord
from loopvalley.registry import Context, register, shipped_records
from loopvalley.scales import current_scale
from loopvalley.seeds import verdict_seeds, exploratory
from loopvalley.stats import mean_interval

ARMS = ("single", "looped", "untied-2", "untied-3", "wide-single")
RECORDS_NAME = "recursion-or-depth"  # results/<scale>/records/<RECORDS_NAME>.json, keys "<seed>/<arm>"


@dataclass
class RecursionDepthConfig:
    """The recursion-or-depth experiment: the Markov run, the arms and the seeds that decide."""

    run: MarkovRun  # data, model, training (loopvalley.looped.runs.markov_run) — the same run as notebook 04
    n_seeds: int  # confirmatory seeds behind the verdicts
    arms: tuple = ARMS
    probe_sequences: int = 128  # complex test sequences the mechanism probe scores at every evaluation


SCALES = {"ci": dict(n_seeds=2), "small": dict(n_seeds=5), "paper": dict(n_seeds=10)}


def config(scale: str | None = None, max_steps: int | None = None) -> RecursionDepthConfig:
    """The experiment at ``scale`` (:data:`SCALES`), every run capped at ``max_steps`` if given.

    Introduced in notebooks/09_recursion_or_depth.
    """
    s = current_scale(scale)
    return RecursionDepthConfig(run=markov_run(s).capped(max_steps), **SCALES[s])


# ----------------------------------------------------------------------------------------------
# Training the arms


def mechanism_probes(data, probe_sequences: int = 128, every: int = 25) -> list:
    """A run's probes here: the induction/previous-token scores on ``probe_sequences`` held-out
    complex sequences every ``every`` steps, and the FLOP counter (last, as it must be).

    Introduced in notebooks/09_recursion_or_depth.
    """
    return [MechanismProbe(data.test["complex"][:probe_sequences], every=every), FlopCounter()]


def run_seeds(seeds: Sequence[int], run: MarkovRun, arms: Sequence[str] = ARMS, probe_sequences: int = 128,
              workers: int | None = None, threads: int = 1, progress: bool = False) -> list[SeedRun]:
    """Every arm on every seed with :func:`mechanism_probes`, one (seed, arm) job per worker process
    (:func:`loopvalley.looped.arms.train_seeds`; each job is identical to a sequential 1-thread run).

    Introduced in notebooks/09_recursion_or_depth.
    """
    probes = partial(mechanism_probes, probe_sequences=probe_sequences, every=run.train.eval_every)
    return train_seeds(seeds, run, arms, probes=probes, workers=workers, threads=threads, progress=progress)


def shipped_runs(scale: str, root=None) -> tuple[list[int], list[dict]] | None:
    """The records ``reproduce`` shipped for this experiment at ``scale`` as ``(seeds, records)``
    (:func:`records_by_seed`), or ``None`` when none were shipped or the file is damaged
    (:func:`loopvalley.registry.shipped_records` prints which file and what is wrong).

    Introduced in notebooks/09_recursion_or_depth.
    """
    flat = shipped_records(scale, RECORDS_NAME, root)
    return None if flat is None else records_by_seed(flat, ARMS)


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


def induction_curve(record: RunRecord) -> tuple[np.ndarray, np.ndarray]:
    """``(steps, best induction score)``: at every probe row, the largest induction score over the
    loops/layers and heads of the model (from :class:`loopvalley.looped.mechanism.MechanismProbe`).

    Introduced in notebooks/09_recursion_or_depth.
    """
    steps, ind = record.probe("mechanism", "induction")  # (rows, L, H)
    return steps, ind.reshape(len(steps), -1).max(axis=1)


CLIMB_POINTS = 3.0  # an arm "leaves the one-layer plateau" when it is this many points above Single's final
MIN_INDUCTION_RISE = 0.2  # an induction head "forms" only if the best score ends this far above chance


def measure_seed(records: Mapping[str, RunRecord]) -> dict:
    """The numbers behind S4–S5 for one seed (accuracies in points, %), per arm:

    - ``complex`` / ``simple``: accuracy over the last 10 % of steps; ``complex_mean``: mean complex
      accuracy over all evaluation points (the area under the curve / steps: speed at equal steps);
    - ``escape_step``: first step at which the complex accuracy (±5 % smoothing) is ``CLIMB_POINTS``
      above Single's final complex accuracy (the one-layer plateau) — ``None`` if never;
      ``half_step``: first step half-way from that plateau to the arm's own final accuracy (``None``
      when the arm ends less than ``CLIMB_POINTS`` above the plateau);
    - ``induction_final``: the best (over loops/layers and heads) induction score over the last
      10 % of steps, ``induction_chance`` its uniform-attention level, ``induction_step`` the first
      probe step half-way from step 0's best score to the final one (``None`` when the final score is
      less than ``MIN_INDUCTION_RISE`` above chance: no induction head formed); ``induction_lead`` =
      ``half_step − induction_step`` (> 0: the head forms before the accuracy climbs);
      ``previous_token_final`` the best previous-token score at the end;
    - ``n_params``, ``train_flops`` (the FlopCounter's total), ``train_step_flops``.

    Plus ``plateau`` (Single's final complex accuracy) and the references.

    Introduced in notebooks/09_recursion_or_depth.
    """
    single = records["single"]
    st, s_complex = single.curve("complex")
    plateau = 100 * final_value(st, s_complex)
    total = float(st[-1])
    hw = 0.05 * total
    out: dict = {"plateau": plateau, "horizon": int(total), "arms": {}}
    refs = single.meta.get("references", {})
    for k in ("bayes", "bigram", "unigram"):
        if k in refs.get("complex", {}):
            out[f"{k}_complex"] = 100 * refs["complex"][k]["acc"]
    for arm, rec in records.items():
        steps, acc = rec.curve("complex")
        acc = 100 * acc
        final = final_value(steps, acc)
        row = {"complex": final, "simple": 100 * final_value(*rec.curve("simple")),
               "complex_mean": float(np.mean(acc)),
               "escape_step": first_step_above(steps, acc, plateau + CLIMB_POINTS, hw),
               "half_step": (first_step_above(steps, acc, (plateau + final) / 2, hw)
                             if final - plateau >= CLIMB_POINTS else None),
               "n_params": int(rec.meta["n_params"])}
        if "mechanism" in rec.probes:
            ps, best = induction_curve(rec)
            chance = float(rec.probes["mechanism"]["induction_chance"][0])
            ind_final = final_value(ps, best)
            formed = ind_final - chance >= MIN_INDUCTION_RISE
            row["induction_final"] = ind_final
            row["induction_chance"] = chance
            row["induction_step"] = (first_step_above(ps, best, best[0] + 0.5 * (ind_final - best[0]), hw)
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
    vals = [p["arms"][arm].get(key) for p in per]
    if all_seeds and None in vals:
        return None
    vals = [v for v in vals if v is not None]
    return float(np.mean(vals)) if vals else None


def arm_costs(run: MarkovRun, arms: Sequence[str] = ARMS) -> dict:
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


# ----------------------------------------------------------------------------------------------
# The claims: one function each (measure → margin → claim)

RULE_SEEDS = exploratory(5)  # S4–S5's rules were fixed on exploratory seeds 0–4 at `small`
RULE_VERSION = "1"
BEAT_MARGIN = 5.0  # points: "A beats B" = A's final complex accuracy is ≥ 5 points above B's (as in S2)
FINAL = "final = mean over the evaluation points in the last 10 % of steps"


def _col(per: Sequence[Mapping], arm: str, key: str) -> list:
    return [p["arms"][arm][key] for p in per]


def _per_arm(per: Sequence[Mapping], key: str, arms: Sequence[str]) -> dict:
    return {a: summary([np.nan if v is None else v for v in _col(per, a, key)]) for a in arms if a in per[0]["arms"]}


def claim_s4(per: Sequence[Mapping], scale: str, seeds: Sequence[int], costs: Mapping) -> Claim:
    """S4: per seed, (Untied-3 − wide Single) − 5 and (Looped − wide Single) − 5 final complex-split
    accuracy, in points."""
    wide = _col(per, "wide-single", "complex")
    u3 = [u - w - BEAT_MARGIN for u, w in zip(_col(per, "untied-3", "complex"), wide)]
    lp = [u - w - BEAT_MARGIN for u, w in zip(_col(per, "looped", "complex"), wide)]
    arms = list(per[0]["arms"])
    gain = np.mean(_col(per, "wide-single", "complex")) - np.mean(_col(per, "single", "complex"))
    return claim_from_margins(
        "S4", "Depth, not extra parameters, lifts the complex split: Untied-3 and Looped-Attn both beat a wide "
        "Single-Attn with Untied-3's parameters",
        "not tested in the paper (its thesis: the recursive architecture is what learns the complex sequences)",
        {f"(Untied-3 − wide Single) complex accuracy − {BEAT_MARGIN:g}": u3,
         f"(Looped − wide Single) complex accuracy − {BEAT_MARGIN:g}": lp},
        units="points", rule=f"per seed, paired: Untied-3's and Looped-Attn's final complex-split accuracy each ≥ "
        f"{BEAT_MARGIN:g} points above the wide Single-Attn's (3× heads of the same width: Untied-3's parameters "
        f"and FLOPs in one layer); {FINAL}",
        rule_version=RULE_VERSION, scale=scale, seeds=seeds, exploratory_seeds=RULE_SEEDS,
        measured={"complex_acc": _per_arm(per, "complex", arms), "simple_acc": _per_arm(per, "simple", arms),
                  "single_plateau": summary([p["plateau"] for p in per]),
                  "bigram_complex_acc": summary([p.get("bigram_complex", np.nan) for p in per]),
                  "wide_minus_single_points": float(gain), "costs": costs},
        notes={"holds": f"depth lifts the complex split: the wide layer, with Untied-3's parameters and FLOPs in "
                        f"parallel, gains only {gain:+.1f} points over Single-Attn, while Untied-3 and Looped-Attn "
                        f"end {np.mean(u3) + BEAT_MARGIN:.1f} and {np.mean(lp) + BEAT_MARGIN:.1f} points above it"},
    )


def claim_s5(per: Sequence[Mapping], scale: str, seeds: Sequence[int], costs: Mapping) -> Claim:
    """S5: per seed, Looped − Untied-3 final complex-split accuracy in points (equal steps = equal
    compute: identical training FLOPs per step)."""
    diff = [a - b for a, b in zip(_col(per, "looped", "complex"), _col(per, "untied-3", "complex"))]
    auc = [a - b for a, b in zip(_col(per, "looped", "complex_mean"), _col(per, "untied-3", "complex_mean"))]
    arms = list(per[0]["arms"])
    flop_ratio = costs["looped"]["train_flops_per_step"] / costs["untied-3"]["train_flops_per_step"]
    counted = {a: summary(_col(per, a, "train_flops")) for a in ("looped", "untied-3") if "train_flops" in per[0]["arms"][a]}
    m = float(np.mean(diff))
    horizon = int(per[0].get("horizon", 0))
    escape = [None if a is None or b is None else b - a
              for a, b in zip(_col(per, "looped", "escape_step"), _col(per, "untied-3", "escape_step"))]
    esc_interval = None
    if len(escape) >= 2 and None not in escape:
        mu, lo, hi = mean_interval(escape)
        esc_interval = {"mean": mu, "ci_low": lo, "ci_high": hi, "per_seed": escape}
    return claim_from_margins(
        "S5", "Recursion adds something beyond depth: Looped-Attn ends above Untied-3 on the complex split at equal "
        "compute", "implied by the thesis that the recursive (weight-shared) architecture induces the River-V-Valley",
        {"Looped − Untied-3 complex accuracy (equal steps = equal compute)": diff},
        units="points", rule="per seed, paired: Looped-Attn's final complex-split accuracy minus Untied-3's, at the "
        f"same number of steps, which is the same compute (training FLOPs per step ratio {flop_ratio:.3g}); {FINAL}",
        rule_version=RULE_VERSION, scale=scale, seeds=seeds, exploratory_seeds=RULE_SEEDS,
        measured={"complex_acc": _per_arm(per, "complex", arms),
                  "looped_minus_untied3_mean_complex_acc_points": summary(auc),
                  "untied3_minus_looped_escape_step": esc_interval or {"per_seed": escape},
                  "half_climb_step": _per_arm(per, "half_step", arms),
                  "escape_step": _per_arm(per, "escape_step", arms),
                  "induction_step": _per_arm(per, "induction_step", arms),
                  "induction_lead_steps": _per_arm(per, "induction_lead", arms),
                  "induction_final": _per_arm(per, "induction_final", arms),
                  "induction_chance": summary([p["arms"]["looped"].get("induction_chance", np.nan) for p in per]),
                  "previous_token_final": _per_arm(per, "previous_token_final", arms),
                  "train_flops_per_step_ratio_looped_vs_untied3": flop_ratio, "train_flops_counted": counted,
                  "costs": costs},
        notes={"fails": f"at a {horizon}-step horizon Untied-3 ends {-m:.1f} points above Looped-Attn at equal compute: "
                        "plain depth does at least as well as recursion on this task (with 3× the layer parameters)",
               "inconclusive": f"at a {horizon}-step horizon Looped-Attn − Untied-3 = {m:+.1f} points at equal compute: "
                               "the seeds cannot tell recursion from plain depth in final complex accuracy",
               "holds": f"at a {horizon}-step horizon Looped-Attn ends {m:.1f} points above Untied-3 at equal compute: "
                        "weight sharing adds something beyond depth"},
    )


def recursion_depth_claims(records: Sequence[Mapping[str, RunRecord]], scale: str, seeds: Sequence[int],
                           run: MarkovRun | None = None) -> list[Claim]:
    """S4–S5 from ``records`` (one ``{arm: RunRecord}`` per seed, with the five arms). ``run`` gives
    the closed-form parameter and FLOP counts (default: the records' own counts only).

    Introduced in notebooks/09_recursion_or_depth.
    """
    per = [measure_seed(r) for r in records]
    arms = list(records[0])
    costs = arm_costs(run, arms) if run is not None else {a: {"n_params": per[0]["arms"][a]["n_params"]} for a in arms}
    for a in arms:  # what the runs themselves counted
        costs[a]["n_params_counted"] = per[0]["arms"][a]["n_params"]
        if per[0]["arms"][a].get("train_step_flops") is not None:
            costs[a]["train_flops_per_step_counted"] = per[0]["arms"][a]["train_step_flops"]
    if "train_flops_per_step" not in costs["looped"]:
        for a in arms:
            costs[a]["train_flops_per_step"] = costs[a].get("train_flops_per_step_counted", np.nan)
    return [claim_s4(per, scale, seeds, costs), claim_s5(per, scale, seeds, costs)]


@register("recursion-or-depth", ["S4", "S5"], "Looped-Attn vs untied depth-2/3 stacks and a wide single layer "
          "(is it recursion or depth?)")
def run(ctx: Context) -> list[Claim]:
    """Train the five arms over the confirmatory seeds, save the figures, return S4–S5."""

    cfg = config(ctx.scale, ctx.max_steps)
    seeds = verdict_seeds(ctx.n_seeds or cfg.n_seeds, ctx.scale)
    runs = run_seeds(seeds, cfg.run, cfg.arms, cfg.probe_sequences, workers=ctx.workers,
                     progress=ctx.progress)
    records = [r.records for r in runs]
    ctx.save_records(RECORDS_NAME, {f"{r.seed}/{a}": rec for r in runs for a, rec in r.records.items()})
    claims = recursion_depth_claims(records, ctx.scale, seeds, cfg.run)
    per = [measure_seed(r) for r in records]
    half = {a: mean_step(per, a, "half_step", all_seeds=True) for a in cfg.arms}
    onset = {a: mean_step(per, a, "induction_step", all_seeds=True) for a in cfg.arms}
    ctx.save_figure(plot_depth_curves(records, markers=half), "recursion_depth_accuracy",
                    alt="simple- and complex-split accuracy over training for Single, Looped, Untied-2, Untied-3 "
                        "and wide Single-Attn (own line style and marker each), mean over seeds with min–max bands, "
                        "against chance (1/V), the in-context unigram and bigram and the true-chain oracle")
    ctx.save_figure(plot_mechanism_over_training(records, climb=half, onset=onset), "recursion_depth_mechanism",
                    alt="previous-token and induction scores of every loop of Looped-Attn and every layer of "
                        "Untied-3 over training, with their complex-split accuracy")
    x = cfg.run.data.sample(seeds[0]).test["complex"][:1]
    maps = {a: runs[0].model(a, cfg.run).attention_maps(x) for a in ("looped", "untied-3")}
    ctx.save_figure(plot_attention_grid(maps, x), "recursion_depth_attention",
                    alt="attention of Looped-Attn's loops and Untied-3's layers on one complex sequence, tokens on the axes, "
                        "each query's induction target marked")
    return claims
