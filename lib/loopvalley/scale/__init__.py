"""Training at the paper's scale (chapter 06): the ``train`` command's presets, bf16 / compile / DDP,
the pipeline checks of the scale-up path, and the figures of shipped GPU records.

- :mod:`~loopvalley.scale.presets` — every field of a run as a command-line option
- :mod:`~loopvalley.scale.distributed` — the accelerated trainer (AMP, compile, DDP)
- :mod:`~loopvalley.scale.cli_train` — ``python -m loopvalley train``
- :mod:`~loopvalley.scale.checks` — G1–G2, pipeline checks (not paper claims)
- :mod:`~loopvalley.scale.plots` — figures

Introduced in notebooks/06_full_gpu_training.
"""

from loopvalley.scale import checks, cli_train, distributed, plots, presets

__all__ = ["presets", "distributed", "cli_train", "checks", "plots"]
