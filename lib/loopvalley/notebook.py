"""The setup every notebook runs first: scale, seeds, thread count, figure defaults, expected run time.

A notebook's setup cell is::

    SCALE = "ci"        # ci | small | paper
    from loopvalley.notebook import setup
    scale, g = setup(seed=0, scale=SCALE, chapter="01_river_valley")

The scale is, in order: the ``scale`` argument (the notebook's ``SCALE``), else ``$LOOPVALLEY_SCALE``,
else ``"ci"`` — on every machine, a GPU or Colab included: live cells must finish in minutes, and the
``small`` / ``paper`` figures come from the shipped run records. (The command line keeps its own
default, :func:`loopvalley.scales.current_scale`.)

Introduced in notebooks/01_river_valley (the setup cell).
"""

from __future__ import annotations

import inspect
import json
import os
from pathlib import Path

import torch

from loopvalley._validate import check_choice
from loopvalley.scales import SCALES

# Okabe & Ito's colour-blind-safe palette: blue, vermillion, bluish green, orange, reddish purple,
# sky blue, yellow, grey (the house palette of every lib plot).
OKABE_ITO = ("#0072B2", "#D55E00", "#009E73", "#E69F00", "#CC79A7", "#56B4E9", "#F0E442", "#7F7F7F")
FIGURE_DPI = 120  # inline figures: sharp on a laptop screen and in slides

RUN_TIMES_FILE = "run_times.json"  # written by scripts/build_notebooks.sh next to the notebooks
_REPO_NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"  # a source checkout (editable install)


def seed_everything(seed: int = 0, threads: int | None = None) -> torch.Generator:
    """Seed torch (and numpy), fix the CPU thread count, return one explicit generator.

    Determinism on CPU needs a fixed thread count as well as seeds: with ``threads=None`` we use
    1 thread under CI (``$CI`` set) and leave torch's default otherwise (``binder/start`` sets
    ``OMP_NUM_THREADS=1``, which torch reads at start-up).
    """
    import numpy as np

    if threads is None and os.environ.get("CI"):
        threads = 1
    if threads is not None:
        torch.set_num_threads(int(threads))
    torch.manual_seed(seed)
    np.random.seed(seed)
    return torch.Generator().manual_seed(seed)


def notebook_scale(scale: str | None = None) -> str:
    """The scale a notebook runs at: ``scale`` (the notebook's ``SCALE``) if given, else
    ``$LOOPVALLEY_SCALE``, else ``"ci"``.

    Introduced in notebooks/00_start_here.
    """
    if scale is None:
        scale = os.environ.get("LOOPVALLEY_SCALE") or "ci"
    return check_choice("scale", scale, SCALES)


def figure_style() -> dict:
    """The matplotlib settings :func:`setup` applies: ≥ 120 dpi, the Okabe–Ito colour cycle,
    light grids, no top/right spines.

    Introduced in notebooks/00_start_here.
    """
    from cycler import cycler

    return {
        "figure.dpi": FIGURE_DPI,
        "figure.figsize": (7.5, 4.2),
        "axes.prop_cycle": cycler(color=list(OKABE_ITO)),
        "image.cmap": "viridis",
        "axes.grid": True,
        "grid.alpha": 0.3,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "mathtext.fontset": "cm",  # Computer Modern has the script letters (𝒞) DejaVu lacks
    }


def _run_times_paths() -> list:
    env = os.environ.get("LOOPVALLEY_RUN_TIMES")
    cands = [Path(env)] if env else []
    return cands + [_REPO_NOTEBOOKS / RUN_TIMES_FILE, Path.cwd() / RUN_TIMES_FILE, Path.cwd() / "notebooks" / RUN_TIMES_FILE]


def run_times(path=None) -> dict | None:
    """The measured run-time table (``notebooks/run_times.json``): ``{"machine": ..., "notebooks":
    {name: {scale: {"seconds": float | None, "how": str}}}}``, or ``None`` when it is not found
    (e.g. on Colab, where only the library is installed).

    Introduced in notebooks/00_start_here.
    """
    for p in [Path(path)] if path is not None else _run_times_paths():
        if p.is_file():
            return json.loads(p.read_text())
    return None


def _guess_chapter(depth: int = 2) -> str | None:
    """The running notebook's name, where the front end tells it (JupyterLab sets
    ``$JPY_SESSION_NAME``; IPython and VS Code set ``__session__`` / ``__vsc_ipynb_file__``)."""
    name = os.environ.get("JPY_SESSION_NAME")
    if not name:
        frame = inspect.currentframe()
        for _ in range(depth):
            frame = frame.f_back if frame is not None else None
        glb = frame.f_globals if frame is not None else {}
        name = glb.get("__vsc_ipynb_file__") or glb.get("__session__")
    if not name:
        return None
    return Path(str(name)).name.split(".")[0] or None


def _find_entry(table: dict, chapter: str) -> tuple[str, dict] | None:
    nbs = table.get("notebooks", {})
    if chapter in nbs:
        return chapter, nbs[chapter]
    hits = [k for k in nbs if k.split("_")[0] == chapter.split("_")[0]]
    return (hits[0], nbs[hits[0]]) if len(hits) == 1 else None


def _fmt_seconds(s: float) -> str:
    if s < 90:
        return f"{s:.0f} s"
    if s < 5400:
        return f"{s / 60:.0f} min"
    return f"{s / 3600:.1f} h"


def run_time_message(chapter: str | None, scale: str, table: dict | None = None) -> str:
    """One line: the expected run time of ``chapter`` at each scale, from the measured table.

    Introduced in notebooks/00_start_here.
    """
    table = run_times() if table is None else table
    if table is None:
        return "Expected run time: the table (notebooks/run_times.json) is not here; see notebooks/00_start_here."
    if not chapter:
        return "Expected run time per scale: see notebooks/00_start_here (pass chapter=... to setup to print it here)."
    found = _find_entry(table, chapter)
    if found is None:
        return f"Expected run time of {chapter}: not measured yet (scripts/build_notebooks.sh records it)."
    name, entry = found
    parts = []
    for s in SCALES:
        e = entry.get(s) or {}
        sec, how = e.get("seconds"), e.get("how", "not measured")
        tag = "" if sec is None else f" ≈ {_fmt_seconds(float(sec))} ({how.split(':')[0]})"
        parts.append(f"{s}{tag}" if sec is not None else f"{s}: not measured")
        if s == scale:
            parts[-1] = "[" + parts[-1] + "]"
    machine = table.get("machine", "")
    return f"Expected run time of {name}" + (f" on {machine}" if machine else "") + ": " + " · ".join(parts)


def setup(seed: int = 0, scale: str | None = None, chapter: str | None = None, quiet: bool = False):
    """Notebook setup: returns ``(scale, generator)``.

    Picks the scale (``scale`` > ``$LOOPVALLEY_SCALE`` > ``"ci"``), seeds torch and numpy, fixes the
    thread count under CI, sets inline figures to 120 dpi with the Okabe–Ito colour cycle, and prints
    the scale and the notebook's expected run time at each scale (measured; ``chapter`` names the
    notebook, e.g. ``"04_single_vs_looped"``; JupyterLab also tells it).

    Introduced in notebooks/01_river_valley.
    """
    import matplotlib as mpl

    mpl.rcParams.update(figure_style())
    s = notebook_scale(scale)
    g = seed_everything(seed)
    if not quiet:
        env = os.environ.get("LOOPVALLEY_SCALE")
        note = f" (LOOPVALLEY_SCALE={env} is set; the notebook's SCALE wins)" if scale is not None and env and env != s else ""
        print(f"scale = {s}{note}")
        print(run_time_message(chapter or _guess_chapter(), s))
    return s, g
