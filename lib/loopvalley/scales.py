"""One switch for how big every experiment is: ``LOOPVALLEY_SCALE=ci|small|paper``.

- ``ci``: what nbval runs; every notebook in about a minute on 2 CPU cores, phenomenon still visible.
- ``small``: the CPU default for readers; clean figures in a few minutes per notebook.
- ``paper``: the paper's scale, meant for a GPU (the default when CUDA is available).

Introduced in notebooks/01_river_valley.
"""

from __future__ import annotations

import os

from loopvalley._validate import check_choice

SCALES = ("ci", "small", "paper")


def current_scale(scale: str | None = None) -> str:
    """The scale to run at: ``scale`` if given, else ``$LOOPVALLEY_SCALE``, else ``paper`` on a
    CUDA machine and ``small`` on a CPU one.

    Introduced in notebooks/01_river_valley.
    """
    if scale is None:
        scale = os.environ.get("LOOPVALLEY_SCALE") or None
    if scale is None:
        try:
            import torch

            scale = "paper" if torch.cuda.is_available() else "small"
        except ImportError:  # pragma: no cover - torch is a hard dependency
            scale = "small"
    return check_choice("scale", scale, SCALES)
