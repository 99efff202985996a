"""The setup every notebook runs first: seeds, thread count, scale, plotting defaults.

Introduced in notebooks/01_river_valley (the setup cell).
"""

from __future__ import annotations

import os

import torch

from .scales import current_scale


def default_device() -> str:
    """``$DEVICE`` if set, else ``cuda`` when available, else ``cpu``."""
    return os.environ.get("DEVICE") or ("cuda" if torch.cuda.is_available() else "cpu")


def seed_everything(seed: int = 0, threads: int | None = None) -> torch.Generator:
    """Seed torch (and numpy), fix the CPU thread count, return one explicit generator.

    Determinism on CPU needs a fixed thread count as well as seeds: with ``threads=None`` we use
    1 thread under CI (``$CI`` set) and leave torch's default otherwise.
    """
    import numpy as np

    if threads is None and os.environ.get("CI"):
        threads = 1
    if threads is not None:
        torch.set_num_threads(int(threads))
    torch.manual_seed(seed)
    np.random.seed(seed)
    return torch.Generator().manual_seed(seed)


def setup(seed: int = 0, scale: str | None = None):
    """Notebook setup: returns ``(scale, generator)`` and sets quiet, readable matplotlib defaults.

    Introduced in notebooks/01_river_valley.
    """
    import matplotlib as mpl

    mpl.rcParams.update(
        {
            "figure.dpi": 90,
            "figure.figsize": (7.5, 4.2),
            "axes.grid": True,
            "grid.alpha": 0.3,
            "axes.spines.top": False,
            "axes.spines.right": False,
        }
    )
    s = current_scale(scale)
    g = seed_everything(seed)
    return s, g
