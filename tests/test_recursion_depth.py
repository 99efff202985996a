"""Recursion or depth: the new arms, the mechanism probe, and S4–S5 computed from planted records
(hold on the planted phenomenon, fail on its absence, inconclusive on mixed seeds)."""

from dataclasses import replace

import numpy as np
import pytest
import torch

from loopvalley.looped.arms import ARMS, arm_config, build_arm
from loopvalley.looped.mechanism import MechanismProbe, mechanism_scores
from loopvalley.looped.models import forward_flops, looped_attn, n_params, n_params_formula, single_attn, untied_attn
from loopvalley.looped.recursion_depth import (
    arm_costs,
    final_value,
    first_step_above,
    induction_curve,
    mean_step,
    measure_seed,
    records_by_seed,
    recursion_depth_claims,
    run_seeds,
    shipped_runs,
)
from loopvalley.looped.runs import markov_run
from loopvalley.records import save_records
from loopvalley.seeds import confirmatory
from loopvalley.train import RunRecord, Trainer

torch.set_num_threads(1)
STEPS = np.arange(0, 601, 25)
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
    for arm, depth in [("untied-2", 2), ("untied-3", 3)]:
        m = build_arm(arm, run, 7)
        want = untied_attn(cfg, depth, g())
        assert not m.share_weights and m.n_layers == m.n_loops == depth and len(m.layers) == depth
        assert all(torch.equal(a, b) for a, b in zip(m.state_dict().values(), want.state_dict().values()))
        # the same embedding and first layer as Single-Attn of the same seed
        s = build_arm("single", run, 7)
        assert torch.equal(m.embed.weight, s.embed.weight) and torch.equal(m.layers[0].attn.W_Q.weight, s.attn.W_Q.weight)
    wide = build_arm("wide-single", run, 7)
    assert wide.share_weights and wide.n_loops == 1
    assert wide.cfg.n_heads == 3 * cfg.n_heads and wide.cfg.head_width == cfg.head_width
    assert set(ARMS) == {"single", "looped", "untied-2", "untied-3", "wide-single"}
    with pytest.raises(ValueError, match="arm"):
        build_arm("untied-4", run, 0)


def test_arm_costs_match_the_modules_and_equal_compute():
    run = markov_run("ci")
    costs = arm_costs(run)
    for arm, c in costs.items():
        assert c["n_params"] == n_params(build_arm(arm, run, 0)) == n_params_formula(arm_config(arm, run))
    d = run.model.d_model
    # Untied-L has L× the layer parameters (4·d² + 2d each, with the pre-LN); wide is Untied-3 less 2 LNs
    layer = 4 * d * d + 2 * d
    assert costs["untied-3"]["n_params"] - costs["single"]["n_params"] == 2 * layer
    assert costs["untied-3"]["n_params"] - costs["wide-single"]["n_params"] == 2 * (2 * d)
    # equal steps = equal compute: Looped-3, Untied-3 and the wide layer cost the same per step
    f = {a: c["train_flops_per_step"] for a, c in costs.items()}
    assert f["looped"] == f["untied-3"] == f["wide-single"]
    T, B = run.data.markov.seq_len, run.train.batch_size
    assert f["looped"] == 3 * forward_flops(arm_config("untied-3", run), 3, B, T)
    assert f["single"] < f["untied-2"] < f["untied-3"]


# ----------------------------------------------------------------------------------------------
# The mechanism probe


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
    out = run_seeds(seeds, run, arms=("single", "untied-2"), probe_sequences=4, workers=1)
    assert [d.seed for d in out] == seeds and list(out[0].records) == ["single", "untied-2"]
    alone = run_seeds([1], run, arms=("untied-2",), probe_sequences=4, workers=1)[0]
    record, state = alone.records["untied-2"], alone.states["untied-2"]
    assert record.eval_acc == out[1].records["untied-2"].eval_acc
    assert all(torch.equal(state[k], v) for k, v in out[1].states["untied-2"].items())
    # the FLOP counter saw 6 steps at Untied-2's cost
    c = arm_costs(run, ["untied-2"])["untied-2"]["train_flops_per_step"]
    assert record.probe("flops", "flops")[1][-1] == pytest.approx(6 * c)
    assert out[1].model("untied-2", run).n_layers == 2


# ----------------------------------------------------------------------------------------------
# Window helpers


def test_shipped_records_round_trip(tmp_path):
    recs = [_seed(), _seed(d=0.01)]
    flat = {f"{seed}/{a}": r for seed, rs in zip((1001, 1000), recs) for a, r in rs.items()}
    save_records(tmp_path / "small" / "records" / "recursion-or-depth.json", flat)
    seeds, got = shipped_runs("small", root=tmp_path)
    assert seeds == [1000, 1001] and list(got[0]) == ["single", "looped", "untied-2", "untied-3", "wide-single"]
    assert got[0]["looped"].eval_acc["complex"] == pytest.approx(recs[1]["looped"].eval_acc["complex"])
    assert records_by_seed({"3/looped": recs[0]["looped"]}) == ([3], [{"looped": recs[0]["looped"]}])
    assert shipped_runs("paper", root=tmp_path) is None


def test_first_step_above_and_final_value():
    steps = np.arange(0, 101, 10)
    acc = np.array([0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1], float)
    assert first_step_above(steps, acc, 0.5) == 40
    assert first_step_above(steps, acc, 0.5, half_width=10) == 40  # window (0 + 1 + 1)/3 ≥ 0.5 at 40
    assert first_step_above(steps, acc, 2.0) is None
    assert final_value(steps, np.arange(11.0)) == pytest.approx(9.5)  # steps 90, 100 in the last 10 %


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
    return RunRecord(meta={"references": REFS, "n_params": n_params}, eval_step=STEPS.tolist(),
                     eval_acc={"simple": list(_sat(0.70)), "complex": list(complex_)},
                     probes={"mechanism": mech} if mech else {})


def _seed(looped=0.70, untied3=0.72, untied2=0.71, wide=0.56, d=0.0):
    """One planted seed: the deep arms climb from the one-layer plateau after step 250; wide
    Single sits at ``wide``; everything shifted by ``d``."""
    return {
        "single": _record(_sat(0.53) + d, 5376, _mech(0.4, 10_000, 1)),
        "looped": _record(_climb(looped + d, 250), 5376, _mech(0.9, 225, 3)),
        "untied-2": _record(_climb(untied2 + d, 300), 9536, _mech(0.9, 275, 2)),
        "untied-3": _record(_climb(untied3 + d, 250), 13696, _mech(0.9, 225, 3)),
        "wide-single": _record(_sat(wide) + d, 13568, _mech(0.45, 10_000, 1)),
    }


def test_measure_seed_reads_the_planted_timings():
    m = measure_seed(_seed())
    assert m["plateau"] == pytest.approx(53.0, abs=0.1)
    lp = m["arms"]["looped"]
    assert lp["complex"] == pytest.approx(70.0, abs=0.5) and lp["escape_step"] > 250 and 250 < lp["half_step"] < 400
    assert lp["induction_step"] == 225 and lp["induction_lead"] == lp["half_step"] - 225
    assert lp["induction_final"] == pytest.approx(0.9) and lp["previous_token_final"] == pytest.approx(0.9)
    # Single and wide never leave the plateau, and no induction head forms in one layer
    for arm in ("single", "wide-single"):
        assert m["arms"][arm]["half_step"] is None and m["arms"][arm]["induction_step"] is None
    assert m["arms"]["single"]["escape_step"] is None


def test_mean_step_over_the_seeds_that_have_one():
    per = [measure_seed(_seed()), measure_seed(_seed(untied2=0.53))]  # Untied-2 climbs on seed 0 only
    h0 = per[0]["arms"]["untied-2"]["half_step"]
    assert per[1]["arms"]["untied-2"]["half_step"] is None and h0 is not None
    assert mean_step(per, "untied-2", "half_step") == h0
    assert mean_step(per, "untied-2", "half_step", all_seeds=True) is None
    assert mean_step(per, "single", "half_step") is None
    assert mean_step(per, "looped", "induction_step", all_seeds=True) == 225


def test_claims_hold_on_the_planted_phenomenon():
    # recursion beats depth here: Looped 74 vs Untied-3 71, both far above the wide layer
    recs = [_seed(looped=0.74, untied3=0.71, d=d) for d in (0.0, 0.004, -0.003, 0.002)]
    s4, s5 = recursion_depth_claims(recs, "small", confirmatory(4))
    assert (s4.id, s4.verdict, s5.id, s5.verdict) == ("S4", "holds", "S5", "holds")
    assert s5.margin == pytest.approx(3.0, abs=0.3)
    assert s4.measured["costs"]["untied-3"]["n_params_counted"] == 13696
    assert s5.measured["induction_step"]["looped"]["mean"] == 225


def test_claims_fail_without_the_phenomenon():
    # no depth effect (the wide layer as good as the deep ones) and Untied-3 above Looped
    recs = [_seed(looped=0.66, untied3=0.72, wide=0.70, d=d) for d in (0.0, 0.004, -0.003)]
    s4, s5 = recursion_depth_claims(recs, "small", confirmatory(3))
    assert s4.verdict == "fails" and s5.verdict == "fails"
    assert s5.margin == pytest.approx(-6.0, abs=0.3) and s5.ci_high < 0
    assert "Untied-3 ends" in s5.note


def test_mixed_seeds_are_inconclusive():
    good, bad = _seed(looped=0.74, untied3=0.70), _seed(looped=0.70, untied3=0.74, wide=0.72)
    s4, s5 = recursion_depth_claims([good, bad, _seed(looped=0.745, untied3=0.70, d=0.01)], "small", confirmatory(3))
    assert s4.verdict == "inconclusive" and s5.verdict == "inconclusive"
    assert s5.ci_low < 0 < s5.ci_high
    # one part failing on every seed fails S4 as a whole (the weakest part decides)
    recs = [_seed(looped=0.58, untied3=0.72, d=d) for d in (0.0, 0.003, -0.002)]
    s4 = recursion_depth_claims(recs, "small", confirmatory(3))[0]
    assert s4.verdict == "fails" and "Looped" in s4.deciding_part


def test_claims_refuse_exploratory_seeds():
    with pytest.raises(ValueError, match="exploratory"):
        recursion_depth_claims([_seed(), _seed(d=0.01)], "small", [0, 1])
