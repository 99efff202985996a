"""The ``hessian-dynamics`` experiment: the Hessian's spectrum over training for Single-Attn,
Looped-Attn and Untied-3, measured as a measurement — paired arm contrasts, a null for every phase
detector, probes where the learning happens, three widths — and the claims H1–H4.

- **H1** Looped-Attn's spectrum collapses and diversifies more than Single-Attn's (paired contrasts,
  beyond the null of the estimator's noise), then stabilises once training has converged.
- **H2** The diversification is specific to recursion: Looped-Attn diversifies more than Untied-3.
- **H3** During the accuracy climb Looped-Attn's valley is worse conditioned than Single-Attn's
  (κ_k = λ_1/λ_k), with more low-curvature valley eigenvalues (Assumption 1 (i)).
- **H4** The spectral signature is specific to recursion: Looped-Attn's differs from Untied-3's more
  than Untied-3's differs from Single-Attn's (dimension-invariant statistics).

**What is measured.** Each arm trains on the seed's Markov language (:mod:`loopvalley.looped.runs`, with a
narrow residual stream so that Hessians stay cheap) on a warmup–stable–decay schedule: the decay at the
end gives a **converged segment** (the last ``decay_frac`` of the steps) where stabilization can be
judged on ≥ 5 probes. The probes are dense across the accuracy climb, where the learning happens. At
every probe a :class:`loopvalley.hessian.spectra.SpectrumProbe` records three Lanczos spectra (the
attention weights W_Q, W_K, W_V, W_O — every layer of Untied-3 — on a fixed training batch; the same on
held-out sequences; the W_Q/W_K block), keeping its tridiagonal so a shorter Lanczos budget can be read
off the record. After training, each job also computes, from the weights it kept:

- **independent Lanczos starts** (``extra_starts`` more) at the probes that decide a phase — the
  estimator's own noise σ, the input of the noise null (:mod:`loopvalley.hessian.phases`);
- the spectra with the **gauge directions projected out** (:mod:`loopvalley.hessian.gauge`: half of the
  attention block's directions are exact symmetries, identical in every arm);
- finer spectra for **Assumption 1** at a fixed step and at the arm's half-climb milestone.

**Statistics that mean the same in every arm**: the family of :mod:`loopvalley.hessian.spectra`
(counts in absolute terms — dividing by the Hessian's dimension creates a gap between models of
different size from nothing), κ_k on eigenvalues every arm resolves, and log λ_max.

**Widths.** Single-Attn and Looped-Attn are also measured at the wider ``widths`` (fewer seeds, the
training view only): a trend, reported in H1's ``measured`` and a figure, not a verdict.

The exploration behind every choice is recorded in ``docs/exploration/hessian.md``.

Introduced in notebooks/05_hessian_dynamics.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass, replace
from functools import partial
from typing import Mapping, Sequence

import numpy as np
import torch

from loopvalley import rules as R
from loopvalley._validate import check_int
from loopvalley.claims import Claim, NotMeasured, judge, not_measured, summary
from loopvalley.hessian import phases as ph
from loopvalley.hessian import spectra as sx
from loopvalley.hessian.gauge import ProjectedHessian
from loopvalley.hessian.operator import Hessian
from loopvalley.hessian.plots import (
    plot_assumption1,
    plot_family_over_training,
    plot_null_calibration,
    plot_signature_distances,
    plot_width_trend,
)
from loopvalley.language.markov import make_markov_data, sample_language
from loopvalley.looped.arms import build_arm, train_arm
from loopvalley.looped.models import block_params
from loopvalley.looped.runs import MarkovRun, markov_run
from loopvalley.parallel import map_seeds
from loopvalley.records import RunRecord
from loopvalley.registry import Context, register
from loopvalley.scales import current_scale
from loopvalley.seeds import data_generator, verdict_seeds
from loopvalley.train import next_token_loss, resolve_device

ARMS = ("single", "looped", "untied-3")
WIDTH_ARMS = ("single", "looped")
MAIN, HELDOUT, QK = "attention/train", "attention/heldout", "qk/train"
VIEWS = (MAIN, HELDOUT, QK)
KS = (5, 10, 20)  # κ_k is recorded for these k (a declared choice of H3)
MILESTONES = (0.25, 0.5, 0.75)  # shares of an arm's own accuracy gain: training progress instead of steps
A1_BAND = (0.01, 0.1)  # Assumption 1's low valley band: λ / λ_max in [0.01, 0.1)
RECORDS = "hessian-dynamics"  # results/<scale>/records/hessian-dynamics.json, keys "<seed>/<arm>[@d<width>]"


# --------------------------------------------------------------------------------------------
# Configuration


@dataclass
class HessianDynamicsConfig:
    """The experiment at one scale: the Markov run, the probes, the null, the widths and the seeds.

    Introduced in notebooks/05_hessian_dynamics.
    """

    run: MarkovRun  # data, model (d_model = the main width), training (WSD; max_steps = the horizon)
    n_seeds: int  # confirmatory seeds behind the verdicts (teaching seeds at ci)
    probe_steps: tuple  # the steps with spectra, dense across the accuracy climb and the converged segment
    probe_batch: int  # training sequences in the probe batch
    heldout_batch: int  # fresh sequences from the same language (never trained on)
    lanczos_steps: int  # Hessian-vector products per spectrum over training
    fine_steps: int  # products of Assumption 1's finer spectra
    extra_starts: int  # independent Lanczos starts at the deciding probes (≥ 2: with the probe's own, ≥ 3)
    a1_step: int  # the fixed step of Assumption 1 (inside every arm's climb)
    widths: tuple  # wider d_model values measured for the trend (Single and Looped, training view)
    width_seeds: int  # seeds of the wider runs
    width_probe_steps: tuple  # their probes
    gauge: bool = True  # gauge-projected spectra at the main width
    arms: tuple = ARMS
    views: tuple = VIEWS
    dtype: torch.dtype = torch.float32  # eigenvalue error ~1e-6·λ_max, far below every threshold

    @property
    def warmup(self) -> int:
        return int(self.run.train.warmup_steps)

    @property
    def converged_from(self) -> int:
        """The converged segment's first step: where the lr decay starts."""
        t = self.run.train
        return int(t.max_steps - round(t.decay_frac * t.max_steps))

    def width_run(self, d_model: int) -> MarkovRun:
        return replace(self.run, model=replace(self.run.model, d_model=int(d_model)))


SCALES = {
    # ci (notebooks, tests, CI): the training view only, no gauge projection and no wider widths — those
    # alternatives are reported as not measured there; the shipped small records have them all
    "ci": dict(d_model=16, steps=600, eval_every=25, n_seeds=2, views=(MAIN,), gauge=False,
               probe_steps=(20, 60, 100, 150, 200, 300, 400, 480, 540, 600), probe_batch=64, heldout_batch=64,
               lanczos_steps=40, fine_steps=90, extra_starts=2, a1_step=300, widths=(), width_seeds=1,
               width_probe_steps=(20, 100, 200, 300, 480, 600)),
    "small": dict(d_model=16, steps=1800, eval_every=50, n_seeds=5,
                  probe_steps=(20, 60, 100, 150, 200, 300, 400, 500, 650, 800, 1000, 1440, 1530, 1620, 1710, 1800),
                  probe_batch=128, heldout_batch=128, lanczos_steps=60, fine_steps=200, extra_starts=2, a1_step=500,
                  widths=(32, 64), width_seeds=3, width_probe_steps=(20, 100, 200, 400, 800, 1440, 1620, 1800)),
    "paper": dict(d_model=32, steps=3000, eval_every=50, n_seeds=10,
                  probe_steps=(20, 60, 100, 150, 200, 300, 400, 500, 600, 800, 1000, 1200, 1500, 1800, 2100, 2400, 2500,
                               2600, 2700, 2800, 2900, 3000), probe_batch=512, heldout_batch=512, lanczos_steps=100,
                  fine_steps=600, extra_starts=3, a1_step=800, widths=(64, 128), width_seeds=3,
                  width_probe_steps=(20, 200, 500, 1000, 1500, 2400, 2700, 3000)),
}
DECAY_FRAC = 0.2  # the converged segment: the last 20 % of the steps, where the lr decays linearly to 0


def config(scale: str | None = None, max_steps: int | None = None) -> HessianDynamicsConfig:
    """The experiment at ``scale`` (:data:`SCALES`); ``max_steps`` compresses the run and its probe
    schedules (a smoke test).

    Introduced in notebooks/05_hessian_dynamics.
    """
    s = current_scale(scale)
    v = SCALES[s]
    run = markov_run(s, d_model=v["d_model"], eval_every=v["eval_every"])
    run = replace(run, train=replace(run.train, max_steps=v["steps"], schedule="wsd", decay_frac=DECAY_FRAC))
    steps, wsteps, a1 = tuple(v["probe_steps"]), tuple(v["width_probe_steps"]), v["a1_step"]
    if max_steps is not None and max_steps < v["steps"]:
        f = check_int("max_steps", max_steps, 1) / v["steps"]
        run = run.capped(max_steps)
        squeeze = lambda ts: tuple(sorted({max(1, min(max_steps, round(t * f))) for t in ts}))  # noqa: E731
        steps, wsteps, a1 = squeeze(steps), squeeze(wsteps), max(1, round(a1 * f))
    return HessianDynamicsConfig(
        run=run, n_seeds=v["n_seeds"], probe_steps=steps, probe_batch=v["probe_batch"], heldout_batch=v["heldout_batch"],
        lanczos_steps=v["lanczos_steps"], fine_steps=v["fine_steps"], extra_starts=v["extra_starts"], a1_step=a1,
        widths=tuple(v["widths"]), width_seeds=v["width_seeds"], width_probe_steps=wsteps,
        views=tuple(v.get("views", VIEWS)), gauge=bool(v.get("gauge", True)))


# --------------------------------------------------------------------------------------------
# The runs: one job per (seed, arm, width)


def seed_data(seed: int, run: MarkovRun, heldout: int):
    """``(data, heldout_tokens)``: the seed's language sample (identical to ``run.data.sample(seed)``)
    and ``heldout`` fresh sequences drawn next from the same generator (never trained on).

    Introduced in notebooks/05_hessian_dynamics.
    """
    g = data_generator(seed)
    d = run.data
    data = make_markov_data(d.markov, d.n_train, d.n_test, g)
    held = sample_language(check_int("heldout", heldout, 1), d.markov, g)[0]  # (heldout, T)
    return data, held


def record_key(seed: int, arm: str, d_model: int, main: int) -> str:
    """The record's key: ``"<seed>/<arm>"`` at the main width, ``"<seed>/<arm>@d<width>"`` otherwise."""
    return f"{seed}/{arm}" if d_model == main else f"{seed}/{arm}@d{d_model}"


def _stats_row(sp: sx.Spectrum) -> dict:
    """The statistics of one spectrum that the null and the claims read (family, λ_max, κ_k)."""
    row = sx.family(sp)
    row.update({f"kappa_{k}": sx.kappa_k(sp, k) for k in KS})
    return row


def _hessian(model, batch, block: str, dtype) -> Hessian:
    return Hessian(model, next_token_loss, batch, block_params(model, block), dtype)


def deciding_steps(record: RunRecord, cfg: HessianDynamicsConfig, view: str = MAIN) -> list:
    """The probe steps that decide a phase of ``record`` (main analysis): the anchor, the family's median
    minimum and peak, and the first and last probes of the converged segment — where the independent
    Lanczos starts measure the estimator's noise.

    Introduced in notebooks/05_hessian_dynamics.
    """
    s = series(record, view)
    anchor = R.rule("H1").main["anchor"]
    found = [ph.detect(s.steps, s.stats[k], anchor, cfg.converged_from) for k in sx.STATISTICS]
    conv = s.steps[s.steps >= cfg.converged_from]
    want = {found[0].anchor_step, int(np.median([f.min_step for f in found])),
            int(np.median([f.peak_step for f in found]))}
    want |= {int(conv[0]), int(conv[-1])} if conv.size else set()
    return sorted({int(s.steps[np.argmin(np.abs(s.steps - t))]) for t in want})


def run_arm(job, cfg: HessianDynamicsConfig) -> dict:
    """Train one arm of one seed at one width (``job = (seed, arm, d_model)``) with the spectrum probe,
    then, from the weights the probe kept: independent Lanczos starts at the deciding probes, the
    gauge-projected spectra (main width), and Assumption 1's finer spectra (Single and Looped, main
    width). Returns ``{"seed", "arm", "d_model", "record"}`` (plain data, no model).

    Introduced in notebooks/05_hessian_dynamics.
    """
    seed, arm, d = int(job[0]), job[1], int(job[2])
    main = d == cfg.run.model.d_model
    run = cfg.width_run(d)
    data, held = seed_data(seed, run, cfg.heldout_batch)
    run = replace(run, train=replace(run.train, probe_batch_size=cfg.probe_batch))
    views = tuple(tuple(v.split("/")) for v in (cfg.views if main else (MAIN,)))
    a1 = main and arm in ("single", "looped")
    probe = sx.SpectrumProbe(steps=tuple(cfg.probe_steps if main else cfg.width_probe_steps), batches={"heldout": held},
                             views=views, n_steps=cfg.lanczos_steps, dtype=cfg.dtype, seed=seed, keep_states=True,
                             keep_bases=(MAIN, HELDOUT) if a1 else ())
    t0, c0 = time.perf_counter(), time.process_time()
    record, model = train_arm(arm, run, seed, data, probes=[probe])
    record.meta.update(seconds=time.perf_counter() - t0, cpu_seconds=time.process_time() - c0, d_model=d,
                       converged_from=cfg.converged_from, arm=arm)
    device = resolve_device(run.train.device)
    model = build_arm(arm, run, seed).to(device)
    batch = data.train[: cfg.probe_batch].to(device)
    c1 = time.process_time()
    # the estimator's noise: independent Lanczos starts at the deciding probes
    starts = {"step": [], "start": []}
    for step in (deciding_steps(record, cfg) if main else ()):  # the wider widths: a trend, no null of their own
        model.load_state_dict(probe.states[step])
        H = _hessian(model, batch, "attention", cfg.dtype)
        for j in range(1, cfg.extra_starts + 1):
            g = torch.Generator().manual_seed(int(seed) * 7919 + 104729 * j + step)  # a start of its own
            row = _stats_row(sx.lanczos_spectrum(H, cfg.lanczos_steps, generator=g))
            starts["step"].append(step)
            starts["start"].append(j)
            for k, v in row.items():
                starts.setdefault(k, []).append(v)
    record.probes["starts"] = starts
    if main and cfg.gauge:  # the spectra with the gauge directions projected out, at every probe
        proj = {"step": [], MAIN: []}
        for step in probe.steps:
            model.load_state_dict(probe.states[step])
            P = ProjectedHessian(_hessian(model, batch, "attention", cfg.dtype))
            sp = sx.lanczos_spectrum(P, cfg.lanczos_steps, generator=torch.Generator().manual_seed(int(seed)))
            proj["step"].append(step)
            proj[MAIN].append(replace(sp, basis=None).to_row())
        record.probes["projected"] = proj
    if a1:  # Assumption 1: finer spectra at the fixed step and at the arm's half-climb milestone
        fine = {"step": [], "kind": [], MAIN: [], HELDOUT: []}
        steps = np.asarray(probe.steps)
        milestone = _nearest(steps, milestones(record, cfg)[1])
        for kind, step in (("fixed", _nearest(steps, cfg.a1_step)), ("milestone", milestone)):
            model.load_state_dict(probe.states[step])
            fine["step"].append(step)
            fine["kind"].append(kind)
            for view, x in ((MAIN, batch), (HELDOUT, held.to(device))):
                if view not in record.probes["spectra"]:
                    continue  # a view this scale does not probe
                start = probe.bases.get((step, view))
                i = list(record.probes["spectra"]["step"]).index(step)
                resume = replace(sx.Spectrum.from_row(record.probes["spectra"][view][i]), basis=start) if start is not None else None
                sp = sx.lanczos_spectrum(_hessian(model, x, "attention", cfg.dtype), cfg.fine_steps,
                                         generator=torch.Generator().manual_seed(int(seed)), resume=resume)
                fine[view].append(replace(sp, basis=None).to_row())
        record.probes["fine"] = fine
    record.meta["after_cpu_seconds"] = time.process_time() - c1
    return {"seed": seed, "arm": arm, "d_model": d, "record": record}


def _nearest(steps, t) -> int:
    steps = np.asarray(steps)
    return int(steps[np.argmin(np.abs(steps - t))])


def _cost(job, cfg: HessianDynamicsConfig) -> float:
    """A job's relative cost, for longest-first scheduling: ∝ loops × width² × spectra."""
    loops = 1 if job[1] == "single" else 3
    main = job[2] == cfg.run.model.d_model
    n_spectra = (len(cfg.views) + (1 if cfg.gauge else 0)) * len(cfg.probe_steps) if main else len(cfg.width_probe_steps)
    return loops * (job[2] / cfg.run.model.d_model) ** 2 * (n_spectra + 10)


def jobs(seeds: Sequence[int], cfg: HessianDynamicsConfig) -> list:
    """Every (seed, arm, width) job: all arms at the main width on every seed, Single and Looped at each
    wider width on the first ``width_seeds`` seeds; most expensive first.

    Introduced in notebooks/05_hessian_dynamics.
    """
    d = cfg.run.model.d_model
    out = [(int(s), a, d) for s in seeds for a in cfg.arms]
    out += [(int(s), a, w) for w in cfg.widths for s in list(seeds)[: cfg.width_seeds] for a in WIDTH_ARMS]
    return sorted(out, key=lambda j: -_cost(j, cfg))


def run_seeds(seeds: Sequence[int], cfg: HessianDynamicsConfig, workers: int | None = None,
              progress: bool = False) -> dict:
    """Every job of :func:`jobs`, side by side (one per core). Returns ``{record key: RunRecord}``
    (:func:`record_key`) — what ``reproduce`` ships and every measurement reads.

    Introduced in notebooks/05_hessian_dynamics.
    """
    done = map_seeds(partial(run_arm, cfg=cfg), jobs(seeds, cfg), workers=workers, progress=progress)
    d = cfg.run.model.d_model
    out = {record_key(r["seed"], r["arm"], r["d_model"], d): r["record"] for r in done}
    return dict(sorted(out.items()))


# --------------------------------------------------------------------------------------------
# Measuring: series, phases against their null, conditioning, signatures


@dataclass(frozen=True)
class Series:
    """One arm's spectral statistics at its probe steps (one view, one Lanczos budget)."""

    steps: np.ndarray
    stats: dict  # statistic → values per probe (the family, lambda_max, kappa_5/10/20, n)


_SERIES: OrderedDict = OrderedDict()  # (id(record), view, budget, projected) → (record, Series): the grid rereads them


def series(record: RunRecord, view: str = MAIN, budget: int | None = None, projected: bool = False) -> Series:
    """The statistics of ``record``'s spectra in ``view`` at every probe; ``budget``: read each spectrum
    as that many Lanczos steps would have given it (:func:`loopvalley.hessian.spectra.truncate`);
    ``projected``: the gauge-projected spectra (training view only). Remembered for the last few
    hundred calls (the robustness grid reads the same series many times).

    Introduced in notebooks/05_hessian_dynamics.
    """
    key = (id(record), view, budget, projected)
    if key in _SERIES and _SERIES[key][0] is record:
        return _SERIES[key][1]
    out = _series(record, view, budget, projected)
    _SERIES[key] = (record, out)
    if len(_SERIES) > 512:
        _SERIES.popitem(last=False)
    return out


def _series(record: RunRecord, view: str, budget: int | None, projected: bool) -> Series:
    name = "projected" if projected else "spectra"
    if name not in record.probes or view not in record.probes[name]:
        raise NotMeasured(f"{'gauge-projected ' if projected else ''}{view} spectra not recorded at this scale")
    if projected and view != MAIN:
        raise ValueError(f"view: gauge-projected spectra exist for {MAIN} only, got {view!r}")
    steps, sps = sx.record_spectra(record, view, name=name)
    if budget is not None:  # a shorter Lanczos run read off the kept tridiagonal (dense spectra have none: kept)
        sps = [sx.truncate(sp, min(budget, int(np.asarray(sp.alphas).size))) if sp.alphas is not None else sp for sp in sps]
    rows = [_stats_row(sp) for sp in sps]
    stats = {k: np.array([r[k] for r in rows], dtype=float) for k in rows[0]}
    stats["n"] = np.array([sp.n for sp in sps], dtype=float)
    return Series(np.asarray(steps), stats)


def milestones(record: RunRecord, cfg: HessianDynamicsConfig) -> list:
    """The steps at which the arm has covered 25 / 50 / 75 % of its own complex-split accuracy gain
    (from the anchor on): training progress instead of steps.

    Introduced in notebooks/05_hessian_dynamics.
    """
    st, acc = record.curve("complex")
    return ph.milestone_steps(st, acc, MILESTONES, start_step=R.rule("H1").main["anchor"])


def noise_sigma(record: RunRecord) -> dict:
    """The estimator's noise σ (log units) per statistic of one arm: the spread over its independent
    Lanczos starts and the probe's own spectrum, pooled over the deciding probes (:func:`loopvalley.hessian.phases.start_spread`).

    Introduced in notebooks/05_hessian_dynamics.
    """
    st = record.probes.get("starts")
    if not st or not st["step"]:
        return {}
    main = series(record)
    out = {}
    for k in sx.STATISTICS:
        rows = []
        for step in sorted(set(st["step"])):
            own = main.stats[k][list(main.steps).index(step)]
            extra = [v for s, v in zip(st["step"], st[k]) if s == step]
            rows.append(np.log(np.maximum([own, *extra], 1e-300)))
        out[k] = ph.start_spread(rows)
    return out


def null_thresholds(steps, sigma: Mapping, anchor: int, converged_from: int) -> dict:
    """``{statistic: (draws, 3)}`` noise nulls of (C, D, R) for one arm's probe schedule."""
    return {k: ph.noise_null(steps, float(sigma[k]), anchor, converged_from, seed=i) for i, k in enumerate(sx.STATISTICS)}


def _mean(xs) -> float:
    """The mean of the finite values (NaN when there is none): for notes."""
    a = np.array([np.nan if x is None else x for x in xs], dtype=float)
    return float(a[np.isfinite(a)].mean()) if np.isfinite(a).any() else float("nan")


def _family_median(per_stat: Mapping) -> float | None:
    vals = [v for v in per_stat.values() if v is not None and np.isfinite(v)]
    return float(np.median(vals)) if vals else None


def arm_phases(record: RunRecord, spec: Mapping, cfg_from: int) -> tuple[dict, Series]:
    """``({statistic: Phases}, Series)`` of one arm under the analysis ``spec`` (anchor, budget, view,
    gauge), the converged segment from step ``cfg_from``.

    Introduced in notebooks/05_hessian_dynamics.
    """
    s = series(record, spec["view"], _budget(spec), spec["gauge"] == "projected")
    if int(spec["anchor"]) >= s.steps[-1]:
        raise NotMeasured(f"anchor step {spec['anchor']} is past this run's last probe ({int(s.steps[-1])})")
    return {k: ph.detect(s.steps, s.stats[k], int(spec["anchor"]), cfg_from) for k in sx.STATISTICS}, s


def _budget(spec) -> int | None:
    return None if spec.get("budget", "all") == "all" else int(spec["budget"])


@dataclass(frozen=True)
class PhaseMargins:
    """One seed's H1–H2 margins under one analysis (family medians, log units; positive = the paper's side)."""

    collapse: float | None  # (C_L − C_S) − τ
    diversification: float | None  # (D_L − D_S) − τ
    stabilization: float | None  # τ_R − R_L (None: no converged segment)
    recursion: float | None  # (D_L − D_U) − τ (None without Untied-3)
    by_statistic: dict  # {part: {statistic: margin}}
    phases: dict  # {arm: {statistic: Phases}}


@dataclass(frozen=True)
class Conditioning:
    """One seed's H3 margins under one analysis."""

    kappa: float | None  # mean log κ_k(L) − log κ_k(S) over the climb
    count: float | None  # Assumption 1 (i): log(n_L / n_S)
    a1: dict | None  # :func:`assumption1`'s output


@dataclass(frozen=True)
class Signature:
    """One seed's H4 margin and distances under one analysis."""

    signature: float | None  # median over the signature of d(L, U) − d(U, S)
    distances: dict  # {"looped_untied", "untied_single", "looped_single": {statistic: distance}}


def phase_margins(recs: Mapping[str, RunRecord], spec: Mapping, sigma: Mapping, converged_from: int) -> PhaseMargins:
    """One seed's phase margins under ``spec``, family medians (log units; positive = the paper's side):
    ``collapse`` = (C_L − C_S) − τ, ``diversification`` = (D_L − D_S) − τ, ``stabilization`` = τ_R − R_L,
    ``recursion`` = (D_L − D_U) − τ; τ the 95th percentile of the same contrast when neither arm has a
    phase — the noise null (σ from the rules table) or the time-shuffled series (``spec["null"]``).

    Introduced in notebooks/05_hessian_dynamics.
    """
    found, ser = {}, {}
    for arm in recs:
        found[arm], ser[arm] = arm_phases(recs[arm], spec, converged_from)
    anchor = int(spec["anchor"])
    out = {"collapse": {}, "diversification": {}, "stabilization": {}, "recursion": {}}
    nulls = {}
    for arm in recs:
        s = ser[arm]
        if spec["null"] == "noise":
            nulls[arm] = null_thresholds(s.steps, sigma[arm], anchor, converged_from)
        else:
            nulls[arm] = {k: ph.shuffle_null(s.steps, s.stats[k], anchor, converged_from, seed=i)
                          for i, k in enumerate(sx.STATISTICS)}
    for k in sx.STATISTICS:
        L, S = found["looped"][k], found["single"][k]
        tC, tD, _ = ph.contrast_threshold(nulls["looped"][k], nulls["single"][k])
        out["collapse"][k] = (L.collapse - S.collapse) - tC
        out["diversification"][k] = (L.diversification - S.diversification) - tD
        tR = ph.threshold(nulls["looped"][k])[2]
        out["stabilization"][k] = None if L.stabilization is None else tR - L.stabilization
        if "untied-3" in found:
            U = found["untied-3"][k]
            out["recursion"][k] = (L.diversification - U.diversification) - ph.contrast_threshold(
                nulls["looped"][k], nulls["untied-3"][k])[1]
    return PhaseMargins(**{p: _family_median(v) for p, v in out.items()}, by_statistic=out, phases=found)


def _kappa_at(s: Series, k: int, steps) -> np.ndarray:
    return np.array([s.stats[f"kappa_{k}"][list(s.steps).index(_nearest(s.steps, t))] for t in steps])


def low_valley(sp, band=A1_BAND) -> np.ndarray:
    """The eigenvalue estimates λ/λ_max in ``band`` (converged Ritz values or dense eigenvalues).

    Introduced in notebooks/05_hessian_dynamics.
    """
    sp = sx.Spectrum.from_row(sp) if isinstance(sp, Mapping) else sp
    e = sp.eigenvalues / sp.lambda_max
    return np.sort(e[(e >= band[0]) & (e < band[1])])


def assumption1(sp_looped, sp_single, band=A1_BAND) -> dict:
    """Assumption 1 between two spectra on the low valley band: (i) ``log_count_ratio`` = log(n_L / n_S)
    (Looped has more low valley eigenvalues when > 0); (ii) ``log_quantile_ratio`` = mean over the
    quartiles of log(q_S / q_L) (Looped's are smaller when > 0; reported, not judged: the band holds
    too few eigenvalues to tell quantiles apart). NaN where an arm has fewer than 2 in the band.

    Introduced in notebooks/05_hessian_dynamics.
    """
    L, S = low_valley(sp_looped, band), low_valley(sp_single, band)
    out = {"n_looped": int(L.size), "n_single": int(S.size), "looped": L, "single": S}
    out["log_count_ratio"] = float(np.log(L.size / S.size)) if L.size and S.size else float("nan")
    q = np.array([0.25, 0.5, 0.75])
    out["log_quantile_ratio"] = (float(np.mean(np.log(np.quantile(S, q)) - np.log(np.quantile(L, q))))
                                 if L.size >= 2 and S.size >= 2 else float("nan"))
    return out


def _fine(record: RunRecord, kind: str, view: str):
    f = record.probes.get("fine")
    if not f:
        return None
    if view not in f or not f[view]:
        raise NotMeasured(f"Assumption 1's {view} spectra not recorded at this scale")
    i = list(f["kind"]).index(kind)
    return f[view][i], f["step"][i]


def conditioning_margins(recs: Mapping[str, RunRecord], spec: Mapping, cfg: HessianDynamicsConfig) -> Conditioning:
    """One seed's H3 margins under ``spec`` (k, measure, budget, view, gauge): ``kappa`` = the mean of
    log κ_k(Looped) − log κ_k(Single) over the climb (the probes in the rule's ``climb`` window at fixed steps, or
    each arm at its own 25 / 50 / 75 % milestones), ``count`` = Assumption 1 (i) log(n_L / n_S) at the
    fixed step (or at each arm's half-climb milestone).

    Introduced in notebooks/05_hessian_dynamics.
    """
    view = spec["view"]
    sL = series(recs["looped"], view, _budget(spec), spec["gauge"] == "projected")
    sS = series(recs["single"], view, _budget(spec), spec["gauge"] == "projected")
    k = int(spec["k"])
    if spec["measure"] == "fixed steps":
        lo, hi = (f * cfg.run.train.max_steps for f in R.rule("H3").params["climb"])  # the climb, as shares of the horizon
        at = [t for t in sL.steps if lo <= t <= hi]
        diff = np.log(_kappa_at(sL, k, at)) - np.log(_kappa_at(sS, k, at))
        kind = "fixed"
    else:
        diff = np.log(_kappa_at(sL, k, milestones(recs["looped"], cfg))) - np.log(_kappa_at(sS, k, milestones(recs["single"], cfg)))
        kind = "milestone"
    fv = MAIN if view != HELDOUT else HELDOUT
    fl, fs = _fine(recs["looped"], kind, fv), _fine(recs["single"], kind, fv)
    a1 = assumption1(fl[0], fs[0]) if fl and fs else None
    finite = diff[np.isfinite(diff)]
    return Conditioning(kappa=float(finite.mean()) if finite.size else None,
                        count=None if a1 is None or not np.isfinite(a1["log_count_ratio"]) else a1["log_count_ratio"], a1=a1)


SIGNATURE = sx.STATISTICS + ("kappa_10", "lambda_max")


def signature_distance(a: Series, b: Series, anchor: int, by_n: bool = False) -> dict:
    """Per statistic of :data:`SIGNATURE`, the mean over the probes from ``anchor`` on of |log s_A − log s_B|
    (``by_n``: counts divided by the Hessian's dimension first — the old rule, kept as a declared alternative).

    Introduced in notebooks/05_hessian_dynamics.
    """
    m = a.steps >= anchor
    out = {}
    for k in SIGNATURE:
        x, y = a.stats[k][m], b.stats[k][m]
        if by_n and k in ("effective_rank", "participation", "outliers", "positive_rank", "steep_count"):
            x, y = x / a.stats["n"][m], y / b.stats["n"][m]
        d = np.abs(np.log(np.maximum(x, 1e-300)) - np.log(np.maximum(y, 1e-300)))
        out[k] = float(np.nanmean(d)) if np.isfinite(d).any() else None
    return out


def signature_margins(recs: Mapping[str, RunRecord], spec: Mapping) -> Signature:
    """One seed's H4 margin under ``spec``: the median over :data:`SIGNATURE` of d(Looped, Untied-3) −
    d(Untied-3, Single), and the three distances.

    Introduced in notebooks/05_hessian_dynamics.
    """
    get = {a: series(recs[a], spec["view"], _budget(spec), spec["gauge"] == "projected") for a in ARMS}
    by_n = spec["normalisation"] == "by n"
    anchor = int(spec["anchor"])
    dLU = signature_distance(get["looped"], get["untied-3"], anchor, by_n)
    dUS = signature_distance(get["untied-3"], get["single"], anchor, by_n)
    dLS = signature_distance(get["looped"], get["single"], anchor, by_n)
    diff = {k: None if dLU[k] is None or dUS[k] is None else dLU[k] - dUS[k] for k in SIGNATURE}
    return Signature(signature=_family_median(diff),
                     distances={"looped_untied": dLU, "untied_single": dUS, "looped_single": dLS})


# --------------------------------------------------------------------------------------------
# The claims: per-seed measurement → margins under every declared alternative → judge


def by_seed(records: Mapping[str, RunRecord], d_model: int | None = None) -> dict:
    """``{seed: {arm: RunRecord}}`` of one width (``None``: the main width, keys without ``@``).

    Introduced in notebooks/05_hessian_dynamics.
    """
    out: dict = {}
    for key, rec in records.items():
        seed, rest = key.split("/", 1)
        arm, _, w = rest.partition("@d")
        if (d_model is None and not w) or (w and d_model is not None and int(w) == d_model):
            out.setdefault(int(seed), {})[arm] = rec
    return dict(sorted(out.items()))


def frozen_sigma(arm: str) -> dict:
    """The estimator's noise σ of ``arm`` per statistic, frozen in the rules table from the exploratory
    seeds (the input of the noise null)."""
    return dict(R.rule("H1").params["sigma"][arm])


def hessian_claims(records: Mapping[str, RunRecord], cfg: HessianDynamicsConfig, scale: str,
                   seeds: Sequence[int] | None = None) -> list[Claim]:
    """H1–H4 from the shipped records (:func:`run_seeds`'s output), every margin recomputed under every
    declared alternative of its rule.

    Introduced in notebooks/05_hessian_dynamics.
    """
    per = by_seed(records)
    seeds = sorted(per) if seeds is None else [int(s) for s in seeds]
    sigma = {a: frozen_sigma(a) for a in ARMS}
    conv = cfg.converged_from

    def phases_fn(parts):
        return lambda spec: {p: [getattr(phase_margins(per[s], spec, sigma, conv), p) for s in seeds] for p in parts}

    main1 = {s: phase_margins(per[s], R.rule("H1").main, sigma, conv) for s in seeds}
    measured_sigma = {s: {a: noise_sigma(per[s][a]) for a in per[s]} for s in seeds}
    widths = width_trend(records, cfg, sigma)
    n_starts = 1 + min(max(r.probes["starts"]["start"], default=0) for s in seeds for r in per[s].values())
    common = {"null": {"sigma_frozen": sigma, "sigma_measured_confirmatory": measured_sigma, "quantile": 0.95,
                       "independent_starts_per_deciding_probe": n_starts},
              "converged_from_step": conv, "probe_steps": list(cfg.probe_steps), "widths": widths}
    grow = {a: summary([np.log(series(per[s][a]).stats["lambda_max"][-1] / series(per[s][a]).stats["lambda_max"][0])
                        for s in seeds]) for a in ARMS}
    h1 = judge("H1", phases_fn(("collapse", "diversification", "stabilization")), scale=scale, seeds=seeds,
               measured={**common, "phases_main": {s: {k: vars(v) for k, v in main1[s].phases["looped"].items()}
                                                   for s in seeds},
                         "by_statistic": {s: main1[s].by_statistic for s in seeds}, "lambda_max_log_growth": grow},
               note=_h1_note(main1, seeds, widths))
    h2 = judge("H2", phases_fn(("recursion",)), scale=scale, seeds=seeds,
               measured={**common, "by_statistic": {s: main1[s].by_statistic["recursion"] for s in seeds}},
               note=lambda v: f"Looped − Untied-3 diversification, family median: "
                              f"{_mean(main1[s].recursion for s in seeds):+.2f} log units beyond the null "
                              f"({v}); λ_max grows by a factor of {np.exp(grow['looped']['mean']):.3g} for Looped-Attn, "
                              f"{np.exp(grow['untied-3']['mean']):.3g} for Untied-3, {np.exp(grow['single']['mean']):.3g} for "
                              "Single-Attn over training.")
    cond = {s: conditioning_margins(per[s], R.rule("H3").main, cfg) for s in seeds}
    h3 = judge("H3", lambda spec: {p: [getattr(conditioning_margins(per[s], spec, cfg), p) for s in seeds]
                                   for p in ("kappa", "count")}, scale=scale, seeds=seeds,
               measured={**common, "assumption1": {s: None if cond[s].a1 is None else
                                                   {k: v for k, v in cond[s].a1.items() if k not in ("looped", "single")}
                                                   for s in seeds}},
               note=lambda v: f"mean log(κ_L/κ_S) over the climb {_mean(cond[s].kappa for s in seeds):+.2f}, "
                              f"Assumption 1 (i) log(n_L/n_S) {_mean(cond[s].count for s in seeds):+.2f} "
                              f"({v}); Assumption 1 (ii) (smaller low-curvature eigenvalues) is reported, not judged: the "
                              "band holds too few eigenvalues per arm to tell quantiles apart.")
    sig = {s: signature_margins(per[s], R.rule("H4").main) for s in seeds}
    dist = {k: _mean(_family_median(sig[s].distances[k]) for s in seeds) for k in ("looped_untied", "untied_single", "looped_single")}
    h4 = judge("H4", lambda spec: {"signature": [signature_margins(per[s], spec).signature for s in seeds]},
               scale=scale, seeds=seeds, measured={**common, "distances": {s: sig[s].distances for s in seeds}},
               note=lambda v: f"signature distances (median |log ratio| over the statistics, counts not divided by the "
                              f"dimension): Looped–Untied-3 {dist['looped_untied']:.2f}, Untied-3–Single {dist['untied_single']:.2f}, "
                              f"Looped–Single {dist['looped_single']:.2f} ({v}).")
    return [h1, h2, h3, h4]


def _h1_note(main1, seeds, widths) -> callable:
    def note(verdict):
        m = {p: _mean(getattr(main1[s], p) for s in seeds) for p in ("collapse", "diversification", "stabilization")}
        trend = "; ".join(f"d = {w['d_model']}: Looped − Single diversification {w['diversification_contrast']:+.2f}"
                          for w in widths if w.get("diversification_contrast") is not None)
        return (f"family medians beyond the null: collapse contrast {m['collapse']:+.2f}, diversification contrast "
                f"{m['diversification']:+.2f}, stabilization {m['stabilization']:+.2f} (log units; {verdict})."
                + (f" Across widths (a trend, not a verdict): {trend}." if trend else ""))
    return note


def width_trend(records: Mapping[str, RunRecord], cfg: HessianDynamicsConfig, sigma: Mapping) -> list:
    """Per width (the main one and ``cfg.widths``), on the seeds measured there: the mean diversification
    and collapse contrasts Looped − Single (family medians, main analysis, beyond the noise null) and
    the mean log κ_10 contrast over the climb — a trend toward the paper's scale, not a verdict.

    Introduced in notebooks/05_hessian_dynamics.
    """
    rows = []
    spec = {**R.rule("H1").main}
    for d in (cfg.run.model.d_model, *cfg.widths):
        per = by_seed(records, None if d == cfg.run.model.d_model else d)
        per = {s: {a: r for a, r in recs.items() if a in WIDTH_ARMS} for s, recs in per.items()}
        per = {s: recs for s, recs in list(per.items())[: cfg.width_seeds] if len(recs) == len(WIDTH_ARMS)}
        if not per:
            continue
        got = [phase_margins(recs, spec, sigma, cfg.converged_from) for recs in per.values()]
        kap = []
        for recs in per.values():
            sL, sS = series(recs["looped"]), series(recs["single"])
            at = [t for t in sL.steps if 0.1 * cfg.run.train.max_steps <= t <= 0.6 * cfg.run.train.max_steps]
            kap.append(_mean(np.log(_kappa_at(sL, 10, at)) - np.log(_kappa_at(sS, 10, at))))
        rows.append({"d_model": d, "seeds": list(per), "diversification_contrast": _mean(g.diversification for g in got),
                     "collapse_contrast": _mean(g.collapse for g in got),
                     "per_seed_diversification": [g.diversification for g in got],
                     "kappa_log_ratio": _mean(kap), "per_seed_kappa": kap})
    return rows


# --------------------------------------------------------------------------------------------
# Figures' data, and the registered experiment


def family_bands(records: Mapping[str, RunRecord], stats=sx.STATISTICS + ("kappa_10", "lambda_max"),
                 view: str = MAIN) -> dict:
    """``{arm: (steps, {stat: (seeds, probes) array})}`` at the main width, for the family figure.

    Introduced in notebooks/05_hessian_dynamics.
    """
    per = by_seed(records)
    out = {}
    for a in ARMS:
        ser = [series(recs[a], view) for recs in per.values() if a in recs]
        if ser:
            out[a] = (ser[0].steps, {k: np.array([s.stats[k] for s in ser]) for k in stats})
    return out


def accuracy_bands(records: Mapping[str, RunRecord]) -> dict:
    """``{arm: (eval steps, (seeds, evals) complex-split accuracy)}`` at the main width."""
    per = by_seed(records)
    return {a: (np.asarray(next(iter(per.values()))[a].eval_step),
                np.array([recs[a].curve("complex")[1] for recs in per.values()])) for a in ARMS
            if all(a in recs for recs in per.values())}


def null_figure_data(records: Mapping[str, RunRecord], cfg: HessianDynamicsConfig, statistic: str = "effective_rank") -> dict:
    """The noise null of the diversification contrast Looped − Single for one statistic, and each
    seed's observed contrast (for :func:`loopvalley.hessian.plots.plot_null_calibration`)."""
    per = by_seed(records)
    spec = {**R.rule("H1").main}
    sigma = {a: frozen_sigma(a) for a in ARMS}
    observed, null = [], None
    for recs in per.values():
        (fL, sL), (fS, sS) = arm_phases(recs["looped"], spec, cfg.converged_from), arm_phases(recs["single"], spec, cfg.converged_from)
        observed.append(fL[statistic].diversification - fS[statistic].diversification)
        if null is None:
            nL = ph.noise_null(sL.steps, sigma["looped"][statistic], int(spec["anchor"]), cfg.converged_from, seed=1)
            nS = ph.noise_null(sS.steps, sigma["single"][statistic], int(spec["anchor"]), cfg.converged_from, seed=2)
            null = nL[:, 1] - nS[:, 1]
    return {"null": null, "observed": observed, "threshold": float(np.quantile(null, 0.95)), "statistic": statistic}


@register("hessian-dynamics", ["H1", "H2", "H3", "H4"],
          "Hessian spectra over training as a measurement: paired contrasts against a null, Assumption 1, widths")
def run(ctx: Context) -> list:
    """Train the arms with spectra over the seeds (and the wider widths), ship the records, save the
    figures, return H1–H4."""
    cfg = config(ctx.scale, ctx.max_steps)
    seeds = verdict_seeds(ctx.n_seeds or cfg.n_seeds, ctx.scale)
    t0 = time.perf_counter()
    records = run_seeds(seeds, cfg, workers=ctx.workers, progress=ctx.progress)
    if ctx.progress:
        cpu = sum(r.meta.get("cpu_seconds", 0) + r.meta.get("after_cpu_seconds", 0) for r in records.values())
        print(f"  [hessian-dynamics] {len(records)} runs in {time.perf_counter() - t0:.0f} s wall; "
              f"the jobs used {cpu:.0f} CPU seconds", flush=True)
    ctx.save_records(RECORDS, records)  # the spectra behind the verdicts, shipped first
    try:
        claims = hessian_claims(records, cfg, ctx.scale, seeds)
    except NotMeasured as e:  # a --max-steps smoke run can end before the steps the rules read
        if not ctx.max_steps:
            raise
        print(f"  [hessian-dynamics] H1–H4 not measured, no figures: {e}", flush=True)
        return [not_measured(cid, str(e), scale=ctx.scale, seeds=seeds) for cid in ("H1", "H2", "H3", "H4")]
    ctx.save_figure(plot_family_over_training(family_bands(records), accuracy_bands(records), cfg.probe_steps,
                                              converged_from=cfg.converged_from),
                    "hessian_family", alt="the spectral statistics over training for Single, Looped and Untied-3 "
                    "(median and range over seeds), under the complex-split accuracy with the probe steps marked")
    ctx.save_figure(plot_null_calibration(null_figure_data(records, cfg)), "hessian_null",
                    alt="the noise null of the Looped − Single diversification contrast with its 95th percentile, "
                        "and each seed's observed contrast")
    first = by_seed(records)[seeds[0]]
    fl, fs = _fine(first["looped"], "fixed", MAIN), _fine(first["single"], "fixed", MAIN)
    if fl and fs:
        ctx.save_figure(plot_assumption1(assumption1(fl[0], fs[0]), fl[1]), "hessian_assumption1",
                        alt="low valley eigenvalues of Looped and Single, sorted, at a fixed step of the climb")
    per = by_seed(records)
    ctx.save_figure(plot_signature_distances([signature_margins(per[s], R.rule("H4").main).distances for s in seeds]),
                    "hessian_signature", alt="spectral signature distances between Looped, Untied-3 and Single per "
                    "statistic, one dot per seed")
    trend = claims[0].measured.get("widths") or []
    if len(trend) > 1:
        ctx.save_figure(plot_width_trend(trend), "hessian_widths",
                        alt="the Looped − Single diversification and κ contrasts against the width d_model, per seed")
    return claims
