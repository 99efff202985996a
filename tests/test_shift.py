"""SHIFT: the criterion on synthetic curves, the switch keeps θ bit for bit, FLOPs against a hand
count, the Theorem 3 diagnostics on known matrices, bad input."""

import math

import numpy as np
import pytest
import torch

from loopvalley.models import ModelConfig, build_model, forward_flops
from loopvalley.shift import (
    ShiftConfig,
    ShiftController,
    criterion_trace,
    cosine,
    cumulative_flops,
    diagonal_dominance,
    gradient_alignment,
    psd_ness,
    rewarmed,
    switch_criterion,
    switch_step_of,
    time_to_reach,
    train_step_flops,
)
from loopvalley.train import TrainConfig, Trainer, next_token_loss


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


def _tiny(n_loops=1, seed=0):
    cfg = ModelConfig(vocab_size=3, max_len=12, d_model=8, n_loops=n_loops)
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


@pytest.mark.parametrize("policy", ["keep", "reset"])
def test_switch_in_a_run_keeps_weights_and_handles_the_optimizer(policy):
    data = _tokens()
    model = _tiny()
    tr = Trainer(model, data, None, TrainConfig(batch_size=8, max_steps=4))
    tr.run()
    theta = [p.detach().clone() for p in model.parameters()]
    opt = tr.optimizer
    ShiftController(ShiftConfig(optimizer_state=policy)).switch(tr)
    assert model.n_loops == 3
    assert all(torch.equal(a, b) for a, b in zip(theta, model.parameters()))
    if policy == "keep":
        assert tr.optimizer is opt and len(opt.state) > 0
    else:
        assert tr.optimizer is not opt and len(tr.optimizer.state) == 0


def test_rewarmup_schedule():
    lr = rewarmed(lambda k: 1.0, start=10, steps=4)
    assert [lr(k) for k in (9, 10, 11, 12, 13, 14)] == [1.0, 0.25, 0.5, 0.75, 1.0, 1.0]


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
    tr = Trainer(model, data, {"x": data[:8]}, TrainConfig(batch_size=8, max_steps=10, eval_every=2), probes=[sc])
    rec = tr.run()
    assert switch_step_of(rec) == 6  # steps 0..5 with one loop, 6..9 with three
    f1, f3 = (train_step_flops(model.cfg, n, 8, 12) for n in (1, 3))
    assert rec.flops[-1] == pytest.approx(6 * f1 + 4 * f3)
    assert cumulative_flops(rec)[-1] == pytest.approx(rec.flops[-1])
    idx = [rec.train_step.index(s - 1) for s in rec.eval_step[1:]]
    assert np.allclose(cumulative_flops(rec)[idx], rec.flops[1:])


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


def test_time_to_reach():
    from loopvalley.train import RunRecord

    rec = RunRecord(eval_step=[0, 10, 20], wall=[0.0, 1.0, 2.0], flops=[0.0, 5.0, 9.0],
                    eval_acc={"complex": [0.3, 0.5, 0.6]}, eval_loss={"complex": [1, 1, 1]})
    assert time_to_reach(rec, 0.5) == {"step": 10, "wall": 1.0, "flops": 5.0}
    assert time_to_reach(rec, 0.7)["wall"] == math.inf


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


@pytest.mark.parametrize(
    "call, name",
    [
        (lambda: ShiftConfig(patience=0), "patience"),
        (lambda: ShiftConfig(delta1=-0.1), "delta1"),
        (lambda: ShiftConfig(delta2=-1.0), "delta2"),
        (lambda: ShiftConfig(optimizer_state="drop"), "optimizer_state"),
        (lambda: ShiftConfig(n_loops=1), "n_loops"),
        (lambda: switch_criterion(_plateau(), 0.01, 0.2, 0), "patience"),
        (lambda: switch_criterion(_plateau(), -1e-3, 0.2, 2), "delta1"),
        (lambda: switch_criterion(_plateau(), 0.01, float("nan"), 2), "delta2"),
        (lambda: rewarmed(lambda k: 1.0, 0, 0), "rewarmup_steps"),
    ],
)
def test_bad_input_names_the_parameter(call, name):
    with pytest.raises(ValueError, match=name):
        call()


def test_a_switch_from_a_snapshot_repeats_the_direct_run_exactly():
    from loopvalley.shift import Snapshots, switch_from_snapshot

    data = _tokens(128)
    tc = TrainConfig(batch_size=8, max_steps=16, eval_every=4, lr=3e-3)
    direct = Trainer(_tiny(), data, {"x": data[:16]}, tc, probes=[ShiftController(ShiftConfig(switch_at=8))])
    rec_direct = direct.run()
    snaps = Snapshots(every=4)
    single = _tiny()
    Trainer(single, data, {"x": data[:16]}, tc, probes=[snaps]).run()
    rec = switch_from_snapshot(snaps.states[8], single.cfg, data, {"x": data[:16]}, tc, ShiftConfig())
    assert rec.train_loss == rec_direct.train_loss
    assert rec.n_loops_step == rec_direct.n_loops_step
    assert rec.eval_acc == rec_direct.eval_acc
    # the snapshot is left untouched: a second continuation (other policy) starts from the same state
    assert len(snaps.states[8]["record"]["train_loss"]) == 8
    reset = switch_from_snapshot(snaps.states[8], single.cfg, data, {"x": data[:16]}, tc, ShiftConfig(optimizer_state="reset"))
    assert reset.train_loss[:9] == rec.train_loss[:9] and reset.train_loss[9:] != rec.train_loss[9:]


def test_equal_flop_steps_closed_form():
    from loopvalley.shift import equal_flop_steps

    # Looped: 10 steps of 3 → budget 30; switch after 4 Single steps of 1 → ⌊(30 − 4)/3⌋ = 8 more
    assert equal_flop_steps(30.0, 4.0, 3.0) == 8
    assert equal_flop_steps(30.0, 6.0, 3.0) == 8  # exactly fits
    assert equal_flop_steps(0.1 + 0.2, 0.0, 0.3) == 1  # float summation order does not lose a step
    assert equal_flop_steps(3.0, 5.0, 1.0) == 0
    with pytest.raises(ValueError, match="per_step"):
        equal_flop_steps(1.0, 0.0, 0.0)


def test_a_snapshot_continuation_at_equal_flops_spends_loopeds_budget():
    from loopvalley.shift import Snapshots, switch_from_snapshot

    data = _tokens(128)
    tc = TrainConfig(batch_size=8, max_steps=16, eval_every=4, lr=3e-3)
    looped = Trainer(_tiny(n_loops=3), data, {"x": data[:16]}, tc).run()
    snaps = Snapshots(every=4)
    single = _tiny()
    Trainer(single, data, {"x": data[:16]}, tc, probes=[snaps]).run()
    f1, f3 = (train_step_flops(single.cfg, n, 8, 12) for n in (1, 3))
    assert looped.flops[-1] == pytest.approx(16 * f3)
    rec = switch_from_snapshot(snaps.states[8], single.cfg, data, {"x": data[:16]}, tc, ShiftConfig(),
                               flop_budget=looped.flops[-1])
    n_after = math.floor((16 * f3 - 8 * f1) / f3)  # hand count: the Looped steps that fit after the switch
    assert len(rec.train_step) == 8 + n_after > 16
    assert rec.n_loops_step == [1] * 8 + [3] * n_after
    assert rec.flops[-1] <= looped.flops[-1] < rec.flops[-1] + f3
    assert rec.eval_step[-1] == 8 + n_after


def test_flop_budget_probe_stops_a_live_shift_run_at_the_budget():
    from loopvalley.shift import FlopBudget

    data = _tokens(128)
    model = _tiny()
    f1, f3 = (train_step_flops(model.cfg, n, 8, 12) for n in (1, 3))
    budget = 10 * f3
    tc = TrainConfig(batch_size=8, max_steps=100, eval_every=4, lr=3e-3)
    probes = [ShiftController(ShiftConfig(switch_at=6)), FlopBudget(budget)]
    rec = Trainer(model, data, {"x": data[:16]}, tc, probes=probes).run()
    n_after = math.floor((budget - 6 * f1) / f3)
    assert rec.n_loops_step == [1] * 6 + [3] * n_after
    assert rec.flops[-1] == pytest.approx(6 * f1 + n_after * f3) and rec.flops[-1] <= budget
    assert probes[1].spent == pytest.approx(rec.flops[-1])
    with pytest.raises(ValueError, match="budget"):
        FlopBudget(0.0)


def test_a_shift_run_resumed_mid_window_equals_the_uninterrupted_one(tmp_path):
    data = _tokens(256)
    cfg = TrainConfig(batch_size=8, max_steps=30, lr=3e-3, eval_every=10)
    sc_cfg = ShiftConfig(check_every=4, delta1=0.5, delta2=1.0, patience=2)  # switches early
    full = Trainer(_tiny(), data, None, cfg, probes=[ShiftController(sc_cfg)]).run()

    first = Trainer(_tiny(), data, None, cfg, probes=[ShiftController(sc_cfg)])
    first.run(steps=6)  # stops in the middle of the second check window
    path = first.save_checkpoint(tmp_path / "shift.pt")
    resumed = Trainer.from_checkpoint(path, data, None, probes=[ShiftController(sc_cfg)]).run()
    a, b = resumed.probes["shift"], full.probes["shift"]
    assert a.keys() == b.keys()
    for k in a:  # bit for bit ("r" starts with NaN, which never equals itself)
        np.testing.assert_array_equal(np.asarray(a[k], dtype=float), np.asarray(b[k], dtype=float), err_msg=k)
    assert resumed.train_loss == full.train_loss and resumed.n_loops_step == full.n_loops_step
