"""The same numbers on every x86 machine: pin the CPU code paths the experiments' numbers depend on.

A training run is chaotic: a change in the last bit of one matrix product grows, step after step,
into a different trajectory. PyTorch and the BLAS it calls pick their vector kernels from the CPU
they run on, so the same code and seed give different numbers on an AVX2 and an AVX-512 machine —
enough to move a verdict whose interval ends near zero (measured: 8 of 19 shipped margins moved, and
one claim flipped, between two machines of the same kind). Three libraries choose kernels:

- **ATen** (PyTorch's own kernels): ``ATEN_CPU_CAPABILITY`` = ``avx2`` (else AVX-512 where present);
- **MKL** (matrix products): ``MKL_CBWR`` = ``AVX2``, its conditional numerical reproducibility mode
  (else the widest code path of the CPU; measured to change the numbers on an AVX-512 Intel CPU);
- **oneDNN**: ``ONEDNN_MAX_CPU_ISA`` = ``AVX2`` (no effect on these models' numbers, measured; pinned
  so that a model that does use it cannot differ).

:func:`pin` sets the three before torch is imported — ``import loopvalley`` calls it, so the command
line, every worker process it starts and every notebook's setup cell run pinned — on x86-64 Linux
machines whose CPU has AVX2 (every machine of this kind; elsewhere nothing is set). A value you set
yourself is kept, and ``LOOPVALLEY_CPU_KERNELS=native`` switches the pinning off (faster on AVX-512,
different numbers). :func:`status` says what is in force.

Introduced in notebooks/00_start_here.
"""

from __future__ import annotations

import os
import platform
import sys

PINNED = {"ATEN_CPU_CAPABILITY": "avx2", "MKL_CBWR": "AVX2", "ONEDNN_MAX_CPU_ISA": "AVX2"}
OPT_OUT = "LOOPVALLEY_CPU_KERNELS"  # "native": leave the kernels to the CPU


def _has_avx2() -> bool:
    """Whether this is x86-64 Linux with AVX2 (read from /proc/cpuinfo: no torch needed)."""
    if not sys.platform.startswith("linux") or platform.machine().lower() not in ("x86_64", "amd64"):
        return False
    try:
        with open("/proc/cpuinfo") as f:
            return any(line.startswith("flags") and " avx2" in line for line in f)
    except OSError:
        return False


def pin() -> dict:
    """Set :data:`PINNED` in ``os.environ`` (values already set are kept) unless ``$LOOPVALLEY_CPU_KERNELS``
    is ``native`` or the CPU lacks AVX2. Must run before torch computes its first kernel (``import
    loopvalley`` runs it before importing torch). Returns what it set."""
    if os.environ.get(OPT_OUT, "").lower() == "native" or not _has_avx2():
        return {}
    set_now = {k: v for k, v in PINNED.items() if k not in os.environ}
    os.environ.update(set_now)
    return set_now


def status() -> dict:
    """What is in force: ``{"pinned": bool, "aten": torch's kernel level, "env": {name: value}}``;
    ``pinned`` is True when ATen runs AVX2 kernels and MKL's reproducibility mode is AVX2.

    Introduced in notebooks/00_start_here.
    """
    import torch

    aten = torch.backends.cpu.get_cpu_capability()
    env = {k: os.environ.get(k) for k in PINNED}
    return {"pinned": aten == "AVX2" and env["MKL_CBWR"] == PINNED["MKL_CBWR"], "aten": aten, "env": env}
