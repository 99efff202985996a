"""Widget for SHIFT: δ1, δ2 and W replaying the SHIFT Criterion with Patience on a recorded run.

Replaying is exact and instant: the criterion is a pure function of the recorded window losses and
gradient coherences (:func:`loopvalley.shift.switch_criterion`), and a SHIFT run is identical to the
Single run up to the step where its criterion fires. Sliders use ``continuous_update=False``.

Introduced in notebooks/07_shift.
"""

from __future__ import annotations

import math

import matplotlib.pyplot as plt

from ..plots.shift import plot_criterion
from ..shift import switch_criterion


def criterion_widget(history, cfg, records=None, ablation=None, split: str = "complex"):
    """Sliders for δ1 (log scale), δ2 (log scale; the right end = ∞, no coherence test) and W over
    :func:`loopvalley.plots.shift.plot_criterion` on Single's recorded ``history``. Defaults are
    ``cfg``'s, so the first drawing equals the static figure. With ``ablation`` (``{(policy, switch
    step): RunRecord}`` from the experiment) the SHIFT curve shown is the real run for the replayed
    switch step, when that step was trained.

    Introduced in notebooks/07_shift.
    """
    import ipywidgets as W

    d2_max = 1.0  # ρ ≤ 1 always, so δ2 = 1 already switches the coherence test off
    knobs = {
        "delta1": W.FloatLogSlider(value=cfg.delta1, base=10, min=-3.5, max=-0.5, step=0.05,
                                   description="δ1", continuous_update=False, readout_format=".4f"),
        "delta2": W.FloatLogSlider(value=min(cfg.delta2, d2_max), base=10, min=-1.5, max=0, step=0.05,
                                   description="δ2", continuous_update=False, readout_format=".3f"),
        "patience": W.IntSlider(value=cfg.patience, min=1, max=12, description="W", continuous_update=False),
    }

    def draw(delta1, delta2, patience):
        d2 = math.inf if delta2 >= d2_max else delta2
        shown = dict(records or {})
        step = switch_criterion(history, delta1, d2, patience)
        if ablation is not None:
            if (cfg.optimizer_state, step) in ablation:
                shown["shift"] = ablation[(cfg.optimizer_state, step)]
            else:
                shown.pop("shift", None)
                print(f"switch at step {step}: this SHIFT run was not trained in the ablation")
        plot_criterion(history, cfg, shown or None, split, delta1=delta1, delta2=d2, patience=patience)
        plt.show()

    out = W.interactive_output(draw, knobs)
    return W.VBox([W.HBox(list(knobs.values())), out])
