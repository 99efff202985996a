"""Which seeds choose the rules and which seeds decide the verdicts — fixed here, in one place.

- **Exploratory seeds** (0–99) are the seeds every rule, threshold, window and default policy was
  chosen on: notebooks' exploration cells, ablations, development runs. Nothing in the ledger's
  verdicts comes from them.
- **Confirmatory seeds** (1000 and up) decide the verdicts. They are disjoint from the exploratory
  ones by construction (:func:`confirmatory` and :func:`exploratory` are tested to never overlap),
  and an experiment takes the first ``n`` of them at its scale, so adding seeds never changes the
  seeds already used.

A seed is one independent repetition of an experiment: it fixes the language sample (through
:func:`data_generator`), the initial weights and the data order (or, for the landscape chapters, the
random couplings, starts and gradient noise).

Introduced in notebooks/01_river_valley.
"""

from __future__ import annotations

import torch

from loopvalley._validate import check_int

EXPLORATORY_START, EXPLORATORY_END = 0, 100  # seeds 0..99: choose rules, thresholds, policies
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


def is_confirmatory(seed: int) -> bool:
    """Whether ``seed`` is a confirmatory seed (≥ 1000)."""
    return int(seed) >= CONFIRMATORY_START


def data_generator(seed: int) -> torch.Generator:
    """The generator that draws a seed's data (language sample, problems): seeded ``10000 + seed``, so
    data and initial weights (seeded ``seed``) never share a random stream.

    Introduced in notebooks/04_single_vs_looped.
    """
    return torch.Generator().manual_seed(DATA_SEED_OFFSET + int(seed))
