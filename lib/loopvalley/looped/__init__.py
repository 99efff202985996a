"""Single-Attn and Looped-Attn (chapters 04 and 09): the model, the runs on the Markov language, the
arms of the recursion-or-depth control, FLOP accounting, the induction-head probe, the
``sample-dynamics`` (S1–S3) and ``recursion-or-depth`` (S4–S6) experiments, figures and exercises.

- :mod:`~loopvalley.looped.models` — one attention layer, looped T times (or T untied layers)
- :mod:`~loopvalley.looped.runs` — the Markov run (data, model, training) at each scale
- :mod:`~loopvalley.looped.arms` — the arms (single, looped, untied-T, wide-single, the sweep's looped-T) trained seed by seed
- :mod:`~loopvalley.looped.compute` — FLOPs per step, equal-compute budgets
- :mod:`~loopvalley.looped.mechanism` — previous-token and induction scores
- :mod:`~loopvalley.looped.sample_dynamics`, :mod:`~loopvalley.looped.recursion_depth` — the experiments
- :mod:`~loopvalley.looped.plots`, :mod:`~loopvalley.looped.widgets`, :mod:`~loopvalley.looped.exercises_ch04`

Introduced in notebooks/04_single_vs_looped.
"""

from loopvalley.looped import (
    arms,
    compute,
    exercises_ch04,
    mechanism,
    models,
    plots,
    recursion_depth,
    runs,
    sample_dynamics,
    widgets,
)

__all__ = [
    "models",
    "runs",
    "arms",
    "compute",
    "mechanism",
    "sample_dynamics",
    "recursion_depth",
    "plots",
    "widgets",
    "exercises_ch04",
]
