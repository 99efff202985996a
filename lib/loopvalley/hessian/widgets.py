"""Widgets for the Hessian chapter: scrub through training, and move the phase detectors' null.

Sliders use ``continuous_update=False`` (one redraw per release); the defaults reproduce the static
figures of notebooks/05_hessian_dynamics.

Introduced in notebooks/05_hessian_dynamics.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from loopvalley.hessian import phases as ph
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


def phase_null_widget(steps, values: dict, sigma: dict, anchor_step: int, converged_from: int | None,
                      label: str = "statistic"):
    """One statistic over training per arm (``values = {arm: values at steps}``) with its phases read
    against the noise null: move the estimator's noise σ (log units; the default is each arm's measured
    σ, ``sigma = {arm: σ}``) and the null's quantile, and see the thresholds each phase must clear. For
    each arm the figure draws the level the minimum must fall to (collapse) and the level the peak must
    reach (diversification) — the anchor (or the minimum) shifted by the null's quantile — and prints
    which phases clear their thresholds (:mod:`loopvalley.hessian.phases`).

    Introduced in notebooks/05_hessian_dynamics.
    """
    import math

    import ipywidgets as W


    steps = np.asarray(steps, float)
    scale = W.FloatLogSlider(value=1.0, base=10, min=-1, max=1, step=0.1, description="σ × ", continuous_update=False)
    q = W.FloatSlider(value=0.95, min=0.5, max=0.99, step=0.01, description="quantile", continuous_update=False)

    def draw(scale, q):
        fig, ax = plt.subplots(figsize=(7.5, 3.6), layout="constrained")
        for arm, x in values.items():
            x = np.asarray(x, float)
            st = ARM_STYLE.get(arm, dict(color="0.4", ls="-", label=arm))
            ax.plot(steps, x, color=st["color"], ls=st["ls"], marker="o", ms=3, label=st["label"])
            p = ph.detect(steps, x, anchor_step, converged_from)
            tC, tD, tR = ph.threshold(ph.noise_null(steps, sigma[arm] * scale, anchor_step, converged_from), q)
            xa, xm = x[steps == p.anchor_step][0], x[steps == p.min_step][0]
            kw = dict(color=st["color"], ls=":", lw=1.2)
            ax.hlines(xa * math.exp(-tC), p.anchor_step, steps[-1], **kw)  # collapse: the minimum must fall below this
            ax.hlines(xm * math.exp(tD), p.min_step, steps[-1], **kw)  # diversification: the peak must rise above this
            verdicts = [f"collapse {p.collapse:.2f} {'>' if p.collapse > tC else '≤'} {tC:.2f}",
                        f"diversification {p.diversification:.2f} {'>' if p.diversification > tD else '≤'} {tD:.2f}"]
            if p.stabilization is not None:
                verdicts.append(f"stabilization: range {p.stabilization:.2f} {'<' if p.stabilization < tR else '≥'} {tR:.2f}")
            print(f"{st['label']:24s} " + "; ".join(verdicts) + " (log units)")
        if converged_from is not None:
            ax.axvspan(converged_from, steps[-1], color="0.85", lw=0, label="converged segment")
        ax.set(yscale="log", xlabel="training step", ylabel=label,
               title="dotted: where the minimum and the peak must reach to beat the null")
        ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
        plt.show()

    out = W.interactive_output(draw, {"scale": scale, "q": q})
    return W.VBox([W.HBox([scale, q]), out])
