"""The hessian-dynamics analysis (phase rule, Assumption 1, κ over a window, claims) on spectra
whose answer is known by construction, plus one tiny end-to-end run."""

from dataclasses import replace

import numpy as np
import pytest
import torch

from loopvalley.experiments import hessian_dynamics as hd
from loopvalley.train import RunRecord

torch.set_num_threads(1)

STEPS = list(range(0, 130, 10))  # 13 probes


def spectrum_with_rank(r: float, n: int = 64) -> np.ndarray:
    """A spectrum whose effective rank exp(S) is exactly r (r equal eigenvalues, the rest 0)."""
    k = int(r)
    assert k == r
    return np.concatenate([np.zeros(n - k), np.ones(k)])


def record_of(spectra, steps=STEPS) -> RunRecord:
    rec = RunRecord()
    rec.probes["spectrum"] = {"step": list(steps), "eigenvalues": [list(map(float, e)) for e in spectra]}
    return rec


# -- the phase rule ------------------------------------------------------------------------------

THREE = [30, 12, 10, 14, 20, 28, 36, 40, 40, 40, 41, 40, 40]  # collapse, rise, plateau
NO_DIV = [30, 12, 10, 10, 10, 11, 10, 10, 10, 10, 10, 10, 10]  # collapse, then flat


def test_effective_rank_is_exact_on_flat_spectra():
    assert np.allclose(hd.effective_ranks([spectrum_with_rank(r) for r in (1, 7, 40)]), [1, 7, 40])


def test_detect_phases_finds_three_phases_in_order():
    p = hd.detect_phases(STEPS, THREE)
    assert p["collapse"] and p["diversification"] and p["stabilization"] and p["three_phases"]
    assert p["collapse_step"] == 20 and p["diversification_start"] == 30  # 14 ≥ 1.2 · 10
    assert p["drop"] == pytest.approx(10 / 30) and p["rise"] == pytest.approx(4.1)
    assert p["stabilization_start"] == STEPS[-4]  # the last 25 % (≥ 3 probes) of 13 probes: 4


def test_detect_phases_flags_missing_phases():
    p = hd.detect_phases(STEPS, NO_DIV)
    assert p["collapse"] and not p["diversification"] and p["stabilization"] and not p["three_phases"]
    rising = list(np.linspace(10, 40, 13))
    p = hd.detect_phases(STEPS, rising)
    assert not p["collapse"] and p["diversification"] and not p["stabilization"]
    # a rule with a stricter rise threshold no longer sees THREE's rise as diversification
    assert not hd.detect_phases(STEPS, THREE, hd.PhaseRule(rise=5.0))["diversification"]


def test_phase_rule_bad_input():
    with pytest.raises(ValueError, match="drop must be in"):
        hd.PhaseRule(drop=1.5)
    with pytest.raises(ValueError, match="flat must be in"):
        hd.PhaseRule(flat=0)
    with pytest.raises(ValueError, match="at least 4 probes"):
        hd.detect_phases([0, 1], [1.0, 2.0])


# -- Assumption 1 and κ --------------------------------------------------------------------------


def test_assumption1_per_eigenvalue():
    # λ_max = 1; ε = 1e-3, τ = 1e-2: low valley eigenvalues in (1e-3, 1e-2)
    looped = np.array([1.0, 0.5, 0.004, 0.003, 0.002, 0.0015, 0.0, -0.1])
    single = np.array([1.0, 0.5, 0.005, 0.004, 0.0, 0.0, 0.0, -0.1])
    a = hd.assumption1(looped, single)
    assert (a["n_low_looped"], a["n_low_single"]) == (4, 2)
    assert a["more"] and a["componentwise"] and a["holds"] and a["frac_smaller"] == 1.0
    assert list(a["looped"]) == pytest.approx([0.0015, 0.002, 0.003, 0.004])
    b = hd.assumption1(looped, np.array([1.0, 0.5, 0.0012, 0.009, 0.0]))  # single's smallest is smaller
    assert b["more"] and not b["componentwise"] and not b["holds"] and b["frac_smaller"] == 0.5
    c = hd.assumption1(single, looped)
    assert not c["more"] and not c["holds"]


def test_h3_measures_over_a_window():
    # Looped: valley {1, 0.002}: κ = 500; Single: valley {1, 0.5}: κ = 2 (ε = 1e-3·λ_max)
    L = np.array([1.0, 0.002, 0.0015, 0.0, 0.0])
    S = np.array([1.0, 0.5, 0.0, 0.0, 0.0])
    recs = {"looped": record_of([L] * 13), "single": record_of([S] * 13)}
    h = hd.h3_measures(recs, [10, 20, 30])
    assert h["kappa_looped"] == pytest.approx(1 / 0.0015) and h["kappa_single"] == pytest.approx(2.0)
    assert h["kappa_larger_frac"] == 1.0 and h["n_low_looped"] == 2 and h["n_low_single"] == 0
    assert h["assumption1_frac"] == 1.0 and h["n_steps"] == 3
    assert hd.h3_holds(h)


# -- claims from records ----------------------------------------------------------------------------


def paper_like_runs():
    """Looped: three phases with many small valley eigenvalues; Single: collapse then flat, few."""
    looped, single = [], []
    for rL, rS in zip(THREE, NO_DIV):
        eL = spectrum_with_rank(rL)
        eL[:6] = [0.002, 0.003, 0.004, 0.005, 0.006, 0.007]  # low valley eigenvalues (λ_max = 1)
        eS = spectrum_with_rank(rS)
        eS[:2] = [0.008, 0.009]
        looped.append(eL)
        single.append(eS)
    return {0: {"looped": record_of(looped), "single": record_of(single)}}


def test_claims_hold_on_paper_like_runs_and_fail_when_swapped():
    runs = paper_like_runs()
    claims = hd.hessian_claims(runs, "ci")
    assert [c.id for c in claims] == ["H1", "H2", "H3"]
    assert all(c.holds for c in claims), [c.note for c in claims]
    swapped = {0: {"looped": runs[0]["single"], "single": runs[0]["looped"]}}
    got = {c.id: c for c in hd.hessian_claims(swapped, "ci")}
    assert not got["H1"].holds and "diversification" in got["H1"].note
    assert not got["H2"].holds and "rises" in got["H2"].note
    assert not got["H3"].holds and got["H3"].note


def test_sensitivity_grids_have_the_right_shapes():
    runs = paper_like_runs()
    g = hd.threshold_sensitivity(runs)
    assert g["holds"].shape == (len(hd.EPS_GRID), len(hd.TAU_GRID))
    assert np.isnan(g["holds"][-1, 0])  # τ ≤ ε cells are left out
    assert g["holds"][2, 1] == 1.0  # the default (ε, τ) = (1e-3, 1e-2)
    r = hd.rule_sensitivity(runs)
    assert r["H1"].shape == (4, 3) and r["H1"][1, 1] == 1.0


# -- the setup and one tiny run ----------------------------------------------------------------------


def test_preset_uses_the_sample_dynamics_settings():
    from loopvalley.experiments.sample_dynamics import settings

    for scale in ("ci", "small", "paper"):
        p, s = hd.preset(scale), settings(scale)
        assert p.markov == s.markov and p.n_train == s.n_train and p.n_loops == s.n_loops
        assert replace(p.model, d_model=s.model.d_model) == s.model
        assert p.train.lr == s.train.lr and p.train.max_steps == s.train.max_steps
        assert 4 * p.model.d_model**2 <= 4096  # the attention Hessian stays dense


def test_run_pair_end_to_end_tiny():
    p = hd.preset("ci")
    tiny = replace(
        p,
        markov=replace(p.markov, seq_len=8),
        model=replace(p.model, d_model=4, max_len=8),
        train=replace(p.train, max_steps=40, eval_every=10, probe_batch_size=8, warmup_steps=0),
        n_train=128,
        n_test=32,
        probe_steps=(0, 2, 5, 10, 20, 35),
    )
    runs = hd.run_pair(tiny, seed=0)
    for name in ("single", "looped"):
        rows = runs[name].probes["spectrum"]
        assert rows["step"] == [0, 2, 5, 10, 20, 35, 40] and len(rows["eigenvalues"][0]) == 64  # + the final call
    claims = hd.hessian_claims({0: runs}, "ci")
    assert all(isinstance(c.holds, bool) and c.measured for c in claims)
    acc = hd.final_accuracies(runs)
    for c in claims:  # every claim reports the runs' complex-split accuracies
        assert c.measured["complex_acc_looped"]["mean"] == pytest.approx(acc["looped"])
        assert c.measured["complex_acc_single"]["mean"] == pytest.approx(runs["single"].eval_acc["complex"][-1])


def test_preset_probes_densely_early_about_15_times():
    for scale in ("ci", "small", "paper"):
        p = hd.preset(scale)
        steps = np.array(p.probe_steps)
        assert steps[0] == 0 and steps[-1] == p.train.max_steps and 13 <= len(steps) <= 16
        assert (np.diff(steps) > 0).all()
        assert (steps <= p.train.max_steps // 12).sum() >= 6  # ≥ 6 spectra in the first 1/12 of training
        assert np.diff(steps)[-1] > 10 * np.diff(steps)[0]  # sparse late
    assert hd.final_accuracies(paper_like_runs()[0]) is None  # spectra-only records: no accuracies
