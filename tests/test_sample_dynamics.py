"""The sample-dynamics claims: computed from run records, true on the phenomenon, false without it."""

from dataclasses import replace

import numpy as np
import torch

from loopvalley.experiments.sample_dynamics import (
    measure_pair,
    plateau_onset,
    run_pair,
    sample_dynamics_claims,
    settings,
)
from loopvalley.train import RunRecord

torch.set_num_threads(1)
STEPS = np.arange(0, 601, 25)
REFS = {
    "simple": {"bayes": {"acc": 0.74, "loss": 0.6}, "bigram": {"acc": 0.67, "loss": 0.74}, "unigram": {"acc": 0.70, "loss": 0.7}},
    "complex": {"bayes": {"acc": 0.80, "loss": 0.5}, "bigram": {"acc": 0.73, "loss": 0.66}, "unigram": {"acc": 0.41, "loss": 1.04}},
}


def _record(simple, complex_, n_params=100):
    return RunRecord(
        meta={"references": REFS, "n_params": n_params, "steps_per_epoch": 32},
        eval_step=STEPS.tolist(),
        eval_acc={"simple": list(simple), "complex": list(complex_)},
        eval_loss={"simple": [0.7] * len(STEPS), "complex": [1.0] * len(STEPS)},
    )


def _sat(level, rate):
    return level * (1 - np.exp(-STEPS / rate)) + 0.33 * np.exp(-STEPS / rate)


def _phenomenon():
    single = _record(_sat(0.71, 20), _sat(0.53, 40))
    looped_complex = np.where(STEPS < 250, _sat(0.53, 40), 0.53 + 0.16 * (1 - np.exp(-(STEPS - 250) / 100)))
    return {"single": single, "looped": _record(_sat(0.70, 20), looped_complex)}


def test_plateau_onset():
    acc = np.array([0.3, 0.5, 0.52, 0.53, 0.53])
    assert plateau_onset(np.arange(5) * 10, acc, final=0.53, tol=0.01) == 20


def test_claims_hold_on_the_phenomenon():
    recs = [_phenomenon(), _phenomenon()]
    m = measure_pair(recs[0]["single"], recs[0]["looped"])
    assert abs(m["s1_gap"] - 3.0) < 0.1 and abs(m["single_complex_gain"]) < 0.1
    assert m["plateau_step"] < 250 and m["s2_rise"] > 10 and m["s2_gap"] > 10
    claims = sample_dynamics_claims(recs, "ci", [0, 1])
    assert [c.id for c in claims] == ["S1", "S2", "S3"] and all(c.holds for c in claims)


def test_claims_fail_without_the_phenomenon():
    rec = _phenomenon()
    rising_single = _record(_sat(0.64, 20), 0.45 + 0.1 * STEPS / 600)  # far from Bayes; no plateau
    flat_looped = _record(_sat(0.70, 20), _sat(0.54, 40), n_params=101)
    claims = sample_dynamics_claims([{"single": rising_single, "looped": flat_looped}, rec], "ci", [0, 1])
    s1, s2, s3 = claims
    assert not s1.holds and "simple split" in s1.note
    assert not s2.holds and "rises" in s2.note
    assert not s3.holds


def test_run_pair_smoke():
    s = settings("ci")
    s = replace(s, train=replace(s.train, max_steps=6, eval_every=3), n_train=128, n_test=32,
                markov=replace(s.markov, seq_len=12), model=replace(s.model, max_len=12, d_model=8))
    run = run_pair(0, s)
    assert set(run.records) == {"single", "looped"}
    assert run.records["single"].eval_step == [0, 3, 6] and run.records["looped"].n_loops == [3, 3, 3]
    assert run.models["looped"].n_loops == 3 and "references" in run.records["looped"].meta
