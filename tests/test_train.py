"""The trainer: losses, schedules, determinism, resume == uninterrupted, probes, FLOP accounting,
records, seeds side by side, errors."""

import ast
from functools import partial
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from loopvalley.checkpoint import load_trainer_state, save_checkpoint, trainer_state
from loopvalley.looped.compute import FlopCounter, flops_at_evals
from loopvalley.looped.models import ModelConfig, forward_flops, looped_attn, single_attn
from loopvalley.parallel import map_seeds
from loopvalley.train import (
    NonFiniteLossError,
    RunRecord,
    TrainConfig,
    Trainer,
    lr_at,
    next_token_loss,
    next_token_metrics,
)

torch.set_num_threads(1)
MCFG = ModelConfig(vocab_size=3, max_len=12, d_model=16, layernorm=True)
DATA = torch.randint(0, 3, (96, 12), generator=torch.Generator().manual_seed(0))
EVAL = {"a": DATA[:16], "b": DATA[16:40]}


def _model(loops=3, seed=0):
    return looped_attn(MCFG, loops, generator=torch.Generator().manual_seed(seed))


def _cfg(**kw):
    base = dict(batch_size=16, epochs=3, eval_every=4, schedule="cosine", warmup_steps=3, device="cpu", seed=0)
    return TrainConfig(**{**base, **kw})


class CountingProbe:
    """A probe with state: counts its calls; switches to 1 loop at step 6."""

    name, every = "count", 5

    def __init__(self):
        self.calls = 0

    def __call__(self, trainer):
        self.calls += 1
        if trainer.step == 5:
            trainer.model.n_loops = 1
        return {"calls": self.calls, "vec": torch.arange(3.0) * trainer.step}

    def state_dict(self):
        return {"calls": self.calls}

    def load_state_dict(self, d):
        self.calls = d["calls"]


def test_loss_and_accuracy_match_a_manual_computation():
    model, x = _model(), DATA[:4]
    logits = model(x)
    want = F.cross_entropy(logits[:, :-1].reshape(-1, 3), x[:, 1:].reshape(-1))
    assert torch.allclose(next_token_loss(model, x), want)
    acc = (logits[:, :-1].argmax(-1) == x[:, 1:]).float().mean()
    loss, got = next_token_metrics(model, x)
    assert loss == pytest.approx(float(want)) and got == pytest.approx(float(acc))


def test_schedules():
    c = _cfg(lr=1.0, warmup_steps=4, schedule="warmup_constant")
    assert [lr_at(k, c, 20) for k in (0, 3, 4, 19)] == [0.25, 1.0, 1.0, 1.0]
    c = _cfg(lr=1.0, warmup_steps=0, schedule="cosine")
    assert lr_at(0, c, 11) == 1.0 and abs(lr_at(10, c, 11)) < 1e-12 and abs(lr_at(5, c, 11) - 0.5) < 1e-12
    c = _cfg(lr=1.0, warmup_steps=0, schedule="wsd", decay_frac=0.5)
    assert [lr_at(k, c, 10) for k in (0, 4, 5, 9)] == [1.0, 1.0, 0.8, pytest.approx(0.0)]
    assert lr_at(7, _cfg(lr=0.3, schedule="constant"), 10) == 0.3


def test_determinism_per_seed():
    a = Trainer(_model(), DATA, EVAL, _cfg()).run()
    b = Trainer(_model(), DATA, EVAL, _cfg()).run()
    c = Trainer(_model(), DATA, EVAL, _cfg(seed=1)).run()
    assert a.train_loss == b.train_loss and a.eval_acc == b.eval_acc
    assert a.train_loss != c.train_loss


def test_resume_equals_uninterrupted(tmp_path):
    full_probe = CountingProbe()
    full = Trainer(_model(), DATA, EVAL, _cfg(), probes=[full_probe])
    rec = full.run()
    assert full.total_steps == 18 and full.epoch == 2

    first = Trainer(_model(), DATA, EVAL, _cfg(), probes=[CountingProbe()])
    first.run(steps=7)  # stops mid-epoch, after the probe switched to 1 loop
    path = save_checkpoint(first, tmp_path / "ckpt.pt")
    state = torch.load(path, weights_only=True)  # loadable without pickled objects
    probe = CountingProbe()
    resumed = Trainer(_model(seed=5), DATA, EVAL, _cfg(), probes=[probe])  # other weights: the state replaces them
    load_trainer_state(resumed, state)
    assert resumed.step == 7 and resumed.model.n_loops == 1 and probe.calls == first.probes[0].calls
    rec2 = resumed.run()

    assert rec.train_loss == rec2.train_loss  # bit for bit
    assert rec.eval_loss == rec2.eval_loss and rec.eval_acc == rec2.eval_acc
    assert rec.eval_step == rec2.eval_step and rec.probes == rec2.probes
    for p, q in zip(full.model.parameters(), resumed.model.parameters()):
        assert torch.equal(p, q)


def test_probe_protocol_and_compute_accounting():
    probe = CountingProbe()
    t = Trainer(_model(), DATA, EVAL, _cfg(epochs=2), probes=[probe, FlopCounter()])  # 12 steps
    rec = t.run()
    assert rec.probes["count"]["step"] == [0, 5, 10, 12]  # step 0, every 5, the end
    assert rec.probes["count"]["vec"][1] == [0.0, 5.0, 10.0]
    steps, loops = rec.probe("flops", "n_loops")  # the model's loops at each evaluation point
    assert rec.eval_step == [0, 4, 8, 12] and [dict(zip(steps.tolist(), loops.tolist()))[s] for s in rec.eval_step] == [3, 3, 1, 1]
    loops = [3] * 5 + [1] * 7  # the probe switches to 1 loop after 5 steps: later steps are priced at 1 loop
    cum = np.cumsum([0] + [3 * forward_flops(MCFG, k, 16, 12) for k in loops])  # closed form, per step
    assert flops_at_evals(rec) == pytest.approx(cum[[0, 4, 8, 12]])
    assert rec.wall[-1] > 0 and all(np.diff(rec.wall) >= 0)
    assert set(rec.eval_acc) == {"a", "b"} and t.probe_batch.shape == (96, 12)


def test_flop_budget_stops_before_the_step_that_would_exceed_it():
    per = 3 * forward_flops(MCFG, 3, 16, 12)
    t = Trainer(_model(), DATA, EVAL, _cfg(epochs=3), probes=[FlopCounter(budget=5.5 * per)])
    rec = t.run()
    assert t.step == 5 and flops_at_evals(rec)[-1] == pytest.approx(5 * per) and rec.eval_step[-1] == 5


def test_request_stop_and_optimizer_rebuild():
    class Stopper:
        name, every = "stop", 1

        def __call__(self, trainer):
            if trainer.step == 3:
                trainer.build_optimizer()  # SHIFT may reset the optimizer
            if trainer.step == 5:
                trainer.request_stop()

    t = Trainer(_model(), DATA, EVAL, _cfg(), probes=[Stopper()])
    rec = t.run()
    assert t.step == 5 and rec.eval_step[-1] == 5 and len(rec.train_loss) == 5


def test_record_save_and_load(tmp_path):
    rec = Trainer(_model(), DATA, EVAL, _cfg(epochs=1), probes=[CountingProbe()]).run()
    for suffix in (".json", ".npz"):
        back = RunRecord.load(rec.save(tmp_path / f"run{suffix}"))
        assert back.to_dict() == rec.to_dict()
    steps, acc = back.curve("b", "acc")
    assert steps.shape == acc.shape and steps[0] == 0
    steps, vec = back.probe("count", "vec")
    assert vec.shape == (len(steps), 3)


def test_sgd_and_single_attn_learn():
    x = torch.tensor([[0, 1, 2] * 4] * 64)  # a deterministic cycle
    t = Trainer(single_attn(MCFG, torch.Generator().manual_seed(0)), x, {"a": x[:8]},
                _cfg(optimizer="sgd", lr=0.5, momentum=0.9, epochs=15, schedule="constant"))
    rec = t.run()
    assert rec.eval_loss["a"][-1] < 0.5 * rec.eval_loss["a"][0]


def test_nan_loss_names_the_step():
    def nan_after_2(model, tokens, calls=[0]):
        calls[0] += model.training  # count training calls only (evaluation runs in eval mode)
        loss = next_token_loss(model, tokens)
        return loss * float("nan") if calls[0] > 2 else loss

    t = Trainer(_model(), DATA, EVAL, _cfg(), loss_fn=nan_after_2)
    with pytest.raises(ValueError, match="step 2"):
        t.run()
    assert issubclass(NonFiniteLossError, FloatingPointError)


@pytest.mark.parametrize(
    "kwargs, name",
    [({"optimizer": "lion"}, "optimizer"), ({"schedule": "step"}, "schedule"), ({"lr": 0.0}, "lr"),
     ({"batch_size": 0}, "batch_size"), ({"device": "tpu"}, "device"), ({"eval_every": 0}, "eval_every")],
)
def test_bad_config_raises(kwargs, name):
    with pytest.raises(ValueError, match=name):
        TrainConfig(**kwargs)


def test_bad_data_and_probe_raise():
    with pytest.raises(ValueError, match="train_tokens"):
        Trainer(_model(), DATA[:, :1], EVAL, _cfg())

    class NoEvery:
        name = "x"

        def __call__(self, t):
            return None

    with pytest.raises(ValueError, match="every"):
        Trainer(_model(), DATA, EVAL, _cfg(), probes=[NoEvery()])


def test_loading_a_state_does_not_alias_it():
    t = Trainer(_model(), DATA, EVAL, _cfg())
    t.run(steps=4)
    state = trainer_state(t)
    n, w = len(state["record"]["train_loss"]), state["model"]["attn.W_Q.weight"].clone()
    u = Trainer(_model(), DATA, EVAL, _cfg())
    load_trainer_state(u, state)
    u.run(steps=3)
    assert len(state["record"]["train_loss"]) == n  # the caller's state is left as it was
    assert torch.equal(state["model"]["attn.W_Q.weight"], w)


def _train_seed(seed, steps=6):
    """A small run per seed (module level: picklable for the worker processes)."""
    model = looped_attn(MCFG, 3, generator=torch.Generator().manual_seed(seed))
    return Trainer(model, DATA, EVAL, _cfg(epochs=1, seed=seed, max_steps=steps)).run().to_dict()


def test_seeds_side_by_side_equal_sequential_runs():
    seeds = [0, 1, 2]
    torch.set_num_threads(1)
    alone = [_train_seed(s) for s in seeds]
    together = map_seeds(partial(_train_seed, steps=6), seeds, workers=2)
    assert [a["train_loss"] for a in alone] == [b["train_loss"] for b in together]  # bit for bit, in seed order
    assert [a["eval_acc"] for a in alone] == [b["eval_acc"] for b in together]
    assert map_seeds(_train_seed, [], workers=2) == []
    with pytest.raises(ValueError, match="workers"):
        map_seeds(_train_seed, seeds, workers=0)


def test_trainer_knows_nothing_about_the_model():
    src = (Path(__file__).resolve().parents[1] / "lib/loopvalley/train.py").read_text()
    imported = {n.module for n in ast.walk(ast.parse(src)) if isinstance(n, ast.ImportFrom)}
    assert not any(m and "models" in m for m in imported)
    tree = ast.parse(src)
    cls = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "Trainer")
    assert cls.end_lineno - cls.lineno + 1 <= 160  # the loop, evaluation and probes: minGPT-sized
