"""The named experiments behind each chapter, and the registry ``reproduce`` runs.

An experiment is a function ``run(ctx: Context) -> list[Claim]`` registered with :func:`register`.
Each lives in its own module here and is discovered automatically; each has its configuration in one
place, its own module, with the per-scale values in one table beside the dataclass.

Introduced in notebooks/01_river_valley.
"""

from __future__ import annotations

import importlib
import pkgutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from ..claims import Claim, write_ledger
from ..scales import current_scale


@dataclass
class Context:
    """What an experiment gets: the scale, how many confirmatory seeds (``None``: its default), where
    to write, whether to show progress, an optional cap on every training run's steps (a smoke test,
    ``reproduce --max-steps``), and how many worker processes may train seeds side by side."""

    scale: str
    out_dir: Path
    n_seeds: int | None = None
    progress: bool = True
    max_steps: int | None = None
    workers: int | None = None  # None: one per CPU core (loopvalley.parallel.default_workers)
    figures: list = field(default_factory=list)

    def save_figure(self, fig, name: str, alt: str = "") -> Path:
        """Save a matplotlib figure as ``out_dir/name.png`` and ``.svg`` (with ``alt`` as its
        description) and list it in the report."""
        import matplotlib.pyplot as plt

        self.out_dir.mkdir(parents=True, exist_ok=True)
        path = self.out_dir / f"{name}.png"
        meta = {"Description": alt} if alt else {}
        fig.savefig(path, dpi=120, bbox_inches="tight", metadata=meta)
        fig.savefig(path.with_suffix(".svg"), bbox_inches="tight", metadata={"Description": alt} if alt else None)
        plt.close(fig)
        self.figures.append(str(path))
        return path

    def save_records(self, name: str, records) -> Path:
        """Ship ``{key: RunRecord}`` as ``out_dir/records/<name>.json`` (floats to 6 significant
        digits), for the notebooks' figures at this scale (:func:`shipped_records`)."""
        from ..records import save_records

        return save_records(self.out_dir / "records" / f"{name}.json", records)


@dataclass(frozen=True)
class Experiment:
    name: str
    claim_ids: tuple
    description: str
    run: Callable[[Context], list]


REGISTRY: dict[str, Experiment] = {}


def shipped_records(scale: str, name: str, root=None) -> dict | None:
    """The run records an experiment shipped at ``scale`` (``results/<scale>/records/<name>.json``,
    written by ``reproduce``), as ``{key: RunRecord}``; ``None`` when none were shipped.

    Introduced in notebooks/04_single_vs_looped.
    """
    from ..presets import results_dir
    from ..records import load_records

    path = results_dir(scale, root) / "records" / f"{name}.json"
    return load_records(path) if path.exists() else None


def register(name: str, claim_ids, description: str):
    """Decorator: add ``run(ctx) -> list[Claim]`` to the registry under ``name``."""

    def deco(fn):
        REGISTRY[name] = Experiment(name, tuple(claim_ids), description, fn)
        return fn

    return deco


def load_all() -> dict[str, Experiment]:
    """Import every experiment module in this package; return the registry."""
    for mod in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{mod.name}")
    return REGISTRY


def reproduce(only=None, scale: str | None = None, seeds: int | None = None, out=None, progress: bool = True,
              max_steps: int | None = None, workers: int | None = None, threads: int = 1) -> list[Claim]:
    """Run the registered experiments (all, or those named in ``only``) and write the ledger.

    ``seeds`` is how many confirmatory seeds each experiment uses (``None``: its default at the
    scale). ``max_steps`` caps every training run at that many steps, compressing its evaluation and
    probe cadences: a smoke test of a large scale on a small machine, not a reproduction (the
    ledger's title says so). ``threads`` is this process's torch thread count (what runs outside
    the training jobs); every training job runs on one thread in its worker, so a seed's numbers —
    and the verdicts — do not depend on ``threads`` or ``workers``. Writes ``out/claims.json``, ``out/REPORT.md``, the forest plot and the
    figures; default ``out`` is ``results/<scale>/``. Returns the claims.
    """
    from ..plots.ledger import forest_alt_text, plot_forest

    registry = load_all()
    scale = current_scale(scale)
    names = list(registry) if not only else list(only)
    unknown = [n for n in names if n not in registry]
    if unknown:
        raise ValueError(f"unknown experiment(s) {unknown}; known experiments: {', '.join(sorted(registry))}")
    if seeds is not None and (isinstance(seeds, bool) or int(seeds) < 2):
        raise ValueError(f"seeds must be an integer >= 2 (an interval needs two seeds), got {seeds!r}")
    import torch

    from .._validate import check_int

    torch.set_num_threads(check_int("threads", threads, 1))
    out_dir = Path(out) if out is not None else Path("results") / scale
    ctx = Context(scale=scale, out_dir=out_dir, n_seeds=seeds, progress=progress, max_steps=max_steps,
                  workers=workers)
    import matplotlib as mpl

    from ..notebook import figure_style

    mpl.rcParams.update(figure_style())  # the notebooks' figure style (Okabe–Ito, 120 dpi) for saved figures too
    claims: list[Claim] = []
    t_all = time.perf_counter()
    for name in names:
        t0 = time.perf_counter()
        got = registry[name].run(ctx)
        claims.extend(got)
        if progress:
            print(f"[{name}] {time.perf_counter() - t0:.0f} s: " + ", ".join(f"{c.id} {c.verdict}" for c in got), flush=True)
    title = f"loopvalley reproduction ({scale} scale)"
    if max_steps is not None:
        title += f" — smoke test, every training run capped at {max_steps} steps"
    figures = list(ctx.figures)  # the experiments' figures; the forest plot is shown first, on its own
    forest = ctx.save_figure(plot_forest(claims), "forest", alt=forest_alt_text(claims)).name if claims else None
    write_ledger(claims, out_dir, figures, title=title, forest=forest)
    if progress:
        print(f"reproduce: {time.perf_counter() - t_all:.0f} s in all", flush=True)
    return claims
