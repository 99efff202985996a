"""Optimizers on closed-form landscapes, vectorised over a batch of runs, and the diagnostics of
the trajectories they produce.

One call, :func:`simulate`, runs R independent runs at once (each with its own learning rate if
you like): GD, SGD (isotropic or valley-anisotropic gradient noise), heavy-ball momentum or Adam,
under a constant, warmup-stable-decay (WSD) or cosine schedule. A run that blows up is *reported*
(the step and the learning rate at which it diverged), never raised.

Diagnostics read a :class:`Trajectory`: river progress, valley sign flips (valley
hopping), the loss split into river and valley parts, and the measured cumulative force.

Introduced in notebooks/01_river_valley.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from loopvalley._validate import check_choice, check_int, check_positive, check_range
from loopvalley.schedule import lr_multiplier, n_decay_steps
from loopvalley.valley.landscapes import DTYPE, Landscape

OPTIMIZERS = ("gd", "sgd", "momentum", "adam")
SCHEDULES = ("constant", "wsd", "cosine")
NOISE_KINDS = ("isotropic", "valley")


def lr_schedule(schedule: str, steps: int, warmup: float = 0.0, decay: float = 0.2) -> torch.Tensor:
    """Learning-rate multipliers m_t ∈ [0, 1] for t = 0..steps−1 (lr_t = lr · m_t): the shared schedule
    :func:`loopvalley.schedule.lr_multiplier` evaluated at every step, with W = round(``warmup`` · T)
    warmup steps and, for WSD, D = round(``decay`` · T) decay steps (T = ``steps``).

    - ``constant``: m_t = 1 (after an optional linear warmup m_t = (t+1)/W: the shared ``warmup_constant``);
    - ``wsd`` (warmup-stable-decay): linear warmup, m_t = 1 in the stable phase, then the linear decay
      m_t = 1 − (t − (T − D) + 1)/D over the last D steps, reaching 0 at the last step t = T − 1;
    - ``cosine``: linear warmup, then m_t = ½(1 + cos(π·p)), p = (t − W)/(T − W − 1) ∈ [0, 1] (0 at the last step).

    Since the schedule is shared (it used to be written here a second time), WSD decays one step earlier:
    it used to be m_t = (T − t)/D, ending at 1/D and never 0; and cosine used p = (t − W)/(T − W),
    ending above 0.

    Introduced in notebooks/01_river_valley.
    """
    schedule = check_choice("schedule", schedule, SCHEDULES)
    steps = check_int("steps", steps, lo=1)
    warmup = check_range("warmup", warmup, 0.0, 1.0)
    decay = check_range("decay", decay, 0.0, 1.0)
    if warmup + (decay if schedule == "wsd" else 0.0) > 1.0:
        raise ValueError(f"warmup + decay must be <= 1, got warmup={warmup!r}, decay={decay!r}")
    kind = "warmup_constant" if schedule == "constant" else schedule
    W, D = int(round(warmup * steps)), n_decay_steps(steps, decay)
    return torch.tensor([lr_multiplier(t, kind, steps, W, D) for t in range(steps)], dtype=DTYPE)  # (steps,)


def stable_phase_end(steps: int, decay: float = 0.2) -> int:
    """The step at which a WSD schedule starts decaying (the end of its stable phase).

    Introduced in notebooks/01_river_valley.
    """
    steps = check_int("steps", steps, lo=1)
    decay = check_range("decay", decay, 0.0, 1.0)
    return steps - n_decay_steps(steps, decay)


def _check_lr(lr, runs: int) -> torch.Tensor:
    """A learning rate per run, shape (R,): every entry finite and > 0."""
    try:
        t = torch.as_tensor(lr, dtype=DTYPE)
    except (TypeError, ValueError, RuntimeError):
        raise ValueError(f"lr must be a number or one number per run, got {lr!r}") from None
    if t.ndim > 1 or (t.ndim == 1 and t.shape[0] != runs):
        raise ValueError(f"lr must be a number or have shape ({runs},), got shape {tuple(t.shape)}")
    if not torch.isfinite(t).all() or not (t > 0).all():
        raise ValueError(f"lr must be finite and > 0, got {lr!r}")
    return t.expand(runs).clone()


@dataclass
class Trajectory:
    """What :func:`simulate` returns: plain tensors, recorded every ``record_every`` steps.

    Introduced in notebooks/01_river_valley.
    """

    theta: torch.Tensor  # (N, R, d): iterates at steps 0, e, 2e, ... (NaN after a divergence)
    loss: torch.Tensor  # (N, R): the loss at those iterates
    steps_recorded: torch.Tensor  # (N,): which step each record is
    lr: torch.Tensor  # (steps, R): the learning rate used at each step
    diverged: torch.Tensor  # (R,) bool: the run blew up (loss not finite or |θ| > blowup)
    diverged_step: torch.Tensor  # (R,) long: the first step where it had blown up, −1 if never
    diverged_lr: torch.Tensor  # (R,): the learning rate at that step, NaN if never
    optimizer: str
    schedule: str

    @property
    def runs(self) -> int:
        return int(self.theta.shape[1])

    @property
    def final(self) -> torch.Tensor:
        """The last recorded iterate of every run; (R, d)."""
        return self.theta[-1]

    def divergence_report(self) -> list[dict]:
        """One ``{"run", "step", "lr"}`` per diverged run (empty when none diverged)."""
        idx = torch.nonzero(self.diverged).flatten().tolist()
        return [
            {"run": i, "step": int(self.diverged_step[i]), "lr": float(self.diverged_lr[i])} for i in idx
        ]


def simulate(
    landscape: Landscape,
    theta0,
    *,
    lr,
    steps: int,
    optimizer: str = "gd",
    schedule: str = "constant",
    warmup: float = 0.0,
    decay: float = 0.2,
    noise: float = 0.0,
    noise_kind: str = "isotropic",
    momentum: float = 0.9,
    betas=(0.9, 0.999),
    eps: float = 1e-8,
    generator: torch.Generator | None = None,
    record_every: int = 1,
    record_at=None,
    blowup: float = 1e6,
) -> Trajectory:
    """Run ``steps`` optimizer steps from ``theta0`` (R, d) on ``landscape``, all runs at once.

    ``lr``: a number or one per run (R,). The update at step t uses lr_t = lr · m_t
    (:func:`lr_schedule`) and the stochastic gradient ĝ = field(θ) + σ ξ, ξ ~ N(0, I)
    (``noise_kind="valley"`` keeps only ξ's valley part). Optimizers:

    - ``gd``: θ ← θ − lr_t ∇L (``noise`` must be 0);  ``sgd``: θ ← θ − lr_t ĝ;
    - ``momentum`` (heavy ball): u ← μ u + ĝ, θ ← θ − lr_t u;
    - ``adam``: m ← β₁m + (1−β₁)ĝ, s ← β₂s + (1−β₂)ĝ², θ ← θ − lr_t m̂/(√ŝ + ε).

    A run whose loss is not finite or whose |θ| exceeds ``blowup`` is marked diverged, frozen and
    recorded as NaN from then on; see :meth:`Trajectory.divergence_report`.

    Records step 0 and every ``record_every``-th step, or only step 0 and the steps in ``record_at``.

    Introduced in notebooks/01_river_valley.
    """
    if not isinstance(landscape, Landscape):
        raise ValueError(f"landscape must be a loopvalley.valley.landscapes.Landscape, got {type(landscape).__name__}")
    optimizer = check_choice("optimizer", optimizer, OPTIMIZERS)
    noise_kind = check_choice("noise_kind", noise_kind, NOISE_KINDS)
    steps = check_int("steps", steps, lo=1)
    record_every = check_int("record_every", record_every, lo=1)
    noise = check_positive("noise", noise, allow_zero=True)
    momentum = check_range("momentum", momentum, 0.0, 1.0, hi_open=True)
    beta1 = check_range("betas[0]", betas[0], 0.0, 1.0, hi_open=True)
    beta2 = check_range("betas[1]", betas[1], 0.0, 1.0, hi_open=True)
    eps = check_positive("eps", eps)
    blowup = check_positive("blowup", blowup)
    if optimizer == "gd" and noise > 0:
        raise ValueError("noise must be 0 for optimizer 'gd' (use optimizer='sgd' for noisy gradients)")
    if noise > 0 and generator is None:
        raise ValueError("generator must be a torch.Generator when noise > 0 (one explicit generator per run)")
    theta = torch.as_tensor(theta0, dtype=DTYPE)
    if theta.ndim != 2 or theta.shape[1] != landscape.dim:
        raise ValueError(f"theta0 must have shape (runs, {landscape.dim}), got {tuple(theta.shape)}")
    if not torch.isfinite(theta).all():
        raise ValueError("theta0 must be finite")
    theta = theta.clone()
    R, d = theta.shape
    lr0 = _check_lr(lr, R)
    lrs = lr_schedule(schedule, steps, warmup, decay)[:, None] * lr0[None, :]  # (steps, R): lr_t

    if record_at is not None:
        at = sorted({check_int("record_at", k, lo=1, hi=steps) for k in record_at})
    else:
        at = list(range(record_every, steps + 1, record_every))
    slot = {k: i + 1 for i, k in enumerate(at)}  # step → record index
    n_rec = len(at) + 1
    rec_theta = torch.empty(n_rec, R, d, dtype=DTYPE)
    rec_loss = torch.empty(n_rec, R, dtype=DTYPE)
    rec_theta[0], rec_loss[0] = theta, landscape.loss(theta)
    alive = torch.ones(R, dtype=torch.bool)
    div_step = torch.full((R,), -1, dtype=torch.long)
    div_lr = torch.full((R,), float("nan"), dtype=DTYPE)
    buf = torch.zeros_like(theta)  # momentum u, or Adam's first moment m
    sq = torch.zeros_like(theta)  # Adam's second moment s

    for t in range(steps):
        g = landscape.field(theta)  # ∇L(θ_t) (or the landscape's stated field)
        if noise > 0:
            xi = torch.randn(R, d, generator=generator, dtype=DTYPE)  # ξ ~ N(0, I)
            if noise_kind == "valley":
                xi = landscape.valley_noise(theta, xi)  # keep the hillside part only
            g = g + noise * xi  # ĝ = ∇L + σξ
        eta = lrs[t].unsqueeze(-1)  # (R, 1)
        if optimizer in ("gd", "sgd"):
            step = g  # θ ← θ − η ĝ
        elif optimizer == "momentum":
            buf = momentum * buf + g  # u ← μu + ĝ
            step = buf
        else:  # adam
            buf = beta1 * buf + (1 - beta1) * g  # m ← β₁m + (1−β₁)ĝ
            sq = beta2 * sq + (1 - beta2) * g * g  # s ← β₂s + (1−β₂)ĝ²
            m_hat = buf / (1 - beta1 ** (t + 1))  # m̂ = m/(1−β₁^{t+1})
            s_hat = sq / (1 - beta2 ** (t + 1))  # ŝ = s/(1−β₂^{t+1})
            step = m_hat / (s_hat.sqrt() + eps)
        new = theta - eta * step
        new[~alive] = float("nan")  # diverged runs stay frozen at NaN
        loss = landscape.loss(new)
        blew = alive & (~torch.isfinite(loss) | ~(new.abs().amax(-1) <= blowup))
        if blew.any():
            div_step[blew] = t + 1
            div_lr[blew] = lrs[t][blew]
            alive &= ~blew
            new[blew] = float("nan")
            loss = torch.where(blew, torch.full_like(loss, float("nan")), loss)
        theta = new
        if t + 1 in slot:
            rec_theta[slot[t + 1]], rec_loss[slot[t + 1]] = theta, loss
    steps_rec = torch.tensor([0] + at)
    return Trajectory(
        theta=rec_theta,
        loss=rec_loss,
        steps_recorded=steps_rec,
        lr=lrs,
        diverged=~alive,
        diverged_step=div_step,
        diverged_lr=div_lr,
        optimizer=optimizer,
        schedule=schedule,
    )


# --------------------------------------------------------------------------------------------
# Diagnostics
# --------------------------------------------------------------------------------------------


def _check_traj(traj) -> Trajectory:
    if not isinstance(traj, Trajectory):
        raise ValueError(f"traj must be a Trajectory from simulate(), got {type(traj).__name__}")
    return traj


def river_progress(traj: Trajectory, landscape: Landscape) -> torch.Tensor:
    """Distance travelled along the river since the start, r_t − r_0; shape (N, R).

    Introduced in notebooks/01_river_valley.
    """
    r = landscape.river_coordinate(_check_traj(traj).theta)  # (N, R)
    return r - r[:1]


def loss_split(traj: Trajectory, landscape: Landscape) -> dict:
    """The loss along the trajectory split into its river and valley parts (they add up to the
    loss): ``{"river": (N, R), "valley": (N, R)[, "coupling": (N, R)]}``.

    Introduced in notebooks/01_river_valley.
    """
    return landscape.loss_parts(_check_traj(traj).theta)


def valley_sign_flips(traj: Trajectory, landscape: Landscape, start: int = 0, stop: int | None = None) -> torch.Tensor:
    """Fraction of recorded steps (records ``start:stop``) at which each valley coordinate changes
    sign (valley hopping: the iterate jumps to the opposite wall); shape (R, m). ≈ 1 when ηλ_i > 1,
    ≈ 0 when ηλ_i < 1.

    Introduced in notebooks/02_u_vs_v_valleys.
    """
    v = landscape.valley_coordinates(_check_traj(traj).theta[start:stop])  # (N', R, m)
    flips = (v[1:] * v[:-1]) < 0  # sign(v_{t+1}) ≠ sign(v_t)
    return flips.to(DTYPE).mean(0)


def measured_cumulative_force(traj: Trajectory, landscape) -> torch.Tensor:
    """The force the valley put on the river, read off the trajectory: h Σ_{k<K} η_k − (r_K − r_0)
    at every recorded step K; shape (N, R). For constant-lr GD on the unforced quadratic this is
    exactly C_K.

    Needs a landscape with a river drive ``h`` (a :class:`~loopvalley.valley.landscapes.RiverValleyQuadratic`).

    Introduced in notebooks/02_u_vs_v_valleys.
    """
    traj = _check_traj(traj)
    if not hasattr(landscape, "h"):
        raise ValueError("landscape must have a river drive h (a RiverValleyQuadratic)")
    total = torch.cat([torch.zeros_like(traj.lr[:1]), traj.lr.cumsum(0)])  # Σ_{k<K} η_k for K = 0..steps
    drive = landscape.h * total[traj.steps_recorded]  # h Σ_{k<K} η_k at the recorded K
    return drive - river_progress(traj, landscape)  # C_K = ηKh − (r_K − r_0)
