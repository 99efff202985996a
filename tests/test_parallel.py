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
