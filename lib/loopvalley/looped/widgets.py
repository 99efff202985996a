"""Widgets for the Single-vs-Looped dynamics (notebook 04): knobs on top of the static figures
(defaults equal the static calls).

Introduced in notebooks/04_single_vs_looped.
"""

from __future__ import annotations

import matplotlib.pyplot as plt

from loopvalley.looped.plots import plot_split_curves


def looped_widget(run, n_loops: int = 3, d_model: int = 32):
    """Loops and width of the attention layer: ``run(n_loops=..., d_model=...)`` must return a list
    of ``{"single": RunRecord, "looped": RunRecord}`` (e.g. ``experiments.sample_dynamics.run_variant``).
    Press "train" to retrain (a few seconds at the CI scale) and redraw the per-split accuracy curves.

    Introduced in notebooks/04_single_vs_looped.
    """
    import ipywidgets as W


    def draw(n_loops, d_model):
        records = run(n_loops=n_loops, d_model=d_model)
        plot_split_curves(records, metric="acc", labels={"looped": f"Looped-Attn ({n_loops} loops)"})
        plt.show()

    return W.interactive(
        draw,
        {"manual": True, "manual_name": "train"},
        n_loops=W.IntSlider(value=n_loops, min=1, max=6, description="loops", continuous_update=False),
        d_model=W.Dropdown(value=d_model, options=[8, 16, 32, 64, 128], description="width d"),
    )
