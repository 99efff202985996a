"""Widgets for the Hessian chapter: scrub through training, and move the phase rule's thresholds.

Sliders use ``continuous_update=False`` (one redraw per release); the defaults reproduce the static
figures of notebooks/05_hessian_dynamics.

Introduced in notebooks/05_hessian_dynamics.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from loopvalley.hessian import spectra as sx
from loopvalley.hessian.plots import ARM_STYLE, plot_spectrum_histograms


def spectrum_widget(records: dict, index: int | None = None, view: str = "attention/train", name: str = "spectra"):
    """Scrub the probe index (training step); redraws every arm's spectrum at that step (histograms of
    λ/λ_max weighted by eigenvalue counts) and prints its statistic family.

    ``records``: ``{arm: RunRecord}`` with a :class:`loopvalley.hessian.spectra.SpectrumProbe`.

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
    """Move the phase rule's three thresholds and see which phases one statistic shows, per arm:
    ``values = {arm: values at steps}``. The sliders are in log units (the rule's own: 0.3 each in
    notebook 05): collapse needs log(x_anchor / x_min) above the first, diversification
    log(x_peak / x_min) above the second, stabilization log(max / min) over the converged part below
    the third. The figure draws each threshold as a dotted line in the arm's colour (collapse: the
    level the minimum must reach; diversification: the level the peak must reach; stabilization: the
    allowed band over the converged part) and shades the windows of the phases that are present.
    ``drop``/``rise``/``flat`` are :func:`loopvalley.hessian.spectra.detect_phases`' arguments.

    Introduced in notebooks/05_hessian_dynamics.
    """
    import math

    import ipywidgets as W

    steps = np.asarray(steps, float)
    to_log = {"collapse": -math.log(1 - drop), "diversification": math.log1p(rise), "stabilization": math.log1p(flat)}
    if converged_step is None:  # no converged part: stabilization is not judged, so it gets no slider
        to_log.pop("stabilization")
    knobs = {k: W.FloatSlider(value=round(v, 2), min=0.05, max=1.5, step=0.05, description=k[:8] + ".",
                              continuous_update=False, readout_format=".2f")
             for k, v in to_log.items()}

    def draw(collapse, diversification, stabilization=math.log1p(flat)):
        fig, ax = plt.subplots(figsize=(7.5, 3.6))
        for arm, x in values.items():
            x = np.asarray(x, float)
            st = ARM_STYLE.get(arm, dict(color="0.4", ls="-", label=arm))
            ax.plot(np.maximum(steps, 1), x, color=st["color"], ls=st["ls"], marker="o", ms=3, label=st["label"])
            p = sx.detect_phases(steps, x, anchor_step=anchor_step, converged_step=converged_step,
                                 drop=1 - math.exp(-collapse), rise=math.expm1(diversification),
                                 flat=math.expm1(stabilization))
            xa, xc = x[steps == p["anchor_step"]][0], x[steps == p["min_step"]][0]
            kw = dict(color=st["color"], ls=":", lw=1.2)
            ax.hlines(xa * math.exp(-collapse), max(p["anchor_step"], 1), steps[-1], **kw)  # collapse: min ≤ this
            ax.hlines(xc * math.exp(diversification), max(p["min_step"], 1), steps[-1], **kw)  # diversification: peak ≥ this
            if p["stabilization"]["margin"] is not None:
                tail = x[steps >= converged_step]
                ax.fill_between([max(converged_step, 1), steps[-1]], tail.min(), tail.min() * math.exp(stabilization),
                                color=st["color"], alpha=0.12, lw=0)
            for ph in ("collapse", "diversification"):
                if p[ph]["window"]:
                    ax.axvspan(max(p[ph]["window"][0], 1), max(p[ph]["window"][1], 1), color=st["color"], alpha=0.06)
            print(f"{st['label']:24s} " + ", ".join(
                f"{ph} {'present' if p[ph]['present'] else 'absent' if p[ph]['present'] is False else 'not judged'}"
                + (f" {p[ph]['window']}" if p[ph]["window"] else "") for ph in ("collapse", "diversification", "stabilization")))
        ax.set(xscale="log", xlabel="training step", ylabel=label,
               title="dotted: the level each phase must reach; band: stabilization's allowed spread")
        ax.legend(fontsize=8, loc="best")
        plt.show()

    out = W.interactive_output(draw, knobs)
    note = [] if converged_step is not None else [W.HTML(
        "stabilization is not judged: this run has no converged part (accuracy still moving at the end)")]
    return W.VBox([W.HBox(list(knobs.values())), *note, out])
