"""The named experiments behind each chapter, and the registry ``reproduce`` runs.

An experiment is a function ``run(ctx: Context) -> list[Claim]`` registered with
:func:`register`. Each lives in its own module here (``river_valley``, ``sample_dynamics``,
``hessian_dynamics``, ``shift``) and is discovered automatically.

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
    """What an experiment gets: the scale, the seeds, where to write, whether to show progress."""

    scale: str
    seeds: list | None  # None: the experiment's default for this scale
    out_dir: Path
    progress: bool = True
    figures: list = field(default_factory=list)
    max_steps: int | None = None  # cap on every Trainer's steps (reproduce --max-steps; see train.step_budget)

    def steps_or(self, default: int) -> int:
        """Training steps to use: ``default``, capped at ``max_steps`` when set."""
        return int(default) if self.max_steps is None else min(int(default), int(self.max_steps))

    def seeds_or(self, default: int) -> list:
        """The seeds to use: the requested ones, else ``range(default)``."""
        return list(self.seeds) if self.seeds is not None else list(range(default))

    def save_figure(self, fig, name: str) -> Path:
        """Save a matplotlib figure as ``out_dir/name.png`` and list it in the report."""
        import matplotlib.pyplot as plt

        self.out_dir.mkdir(parents=True, exist_ok=True)
        path = self.out_dir / f"{name}.png"
        fig.savefig(path, dpi=110, bbox_inches="tight")
        plt.close(fig)
        self.figures.append(str(path))
        return path


@dataclass(frozen=True)
class Experiment:
    name: str
    claim_ids: tuple
    description: str
    run: Callable[[Context], list]


REGISTRY: dict[str, Experiment] = {}


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


def reproduce(
    only=None, scale: str | None = None, seeds: int | None = None, out=None, progress: bool = True,
    max_steps: int | None = None,
) -> list[Claim]:
    """Run the registered experiments (all, or those named in ``only``) and write the ledger.

    ``seeds`` is a number of seeds (0..seeds-1); ``None`` uses each experiment's default.
    ``max_steps`` caps every training run at that many steps, compressing its evaluation and probe
    cadences (:func:`loopvalley.train.step_budget`): a smoke test of a large scale on a small
    machine, not a reproduction (the ledger's title says so).
    Writes ``out/claims.json``, ``out/REPORT.md`` and the figures; default ``out`` is
    ``results/<scale>/``. Returns the claims.
    """
    registry = load_all()
    scale = current_scale(scale)
    names = list(registry) if not only else list(only)
    unknown = [n for n in names if n not in registry]
    if unknown:
        raise ValueError(
            f"unknown experiment(s) {unknown}; known experiments: {', '.join(sorted(registry))}"
        )
    if seeds is not None and (isinstance(seeds, bool) or int(seeds) < 1):
        raise ValueError(f"seeds must be an integer >= 1, got {seeds!r}")
    out_dir = Path(out) if out is not None else Path("results") / scale
    ctx = Context(
        scale=scale,
        seeds=None if seeds is None else list(range(int(seeds))),
        out_dir=out_dir,
        progress=progress,
        max_steps=max_steps,
    )
    from ..train import step_budget

    claims: list[Claim] = []
    for name in names:
        t0 = time.perf_counter()
        with step_budget(max_steps):
            got = registry[name].run(ctx)
        claims.extend(got)
        if progress:
            verdicts = ", ".join(f"{c.id} {'holds' if c.holds else 'FAILS'}" for c in got)
            print(f"[{name}] {time.perf_counter() - t0:.1f} s: {verdicts}", flush=True)
    title = f"loopvalley reproduction ({scale} scale)"
    if max_steps is not None:
        title += f" — smoke test, every training run capped at {max_steps} steps"
    write_ledger(claims, out_dir, ctx.figures, title=title)
    return claims
