"""The ``hessian-dynamics`` experiment: Hessian spectra over training for Single-Attn, Looped-Attn and
Untied-3 (paper §4.2–4.3, Figs. 3, 7, 8) and the claims H1–H4.

- **H1** Looped-Attn's spectrum goes through Collapse → Diversification → Stabilization.
- **H2** Single-Attn's spectrum lacks the Diversification phase.
- **H3** During Looped-Attn's diversification its valleys are worse conditioned than Single-Attn's,
  and it has more and smaller low-curvature valley eigenvalues (Assumption 1 (i), (ii)).
- **H4** The V-valley signature is specific to recursion: Looped-Attn's spectral signature differs
  from Untied-3's more than Untied-3's differs from Single-Attn's.

**What is measured.** Each arm trains on the seed's Markov language (:mod:`loopvalley.scale.presets`, with a
narrower residual stream d = 16 so that Hessians stay cheap) with a :class:`loopvalley.hessian.spectra.SpectrumProbe`
that records, at every probe step, three Hessian spectra: the attention weights (W_Q, W_K, W_V, W_O; all
three layers for Untied-3) on a fixed training batch, the same on a held-out batch of fresh sequences
from the same language, and the W_Q/W_K block (where the paper's Theorem 3 lives) on the training
batch (at ``ci`` and ``small`` Untied-3, H4's control, gets the training view only: ``untied_views``). Spectra are
Lanczos estimates (:func:`loopvalley.hessian.spectra.lanczos_spectrum`): top eigenvalues converged, the bulk as a
quadrature; dense Hessians of 256 sequences cost 1024 products each, which
the 2-core budget cannot pay at every probe. The weights at every probe step are kept, and Assumption 1
is measured on a finer spectrum (``fine_steps`` products, which resolve every eigenvalue of the low
valley band) at the middle of Looped-Attn's diversification window; it continues the probe's own
Lanczos run at that step (the same result as a fresh run, bit for bit, for fewer products).

**The statistic family** (:data:`loopvalley.hessian.spectra.STATISTICS`) is judged statistic by statistic;
the verdicts are the family's: per seed, every part's margin is the *median over the six statistics*
of that part's margin (log units), and the claim's interval rule is applied to those medians. Each
claim's ``measured`` says how many statistics alone give the family's verdict, and whether the held-out
batch and the W_Q/W_K block agree.

**Phases in steps** (:func:`loopvalley.hessian.spectra.detect_phases`): anchored at the first probe after
warmup (the step-0 Hessian of a 0.02-init model is a ±-symmetric saddle), collapse and
diversification before the converged part, stabilization only in the converged part (where the
complex-split accuracy, smoothed, moves < 0.5 points to the end; :func:`loopvalley.hessian.spectra.converged_step`).

The exploration behind every choice is recorded in ``docs/exploration/hessian.md``.

Introduced in notebooks/05_hessian_dynamics.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, replace
from functools import partial
from typing import Mapping, Sequence

import numpy as np
import torch

from loopvalley._validate import check_int
from loopvalley.claims import Claim, claim_from_margins, summary
from loopvalley.hessian import spectra as sx
from loopvalley.hessian.plots import plot_assumption1, plot_family_over_training, plot_signature_distances
from loopvalley.language.markov import make_markov_data, sample_language
from loopvalley.looped.arms import build_arm, train_arm
from loopvalley.looped.runs import MarkovRun, markov_run
from loopvalley.parallel import map_seeds
from loopvalley.registry import Context, register
from loopvalley.scales import current_scale
from loopvalley.seeds import verdict_seeds, data_generator, exploratory
from loopvalley.train import next_token_loss, resolve_device

ARMS = ("single", "looped", "untied-3")
VIEWS = (("attention", "train"), ("attention", "heldout"), ("qk", "train"))
MAIN, HELDOUT, QK = "attention/train", "attention/heldout", "qk/train"

# ---- the rule (fixed on the exploratory seeds RULE_SEEDS; see docs/exploration/hessian.md) -------
RULE_SEEDS = exploratory(2)
RULE_VERSION = "3"
PHASE_LOG = 0.3  # every phase threshold, in log units: 3× the measurement noise (median |log train/held-out| = 0.10)
DROP = 1 - math.exp(-PHASE_LOG)  # collapse: the post-warmup minimum ≤ e^{−0.3} ≈ 0.74 × the anchor value
RISE = math.exp(PHASE_LOG) - 1  # diversification: the peak after the minimum ≥ e^{0.3} ≈ 1.35 × the minimum
FLAT = math.exp(PHASE_LOG) - 1  # stabilization: max / min ≤ e^{0.3} ≈ 1.35 over the converged part
CONV_TOL = 0.5  # converged: complex-split accuracy (±2 evaluations smoothed) moves < 0.5 points to the end
CONV_FRAC = 0.2  # ... over at least the last 20 % of the steps
A1_BAND = (0.01, 0.1)  # the low valley band for Assumption 1: λ / λ_max in [0.01, 0.1)
A1_QUANTILES = (0.1, 0.25, 0.5, 0.75, 0.9)  # Assumption 1 (ii) compares these quantiles
N_PERM = 2000  # permutations in Assumption 1 (ii)'s test
SIGNATURE = sx.STATISTICS + ("kappa",)  # H4: the family (normalised by n) and log κ_k


# --------------------------------------------------------------------------------------------
# Configuration


@dataclass
class HessianDynamicsConfig:
    """The experiment at one scale: the Markov run, the probes and the seeds.

    Introduced in notebooks/05_hessian_dynamics.
    """

    run: MarkovRun  # data, model (d_model 16 on CPU), training (max_steps = the horizon)
    n_seeds: int  # confirmatory seeds behind the verdicts
    probe_steps: tuple  # the steps with spectra (the final step is always probed)
    probe_batch: int  # training sequences in the probe batch
    heldout_batch: int  # fresh sequences from the same language (never trained on)
    lanczos_steps: int  # Hessian-vector products per spectrum over training
    fine_steps: int  # products of the Assumption-1 spectra (resolve the low valley band)
    arms: tuple = ARMS
    views: tuple = VIEWS
    dtype: torch.dtype = torch.float32  # eigenvalue error ~1e-6·λ_max, far below every threshold
    untied_views: tuple | None = None  # Untied-3's views (None: all of ``views``); H4 is judged on the training view

    @property
    def warmup(self) -> int:
        return int(self.run.train.warmup_steps)

    def arm_views(self, arm: str) -> tuple:
        """The (block, batch) views probed for ``arm``."""
        return tuple(self.untied_views) if arm == "untied-3" and self.untied_views is not None else tuple(self.views)


SCALES = {
    # at ci and small Untied-3 (H4's control) gets the training view only — the view H4's verdict is judged on;
    # the other views of Untied-3 fed no verdict and cost a fifth of the main job. H4's held-out and W_Q/W_K
    # agreement are then "not measured" (at paper, every arm gets every view)
    "ci": dict(d_model=16, steps=600, eval_every=25, probe_steps=(0, 20, 40, 80, 150, 300, 600), probe_batch=64,
               heldout_batch=64, lanczos_steps=40, fine_steps=200, n_seeds=2, untied_views=(("attention", "train"),)),
    "small": dict(d_model=16, steps=1800, eval_every=50, probe_steps=(20, 40, 60, 100, 200, 400, 800, 1200, 1500, 1800),
                  probe_batch=256, heldout_batch=256, lanczos_steps=60, fine_steps=300, n_seeds=5,
                  untied_views=(("attention", "train"),)),
    "paper": dict(d_model=32, steps=3000, eval_every=50,
                  probe_steps=(0, 20, 40, 60, 100, 200, 400, 800, 1200, 1800, 2400, 3000), probe_batch=1024,
                  heldout_batch=1024, lanczos_steps=200, fine_steps=1000, n_seeds=10),
}


def config(scale: str | None = None, max_steps: int | None = None) -> HessianDynamicsConfig:
    """The experiment at ``scale`` (:data:`SCALES`); ``max_steps`` compresses the run and its probe
    schedule (a smoke test).

    Introduced in notebooks/05_hessian_dynamics.
    """
    s = current_scale(scale)
    v = SCALES[s]
    run = markov_run(s, d_model=v["d_model"], eval_every=v["eval_every"])
    run = replace(run, train=replace(run.train, max_steps=v["steps"]))
    steps = tuple(v["probe_steps"])
    if max_steps is not None and max_steps < v["steps"]:
        f = check_int("max_steps", max_steps, 1) / v["steps"]
        run = run.capped(max_steps)
        steps = tuple(sorted({min(max_steps, round(t * f)) for t in steps}))
    return HessianDynamicsConfig(run=run, n_seeds=v["n_seeds"], probe_steps=steps, probe_batch=v["probe_batch"],
                                 heldout_batch=v["heldout_batch"], lanczos_steps=v["lanczos_steps"],
                                 fine_steps=v["fine_steps"], untied_views=v.get("untied_views"))


# --------------------------------------------------------------------------------------------
# The runs


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


def run_arm(job, cfg: HessianDynamicsConfig) -> dict:
    """Train one arm of one seed (``job = (seed, arm)``) with the spectrum probe; returns plain data:
    ``{"seed", "arm", "record", "states", "bases", "fine_step", "fine"}`` (``states``: the weights at every
    probe step; ``bases``: the Lanczos vectors of Single's and Looped's training and held-out attention
    spectra, which Assumption 1's finer spectra continue). Looped-Attn's job also takes its own
    Assumption-1 spectra (``fine``, at ``fine_step``: the middle of its diversification window, which its
    record alone decides), so that only Single-Attn's remain once every job is done.

    Introduced in notebooks/05_hessian_dynamics.
    """
    seed, arm = int(job[0]), job[1]
    data, held = seed_data(seed, cfg.run, cfg.heldout_batch)
    run = replace(cfg.run, train=replace(cfg.run.train, probe_batch_size=cfg.probe_batch))
    fine = (MAIN, HELDOUT) if arm in ("looped", "single") else ()  # Assumption 1's spectra continue these runs
    probe = sx.SpectrumProbe(steps=tuple(cfg.probe_steps), batches={"heldout": held}, views=cfg.arm_views(arm),
                             n_steps=cfg.lanczos_steps, dtype=cfg.dtype, seed=seed, keep_states=True, keep_bases=fine)
    t0, c0 = time.perf_counter(), time.process_time()
    record, _ = train_arm(arm, run, seed, data, probes=[probe])
    record.meta["seconds"] = time.perf_counter() - t0
    record.meta["cpu_seconds"] = time.process_time() - c0  # this process's CPU time (the machine may be shared)
    record.meta["probe_seconds"] = float(np.sum(record.probes["spectra"]["seconds"]))
    out = {"seed": seed, "arm": arm, "record": record, "states": probe.states, "bases": probe.bases,
           "fine_step": None, "fine": None}
    if arm == "looped":
        out["fine_step"] = fine_step({"looped": record}, cfg)
        if out["fine_step"] is not None:
            t1 = time.perf_counter()
            out["fine"] = fine_spectra((seed, arm, out["fine_step"]), cfg, {(seed, arm): probe.states},
                                       fine_starts(out, out["fine_step"]))
            record.meta["fine_seconds"] = time.perf_counter() - t1
        out["bases"] = {}  # used: only Single's travel back to the main process
    return out


def fine_spectra(job, cfg: HessianDynamicsConfig, states: Mapping, starts: Mapping | None = None) -> dict:
    """The finer spectra behind Assumption 1: ``job = (seed, arm, step)``; the arm's weights at that
    step (``states[(seed, arm)][step]``) on the training and held-out batches, ``cfg.fine_steps``
    products each. ``starts`` (``{"train": Spectrum, "heldout": Spectrum}`` with their ``basis``, as
    :func:`fine_starts` gives): the probe's own spectra at that step, which these continue — the same
    Hessian from the same start, so its ``lanczos_steps`` products are the first ones and the result is
    the one a fresh run gives. Returns ``{"train": row, "heldout": row}`` (:meth:`Spectrum.to_row`).

    Introduced in notebooks/05_hessian_dynamics.
    """
    seed, arm, step = int(job[0]), job[1], int(job[2])

    data, held = seed_data(seed, cfg.run, cfg.heldout_batch)
    device = resolve_device(cfg.run.train.device)
    model = build_arm(arm, cfg.run, seed)
    model.load_state_dict(states[(seed, arm)][step])
    model.to(device)
    probe = sx.SpectrumProbe(steps=(step,), n_steps=cfg.fine_steps, dtype=cfg.dtype, seed=seed)
    batches = {"train": data.train[: cfg.probe_batch].to(device), "heldout": held.to(device)}
    starts = starts or {}
    return {k: probe.spectrum(model, x, "attention", next_token_loss, step, resume=starts.get(k)).to_row()
            for k, x in batches.items()}


def fine_starts(arm_run: Mapping, step: int) -> dict:
    """``{"train", "heldout"}`` → the probe's attention spectra at ``step`` with their Lanczos vectors,
    from :func:`run_arm`'s output (empty where the vectors were not kept)."""
    rows = arm_run["record"].probes["spectra"]
    i = list(rows["step"]).index(step)
    return {b: replace(sx.Spectrum.from_row(rows[f"attention/{b}"][i]), basis=arm_run["bases"][(step, f"attention/{b}")])
            for b in ("train", "heldout") if (step, f"attention/{b}") in arm_run["bases"]}


def _fine_job(item, cfg: HessianDynamicsConfig) -> dict:
    job, state, starts = item  # one job's own weights and starts (not every job's: they travel to a worker)
    return fine_spectra(job, cfg, {(job[0], job[1]): {job[2]: state}}, starts)


def _cost(job, cfg: HessianDynamicsConfig) -> float:
    """A job's relative cost, for longest-first scheduling (the pool then finishes together): training
    plus one spectrum per view, each ∝ the loops of the forward pass (Single 1, Looped/Untied-3 3)."""
    loops = 1 if job[1] == "single" else 3
    fine = loops * 2 * max(cfg.fine_steps - cfg.lanczos_steps, 1) / cfg.lanczos_steps  # two spectra continued to fine_steps
    if len(job) == 3:  # an Assumption-1 job
        return fine
    return loops * (1 + len(cfg.arm_views(job[1]))) + (fine if job[1] == "looped" else 0.0)


def run_seeds(seeds: Sequence[int], cfg: HessianDynamicsConfig, workers: int | None = None,
              progress: bool = False) -> dict:
    """Every arm of every seed (the (seed, arm) jobs side by side, one per core; Looped-Attn's jobs end
    with their Assumption-1 spectra at the middle of their diversification window), then Single-Attn's
    Assumption-1 spectra at the same steps.
    Returns ``{seed: {"records": {arm: RunRecord}, "fine": {arm: {"train", "heldout"}} | None,
    "fine_step": int | None}}`` — plain data (no models).

    Introduced in notebooks/05_hessian_dynamics.
    """
    jobs = sorted([(int(s), a) for s in seeds for a in cfg.arms], key=lambda j: -_cost(j, cfg))
    done = map_seeds(partial(run_arm, cfg=cfg), jobs, workers=workers, progress=progress)
    out = {int(s): {"records": {}, "fine": None, "fine_step": None} for s in seeds}
    states, by_job = {}, {}
    for r in done:
        out[r["seed"]]["records"][r["arm"]] = r["record"]
        states[(r["seed"], r["arm"])] = r["states"]
        by_job[(r["seed"], r["arm"])] = r
    fine_jobs = []
    for s in out:
        looped = by_job.get((s, "looped"))
        step = None if looped is None else looped["fine_step"]
        out[s]["fine_step"] = step
        if step is not None:
            out[s]["fine"] = {"looped": looped["fine"]}
            if (s, "single") in by_job:
                fine_jobs.append((s, "single", step))
    items = [(j, states[j[:2]][j[2]], fine_starts(by_job[j[:2]], j[2])) for j in fine_jobs]
    got = map_seeds(partial(_fine_job, cfg=cfg), items, workers=workers) if fine_jobs else []
    for (s, arm, _), rows in zip(fine_jobs, got):
        out[s]["fine"][arm] = rows
    return out


# --------------------------------------------------------------------------------------------
# Measuring: statistics, phases, windows


def statistic_series(record, view: str = MAIN) -> tuple[np.ndarray, dict]:
    """``(steps, {statistic: values})`` of the family (plus ``kappa`` = κ_k, ``lambda_max`` and
    ``n``) at every probe of ``view``.

    Introduced in notebooks/05_hessian_dynamics.
    """
    steps, sps = sx.record_spectra(record, view)
    fam = [sx.family(sp) for sp in sps]
    out = {k: np.array([f[k] for f in fam]) for k in fam[0]}
    out["kappa"] = np.array([sx.kappa_k(sp) for sp in sps])
    out["n"] = np.array([sp.n for sp in sps], float)
    return steps, out


def run_converged_step(record, cfg: HessianDynamicsConfig | None = None, split: str = "complex") -> int | None:
    """The start of the run's converged part (:func:`loopvalley.hessian.spectra.converged_step` on the
    ``split`` accuracy in points), or ``None``.

    Introduced in notebooks/05_hessian_dynamics.
    """
    st, acc = record.curve(split)
    return sx.converged_step(st, 100 * acc, CONV_TOL, CONV_FRAC)


def arm_phases(record, cfg: HessianDynamicsConfig, view: str = MAIN) -> dict:
    """``{statistic: detect_phases(...)}`` for one arm, anchored after warmup, stabilization in the
    converged part; plus ``"converged_step"``.

    Introduced in notebooks/05_hessian_dynamics.
    """
    steps, ser = statistic_series(record, view)
    conv = run_converged_step(record, cfg)
    out = {k: sx.detect_phases(steps, ser[k], anchor_step=cfg.warmup, converged_step=conv, drop=DROP, rise=RISE,
                               flat=FLAT) for k in sx.STATISTICS}
    out["converged_step"] = conv
    return out


def _nanmean(a) -> float:
    a = np.asarray([np.nan if x is None else x for x in np.ravel(a)], float)
    return float(a[np.isfinite(a)].mean()) if np.isfinite(a).any() else float("nan")


def _nanmedian(a) -> float:
    a = np.asarray([np.nan if x is None else x for x in np.ravel(a)], float)
    return float(np.median(a[np.isfinite(a)])) if np.isfinite(a).any() else float("nan")


def _median(xs) -> float | None:
    """The median of the finite values; ``None`` when any value is ``None`` (a phase not judged)."""
    xs = list(xs)
    if not xs or any(x is None for x in xs):
        return None
    return _nanmedian(xs)


def family_window(phases: Mapping, phase: str = "diversification") -> tuple | None:
    """The family's window of ``phase`` in steps: present when the median margin over the family is
    > 0; then from the median start to the median end over the statistics that show the phase.
    ``None`` when absent.

    Introduced in notebooks/05_hessian_dynamics.
    """
    m = _median([phases[k][phase]["margin"] for k in sx.STATISTICS])
    if m is None or m <= 0:
        return None
    wins = [phases[k][phase]["window"] for k in sx.STATISTICS if phases[k][phase]["window"] is not None]
    lo, hi = float(np.median([w[0] for w in wins])), float(np.median([w[1] for w in wins]))
    return (int(lo), int(hi)) if hi > lo else None


def fine_step(records: Mapping, cfg: HessianDynamicsConfig) -> int | None:
    """The probe step in the middle of Looped-Attn's diversification window (the median probe in it),
    where Assumption 1's finer spectra are taken; ``None`` when the window is absent.

    Introduced in notebooks/05_hessian_dynamics.
    """
    win = family_window(arm_phases(records["looped"], cfg))
    if win is None:
        return None
    steps = np.asarray(sx.record_spectra(records["looped"], MAIN)[0])
    inside = steps[(steps >= win[0]) & (steps <= win[1])]
    return int(inside[len(inside) // 2]) if inside.size else None


def low_valley(sp, band=A1_BAND) -> np.ndarray:
    """The eigenvalue estimates λ/λ_max in ``band`` (converged Ritz values or dense eigenvalues).

    Introduced in notebooks/05_hessian_dynamics.
    """
    sp = sx.Spectrum.from_row(sp) if isinstance(sp, Mapping) else sp
    e = sp.eigenvalues / sp.lambda_max
    return np.sort(e[(e >= band[0]) & (e < band[1])])


def assumption1(sp_looped, sp_single, band=A1_BAND, quantiles=A1_QUANTILES, n_perm: int = N_PERM,
                seed: int = 0) -> dict:
    """Assumption 1 between two spectra on the low valley band λ/λ_max ∈ ``band``:

    - (i) ``log_count_ratio`` = log(n_L / n_S): Looped-Attn has more low valley eigenvalues when > 0;
    - (ii) ``log_quantile_ratio`` = mean over ``quantiles`` of log(q_S / q_L): Looped-Attn's are smaller
      when > 0; ``p_value``: the share of ``n_perm`` label permutations of the pooled eigenvalues
      whose statistic is at least the observed one (one-sided; ``seed`` seeds them).

    NaN where a model has fewer than 2 eigenvalues in the band.

    Introduced in notebooks/05_hessian_dynamics.
    """
    L, S = low_valley(sp_looped, band), low_valley(sp_single, band)
    q = np.asarray(quantiles, float)
    out = {"n_looped": int(L.size), "n_single": int(S.size), "looped": L, "single": S}
    out["log_count_ratio"] = float(math.log(L.size / S.size)) if L.size and S.size else float("nan")
    if L.size < 2 or S.size < 2:
        out.update(log_quantile_ratio=float("nan"), p_value=float("nan"))
        return out

    def stat(a, b):  # mean_q log(q_b / q_a): > 0 when a's eigenvalues are smaller
        return float(np.mean(np.log(np.quantile(b, q)) - np.log(np.quantile(a, q))))

    obs = stat(L, S)
    pool = np.concatenate([L, S])
    rng = np.random.default_rng(int(seed))
    hits = 0
    for _ in range(int(n_perm)):
        perm = rng.permutation(pool)
        hits += stat(perm[: L.size], perm[L.size:]) >= obs
    out.update(log_quantile_ratio=obs, p_value=(hits + 1) / (n_perm + 1))
    return out


def signature_distance(ser_a: Mapping, ser_b: Mapping, steps_mask) -> dict:
    """Per statistic of :data:`SIGNATURE`, the mean over the masked probes of |log s_A − log s_B|,
    counts normalised by the Hessian's dimension n (so Untied-3's 3× larger Hessian compares).

    Introduced in notebooks/05_hessian_dynamics.
    """
    out = {}
    for k in SIGNATURE:
        a, b = np.asarray(ser_a[k], float)[steps_mask], np.asarray(ser_b[k], float)[steps_mask]
        if k not in ("negative_mass", "kappa"):
            a, b = a / np.asarray(ser_a["n"])[steps_mask], b / np.asarray(ser_b["n"])[steps_mask]
        out[k] = _nanmean(np.abs(sx._log(a) - sx._log(b)))  # mean |log s_A − log s_B|
    return out


def measure_seed(entry: Mapping, cfg: HessianDynamicsConfig, seed: int = 0) -> dict:
    """Everything H1–H4 need from one seed (``entry`` as in :func:`run_seeds`), for the training
    batch, the held-out batch and the W_Q/W_K block.

    Introduced in notebooks/05_hessian_dynamics.
    """
    recs = entry["records"]
    out = {"fine_step": entry.get("fine_step")}
    for view in (MAIN, HELDOUT, QK):
        have = [a for a in recs if view in recs[a].probes["spectra"]]  # Untied-3 may lack a view (cfg.untied_views)
        ph = {a: arm_phases(recs[a], cfg, view) for a in have}
        ser = {a: statistic_series(recs[a], view) for a in have}
        v = {"phases": ph}
        L = ph["looped"]
        v["h1"] = {p: {k: L[k][p]["margin"] for k in sx.STATISTICS} for p in ("collapse", "diversification", "stabilization")}
        v["h2"] = {k: -ph["single"][k]["diversification"]["margin"] for k in sx.STATISTICS}
        win = family_window(L)
        v["window"] = win
        steps = ser["looped"][0]
        if win is not None:
            m = (steps >= win[0]) & (steps <= win[1])
            kl, ks = ser["looped"][1]["kappa"][m], ser["single"][1]["kappa"][m]
            v["kappa_log_ratio"] = _nanmean(np.log(kl / ks))
            v["kappa_looped"], v["kappa_single"] = _nanmean(kl), _nanmean(ks)
        else:
            v["kappa_log_ratio"] = v["kappa_looped"] = v["kappa_single"] = None
        # per statistic: κ over that statistic's own window (for the family's agreement)
        v["kappa_by_stat"] = {}
        for k in sx.STATISTICS:
            w = L[k]["diversification"]["window"]
            if w is None:
                v["kappa_by_stat"][k] = None
                continue
            m = (steps >= w[0]) & (steps <= w[1])
            v["kappa_by_stat"][k] = _nanmean(np.log(ser["looped"][1]["kappa"][m] / ser["single"][1]["kappa"][m]))
        if "untied-3" in have:
            mask = steps >= L["effective_rank"]["anchor_step"]
            dLU = signature_distance(ser["looped"][1], ser["untied-3"][1], mask)
            dUS = signature_distance(ser["untied-3"][1], ser["single"][1], mask)
            dLS = signature_distance(ser["looped"][1], ser["single"][1], mask)
            v["h4"] = {k: dLU[k] - dUS[k] for k in SIGNATURE}
            v["distances"] = {"looped_untied": dLU, "untied_single": dUS, "looped_single": dLS}
        out[view] = v
    fine = entry.get("fine")
    for batch in ("train", "heldout"):  # Assumption 1 is measured only inside Looped-Attn's window
        if fine and "looped" in fine and "single" in fine and out[MAIN]["window"] is not None:
            out[f"a1/{batch}"] = assumption1(fine["looped"][batch], fine["single"][batch], seed=seed)
        else:
            out[f"a1/{batch}"] = None
    out["complex_acc"] = {a: float(recs[a].eval_acc["complex"][-1]) for a in recs}
    out["converged_step"] = {a: out[MAIN]["phases"][a]["converged_step"] for a in recs}
    out["seconds"] = {a: float(recs[a].meta.get("seconds", float("nan"))) for a in recs}
    return out


# --------------------------------------------------------------------------------------------
# The claims: one function each (per-seed measurements → margins → claim)

STAT_NAMES = {"effective_rank": "effective rank", "participation": "participation ratio",
              "outliers": "outliers above 0.1·λ_max", "positive_rank": "positive-part entropy",
              "steep_count": "eigenvalues above τ", "negative_mass": "negative mass", "kappa": "κ_k"}


def _judge(margins: Mapping[str, Sequence], seeds) -> dict:
    """Verdict, deciding margin and interval of a set of parts (the claims API's rule)."""
    c = claim_from_margins("_", "_", "_", margins, rule="_", rule_version="_", scale="_", seeds=seeds,
                           exploratory_seeds=[])
    return {"verdict": c.verdict, "margin": c.margin, "ci": [c.ci_low, c.ci_high]}


def _family(per_stat: Sequence[Mapping], stats, seeds, parts: Sequence[str] | None = None) -> dict:
    """The family's median margin per seed and part, each statistic's own verdict, and the agreement.

    ``per_stat``: per seed, ``{part: {stat: margin}}`` (or ``{stat: margin}`` for one part)."""
    one = parts is None
    parts = ["_"] if one else list(parts)
    get = (lambda p, ps: ps) if one else (lambda p, ps: ps[p])  # noqa: E731
    med = {p: [_median([get(p, ps)[k] for k in stats]) for ps in per_stat] for p in parts}
    by_stat = {k: _judge({p: [get(p, ps)[k] for ps in per_stat] for p in parts}, seeds) for k in stats}
    fam = _judge(med, seeds)
    agree = [k for k in stats if by_stat[k]["verdict"] == fam["verdict"]]
    return {"median": med, "family": fam, "by_stat": by_stat, "agree": agree,
            "agreement": f"{len(agree)} of {len(stats)}"}


def _view_agreement(main: dict, other: dict) -> dict:
    return {"verdict": other["family"]["verdict"], "margin": other["family"]["margin"], "ci": other["family"]["ci"],
            "agrees": other["family"]["verdict"] == main["family"]["verdict"], "statistics_agreeing": other["agreement"]}


def _names(stats) -> str:
    return ", ".join(STAT_NAMES[k] for k in stats) if stats else "none"


def _part_text(name: str, margins) -> str:
    judged = [m for m in margins if m is not None]
    if not judged:
        return f"{name} not judged (no converged part)"
    extra = f" on {len(judged)} of {len(margins)} seeds" if len(judged) < len(margins) else ""
    return f"{name} {_nanmean(judged):+.2f}{extra}"


def _common(scale, seeds, per):
    return dict(rule_version=RULE_VERSION, scale=scale, seeds=seeds, exploratory_seeds=RULE_SEEDS, units="log ratio")


def claim_h1(per: Sequence[Mapping], scale: str, seeds: Sequence[int]) -> Claim:
    """H1: per seed and phase, the median over the six statistics of Looped-Attn's phase margin."""
    parts = ("collapse", "diversification", "stabilization")
    fam = {v: _family([p[v]["h1"] for p in per], sx.STATISTICS, seeds, parts) for v in (MAIN, HELDOUT, QK)}
    f = fam[MAIN]
    names = {"collapse": f"Collapse: log(x_anchor / x_min) − {PHASE_LOG:g}, family median",
             "diversification": f"Diversification: log(x_peak / x_min) − {PHASE_LOG:g}, family median",
             "stabilization": f"Stabilization: {PHASE_LOG:g} − log(max/min) in the converged part, family median"}
    windows = [{ph: {k: p[MAIN]["phases"]["looped"][k][ph]["window"] for k in sx.STATISTICS} for ph in parts} for p in per]
    sentence = ("The paper says Looped-Attn's Hessian spectrum goes through collapse, diversification and stabilization; "
                "we measured family-median margins of " + ", ".join(
                    _part_text(ph, f["median"][ph]) for ph in parts)
                + f" (log units, {len(seeds)} seeds, verdict {f['family']['verdict']}); statistics agreeing with that "
                f"verdict: {_names(f['agree'])}; held-out batch: {fam[HELDOUT]['family']['verdict']}, W_Q/W_K block: "
                f"{fam[QK]['family']['verdict']}.")
    return claim_from_margins(
        "H1", "Looped-Attn's Hessian spectrum goes through Collapse → Diversification → Stabilization",
        "three phases in Looped-Attn (Fig. 3, Fig. 8)", {names[p]: f["median"][p] for p in parts},
        rule=(f"per seed, for each of six spectral statistics (effective rank, participation ratio, outliers > "
              f"{sx.OUTLIER_FRAC:g}·λ_max, positive-part entropy, #|λ| ≥ {sx.TAU_REL:g}·λ_max, negative mass) of Looped-Attn's "
              f"attention Hessian (Lanczos, training batch): collapse = the minimum after warmup (anchor = first probe ≥ "
              f"step {per[0].get('warmup', 20)}) is ≤ e^(−{PHASE_LOG:g}) = {1 - DROP:.2f}× the anchor; diversification = the peak after the minimum is "
              f"≥ e^{PHASE_LOG:g} = {1 + RISE:.2f}× the minimum; stabilization = max/min ≤ {1 + FLAT:.2f} over the converged part (complex-split "
              f"accuracy moves < {CONV_TOL:g} points to the end, over ≥ {CONV_FRAC:.0%} of the steps). Aggregation: each part's "
              "margin per seed is the median over the six statistics; the claim takes its weakest part"),
        measured={"statistics_agreeing": f["agreement"], "agreeing": f["agree"],
                  "by_statistic": {k: f["by_stat"][k] for k in sx.STATISTICS},
                  "heldout": _view_agreement(f, fam[HELDOUT]), "qk_block": _view_agreement(f, fam[QK]),
                  "windows_steps": windows, "converged_step_looped": [p["converged_step"]["looped"] for p in per],
                  "complex_acc": {a: summary([p["complex_acc"][a] for p in per]) for a in per[0]["complex_acc"]}},
        notes={v: sentence for v in ("holds", "fails", "inconclusive")}, **_common(scale, seeds, per))


def claim_h2(per: Sequence[Mapping], scale: str, seeds: Sequence[int]) -> Claim:
    """H2: per seed, minus the median over the six statistics of Single-Attn's diversification margin."""
    fam = {v: _family([p[v]["h2"] for p in per], sx.STATISTICS, seeds) for v in (MAIN, HELDOUT, QK)}
    f = fam[MAIN]
    sentence = (f"The paper says Single-Attn's spectrum lacks the diversification phase; we measured a family-median "
                f"margin of {_nanmean(f['median']['_']):+.2f} (log units: positive = no diversification beyond "
                f"×{1 + RISE:.2f}; verdict {f['family']['verdict']}); statistics agreeing: {_names(f['agree'])}; held-out "
                f"batch: {fam[HELDOUT]['family']['verdict']}, W_Q/W_K block: {fam[QK]['family']['verdict']}.")
    return claim_from_margins(
        "H2", "Single-Attn's Hessian spectrum lacks the Diversification phase", "no three-phase evolution for Single-Attn (Fig. 7)",
        {f"{PHASE_LOG:g} − log(Single's peak / its post-warmup minimum), family median": f["median"]["_"]},
        rule=(f"per seed, for each of the six statistics, Single-Attn's largest value after its post-warmup minimum stays "
              f"below e^{PHASE_LOG:g} = {1 + RISE:.2f}× that minimum; the margin per seed is the median over the six statistics"),
        measured={"statistics_agreeing": f["agreement"], "agreeing": f["agree"], "by_statistic": f["by_stat"],
                  "heldout": _view_agreement(f, fam[HELDOUT]), "qk_block": _view_agreement(f, fam[QK])},
        notes={v: sentence for v in ("holds", "fails", "inconclusive")}, **_common(scale, seeds, per))


def claim_h3(per: Sequence[Mapping], scale: str, seeds: Sequence[int]) -> Claim:
    """H3: over Looped-Attn's diversification window, log(κ_L/κ_S); at its middle, Assumption 1 (i)
    log(n_L/n_S) and (ii) the mean log quantile ratio of the low valley eigenvalues."""
    def col(view, a1):
        k = [p[view]["kappa_log_ratio"] for p in per]
        i = [None if p[a1] is None else p[a1]["log_count_ratio"] for p in per]
        q = [None if p[a1] is None else p[a1]["log_quantile_ratio"] for p in per]
        return k, i, q

    k, i, q = col(MAIN, "a1/train")
    names = (f"log(κ_L / κ_S), κ = λ_1/λ_{sx.KAPPA_K}, mean over Looped's diversification window",
             f"Assumption 1 (i): log(n_L / n_S), low valley λ/λ_max ∈ [{A1_BAND[0]:g}, {A1_BAND[1]:g})",
             "Assumption 1 (ii): mean over quantiles of log(q_S / q_L)")
    hk, hi_, hq = col(HELDOUT, "a1/heldout")
    main = _judge(dict(zip(names, (k, i, q))), seeds)
    held = _judge(dict(zip(names, (hk, hi_, hq))), seeds)
    by_stat = {s: _judge({"κ over this statistic's window": [p[MAIN]["kappa_by_stat"][s] for p in per]}, seeds)
               for s in sx.STATISTICS}
    kap = _judge({"κ": k}, seeds)
    agree = [s for s in sx.STATISTICS if by_stat[s]["verdict"] == kap["verdict"]]
    pv = [None if p["a1/train"] is None else p["a1/train"]["p_value"] for p in per]
    absent = [s for s, p in zip(seeds, per) if p[MAIN]["window"] is None]
    sentence = (f"The paper says Looped-Attn's valley is V-shaped (κ ≫ 1, larger than Single-Attn's) with more and smaller "
                f"low-curvature eigenvalues (Assumption 1); we measured mean log(κ_L/κ_S) = "
                f"{_nanmean(k):+.2f}, log(n_L/n_S) = {_nanmean(i):+.2f} "
                f"and a quantile log ratio of {_nanmean(q):+.2f} (verdict {main['verdict']}"
                + (f"; no diversification window on seed(s) {', '.join(map(str, absent))}" if absent else "")
                + f"); statistics whose own window gives the κ part's verdict: {_names(agree)}; held-out batch: {held['verdict']}.")
    return claim_from_margins(
        "H3", "During Looped-Attn's diversification its valley is worse conditioned than Single-Attn's, with more and "
        "smaller low-curvature valley eigenvalues (Assumption 1)",
        "River-V-Valley (κ ≫ 1) for Looped vs River-U-Valley for Single; Assumption 1 (Fig. 8(o) vs 7(j))",
        dict(zip(names, (k, i, q))),
        rule=(f"per seed, over Looped-Attn's diversification window (the family's: median start to median end over the "
              f"statistics that diversify; absent = no margin): mean log(κ_L/κ_S) with the ε-free κ = λ_1/λ_{sx.KAPPA_K} > 0; at "
              f"the window's middle probe, on {A1_BAND[0]:g} ≤ λ/λ_max < {A1_BAND[1]:g} of a {per[0].get('fine_steps', '')}-step "
              f"Lanczos spectrum: (i) log(n_L/n_S) > 0 and (ii) mean over quantiles {', '.join(f'{x:g}' for x in A1_QUANTILES)} "
              f"of log(q_S/q_L) > 0 (per-seed one-sided permutation test, {N_PERM} permutations, in measured)"),
        measured={"statistics_agreeing": f"{len(agree)} of {len(sx.STATISTICS)}", "agreeing": agree, "by_statistic": by_stat,
                  "heldout": {**held, "agrees": held["verdict"] == main["verdict"]},
                  "windows_steps": [p[MAIN]["window"] for p in per], "fine_step": [p["fine_step"] for p in per],
                  "kappa_looped": summary([np.nan if p[MAIN]["kappa_looped"] is None else p[MAIN]["kappa_looped"] for p in per]),
                  "kappa_single": summary([np.nan if p[MAIN]["kappa_single"] is None else p[MAIN]["kappa_single"] for p in per]),
                  "a1_n_low_looped": [None if p["a1/train"] is None else p["a1/train"]["n_looped"] for p in per],
                  "a1_n_low_single": [None if p["a1/train"] is None else p["a1/train"]["n_single"] for p in per],
                  "a1_permutation_p": pv},
        notes={v: sentence for v in ("holds", "fails", "inconclusive")}, **_common(scale, seeds, per))


def claim_h4(per: Sequence[Mapping], scale: str, seeds: Sequence[int]) -> Claim:
    """H4: per seed, the median over the signature statistics of d(Looped, Untied-3) − d(Untied-3, Single)."""
    fam = {v: _family([p[v]["h4"] for p in per], SIGNATURE, seeds) for v in (MAIN, HELDOUT, QK)
           if all("h4" in p[v] for p in per)}  # views Untied-3 was probed on
    f = fam[MAIN]
    other = {v: (fam[v]["family"]["verdict"] if v in fam else "not measured") for v in (HELDOUT, QK)}
    dist = {k: summary([_nanmedian(list(p[MAIN]["distances"][k].values())) for p in per])
            for k in ("looped_untied", "untied_single", "looped_single")}
    dm = {k: _nanmean(v["per_seed"]) for k, v in dist.items()}
    sentence = (f"The paper says the V-valley comes from recursion (weight sharing); we measured signature distances (median |log ratio| over "
                f"the statistics) Looped–Untied-3 {dm['looped_untied']:.2f}, Untied-3–Single "
                f"{dm['untied_single']:.2f}, Looped–Single {dm['looped_single']:.2f} (verdict "
                f"{f['family']['verdict']}); statistics agreeing: {_names(f['agree'])}; held-out batch: "
                f"{other[HELDOUT]}, W_Q/W_K block: {other[QK]}.")
    return claim_from_margins(
        "H4", "The V-valley signature is specific to recursion: Looped-Attn's spectrum differs from Untied-3's more than "
        "Untied-3's differs from Single-Attn's", "Looped-Attn's landscape comes from weight sharing (recursion), not depth",
        {"d(Looped, Untied-3) − d(Untied-3, Single), family median": f["median"]["_"]},
        rule=("signature = the six statistics (counts divided by the Hessian's dimension, so Untied-3's 3× larger "
              f"attention Hessian compares) and log κ_{sx.KAPPA_K}, at every probe after warmup; d(A, B) = mean over probes of "
              "|log s_A − log s_B| per statistic; margin per seed = the median over the seven statistics of "
              "d(Looped, Untied-3) − d(Untied-3, Single). All three models' Hessians are over all their attention weights "
              "(W_Q, W_K, W_V, W_O; every layer of Untied-3), estimated by the same Lanczos settings on the training batch "
              "(at ci and small Untied-3 is probed on that batch only, so H4 has no held-out or W_Q/W_K agreement there)"),
        measured={"statistics_agreeing": f["agreement"], "agreeing": f["agree"], "by_statistic": f["by_stat"],
                  "distances": dist, **{k: _view_agreement(f, fam[v]) for k, v in (("heldout", HELDOUT), ("qk_block", QK))
                                        if v in fam}},
        notes={v: sentence for v in ("holds", "fails", "inconclusive")}, **_common(scale, seeds, per))


def hessian_claims(runs: Mapping, cfg: HessianDynamicsConfig, scale: str, seeds: Sequence[int] | None = None) -> list:
    """H1–H4 from ``runs`` (:func:`run_seeds`'s output); verdicts from the per-seed margins.

    Introduced in notebooks/05_hessian_dynamics.
    """
    seeds = sorted(runs) if seeds is None else [int(s) for s in seeds]
    per = [measure_seed(runs[s], cfg, s) for s in seeds]
    for p in per:
        p["warmup"], p["fine_steps"] = cfg.warmup, cfg.fine_steps
    claims = [claim_h1(per, scale, seeds), claim_h2(per, scale, seeds), claim_h3(per, scale, seeds)]
    if all("h4" in p[MAIN] for p in per):
        claims.append(claim_h4(per, scale, seeds))
    return claims


# --------------------------------------------------------------------------------------------
# Figures' data, and the registered experiment


def family_bands(runs: Mapping, view: str = MAIN, stats=sx.STATISTICS + ("kappa",)) -> dict:
    """``{arm: (steps, {stat: (seeds, probes) array})}`` for :func:`loopvalley.hessian.plots.plot_family_over_training`.

    Introduced in notebooks/05_hessian_dynamics.
    """
    arms = list(next(iter(runs.values()))["records"])
    out = {}
    for a in arms:
        ser = [statistic_series(runs[s]["records"][a], view) for s in runs]
        steps = ser[0][0]
        out[a] = (steps, {k: np.array([x[1][k] for x in ser]) for k in stats})
    return out


def median_windows(runs: Mapping, cfg: HessianDynamicsConfig, view: str = MAIN) -> dict:
    """Looped-Attn's family windows in steps, the median over the seeds where each phase is present
    (``None`` where it is present in fewer than half of the seeds).

    Introduced in notebooks/05_hessian_dynamics.
    """
    out = {}
    ph = [arm_phases(runs[s]["records"]["looped"], cfg, view) for s in runs]
    for phase in ("collapse", "diversification", "stabilization"):
        ws = [family_window(p, phase) for p in ph]
        ws = [w for w in ws if w is not None]
        out[phase] = (int(np.median([w[0] for w in ws])), int(np.median([w[1] for w in ws]))) if 2 * len(ws) >= len(ph) and ws else None
    return out


def records_of(runs: Mapping) -> dict:
    """``{"<seed>/<arm>": RunRecord}`` of :func:`run_seeds`'s output, the Assumption-1 spectra stored in
    the Looped and Single records as ``probes["fine"]`` (what ``reproduce`` ships for the notebook).

    Introduced in notebooks/05_hessian_dynamics.
    """
    out = {}
    for s, e in runs.items():
        for arm, rec in e["records"].items():
            if e.get("fine") and arm in e["fine"]:
                rec.probes["fine"] = {"step": [e["fine_step"]], **{f"attention/{b}": [row] for b, row in e["fine"][arm].items()}}
            out[f"{s}/{arm}"] = rec
    return out


def runs_from_records(records: Mapping) -> dict:
    """The inverse of :func:`records_of`: :func:`run_seeds`'s output from ``{"<seed>/<arm>": RunRecord}``.

    Introduced in notebooks/05_hessian_dynamics.
    """
    runs: dict = {}
    for key, rec in records.items():
        s, arm = key.split("/", 1)
        e = runs.setdefault(int(s), {"records": {}, "fine": None, "fine_step": None})
        e["records"][arm] = rec
        fine = rec.probes.get("fine")
        if fine:
            e["fine"] = e["fine"] or {}
            e["fine"][arm] = {k.split("/", 1)[1]: v[0] for k, v in fine.items() if "/" in k}
            e["fine_step"] = int(fine["step"][0])
    return dict(sorted(runs.items()))


@register("hessian-dynamics", ["H1", "H2", "H3", "H4"],
          "Hessian spectra over training: the phases, the ε-free valley conditioning, Assumption 1, recursion vs depth")
def run(ctx: Context) -> list:
    """Train the three arms with spectra over the confirmatory seeds, save the figures, return H1–H4."""

    cfg = config(ctx.scale, ctx.max_steps)
    seeds = verdict_seeds(ctx.n_seeds or cfg.n_seeds, ctx.scale)
    t0 = time.perf_counter()
    runs = run_seeds(seeds, cfg, workers=ctx.workers, progress=ctx.progress)
    if ctx.progress:
        cpu = sum(r.meta.get("cpu_seconds", 0) for e in runs.values() for r in e["records"].values())
        print(f"  [hessian-dynamics] {len(seeds)} seeds × {len(cfg.arms)} arms in {time.perf_counter() - t0:.0f} s "
              f"wall; the training jobs used {cpu:.0f} CPU seconds", flush=True)
    ctx.save_records("hessian-dynamics", records_of(runs))  # the spectra behind the verdicts, shipped first
    claims = hessian_claims(runs, cfg, ctx.scale, seeds)
    conv = [run_converged_step(runs[s]["records"]["looped"], cfg) for s in seeds]
    conv = [c for c in conv if c is not None]
    ctx.save_figure(plot_family_over_training(family_bands(runs), median_windows(runs, cfg), warmup=cfg.warmup,
                                              converged=int(np.median(conv)) if conv else None),
                    "hessian_family", alt="the six spectral statistics and κ over training for Single, Looped and Untied-3, "
                    "median and range over seeds, Looped's phase windows shaded")
    first = next((s for s in seeds if runs[s]["fine"]), None)
    if first is not None:
        a1 = assumption1(runs[first]["fine"]["looped"]["train"], runs[first]["fine"]["single"]["train"], seed=first)
        ctx.save_figure(plot_assumption1(a1, runs[first]["fine_step"]), "hessian_assumption1",
                        alt="low valley eigenvalues of Looped and Single sorted, at the middle of Looped's diversification")
    per = [measure_seed(runs[s], cfg, s) for s in seeds]
    ctx.save_figure(plot_signature_distances([p[MAIN]["distances"] for p in per]), "hessian_signature",
                    alt="spectral signature distances between Looped, Untied-3 and Single per statistic, one dot per seed")
    return claims
