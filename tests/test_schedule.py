"""The learning-rate schedule written once: its closed forms, and the trainer's, SHIFT's and the
simulations' schedules are that one function."""

import math

import pytest
import torch

from loopvalley.schedule import SCHEDULES, lr_multiplier, n_decay_steps
from loopvalley.shift.controller import shift_lr, wsd_lr
from loopvalley.train import TrainConfig, lr_at
from loopvalley.valley.simulate import lr_schedule, stable_phase_end


def test_closed_forms():
    S, W, D, m = 20, 4, 5, 0.1
    assert [lr_multiplier(k, "constant", S, W) for k in (0, 19)] == [1.0, 1.0]  # constant has no warmup
    for kind in ("warmup_constant", "cosine", "wsd"):
        assert [lr_multiplier(k, kind, S, W, D, m) for k in range(W)] == [(k + 1) / W for k in range(W)]
    assert lr_multiplier(W, "warmup_constant", S, W) == 1.0
    # cosine: m + (1 − m)·½(1 + cos πp), p = (k − W)/(S − W − 1), from 1 at k = W to m at k = S − 1
    for k in range(W, S):
        p = (k - W) / (S - W - 1)
        assert lr_multiplier(k, "cosine", S, W, 0, m) == pytest.approx(m + (1 - m) * 0.5 * (1 + math.cos(math.pi * p)))
    assert lr_multiplier(S - 1, "cosine", S, W, 0, m) == pytest.approx(m)
    # wsd: 1 until S − D, then 1 − (1 − m)·p with p = (k − (S − D) + 1)/D, reaching m at k = S − 1
    assert [lr_multiplier(k, "wsd", S, W, D, m) for k in range(W, S - D)] == [1.0] * (S - D - W)
    want = [1 - (1 - m) * (j + 1) / D for j in range(D)]
    assert [lr_multiplier(k, "wsd", S, W, D, m) for k in range(S - D, S)] == pytest.approx(want)
    assert lr_multiplier(S - 1, "wsd", S, W, D, m) == pytest.approx(m)
    assert lr_multiplier(S + 5, "wsd", S, W, D, m) == pytest.approx(m)  # past the end: holds m
    assert lr_multiplier(S - 1, "wsd", S, W, 0, m) == 1.0  # D = 0: no decay
    assert lr_multiplier(7, "wsd", S, 0, D, m, peak=3e-4) == 3e-4 * lr_multiplier(7, "wsd", S, 0, D, m)
    assert n_decay_steps(100, 0.2) == 20 == 100 - stable_phase_end(100, 0.2)
    with pytest.raises(ValueError, match="schedule"):
        lr_multiplier(0, "linear", 10)


@pytest.mark.parametrize("schedule", SCHEDULES)
@pytest.mark.parametrize("W, frac, m", [(0, 0.2, 0.0), (3, 0.25, 0.0), (2, 0.5, 0.1), (0, 0.0, 0.0)])
def test_the_trainer_the_shift_arms_and_the_simulations_share_it(schedule, W, frac, m):
    S, lr = 24, 3e-4
    cfg = TrainConfig(lr=lr, warmup_steps=W, schedule=schedule, decay_frac=frac, min_lr_frac=m)
    D = n_decay_steps(S, frac)
    assert [lr_at(k, cfg, S) for k in range(S)] == [lr_multiplier(k, schedule, S, W, D, m, peak=lr) for k in range(S)]
    if schedule == "wsd":  # SHIFT's wsd_lr is the same curve with an absolute decay length
        f = wsd_lr(cfg, S, D)
        assert [f(k) for k in range(S)] == [lr_at(k, cfg, S) for k in range(S)]
        g = shift_lr(cfg, S, D)
        assert [g(k) for k in range(S)] == [f(k) for k in range(S)]
    if schedule != "warmup_constant" and m == 0.0:  # the simulations' multipliers (their constant has the warmup)
        kind = "warmup_constant" if schedule == "constant" else schedule
        want = torch.tensor([lr_multiplier(k, kind, S, W, D) for k in range(S)], dtype=torch.float64)
        assert torch.equal(lr_schedule(schedule, S, warmup=W / S, decay=frac), want)
