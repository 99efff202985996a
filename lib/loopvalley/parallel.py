"""Seeds trained together: independent seeds of an experiment run side by side, one per CPU core.

These models are small (d_model 16–32, batch 64): one training step is a few milliseconds of real
arithmetic, so stacking the seeds into one batched model (``torch.func.stack_module_state`` +
``vmap``) buys little on a CPU — measured in ``benchmarks/train_speed.py``, together with this. What
does pay is using every core: :func:`map_seeds` runs ``fn(seed)`` for each seed in a pool of worker
processes, each with one torch thread. One thread per run also makes every run's numbers
independent of how many workers there are: a seed gives bit-identical results whether it ran alone,
in a pool, or in the notebook's own process with one thread (tested).

On Linux the workers are forked (fast, and a plain script needs no ``if __name__ == "__main__"``
guard; each worker then sets one torch thread before any work); elsewhere they are spawned, so ``fn``
must be importable — a module-level function, or a ``functools.partial`` of one with picklable
arguments — and a script must guard its entry point.

**A run cache for repeated executions** (off unless ``$LOOPVALLEY_RUN_CACHE`` names a directory):
each job's result is stored under a hash of the pickled ``(fn, job)``, the thread count and the
library's source code, and returned from there when the same job comes again. CI sets it so that
the browser check, which executes every notebook a second time after nbval, redraws the figures
without retraining; the nbval pass computes everything. Any change to the library's code, the
job's arguments or the thread count misses the cache.

Introduced in notebooks/04_single_vs_looped.
"""

from __future__ import annotations

import hashlib
import os
import pickle
from functools import lru_cache
from pathlib import Path
from typing import Callable, Sequence

from loopvalley._validate import check_int


def cores() -> int:
    """``$LOOPVALLEY_WORKERS`` if set, else the CPU cores this process may use."""
    env = os.environ.get("LOOPVALLEY_WORKERS")
    if env:
        return check_int("LOOPVALLEY_WORKERS", int(env), 1)
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def default_workers(n_jobs: int) -> int:
    """``$LOOPVALLEY_WORKERS`` if set, else one worker per CPU core, at most one per job."""
    return max(1, min(n_jobs, cores()))


CACHE_ENV = "LOOPVALLEY_RUN_CACHE"


@lru_cache(maxsize=1)
def _code_fingerprint() -> bytes:
    """A hash of every source file of the library (a code change invalidates the run cache)."""
    h = hashlib.sha256()
    root = Path(__file__).resolve().parent
    for f in sorted(root.rglob("*.py")):
        h.update(str(f.relative_to(root)).encode())
        h.update(f.read_bytes())
    return h.digest()


def _cache_path(fn: Callable, seed, threads: int) -> Path | None:
    """Where the run cache keeps ``fn(seed)``, or ``None`` when the cache is off or the job cannot be
    pickled (then it is always computed)."""
    root = os.environ.get(CACHE_ENV)
    if not root:
        return None
    try:
        blob = pickle.dumps((fn, seed, threads), protocol=4)
    except Exception:  # noqa: BLE001 - an unpicklable job is simply not cached
        return None
    key = hashlib.sha256(_code_fingerprint() + blob).hexdigest()
    return Path(root) / f"{key}.pkl"


# Cores shared between pools: ``reproduce`` runs experiments side by side, each with its own pool, and
# hands every process one semaphore with a token per core; a job runs only while it holds a token, so
# the pools together keep every core busy without running more jobs than cores. ``None``: no limit
# (one pool at a time, the usual case).
_CORES = None
_HOLDING = False  # this process is running a job (a nested job runs on its token)


def share_cores(tokens) -> None:
    """Make this process's jobs, and those of the pools it starts, take a token of ``tokens`` (a
    ``multiprocessing`` semaphore with one token per core) while they run; ``None``: no limit."""
    global _CORES
    _CORES = tokens


def _run_job(fn: Callable, arg):
    """``fn(arg)``, holding a core token while it runs (when cores are shared)."""
    global _HOLDING
    if _CORES is None or _HOLDING:
        return fn(arg)
    with _CORES:
        _HOLDING = True
        try:
            return fn(arg)
        finally:
            _HOLDING = False


def _init_worker(threads: int, tokens=None) -> None:
    import torch

    torch.set_num_threads(threads)
    share_cores(tokens)


def _call(job):
    fn, arg = job
    return _run_job(fn, arg)


def map_seeds(fn: Callable, seeds: Sequence, workers: int | None = None, threads: int = 1, progress: bool = False) -> list:
    """``[fn(seed) for seed in seeds]``, computed by ``workers`` processes with ``threads`` torch
    threads each (``workers=1``: in this process, switched to ``threads`` for the jobs and back).
    Results come back in the order of ``seeds`` and do not depend on ``workers``.

    Introduced in notebooks/04_single_vs_looped.
    """
    seeds = list(seeds)
    if not seeds:
        return []
    workers = default_workers(len(seeds)) if workers is None else check_int("workers", workers, 1)
    threads = check_int("threads", threads, 1)
    if os.environ.get(CACHE_ENV):
        paths = [_cache_path(fn, s, threads) for s in seeds]
        todo = [i for i, p in enumerate(paths) if p is None or not p.exists()]
        fresh = dict(zip(todo, _map(fn, [seeds[i] for i in todo], workers, threads, progress))) if todo else {}
        out = []
        for i, p in enumerate(paths):
            if i in fresh:
                if p is not None:
                    p.parent.mkdir(parents=True, exist_ok=True)
                    tmp = p.with_suffix(f".{os.getpid()}.tmp")
                    tmp.write_bytes(pickle.dumps(fresh[i], protocol=4))
                    tmp.replace(p)
                out.append(fresh[i])
            else:
                out.append(pickle.loads(p.read_bytes()))
        return out
    return _map(fn, seeds, workers, threads, progress)


def _map(fn: Callable, seeds: list, workers: int, threads: int, progress: bool) -> list:
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(seeds), desc="seeds", leave=True)  # a closed (leave=False) bar leaves an empty widget view behind in JupyterLab
    if workers == 1:  # in this process, with the jobs' thread count (restored afterwards)
        import torch

        before, out = torch.get_num_threads(), []
        torch.set_num_threads(threads)
        try:
            for s in seeds:
                out.append(_run_job(fn, s))
                if bar is not None:
                    bar.update(1)
        finally:
            torch.set_num_threads(before)
    else:
        import multiprocessing as mp
        import sys
        from concurrent.futures import ProcessPoolExecutor

        ctx = mp.get_context("fork" if sys.platform.startswith("linux") else "spawn")
        if ctx.get_start_method() == "fork":  # a job's first optimizer imports torch._dynamo (≈ 1.5 s, starts
            import torch._dynamo  # noqa: F401  no thread): once here, and every forked worker has it
        with ProcessPoolExecutor(workers, mp_context=ctx, initializer=_init_worker,
                                 initargs=(threads, _CORES)) as pool:
            out = []
            for r in pool.map(_call, [(fn, s) for s in seeds]):
                out.append(r)
                if bar is not None:
                    bar.update(1)
    if bar is not None:
        bar.close()
    return out
