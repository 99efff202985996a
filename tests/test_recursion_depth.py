"""Recursion or depth: the arms (the named ones and the loop-count sweep's), equal compute, the mechanism
probe, the convergence judgement, and S4–S6 computed from planted records (a known Looped − Untied gap
gives that margin; bimodal margins get the sign interval where the rule says so; the sweep's verdict and
its "recursion or depth" sentence come from the numbers)."""

from dataclasses import replace

import numpy as np
import pytest
import torch

from loopvalley import rules as R
from loopvalley.looped.arms import ARMS, arm_config, build_arm, check_arm, train_jobs
from loopvalley.looped.compute import train_step_flops
from loopvalley.looped.mechanism import MechanismProbe, mechanism_scores
from loopvalley.looped.models import forward_flops, looped_attn, n_params, n_params_formula, single_attn, untied_attn
from loopvalley.looped.recursion_depth import (
    CORE_ARMS,
    LOOPS,
    SWEEP_ARMS_ALL,
    arm_costs,
    config,
    convergence_drift,
    convergence_table,
    final_value,
    first_step_above,
    induction_curve,
    is_sweep_seed,
    mean_step,
    measure_seed,
    records_by_seed,
    recursion_depth_claims,
    recursion_or_depth,
    references,
    run_seeds,
    shipped_runs,
    stable_end,
    sweep_arm,
    sweep_arms,
    sweep_table,
)
from loopvalley.looped.runs import markov_run
from loopvalley.records import save_records
from loopvalley.seeds import confirmatory, teaching
from loopvalley.stats import mean_interval, median_interval
from loopvalley.train import RunRecord, Trainer

torch.set_num_threads(1)
HORIZON, DECAY = 1500, 0.2  # the planted runs: WSD over 1500 steps, stable phase to step 1200
STEPS = np.arange(0, HORIZON + 1, 25)
REFS = {
    "simple": {"bayes": {"acc": 0.74}, "bigram": {"acc": 0.67}, "unigram": {"acc": 0.70}},
    "complex": {"bayes": {"acc": 0.80}, "bigram": {"acc": 0.73}, "unigram": {"acc": 0.41}},
}


def _tiny_run():
    run = markov_run("ci")
    return replace(run, train=replace(run.train, max_steps=6, eval_every=3, warmup_steps=2),
                   data=replace(run.data, n_train=128, n_test=32, markov=replace(run.data.markov, seq_len=12)),
                   model=replace(run.model, max_len=12, d_model=8))


# ----------------------------------------------------------------------------------------------
# The arms


def test_arms_are_the_models_they_name():
    run = markov_run("ci")
    cfg, g = run.model, lambda: torch.Generator().manual_seed(7)
    # single and looped are what they were: the shared layer applied 1 or n_loops times
    for arm, want in [("single", single_attn(cfg, g())), ("looped", looped_attn(cfg, run.looped_depth, g()))]:
        m = build_arm(arm, run, 7)
        assert m.share_weights and m.n_loops == want.n_loops
        assert all(torch.equal(a, b) for a, b in zip(m.state_dict().values(), want.state_dict().values()))
    for arm, depth in [("untied-2", 2), ("untied-3", 3), ("untied-4", 4), ("untied-6", 6)]:
        m = build_arm(arm, run, 7)
        want = untied_attn(cfg, depth, g())
        assert not m.share_weights and m.n_layers == m.n_loops == depth and len(m.layers) == depth
        assert all(torch.equal(a, b) for a, b in zip(m.state_dict().values(), want.state_dict().values()))
        # the same embedding and first layer as Single-Attn of the same seed
        s = build_arm("single", run, 7)
        assert torch.equal(m.embed.weight, s.embed.weight) and torch.equal(m.layers[0].attn.W_Q.weight, s.attn.W_Q.weight)
    # the sweep's looped arms: the same weights as Single-Attn, applied T times
    for T in (2, 4, 6):
        m = build_arm(f"looped-{T}", run, 7)
        assert m.share_weights and m.n_loops == T
        assert all(torch.equal(a, b) for a, b in zip(m.state_dict().values(), single_attn(cfg, g()).state_dict().values()))
    wide = build_arm("wide-single", run, 7)
    assert wide.share_weights and wide.n_loops == 1
    assert wide.cfg.n_heads == 3 * cfg.n_heads and wide.cfg.head_width == cfg.head_width
    assert set(ARMS) == {"single", "looped", "untied-2", "untied-3", "wide-single"}
    for bad in ("untied-0", "deep-3", "looped-", "looped-03"):
        with pytest.raises(ValueError, match="arm"):
            build_arm(bad, run, 0)
    assert check_arm("looped-12") == "looped-12"


def test_sweep_arms_name_T_layer_applications():
    assert [sweep_arm("looped", T) for T in LOOPS] == ["single", "looped-2", "looped", "looped-4", "looped-6"]
    assert [sweep_arm("untied", T) for T in LOOPS] == ["single", "untied-2", "untied-3", "untied-4", "untied-6"]
    assert set(SWEEP_ARMS_ALL) == set(CORE_ARMS) | set(sweep_arms()) and len(SWEEP_ARMS_ALL) == 10
    run = markov_run("ci")
    for T in LOOPS:
        assert arm_config(sweep_arm("looped", T), run).n_loops == arm_config(sweep_arm("untied", T), run).n_loops == T


def test_arm_costs_match_the_modules_and_equal_compute():
    run = markov_run("ci")
    costs = arm_costs(run, SWEEP_ARMS_ALL)
    for arm, c in costs.items():
        assert c["n_params"] == n_params(build_arm(arm, run, 0)) == n_params_formula(arm_config(arm, run))
    d = run.model.d_model
    # Untied-L has L× the layer parameters (4·d² + 2d each, with the pre-LN); wide is Untied-3 less 2 LNs
    layer = 4 * d * d + 2 * d
    assert costs["untied-3"]["n_params"] - costs["single"]["n_params"] == 2 * layer
    assert costs["untied-6"]["n_params"] - costs["single"]["n_params"] == 5 * layer
    assert costs["untied-3"]["n_params"] - costs["wide-single"]["n_params"] == 2 * (2 * d)
    # equal steps = equal compute: Looped-T and Untied-T cost the same per step at every T (and the wide layer
    # what Looped-3 costs); Looped-T has Single-Attn's parameters at every T
    f = {a: c["train_flops_per_step"] for a, c in costs.items()}
    T_, B = run.data.markov.seq_len, run.train.batch_size
    for T in LOOPS:
        lp, ut = sweep_arm("looped", T), sweep_arm("untied", T)
        assert f[lp] == f[ut] == train_step_flops(arm_config(ut, run), T, B, T_) == 3 * forward_flops(arm_config(lp, run), T, B, T_)
        assert costs[lp]["n_params"] == costs["single"]["n_params"]
    assert f["looped"] == f["untied-3"] == f["wide-single"]
    assert f["single"] < f["untied-2"] < f["untied-3"] < f["untied-4"] < f["untied-6"]


def test_config_trains_to_a_wsd_horizon():
    for scale in ("ci", "small"):
        cfg = config(scale)
        t = cfg.run.train
        assert t.schedule == "wsd" and 0 < t.decay_frac < 1 and cfg.stable_steps < t.max_steps
        assert cfg.n_sweep_seeds <= cfg.n_seeds
    assert config("small").n_seeds >= 10 and config("small").n_sweep_seeds >= 3
    capped = config("small", max_steps=100)
    assert capped.run.train.max_steps == 100 and capped.run.train.schedule == "wsd"


# ----------------------------------------------------------------------------------------------
# The mechanism probe and the jobs


def test_mechanism_probe_records_the_scores_over_training():
    run = _tiny_run()
    data = run.data.sample(0)
    x = data.test["complex"][:8]
    probe = MechanismProbe(x, every=3)
    trainer = Trainer(build_arm("untied-3", run, 0), data.train, data.eval_sets, run.train, probes=[probe])
    record = trainer.run()
    steps, ind = record.probe("mechanism", "induction")
    assert steps.tolist() == record.eval_step == [0, 3, 6] and ind.shape == (3, 3, 1)
    assert trainer.model.training  # the probe restores training mode
    # the last row is the trained model's scores
    want = mechanism_scores(trainer.model.eval(), x)
    assert np.allclose(ind[-1], want["induction"].numpy(), atol=1e-6)
    assert np.allclose(record.probe("mechanism", "previous_token")[1][-1], want["previous_token"].numpy(), atol=1e-6)
    assert record.probes["mechanism"]["induction_chance"][0] == pytest.approx(want["induction_chance"])
    s, best = induction_curve(record)
    assert np.allclose(best, ind.reshape(3, -1).max(1))
    with pytest.raises(ValueError, match="every"):
        MechanismProbe(x, every=0)
    with pytest.raises(ValueError, match="tokens"):
        MechanismProbe(x.double(), every=1)


def test_one_job_alone_equals_it_among_others_and_counts_flops():
    run = _tiny_run()
    seeds = [0, 1]
    # seed 0 also trains a sweep arm: a seed may train more arms than another
    out = run_seeds(seeds, run, arms=("single", "untied-2"), probe_sequences=4, workers=1, sweep={0: ["looped-2"]})
    assert [d.seed for d in out] == seeds and list(out[0].records) == ["single", "untied-2", "looped-2"]
    assert list(out[1].records) == ["single", "untied-2"]
    alone = run_seeds([1], run, arms=("untied-2",), probe_sequences=4, workers=1)[0]
    record, state = alone.records["untied-2"], alone.states["untied-2"]
    assert record.eval_acc == out[1].records["untied-2"].eval_acc
    assert all(torch.equal(state[k], v) for k, v in out[1].states["untied-2"].items())
    # the FLOP counter saw 6 steps at Untied-2's cost, the same as Looped-2's
    c = arm_costs(run, ["untied-2", "looped-2"])
    assert record.probe("flops", "flops")[1][-1] == pytest.approx(6 * c["untied-2"]["train_flops_per_step"])
    assert out[0].records["looped-2"].probe("flops", "flops")[1][-1] == pytest.approx(record.probe("flops", "flops")[1][-1])
    assert out[1].model("untied-2", run).n_layers == 2
    assert record.meta["cpu_seconds"] > 0
    # train_jobs hands back the seeds in the order given, arms in the order given
    got = train_jobs({1: ("untied-2",), 0: ("single",)}, run)
    assert [r.seed for r in got] == [1, 0] and got[0].records["untied-2"].eval_acc == record.eval_acc


# ----------------------------------------------------------------------------------------------
# Window helpers and the convergence judgement


def test_shipped_records_round_trip(tmp_path):
    recs = [_seed(), _seed(d=0.01, sweep=True)]
    flat = {f"{seed}/{a}": r for seed, rs in zip((1001, 1000), recs) for a, r in rs.items()}
    save_records(tmp_path / "small" / "records" / "recursion-or-depth.json", flat)
    seeds, got = shipped_runs("small", root=tmp_path)
    assert seeds == [1000, 1001] and list(got[1]) == list(CORE_ARMS)
    assert list(got[0]) == list(SWEEP_ARMS_ALL) and is_sweep_seed(got[0]) and not is_sweep_seed(got[1])
    assert got[1]["looped"].eval_acc["complex"] == pytest.approx(recs[0]["looped"].eval_acc["complex"])
    assert records_by_seed({"3/looped": recs[0]["looped"]}) == ([3], [{"looped": recs[0]["looped"]}])
    assert shipped_runs("paper", root=tmp_path) is None


def test_first_step_above_and_final_value():
    steps = np.arange(0, 101, 10)
    acc = np.array([0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1], float)
    assert first_step_above(steps, acc, 0.5) == 40
    assert first_step_above(steps, acc, 0.5, half_width=10) == 40  # window (0 + 1 + 1)/3 ≥ 0.5 at 40
    assert first_step_above(steps, acc, 2.0) is None
    assert final_value(steps, np.arange(11.0)) == pytest.approx(9.5)  # steps 90, 100 in the last 10 %


def test_convergence_drift_is_the_move_over_the_last_fifth_of_the_stable_phase():
    steps = np.arange(0, 1501, 10).astype(float)
    # a ramp of slope r per step: the smoothed curve moves r · 0.2 · 1200 over the last 20 % of the stable phase
    r = 0.01
    assert convergence_drift(steps, r * steps, 1200) == pytest.approx(r * 240)
    # a flat curve has not moved; whatever the decay does after step 1200 is not read
    flat = np.where(steps <= 1200, 70.0, 90.0)
    assert convergence_drift(steps, flat, 1200) == pytest.approx(0.0)
    # a curve still climbing at the end of the stable phase is positive, one falling negative
    assert convergence_drift(steps, -r * steps, 1200) < 0


def test_stable_end_reads_the_schedule():
    rec = _record(_sat(0.5))
    assert stable_end(rec) == 1200
    rec.meta["train_cfg"] = {"schedule": "warmup_constant"}
    assert stable_end(rec) == HORIZON


# ----------------------------------------------------------------------------------------------
# The claims from planted records


def _sat(level, rate=40):
    return level * (1 - np.exp(-STEPS / rate)) + 0.33 * np.exp(-STEPS / rate)


def _climb(final, start, plateau=0.53, rate=60):
    """Plateau at ``plateau``, then from ``start`` a climb towards ``final``."""
    return np.where(STEPS < start, _sat(plateau), plateau + (final - plateau) * (1 - np.exp(-(STEPS - start) / rate)))


def _mech(ind_level, start, L):
    """Mechanism rows: the last loop's induction score rises from 0.4 to ``ind_level`` at ``start``."""
    ind = np.full((len(STEPS), L, 1), 0.4)
    ind[:, -1, 0] = np.where(STEPS < start, 0.4, ind_level)
    prev = np.full((len(STEPS), L, 1), 0.13)
    prev[:, 0, 0] = np.where(STEPS < start - 50, 0.13, 0.9)
    n = len(STEPS)
    return {"step": STEPS.tolist(), "induction": ind.tolist(), "previous_token": prev.tolist(),
            "induction_chance": [0.4] * n, "previous_token_chance": [0.13] * n}


def _record(complex_, n_params=100, mech=None):
    meta = {"references": REFS, "n_params": n_params, "total_steps": HORIZON, "model_cfg": {"vocab_size": 3},
            "train_cfg": {"schedule": "wsd", "decay_frac": DECAY, "max_steps": HORIZON}}
    return RunRecord(meta=meta, eval_step=STEPS.tolist(),
                     eval_acc={"simple": list(_sat(0.70)), "complex": list(complex_)},
                     probes={"mechanism": mech} if mech else {})


def _seed(looped=0.70, untied3=0.72, wide=0.555, d=0.0, looped_start=250, untied_start=250, sweep=False,
          sweep_gap=None):
    """One planted seed: the deep arms climb from the one-layer plateau after ``*_start``; wide Single sits
    at ``wide``; everything shifted by ``d``. ``sweep`` adds Looped-T and Untied-T for T = 2, 4, 6, Looped-T
    ending ``sweep_gap[T]`` above Untied-T (default: the T = 3 gap)."""
    out = {
        "single": _record(_sat(0.53) + d, 5376, _mech(0.4, 10_000, 1)),
        "looped": _record(_climb(looped + d, looped_start), 5376, _mech(0.9, looped_start - 25, 3)),
        "untied-3": _record(_climb(untied3 + d, untied_start), 13696, _mech(0.9, untied_start - 25, 3)),
        "wide-single": _record(_sat(wide) + d, 13568, _mech(0.45, 10_000, 1)),
    }
    if sweep:
        gap = sweep_gap or {}
        for T in (2, 4, 6):
            g = gap.get(T, looped - untied3)
            out[f"looped-{T}"] = _record(_climb(0.71 + g / 2 + d, looped_start), 5376, _mech(0.9, 225, T))
            out[f"untied-{T}"] = _record(_climb(0.71 - g / 2 + d, untied_start), 5376 + (T - 1) * 4160, _mech(0.9, 225, T))
        out = {a: out[a] for a in SWEEP_ARMS_ALL}
    return out


def test_measure_seed_reads_the_planted_timings_and_convergence():
    m = measure_seed(_seed())
    assert m["plateau"] == pytest.approx(53.0, abs=0.1) and m["stable_end"] == 1200 and m["horizon"] == HORIZON
    assert m["uniform_complex"] == pytest.approx(100 / 3) and m["bigram_complex"] == pytest.approx(73.0)
    lp = m["arms"]["looped"]
    assert lp["complex"] == pytest.approx(70.0, abs=0.5) and 200 <= lp["escape_step"] <= 300 and 250 < lp["half_step"] < 400
    assert lp["induction_step"] == 225 and lp["induction_lead"] == lp["half_step"] - 225
    assert lp["induction_final"] == pytest.approx(0.9) and lp["previous_token_final"] == pytest.approx(0.9)
    # every planted curve has settled long before step 1200
    assert all(r["converged"] and abs(r["drift"]) < 1e-3 for r in m["arms"].values())
    # Single and wide never leave the plateau, and no induction head forms in one layer
    for arm in ("single", "wide-single"):
        assert m["arms"][arm]["half_step"] is None and m["arms"][arm]["induction_step"] is None
    assert m["arms"]["single"]["escape_step"] is None
    # an arm still climbing at the end of the stable phase has not converged
    late = measure_seed(_seed(untied_start=1150))["arms"]["untied-3"]
    assert not late["converged"] and late["drift"] > 0.5
    # read at the end of the stable phase instead: 1200 steps
    assert measure_seed(_seed(), horizon="stable")["horizon"] == 1200


def test_mean_step_over_the_seeds_that_have_one():
    per = [measure_seed(_seed()), measure_seed(_seed(untied3=0.53))]  # Untied-3 climbs on seed 0 only
    h0 = per[0]["arms"]["untied-3"]["half_step"]
    assert per[1]["arms"]["untied-3"]["half_step"] is None and h0 is not None
    assert mean_step(per, "untied-3", "half_step") == h0
    assert mean_step(per, "untied-3", "half_step", all_seeds=True) is None
    assert mean_step(per, "single", "half_step") is None
    assert mean_step(per, "looped", "induction_step", all_seeds=True) == 225


def _claims(recs, seeds=None):
    return {c.id: c for c in recursion_depth_claims(recs, "small", seeds or confirmatory(len(recs)))}


def test_a_known_gap_gives_that_margin():
    # recursion beats depth here: Looped 74 vs Untied-3 71, both far above the wide layer, Looped leaves 100 steps earlier
    recs = [_seed(looped=0.74, untied3=0.71, d=d, untied_start=350) for d in (0.0, 0.004, -0.003, 0.002)]
    c = _claims(recs)
    assert set(c) == {"S4", "S5a", "S5b"}  # no sweep arms: no S6
    assert c["S4"].verdict == c["S5a"].verdict == c["S5b"].verdict == "holds"
    assert c["S5a"].margin == pytest.approx(3.0, abs=0.05)
    assert 90 <= c["S5b"].margin <= 110 and c["S5b"].unit == "steps"  # 100 steps, up to the climbs' shapes
    assert c["S4"].measured["costs"]["untied-3"]["n_params_counted"] == 13696
    assert c["S5b"].measured["induction_step"]["looped"]["mean"] == 225
    assert c["S5a"].measured["convergence"]["all_converged"]
    assert "recursion beyond depth" in c["S5a"].note and "T = 3: +3.00" in c["S5a"].note
    # every declared alternative is judged, and the main analysis reads 10 % windows at the WSD end
    keys = {a["key"] for a in c["S5a"].alternatives}
    assert {"final_frac", "horizon", "converged", "seeds"} <= keys


def test_claims_fail_without_the_phenomenon():
    # no depth effect (the wide layer as good as the deep ones), Untied-3 above Looped and leaving earlier
    recs = [_seed(looped=0.66, untied3=0.72, wide=0.70, d=d, looped_start=400) for d in (0.0, 0.004, -0.003)]
    c = _claims(recs)
    assert c["S4"].verdict == c["S5a"].verdict == c["S5b"].verdict == "fails"
    assert c["S5a"].margin == pytest.approx(-6.0, abs=0.1) and c["S5a"].ci_high < 0
    assert "depth, not recursion" in c["S5a"].note


def test_mixed_seeds_are_inconclusive():
    good, bad = _seed(looped=0.74, untied3=0.70), _seed(looped=0.70, untied3=0.74, wide=0.72)
    c = _claims([good, bad, _seed(looped=0.745, untied3=0.70, d=0.01)])
    assert c["S4"].verdict == "inconclusive" and c["S5a"].verdict == "inconclusive"
    assert c["S5a"].ci_low < 0 < c["S5a"].ci_high
    # one part failing on every seed fails S4 as a whole (the weakest part decides)
    recs = [_seed(looped=0.58, untied3=0.72, d=d) for d in (0.0, 0.003, -0.002)]
    s4 = _claims(recs)["S4"]
    assert s4.verdict == "fails" and "Looped" in s4.deciding_part


def test_unconverged_seeds_are_flagged_and_can_be_left_out():
    # Untied-3 still climbing at the end of the stable phase on one seed
    recs = [_seed(looped=0.72, untied3=0.73, d=d) for d in (0.0, 0.003, -0.002, 0.001)]
    recs.append(_seed(looped=0.72, untied3=0.73, untied_start=1150))
    c = _claims(recs)["S5a"]
    conv = c.measured["convergence"]
    assert conv["arms"]["untied-3"]["converged"] == [True, True, True, True, False] and not conv["all_converged"]
    # the alternative 'converged seeds only' judges the four converged seeds
    alt = [a for a in c.alternatives if a["key"] == "converged" and a["value"] == 0.5][0]
    assert alt["margin"] == pytest.approx(-1.0, abs=0.05)


@pytest.fixture
def sign_rules(use_rules):
    """The rules table with S5a and S5b judged by the sign-test interval (as a rule chooses for visibly
    bimodal margins)."""
    text = R.RULES_FILE.read_text(encoding="utf-8")
    for cid in ("S5a", "S5b"):
        head = text.index(f"[{cid}]")
        i = text.index('interval = "t"', head)
        text = text[:i] + 'interval = "sign"' + text[i + len('interval = "t"'):]
    return use_rules(text)


def _bimodal():
    """Two clusters of seeds: Looped 7 points ahead where Untied-3 climbed late, 2 behind where it had finished."""
    late = [_seed(looped=0.72, untied3=0.65, untied_start=600, d=d) for d in (0.0, 0.002, -0.001, 0.003)]
    done = [_seed(looped=0.72, untied3=0.74, untied_start=260, d=d) for d in (0.0, 0.001, -0.002, 0.002, -0.001, 0.0)]
    return late + done


@pytest.mark.parametrize("cid", ["S5a", "S5b"])
def test_the_claims_take_the_rules_interval(cid):
    c = _claims(_bimodal())[cid]
    margins = c.parts[0]["per_seed"]
    want = median_interval(margins) if R.rule(cid).interval == "sign" else mean_interval(margins)
    assert (c.ci_low, c.ci_high) == pytest.approx((want[1], want[2]))
    assert ("sign-test" in c.interval) == (R.rule(cid).interval == "sign")


@pytest.mark.parametrize("cid", ["S5a", "S5b"])
def test_bimodal_margins_get_the_sign_interval_where_the_rule_says_so(sign_rules, cid):
    c = _claims(_bimodal())[cid]
    margins = c.parts[0]["per_seed"]
    if cid == "S5a":  # the planted clusters: +7 on four seeds, −2 on six
        assert sorted(round(m) for m in margins) == [-2] * 6 + [7] * 4
    med, lo, hi, _ = median_interval(margins)
    assert "sign-test" in c.interval and (c.margin, c.ci_low, c.ci_high) == pytest.approx((med, lo, hi))
    # the Student-t interval of the same margins would be centred on their mean instead
    assert c.margin != pytest.approx(mean_interval(margins)[0])


def test_the_sweep_claim_and_its_sentence_are_computed():
    # Untied-T ends above Looped-T at every T by a known gap: S6's parts are that gap − the threshold
    gap = {2: -2.0, 3: -1.5, 4: -3.0, 6: -2.5}
    recs = [_seed(looped=0.71 - 0.0075, untied3=0.71 + 0.0075, d=d, sweep=True, sweep_gap={T: g / 100 for T, g in gap.items()})
            for d in (0.0, 0.002, -0.003, 0.001)]
    c = _claims(recs)["S6"]
    thr = R.rule("S6").main["threshold"]
    by_key = {p["name"].split(" ")[0]: p for p in c.parts}
    for T, g in gap.items():
        assert by_key[f"Looped-{T}"]["mean"] == pytest.approx(g - thr, abs=0.05)
    assert c.verdict == "fails" and c.n_seeds == 4
    assert "Untied-T ends above Looped-T at every loop count measured (T = 2, 3, 4, 6): depth, not recursion" in c.note
    # the 'matches or beats' reading (threshold −1) is judged too
    assert {a["value"] for a in c.alternatives if a["key"] == "threshold"} == {-1.0, 1.0}
    table = sweep_table([measure_seed(r) for r in recs])
    assert set(table) == {"looped", "untied"} and sorted(table["looped"]) == list(LOOPS)
    assert table["looped"][1] == table["untied"][1]  # T = 1 is Single for both
    assert [round(np.mean(table["looped"][T]) - np.mean(table["untied"][T]), 1) for T in (2, 3, 4, 6)] == [-2.0, -1.5, -3.0, -2.5]
    # planted records carry no FLOP counter and no run was given: the ratio is unknown, never made up
    assert all(v is None for v in c.measured["train_flops_per_step_ratio_looped_vs_untied"].values())
    # recursion ahead at every T: S6 holds and the sentence says so
    up = [_seed(looped=0.72, untied3=0.70, d=d, sweep=True) for d in (0.0, 0.002, -0.003)]
    c_up = _claims(up)["S6"]
    assert c_up.verdict == "holds" and "recursion beyond depth" in c_up.note
    # the sweep ran on fewer seeds than S4: only the seeds with every sweep arm count
    short = recs[:3] + [_seed()]
    c2 = _claims(short)["S6"]
    assert c2.n_seeds == 3 and "3 of the 4 seeds" in c2.measured["note_on_seeds"]


def test_recursion_or_depth_says_which_side_the_data_support():
    up, down, zero = [1.0, 1.2, 0.9, 1.1], [-1.0, -1.2, -0.9, -1.1], [1.0, -1.0, 0.5, -0.5]
    assert "recursion beyond depth" in recursion_or_depth({2: up, 3: up})
    assert recursion_or_depth({2: down, 4: down}).startswith("Untied-T ends above Looped-T at every loop count measured")
    assert "cannot tell recursion from depth apart" in recursion_or_depth({2: zero, 3: zero})
    assert "lean to depth" in recursion_or_depth({2: down, 3: zero})
    assert "lean to recursion" in recursion_or_depth({2: up, 3: zero})
    assert "neither" in recursion_or_depth({2: up, 3: down})
    # the numbers are printed, not typed
    assert "T = 2: +1.05" in recursion_or_depth({2: up})


def test_references_are_the_records_own():
    refs = references([_seed(), _seed()])
    assert refs == pytest.approx({"uniform": 100 / 3, "unigram": 41.0, "bigram": 73.0, "bayes": 80.0})


def test_convergence_table_per_arm_and_seed():
    per = [measure_seed(_seed()), measure_seed(_seed(untied_start=1150))]
    t = convergence_table(per, [1000, 1001], CORE_ARMS)
    assert t["seeds"] == [1000, 1001] and t["tol"] == 0.5 and list(t["arms"]) == list(CORE_ARMS)
    assert t["arms"]["untied-3"]["converged"] == [True, False] and t["arms"]["single"]["escaped"] == [False, False]


def test_claims_refuse_exploratory_seeds():
    with pytest.raises(ValueError, match="exploratory"):
        recursion_depth_claims([_seed(), _seed(d=0.01)], "small", [0, 1])
    # teaching seeds are not confirmatory: a notebook's numbers, not the ledger's
    c = recursion_depth_claims([_seed(), _seed(d=0.01)], "ci", teaching(2))
    assert all(x.teaching and not x.confirmatory for x in c)
