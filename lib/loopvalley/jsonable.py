"""One converter from numbers, arrays and tensors to plain JSON values, for records and ledgers, and
one reader of JSON files that names the file when it is damaged.

Introduced in notebooks/04_single_vs_looped.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
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



def read_json(path, what: str):
    """The JSON value in the file ``path``. A missing, unreadable, empty, truncated or non-JSON file
    raises a ``ValueError`` that names the file, says what is wrong and what was expected (``what``,
    e.g. ``"run records written by save_records"``) — never a bare ``JSONDecodeError``.

    Introduced in notebooks/04_single_vs_looped.
    """
    path = Path(path)
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise ValueError(f"{path} does not exist (expected {what})") from None
    except UnicodeDecodeError:
        raise ValueError(f"{path} is not a text file, so not JSON (expected {what})") from None
    except OSError as e:  # a folder, no permission
        raise ValueError(f"cannot read {path}: {e.strerror or e} (expected {what})") from None
    return parse_json(text, path, what)


# what may be left of a number or a literal cut off at the end of a file
_CUT_TOKEN = re.compile(r"[-+.0-9eE]*|t(r(ue?)?)?|f(a(l(se?)?)?)?|n(u(ll?)?)?|N(aN?)?|-?I(n(f(i(n(i(ty?)?)?)?)?)?)?")


def parse_json(text: str, source, what: str):
    """:func:`read_json` of ``text`` that came from ``source`` (a file name, for the message).

    Introduced in notebooks/04_single_vs_looped.
    """
    if not text.strip():
        raise ValueError(f"{source} is empty (expected {what})")
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        tail = text[e.pos:].rstrip()
        cut = e.msg.startswith("Unterminated string") or (
            e.pos > 0 and e.msg != "Extra data" and _CUT_TOKEN.fullmatch(tail) is not None)
        if cut:  # the error sits at the very end: the file stops in the middle of a value
            raise ValueError(f"{source} is truncated: its JSON stops before the value is complete "
                             f"(expected {what})") from None
        raise ValueError(f"{source} is not JSON ({e.msg} at line {e.lineno}, column {e.colno}; "
                         f"expected {what})") from None
