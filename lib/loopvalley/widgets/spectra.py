"""Widgets for the Hessian chapter: scrub through training and move the thresholds ε and τ.

Sliders use ``continuous_update=False`` (one redraw per release); the defaults reproduce the static
figures of notebooks/05_hessian_dynamics.

Introduced in notebooks/05_hessian_dynamics.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from ..hessian import record_spectra
from ..plots.spectra import plot_assumption1, plot_spectrum_at


def spectrum_widget(records: dict, assumption1, index: int | None = None, eps_rel: float = 1e-3,
                    tau_rel: float = 1e-2, name: str = "spectrum"):
    """Scrub the probe index (training step) and the relative thresholds ε/λ_max, τ/λ_max; redraws
    both models' spectra at that step and Assumption 1 per eigenvalue.

    ``records``: ``{"single": RunRecord, "looped": RunRecord}`` with a spectrum probe;
    ``assumption1``: the function ``(eigs_looped, eigs_single, eps_rel, tau_rel) -> dict``
    (:func:`loopvalley.experiments.hessian_dynamics.assumption1`).

    Introduced in notebooks/05_hessian_dynamics.
    """
    import ipywidgets as W

    steps_L, eigs_L = record_spectra(records["looped"], name)
    steps_S, eigs_S = record_spectra(records["single"], name)
    n = min(len(steps_L), len(steps_S))
    index = n - 1 if index is None else int(np.clip(index, 0, n - 1))
    knobs = {
        "index": W.IntSlider(value=index, min=0, max=n - 1, step=1, description="probe #", continuous_update=False),
        "eps_rel": W.FloatLogSlider(value=eps_rel, base=10, min=-5, max=-1, step=0.25, description="ε/λ_max",
                                    continuous_update=False),
        "tau_rel": W.FloatLogSlider(value=tau_rel, base=10, min=-4, max=0, step=0.25, description="τ/λ_max",
                                    continuous_update=False),
    }

    def draw(index, eps_rel, tau_rel):
        if tau_rel <= eps_rel:
            print(f"τ/λ_max ({tau_rel:.2g}) must be above ε/λ_max ({eps_rel:.2g})")
            return
        plot_spectrum_at(records, index, eps_rel, tau_rel, name)
        a1 = assumption1(eigs_L[index], eigs_S[index], eps_rel, tau_rel)
        plot_assumption1(a1, steps_L[index], eps_rel, tau_rel)
        plt.show()

    out = W.interactive_output(draw, knobs)
    return W.VBox([W.HBox(list(knobs.values())), out])
