"""The hessian-dynamics experiment as a measurement: phase contrasts against the null, conditioning and
Assumption 1, the recursion signature, every declared alternative — on run records whose answer is
planted — plus its configuration and one tiny end-to-end run."""

from dataclasses import replace

import numpy as np
import pytest
import torch

from loopvalley import rules as R
from loopvalley.hessian import experiment as hd
from loopvalley.hessian import spectra as sx
from loopvalley.records import RunRecord

torch.set_num_threads(1)

STEPS = [20, 60, 100, 150, 200, 300, 400, 480, 520, 560, 600]  # converged segment (the decay) from 480
EVAL = list(range(0, 625, 25))
CFG = replace(hd.config("ci"), probe_steps=tuple(STEPS), views=hd.VIEWS)

# effective-rank-like trajectories
THREE = [40, 20, 10, 15, 25, 40, 40, 40, 41, 40, 40]  # collapse ×4, diversification ×4, then flat
FLAT = [12, 12, 11, 12, 12, 12, 11, 12, 12, 12, 12]  # no phase


def spectrum(r: int, kappa: float, n: int = 256, copies: int = 1) -> sx.Spectrum:
    """r positive walls spread over [1/kappa, 1] (κ_10 grows with kappa), two small negative
    eigenvalues and a null space; ``copies`` stacks it (an untied model's independent layers)."""
    one = np.concatenate([np.geomspace(1.0, 1.0 / kappa, r), -0.01 * np.ones(2), np.zeros(n - r - 2)])
    return sx.spectrum_of(np.tile(one, copies))


def fine(n_band: int) -> dict:
    e = np.concatenate([[1.0, 0.5], np.geomspace(0.011, 0.09, n_band), np.zeros(200)])
    return sx.spectrum_of(e).to_row()


def record(ranks, kappa, acc_final, copies=1, jitter=0.0, n_band=20) -> RunRecord:
    rec = RunRecord()
    rows = [spectrum(int(round(r * (1 + jitter))), kappa, copies=copies).to_row() for r in ranks]
    rec.probes["spectra"] = {"step": list(STEPS), **{v: rows for v in hd.VIEWS}}
    rec.probes["projected"] = {"step": list(STEPS), hd.MAIN: rows}
    rec.probes["starts"] = {"step": [], "start": []}
    rec.probes["fine"] = {"step": [300, 300], "kind": ["fixed", "milestone"], hd.MAIN: [fine(n_band)] * 2,
                          hd.HELDOUT: [fine(n_band)] * 2}
    rec.eval_step = list(EVAL)
    acc = np.minimum(acc_final, 0.3 + np.asarray(EVAL) / 1600)  # rises, then converged
    rec.eval_acc = {"complex": list(acc), "simple": list(acc)}
    return rec


def paper_like(seed: int, swap: bool = False, untied_like_looped: bool = False) -> dict:
    j = 0.03 * (seed % 3)  # a little seed-to-seed variation: finite intervals
    looped = record(THREE, kappa=30.0, acc_final=0.66, jitter=j, n_band=40)
    single = record(FLAT, kappa=1.5, acc_final=0.55, jitter=j, n_band=12)
    untied = record(THREE if untied_like_looped else FLAT, kappa=30.0 if untied_like_looped else 1.5, acc_final=0.57,
                    copies=3, jitter=j)
    if swap:
        looped, single = single, looped
    return {"looped": looped, "single": single, "untied-3": untied}


def records_of(seeds, **kw) -> dict:
    return {f"{s}/{arm}": rec for s in seeds for arm, rec in paper_like(s, **kw).items()}


SEEDS = [1000, 1001, 1002, 1003]


# -- configuration --------------------------------------------------------------------------------


def test_config_puts_probes_where_the_learning_is_and_ends_in_a_decay():
    c = hd.config("small")
    assert c.n_seeds >= 5 and set(c.arms) == {"single", "looped", "untied-3"} and set(c.views) == set(hd.VIEWS)
    assert c.run.train.schedule == "wsd" and c.run.train.max_steps == max(c.probe_steps)
    conv = [s for s in c.probe_steps if s >= c.converged_from]
    assert len(conv) >= 5  # a converged segment with ≥ 5 probes
    climb = [s for s in c.probe_steps if 150 <= s <= 1100]
    assert len(climb) >= 8 and max(np.diff(climb)) <= 200  # dense across the accuracy climb
    assert c.extra_starts >= 2 and set(c.widths) == {32, 64} and c.width_seeds >= 3
    capped = hd.config("small", max_steps=120)
    assert capped.run.train.max_steps == 120 and max(capped.probe_steps) == 120


def test_seed_data_is_the_seeds_sample_plus_fresh_heldout_sequences():
    run = hd.config("ci").run
    data, held = hd.seed_data(500, run, 64)
    ref = run.data.sample(500)
    assert torch.equal(data.train, ref.train) and torch.equal(data.test["complex"], ref.test["complex"])
    assert held.shape == (64, run.data.markov.seq_len)


# -- measurement on planted records ---------------------------------------------------------------------


def test_phase_contrasts_on_planted_runs():
    recs = paper_like(1000)
    sigma = {a: hd.frozen_sigma(a) for a in hd.ARMS}
    m = hd.phase_margins(recs, R.rule("H1").main, sigma, 480)
    # Looped: collapse and diversification of log 4 against a flat Single: both contrasts positive beyond the null
    assert m.collapse > 0 and m.diversification > 0 and m.stabilization > 0 and m.recursion > 0
    raw = m.by_statistic["diversification"]["effective_rank"]
    tau = np.log(4) - raw  # margin = contrast − threshold, the threshold positive (the null is not centred at 0)
    assert tau > 0


def test_claims_hold_on_paper_like_runs_and_fail_when_swapped():
    claims = {c.id: c for c in hd.hessian_claims(records_of(SEEDS), CFG, "small", SEEDS)}
    assert list(claims) == ["H1", "H2", "H3", "H4"]
    for c in claims.values():
        assert c.kind == "empirical" and c.chapter == "05" and c.alternatives
    assert claims["H1"].verdict == "holds" and claims["H2"].verdict == "holds" and claims["H3"].verdict == "holds"
    swapped = {c.id: c for c in hd.hessian_claims(records_of(SEEDS, swap=True), CFG, "small", SEEDS)}
    assert swapped["H1"].verdict == "fails"  # now "Single" collapses and diversifies: the contrasts are negative
    assert swapped["H3"].verdict == "fails"


def test_every_declared_alternative_is_reported():
    h1 = hd.hessian_claims(records_of(SEEDS), CFG, "small", SEEDS)[0]
    declared = [(c.key, v) for c in R.rule("H1").choices for v in c.alternatives]
    got = [(a["key"], a["value"]) for a in h1.alternatives if a["key"] != "seeds"]
    assert got == declared
    assert sum(a["key"] == "seeds" for a in h1.alternatives) == len(SEEDS)  # every leave-one-seed-out subset


def test_alternatives_not_recorded_at_a_scale_are_not_measured():
    recs = records_of(SEEDS)
    for rec in recs.values():  # the ci runs: the training view only, no gauge projection
        rec.probes["spectra"] = {k: v for k, v in rec.probes["spectra"].items() if k in ("step", hd.MAIN)}
        del rec.probes["projected"]
    h1 = hd.hessian_claims(recs, CFG, "ci", SEEDS)[0]
    missing = {a["value"] for a in h1.alternatives if a["verdict"] == "not measured"}
    assert missing == {"attention/heldout", "qk/train", "projected"}
    assert h1.verdict == "holds"
    assert not [f for f in h1.flips if f.startswith(("view", "gauge"))]  # not-measured alternatives flip nothing


def test_h4_sees_a_signature_shared_by_looped_and_untied():
    """Untied-3 now behaves like Looped-Attn: the signature is not specific to recursion."""
    h4 = hd.hessian_claims(records_of(SEEDS, untied_like_looped=True), CFG, "small", SEEDS)[3]
    assert h4.verdict == "fails", h4.parts
    h4_paper = hd.hessian_claims(records_of(SEEDS), CFG, "small", SEEDS)[3]
    assert h4_paper.margin > h4.margin


def test_signature_distances_do_not_divide_by_the_dimension():
    """Untied-3's Hessian is 3× larger with the same per-layer spectrum: its absolute counts are 3×, but
    the old normalisation by n would call the arms identical — the declared alternative, reported."""
    a = hd.series(record(FLAT, 1.5, 0.55))
    b = hd.series(record(FLAT, 1.5, 0.55, copies=3))
    d = hd.signature_distance(a, b, 20)
    assert d["outliers"] == pytest.approx(np.log(3), rel=1e-6)
    assert hd.signature_distance(a, b, 20, by_n=True)["outliers"] == pytest.approx(0, abs=1e-9)


def test_assumption1_counts_on_the_low_band():
    a = hd.assumption1(fine(40), fine(12))
    assert (a["n_looped"], a["n_single"]) == (40, 12) and a["log_count_ratio"] == pytest.approx(np.log(40 / 12))
    assert np.isnan(hd.assumption1(sx.spectrum_of([1.0, 0.0]), fine(12))["log_count_ratio"])


# -- one tiny end-to-end run ------------------------------------------------------------------------------


def test_run_seeds_end_to_end_tiny():
    cfg = hd.config("ci")
    run = cfg.run
    run = replace(run, data=replace(run.data, markov=replace(run.data.markov, seq_len=8), n_train=64, n_test=16),
                  model=replace(run.model, d_model=4, max_len=8),
                  train=replace(run.train, max_steps=40, eval_every=10, warmup_steps=5))
    tiny = replace(cfg, run=run, probe_steps=(5, 10, 20, 30, 34, 37, 40), probe_batch=8, heldout_batch=8,
                   lanczos_steps=8, fine_steps=16, a1_step=20, views=hd.VIEWS, gauge=True, widths=(8,), width_seeds=1,
                   width_probe_steps=(5, 20, 40))
    recs = hd.run_seeds([500, 501], tiny, workers=1)
    assert set(recs) == {"500/single", "500/looped", "500/untied-3", "501/single", "501/looped", "501/untied-3",
                         "500/single@d8", "500/looped@d8"}
    r = recs["500/looped"]
    assert r.probes["spectra"]["step"] == [5, 10, 20, 30, 34, 37, 40] and {hd.MAIN, hd.HELDOUT, hd.QK} <= set(r.probes["spectra"])
    assert r.probes["projected"]["step"] == r.probes["spectra"]["step"]
    assert r.probes["starts"]["step"] and max(r.probes["starts"]["start"]) == tiny.extra_starts
    assert r.probes["fine"]["kind"] == ["fixed", "milestone"]
    claims = {c.id: c for c in hd.hessian_claims(recs, tiny, "ci")}
    assert list(claims) == ["H1", "H2", "H3", "H4"]
    assert all(c.verdict in ("holds", "fails", "inconclusive") and c.note and c.alternatives for c in claims.values())
    assert [w["d_model"] for w in claims["H1"].measured["widths"]] == [4, 8]
