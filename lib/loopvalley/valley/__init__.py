"""The river-valley theory (chapters 01–02): closed-form landscapes, vectorised optimisers on them,
the ``river-valley`` experiment (claims T1–T6), its figures, widgets and exercises.

The theory needs no transformer: this wing imports only the core.

- :mod:`~loopvalley.valley.landscapes` — losses with gradients and Hessians in closed form
- :mod:`~loopvalley.valley.simulate` — GD / SGD / Adam on them, many runs at once
- :mod:`~loopvalley.valley.experiment` — the experiment and its claims
- :mod:`~loopvalley.valley.plots`, :mod:`~loopvalley.valley.widgets` — figures and knobs
- :mod:`~loopvalley.valley.exercises_ch01`, :mod:`~loopvalley.valley.exercises_ch02` — exercises with checkers

Introduced in notebooks/01_river_valley.
"""

from loopvalley.valley import exercises_ch01, exercises_ch02, experiment, landscapes, plots, simulate, widgets

__all__ = ["landscapes", "simulate", "experiment", "plots", "widgets", "exercises_ch01", "exercises_ch02"]
