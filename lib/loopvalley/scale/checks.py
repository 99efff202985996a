"""Checks of the scale-up path (notebook 06): pipeline checks, not paper claims, so the ledger's
``reproduce`` does not run them (nothing here is registered).

- **G1** the FLOP accounting charges Looped-Attn n× Single-Attn per step, less the readout's share:
  n − F₍ₙ₎/F₍₁₎ = (n − 1)·R/F₍₁₎, and that share is small (< 10 %);
- **G2** a smoke run of the ``train`` command learns: for both models the mean training loss of the
  last 10 steps is ≥ 5 % below that of the first 10, and the final test loss is below the initial
  one on every split.

Introduced in notebooks/06_full_gpu_training.
"""

from __future__ import annotations

import numpy as np

from loopvalley.claims import Claim, claim_from_margins
from loopvalley.looped.compute import cost_ratio, flops_at_evals
from loopvalley.looped.models import ModelConfig


def scale_checks(smoke: dict, scale: str) -> list[Claim]:
    """G1 and G2 from two smoke-run records ``{"single": RunRecord, "looped": RunRecord}`` (same
    preset, same steps, trained with a :class:`loopvalley.looped.compute.FlopCounter`). Both are
    deterministic checks of one run each (two-valued).

    Introduced in notebooks/06_full_gpu_training.
    """
    l = smoke["looped"]
    cfg = ModelConfig(**l.meta["model_cfg"])
    n = int(cfg.n_loops)
    per_step = {k: flops_at_evals(r)[-1] / max(1, len(r.train_step)) for k, r in smoke.items()}
    cr = cost_ratio(cfg, int(l.meta["train_cfg"]["batch_size"]), int(l.meta["seq_len"]), n)
    ratio = per_step["looped"] / per_step["single"]
    g1 = claim_from_margins(
        "G1", "Looped-Attn costs n× Single-Attn per step, less the readout overhead",
        "T = 3 loops of one shared layer: 3× the compute at equal parameters",
        {"1e-4 − |(n − ratio) − (n − 1)·readout share|": [1e-4 - abs((n - ratio) - (n - 1) * cr["readout_share"])],
         "0.1 − readout share": [0.1 - cr["readout_share"]]},
        rule="n − ratio = (n − 1)·readout share (to 1e-4) and readout share < 10 %", rule_version="1",
        scale=scale, seeds=[], exploratory_seeds=[], deterministic=True,
        measured={"flop_ratio": ratio, "ideal": float(n), "readout_share": cr["readout_share"], "predicted_ratio": cr["ratio"]},
    )
    loss = {}
    for k, r in smoke.items():
        tl = np.asarray(r.train_loss, dtype=float)
        loss[k] = {"drop": float(1 - tl[-10:].mean() / tl[:10].mean()),
                   "test_gain": min(r.eval_loss[sp][0] - r.eval_loss[sp][-1] for sp in r.eval_loss)}
    g2 = claim_from_margins(
        "G2", "The CPU smoke run of the train command learns", "(a pipeline check, not a paper claim)",
        {**{f"{k}: train-loss drop − 5 %": [v["drop"] - 0.05] for k, v in loss.items()},
         **{f"{k}: min over splits of the test-loss decrease": [v["test_gain"]] for k, v in loss.items()}},
        rule="both models: last-10-step train loss ≥ 5 % below the first 10; final test loss < initial on every split",
        rule_version="1", scale=scale, seeds=[], exploratory_seeds=[], deterministic=True, measured=loss,
    )
    return [g1, g2]
