"""What each loop (or layer) attends to: previous-token and induction scores of attention maps.

Input: ``maps = model.attention_maps(tokens)`` of shape ``(L, B, H, T, T)`` — one causal map per loop
of a shared model or per layer of an untied one, ``A[l, b, h, t, s]`` = attention of query position t
to key position s ≤ t — and the ``tokens`` ``(B, T)`` that produced them. Every score is per
(loop/layer, head): a ``(L, H)`` tensor, pooled over the batch and the query positions.

- Previous-token score: the mean attention mass from t to t − 1,

      prev[l, h] = 1 / (B (T − 1)) · Σ_b Σ_{t=1}^{T−1} A[l, b, h, t, t − 1].

  1 for a pure previous-token head. Uniform causal attention (A[t, s] = 1/(t + 1)) scores
  (H_T − 1) / (T − 1), H_T = Σ_{k=1}^{T} 1/k (:func:`previous_token_chance`).

- Induction score: the attention mass on the *token after an earlier occurrence of the current
  token*. The targets of query t are

      S_t = { j + 1 : 0 ≤ j < t, x_j = x_t }          (so 1 ≤ j + 1 ≤ t; j + 1 = t when x_{t−1} = x_t),

  the eligible queries are Q = {(b, t) : S_t ≠ ∅}, and

      ind[l, h] = 1 / |Q| · Σ_{(b, t) ∈ Q} Σ_{s ∈ S_t} A[l, b, h, t, s].

  Queries with no earlier occurrence of their token are left out (they have nothing to retrieve), so
  a pure induction head scores exactly 1. The score is *not* 0 for an uninformative head: uniform
  causal attention scores the closed-form chance level (:func:`induction_chance`)

      chance = 1 / |Q| · Σ_{(b, t) ∈ Q} |S_t| / (t + 1),

  which is large for a small vocabulary (V = 3: most earlier tokens match) and → 0 for random tokens
  over a large vocabulary. Compare a head's score with the chance level of the same tokens.

For linear attention the rows of A are not probability distributions (they can be negative and need
not sum to 1); the same sums are still defined but are no longer masses in [0, 1].

Introduced in notebooks/04_single_vs_looped.
"""

from __future__ import annotations

import math

import torch

from loopvalley._validate import check_int


def _check_maps(maps: torch.Tensor, tokens: torch.Tensor | None = None) -> None:
    if not isinstance(maps, torch.Tensor) or maps.dim() != 5 or maps.shape[-1] != maps.shape[-2]:
        shape = tuple(maps.shape) if isinstance(maps, torch.Tensor) else type(maps).__name__
        raise ValueError(f"maps must have shape (n_loops_or_layers, B, H, T, T), got {shape}")
    if maps.shape[-1] < 2:
        raise ValueError(f"maps: sequences need length T >= 2, got T={maps.shape[-1]}")
    if tokens is not None:
        _check_tokens(tokens)
        if tuple(tokens.shape) != (maps.shape[1], maps.shape[-1]):
            raise ValueError(f"tokens must have shape (B, T) = {(maps.shape[1], maps.shape[-1])} to match maps, "
                             f"got {tuple(tokens.shape)}")


def _check_tokens(tokens: torch.Tensor) -> None:
    if not isinstance(tokens, torch.Tensor) or tokens.dim() != 2:
        shape = tuple(tokens.shape) if isinstance(tokens, torch.Tensor) else type(tokens).__name__
        raise ValueError(f"tokens must be a (batch, length) tensor of integer ids, got {shape}")
    if tokens.dtype.is_floating_point or tokens.dtype.is_complex or tokens.dtype == torch.bool:
        raise ValueError(f"tokens must have an integer dtype, got {tokens.dtype}")


def previous_token_score(maps: torch.Tensor) -> torch.Tensor:
    """prev[l, h] = 1/(B(T−1)) Σ_b Σ_{t≥1} A[l, b, h, t, t−1]: mean attention from t to t − 1, ``(L, H)``.

    Introduced in notebooks/04_single_vs_looped.
    """
    _check_maps(maps)
    sub = maps.diagonal(offset=-1, dim1=-2, dim2=-1)  # A[..., t, t−1] for t = 1..T−1: (L, B, H, T−1)
    return sub.mean(dim=(1, 3))  # (L, H)


def previous_token_chance(length: int) -> float:
    """The previous-token score of uniform causal attention on length-T sequences:

        (1/(T−1)) Σ_{t=1}^{T−1} 1/(t+1) = (H_T − 1)/(T − 1),   H_T = Σ_{k=1}^{T} 1/k.

    Introduced in notebooks/04_single_vs_looped.
    """
    T = check_int("length", length, 2)
    return math.fsum(1.0 / (t + 1) for t in range(1, T)) / (T - 1)


def induction_targets(tokens: torch.Tensor) -> torch.Tensor:
    """M[b, t, s] = 1 iff s ∈ S_t = {j + 1 : j < t, x_j = x_t}: the positions right after an earlier
    occurrence of the token at t. ``(B, T)`` ids → ``(B, T, T)`` bool, zero above the diagonal.

    Introduced in notebooks/04_single_vs_looped.
    """
    _check_tokens(tokens)
    B, T = tokens.shape
    same = tokens[:, :, None] == tokens[:, None, :]  # same[b, t, j] = [x_t = x_j]: (B, T, T)
    earlier = torch.ones(T, T, dtype=torch.bool, device=tokens.device).tril(-1)  # [j < t]: (T, T)
    match = same & earlier  # j < t and x_j = x_t: (B, T, T)
    targets = torch.zeros_like(match)
    targets[:, :, 1:] = match[:, :, :-1]  # s = j + 1 (j ≤ T − 2 since j < t ≤ T − 1): (B, T, T)
    return targets


def induction_score(maps: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
    """ind[l, h] = (1/|Q|) Σ_{(b,t)∈Q} Σ_{s∈S_t} A[l, b, h, t, s], Q = queries with S_t ≠ ∅: ``(L, H)``
    (NaN when no query is eligible). See the module docstring for S_t and the chance level.

    Introduced in notebooks/04_single_vs_looped.
    """
    _check_maps(maps, tokens)
    targets = induction_targets(tokens.to(maps.device))  # (B, T, T)
    eligible = targets.any(-1)  # (b, t) ∈ Q: (B, T)
    mass = (maps * targets[None, :, None].to(maps.dtype)).sum(-1)  # Σ_{s∈S_t} A[l,b,h,t,s]: (L, B, H, T)
    w = eligible[None, :, None].to(maps.dtype)  # (1, B, 1, T)
    return (mass * w).sum(dim=(1, 3)) / eligible.sum().to(maps.dtype)  # (L, H)


def induction_chance(tokens: torch.Tensor) -> float:
    """The induction score of uniform causal attention on ``tokens``: (1/|Q|) Σ_{(b,t)∈Q} |S_t|/(t+1)
    (NaN when no query is eligible).

    Introduced in notebooks/04_single_vs_looped.
    """
    targets = induction_targets(tokens)  # (B, T, T)
    n_targets = targets.sum(-1).double()  # |S_t|: (B, T)
    T = tokens.shape[1]
    seen = torch.arange(1, T + 1, dtype=torch.float64, device=tokens.device)  # t + 1 visible keys
    eligible = n_targets > 0
    if not bool(eligible.any()):
        return math.nan
    return float((n_targets / seen)[eligible].mean())


def mechanism_scores(model, tokens: torch.Tensor) -> dict:
    """Previous-token and induction scores of every loop (shared model) or layer (untied model) of
    ``model`` on ``tokens``, with the uniform-attention chance levels to compare against:
    ``{"previous_token": (L, H), "induction": (L, H), "previous_token_chance": float,
    "induction_chance": float}``.

    Introduced in notebooks/04_single_vs_looped.
    """
    maps = model.attention_maps(tokens)  # (L, B, H, T, T)
    return {
        "previous_token": previous_token_score(maps),
        "induction": induction_score(maps, tokens),
        "previous_token_chance": previous_token_chance(tokens.shape[1]),
        "induction_chance": induction_chance(tokens),
    }


class MechanismProbe:
    """Trainer probe: the previous-token and induction scores of every loop (shared model) or layer
    (untied model) and head, on a fixed batch of ``tokens``, over training.

    Each row is ``{"previous_token": (L, H) nested list, "induction": (L, H) nested list,
    "previous_token_chance": float, "induction_chance": float}`` (see :func:`mechanism_scores`);
    ``record.probe("mechanism", "induction")`` stacks them into ``(n_rows, L, H)``. The model is put
    in eval mode and scored without gradients; its training mode is restored afterwards. Give it
    ``every = eval_every`` of the run so its rows line up with the accuracy curves.

    Introduced in notebooks/09_recursion_or_depth.
    """

    name = "mechanism"

    def __init__(self, tokens: torch.Tensor, every: int):
        _check_tokens(tokens)
        if tokens.shape[1] < 2:
            raise ValueError(f"tokens: sequences need length T >= 2, got T={tokens.shape[1]}")
        self.tokens = tokens.long()
        self.every = check_int("every", every, 1)
        self._chance = (previous_token_chance(tokens.shape[1]), induction_chance(self.tokens))

    @torch.no_grad()
    def __call__(self, trainer) -> dict:
        model = trainer.model
        was_training = model.training
        model.eval()
        try:
            device = next(model.parameters()).device
            s = mechanism_scores(model, self.tokens.to(device))
        finally:
            model.train(was_training)
        return {"previous_token": s["previous_token"].cpu().tolist(), "induction": s["induction"].cpu().tolist(),
                "previous_token_chance": self._chance[0], "induction_chance": self._chance[1]}
