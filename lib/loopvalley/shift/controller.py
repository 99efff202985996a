"""SHIFT: train the cheap Single-Attn first, then switch to Looped-Attn when the SHIFT Criterion with
Patience (SCP) fires; plus the compute accounting and the Theorem 3 diagnostics that justify it.

**The criterion (SCP).** The paper names thresholds δ1, δ2 and a patience W but not the monitored
quantities (paper-notes §7). Our reading, from the river-valley picture: Single-Attn lives in a
U-valley, so once it has gone down the part of the river it can reach (the simple patterns) its
*loss stops improving*; at a constant learning rate the iterate keeps hopping between the valley
walls, so the gradient does *not* vanish (its norm is no plateau signal, notebook 07 shows it) but
successive gradients *cancel*: there is no common drift left. Both signals are free (the loss and
gradient of the steps already taken). Over the window of ``check_every`` steps ending at check t:

    L_t = mean training loss,   ρ_t = ‖Σ_k ∇L_k‖ / Σ_k ‖∇L_k‖ ∈ [0, 1]   (gradient coherence)
    r_t = (L_{t−1} − L_t) / L_{t−1}         relative loss improvement over one window
    stalled_t = [r_t < δ1] ∧ [ρ_t < δ2]
    c_t = c_{t−1} + 1 if stalled_t else 0    the patience counter
    switch at the first t with c_t ≥ W

ρ = 1 when every step pushes the same way (river drift), ≈ 1/√(window) for independent noise, and
below that when successive steps point against each other (valley hopping).
δ2 = ∞ (or ≥ 1) turns the coherence condition off (a pure loss plateau). At the switch the model keeps every
weight bit for bit (``model.n_loops = 3``; Single- and Looped-Attn share all parameters); the Adam
moments are kept or reset, and the learning rate can be re-warmed linearly over R steps: the three
*switch policies* ``keep``, ``reset`` and ``reset+rewarmup`` (:data:`SWITCH_POLICIES`,
:func:`policy_settings`).

**A fair horizon.** A run at a constant learning rate is still hopping between the valley walls at
its horizon, so its accuracy understates its progress (notebooks 01–02: the decay reveals it). Every
arm is therefore compared at the end of the same decay phase: a warmup–stable–decay schedule whose
last ``decay_steps`` steps decay η linearly (:func:`wsd_lr`), whatever the arm's number of steps.

**Compute.** A training step costs 3× a forward pass, and a forward pass is linear in the number of
loops (:func:`loopvalley.looped.models.forward_flops`), so a run that switches at step s of S costs
s·F₁ + (S − s)·F₃ instead of S·F₃. Compared at *equal compute* (the budget S·F₃ of a Looped run of
S steps), a SHIFT run that switches at step s may take ⌊(S·F₃ − s·F₁)/F₃⌋ Looped steps after the
switch (:func:`loopvalley.looped.compute.equal_flop_steps`; :class:`loopvalley.looped.compute.FlopCounter` with a
budget stops a live run there).

**Theorem 3 (shared river upstream).** At the same weights θ the gradients of Single- and
Looped-Attn with respect to W_Q and W_K should point the same way early in training, under
diagonal-dominance and near-PSD premises on the attention weights; :func:`gradient_alignment` and
:func:`theorem3_premises` measure both.

Introduced in notebooks/07_shift.
"""

from __future__ import annotations

import copy
import math
from dataclasses import asdict, dataclass, field, replace
from typing import Callable, Mapping

import numpy as np
import torch

from loopvalley._validate import check_choice, check_int, check_positive, check_range
from loopvalley.checkpoint import load_trainer_state, trainer_state
from loopvalley.looped.compute import FlopCounter, equal_flop_steps
from loopvalley.looped.models import build_model
from loopvalley.schedule import lr_multiplier
from loopvalley.train import Trainer

OPTIMIZER_STATES = ("keep", "reset")
ATTN_WEIGHTS = ("W_Q", "W_K", "W_V", "W_O")
SWITCH_POLICIES = ("keep", "reset", "reset+rewarmup")  # what happens to Adam and η at the switch


def _f(default, help: str, **kw):
    return field(default=default, metadata={"help": help, **kw})


# ----------------------------------------------------------------------------------------------
# The criterion, as a pure function of a recorded history


def criterion_trace(history: Mapping, delta1: float, delta2: float, patience: int) -> dict:
    """Replay SCP on ``history`` (``{"loss": [...], "coherence": [...]}``, one entry per check).

    Returns ``{"r", "rho", "stalled", "count", "fire"}``: the relative improvement r_t, the gradient
    coherence ρ_t, the stalled flags, the patience counter c_t and the index of the check at which
    the switch fires (``None`` if it never does). Check 0 has no predecessor, so it is never stalled.

    Introduced in notebooks/07_shift.
    """
    delta1 = check_positive("delta1", delta1, allow_zero=True)
    delta2 = _check_delta2(delta2)
    patience = check_int("patience", patience, 1)
    L = np.asarray(history["loss"], dtype=float)
    rho = np.asarray(history["coherence"], dtype=float)
    if L.shape != rho.shape or L.ndim != 1:
        raise ValueError(f"history loss and coherence must be 1-D of equal length, got {L.shape}, {rho.shape}")
    r = np.full(L.shape, np.nan)
    r[1:] = (L[:-1] - L[1:]) / L[:-1]  # r_t = (L_{t−1} − L_t) / L_{t−1}
    stalled = np.zeros(L.shape, dtype=bool)
    stalled[1:] = (r[1:] < delta1) & (rho[1:] < delta2)  # stalled_t = [r_t < δ1] ∧ [ρ_t < δ2]
    count = np.zeros(L.shape, dtype=int)
    fire = None
    for t in range(len(L)):
        count[t] = (count[t - 1] if t > 0 else 0) + 1 if stalled[t] else 0  # c_t
        if fire is None and count[t] >= patience:
            fire = t
    return {"r": r, "rho": rho, "stalled": stalled, "count": count, "fire": fire}


def switch_criterion(history: Mapping, delta1: float, delta2: float, patience: int):
    """The step at which SCP switches Single-Attn → Looped-Attn on a recorded ``history``, or ``None``.

    ``history`` holds ``"loss"`` and ``"coherence"`` (one entry per check) and optionally ``"step"``
    (without it the check index is returned). A check is *stalled* when the relative loss improvement
    r_t < δ1 (``delta1``) and the gradient coherence ρ_t < δ2 (``delta2``; ``inf`` ignores it); the
    switch fires at the W-th (``patience``) consecutive stalled check.

    Introduced in notebooks/07_shift.
    """
    fire = criterion_trace(history, delta1, delta2, patience)["fire"]
    if fire is None:
        return None
    steps = history.get("step") if hasattr(history, "get") else None
    return int(steps[fire]) if steps is not None else int(fire)


def _check_delta2(delta2) -> float:
    if isinstance(delta2, (int, float)) and math.isinf(delta2) and delta2 > 0:
        return math.inf
    return check_positive("delta2", delta2)


# ----------------------------------------------------------------------------------------------
# The controller: a trainer probe that monitors, decides and switches


@dataclass
class ShiftConfig:
    delta1: float = _f(0.01, "δ1: a check is stalled when the relative loss improvement r_t < δ1")
    delta2: float = _f(0.2, "δ2: ... and the gradient coherence ρ_t < δ2 (0.2 ≈ 1/√25, iid noise; inf: off)")
    patience: int = _f(3, "W: consecutive stalled checks before switching")
    check_every: int = _f(25, "steps per check (the window the loss and gradients are averaged over)")
    loops_after_switch: int = _f(3, "the model's loops after the switch (Looped-Attn)")
    optimizer_state: str = _f("keep", "keep the Adam moments at the switch or reset them", choices=OPTIMIZER_STATES)
    rewarmup_steps: int = _f(0, "R: after the switch, η ← η · min(1, (k − s + 1)/R); 0 = off")
    act: bool = _f(True, "False: only monitor (record L_t, ρ_t for replay), never switch")
    switch_at: int | None = _f(None, "switch at this step regardless of SCP (a fixed-schedule baseline)")

    def __post_init__(self):
        check_positive("delta1", self.delta1, allow_zero=True)
        self.delta2 = _check_delta2(self.delta2)
        check_int("patience", self.patience, 1)
        check_int("check_every", self.check_every, 1)
        check_int("loops_after_switch", self.loops_after_switch, 2)
        check_choice("optimizer_state", self.optimizer_state, OPTIMIZER_STATES)
        check_int("rewarmup_steps", self.rewarmup_steps, 0)
        if self.switch_at is not None:
            check_int("switch_at", self.switch_at, 0)

    def to_dict(self) -> dict:
        return asdict(self)


class ShiftController:
    """The SHIFT probe for :class:`loopvalley.train.Trainer` (called every step, ``every = 1``).

    Every step it adds the step's training loss and gradient ∇L to the current window (both already
    computed by the step, so monitoring costs one vector add); every ``check_every`` steps it closes
    the window, records ``loss``, ``coherence``, ``grad_norm`` (mean ‖∇L‖, for display), ``r``,
    ``count`` and the model's ``n_loops``, and, when SCP fires, switches: ``model.n_loops =
    cfg.loops_after_switch`` (weights untouched), optionally resets the optimizer, calls
    ``on_switch(trainer)`` (e.g. to set an equal-compute horizon and its decay) and re-warms the
    learning rate. ``switch_step`` holds the
    step of the switch. With ``deadline`` SCP may only switch at a check at or before that step (a
    run that has not switched by then stays Single: e.g. once its own decay phase has begun).

    Introduced in notebooks/07_shift.
    """

    name = "shift"
    every = 1

    def __init__(self, cfg: ShiftConfig | None = None, deadline: int | None = None,
                 on_switch: Callable | None = None):
        self.cfg = cfg if cfg is not None else ShiftConfig()
        self.deadline = None if deadline is None else check_int("deadline", deadline, 0)
        self.on_switch = on_switch
        self.history = {"step": [], "loss": [], "coherence": [], "grad_norm": []}
        self.switch_step = None
        self._win_loss, self._win_gnorm, self._win_gsum = [], [], None
        self._seen_step = 0

    # -- probe protocol
    def __call__(self, trainer):
        # the step just taken: its loss is the last entry of the record, its gradient still in .grad
        c = self.cfg
        if c.act and c.switch_at is not None and self.switch_step is None and trainer.step >= c.switch_at:
            self.switch(trainer)
        if trainer.step == 0 or trainer.step == self._seen_step:
            return None
        self._seen_step = trainer.step
        grad = _flat_grad(trainer.model)  # ∇L_k of the step just taken
        self._win_loss.append(trainer.record.train_loss[-1])
        self._win_gnorm.append(float(grad.norm()))
        self._win_gsum = grad if self._win_gsum is None else self._win_gsum + grad  # Σ_k ∇L_k
        if trainer.step % self.cfg.check_every:
            return None
        L = float(np.mean(self._win_loss))
        rho = float(self._win_gsum.norm()) / max(float(np.sum(self._win_gnorm)), 1e-30)  # ρ_t
        G = float(np.mean(self._win_gnorm))
        self._win_loss, self._win_gnorm, self._win_gsum = [], [], None
        h = self.history
        h["step"].append(trainer.step)
        h["loss"].append(L)
        h["coherence"].append(rho)
        h["grad_norm"].append(G)
        trace = criterion_trace(h, c.delta1, c.delta2, c.patience)
        t = len(h["loss"]) - 1
        in_time = self.deadline is None or trainer.step <= self.deadline
        if c.act and c.switch_at is None and self.switch_step is None and trace["fire"] == t and in_time:
            self.switch(trainer)
        return {
            "loss": L,
            "coherence": rho,
            "grad_norm": G,
            "r": float(trace["r"][t]),
            "count": int(trace["count"][t]),
            "n_loops": int(trainer.model.n_loops),
        }

    def switch(self, trainer) -> None:
        """Single-Attn → Looped-Attn at the current step: same weights, ``cfg.loops_after_switch`` loops.

        Introduced in notebooks/07_shift.
        """
        c = self.cfg
        self.switch_step = int(trainer.step)
        trainer.record.meta["switch_step"] = self.switch_step
        trainer.model.n_loops = c.loops_after_switch  # θ unchanged: both architectures share every parameter
        if c.optimizer_state == "reset":
            trainer.build_optimizer()  # fresh Adam moments m = v = 0
        if self.on_switch is not None:
            self.on_switch(trainer)
        if c.rewarmup_steps > 0:
            trainer.lr_fn = rewarmed(trainer.lr_fn, self.switch_step, c.rewarmup_steps)

    def state_dict(self) -> dict:
        """History, switch step and the partly filled check window (so a resume mid-window is exact)."""
        return {
            "history": {k: list(v) for k, v in self.history.items()},
            "switch_step": self.switch_step,
            "window": {"loss": list(self._win_loss), "gnorm": list(self._win_gnorm),
                       "gsum": None if self._win_gsum is None else self._win_gsum.tolist(),
                       "dtype": None if self._win_gsum is None else str(self._win_gsum.dtype).split(".")[-1]},
            "seen_step": self._seen_step,
        }

    def load_state_dict(self, d: Mapping) -> None:
        self.history = {k: list(v) for k, v in d["history"].items()}
        self.switch_step = d["switch_step"]
        w = d.get("window")
        if w is not None:
            self._win_loss, self._win_gnorm = list(w["loss"]), list(w["gnorm"])
            self._win_gsum = None if w["gsum"] is None else torch.tensor(w["gsum"], dtype=getattr(torch, w["dtype"]))
            self._seen_step = d["seen_step"]


def policy_settings(policy: str, rewarmup_steps: int = 20) -> dict:
    """The :class:`ShiftConfig` fields of a switch policy (:data:`SWITCH_POLICIES`):

    - ``keep``: Adam's moments m, v carry over (calibrated on Single's gradients);
    - ``reset``: m = v = 0 at the switch (Adam's bias correction restarts, so the first looped steps
      are normalised by the looped gradients alone);
    - ``reset+rewarmup``: reset, and η ramps up again linearly over ``rewarmup_steps`` steps.

    Introduced in notebooks/07_shift.
    """
    check_choice("policy", policy, SWITCH_POLICIES)
    rewarmup_steps = check_int("rewarmup_steps", rewarmup_steps, 1)
    return {"optimizer_state": "keep" if policy == "keep" else "reset",
            "rewarmup_steps": rewarmup_steps if policy == "reset+rewarmup" else 0}


def with_policy(cfg: ShiftConfig, policy: str, rewarmup_steps: int = 20) -> ShiftConfig:
    """``cfg`` with the switch mechanics of ``policy`` (:func:`policy_settings`).

    Introduced in notebooks/07_shift.
    """
    return replace(cfg, **policy_settings(policy, rewarmup_steps))


def wsd_lr(train_cfg, total_steps: int, decay_steps: int) -> Callable[[int], float]:
    """η_k of warmup–stable–decay with a decay of exactly ``decay_steps`` steps ending at ``total_steps``:

        η_k = η·(k+1)/W             for k < W (``train_cfg.warmup_steps``),
        η_k = η                     for W ≤ k < S − D,
        η_k = η·(1 − (1 − m)·(k − (S − D) + 1)/D)   for S − D ≤ k < S   (m = ``min_lr_frac``),

    with S = ``total_steps`` and D = ``decay_steps`` (0: no decay, a warmup–constant schedule) — the
    ``wsd`` kind of :func:`loopvalley.schedule.lr_multiplier` with an absolute decay length. The
    stable part does not depend on S, so two runs of different lengths agree step for step until
    the shorter one's decay starts — which is what lets SHIFT continue a Single run from a snapshot.

    Introduced in notebooks/07_shift.
    """
    total_steps = check_int("total_steps", total_steps, 1)
    decay_steps = check_int("decay_steps", decay_steps, 0, total_steps)
    eta, W, m = float(train_cfg.lr), int(train_cfg.warmup_steps), float(train_cfg.min_lr_frac)

    def lr(k: int) -> float:
        return lr_multiplier(k, "wsd", total_steps, W, decay_steps, m, peak=eta)  # the shared schedule

    return lr


def shift_lr(train_cfg, total_steps: int, decay_steps: int, switch_step: int | None = None,
             rewarmup_steps: int = 0) -> Callable[[int], float]:
    """SHIFT's schedule: :func:`wsd_lr`, re-warmed over ``rewarmup_steps`` after ``switch_step``
    (:func:`rewarmed`; ``0`` or no switch: not re-warmed).

    Introduced in notebooks/07_shift.
    """
    lr = wsd_lr(train_cfg, total_steps, decay_steps)
    if switch_step is not None and rewarmup_steps > 0:
        lr = rewarmed(lr, int(switch_step), rewarmup_steps)
    return lr


class Snapshots:
    """A trainer probe that keeps a copy of the full trainer state every ``every`` steps (or only at
    the steps in ``steps``), so a run can later be *continued* from any of them — a Single run with a
    switch at any check step (:func:`shift_trainer`), a SHIFT run with a decay started at any step —
    without re-running its prefix. Memory: one model + optimizer state + record per snapshot.

    Introduced in notebooks/07_shift.
    """

    name = "snapshots"

    def __init__(self, every: int = 1, steps=None):
        self.every = check_int("every", every, 1)
        self.steps = None if steps is None else {check_int("steps", int(k), 0) for k in steps}
        if self.steps is not None:
            self.every = 1
        self.states: dict = {}

    def __call__(self, trainer):
        if self.steps is None or int(trainer.step) in self.steps:
            self.states[int(trainer.step)] = copy.deepcopy(trainer_state(trainer))
        return None


def resume_trainer(snapshot: Mapping, model_cfg, train_tokens, eval_sets, train_cfg, probes=(),
                   total_steps: int | None = None, lr_fn: Callable | None = None, **trainer_kwargs):
    """A :class:`loopvalley.train.Trainer` in the state of ``snapshot`` (a :class:`Snapshots` entry or
    :func:`loopvalley.checkpoint.trainer_state`), with ``probes`` (their states restored by name), a
    new horizon ``total_steps`` and schedule ``lr_fn`` if given. The snapshot is not modified.

    Introduced in notebooks/07_shift.
    """

    model = build_model(model_cfg, torch.Generator().manual_seed(0))  # weights come from the snapshot
    trainer = Trainer(model, train_tokens, eval_sets, train_cfg, probes=list(probes), **trainer_kwargs)
    load_trainer_state(trainer, snapshot)
    if total_steps is not None:
        trainer.total_steps = check_int("total_steps", total_steps, trainer.step)
        trainer.record.meta["total_steps"] = int(trainer.total_steps)
    if lr_fn is not None:
        trainer.lr_fn = lr_fn
    return trainer


def shift_trainer(snapshot: Mapping, model_cfg, train_tokens, eval_sets, train_cfg,
                  shift_cfg: ShiftConfig | None = None, *, flop_budget: float | None = None,
                  decay_steps: int | None = None, total_steps: int | None = None, switch: bool = True,
                  probes=(), **trainer_kwargs):
    """Resume a Single run from ``snapshot`` (its step s), switch to Looped-Attn there with
    ``shift_cfg``'s mechanics (``switch=False``: stay Single), and return the trainer, ready to run.

    The horizon: ``total_steps`` if given; else with ``flop_budget`` the last step that keeps the
    run's training FLOPs ≤ ``flop_budget`` (equal compute: s + :func:`equal_flop_steps` steps); else
    ``train_cfg``'s. With ``decay_steps`` the schedule is :func:`shift_lr` (stable, then the last
    ``decay_steps`` steps decay η; ``0``: no decay) — otherwise ``train_cfg``'s schedule over the new
    horizon. ``probes`` run after the controller and the FLOP counter (a :class:`Snapshots` must come
    after the counter, so that a snapshot holds the FLOPs of its own step). The snapshot's run must
    have had a :class:`loopvalley.looped.compute.FlopCounter`.

    Introduced in notebooks/07_shift.
    """
    ctl, counter = ShiftController(shift_cfg), FlopCounter()
    trainer = resume_trainer(snapshot, model_cfg, train_tokens, eval_sets, train_cfg,
                             probes=[ctl, counter, *probes], **trainer_kwargs)
    s = int(trainer.step)
    loops = ctl.cfg.loops_after_switch if switch else int(trainer.model.n_loops)
    if total_steps is None and flop_budget is not None:
        total_steps = s + equal_flop_steps(flop_budget, counter.spent, counter.step_cost(trainer, loops))
    if total_steps is not None:
        trainer.total_steps = check_int("total_steps", total_steps, s)
    trainer.record.meta.update(total_steps=int(trainer.total_steps))
    if flop_budget is not None:
        trainer.record.meta["flop_budget"] = float(flop_budget)
    if decay_steps is not None:
        trainer.lr_fn = wsd_lr(train_cfg, trainer.total_steps, min(decay_steps, trainer.total_steps))
        trainer.record.meta["decay_steps"] = int(decay_steps)
    if switch:
        ctl.switch(trainer)  # n_loops ← loops_after_switch, the optimizer policy, the re-warmup on top of lr_fn
        counter.load_state_dict({"spent": counter.spent, "loops": int(trainer.model.n_loops)})  # next step looped
    else:
        trainer.record.meta["switch_step"] = None
    return trainer


def rewarmed(lr_fn: Callable[[int], float], start: int, steps: int) -> Callable[[int], float]:
    """η'(k) = η(k) · min(1, (k − start + 1)/steps) for k ≥ start: a linear re-warmup after the switch.

    Introduced in notebooks/07_shift.
    """
    steps = check_int("rewarmup_steps", steps, 1)

    def lr(k: int) -> float:
        return lr_fn(k) * (min(1.0, (k - start + 1) / steps) if k >= start else 1.0)

    return lr


def _flat_grad(model: torch.nn.Module) -> torch.Tensor:
    """∇L as one flat vector (zeros for parameters without a gradient)."""
    return torch.cat([
        (p.grad.detach() if p.grad is not None else torch.zeros_like(p)).flatten().double()
        for p in model.parameters()
    ])


# ----------------------------------------------------------------------------------------------
# What a run spent and reached


def switch_step_of(record) -> int | None:
    """The step at which the run switched to Looped-Attn (``None`` if it never did).

    Introduced in notebooks/07_shift.
    """
    s = record.meta.get("switch_step")
    return None if s is None else int(s)


def transient_drop(record, split: str = "complex", window: int | None = None) -> float:
    """Accuracy lost right after the switch: acc(last eval ≤ s) − min acc over evals in (s, s + window].

    Positive = a drop (paper Figs. 12–16); 0 when the run never switched. ``window`` defaults to a
    tenth of the run.

    Introduced in notebooks/07_shift.
    """
    s = switch_step_of(record)
    if s is None:
        return 0.0
    steps, acc = record.curve(split, "acc")
    window = window if window is not None else max(1, int(steps[-1]) // 10)
    before = acc[steps <= s]
    after = acc[(steps > s) & (steps <= s + window)]
    if not len(before) or not len(after):
        return 0.0
    return float(max(0.0, before[-1] - after.min()))


def flop_ratio_bound(switch_step: int, looped_steps_to_target: float, looped_steps: int, cost_ratio: float) -> float:
    """F2's best case: the smallest fraction of Looped's training FLOPs with which SHIFT can reach
    what Looped reaches after T_L steps, if every one of SHIFT's s Single steps were worth a Looped
    step (a perfect substitute):

        (s·F₁ + (T_L − s)·F₃) / (S·F₃) = (T_L − s·(1 − c)) / S,     c = F₁/F₃,

    with s = min(``switch_step``, T_L) (Single steps past T_L could not be needed), T_L =
    ``looped_steps_to_target``, S = ``looped_steps``, c = ``cost_ratio``. ``inf`` when Looped never
    reached the target. A measured ratio below this would mean Single steps beat Looped steps.

    Introduced in notebooks/07_shift.
    """
    if not math.isfinite(looped_steps_to_target):
        return math.inf
    c = check_range("cost_ratio", cost_ratio, 0.0, 1.0)
    S = check_int("looped_steps", looped_steps, 1)
    s = min(check_int("switch_step", switch_step, 0), looped_steps_to_target)
    return (looped_steps_to_target - s * (1 - c)) / S  # (T_L − s(1 − c)) / S


# ----------------------------------------------------------------------------------------------
# Theorem 3: gradient alignment of W_Q, W_K between Single- and Looped-Attn, and its premises


def attn_grads(model, tokens: torch.Tensor, n_loops: int, loss_fn: Callable) -> dict:
    """∂L/∂W for W in W_Q, W_K, W_V, W_O with the model run at ``n_loops`` loops (weights unchanged).

    Introduced in notebooks/07_shift.
    """
    old_loops = model.n_loops
    old_grads = [p.grad for p in model.parameters()]  # keep the training step's gradient intact
    model.n_loops = n_loops
    try:
        model.zero_grad(set_to_none=True)
        loss_fn(model, tokens).backward()
        out = {w: getattr(model.attn, w).weight.grad.detach().clone() for w in ATTN_WEIGHTS}
    finally:
        model.n_loops = old_loops
        for p, g in zip(model.parameters(), old_grads):
            p.grad = g
    return out


def gradient_alignment(model, tokens: torch.Tensor, loss_fn: Callable, n_loops: int = 3) -> dict:
    """cos(∇_W L_single(θ), ∇_W L_looped(θ)) at the same weights θ, for W in W_Q, W_K, W_V, W_O.

    cos(a, b) = ⟨a, b⟩ / (‖a‖ ‖b‖). Theorem 3 predicts ≈ 1 for W_Q and W_K early in training.

    Introduced in notebooks/07_shift.
    """
    g1 = attn_grads(model, tokens, 1, loss_fn)
    g3 = attn_grads(model, tokens, n_loops, loss_fn)
    return {w: cosine(g1[w], g3[w]) for w in ATTN_WEIGHTS}


def cosine(a: torch.Tensor, b: torch.Tensor) -> float:
    """cos(a, b) = ⟨a, b⟩ / (‖a‖ ‖b‖) in float64 (NaN when either is exactly zero)."""
    a, b = a.detach().flatten().double(), b.detach().flatten().double()
    den = a.norm() * b.norm()
    return float(a @ b / den) if den > 0 else math.nan


def diagonal_dominance(A: torch.Tensor) -> float:
    """Fraction of rows i with |A_ii| ≥ Σ_{j≠i} |A_ij| (1 = diagonally dominant).

    Introduced in notebooks/07_shift.
    """
    A = A.detach().double()
    diag = A.diagonal().abs()
    off = A.abs().sum(1) - diag
    return float((diag >= off).double().mean())


def psd_ness(A: torch.Tensor) -> float:
    """How close the symmetric part S = (A + Aᵀ)/2 is to PSD: Σ max(λ_i, 0) / Σ |λ_i| ∈ [0, 1]
    (1 = PSD, 0 = negative semi-definite, ½ = as much negative as positive curvature).

    Introduced in notebooks/07_shift.
    """
    A = A.detach().double()
    lam = torch.linalg.eigvalsh((A + A.T) / 2)
    total = lam.abs().sum()
    return float(lam.clamp_min(0).sum() / total) if total > 0 else 1.0


def theorem3_premises(model) -> dict:
    """Assumptions 4–5 of Theorem 3 measured on the current weights (our reading; the paper's exact
    matrices are not public). With W_QK = W_Qᵀ W_K (scores = hᵀ W_QK h') and W_OV = W_O W_V:

    - ``dd_QK``, ``dd_OV``: diagonal dominance (fraction of dominant rows) of W_QK and W_OV;
    - ``psd_QK``, ``psd_OV``: PSD-ness of their symmetric parts;
    - ``psd_QK_OV``: PSD-ness of the composite product W_QK W_OV.

    Introduced in notebooks/07_shift.
    """
    a = model.attn
    W_QK = a.W_Q.weight.T @ a.W_K.weight  # q·k = (W_Q h)ᵀ(W_K h') = hᵀ W_Qᵀ W_K h'
    W_OV = a.W_O.weight @ a.W_V.weight  # the value path h ↦ W_O W_V h
    return {
        "dd_QK": diagonal_dominance(W_QK),
        "dd_OV": diagonal_dominance(W_OV),
        "psd_QK": psd_ness(W_QK),
        "psd_OV": psd_ness(W_OV),
        "psd_QK_OV": psd_ness(W_QK @ W_OV),
    }


def probe_steps(total: int, dense_until: int = 50, every: int = 25, until: int | None = None) -> list[int]:
    """The steps a :class:`Theorem3Probe` measures at in a run of ``total`` steps: every step
    0..``dense_until``, then every ``every`` steps, and the last step — none after ``until`` (if given).

    Introduced in notebooks/07_shift.
    """
    total = check_int("total", total, 0)
    dense_until = check_int("dense_until", dense_until, 0)
    every = check_int("every", every, 1)
    steps = set(range(0, min(dense_until, total) + 1)) | set(range(0, total + 1, every)) | {total}
    if until is not None:
        steps = {s for s in steps if s <= check_int("until", until, 0)}
    return sorted(steps)


class Theorem3Probe:
    """A trainer probe: the Single/Looped gradient cosines of W_Q, W_K, W_V, W_O at the current
    weights and the premises of Theorem 3, at every step 0..``dense_until`` (step 0 included) and then
    every ``every`` steps (:func:`probe_steps`), none after step ``until`` (``None``: to the end), on the
    first ``n_sequences`` of ``trainer.probe_batch`` (``None``: all of it; the trainer's
    ``probe_batch_size`` must be at least that large). With ``stop_when`` (a function of the trainer),
    the probe also measures at the first step where it returns true, and never after (e.g. SHIFT's
    switch on a monitored Single run: the window SHIFT uses ends there).

    Introduced in notebooks/07_shift.
    """

    name = "theorem3"

    def __init__(self, every: int = 25, n_loops: int = 3, n_sequences: int | None = 512, dense_until: int = 0,
                 until: int | None = None, stop_when: Callable | None = None):
        self.sparse_every = check_int("every", every, 1)
        self.dense_until = check_int("dense_until", dense_until, 0)
        self.until = None if until is None else check_int("until", until, 0)
        self.stop_when, self.stopped_at = stop_when, None
        self.every = 1 if self.dense_until > 0 or stop_when is not None else self.sparse_every  # the trainer's cadence
        self.n_loops = check_int("n_loops", n_loops, 2)
        self.n_sequences = None if n_sequences is None else check_int("n_sequences", n_sequences, 1)

    def due(self, step: int, final: bool = False) -> bool:
        """Whether the probe measures at ``step`` (or at the run's end)."""
        if self.until is not None and step > self.until:
            return False
        return final or step <= self.dense_until or step % self.sparse_every == 0

    def __call__(self, trainer):
        if self.stopped_at is not None:
            return None
        stop = self.stop_when is not None and (self.until is None or trainer.step <= self.until) and bool(self.stop_when(trainer))
        if stop:
            self.stopped_at = int(trainer.step)
        elif not self.due(trainer.step, trainer.done):
            return None
        batch = trainer.probe_batch[: self.n_sequences] if self.n_sequences else trainer.probe_batch
        if self.n_sequences and batch.shape[0] < self.n_sequences:
            raise ValueError(f"n_sequences={self.n_sequences} but the trainer's probe batch holds {batch.shape[0]}: "
                             "raise TrainConfig.probe_batch_size")
        cos = gradient_alignment(trainer.model, batch, trainer.loss_fn, self.n_loops)
        out = {f"cos_{w}": v for w, v in cos.items()}
        out.update(theorem3_premises(trainer.model))
        return out
