"""The hessian-dynamics experiment (phases per statistic, windows in steps, the ε-free κ, Assumption 1 by
permutation, the recursion signature, the claims) on run records whose answer is planted, plus its
configuration and one tiny end-to-end run."""

from dataclasses import replace

import numpy as np
import pytest
import torch

from loopvalley.hessian import experiment as hd
from loopvalley.hessian import spectra as sx
from loopvalley.records import RunRecord

torch.set_num_threads(1)

STEPS = [0, 20, 40, 80, 150, 300, 600, 800, 1000, 1200]
EVAL = list(range(0, 1225, 25))
CFG = replace(hd.config("small"), probe_steps=tuple(STEPS))

# effective-rank-like trajectories (step 0 is the init saddle; the anchor is step 20)
THREE = [5, 40, 22, 10, 16, 30, 38, 40, 40, 39]  # collapse 20→80, diversification 80→~600, flat from 800
NO_DIV = [5, 40, 22, 10, 10, 11, 10, 10, 10, 10]  # collapse, then flat


def spectrum(r: int, kappa: float, n: int = 256, copies: int = 1) -> sx.Spectrum:
    """r positive walls spread over [1/kappa, 1] (κ_10 grows with kappa), two small negative
    eigenvalues and a null space; ``copies`` stacks it (an untied model's independent layers)."""
    one = np.concatenate([np.geomspace(1.0, 1.0 / kappa, r), -0.01 * np.ones(2), np.zeros(n - r - 2)])
    return sx.spectrum_of(np.tile(one, copies))


def record(ranks, kappa, acc_final, copies=1, jitter=0.0) -> RunRecord:
    rec = RunRecord()
    rows = [spectrum(int(round(r * (1 + jitter))), kappa, copies=copies).to_row() for r in ranks]
    rec.probes["spectra"] = {"step": list(STEPS), **{v: rows for v in (hd.MAIN, hd.HELDOUT, hd.QK)}}
    rec.eval_step = list(EVAL)
    acc = np.minimum(acc_final, 0.3 + np.asarray(EVAL) / 1600)  # rises, then converged from ~step 500
    rec.eval_acc = {"complex": list(acc), "simple": list(acc)}
    return rec


def fine(n_band: int, lo: float, hi: float) -> dict:
    e = np.concatenate([[1.0, 0.5], np.geomspace(lo, hi, n_band), np.zeros(200)])
    return {"train": sx.spectrum_of(e).to_row(), "heldout": sx.spectrum_of(e).to_row()}


def paper_like(seed: int, swap: bool = False) -> dict:
    j = 0.03 * (seed % 3)  # a little seed-to-seed variation: finite intervals
    looped = record(THREE, kappa=30.0, acc_final=0.66, jitter=j)
    single = record(NO_DIV, kappa=1.5, acc_final=0.55, jitter=j)
    untied = record(NO_DIV, kappa=1.5, acc_final=0.57, copies=3, jitter=j)
    fl, fs = fine(40, 0.011 + 0.001 * j, 0.04), fine(12, 0.03, 0.09)
    if swap:
        looped, single, fl, fs = single, looped, fs, fl
    return {"records": {"looped": looped, "single": single, "untied-3": untied}, "fine": {"looped": fl, "single": fs},
            "fine_step": 150}


# -- configuration --------------------------------------------------------------------------------


def test_config_meets_the_issue_at_small():
    c = hd.config("small")
    assert c.probe_batch >= 256 and c.heldout_batch >= 256 and c.n_seeds >= 5
    assert set(c.arms) == {"single", "looped", "untied-3"}
    assert c.run.model.d_model == 16 and c.run.train.max_steps == max(c.probe_steps)
    after = [s for s in c.probe_steps if s >= c.warmup]
    assert after[0] == c.warmup and len(after) >= 6  # anchored at the end of warmup
    for scale in ("ci", "paper"):
        s = hd.config(scale)
        assert s.probe_steps[-1] == s.run.train.max_steps and (hd.MAIN.split("/")[0], "train") in s.views
    capped = hd.config("small", max_steps=120)
    assert capped.run.train.max_steps == 120 and max(capped.probe_steps) == 120


def test_seed_data_is_the_seeds_sample_plus_fresh_heldout_sequences():
    run = hd.config("ci").run
    data, held = hd.seed_data(1000, run, 64)
    ref = run.data.sample(1000)
    assert torch.equal(data.train, ref.train) and torch.equal(data.test["complex"], ref.test["complex"])
    assert held.shape == (64, run.data.markov.seq_len)
    rows = {tuple(r) for r in data.train.tolist()}
    assert sum(tuple(r) in rows for r in held.tolist()) < 8  # fresh draws (short sequences may repeat by chance)


# -- Assumption 1 -------------------------------------------------------------------------------------


def test_assumption1_quantiles_and_permutation_test():
    more_smaller = sx.spectrum_of(np.concatenate([[1.0], np.geomspace(0.011, 0.04, 40), np.zeros(50)]))
    fewer_larger = sx.spectrum_of(np.concatenate([[1.0], np.geomspace(0.03, 0.09, 12), np.zeros(50)]))
    a = hd.assumption1(more_smaller, fewer_larger, n_perm=500)
    assert (a["n_looped"], a["n_single"]) == (40, 12)
    assert a["log_count_ratio"] == pytest.approx(np.log(40 / 12))
    q = np.asarray(hd.A1_QUANTILES)
    expect = np.mean(np.log(np.quantile(a["single"], q)) - np.log(np.quantile(a["looped"], q)))
    assert a["log_quantile_ratio"] == pytest.approx(expect) and a["log_quantile_ratio"] > 0
    assert a["p_value"] < 0.01
    b = hd.assumption1(fewer_larger, more_smaller, n_perm=500)
    assert b["log_count_ratio"] < 0 and b["log_quantile_ratio"] < 0 and b["p_value"] > 0.9
    same = hd.assumption1(more_smaller, more_smaller, n_perm=500)
    assert same["log_quantile_ratio"] == 0 and same["p_value"] > 0.3  # no difference: no evidence
    assert np.isnan(hd.assumption1(sx.spectrum_of([1.0, 0.0]), fewer_larger)["log_quantile_ratio"])


# -- windows, phases and claims from planted records ----------------------------------------------------


def test_phases_and_windows_in_steps():
    e = paper_like(0)
    ph = hd.arm_phases(e["records"]["looped"], CFG)
    assert ph["converged_step"] is not None and 400 <= ph["converged_step"] <= 700
    assert hd.family_window(ph, "collapse") == (20, 80)
    w = hd.family_window(ph, "diversification")
    assert w[0] == 80 and w[1] >= 300
    assert hd.family_window(hd.arm_phases(e["records"]["single"], CFG), "diversification") is None  # absent
    assert hd.fine_step(e["records"], CFG) in (150, 300)  # the middle probe of Looped's window


def test_claims_hold_on_paper_like_runs_and_fail_when_swapped():
    seeds = [1000, 1001, 1002]
    claims = {c.id: c for c in hd.hessian_claims({s: paper_like(s) for s in seeds}, CFG, "small")}
    assert list(claims) == ["H1", "H2", "H3", "H4"]
    for c in claims.values():
        assert c.verdict == "holds", (c.id, c.note, c.parts)
        assert c.measured["statistics_agreeing"] and "heldout" in c.measured
        assert "The paper says" in c.note and "we measured" in c.note
    assert claims["H1"].measured["heldout"]["agrees"] and claims["H1"].measured["qk_block"]["agrees"]
    assert claims["H1"].measured["statistics_agreeing"] == "5 of 6"  # negative mass is flat by construction
    swapped = {c.id: c for c in hd.hessian_claims({s: paper_like(s, swap=True) for s in seeds}, CFG, "small")}
    assert swapped["H2"].verdict == "fails"  # "Single" now diversifies
    assert swapped["H1"].verdict in ("fails", "inconclusive")
    assert swapped["H3"].verdict == "inconclusive"  # "Looped" has no diversification window: no margin


def test_h4_sees_a_signature_shared_by_looped_and_untied():
    seeds = [1000, 1001, 1002]
    runs = {s: paper_like(s) for s in seeds}
    for s in seeds:  # Untied-3 now behaves like Looped-Attn: the signature is not specific to recursion
        runs[s]["records"]["untied-3"] = record(THREE, kappa=30.0, acc_final=0.66, copies=3, jitter=0.03 * (s % 3))
    h4 = [c for c in hd.hessian_claims(runs, CFG, "small") if c.id == "H4"][0]
    assert h4.verdict == "fails", h4.parts


# -- one tiny end-to-end run ------------------------------------------------------------------------------


def test_run_seeds_end_to_end_tiny():
    cfg = hd.config("ci")
    run = cfg.run
    run = replace(run, data=replace(run.data, markov=replace(run.data.markov, seq_len=8), n_train=64, n_test=16),
                  model=replace(run.model, d_model=4, max_len=8),
                  train=replace(run.train, max_steps=30, eval_every=10, warmup_steps=5))
    tiny = replace(cfg, run=run, probe_steps=(0, 5, 10, 20, 30), probe_batch=8, heldout_batch=8, lanczos_steps=8,
                   fine_steps=16)
    runs = hd.run_seeds([1000, 1001], tiny, workers=1)
    assert tiny.arm_views("untied-3") == ((hd.MAIN.split("/")[0], "train"),)  # ci: H4's control on the training view
    for s in runs:
        for arm in ("single", "looped", "untied-3"):
            rows = runs[s]["records"][arm].probes["spectra"]
            views = {hd.MAIN} if arm == "untied-3" else {hd.MAIN, hd.HELDOUT, hd.QK}
            assert rows["step"] == [0, 5, 10, 20, 30] and {k for k in rows if "/" in k} == views
    claims = {c.id: c for c in hd.hessian_claims(runs, tiny, "ci")}
    assert list(claims) == ["H1", "H2", "H3", "H4"]
    assert all(c.verdict in ("holds", "fails", "inconclusive") and c.measured and c.note for c in claims.values())
    assert "heldout" in claims["H1"].measured and "heldout" not in claims["H4"].measured
    assert "held-out batch: not measured" in claims["H4"].note
    assert hd.config("small").arm_views("untied-3") == tiny.arm_views("untied-3")
    assert hd.config("paper").arm_views("untied-3") == hd.VIEWS  # paper probes every view of every arm
