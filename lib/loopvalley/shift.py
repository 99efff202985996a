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
moments are kept or reset, and the learning rate can be re-warmed linearly over R steps.

**Compute.** A training step costs 3× a forward pass, and a forward pass is linear in the number of
loops (:func:`loopvalley.models.forward_flops`), so a run that switches at step s of S costs
s·F₁ + (S − s)·F₃ instead of S·F₃. Compared at *equal compute* (the budget S·F₃ of a Looped run of
S steps), a SHIFT run that switches at step s may take ⌊(S·F₃ − s·F₁)/F₃⌋ Looped steps after the
switch (:func:`equal_flop_steps`; :class:`FlopBudget` stops a live run there).

**Theorem 3 (shared river upstream).** At the same weights θ the gradients of Single- and
Looped-Attn with respect to W_Q and W_K should point the same way early in training, under
diagonal-dominance and near-PSD premises on the attention weights; :func:`gradient_alignment` and
:func:`theorem3_premises` measure both.

Introduced in notebooks/07_shift.
"""

from __future__ import annotations

import copy
import math
from dataclasses import asdict, dataclass
from typing import Callable, Mapping

import numpy as np
import torch

from ._validate import check_choice, check_int, check_positive
from .models import ModelConfig, forward_flops

OPTIMIZER_STATES = ("keep", "reset")
ATTN_WEIGHTS = ("W_Q", "W_K", "W_V", "W_O")


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
    delta1: float = 0.01  # δ1: a check is stalled when the relative loss improvement r_t < δ1
    delta2: float = 0.2  # δ2: ... and the gradient coherence ρ_t < δ2 (0.2 ≈ 1/√25, iid noise; inf: off)
    patience: int = 3  # W: consecutive stalled checks before switching
    check_every: int = 25  # steps per check (the window the loss and gradient norm are averaged over)
    n_loops: int = 3  # loops after the switch (Looped-Attn)
    optimizer_state: str = "keep"  # "keep" the Adam moments at the switch or "reset" them
    rewarmup_steps: int = 0  # R: after the switch, η ← η · min(1, (k − s + 1)/R); 0 = off
    act: bool = True  # False: only monitor (record L_t, ρ_t for replay), never switch
    switch_at: int | None = None  # switch at this step regardless of SCP (a fixed-schedule baseline)

    def __post_init__(self):
        check_positive("delta1", self.delta1, allow_zero=True)
        self.delta2 = _check_delta2(self.delta2)
        check_int("patience", self.patience, 1)
        check_int("check_every", self.check_every, 1)
        check_int("n_loops", self.n_loops, 2)
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
    ``count`` and ``n_loops``, and, when SCP fires, switches: ``model.n_loops = n_loops`` (weights untouched), optionally resets the
    optimizer and re-warms the learning rate. ``switch_step`` holds the step of the switch.

    Introduced in notebooks/07_shift.
    """

    name = "shift"
    every = 1

    def __init__(self, cfg: ShiftConfig | None = None):
        self.cfg = cfg if cfg is not None else ShiftConfig()
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
        if c.act and c.switch_at is None and self.switch_step is None and trace["fire"] == t:
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
        """Single-Attn → Looped-Attn at the current step: same weights, ``n_loops`` loops.

        Introduced in notebooks/07_shift.
        """
        c = self.cfg
        self.switch_step = int(trainer.step)
        trainer.model.n_loops = c.n_loops  # θ unchanged: both architectures share every parameter
        if c.optimizer_state == "reset":
            trainer.build_optimizer()  # fresh Adam moments m = v = 0
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


class Snapshots:
    """A trainer probe that keeps a copy of the full trainer state every ``every`` steps, so a Single
    run can later be *continued with a switch* at any check step (:func:`switch_from_snapshot`)
    without re-running its prefix. Memory: one model + optimizer state per snapshot.

    Introduced in notebooks/07_shift.
    """

    name = "snapshots"

    def __init__(self, every: int):
        self.every = check_int("every", every, 1)
        self.states: dict = {}

    def __call__(self, trainer):
        self.states[int(trainer.step)] = copy.deepcopy(trainer.state_dict())
        return None


def switch_from_snapshot(snapshot: Mapping, model_cfg: ModelConfig, train_tokens, eval_sets, train_cfg,
                         shift_cfg: ShiftConfig | None = None, flop_budget: float | None = None, **trainer_kwargs):
    """Resume a Single run from ``snapshot`` (a :class:`Snapshots` entry at step s), switch to
    Looped-Attn there with ``shift_cfg``'s mechanics, and train to the end. Returns the full record
    (Single's steps ≤ s, then Looped's) — the same run SHIFT would have made had SCP fired at s.

    The end is ``train_cfg``'s horizon (equal steps), or with ``flop_budget`` the last step that
    keeps the run's total training FLOPs ≤ ``flop_budget`` (equal compute: s + :func:`equal_flop_steps`
    steps; the cadences stay those of ``train_cfg``).

    Introduced in notebooks/07_shift.
    """
    from .models import build_model
    from .train import Trainer

    ctl = ShiftController(shift_cfg)
    model = build_model(model_cfg, torch.Generator().manual_seed(0))  # weights come from the snapshot
    trainer = Trainer(model, train_tokens, eval_sets, train_cfg, probes=[ctl], **trainer_kwargs)
    trainer.load_state_dict(copy.deepcopy(snapshot))  # the trainer appends to the record in place
    ctl.switch(trainer)
    if flop_budget is not None:
        per_step = train_step_flops(model_cfg, int(model.n_loops), trainer.batch_size * trainer.world_size,
                                    int(trainer.train_tokens.shape[1]))
        trainer.total_steps = trainer.step + equal_flop_steps(flop_budget, snapshot["flops"], per_step)
        trainer.record.meta["total_steps"] = int(trainer.total_steps)
        trainer.record.meta["flop_budget"] = float(flop_budget)
    return trainer.run()


def equal_flop_steps(budget: float, spent: float, per_step: float) -> int:
    """How many more steps of cost ``per_step`` fit in ``budget`` after ``spent``:
    ⌊(budget − spent)/per_step⌋ (0 if none; a relative 1e-9 absorbs float summation order).

    For SHIFT at equal compute with Looped's S steps: ⌊(S·F₃ − s·F₁)/F₃⌋ Looped steps after a switch at s.

    Introduced in notebooks/07_shift.
    """
    per_step = check_positive("per_step", per_step)
    return max(0, math.floor((budget - spent) / per_step * (1 + 1e-9) + 1e-9))


class FlopBudget:
    """A trainer probe (every step) that stops training before the step that would take the run's
    training FLOPs above ``budget``: after step k it asks ``trainer.request_stop()`` when
    Σ_{j<k} 3·F(n_loops_j) + 3·F(n_loops now) > budget. Put it *after* a :class:`ShiftController` in
    the probe list so it prices the next step at the loops the controller just set. The trainer's
    horizon (``total_steps``) must be long enough for the budget to bind.

    Introduced in notebooks/07_shift.
    """

    name = "flop_budget"
    every = 1

    def __init__(self, budget: float):
        self.budget = check_positive("budget", budget)
        self.spent, self._counted = 0.0, 0
        self._cost: dict = {}

    def _step_cost(self, trainer, n_loops: int) -> float:
        if n_loops not in self._cost:
            self._cost[n_loops] = train_step_flops(trainer.model.cfg, n_loops, trainer.batch_size * trainer.world_size,
                                                   int(trainer.train_tokens.shape[1]))
        return self._cost[n_loops]

    def __call__(self, trainer):
        loops = trainer.record.n_loops_step
        for n in loops[self._counted:]:  # Σ_j 3·F(n_loops_j) over the steps not yet counted
            self.spent += self._step_cost(trainer, int(n))
        self._counted = len(loops)
        if self.spent + self._step_cost(trainer, int(trainer.model.n_loops)) > self.budget * (1 + 1e-9):
            trainer.request_stop()
        return None


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


def train_step_flops(cfg: ModelConfig, n_loops: int, batch: int, length: int) -> float:
    """FLOPs of one training step: forward + backward ≈ 3 × ``forward_flops`` (linear in loops).

    Introduced in notebooks/07_shift.
    """
    return 3.0 * forward_flops(cfg, n_loops, batch, length)


def cumulative_flops(record, cfg: ModelConfig | None = None) -> np.ndarray:
    """Cumulative training FLOPs after every step, recomputed from ``record.n_loops_step``:
    F_k = Σ_{j ≤ k} 3·forward_flops(n_loops_j). Matches ``record.flops`` at the evaluation points.

    Introduced in notebooks/07_shift.
    """
    meta = record.meta
    cfg = cfg if cfg is not None else ModelConfig(**meta["model_cfg"])
    B = min(meta["train_cfg"]["batch_size"], meta["n_train"])
    per = {n: train_step_flops(cfg, n, B, meta["seq_len"]) for n in set(record.n_loops_step)}
    return np.cumsum([per[n] for n in record.n_loops_step])


def switch_step_of(record) -> int | None:
    """The first training step run with more than one loop (``None`` if the run never looped).

    Introduced in notebooks/07_shift.
    """
    loops = np.asarray(record.n_loops_step)
    idx = np.flatnonzero(loops > 1)
    return int(record.train_step[idx[0]]) if len(idx) else None


def final_accuracy(record, split: str = "complex", last: int = 3) -> float:
    """Mean accuracy on ``split`` over the last ``last`` evaluation points (smooths batch noise).

    Introduced in notebooks/07_shift.
    """
    _, acc = record.curve(split, "acc")
    return float(np.mean(acc[-check_int("last", last, 1):]))


def time_to_reach(record, target: float, split: str = "complex") -> dict:
    """The first evaluation point with accuracy ≥ ``target`` on ``split``: ``{"step", "wall",
    "flops"}`` (all ``inf`` if it never gets there).

    Introduced in notebooks/07_shift.
    """
    steps, acc = record.curve(split, "acc")
    hit = np.flatnonzero(acc >= target)
    if not len(hit):
        return {"step": math.inf, "wall": math.inf, "flops": math.inf}
    i = int(hit[0])
    return {"step": int(steps[i]), "wall": float(record.wall[i]), "flops": float(record.flops[i])}


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


class Theorem3Probe:
    """A trainer probe: every ``every`` steps, the Single/Looped gradient cosines of W_Q, W_K, W_V,
    W_O at the current weights (on the first ``n_sequences`` of ``trainer.probe_batch``; ``None``:
    all of it) and the premises of Theorem 3.

    Introduced in notebooks/07_shift.
    """

    name = "theorem3"

    def __init__(self, every: int = 50, n_loops: int = 3, n_sequences: int | None = 128):
        self.every = check_int("every", every, 1)
        self.n_loops = check_int("n_loops", n_loops, 2)
        self.n_sequences = None if n_sequences is None else check_int("n_sequences", n_sequences, 1)

    def __call__(self, trainer):
        batch = trainer.probe_batch[: self.n_sequences] if self.n_sequences else trainer.probe_batch
        cos = gradient_alignment(trainer.model, batch, trainer.loss_fn, self.n_loops)
        out = {f"cos_{w}": v for w, v in cos.items()}
        out.update(theorem3_premises(trainer.model))
        return out
