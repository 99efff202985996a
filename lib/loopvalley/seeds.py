"""Which seeds choose the rules and which seeds decide the verdicts — fixed here, in one place.

- **Exploratory seeds** (0–99) are the seeds every rule, threshold, window and default policy was
  chosen on: notebooks' exploration cells, ablations, development runs. Nothing in the ledger's
  verdicts comes from them.
- **Teaching seeds** (500–599) are what notebooks, tests and CI run (every experiment at the ``ci``
  scale takes them): a student sees live numbers without ever running a seed that decides a verdict.
- **Confirmatory seeds** (1000 and up) decide the verdicts, and only the ledger's main job
  (``python -m loopvalley reproduce`` at ``small`` or ``paper``) runs them. The three sets are disjoint
  by construction (tested), and an experiment takes the first ``n`` of a set, so adding seeds never
  changes the seeds already used.

A seed is one independent repetition of an experiment: it fixes the language sample (through
:func:`data_generator`), the initial weights and the data order (or, for the landscape chapters, the
random couplings, starts and gradient noise).

Introduced in notebooks/01_river_valley.
"""

from __future__ import annotations

import torch

from loopvalley._validate import check_int

EXPLORATORY_START, EXPLORATORY_END = 0, 100  # seeds 0..99: choose rules, thresholds, policies
TEACHING_START, TEACHING_END = 500, 600  # seeds 500..599: notebooks, tests and CI
CONFIRMATORY_START = 1000  # seeds 1000, 1001, ...: decide the verdicts
DATA_SEED_OFFSET = 10_000  # a run's data come from torch.Generator().manual_seed(DATA_SEED_OFFSET + seed)


def confirmatory(n: int) -> list[int]:
    """The first ``n`` confirmatory seeds: 1000, 1001, ….

    Introduced in notebooks/01_river_valley.
    """
    return list(range(CONFIRMATORY_START, CONFIRMATORY_START + check_int("n", n, 1)))


def exploratory(n: int) -> list[int]:
    """The first ``n`` exploratory seeds: 0, 1, … (at most 100).

    Introduced in notebooks/01_river_valley.
    """
    n = check_int("n", n, 1, EXPLORATORY_END - EXPLORATORY_START)
    return list(range(EXPLORATORY_START, EXPLORATORY_START + n))


def teaching(n: int) -> list[int]:
    """The first ``n`` teaching seeds: 500, 501, … (at most 100) — what notebooks, tests and CI run.

    Introduced in notebooks/01_river_valley.
    """
    n = check_int("n", n, 1, TEACHING_END - TEACHING_START)
    return list(range(TEACHING_START, TEACHING_START + n))


def verdict_seeds(n: int, scale: str) -> list[int]:
    """The seeds an experiment runs at ``scale``: teaching seeds at ``ci`` (notebooks, tests, CI),
    confirmatory seeds at ``small`` and ``paper`` (the ledger).

    Introduced in notebooks/01_river_valley.
    """
    return teaching(n) if scale == "ci" else confirmatory(n)


def is_teaching(seed: int) -> bool:
    """Whether ``seed`` is a teaching seed (500–599)."""
    return TEACHING_START <= int(seed) < TEACHING_END


def is_confirmatory(seed: int) -> bool:
    """Whether ``seed`` is a confirmatory seed (≥ 1000)."""
    return int(seed) >= CONFIRMATORY_START


def data_generator(seed: int) -> torch.Generator:
    """The generator that draws a seed's data (language sample, problems): seeded ``10000 + seed``, so
    data and initial weights (seeded ``seed``) never share a random stream.

    Introduced in notebooks/04_single_vs_looped.
    """
    return torch.Generator().manual_seed(DATA_SEED_OFFSET + int(seed))
