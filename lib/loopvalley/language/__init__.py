"""The in-context Markov language (chapter 03): the data every transformer chapter trains on,
graded by Information Content, with its reference predictors, figures, widget and exercises.

- :mod:`~loopvalley.language.markov` — sampling, IC, simple/complex splits, reference predictors
- :mod:`~loopvalley.language.plots`, :mod:`~loopvalley.language.widgets` — figures and knobs
- :mod:`~loopvalley.language.exercises_ch03` — exercises with checkers

Introduced in notebooks/03_markov_language.
"""

from loopvalley.language import exercises_ch03, markov, plots, widgets

__all__ = ["markov", "plots", "widgets", "exercises_ch03"]
