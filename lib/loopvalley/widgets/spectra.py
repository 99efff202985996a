"""Widgets for the Hessian chapter: scrub through training, and move the phase rule's thresholds.

Sliders use ``continuous_update=False`` (one redraw per release); the defaults reproduce the static
figures of notebooks/05_hessian_dynamics.

Introduced in notebooks/05_hessian_dynamics.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from .. import spectra as sx
from ..plots.spectra import ARM_STYLE, plot_spectrum_histograms


def spectrum_widget(records: dict, index: int | None = None, view: str = "attention/train", name: str = "spectra"):
    """Scrub the probe index (training step); redraws every arm's spectrum at that step (histograms of
    λ/λ_max weighted by eigenvalue counts) and prints its statistic family.

    ``records``: ``{arm: RunRecord}`` with a :class:`loopvalley.spectra.SpectrumProbe`.

    Introduced in notebooks/05_hessian_dynamics.
    """
    import ipywidgets as W

    spectra = {a: sx.record_spectra(r, view, name) for a, r in records.items()}
    n = min(len(s[0]) for s in spectra.values())
    index = n - 1 if index is None else int(np.clip(index, 0, n - 1))
    knob = W.IntSlider(value=index, min=0, max=n - 1, step=1, description="probe #", continuous_update=False)

    def draw(index):
        step = int(next(iter(spectra.values()))[0][index])
        sps = {ARM_STYLE.get(a, {"label": a})["label"]: s[1][index] for a, s in spectra.items()}
        plot_spectrum_histograms(sps, title=f"Hessian spectra at step {step} ({view})",
                                 colors=[ARM_STYLE.get(a, {"color": "0.4"})["color"] for a in spectra])
        plt.show()
        for label, sp in sps.items():
            f = sx.family(sp)
            print(f"{label:24s} " + ", ".join(f"{k} {v:.3g}" for k, v in f.items()))

    out = W.interactive_output(draw, {"index": knob})
    return W.VBox([knob, out])


def phase_rule_widget(steps, values: dict, anchor_step: int, converged_step, drop: float = 0.2, rise: float = 0.2,
                      flat: float = 0.15, label: str = "statistic"):
    """Move the phase rule's thresholds (drop, rise, flat) and see which phases one statistic shows,
    per arm: ``values = {arm: values at steps}``.

    Introduced in notebooks/05_hessian_dynamics.
    """
    import ipywidgets as W

    knobs = {
        "drop": W.FloatSlider(value=drop, min=0.05, max=0.8, step=0.05, description="drop", continuous_update=False),
        "rise": W.FloatSlider(value=rise, min=0.05, max=2.0, step=0.05, description="rise", continuous_update=False),
        "flat": W.FloatSlider(value=flat, min=0.02, max=1.0, step=0.02, description="flat", continuous_update=False),
    }

    def draw(drop, rise, flat):
        fig, ax = plt.subplots(figsize=(7.5, 3.4))
        for arm, x in values.items():
            st = ARM_STYLE.get(arm, dict(color="0.4", ls="-", label=arm))
            ax.plot(np.maximum(steps, 1), x, color=st["color"], ls=st["ls"], marker="o", ms=3, label=st["label"])
            p = sx.detect_phases(steps, x, anchor_step=anchor_step, converged_step=converged_step, drop=drop, rise=rise, flat=flat)
            print(f"{st['label']:24s} " + ", ".join(
                f"{ph} {'present' if p[ph]['present'] else 'absent' if p[ph]['present'] is False else 'not judged'}"
                + (f" {p[ph]['window']}" if p[ph]["window"] else "") for ph in ("collapse", "diversification", "stabilization")))
        ax.set(xscale="log", xlabel="training step", ylabel=label)
        ax.legend(fontsize=8)
        plt.show()

    out = W.interactive_output(draw, knobs)
    return W.VBox([W.HBox(list(knobs.values())), out])
