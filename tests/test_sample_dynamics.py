"""The sample-dynamics claims: computed from run records, true on the phenomenon, false without it."""

from dataclasses import replace

import numpy as np
import torch

from loopvalley.looped.sample_dynamics import config, measure_pair, plateau_onset, run_seed, sample_dynamics_claims
from loopvalley.seeds import teaching
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


def _jitter(pair, d):
    """The same pair with both models' accuracies shifted by d (a second 'seed')."""
    return {k: _record([a + d for a in r.eval_acc["simple"]], [a + d for a in r.eval_acc["complex"]], r.meta["n_params"])
            for k, r in pair.items()}


def test_claims_hold_on_the_phenomenon():
    recs = [_jitter(_phenomenon(), d) for d in (0.0, 0.004, -0.003)]
    m = measure_pair(recs[0]["single"], recs[0]["looped"])
    assert abs(m.s1_gap - 3.0) < 0.1 and abs(m.single_complex_gain) < 0.1
    assert m.plateau_step < 250 and m.s2_rise > 10 and m.s2_gap > 10
    claims = sample_dynamics_claims(recs, "ci", teaching(3))
    assert [c.id for c in claims] == ["S1", "S2", "S3"] and [c.verdict for c in claims] == ["holds"] * 3


def test_claims_fail_without_the_phenomenon():
    rising_single = _record(_sat(0.64, 20), 0.45 + 0.1 * STEPS / 600)  # far from Bayes; no plateau
    flat_looped = _record(_sat(0.70, 20), _sat(0.54, 40), n_params=101)
    recs = [_jitter({"single": rising_single, "looped": flat_looped}, d) for d in (0.0, 0.003, -0.002)]
    s1, s2, s3 = sample_dynamics_claims(recs, "ci", teaching(3))
    assert s1.verdict == "fails" and "simple split" in s1.deciding_part
    assert s2.verdict == "fails"
    assert s3.verdict == "fails" and s3.deterministic


def test_mixed_seeds_are_inconclusive_not_a_verdict():
    good, bad = _phenomenon(), {"single": _phenomenon()["single"], "looped": _phenomenon()["single"]}
    s2 = sample_dynamics_claims([good, bad, _jitter(good, 0.01)], "ci", teaching(3))[1]
    assert s2.verdict == "inconclusive" and s2.ci_low < 0 < s2.ci_high


def test_run_seed_smoke():
    run = config("ci").run
    run = replace(run, train=replace(run.train, max_steps=6, eval_every=3),
                  data=replace(run.data, n_train=128, n_test=32, markov=replace(run.data.markov, seq_len=12)),
                  model=replace(run.model, max_len=12, d_model=8))
    out = run_seed(0, run)
    assert set(out.records) == {"single", "looped"}
    assert out.records["single"].eval_step == [0, 3, 6] and "references" in out.records["looped"].meta
    looped = out.model("looped", run)
    assert looped.n_loops == 3 and torch.equal(looped.attn.W_Q.weight, out.states["looped"]["attn.W_Q.weight"])


def test_capped_run_compresses_cadences_without_touching_the_original():
    full = config("paper").run
    capped = config("paper", max_steps=20).run
    assert capped.train.max_steps == 20 and capped.train.eval_every == max(1, round(full.train.eval_every * 20 / 600))
    assert full.train.max_steps == 600 and config("paper").run.train.max_steps == 600
