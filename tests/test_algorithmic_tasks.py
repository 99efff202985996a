"""The algorithmic-tasks experiment (F4): held-out splits with zero overlap, SHIFT's live equal-compute
horizon against a hand count, the claim on planted outcomes (holds / fails / inconclusive by
construction when every arm is at chance), the policy rule."""

import math
from dataclasses import replace

import numpy as np
import pytest
import torch

from loopvalley.looped.compute import flops_at_evals, train_step_flops
from loopvalley.records import RunRecord
from loopvalley.seeds import confirmatory
from loopvalley.shift import algorithmic_tasks as A
from loopvalley.shift.tasks import baselines_by_length, problem_content

torch.set_num_threads(1)


@pytest.mark.parametrize("scale", ["ci", "small"])
def test_the_experiments_splits_hold_out_every_evaluation_problem(scale):
    cfg = A.config(scale)
    for setting in cfg.tasks:
        for seed in confirmatory(2):
            split = A.make_split(setting, seed)
            train = set(problem_content(split.train))
            test = [c for toks in split.eval.values() for c in problem_content(toks)]
            assert not train & set(test)  # zero overlap
            assert len(set(test)) == len(test)  # distinct test problems
            assert sorted(split.eval) == list(range(setting.eval_lengths[0], setting.eval_lengths[1] + 1))
            assert split.n_distinct_train > 1000  # in-distribution accuracy is not memorisation of a handful


def test_shift_horizon_hand_count():
    cfg = A.config("ci", max_steps=50)
    m = replace(cfg.model, max_len=26)
    f1, f3 = (train_step_flops(m, n, 64, 26) for n in (1, 3))
    hz = A.shift_horizon(cfg, m, 50 * f3, 64, 26)
    assert hz["all_single"] == math.floor(50 * f3 / f1)
    D, B = cfg.decay_steps, 50 * f3

    def fits(s):  # a switch at s still leaves the D decay steps after it, inside Single's stable phase
        return math.floor((B - s * f1) / f3) >= D and s <= hz["all_single"] - D

    assert fits(hz["deadline"]) and not fits(hz["deadline"] + 1)


def _run(by, task="unique_set", seed=1000, switched=True):
    """A TaskRun with planted exact match per arm: ``by[arm] = (in_value, out_value)``."""
    L = list(range(4, 13))
    bl = baselines_by_length(task, (4, 12))
    recs, by_length = {}, {}
    for arm, (vin, vout) in by.items():
        em = [vin if n <= 6 else vout for n in L]
        by_length[arm] = {"length": L, "exact_match": em, "token_acc": em, "n_problems": [64] * len(L)}
        recs[arm] = RunRecord(meta={"switch_step": 100 if (arm == "shift" and switched) else None}, eval_step=[0, 10])
    return A.TaskRun(task, seed, recs, by_length, 2400, 4096, 26, baselines=bl)


def _cfg():
    return replace(A.config("ci"), tasks=(A.TaskSetting("unique_set", (1, 6), (4, 12), 4096, 64),))


def test_measure_task_reads_the_planted_accuracies_and_baselines():
    r = _run({"single": (0.3, 0.02), "looped": (0.8, 0.3), "shift": (0.6, 0.1)})
    m = A.measure_task(r, _cfg().tasks[0])
    assert m["looped_in"] == pytest.approx(80) and m["single_out"] == pytest.approx(2)
    bl = baselines_by_length("unique_set", (7, 12))
    assert m["majority_out"] == pytest.approx(100 * np.mean(bl["majority_exact_match"]))
    assert m["best_over_baseline_out"] == pytest.approx(30 - max(m["chance_out"], m["majority_out"]))
    assert m["switched"] and m["switch_step"] == 100


def test_f4_holds_fails_and_is_inconclusive_by_construction_at_chance():
    cfg, seeds = _cfg(), confirmatory(3)
    good = {"unique_set": [_run({"single": (0.3, 0.02 + d), "looped": (0.8, 0.3 + d), "shift": (0.81 + d, 0.2)},
                                seed=s) for s, d in zip(seeds, (0.0, 0.01, -0.01))]}
    c = A.f4_claim(good, cfg, "ci", seeds)
    assert c.verdict == "holds" and c.measured["length_tasks"] == ["unique_set"] and c.measured["switch_rate"] == 1.0
    bad = {"unique_set": [_run({"single": (0.3, 0.3 + d), "looped": (0.8, 0.1 + d), "shift": (0.5, 0.2)}, seed=s)
                          for s, d in zip(seeds, (0.0, 0.01, -0.01))]}
    assert A.f4_claim(bad, cfg, "ci", seeds).verdict == "fails"
    # every arm at the input-blind level beyond the training length: no length comparison, inconclusive
    blind = 0.0
    chance = {"unique_set": [_run({"single": (0.3, blind), "looped": (0.8, blind + 1e-4 * d), "shift": (0.81, blind)},
                                  seed=s, switched=(d != 1)) for s, d in zip(seeds, (0, 1, 2))]}
    c = A.f4_claim(chance, cfg, "ci", seeds)
    assert c.verdict == "inconclusive" and c.measured["length_tasks"] == []
    assert "inconclusive by construction" in c.note and "never switched" in c.note
    assert c.measured["switch_rate"] == pytest.approx(2 / 3)


def test_a_live_shift_arm_spends_loopeds_flops_and_ends_in_its_decay():
    cfg = A.config("ci", max_steps=40)
    setting = A.TaskSetting("unique_set", (1, 6), (4, 12), 512, 8)
    cfg = replace(cfg, tasks=(setting,), shift=replace(cfg.shift, check_every=2, delta1=0.5, delta2=math.inf, patience=1))
    looped = A.run_arm(setting, 1000, "looped", cfg)["record"]
    shift = A.run_arm(setting, 1000, "shift", cfg)["record"]
    s = shift.meta["switch_step"]
    assert s is not None and s <= 10
    m = replace(cfg.model, max_len=A.make_split(setting, 1000).max_len)
    f1, f3 = (train_step_flops(m, n, 64, m.max_len) for n in (1, 3))
    n_after = math.floor((40 * f3 - s * f1) / f3 * (1 + 1e-9) + 1e-9)
    assert len(shift.train_step) == s + n_after  # equal compute: a hand count of the looped steps that fit
    assert flops_at_evals(shift)[-1] <= flops_at_evals(looped)[-1] * (1 + 1e-9)
    assert shift.lr[-1] == 0.0 and looped.lr[-1] == 0.0
    assert shift.lr[-cfg.decay_steps - 1] == pytest.approx(cfg.train.lr)  # the decay is the last D steps
    never = A.run_arm(setting, 1000, "shift", replace(cfg, shift=replace(cfg.shift, patience=10**6)))["record"]
    assert never.meta["switch_step"] is None and len(never.train_step) == math.floor(40 * f3 / f1)


def test_the_tasks_policy_rule():
    rec = {"in_margin": {"keep": [1.0, 2.0], "reset": [1.5, 1.5], "reset+rewarmup": [0.0, 0.0]}}
    assert A.choose_policy(rec) == "reset"  # tie at 1.5: reset first
    rec["in_margin"]["keep"] = [3.0, 2.0]
    assert A.choose_policy(rec) == "keep"
    if A.POLICY_SELECTION:
        assert A.POLICY_SELECTION["seeds"] == A.RULE_SEEDS
        assert A.choose_policy(A.POLICY_SELECTION) == A.CHOSEN_POLICY
