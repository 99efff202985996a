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


def _run(by, task="unique_set", seed=1000, switched=True, switch=100):
    """A TaskRun with planted exact match per arm: ``by[arm] = (in_value, out_value)``."""
    L = list(range(4, 13))
    bl = baselines_by_length(task, (4, 12))
    recs, by_length = {}, {}
    for arm, (vin, vout) in by.items():
        em = [vin if n <= 6 else vout for n in L]
        by_length[arm] = {"length": L, "exact_match": em, "token_acc": em, "n_problems": [64] * len(L)}
        s = switch if (arm in ("shift", "oracle") and (switched or arm == "oracle")) else None
        recs[arm] = RunRecord(meta={"switch_step": s, "single_step_flops": 1.0, "flop_budget": 1000.0,
                                    "cpu_seconds": 1.0}, eval_step=[0, 10])
    return A.TaskRun(task, seed, recs, by_length, 2400, 4096, 26, baselines=bl)


def _cfg():
    return replace(A.config("ci"), tasks=(A.TaskSetting("unique_set", (1, 6), (4, 12), 4096, 64),))


def test_length_windows():
    st = A.TaskSetting("unique_set", (1, 6), (4, 12), 4096, 64)
    assert A.length_window(st, "training") == [4, 5, 6] and A.length_window(st, "beyond") == [7, 8, 9, 10, 11, 12]
    assert A.length_window(st, "near") == [7, 8, 9] and A.length_window(st, "far") == [10, 11, 12]
    assert A.length_window(st, "all") == list(range(4, 13))
    with pytest.raises(ValueError, match="which"):
        A.length_window(st, "longer")


def test_measure_task_reads_the_planted_accuracies_and_baselines():
    r = _run({"single": (0.3, 0.02), "looped": (0.8, 0.3), "shift": (0.6, 0.1), "oracle": (0.7, 0.2)})
    m = A.measure_task(r, _cfg().tasks[0])
    assert m["looped_in"] == pytest.approx(80) and m["single_out"] == pytest.approx(2) and m["oracle_in"] == pytest.approx(70)
    bl = baselines_by_length("unique_set", (7, 12))
    assert m["majority_out"] == pytest.approx(100 * np.mean(bl["majority_exact_match"]))
    assert m["best_over_baseline_out"] == pytest.approx(30 - max(m["chance_out"], m["majority_out"]))
    assert m["shift_switched"] and m["shift_switch_step"] == 100 and m["shift_single_share"] == pytest.approx(0.1)


def _three(by_of_d, seeds, **kw):
    return {"unique_set": [_run(by_of_d(d), seed=s, **kw) for s, d in zip(seeds, (0.0, 0.01, -0.01))]}


def test_f4a_holds_fails_and_is_inconclusive_by_construction_at_chance():
    cfg, seeds = _cfg(), confirmatory(3)
    good = _three(lambda d: {"single": (0.3, 0.02 + d), "looped": (0.8, 0.3 + d), "shift": (0.5, 0.1), "oracle": (0.8, 0.2)}, seeds)
    c = A.claim_f4a(good, cfg, "ci", seeds)
    assert c.verdict == "holds" and c.measured["length_tasks"] == ["unique_set"] and c.margin == pytest.approx(28)
    bad = _three(lambda d: {"single": (0.3, 0.3 + d), "looped": (0.8, 0.1 + d), "shift": (0.5, 0.2), "oracle": (0.8, 0.2)}, seeds)
    assert A.claim_f4a(bad, cfg, "ci", seeds).verdict == "fails"
    # every arm at the input-blind level beyond the training length: no length comparison, inconclusive
    chance = _three(lambda d: {"single": (0.3, 0.0), "looped": (0.8, 1e-4 * d), "shift": (0.81, 0.0), "oracle": (0.8, 0.0)}, seeds)
    c = A.claim_f4a(chance, cfg, "ci", seeds)
    assert c.verdict == "inconclusive" and c.measured["length_tasks"] == []
    assert "inconclusive by construction" in c.note


def test_f4b_and_f4c_read_their_own_shift_arm():
    cfg, seeds = _cfg(), confirmatory(3)
    # the oracle switch matches Looped (+0.5 point), SCP's switch is 20 points under it
    runs = _three(lambda d: {"single": (0.3, 0.02), "looped": (0.8 + d, 0.3), "oracle": (0.805 + d, 0.25),
                             "shift": (0.6 + d, 0.05)}, seeds)
    b, c = A.claim_f4b(runs, cfg, "ci", seeds), A.claim_f4c(runs, cfg, "ci", seeds)
    assert b.verdict == "holds" and b.margin == pytest.approx(0.5 + 2.0)
    assert c.verdict == "fails" and c.margin == pytest.approx(-20 + 2.0)
    assert "−20.0 points" in c.note.replace("-", "−") and b.measured["switch_frac"] == cfg.switch_frac
    # the tolerance alternatives are recomputed: at 0 points F4b still holds, at 5 F4c still fails
    tol = lambda claim: {a["value"]: a["verdict"] for a in claim.alternatives if a["key"] == "tol"}  # noqa: E731
    assert tol(b) == {0.0: "holds", 5.0: "holds"} and tol(c) == {0.0: "fails", 5.0: "fails"}
    # a run SCP never switched is Single-Attn with Looped's FLOPs, and the note says so
    never = _three(lambda d: {"single": (0.3, 0.02), "looped": (0.8 + d, 0.3), "oracle": (0.8, 0.2), "shift": (0.3, 0.02)},
                   seeds, switched=False)
    c = A.claim_f4c(never, cfg, "ci", seeds)
    assert c.measured["switch_rate"] == 0.0 and "never switched" in c.note


def _sweep_results(best=0.2, seeds=(0, 1, 2), fractions=A.ORACLE_FRACTIONS):
    """Planted sweep results: the oracle arm's exact match at the training lengths peaks at ``best``."""
    cfg = _cfg()
    t = cfg.tasks[0]
    out = {}
    for s in seeds:
        base = _run({"single": (0.3, 0.01), "looped": (0.7, 0.2), "shift": (0.4, 0.02)}, seed=s)
        for arm in ("single", "looped"):
            out[(t.task, s, arm, None, None)] = {"record": base.records[arm], "by_length": base.by_length[arm]}
        out[(t.task, s, "shift", cfg.policy, None)] = {"record": base.records["shift"], "by_length": base.by_length["shift"]}
        for f in fractions:
            r = _run({"oracle": (0.7 - abs(f - best) - 0.001 * s, 0.1)}, seed=s, switch=int(f * 1000))
            out[(t.task, s, "oracle", cfg.policy, float(f))] = {"record": r.records["oracle"], "by_length": r.by_length["oracle"]}
    return cfg, out


def test_the_oracle_sweep_picks_the_planted_best_step():
    for best in (0.1, 0.2, 0.4):
        cfg, results = _sweep_results(best)
        rec = A.switch_selection(results, cfg, [0, 1, 2], A.ORACLE_FRACTIONS, "ci")
        assert A.choose_switch(rec) == best
        assert rec["in_margin"][f"{best:g}"] == pytest.approx([2.0 - 0.1 * s for s in range(3)])
        assert rec["switch_step"][f"{best:g}"] == [[int(best * 1000)]] * 3
    # ties go to the later switch (the larger saving)
    assert A.choose_switch({"in_margin": {"0.1": [1.0, 2.0], "0.3": [2.0, 1.0], "0.2": [0.0, 0.0]}}) == 0.3


def test_the_recorded_oracle_choice():
    from loopvalley.shift.experiment import CHOSEN_POLICY as MARKOV_CHOSEN

    assert A.CHOSEN_POLICY == A.MARKOV_POLICY == MARKOV_CHOSEN  # the Markov language's policy, carried over
    assert A.config("small").switch_frac == A.CHOSEN_FRACTION and A.config("small").policy == A.CHOSEN_POLICY
    if A.ORACLE_SELECTION:
        assert A.ORACLE_SELECTION["seeds"] == A.RULE_SEEDS and A.ORACLE_SELECTION["policy"] == A.CHOSEN_POLICY
        assert A.choose_switch(A.ORACLE_SELECTION) == A.CHOSEN_FRACTION
        assert [float(f) for f in A.ORACLE_SELECTION["in_margin"]] == list(A.ORACLE_FRACTIONS)


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
    # the oracle arm switches where it has spent the chosen share of Looped's FLOPs on Single-Attn: ⌊φ·B/F₁⌋
    oracle = A.run_arm(setting, 1000, "oracle", cfg, switch_frac=0.2)["record"]
    so = oracle.meta["switch_step"]
    assert so == math.floor(0.2 * 40 * f3 / f1) and oracle.meta["switch_frac"] == 0.2
    assert len(oracle.train_step) == so + math.floor((40 * f3 - so * f1) / f3 * (1 + 1e-9) + 1e-9)
    assert oracle.lr[-1] == 0.0 and oracle.meta["cpu_seconds"] > 0
    with pytest.raises(ValueError, match="switch_frac"):
        A.oracle_switch_step(0.95, A.shift_horizon(cfg, m, 40 * f3, 64, m.max_len), 40 * f3)
