"""The named experiments behind each chapter, and the registry ``reproduce`` runs.

An experiment is a function ``run(ctx: Context) -> list[Claim]`` registered with :func:`register`.
Each lives in its chapter's wing (:data:`EXPERIMENT_MODULES` lists them), with its configuration in
one place, its own module, and the per-scale values in one table beside the dataclass.

Introduced in notebooks/01_river_valley.
"""

from __future__ import annotations

import importlib
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable

from loopvalley import cpu_kernels
from loopvalley._validate import check_int
from loopvalley.claims import Claim, load_ledger, write_ledger
from loopvalley.forest import forest_alt_text, plot_forest
from loopvalley.notebook import figure_style
from loopvalley.parallel import _init_worker, cores, default_workers
from loopvalley.records import load_records, results_dir, save_records
from loopvalley.scales import current_scale


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
        description) and list it in the report.

        A warning matplotlib raises while drawing — a layout engine that gave up ("constrained_layout
        not applied", "Tight layout not applied"), a glyph the font lacks — is an error here: the figure
        would be saved broken. (matplotlib attributes these warnings to the caller's line, so they are
        caught by category, ``UserWarning``, for the duration of the save.)"""
        import warnings

        import matplotlib.pyplot as plt

        self.out_dir.mkdir(parents=True, exist_ok=True)
        path = self.out_dir / f"{name}.png"
        meta = {"Description": alt} if alt else {}
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error", UserWarning)
                fig.savefig(path, dpi=120, bbox_inches="tight", metadata=meta)
                fig.savefig(path.with_suffix(".svg"), bbox_inches="tight", metadata={"Description": alt} if alt else None)
        except UserWarning as w:
            raise RuntimeError(f"figure {name!r}: matplotlib warned while drawing it: {w}") from w
        finally:
            plt.close(fig)
        self.figures.append(str(path))
        return path

    def save_records(self, name: str, records) -> Path:
        """Ship ``{key: RunRecord}`` as ``out_dir/records/<name>.json`` (floats to 6 significant
        digits), for the notebooks' figures at this scale (:func:`shipped_records`)."""

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
    written by ``reproduce``), as ``{key: RunRecord}``; ``None`` when none were shipped. A damaged
    file (truncated, not JSON, a record lacking a field) also gives ``None``, after one printed line
    saying which file and what is wrong: the caller falls back to its live ci runs, as when nothing
    was shipped.

    Introduced in notebooks/04_single_vs_looped.
    """

    path = results_dir(scale, root) / "records" / f"{name}.json"
    if not path.exists():
        return None
    try:
        return load_records(path)
    except ValueError as e:  # load_records names the file and what is wrong with it
        print(f"shipped records not used: {e}; falling back to the live ci runs", flush=True)
        return None


def shipped_ledger(scale: str = "small", root=None) -> list[dict] | None:
    """The claims of the ledger shipped at ``scale`` (``results/<scale>/claims.json``), or ``None`` —
    with one printed line saying why — when it is missing or damaged.

    Introduced in notebooks/00_start_here.
    """
    path = results_dir(scale, root) / "claims.json"
    if not path.exists():
        return None
    try:
        return load_ledger(path)
    except ValueError as e:
        print(f"shipped ledger not used: {e}")
        return None


def register(name: str, claim_ids, description: str):
    """Decorator: add ``run(ctx) -> list[Claim]`` to the registry under ``name``."""

    def deco(fn):
        REGISTRY[name] = Experiment(name, tuple(claim_ids), description, fn)
        return fn

    return deco


# The experiment modules, in the book's order (the ledger lists claims in this order). The core never
# imports a wing: the registry finds the experiments by name.
EXPERIMENT_MODULES = (
    "loopvalley.valley.experiment",  # river-valley: T1–T6 (chapters 01–02)
    "loopvalley.looped.sample_dynamics",  # sample-dynamics: S1–S3 (04)
    "loopvalley.hessian.experiment",  # hessian-dynamics: H1–H4 (05)
    "loopvalley.shift.experiment",  # shift: F1–F3b (07)
    "loopvalley.shift.algorithmic_tasks",  # algorithmic-tasks: F4a–F4c (08)
    "loopvalley.looped.recursion_depth",  # recursion-or-depth: S4–S6 (09)
)


def load_all() -> dict[str, Experiment]:
    """Import every experiment module (:data:`EXPERIMENT_MODULES`); return the registry."""
    for name in EXPERIMENT_MODULES:
        importlib.import_module(name)
    order = {m: i for i, m in enumerate(EXPERIMENT_MODULES)}  # a wing may register its experiments in any order
    ranked = sorted(REGISTRY.values(), key=lambda e: order.get(e.run.__module__, len(order)))
    REGISTRY.clear()
    REGISTRY.update((e.name, e) for e in ranked)
    return REGISTRY


def reproduce(only=None, scale: str | None = None, seeds: int | None = None, out=None, progress: bool = True,
              max_steps: int | None = None, workers: int | None = None, threads: int = 1,
              at_once: int | None = None) -> list[Claim]:
    """Run the registered experiments (all, or those named in ``only``) and write the ledger.

    ``seeds`` is how many confirmatory seeds each experiment uses (``None``: its default at the
    scale). ``max_steps`` caps every training run at that many steps, compressing its evaluation and
    probe cadences: a smoke test of a large scale on a small machine, not a reproduction (the
    ledger's title says so). ``threads`` is this process's torch thread count (what runs outside
    the training jobs); every training job runs on one thread in its worker, so a seed's numbers —
    and the verdicts — do not depend on ``threads`` or ``workers``.

    ``at_once`` experiments run side by side, each in its own process with its own pool of
    ``workers`` (``None``: two, or one on a single core or with ``$LOOPVALLEY_WORKERS=1``; ``1``: one
    after another in this process). Their pools share one token per core, so no more training jobs
    run than there are cores, and the cores an experiment leaves idle (its claims and figures, the
    last job of a pool) go to the other experiment's jobs. Each experiment computes
    the same numbers wherever it runs, so the ledger does not depend on ``at_once`` (tested); the
    claims and figures are listed in the registry's order either way, and progress is one line per
    experiment as it ends.

    Writes ``out/claims.json``, ``out/REPORT.md``, the forest plot and the figures; default ``out``
    is ``results/<scale>/``. Returns the claims.
    """

    registry = load_all()
    scale = current_scale(scale)
    names = list(registry) if not only else list(only)
    unknown = [n for n in names if n not in registry]
    if unknown:
        raise ValueError(f"unknown experiment(s) {unknown}; known experiments: {', '.join(sorted(registry))}")
    if seeds is not None and (isinstance(seeds, bool) or int(seeds) < 2):
        raise ValueError(f"seeds must be an integer >= 2 (an interval needs two seeds), got {seeds!r}")
    import torch

    threads = check_int("threads", threads, 1)
    torch.set_num_threads(threads)
    out_dir = Path(out) if out is not None else Path("results") / scale
    ctx = Context(scale=scale, out_dir=out_dir, n_seeds=seeds, progress=progress, max_steps=max_steps,
                  workers=workers)
    import matplotlib as mpl


    mpl.rcParams.update(figure_style())  # the notebooks' figure style (Okabe–Ito, 120 dpi) for saved figures too
    at_once = default_workers(min(2, len(names))) if at_once is None else check_int("at_once", at_once, 1)
    t_all, c_all = time.perf_counter(), cpu_seconds()
    done = _run_side_by_side(names, ctx, at_once, threads) if at_once > 1 and len(names) > 1 else \
        {name: _run_one(name, ctx, report=progress) for name in names}
    claims: list[Claim] = [c for name in names for c in done[name][0]]
    ctx.figures = [f for name in names for f in done[name][1]]
    title = f"loopvalley reproduction ({scale} scale)"
    if max_steps is not None:
        title += f" — smoke test, every training run capped at {max_steps} steps"
    figures = list(ctx.figures)  # the experiments' figures; the forest plot is shown first, on its own
    forest = ctx.save_figure(plot_forest(claims), "forest", alt=forest_alt_text(claims)).name if claims else None
    kernels = cpu_kernels.status()
    meta = {"scale": scale, "torch": torch.__version__.split("+")[0], "cpu_kernels": kernels["env"] if kernels["pinned"]
            else f"not pinned (ATen {kernels['aten']}): numbers may differ from the shipped ones"}
    write_ledger(claims, out_dir, figures, title=title, forest=forest, meta=meta)
    if progress:
        wall, cpu = time.perf_counter() - t_all, cpu_seconds() - c_all
        n = ctx.workers or cores()
        print(f"reproduce: {wall:.0f} s in all; {cpu:.0f} CPU s, {cpu / wall / n:.0%} of {n} cores", flush=True)
    return claims


def _run_one(name: str, ctx: Context, report: bool = False) -> tuple[list, list]:
    """Run experiment ``name`` with ``ctx`` (figures listed afresh); return ``(claims, figures)``. With
    ``report``, print its line: seconds, CPU seconds (its pools' included) and verdicts."""
    t0, c0 = time.perf_counter(), cpu_seconds()
    ctx = replace(ctx, figures=[])
    got = load_all()[name].run(ctx)
    if report:
        print(f"[{name}] {time.perf_counter() - t0:.0f} s, {cpu_seconds() - c0:.0f} CPU s: "
              + ", ".join(f"{c.id} {c.verdict}" for c in got), flush=True)
    return got, ctx.figures


def cpu_seconds() -> float:
    """CPU seconds (user + system) of this process and of its ended child processes, theirs included."""
    import resource

    return sum(u.ru_utime + u.ru_stime for u in (resource.getrusage(resource.RUSAGE_SELF),
                                                resource.getrusage(resource.RUSAGE_CHILDREN)))


def _run_side_by_side(names: list, ctx: Context, at_once: int, threads: int) -> dict:
    """``{name: _run_one(name, ctx)}``, ``at_once`` experiments at a time, each in its own process
    (forked on Linux, else spawned: the experiment is looked up by name there). Their pools share
    one token per core (``ctx.workers`` if given; :func:`loopvalley.parallel.share_cores`), so no
    more jobs run than there are cores, and a core one experiment leaves idle goes to another's job.
    Without progress bars (two would garble one terminal): each experiment prints its line as it ends."""
    import multiprocessing as mp
    import sys
    from concurrent.futures import FIRST_EXCEPTION, ProcessPoolExecutor, wait


    quiet = replace(ctx, progress=False)
    mpc = mp.get_context("fork" if sys.platform.startswith("linux") else "spawn")
    tokens = mpc.BoundedSemaphore(ctx.workers or cores())  # one per core (or per worker asked for)
    with ProcessPoolExecutor(at_once, mp_context=mpc, initializer=_init_worker, initargs=(threads, tokens)) as pool:
        futures = {pool.submit(_run_one, name, quiet, ctx.progress): name for name in names}
        finished, _ = wait(futures, return_when=FIRST_EXCEPTION)
        failed = [f for f in finished if f.exception() is not None]
        if failed:  # as one after another would: stop at the failure, start nothing more
            for f in futures:
                f.cancel()
            failed[0].result()
        return {name: f.result() for f, name in futures.items()}
