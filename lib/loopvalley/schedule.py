"""The learning-rate schedule, written once: η_k = η · m_k at step k = 0..S−1 of a run of S steps.

The trainer (:func:`loopvalley.train.lr_at`), SHIFT's warmup–stable–decay
(:func:`loopvalley.shift.controller.wsd_lr`) and the landscape simulations
(:func:`loopvalley.valley.simulate.lr_schedule`) all evaluate :func:`lr_multiplier`.

Introduced in notebooks/01_river_valley.
"""

from __future__ import annotations

import math

from loopvalley._validate import check_choice

SCHEDULES = ("constant", "warmup_constant", "cosine", "wsd")  # the kinds of :func:`lr_multiplier`


def n_decay_steps(total_steps: int, decay_frac: float) -> int:
    """D = round(decay_frac · S): the length of a WSD decay given as a fraction of the S steps.

    Introduced in notebooks/01_river_valley.
    """
    return int(round(decay_frac * total_steps))


def lr_multiplier(k: int, kind: str, total_steps: int, warmup_steps: int = 0, decay_steps: int = 0,
                  min_lr_frac: float = 0.0, peak: float = 1.0) -> float:
    """η_k = peak · m_k at step k (0-based) of S = ``total_steps`` steps, with W = ``warmup_steps``,
    D = ``decay_steps`` (WSD only) and m = ``min_lr_frac`` (cosine and WSD):

    - ``constant``:        m_k = 1 (no warmup);
    - ``warmup_constant``: m_k = (k+1)/W for k < W, then 1;
    - ``cosine``:          warmup, then m_k = m + (1−m)·½(1 + cos(π·p)), p = (k−W)/(S−W−1) ∈ [0, 1];
    - ``wsd``:             warmup, m_k = 1 for k < S−D, then m_k = 1 − (1−m)·p with the decay progress
      p = (k − (S−D) + 1)/D ∈ (0, 1] — linear, reaching m at the last step k = S−1 (D = 0: no decay).

    The warmup comes first: a step k < W is in the warmup whatever the kind (except ``constant``).
    Past the end (k ≥ S) cosine and WSD hold m. ``peak=1`` gives the multiplier m_k itself; the
    trainer passes its η, so that η_k is computed as η·(k+1)/W, not as η·((k+1)/W), which rounds
    differently.

    Introduced in notebooks/01_river_valley.
    """
    check_choice("schedule", kind, SCHEDULES)
    W, m = warmup_steps, min_lr_frac
    if kind == "constant":
        return peak
    if W > 0 and k < W:
        return peak * (k + 1) / W  # η (k+1)/W
    if kind == "warmup_constant":
        return peak
    if kind == "cosine":
        p = (k - W) / max(1, total_steps - W - 1)  # progress in [0, 1]
        return peak * (m + (1 - m) * 0.5 * (1 + math.cos(math.pi * min(1.0, p))))
    start = total_steps - decay_steps  # wsd: stable until S − D, then linear to m·η
    if decay_steps == 0 or k < start:
        return peak
    return peak * (1 - (1 - m) * min(1.0, (k - start + 1) / decay_steps))  # p = (k − start + 1)/D ∈ (0, 1]
