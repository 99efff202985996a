"""Widget for SHIFT: δ1, δ2 and W replaying the SHIFT Criterion with Patience on a recorded run.

Replaying is exact and instant: the criterion is a pure function of the recorded window losses and
gradient coherences (:func:`loopvalley.shift.controller.switch_criterion`), and a SHIFT run is identical to the
Single run up to the step where its criterion fires. Sliders use ``continuous_update=False``.

Introduced in notebooks/07_shift.
"""

from __future__ import annotations

import math

import matplotlib.pyplot as plt

from loopvalley.shift.plots import plot_criterion


def criterion_widget(history, cfg, records=None, split: str = "complex", last_step=None):
    """Sliders for δ1 (log scale), δ2 (log scale; the right end, 1, switches the coherence test off:
    ρ ≤ 1 always) and W over :func:`loopvalley.shift.plots.plot_criterion` on Single's recorded
    ``history``. Defaults are ``cfg``'s, so the first drawing equals the static figure. ``records``
    (the arms' run records) are drawn as they were trained: the SHIFT curve shown is the run for
    ``cfg``'s switch step, whatever the sliders say.

    Introduced in notebooks/07_shift.
    """
    import ipywidgets as W

    d2_max = 1.0
    knobs = {
        "delta1": W.FloatLogSlider(value=cfg.delta1, base=10, min=-3.5, max=-0.5, step=0.05,
                                   description="δ1", continuous_update=False, readout_format=".4f"),
        "delta2": W.FloatLogSlider(value=min(cfg.delta2, d2_max), base=10, min=-1.7, max=0, step=0.05,
                                   description="δ2", continuous_update=False, readout_format=".3f"),
        "patience": W.IntSlider(value=cfg.patience, min=1, max=12, description="W", continuous_update=False),
    }

    def draw(delta1, delta2, patience):
        d2 = math.inf if delta2 >= d2_max else delta2
        plot_criterion(history, cfg, records, split, delta1=delta1, delta2=d2, patience=patience, last_step=last_step)
        plt.show()

    out = W.interactive_output(draw, knobs)
    return W.VBox([W.HBox(list(knobs.values())), out])
