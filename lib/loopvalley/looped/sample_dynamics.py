"""Sample-level dynamics (paper §5.1): Single-Attn masters simple sequences and plateaus on complex
ones; Looped-Attn keeps improving on complex ones after Single's plateau.

Claims (margins per confirmatory seed; see :mod:`loopvalley.claims`):

- **S1** Single-Attn masters the simple split and plateaus on the complex split.
- **S2** Looped-Attn's complex-split accuracy keeps rising after Single's plateau and ends above it.
- **S3** Single-Attn and Looped-Attn have identical parameter counts (deterministic).

The verdicts are computed by :func:`sample_dynamics_claims` from run records only, so notebook 04's
claims check runs the same code as ``python -m loopvalley reproduce``.

Introduced in notebooks/04_single_vs_looped.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Mapping, Sequence

import numpy as np

from loopvalley import rules as R
from loopvalley.claims import Claim, judge, summary
from loopvalley.looped.arms import SeedRun, train_seeds, window_mean
from loopvalley.looped.plots import plot_attention_maps, plot_split_curves
from loopvalley.looped.runs import MarkovRun, markov_run
from loopvalley.records import RunRecord
from loopvalley.registry import Context, register
from loopvalley.scales import current_scale
from loopvalley.seeds import verdict_seeds

PAPER_COMPLEX = (44.65, 54.72)  # Looped-Attn complex-split accuracy (%) at and after epoch 150 [SUM-S]


@dataclass
class SampleDynamicsConfig:
    """The sample-dynamics experiment: the Markov run and how many confirmatory seeds decide."""

    run: MarkovRun  # data, model, training (loopvalley.looped.runs.markov_run)
    n_seeds: int  # confirmatory seeds behind the verdicts
    arms: tuple = ("single", "looped")


SCALES = {"ci": dict(n_seeds=4), "small": dict(n_seeds=5), "paper": dict(n_seeds=10)}  # ci: 2 rounds of 2 workers


def config(scale: str | None = None, max_steps: int | None = None) -> SampleDynamicsConfig:
    """The experiment at ``scale`` (:data:`SCALES`), every run capped at ``max_steps`` if given.

    Introduced in notebooks/04_single_vs_looped.
    """
    s = current_scale(scale)
    return SampleDynamicsConfig(run=markov_run(s).capped(max_steps), **SCALES[s])


def run_seed(seed: int, run: MarkovRun, arms: Sequence[str] = ("single", "looped")) -> SeedRun:
    """Train every arm on seed ``seed`` in this process (same language sample, same initial weights,
    same data order).

    Introduced in notebooks/04_single_vs_looped.
    """
    return train_seeds([seed], run, arms, workers=1)[0]


def run_seeds(seeds: Sequence[int], run: MarkovRun, arms: Sequence[str] = ("single", "looped"),
              workers: int | None = None, threads: int = 1, progress: bool = False) -> list[SeedRun]:
    """Every arm on every seed, side by side (:func:`loopvalley.looped.arms.train_seeds`).

    Introduced in notebooks/04_single_vs_looped.
    """
    return train_seeds(seeds, run, arms, workers=workers, threads=threads, progress=progress)


def run_variant(n_loops: int = 3, d_model: int | None = None, seeds: Sequence[int] = (0,), scale: str | None = None) -> list:
    """Records of :func:`run_seed` with another loop count or width (the notebook-04 widget; an
    exploration on exploratory seeds, not a verdict).

    Introduced in notebooks/04_single_vs_looped.
    """
    run = config(scale).run
    run = replace(run, model=replace(run.model, d_model=d_model or run.model.d_model), looped_depth=n_loops)
    return [r.records for r in run_seeds(seeds, run, workers=1)]


# ----------------------------------------------------------------------------------------------
# Measuring the claims from run records


def plateau_onset(steps, acc, final: float, tol: float = 0.01, half_width: float = 0.0) -> int:
    """First evaluation step whose (windowed) accuracy is within ``tol`` of ``final``.

    Introduced in notebooks/04_single_vs_looped.
    """
    for s in steps:
        if window_mean(steps, acc, s - half_width, s + half_width) >= final - tol:
            return int(s)
    return int(steps[-1])


@dataclass(frozen=True)
class PairMeasurement:
    """What S1–S3 read off one seed's Single and Looped runs, in accuracy points (%)."""

    single_simple: float  # Single's simple-split accuracy over the final window
    bayes_simple: float  # the true-chain Bayes accuracy on the simple split (an oracle)
    bigram_simple: float  # the in-context Bayes (add-α bigram) predictor's
    unigram_simple: float  # the in-context unigram predictor's
    s1_gap: float  # Bayes − Single on the simple split
    s1_gap_in_context: float  # in-context bigram − Single on the simple split
    single_complex: float  # Single's complex-split accuracy over the final window
    single_complex_gain: float  # its gain from 60–70 % to the final window
    looped_complex_gain: float
    plateau_step: int  # Single's plateau onset t_p
    plateau_frac: float  # t_p / horizon
    looped_at_plateau: float  # Looped's complex accuracy at t_p
    looped_final: float  # … over the final window
    looped_half: float  # … over 45–55 % of training
    single_half: float
    s2_rise: float  # Looped's rise after t_p
    s2_gap: float  # Looped − Single, final
    bayes_complex: float
    bigram_complex: float
    unigram_complex: float
    n_params_single: int
    n_params_looped: int


def measure_pair(single: RunRecord, looped: RunRecord, final_frac: float = 0.1, plateau_tol: float = 1.0,
                 horizon: int | None = None) -> PairMeasurement:
    """The numbers behind S1–S3 for one seed, in accuracy points (%); ``final_frac``, ``plateau_tol``
    and ``horizon`` (read the runs up to that step; ``None``: all of them) are S2's analysis choices.

    - ``single_simple``: Single's simple-split accuracy over the last 10 % of steps; ``bayes_simple``
      the true-chain Bayes accuracy and ``bigram_simple`` the in-context Bayes predictor (add-α
      bigram: the best any model that reads the chain off the context can do on average).
    - ``single_complex_gain``: Single's complex accuracy over the last 10 % minus over 60–70 % of steps.
    - ``plateau_step``: Single's plateau onset t_p (first step within 1 point of its final complex
      accuracy, each point averaged over ±5 % of training); ``looped_at_plateau`` / ``looped_final``:
      Looped's complex accuracy there and at the end; ``s2_rise`` and ``s2_gap`` (over Single's final).

    Introduced in notebooks/04_single_vs_looped.
    """
    if horizon is not None:
        single, looped = single.until(horizon), looped.until(horizon)
    total = single.eval_step[-1]
    end = ((1 - final_frac) * total, total)
    st, s_simple = single.curve("simple")
    _, s_complex = single.curve("complex")
    lt, l_complex = looped.curve("complex")
    refs = single.meta["references"]
    single_simple = 100 * window_mean(st, s_simple, *end)
    single_complex = 100 * window_mean(st, s_complex, *end)
    hw = 0.05 * total
    tp = plateau_onset(st, 100 * s_complex, single_complex, tol=plateau_tol, half_width=hw)
    looped_at = 100 * window_mean(lt, l_complex, tp - hw, tp + hw)
    looped_final = 100 * window_mean(lt, l_complex, *end)
    return PairMeasurement(**{
        "single_simple": single_simple,
        "bayes_simple": 100 * refs["simple"]["bayes"]["acc"],
        "bigram_simple": 100 * refs["simple"]["bigram"]["acc"],
        "unigram_simple": 100 * refs["simple"]["unigram"]["acc"],
        "s1_gap": 100 * refs["simple"]["bayes"]["acc"] - single_simple,
        "s1_gap_in_context": 100 * refs["simple"]["bigram"]["acc"] - single_simple,
        "single_complex": single_complex,
        "single_complex_gain": single_complex - 100 * window_mean(st, s_complex, 0.6 * total, 0.7 * total),
        "looped_complex_gain": looped_final - 100 * window_mean(lt, l_complex, 0.6 * total, 0.7 * total),
        "plateau_step": tp,
        "plateau_frac": tp / total,
        "looped_at_plateau": looped_at,
        "looped_final": looped_final,
        "looped_half": 100 * window_mean(lt, l_complex, 0.45 * total, 0.55 * total),
        "single_half": 100 * window_mean(st, s_complex, 0.45 * total, 0.55 * total),
        "s2_rise": looped_final - looped_at,
        "s2_gap": looped_final - single_complex,
        "bayes_complex": 100 * refs["complex"]["bayes"]["acc"],
        "bigram_complex": 100 * refs["complex"]["bigram"]["acc"],
        "unigram_complex": 100 * refs["complex"]["unigram"]["acc"],
        "n_params_single": single.meta["n_params"],
        "n_params_looped": looped.meta["n_params"],
    })


# ----------------------------------------------------------------------------------------------
# The claims: one function each (measure → margin → claim)

def claim_s1(per: Sequence[Mapping], scale: str, seeds: Sequence[int]) -> Claim:
    """S1: per seed, 5 − (Bayes − Single on the simple split) and 1 − (Single's complex gain over the
    last third of training), in points."""
    col = lambda k: [getattr(p, k) for p in per]  # noqa: E731
    par = R.rule("S1").params
    return judge(
        "S1", {"simple": [par["simple_gap"] - g for g in col("s1_gap")],
               "plateau": [par["gain"] - g for g in col("single_complex_gain")]}, scale=scale, seeds=seeds,
        measured={"single_simple_acc": summary(col("single_simple")), "bayes_simple_acc": summary(col("bayes_simple")),
                  "unigram_simple_acc": summary(col("unigram_simple")), "single_complex_acc": summary(col("single_complex")),
                  "unigram_complex_acc": summary(col("unigram_complex")), "bigram_complex_acc": summary(col("bigram_complex")),
                  "complex_gain_last_third_points": summary(col("single_complex_gain"))},
        note=f"Single ends {np.mean(col('s1_gap')):.1f} points under the true-chain Bayes accuracy on the simple split (an "
             f"oracle that knows the chain) and {np.mean(col('unigram_simple')) - np.mean(col('single_simple')):+.1f} under the "
             f"in-context unigram; on the complex split it ends at {np.mean(col('single_complex')):.1f} % against the "
             f"in-context unigram's {np.mean(col('unigram_complex')):.1f} % and bigram's {np.mean(col('bigram_complex')):.1f} %.")


def claim_s2(records: Sequence[Mapping[str, RunRecord]], scale: str, seeds: Sequence[int]) -> Claim:
    """S2: per seed, (Looped's complex-split rise after Single's plateau onset) − threshold and
    (Looped's final complex accuracy − Single's) − threshold, in points; every analysis choice of the
    rule (threshold, final window, plateau tolerance, horizon) recomputed from the records."""
    def margins(spec):
        horizon = None if spec["horizon"] == "all" else int(spec["horizon"])
        per = [measure_pair(r["single"], r["looped"], spec["final_frac"], spec["plateau_tol"], horizon) for r in records]
        return {"rise": [p.s2_rise - spec["beat"] for p in per], "gap": [p.s2_gap - spec["beat"] for p in per]}

    per = [measure_pair(r["single"], r["looped"]) for r in records]
    col = lambda k: [getattr(p, k) for p in per]  # noqa: E731
    horizon = int(records[0]["single"].eval_step[-1])
    return judge(
        "S2", margins, scale=scale, seeds=seeds, horizon=horizon,
        measured={"single_plateau_step": summary(col("plateau_step")), "looped_complex_at_plateau": summary(col("looped_at_plateau")),
                  "looped_complex_final": summary(col("looped_final")), "rise_after_plateau_points": summary(col("s2_rise")),
                  "gap_over_single_points": summary(col("s2_gap")), "single_complex_final": summary(col("single_complex")),
                  "bigram_complex_acc": summary(col("bigram_complex")), "paper_looped_complex": list(PAPER_COMPLEX)},
        note=f"at a {horizon}-step horizon Looped-Attn rises {np.mean(col('s2_rise')):.1f} points after Single's plateau onset "
             f"(step {np.mean(col('plateau_step')):.0f} on average) and ends {np.mean(col('s2_gap')):.1f} points above it, at "
             f"{np.mean(col('looped_final')):.1f} % against the in-context bigram's {np.mean(col('bigram_complex')):.1f} %.")


def claim_s3(per: Sequence[Mapping], scale: str) -> Claim:
    """S3 (deterministic): 0.5 − |n_params(Single) − n_params(Looped)|."""
    diff = max(abs(p.n_params_single - p.n_params_looped) for p in per)
    return judge("S3", {"count": [0.5 - diff]}, scale=scale, seeds=[],
                 measured={"n_params_single": per[0].n_params_single, "n_params_looped": per[0].n_params_looped},
                 note=f"both have {per[0].n_params_single} parameters.")


def sample_dynamics_claims(records: Sequence[Mapping[str, RunRecord]], scale: str, seeds: Sequence[int]) -> list[Claim]:
    """S1–S3 from ``records`` (one ``{"single": RunRecord, "looped": RunRecord}`` per seed).

    Introduced in notebooks/04_single_vs_looped.
    """
    per = [measure_pair(r["single"], r["looped"]) for r in records]
    return [claim_s1(per, scale, seeds), claim_s2(records, scale, seeds), claim_s3(per, scale)]


@register("sample-dynamics", ["S1", "S2", "S3"], "Single vs Looped attention on the IC-graded Markov language")
def run(ctx: Context) -> list[Claim]:
    """Train both architectures over the confirmatory seeds, save the figures, return S1–S3."""

    cfg = config(ctx.scale, ctx.max_steps)
    seeds = verdict_seeds(ctx.n_seeds or cfg.n_seeds, ctx.scale)
    runs = run_seeds(seeds, cfg.run, cfg.arms, workers=ctx.workers, progress=ctx.progress)
    records = [r.records for r in runs]
    claims = sample_dynamics_claims(records, ctx.scale, seeds)
    ctx.save_records("sample-dynamics", {f"{r.seed}/{arm}": rec for r in runs for arm, rec in r.records.items()})
    tp = float(np.mean([measure_pair(r["single"], r["looped"]).plateau_step for r in records]))
    ctx.save_figure(plot_split_curves(records, metric="acc", marker_step=tp), "sample_dynamics_accuracy",
                    alt="accuracy on the simple and complex splits over training, Single vs Looped with seed bands, against "
                        "chance (1/V), the in-context unigram and bigram and the true-chain oracle; shaded until Single's "
                        "plateau onset")
    ctx.save_figure(plot_split_curves(records, metric="loss", marker_step=tp), "sample_dynamics_loss",
                    alt="loss on the simple and complex splits over training, Single vs Looped with seed bands, against the "
                        "reference predictors' losses; shaded until Single's plateau onset")
    looped = runs[0].model("looped", cfg.run)
    x = cfg.run.data.sample(seeds[0]).test["complex"][:1]
    ctx.save_figure(plot_attention_maps(looped.attention_maps(x), x), "sample_dynamics_attention",
                    alt="Looped-Attn's attention on one complex sequence, loop by loop, tokens on the axes, each query's "
                        "induction target marked")
    return claims
