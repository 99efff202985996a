"""SHIFT: the criterion on synthetic curves, the switch keeps θ bit for bit, the switch policies, the
WSD horizon, continuations from snapshots equal direct runs, FLOPs against a hand count, the F2
measurement and bound against closed forms, Theorem 3's diagnostics on known matrices and in the
small-weight limit, the experiment's policy rule, bad input."""

import math
from dataclasses import replace

import numpy as np
import pytest
import torch

from loopvalley.looped.compute import FlopCounter, equal_flop_steps, flops_at_evals, train_step_flops
from loopvalley.looped.models import ModelConfig, build_model, forward_flops
from loopvalley.shift.controller import (
    SWITCH_POLICIES,
    ShiftConfig,
    ShiftController,
    Snapshots,
    Theorem3Probe,
    cosine,
    criterion_trace,
    diagonal_dominance,
    flop_ratio_bound,
    gradient_alignment,
    policy_settings,
    probe_steps,
    psd_ness,
    resume_trainer,
    rewarmed,
    shift_lr,
    shift_trainer,
    switch_criterion,
    switch_step_of,
    with_policy,
    wsd_lr,
)
from loopvalley.train import TrainConfig, Trainer, next_token_loss

torch.set_num_threads(1)


def _policy_of(cfg: ShiftConfig) -> str:
    """The name of ``cfg``'s switch policy, read back from its fields (the inverse of with_policy)."""
    if cfg.optimizer_state == "keep":
        return "keep" if cfg.rewarmup_steps == 0 else "keep+rewarmup"
    return "reset" if cfg.rewarmup_steps == 0 else "reset+rewarmup"


def _loops_at_evals(record) -> list:
    """The model's loops at each evaluation point, from the record's FlopCounter rows."""
    steps, loops = record.probe("flops", "n_loops")
    at = dict(zip(steps.tolist(), loops.tolist()))
    return [at.get(int(s)) for s in record.eval_step]


def _plateau(n_fall=10, n_flat=20, noise=0.0, seed=0):
    """Loss falling 10 % a check, then flat; coherence 0.9 while falling, 0.1 on the plateau."""
    rng = np.random.default_rng(seed)
    loss = [1.0 * 0.9**t for t in range(n_fall)] + [0.9 ** (n_fall - 1)] * n_flat
    loss = np.asarray(loss) * (1 + noise * rng.standard_normal(len(loss)))
    coh = [0.9] * n_fall + [0.1] * n_flat
    return {"loss": loss, "coherence": coh, "step": [25 * (t + 1) for t in range(len(loss))]}


@pytest.mark.parametrize("W", [1, 2, 5, 10])
def test_fires_exactly_after_W_patient_checks(W):
    h = _plateau()
    # the first flat check is index 10 (r_10 = 0); it is the W-th stalled one at index 9 + W
    assert switch_criterion({k: h[k] for k in ("loss", "coherence")}, 0.01, 0.2, W) == 9 + W
    assert switch_criterion(h, 0.01, 0.2, W) == h["step"][9 + W]
    trace = criterion_trace(h, 0.01, 0.2, W)
    assert trace["count"][9 + W] == W and trace["count"][9] == 0


def test_never_fires_on_a_still_improving_curve():
    loss = 1.0 / np.sqrt(1 + np.arange(200))  # r_t > 0.2 % for every t < 200
    h = {"loss": loss, "coherence": np.full(200, 0.05)}
    assert criterion_trace(h, 1e-3, 0.2, 3)["r"][1:].min() > 1e-3
    assert switch_criterion(h, 1e-3, 0.2, 3) is None


def test_coherence_gate_blocks_the_switch():
    h = _plateau()
    h["coherence"] = [0.9] * len(h["loss"])  # steps still agree: the iterate is drifting, not hopping
    assert switch_criterion(h, 0.01, 0.2, 3) is None
    assert switch_criterion(h, 0.01, math.inf, 3) == h["step"][12]  # δ2 = ∞: loss plateau only


def test_an_interrupted_plateau_resets_the_counter():
    h = _plateau(n_flat=10)
    loss = list(h["loss"])
    loss[13] = loss[12] * 0.9  # one more 10 % improvement in the middle of the plateau
    loss[14:] = [loss[13]] * (len(loss) - 14)
    h = {"loss": loss, "coherence": h["coherence"]}
    trace = criterion_trace(h, 0.01, 0.2, 4)
    assert trace["count"][13] == 0
    assert trace["fire"] == 17


def _tiny(n_loops=1, seed=0, **kw):
    cfg = ModelConfig(vocab_size=3, max_len=12, d_model=8, n_loops=n_loops, **kw)
    return build_model(cfg, torch.Generator().manual_seed(seed))


def _tokens(n=64, T=12, seed=0):
    return torch.randint(0, 3, (n, T), generator=torch.Generator().manual_seed(seed))


def test_the_switch_keeps_every_parameter_bit_identical():
    model = _tiny()
    data = _tokens()
    sc = ShiftController(ShiftConfig(switch_at=5, optimizer_state="keep"))
    tr = Trainer(model, data, {"x": data[:8]}, TrainConfig(batch_size=8, max_steps=5), probes=[sc])
    tr.run()  # the switch happens in the probe call after step 5, the last step
    assert sc.switch_step == 5 and model.n_loops == 3
    before = {k: v.clone() for k, v in model.state_dict().items()}
    model.n_loops = 1
    model.n_loops = 3
    for k, v in model.state_dict().items():
        assert torch.equal(v, before[k]), k


@pytest.mark.parametrize("policy", SWITCH_POLICIES)
def test_each_switch_policy_keeps_weights_and_does_what_it_says(policy):
    data = _tokens()
    model = _tiny()
    tr = Trainer(model, data, None, TrainConfig(batch_size=8, max_steps=4, lr=1e-3))
    tr.run()
    theta = [p.detach().clone() for p in model.parameters()]
    opt, lr_before = tr.optimizer, tr.lr_fn
    cfg = with_policy(ShiftConfig(), policy, rewarmup_steps=4)
    assert _policy_of(cfg) == policy and cfg.optimizer_state == policy_settings(policy, 4)["optimizer_state"]
    ShiftController(cfg).switch(tr)
    assert model.n_loops == 3
    assert all(torch.equal(a, b) for a, b in zip(theta, model.parameters()))
    if policy == "keep":
        assert tr.optimizer is opt and len(opt.state) > 0
    else:
        assert tr.optimizer is not opt and len(tr.optimizer.state) == 0
    k = tr.step  # the switch step: re-warmup gives η/R there, 2η/R after
    if policy == "reset+rewarmup":
        assert [tr.lr_fn(k + j) for j in range(5)] == pytest.approx([lr_before(k) * f for f in (0.25, 0.5, 0.75, 1, 1)])
    else:
        assert tr.lr_fn is lr_before


def test_rewarmup_schedule():
    lr = rewarmed(lambda k: 1.0, start=10, steps=4)
    assert [lr(k) for k in (9, 10, 11, 12, 13, 14)] == [1.0, 0.25, 0.5, 0.75, 1.0, 1.0]


def test_wsd_closed_form_and_a_stable_part_that_ignores_the_horizon():
    cfg = TrainConfig(lr=2.0, warmup_steps=4, min_lr_frac=0.0)
    lr = wsd_lr(cfg, total_steps=20, decay_steps=5)
    assert [lr(k) for k in range(4)] == [0.5, 1.0, 1.5, 2.0]  # η (k+1)/W
    assert [lr(k) for k in range(4, 15)] == [2.0] * 11
    assert [lr(k) for k in range(15, 20)] == pytest.approx([1.6, 1.2, 0.8, 0.4, 0.0])  # η(1 − (k−15+1)/5)
    longer = wsd_lr(cfg, total_steps=50, decay_steps=5)
    assert [longer(k) for k in range(15)] == [lr(k) for k in range(15)]
    assert wsd_lr(cfg, 20, 0)(19) == 2.0  # no decay
    # the lib's own "wsd" schedule is the same curve when decay_frac = D/S
    from loopvalley.train import lr_at

    lib = replace(cfg, schedule="wsd", decay_frac=5 / 20)
    assert [lr_at(k, lib, 20) for k in range(20)] == pytest.approx([lr(k) for k in range(20)])
    sl = shift_lr(cfg, 20, 5, switch_step=8, rewarmup_steps=2)
    assert [sl(k) for k in (7, 8, 9, 10)] == [2.0, 1.0, 2.0, 2.0]


def test_forward_flops_hand_count():
    cfg = ModelConfig(vocab_size=2, max_len=4, d_model=2)
    # one loop, B=1, T=3, d=2: Q, K, V, O projections 4 × (2·3·2·2) = 96; QKᵀ and AV 2 × (2·3·3·2) = 72;
    # readout 2·3·2·2 = 24
    assert forward_flops(cfg, 1, 1, 3) == 96 + 72 + 24
    assert forward_flops(cfg, 3, 1, 3) == 3 * (96 + 72) + 24
    assert train_step_flops(cfg, 3, 1, 3) == 3 * (3 * 168 + 24)


def test_a_shift_run_spends_single_then_looped_flops():
    data = _tokens()
    model = _tiny()
    sc = ShiftController(ShiftConfig(switch_at=6))
    tr = Trainer(model, data, {"x": data[:8]}, TrainConfig(batch_size=8, max_steps=10, eval_every=2),
                 probes=[sc, FlopCounter()])
    rec = tr.run()
    assert switch_step_of(rec) == 6  # steps 0..5 with one loop, 6..9 with three
    f1, f3 = (train_step_flops(model.cfg, n, 8, 12) for n in (1, 3))
    assert flops_at_evals(rec)[-1] == pytest.approx(6 * f1 + 4 * f3)
    assert _loops_at_evals(rec) == [1, 1, 1, 3, 3, 3]  # the loops of the next step, at evals 0, 2, …, 10


def test_controller_records_and_replays():
    data = _tokens(256)
    model = _tiny()
    sc = ShiftController(ShiftConfig(check_every=4, act=False))
    tr = Trainer(model, data, None, TrainConfig(batch_size=8, max_steps=40, lr=3e-3), probes=[sc])
    rec = tr.run()
    p = rec.probes["shift"]
    assert p["step"] == list(range(4, 41, 4)) and model.n_loops == 1
    assert all(0 <= c <= 1 + 1e-9 for c in p["coherence"])
    # replaying the recorded history gives the same patience counters the controller saw live
    trace = criterion_trace(p, 0.01, 0.2, 3)
    assert list(trace["count"]) == p["count"]


def test_a_deadline_stops_late_switches_and_on_switch_runs_at_the_switch():
    data = _tokens(256)
    eager = ShiftConfig(check_every=4, delta1=0.5, delta2=1.0, patience=2)  # stalls at every check
    seen = []
    tr = Trainer(_tiny(), data, None, TrainConfig(batch_size=8, max_steps=20, lr=3e-3),
                 probes=[ShiftController(eager, on_switch=lambda t: seen.append(t.step))])
    assert switch_step_of(tr.run()) == 12 and seen == [12]  # checks at 8 and 12 stalled (4 has no r_t)
    late = Trainer(_tiny(), data, None, TrainConfig(batch_size=8, max_steps=20, lr=3e-3),
                   probes=[ShiftController(eager, deadline=10)])
    assert switch_step_of(late.run()) is None and late.model.n_loops == 1


def test_theorem3_diagnostics_on_known_matrices():
    assert diagonal_dominance(torch.eye(4) * 3 + 0.5) == 1.0  # 3.5 ≥ 3 · 0.5
    assert diagonal_dominance(torch.ones(4, 4)) == 0.0
    assert psd_ness(torch.diag(torch.tensor([1.0, 2.0, 3.0]))) == 1.0
    assert psd_ness(torch.diag(torch.tensor([1.0, -1.0]))) == pytest.approx(0.5)
    assert psd_ness(torch.tensor([[0.0, 1.0], [-1.0, 0.0]])) == 1.0  # antisymmetric: S = 0
    assert cosine(torch.tensor([1.0, 0.0]), torch.tensor([2.0, 0.0])) == pytest.approx(1.0)
    assert math.isnan(cosine(torch.zeros(2), torch.ones(2)))


def test_gradient_alignment_is_one_when_looping_changes_nothing():
    model = _tiny()
    with torch.no_grad():
        model.attn.W_O.weight.zero_()  # Attn(h) = 0: every loop is the identity, only W_O gets a gradient
        model.attn.W_O.weight[0, 0] = 1e-3
    cos = gradient_alignment(model, _tokens(16), next_token_loss)
    assert cos["W_O"] == pytest.approx(1.0, abs=1e-3)


def test_theorem3_small_weight_limit_in_the_linear_model():
    # h_{t+1} = h_t + Attn(h_t) with Attn = O(ε⁴): to first order every loop adds the same term, so
    # ∇_{W_Q} L_looped ≈ 3 ∇_{W_Q} L_single and the cosine → 1 as ε → 0 (the theorem's premise regime)
    toks = _tokens(64)
    cos = {}
    for eps in (3e-2, 1e-3):
        model = _tiny(attn_type="linear", init_std=eps)
        cos[eps] = gradient_alignment(model, toks, next_token_loss)
    assert cos[1e-3]["W_Q"] > 0.999 and cos[1e-3]["W_K"] > 0.999
    assert 1 - cos[1e-3]["W_Q"] < 1 - cos[3e-2]["W_Q"]


def test_theorem3_probe_measures_exactly_on_its_schedule():
    assert probe_steps(100, 5, 25) == [0, 1, 2, 3, 4, 5, 25, 50, 75, 100]
    assert probe_steps(30, 0, 25) == [0, 25, 30]
    data = _tokens(64)
    probe = Theorem3Probe(every=10, n_sequences=16, dense_until=3)
    rec = Trainer(_tiny(), data, None, TrainConfig(batch_size=8, max_steps=25, probe_batch_size=16), probes=[probe]).run()
    assert rec.probes["theorem3"]["step"] == probe_steps(25, 3, 10)
    with pytest.raises(ValueError, match="probe_batch_size"):
        Trainer(_tiny(), data, None, TrainConfig(batch_size=8, max_steps=2, probe_batch_size=8),
                probes=[Theorem3Probe(n_sequences=16)]).run()
    # stop_when: measured at the first step it holds (off the schedule), never after; until caps the schedule
    stop = Theorem3Probe(every=10, n_sequences=16, dense_until=3, stop_when=lambda tr: tr.step == 17)
    rec = Trainer(_tiny(), data, None, TrainConfig(batch_size=8, max_steps=25, probe_batch_size=16), probes=[stop]).run()
    assert rec.probes["theorem3"]["step"] == [0, 1, 2, 3, 10, 17] and stop.stopped_at == 17
    capped = Theorem3Probe(every=10, n_sequences=16, dense_until=3, until=12)
    rec = Trainer(_tiny(), data, None, TrainConfig(batch_size=8, max_steps=25, probe_batch_size=16), probes=[capped]).run()
    assert rec.probes["theorem3"]["step"] == probe_steps(25, 3, 10, until=12) == [0, 1, 2, 3, 10]


@pytest.mark.parametrize(
    "call, name",
    [
        (lambda: ShiftConfig(patience=0), "patience"),
        (lambda: ShiftConfig(delta1=-0.1), "delta1"),
        (lambda: ShiftConfig(delta2=-1.0), "delta2"),
        (lambda: ShiftConfig(optimizer_state="drop"), "optimizer_state"),
        (lambda: ShiftConfig(loops_after_switch=1), "loops_after_switch"),
        (lambda: switch_criterion(_plateau(), 0.01, 0.2, 0), "patience"),
        (lambda: switch_criterion(_plateau(), -1e-3, 0.2, 2), "delta1"),
        (lambda: switch_criterion(_plateau(), 0.01, float("nan"), 2), "delta2"),
        (lambda: rewarmed(lambda k: 1.0, 0, 0), "rewarmup_steps"),
        (lambda: policy_settings("drop"), "policy"),
        (lambda: wsd_lr(TrainConfig(), 10, 11), "decay_steps"),
        (lambda: flop_ratio_bound(10, 100, 200, 1.5), "cost_ratio"),
        (lambda: ShiftController(deadline=-1), "deadline"),
    ],
)
def test_bad_input_names_the_parameter(call, name):
    with pytest.raises(ValueError, match=name):
        call()


def _single_with_snapshots(data, tc, at):
    snaps = Snapshots(steps=at)
    single = _tiny()
    Trainer(single, data, {"x": data[:16]}, tc, probes=[FlopCounter(), snaps]).run()
    return single, snaps


def test_a_switch_from_a_snapshot_repeats_the_direct_run_exactly():
    data = _tokens(128)
    tc = TrainConfig(batch_size=8, max_steps=16, eval_every=4, lr=3e-3)
    direct = Trainer(_tiny(), data, {"x": data[:16]}, tc, probes=[ShiftController(ShiftConfig(switch_at=8)), FlopCounter()])
    rec_direct = direct.run()
    single, snaps = _single_with_snapshots(data, tc, [8])
    assert set(snaps.states) == {8}
    rec = shift_trainer(snaps.states[8], single.cfg, data, {"x": data[:16]}, tc, ShiftConfig()).run()
    assert rec.train_loss == rec_direct.train_loss
    assert rec.eval_acc == rec_direct.eval_acc
    assert list(flops_at_evals(rec)) == list(flops_at_evals(rec_direct))
    # the snapshot is left untouched: a second continuation (other policy) starts from the same state
    assert len(snaps.states[8]["record"]["train_loss"]) == 8
    reset = shift_trainer(snaps.states[8], single.cfg, data, {"x": data[:16]}, tc, ShiftConfig(optimizer_state="reset")).run()
    assert reset.train_loss[:9] == rec.train_loss[:9] and reset.train_loss[9:] != rec.train_loss[9:]


def test_equal_flop_steps_closed_form():
    # Looped: 10 steps of 3 → budget 30; switch after 4 Single steps of 1 → ⌊(30 − 4)/3⌋ = 8 more
    assert equal_flop_steps(30.0, 4.0, 3.0) == 8
    assert equal_flop_steps(30.0, 6.0, 3.0) == 8  # exactly fits
    assert equal_flop_steps(0.1 + 0.2, 0.0, 0.3) == 1  # float summation order does not lose a step
    assert equal_flop_steps(3.0, 5.0, 1.0) == 0
    with pytest.raises(ValueError, match="per_step"):
        equal_flop_steps(1.0, 0.0, 0.0)


def test_a_continuation_at_equal_flops_with_a_decay_spends_loopeds_budget():
    data = _tokens(128)
    tc = TrainConfig(batch_size=8, max_steps=16, eval_every=4, lr=3e-3)
    looped = Trainer(_tiny(n_loops=3), data, {"x": data[:16]}, tc, probes=[FlopCounter()]).run()
    single, snaps = _single_with_snapshots(data, tc, [8])
    f1, f3 = (train_step_flops(single.cfg, n, 8, 12) for n in (1, 3))
    budget = flops_at_evals(looped)[-1]
    assert budget == pytest.approx(16 * f3)
    tr = shift_trainer(snaps.states[8], single.cfg, data, {"x": data[:16]}, tc, ShiftConfig(),
                       flop_budget=budget, decay_steps=4)
    rec = tr.run()
    n_after = math.floor((16 * f3 - 8 * f1) / f3)  # hand count: the Looped steps that fit after the switch
    assert len(rec.train_step) == 8 + n_after > 16 and rec.eval_step[-1] == 8 + n_after
    assert flops_at_evals(rec)[-1] <= budget < flops_at_evals(rec)[-1] + f3
    total = 8 + n_after
    assert rec.lr[-4:] == pytest.approx([3e-3 * (1 - j / 4) for j in range(1, 5)])  # the last 4 steps decay
    assert rec.lr[8:total - 4] == [3e-3] * (total - 12)


def test_a_decay_branch_off_a_stable_trajectory_equals_the_run_trained_with_that_horizon():
    # SHIFT trained directly (switch at 8, horizon 20, decay 4) vs. the stable trajectory to step 16
    # (constant η), resumed from its snapshot there with the decay: bit-identical
    data = _tokens(128)
    tc = TrainConfig(batch_size=8, max_steps=12, eval_every=4, lr=3e-3)
    sc = ShiftConfig(optimizer_state="reset", rewarmup_steps=3)
    single, snaps = _single_with_snapshots(data, tc, [8])
    direct = shift_trainer(snaps.states[8], single.cfg, data, {"x": data[:16]}, tc, sc, total_steps=20, decay_steps=4).run()
    branch_at = Snapshots(steps=[16])
    stable = shift_trainer(snaps.states[8], single.cfg, data, {"x": data[:16]}, tc, sc, total_steps=16, decay_steps=0,
                           probes=[branch_at])
    stable.run()
    tr = resume_trainer(branch_at.states[16], single.cfg, data, {"x": data[:16]}, tc,
                        probes=[ShiftController(sc), FlopCounter()], total_steps=20,
                        lr_fn=shift_lr(tc, 20, 4, switch_step=8, rewarmup_steps=3))
    branch = tr.run()
    assert branch.train_loss == direct.train_loss and branch.lr == direct.lr
    assert branch.eval_acc == direct.eval_acc and list(flops_at_evals(branch)) == list(flops_at_evals(direct))
    assert switch_step_of(branch) == 8


def test_a_live_shift_run_stops_at_the_budget():
    data = _tokens(128)
    model = _tiny()
    f1, f3 = (train_step_flops(model.cfg, n, 8, 12) for n in (1, 3))
    budget = 10 * f3
    tc = TrainConfig(batch_size=8, max_steps=100, eval_every=4, lr=3e-3)
    rec = Trainer(model, data, {"x": data[:16]}, tc, probes=[ShiftController(ShiftConfig(switch_at=6)),
                                                            FlopCounter(budget)]).run()
    n_after = math.floor((budget - 6 * f1) / f3)
    assert len(rec.train_step) == 6 + n_after
    assert flops_at_evals(rec)[-1] == pytest.approx(6 * f1 + n_after * f3) and flops_at_evals(rec)[-1] <= budget


def test_a_shift_run_resumed_mid_window_equals_the_uninterrupted_one(tmp_path):
    from loopvalley.checkpoint import load_checkpoint, load_trainer_state, save_checkpoint

    data = _tokens(256)
    cfg = TrainConfig(batch_size=8, max_steps=30, lr=3e-3, eval_every=10)
    sc_cfg = ShiftConfig(check_every=4, delta1=0.5, delta2=1.0, patience=2)  # switches early
    full = Trainer(_tiny(), data, None, cfg, probes=[ShiftController(sc_cfg)]).run()
    first = Trainer(_tiny(), data, None, cfg, probes=[ShiftController(sc_cfg)])
    first.run(steps=6)  # stops in the middle of the second check window
    path = save_checkpoint(first, tmp_path / "shift.pt")
    again = Trainer(_tiny(), data, None, cfg, probes=[ShiftController(sc_cfg)])
    load_trainer_state(again, load_checkpoint(path))
    resumed = again.run()
    a, b = resumed.probes["shift"], full.probes["shift"]
    assert a.keys() == b.keys()
    for k in a:  # bit for bit ("r" starts with NaN, which never equals itself)
        np.testing.assert_array_equal(np.asarray(a[k], dtype=float), np.asarray(b[k], dtype=float), err_msg=k)
    assert resumed.train_loss == full.train_loss and switch_step_of(resumed) == switch_step_of(full)


# ----------------------------------------------------------------------------------------------
# The experiment's measurements and rules


def test_f2_bound_closed_form():
    # the numbers: T_L = 525, s = 150, c = 0.337, S = 600 → (525 − 150·0.663)/600
    assert flop_ratio_bound(150, 525, 600, 0.337) == pytest.approx((525 - 150 * 0.663) / 600)
    assert flop_ratio_bound(150, 600, 600, 1 / 3) == pytest.approx(1 - 0.25 * 2 / 3)  # 1 − (s/S)(1 − c)
    assert flop_ratio_bound(700, 500, 600, 0.5) == pytest.approx(500 * 0.5 / 600)  # Single alone gets there
    assert flop_ratio_bound(150, math.inf, 600, 0.3) == math.inf


def test_flops_to_reach_interpolates_and_censors():
    from loopvalley.shift.experiment import flops_to_reach

    b = {0.8: {"acc": 50.0, "flops": 80.0}, 0.9: {"acc": 52.0, "flops": 90.0}, 1.0: {"acc": 53.0, "flops": 100.0}}
    assert flops_to_reach(b, 51.0, 100.0) == {"ratio": pytest.approx(0.85), "censored": ""}
    assert flops_to_reach(b, 49.0, 100.0) == {"ratio": 0.8, "censored": "below"}
    assert flops_to_reach(b, 54.0, 100.0) == {"ratio": 1.0, "censored": "above"}


def test_the_policy_rule_and_the_recorded_choice():
    from loopvalley.shift.experiment import CHOSEN_POLICY, POLICY_SEEDS, POLICY_SELECTION, choose_policy

    rec = {"f1_margin": {"keep": [1.0, -3.0], "reset": [0.5, 0.6], "reset+rewarmup": [0.5, 0.6]},
           "transient_drop": {"keep": [5, 5], "reset": [2, 2], "reset+rewarmup": [1, 1]}}
    assert choose_policy(rec) == "reset+rewarmup"  # tie on F1 (0.55): the smaller drop wins
    rec["f1_margin"]["keep"] = [2.0, 2.0]
    assert choose_policy(rec) == "keep"
    # the experiment's policy is what the rule picks on the recorded exploratory numbers
    assert POLICY_SELECTION["seeds"] == POLICY_SEEDS
    assert set(POLICY_SELECTION["f1_margin"]) == set(SWITCH_POLICIES)
    assert all(len(v) == len(POLICY_SEEDS) for v in POLICY_SELECTION["f1_margin"].values())
    assert choose_policy(POLICY_SELECTION) == CHOSEN_POLICY


def test_the_rules_main_analysis_is_the_experiments_protocol():
    from loopvalley import rules as R
    from loopvalley.shift import experiment as X

    assert R.rule("F1").main["decay"] == X.DECAY_FRAC  # the verdict reads the decay every arm is trained with
    assert set(R.rule("F1").choices[2].alternatives) - {0.0} == set(X.ALT_DECAY_FRACS)  # each alternative is trained
    assert all(R.rule(c).kind == "empirical" and R.rule(c).chapter == "07" for c in ("F1", "F2", "F3a", "F3b"))
    assert set(R.rule("F1").exploratory_seeds) == set(X.RULE_SEEDS)
    cfg = X.config("small")
    assert cfg.n_seeds >= 10 and cfg.theorem_model_steps == cfg.run.train.max_steps - cfg.decay_steps


# ----------------------------------------------------------------------------------------------
# Planted signals: F2's ratio, F3a's and F3b's windows


def _planted_runs(looped_final=70.0, shift_acc=None, looped_acc=None, switch=150, S=600, probes=None, thm=None):
    """A ShiftRuns with planted numbers: Looped's final accuracy (its record ends there), SHIFT's decayed
    accuracy per budget fraction, Looped's per (smaller) fraction, Theorem 3 probe rows."""
    from loopvalley.records import RunRecord
    from loopvalley.shift.experiment import ShiftRuns

    B = 1e12
    shift_acc = shift_acc or {0.8: 66.0, 0.9: 68.0, 1.0: 69.0, 1.1: 71.0, 1.2: 72.0}
    looped_acc = looped_acc or {0.8: 67.0, 0.9: 69.5, 1.0: looped_final}

    def rec(acc, steps=(0, S), theorem=None):
        r = RunRecord(eval_step=list(steps), eval_acc={"complex": [0.3, acc / 100]}, eval_loss={"complex": [1.0, 0.5]})
        r.probes["flops"] = {"step": list(steps), "flops": [0.0, B], "n_loops": [1, 3]}
        if theorem is not None:
            r.probes["theorem3"] = theorem
        return r

    branch = {f: {"acc": a / 100, "flops": f * B, "steps": int(f * S)} for f, a in shift_acc.items()}
    lb = {f: {"acc": a / 100, "flops": f * B, "steps": int(f * S)} for f, a in looped_acc.items()}
    single = rec(55.0, theorem=probes)
    shift = rec(shift_acc[1.0])
    shift.meta["switch_step"] = switch
    thm_rec = rec(40.0, theorem=thm) if thm is not None else None
    return ShiftRuns(1000, {"single": single, "looped": rec(looped_final), "shift": shift}, switch,
                     branches={"reset": branch}, policies={"reset": shift}, theorem_model=thm_rec,
                     decays={"reset": {}}, looped_branches={"budget": lb, "decay": {}})


def test_f2_with_a_planted_shift_curve_gives_the_known_ratio():
    from loopvalley.shift import experiment as X

    cfg = X.config("small")
    r = _planted_runs()
    # the target is Looped's final accuracy (70): SHIFT crosses it between 1.0 (69) and 1.1 (71), at 1.05
    assert X.f2_reach(r, cfg)["ratio"] == pytest.approx(1.05)
    # v3's credit (a target 1 point lower, still over Looped's whole budget) would have read 1.0
    assert X.flops_to_reach({f: {"acc": v["acc"] * 100, "flops": v["flops"]} for f, v in r.branches["reset"].items()},
                            69.0, 1e12)["ratio"] == pytest.approx(1.0)
    # both arms to within 1 point (69): SHIFT at 1.0, Looped at 0.8 + 0.1·(2/2.5) = 0.88 → 1.0/0.88
    both = X.f2_reach(r, cfg, target="both_within_1")
    assert both["looped_ratio"] == pytest.approx(0.88) and both["ratio"] == pytest.approx(1.0 / 0.88)
    # the first budget of the grid that reaches 70 is 1.1; the coarse grid (0.8, 1, 1.2): 1.0 + 0.2·(1/3)
    assert X.f2_reach(r, cfg, interp="grid")["ratio"] == pytest.approx(1.1)
    assert X.f2_reach(r, cfg, grid="coarse")["ratio"] == pytest.approx(1.0 + 0.2 / 3)
    # time: r + (s/S)(c_wall − c)
    f1, f3 = X._step_flops(cfg)
    assert X.f2_reach(r, cfg, cost="time", c_wall=0.5)["ratio"] == pytest.approx(1.05 + 150 / 600 * (0.5 - f1 / f3))
    # censored: never reached by 1.2 → 1.2 (a lower bound), already there at 0.8 → 0.8
    assert X.f2_reach(_planted_runs(looped_final=80.0), cfg)["censored"] == "above"
    low = X.f2_reach(_planted_runs(looped_final=60.0), cfg)
    assert low["ratio"] == pytest.approx(0.8) and low["censored"] == "below"


def _probe_rows(cos_of_step, steps):
    rows = {"step": list(steps)}
    for w in ("W_Q", "W_K", "W_V", "W_O"):
        rows[f"cos_{w}"] = [float(cos_of_step(s)) for s in steps]
    for k in ("dd_QK", "psd_QK", "psd_OV", "psd_QK_OV"):
        rows[k] = [1.0] * len(steps)
    return rows


def test_time_average_is_the_trapezoid_rule():
    from loopvalley.shift.experiment import time_average

    steps = [0, 1, 2, 10, 20]
    assert time_average(steps, [1, 1, 1, 1, 1], 0, 20) == 1.0
    # y = step on an uneven grid: the trapezoid rule is exact for a linear function, mean over [0, 20] = 10
    assert time_average(steps, steps, 0, 20) == pytest.approx(10.0)
    assert time_average(steps, [0, 0, 0, 1, 1], 2, 20) == pytest.approx((0.5 * 8 + 10) / 18)
    assert math.isnan(time_average(steps, steps, 30, 40)) and time_average(steps, steps, 10, 10) == 10


def test_f3a_window_ends_at_the_switch_step():
    from loopvalley.shift import experiment as X

    cfg = X.config("small")
    steps = sorted(set(range(0, 51)) | set(range(50, 481, 10)))
    probes = _probe_rows(lambda s: 1.0 if s <= 200 else -1.0, steps)  # aligned until step 200, opposed after
    for switch, want in ((150, 1.0), (200, 1.0), (300, None)):
        r = _planted_runs(switch=switch, probes=probes)
        lo, hi = X.f3a_window(r, cfg)
        assert (lo, hi) == (0, switch)  # the window SHIFT uses: step 0 to its switch step
        got = X.alignment_window(r.records["single"], lo, hi)["W_Q"]
        if want is not None:
            assert got == pytest.approx(want)
        else:  # 200 of 300 steps at +1, then a 10-step ramp to −1 and 90 steps at −1
            assert got == pytest.approx((200 + 0 - 90) / 300)
    never = _planted_runs(switch=None, probes=probes)
    assert X.f3a_window(never, cfg) == (0, cfg.run.train.max_steps - cfg.decay_steps)  # never switched: S − D
    claim = X.claim_f3a([_planted_runs(switch=s, probes=probes) for s in (150, 175, 200)], cfg, "small", [1000, 1001, 1002])
    assert claim.verdict == "holds" and claim.margin == pytest.approx(0.5)


def test_f3b_reads_after_the_small_weight_regime():
    from loopvalley.shift import experiment as X

    cfg = X.config("small")
    steps = sorted(set(range(0, 51)) | set(range(50, 481, 10)))
    # the theorem's model: ≥ 0.99 until step 37 (the small-weight regime), 0.96 at 38–40, then 0.2
    thm = _probe_rows(lambda s: 1.0 if s <= 37 else (0.96 if s <= 40 else 0.2), steps)
    r = _planted_runs(switch=200, thm=thm, probes=thm)
    assert X.exit_step(r.theorem_model, 0.99) == 38 and X.exit_step(r.theorem_model, 0.95) == 41
    lo, hi = X.f3b_window(r, cfg)
    assert (lo, hi) == (38, 200)
    # the window is almost all at 0.2: the regime's cosines near 1 no longer count
    assert X.alignment_window(r.theorem_model, lo, hi)["W_Q"] == pytest.approx((2 * 0.96 + 0.5 * (0.96 + 0.2) + 159 * 0.2) / 162)
    runs = [_planted_runs(switch=s, thm=thm, probes=thm) for s in (150, 200, 250)]
    claim = X.claim_f3b(runs, cfg, "small", [1000, 1001, 1002])
    assert claim.verdict == "fails" and claim.measured["exit_step_0.99"] == [38.0] * 3
    # over steps 0–50, v3's window, the same run looks aligned: the regime makes up 38 of its 50 steps
    assert X.alignment_window(r.theorem_model, 0, 50)["W_Q"] > 0.7


def test_the_looped_arm_from_its_stable_trajectory_equals_the_direct_run():
    from loopvalley.looped.arms import train_arm
    from loopvalley.shift import experiment as X

    cfg = X.config("ci", max_steps=40)
    run = replace(cfg.run, data=replace(cfg.run.data, n_train=128, n_test=16),
                  train=replace(cfg.run.train, eval_every=8, probe_batch_size=16))
    cfg = replace(cfg, run=run, looped_fractions=(0.8,))
    data = run.data.sample(1)
    direct, _ = train_arm("looped", run, 1, data, probes=[FlopCounter()])
    main, branches = X.run_looped(cfg, 1, data)
    assert main.train_loss == direct.train_loss and main.lr == direct.lr and main.eval_acc == direct.eval_acc
    assert list(flops_at_evals(main)) == list(flops_at_evals(direct))
    assert sorted(branches["budget"]) == [0.8, 1.0] and sorted(branches["decay"]) == list(cfg.alt_decay_steps)
    assert branches["budget"][1.0]["acc"] == direct.eval_acc["complex"][-1]
    assert branches["budget"][0.8]["steps"] == 32 and branches["decay"][cfg.alt_decay_steps[0]]["steps"] == 40


def test_the_experiment_end_to_end_on_a_tiny_run(tmp_path):
    from loopvalley.seeds import teaching
    from loopvalley.shift import experiment as X

    cfg = X.config("ci", max_steps=48)
    run = replace(cfg.run, data=replace(cfg.run.data, n_train=256, n_test=32),
                  train=replace(cfg.run.train, eval_every=8, probe_batch_size=32))
    cfg = replace(cfg, run=run, shift=replace(cfg.shift, delta1=0.5, delta2=math.inf, patience=1),  # switches early
                  theorem3_sequences=32, theorem3_dense=3, branch_fractions=(0.9, 1.0, 1.1), looped_fractions=(0.9,))
    seeds = teaching(2)
    runs = [X.run_seed(s, cfg, policies=SWITCH_POLICIES) for s in seeds]
    for r in runs:
        s = r.switch_step
        assert s is not None and s <= cfg.run.train.max_steps - cfg.decay_steps
        shift, looped = r.records["shift"], r.records["looped"]
        assert flops_at_evals(shift)[-1] <= flops_at_evals(looped)[-1] * (1 + 1e-9)
        assert shift.lr[-1] == 0.0 and looped.lr[-1] == 0.0  # every arm ends its decay at η = 0
        assert shift.train_loss[:s] == r.records["single"].train_loss[:s]  # SHIFT is Single until the switch
        assert sorted(r.branches[cfg.policy]) == [0.9, 1.0, 1.1] and set(r.policies) == set(SWITCH_POLICIES)
        assert r.branches[cfg.policy][1.0]["acc"] == shift.eval_acc["complex"][-1]
        assert sorted(r.decays[cfg.policy]) == list(cfg.alt_decay_steps)
        assert r.theorem_model.probes["theorem3"]["step"][:4] == [0, 1, 2, 3]
        # Theorem 3's probes stop at the switch step in both models: the window SHIFT trains Single ends there
        assert max(r.records["single"].probes["theorem3"]["step"]) == s == max(r.theorem_model.probes["theorem3"]["step"])
        assert r.cpu_seconds["total"] > 0
    claims = X.shift_claims(runs, cfg, "ci", seeds)
    assert [c.id for c in claims] == ["F1", "F2", "F3a", "F3b"] and all(c.n_seeds == 2 for c in claims)
    assert all(c.alternatives and c.rule_hash for c in claims)
    per = [X.measure_seed(r, cfg) for r in runs]
    assert claims[0].parts[0]["per_seed"] == pytest.approx([p["shift_final"] - p["looped_final"] + 1 for p in per])
    assert claims[1].parts[0]["per_seed"] == pytest.approx([1 - p["f2_ratio"] for p in per])
    assert claims[0].measured["switch_rate"] == 1.0
    # what reproduce ships reads back into the same runs and the same verdicts, alternatives included
    from loopvalley.records import load_records, save_records

    back = X.runs_from_records(load_records(save_records(tmp_path / "shift.json", X.records_of(runs), digits=17)))
    again = X.shift_claims(back, cfg, "ci", seeds)
    assert [(c.verdict, c.margin, c.alternatives) for c in again] == [(c.verdict, c.margin, c.alternatives) for c in claims]
