"""What a run spends: training FLOPs, counted by a probe, and the equal-compute budget.

A training step costs about 3× a forward pass (forward + backward), and a forward pass of a looped
model is linear in its loops (:func:`loopvalley.looped.models.forward_flops`). :class:`FlopCounter` is the
trainer probe that adds up Σ_k 3·F(n_loops_k) step by step, records the total at every evaluation
point, and — given a ``budget`` — stops the run before the step that would exceed it (SHIFT at
equal compute: a run that switches from Single- to Looped-Attn at step s may take
⌊(S·F₃ − s·F₁)/F₃⌋ Looped steps after the switch, :func:`equal_flop_steps`).

Introduced in notebooks/07_shift.
"""

from __future__ import annotations

import math

import numpy as np

from loopvalley._validate import check_positive
from loopvalley.looped.models import forward_flops


def train_step_flops(cfg, n_loops: int, batch: int, length: int) -> float:
    """FLOPs of one training step: forward + backward ≈ 3 × ``forward_flops`` (linear in loops).

    Introduced in notebooks/07_shift.
    """
    return 3.0 * forward_flops(cfg, n_loops, batch, length)


def equal_flop_steps(budget: float, spent: float, per_step: float) -> int:
    """How many more steps of cost ``per_step`` fit in ``budget`` after ``spent``:
    ⌊(budget − spent)/per_step⌋ (0 if none; a relative 1e-9 absorbs float summation order).

    Introduced in notebooks/07_shift.
    """
    per_step = check_positive("per_step", per_step)
    return max(0, math.floor((budget - spent) / per_step * (1 + 1e-9) + 1e-9))


class FlopCounter:
    """Trainer probe (every step): training FLOPs spent so far, Σ_k 3·F(n_loops_k).

    After step k it adds the cost of that step at the loops the model had when it was taken, and
    notes the loops for the next step. Put it **last** in the probe list, after any probe that
    changes ``model.n_loops`` (the SHIFT controller), so the next step is priced at the new loops.
    At every evaluation point it returns ``{"flops": spent, "n_loops": loops}`` (so the rows line
    up with ``record.eval_step``). With ``budget`` it calls ``trainer.request_stop()`` before the
    step that would take the total above ``budget`` (equal compute); the trainer's horizon must be
    long enough for the budget to bind.

    Introduced in notebooks/07_shift.
    """

    name = "flops"
    every = 1

    def __init__(self, budget: float | None = None):
        self.budget = None if budget is None else check_positive("budget", budget)
        self.spent, self._loops, self._cost = 0.0, None, {}

    def step_cost(self, trainer, n_loops: int) -> float:
        if n_loops not in self._cost:
            self._cost[n_loops] = train_step_flops(trainer.model.cfg, n_loops, trainer.batch_size,  # the global batch
                                                   int(trainer.train_tokens.shape[1]))
        return self._cost[n_loops]

    def __call__(self, trainer):
        if self._loops is not None and trainer.step > 0:
            self.spent += self.step_cost(trainer, self._loops)  # the step just taken, at its loops
        self._loops = int(trainer.model.n_loops)
        if self.budget is not None and self.spent + self.step_cost(trainer, self._loops) > self.budget * (1 + 1e-9):
            trainer.request_stop()
        if trainer.step % trainer.cfg.eval_every == 0 or trainer.done:
            return {"flops": self.spent, "n_loops": self._loops}
        return None

    def state_dict(self) -> dict:
        return {"spent": self.spent, "loops": self._loops}

    def load_state_dict(self, d) -> None:
        self.spent, self._loops = float(d["spent"]), d["loops"]


def flops_at_evals(record) -> np.ndarray:
    """Cumulative training FLOPs at each evaluation point of ``record`` (from its ``flops`` probe)."""
    if "flops" not in record.probes:
        raise ValueError("the record has no 'flops' probe rows: train with a loopvalley.looped.compute.FlopCounter")
    steps, flops = record.probe("flops", "flops")
    at = dict(zip(steps.tolist(), flops.tolist()))
    return np.asarray([at.get(int(s), np.nan) for s in record.eval_step])


def cost_ratio(model_cfg, batch: int, length: int, n_loops: int = 3) -> dict:
    """FLOPs of Looped- vs Single-Attn: ``{"ratio", "readout_share", "ideal"}`` where
    F(n) = n·P + R (P per loop, R the readout), ratio = F(n)/F(1) = n − (n−1)·R/F(1).

    Introduced in notebooks/06_full_gpu_training.
    """
    f1 = forward_flops(model_cfg, 1, batch, length)
    fn = forward_flops(model_cfg, n_loops, batch, length)
    readout = 2.0 * batch * length * model_cfg.d_model * model_cfg.vocab_size  # R = 2·B·T·d·V
    return {"ratio": fn / f1, "readout_share": readout / f1, "ideal": float(n_loops)}
