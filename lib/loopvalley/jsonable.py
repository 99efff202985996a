"""One converter from numbers, arrays and tensors to plain JSON values, for records and ledgers.

Introduced in notebooks/04_single_vs_looped.
"""

from __future__ import annotations

import math
from typing import Mapping

import numpy as np


def jsonable(x, *, strict: bool = True):
    """Tensors/arrays/NumPy scalars → lists/floats/ints/bools, recursively. With ``strict`` (the
    ledger) NaN → ``None`` and ±inf → the strings ``"inf"``/``"-inf"``, so the result is strict JSON;
    without (run records) non-finite floats stay floats.

    Introduced in notebooks/04_single_vs_looped.
    """
    if isinstance(x, Mapping):
        return {str(k): jsonable(v, strict=strict) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [jsonable(v, strict=strict) for v in x]
    if hasattr(x, "detach"):  # torch tensor
        x = x.detach().cpu().numpy()
    if isinstance(x, np.ndarray):
        return jsonable(x.tolist(), strict=strict)
    if isinstance(x, (np.bool_, bool)):
        return bool(x)
    if isinstance(x, (np.integer, int)):
        return int(x)
    if isinstance(x, (np.floating, float)):
        f = float(x)
        if not strict or math.isfinite(f):
            return f
        if math.isnan(f):
            return None
        return "inf" if f > 0 else "-inf"
    return x
