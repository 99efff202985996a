"""The Hessian of the loss over training (chapter 05): Hessian-vector products and spectra, the
``hessian-dynamics`` experiment (H1–H4), its figures, widgets and exercises.

- :mod:`~loopvalley.hessian.operator` — the Hessian as an operator (HVPs, dense, Lanczos, SLQ)
- :mod:`~loopvalley.hessian.spectra` — spectra over training, the statistic family, phases
- :mod:`~loopvalley.hessian.experiment` — the experiment and its claims
- :mod:`~loopvalley.hessian.plots`, :mod:`~loopvalley.hessian.widgets`, :mod:`~loopvalley.hessian.exercises_ch05`
- :mod:`~loopvalley.hessian.cli` — ``python -m loopvalley spectrum`` (also under ``torchrun``); imported by the
  command line only

Introduced in notebooks/05_hessian_dynamics.
"""

from loopvalley.hessian import exercises_ch05, experiment, operator, plots, spectra, widgets

__all__ = ["operator", "spectra", "experiment", "plots", "widgets", "exercises_ch05"]
