"""The arms an experiment compares on the Markov language, and one function that trains an arm.

An *arm* is a named architecture built from the run's :class:`loopvalley.looped.models.ModelConfig`:
``single`` (the attention layer applied once) and ``looped`` (the same layer applied ``n_loops``
times with shared weights), and the plain-depth controls of notebook 09: ``untied-2`` and
``untied-3`` (2 or 3 distinct layers in series, :func:`loopvalley.looped.models.untied_attn`) and
``wide-single`` (one layer holding Untied-3's parameters side by side: 3× the heads and MLP
width, :func:`loopvalley.looped.models.wide_single_attn`); and, for notebook 09's loop-count sweep, any
``looped-T`` (the shared layer applied T times) and ``untied-T`` (T distinct layers), T ≥ 1
(:func:`arm_depth`). Every arm of a seed starts from weights drawn
from the same generator (``torch.Generator().manual_seed(seed)``), sees the same language sample
(:func:`loopvalley.seeds.data_generator`) and the same data order, so arms differ only in their
architecture.

Introduced in notebooks/04_single_vs_looped (``single``, ``looped``) and
notebooks/09_recursion_or_depth (the controls).
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Callable, Mapping, Sequence

import numpy as np
import torch

from loopvalley.language.markov import MarkovData
from loopvalley.looped.models import ModelConfig, build_model, variant_config
from loopvalley.parallel import map_seeds
from loopvalley.records import RunRecord
from loopvalley.train import Trainer

ARMS = ("single", "looped", "untied-2", "untied-3", "wide-single")  # the named arms
# the order train_seeds hands (seed, arm) jobs to the workers: the most expensive first
# (longest-processing-time first keeps every core busy to the end); sweep arms go by their depth
COST_ORDER = ("untied-3", "looped", "wide-single", "untied-2", "single")
# the controls: arm -> (kind of loopvalley.looped.models.variant_config, depth); depths are fixed by the name
CONTROL_ARMS = {"untied-2": ("untied", 2), "untied-3": ("untied", 3), "wide-single": ("wide", 3)}
_SWEEP = re.compile(r"^(looped|untied)-([1-9][0-9]*)$")  # looped-T, untied-T: the loop-count sweep's arms


def check_arm(arm: str) -> str:
    """``arm`` if it names an arm (:data:`ARMS`, or ``looped-T`` / ``untied-T`` with T ≥ 1), else a
    ``ValueError`` naming the allowed names.

    Introduced in notebooks/09_recursion_or_depth.
    """
    if isinstance(arm, str) and (arm in ARMS or _SWEEP.match(arm)):
        return arm
    raise ValueError(f"arm must be one of {', '.join(ARMS)}, looped-T or untied-T (T ≥ 1), got {arm!r}")


def arm_depth(arm: str, run) -> tuple[str, int]:
    """``(kind, depth)`` of ``arm`` for ``run``: the kind of :func:`loopvalley.looped.models.variant_config`
    (``single``, ``looped``, ``untied``, ``wide``) and the sequential layer applications (the wide
    layer: how many layers' parameters it holds side by side). ``looped`` is ``looped-{run.looped_depth}``.

    Introduced in notebooks/09_recursion_or_depth.
    """
    check_arm(arm)
    if arm in CONTROL_ARMS:
        return CONTROL_ARMS[arm]
    if arm == "single":
        return "single", 1
    if arm == "looped":
        return "looped", int(run.looped_depth)
    kind, depth = _SWEEP.match(arm).groups()
    return kind, int(depth)


def _cost_rank(arm: str) -> tuple:
    """Sort key, most expensive first: a training step costs about its layer applications (the wide
    layer: 3; ``looped``: taken as 3), ties in :data:`COST_ORDER`'s order, then by name."""
    m = _SWEEP.match(arm)
    depth = int(m.group(2)) if m else {"single": 1, "untied-2": 2}.get(arm, 3)
    return (-depth, COST_ORDER.index(arm) if arm in COST_ORDER else len(COST_ORDER), arm)


def build_arm(arm: str, run, seed: int) -> torch.nn.Module:
    """The model of ``arm`` for ``run`` (a :class:`loopvalley.looped.runs.MarkovRun`), seeded by ``seed``.

    Introduced in notebooks/04_single_vs_looped.
    """
    return build_model(arm_config(arm, run), torch.Generator().manual_seed(int(seed)))


def arm_config(arm: str, run) -> ModelConfig:
    """The :class:`loopvalley.looped.models.ModelConfig` of ``arm``: ``single`` = 1 loop, ``looped`` =
    ``run.looped_depth`` loops (shared weights); ``untied-L`` = L distinct layers; ``wide-single`` = one
    layer with 3× the heads (same head width) and 3× the MLP width (Untied-3's parameters);
    ``looped-T`` = T loops of the shared layer (``looped-1`` is Single-Attn's model).

    Introduced in notebooks/09_recursion_or_depth.
    """
    kind, depth = arm_depth(arm, run)
    if arm in CONTROL_ARMS or _SWEEP.match(arm) and kind == "untied":
        return variant_config(run.model, kind, depth)
    return replace(run.model, n_loops=depth)


def train_arm(arm: str, run, seed: int, data: MarkovData | None = None, probes: Sequence = (),
              progress: bool = False) -> tuple[RunRecord, torch.nn.Module]:
    """Train ``arm`` on seed ``seed``'s language sample; returns ``(record, trained model on the CPU)``.
    ``record.meta`` gets ``name``, ``seed``, the test splits' reference predictors and ``cpu_seconds``
    (``time.process_time()`` spent by this process on the training run, evaluations and probes included).

    Introduced in notebooks/04_single_vs_looped.
    """
    data = data if data is not None else run.data.sample(seed)
    trainer = Trainer(build_arm(arm, run, seed), data.train, data.eval_sets,
                      replace(run.train, seed=int(seed), progress=progress), probes=probes)
    trainer.record.meta.update(name=arm, seed=int(seed), references=data.references, thresholds=list(data.thresholds))
    t0 = time.process_time()
    record = trainer.run()
    record.meta["cpu_seconds"] = time.process_time() - t0
    return record, trainer.model.cpu()


# ----------------------------------------------------------------------------------------------
# Every arm on every seed


@dataclass
class SeedRun:
    """One seed's trained arms: ``records`` ``{arm: RunRecord}`` and ``states`` ``{arm: state_dict}``
    (plain and picklable, so worker processes can return it).

    Introduced in notebooks/04_single_vs_looped.
    """

    seed: int
    records: dict
    states: dict = field(default_factory=dict)

    def model(self, arm: str, run) -> torch.nn.Module:
        """The trained model of ``arm``, rebuilt from its weights (eval mode)."""
        m = build_arm(arm, run, self.seed)
        m.load_state_dict(self.states[arm])
        return m.eval()


def _train_job(job: tuple, run, probes: Callable | None) -> tuple:
    seed, arm = int(job[0]), str(job[1])
    t0 = time.process_time()
    data = run.data.sample(seed)
    record, model = train_arm(arm, run, seed, data, probes=probes(data, arm) if probes else ())
    record.meta["cpu_seconds"] = time.process_time() - t0  # the whole job: language sample, model, training
    return seed, arm, record, model.state_dict()


def train_seeds(seeds: Sequence[int], run, arms: Sequence[str] = ("single", "looped"), probes: Callable | None = None,
                workers: int | None = None, threads: int = 1, progress: bool = False) -> list[SeedRun]:
    """Train every arm on every seed, one ``(seed, arm)`` job per worker process
    (:func:`loopvalley.parallel.map_seeds`: each job equals a sequential one-thread run bit for bit).
    ``probes(data, arm) -> [probe, ...]`` builds a job's probes from its language sample. Returns one
    :class:`SeedRun` per seed, in the order of ``seeds``, arms in the order of ``arms``.

    Introduced in notebooks/04_single_vs_looped.
    """
    arms = tuple(check_arm(a) for a in arms)
    return train_jobs({int(s): arms for s in seeds}, run, probes, workers=workers, threads=threads, progress=progress)


def train_jobs(arms_of: Mapping[int, Sequence[str]], run, probes: Callable | None = None, workers: int | None = None,
               threads: int = 1, progress: bool = False) -> list[SeedRun]:
    """Train ``arms_of[seed]`` on every seed (a seed may train fewer arms than another), one
    ``(seed, arm)`` job per worker process, the most expensive first (:func:`train_seeds`). Returns one
    :class:`SeedRun` per seed, in the order of ``arms_of``, arms in the order given.

    Introduced in notebooks/09_recursion_or_depth.
    """
    arms_of = {int(s): tuple(check_arm(a) for a in arms) for s, arms in arms_of.items()}
    jobs = sorted(((s, a) for s, arms in arms_of.items() for a in arms), key=lambda j: (_cost_rank(j[1]), j[0]))
    out = {s: SeedRun(s, {}) for s in arms_of}
    for seed, arm, record, state in map_seeds(partial(_train_job, run=run, probes=probes), jobs, workers=workers,
                                              threads=threads, progress=progress):
        out[seed].records[arm], out[seed].states[arm] = record, state
    for s, r in out.items():
        r.records = {a: r.records[a] for a in arms_of[s]}
        r.states = {a: r.states[a] for a in arms_of[s]}
    return list(out.values())


def records_by_seed(flat: Mapping[str, RunRecord], arms: Sequence[str] | None = None) -> tuple[list[int], list[dict]]:
    """``{"<seed>/<arm>": RunRecord}`` (as shipped) → ``(seeds, [{arm: RunRecord} per seed])``, seeds
    ascending, arms in the order of ``arms`` (default: as stored).

    Introduced in notebooks/04_single_vs_looped.
    """
    by_seed: dict = {}
    for key, rec in flat.items():
        seed, arm = key.split("/", 1)
        by_seed.setdefault(int(seed), {})[arm] = rec
    seeds = sorted(by_seed)
    if arms is None:
        return seeds, [by_seed[s] for s in seeds]
    return seeds, [{a: by_seed[s][a] for a in arms if a in by_seed[s]} for s in seeds]


def window_mean(steps, values, lo: float, hi: float) -> float:
    """Mean of ``values`` at the evaluation steps in [lo, hi] (the nearest point if none falls inside).

    Introduced in notebooks/04_single_vs_looped.
    """
    steps, values = np.asarray(steps, float), np.asarray(values, float)
    m = (steps >= lo) & (steps <= hi)
    if not m.any():
        d = np.abs(steps - (lo + hi) / 2)
        m = d == d.min()
    return float(values[m].mean())
