"""SHIFT (chapters 07–08): train the cheap Single-Attn first and switch to Looped-Attn when a
patience criterion fires; Theorem 3's gradient alignment; algorithmic tasks and length
generalisation; the ``shift`` (F1–F3b) and ``algorithmic-tasks`` (F4a–F4c) experiments, figures, widget
and exercises.

- :mod:`~loopvalley.shift.controller` — the switch criterion (δ1, δ2, W) and the switch
- :mod:`~loopvalley.shift.tasks` — the algorithmic tasks
- :mod:`~loopvalley.shift.experiment`, :mod:`~loopvalley.shift.algorithmic_tasks` — the experiments
- :mod:`~loopvalley.shift.plots`, :mod:`~loopvalley.shift.widgets`, :mod:`~loopvalley.shift.exercises_ch07`

Introduced in notebooks/07_shift.
"""

from loopvalley.shift import algorithmic_tasks, controller, exercises_ch07, experiment, plots, tasks, widgets

__all__ = ["controller", "tasks", "experiment", "algorithmic_tasks", "plots", "widgets", "exercises_ch07"]
