"""The run cache of :func:`loopvalley.parallel.map_seeds`: a repeated job is read back, not recomputed;
a changed argument or thread count is recomputed; results are the same either way."""

from functools import partial
from pathlib import Path

from loopvalley.parallel import map_seeds


def _job(seed, log: str, scale: float = 1.0):
    with open(log, "a") as f:  # one line per real computation
        f.write(f"{seed}\n")
    return {"seed": seed, "value": scale * seed ** 2}


def test_a_repeated_job_comes_from_the_cache_and_a_changed_one_does_not(tmp_path, monkeypatch):
    log = tmp_path / "calls.txt"
    monkeypatch.setenv("LOOPVALLEY_RUN_CACHE", str(tmp_path / "cache"))
    fn = partial(_job, log=str(log))
    first = map_seeds(fn, [1, 2, 3], workers=2)
    again = map_seeds(fn, [3, 2, 1, 4], workers=2)
    assert first == [{"seed": s, "value": s ** 2} for s in (1, 2, 3)]
    assert again == [{"seed": s, "value": s ** 2} for s in (3, 2, 1, 4)]
    assert sorted(map(int, log.read_text().split())) == [1, 2, 3, 4]  # 4 computed once, 1–3 not again
    map_seeds(partial(_job, log=str(log), scale=2.0), [1], workers=2)  # another argument
    map_seeds(fn, [1], workers=2, threads=2)  # another thread count
    assert sorted(map(int, log.read_text().split())) == [1, 1, 1, 2, 3, 4]


def test_without_the_cache_every_call_computes(tmp_path):
    log = tmp_path / "calls.txt"
    fn = partial(_job, log=str(log))
    assert map_seeds(fn, [5], workers=1) == map_seeds(fn, [5], workers=1)
    assert log.read_text().split() == ["5", "5"]
    assert not list(Path(tmp_path).glob("*.pkl"))


def _threads_seen(_seed):
    import torch

    return torch.get_num_threads()


def test_jobs_run_on_the_requested_threads_whatever_the_callers_count():
    import torch

    before = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        assert map_seeds(_threads_seen, [0, 1], workers=1) == [1, 1]  # in this process, switched for the jobs
        assert map_seeds(_threads_seen, [0, 1], workers=2) == [1, 1]  # in worker processes
        assert torch.get_num_threads() == 2  # and switched back
    finally:
        torch.set_num_threads(before)


def _interval(seed, pause: float = 0.25):
    import os
    import time

    t0 = time.monotonic()
    time.sleep(pause)
    return os.getpid(), t0, time.monotonic()


def _overlaps(spans) -> bool:
    spans = sorted(spans)
    return any(b0 < a1 for (_, a1), (b0, _) in zip(spans, spans[1:]))


def test_shared_cores_run_no_more_jobs_than_tokens():
    """With one token, two pools started at once (each with two workers) never run two jobs at the
    same time; without tokens the same pools do (the check can tell the two apart)."""
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    from loopvalley.parallel import _init_worker

    def spans(tokens):
        ctx = mp.get_context("fork")
        with ProcessPoolExecutor(2, mp_context=ctx, initializer=_init_worker, initargs=(1, tokens)) as pool:
            runs = [pool.submit(map_seeds, _interval, [0, 1], 2) for _ in range(2)]  # two pools at once
            return [(t0, t1) for r in runs for _, t0, t1 in r.result()]

    assert _overlaps(spans(None))
    assert not _overlaps(spans(mp.get_context("fork").BoundedSemaphore(1)))


def test_a_job_that_trains_seeds_itself_runs_on_its_own_token():
    """A job that calls map_seeds in its own process does not wait for a second token (no deadlock
    with one token)."""
    import multiprocessing as mp

    from loopvalley import parallel

    parallel.share_cores(mp.get_context("fork").BoundedSemaphore(1))
    try:
        assert [len(r) for r in map_seeds(partial(map_seeds, _interval, workers=1), [[0, 1], [2]], workers=1)] == [2, 1]
    finally:
        parallel.share_cores(None)
