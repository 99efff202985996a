"""The claims ledger: every paper claim we measure, with a verdict computed from the numbers.

A :class:`Claim` is made only by :func:`check`, which evaluates a predicate on the measured
numbers, so a verdict can never be typed in. :func:`write_ledger` writes ``claims.json`` and
``REPORT.md``; notebooks end with :func:`assert_verdicts`.

Introduced in notebooks/01_river_valley (claims check cell).
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Mapping, Sequence

import numpy as np


@dataclass(frozen=True)
class Claim:
    id: str  # T1..T6, S1..S3, H1..H3, F1..F4
    statement: str  # what the paper says, in one sentence
    paper: str  # the paper's number or wording
    measured: dict  # the numbers (mean, std, per seed, ...), JSON-serialisable
    holds: bool  # computed from `measured` by `check`, never typed
    scale: str  # ci | small | paper
    seeds: list  # the seeds behind `measured`
    rule: str = ""  # the predicate, in words (how `holds` was computed)
    note: str = ""  # a plain sentence: why it fails, or the regime where it holds

    def to_json(self) -> dict:
        return asdict(self)


def _jsonable(x):
    """Numbers, arrays and tensors as plain JSON values (NaN -> None)."""
    if isinstance(x, Mapping):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if hasattr(x, "detach"):  # torch tensor
        x = x.detach().cpu().numpy()
    if isinstance(x, np.ndarray):
        return _jsonable(x.tolist())
    if isinstance(x, (np.bool_, bool)):
        return bool(x)
    if isinstance(x, (np.integer, int)):
        return int(x)
    if isinstance(x, (np.floating, float)):
        f = float(x)
        return None if math.isnan(f) else (round(f, 6) if math.isfinite(f) else str(f))
    return x


def summary(per_seed: Sequence[float]) -> dict:
    """``{"mean", "std", "min", "max", "per_seed"}`` of one number measured on several seeds."""
    a = np.asarray(per_seed, dtype=float)
    return _jsonable(
        {
            "mean": a.mean(),
            "std": a.std(ddof=0),
            "min": a.min(),
            "max": a.max(),
            "per_seed": a,
        }
    )


def check(
    id: str,
    statement: str,
    paper: str,
    measured: Mapping,
    predicate: Callable[[Mapping], bool],
    *,
    rule: str,
    scale: str,
    seeds: Iterable[int],
    fails_because: str = "",
    holds_note: str = "",
) -> Claim:
    """Make a :class:`Claim`: ``holds = predicate(measured)``.

    ``rule`` states the predicate in words for the report. ``fails_because`` is the plain sentence
    the report prints when the claim does not hold; ``holds_note`` (optional) qualifies a verdict
    that holds (e.g. "only for eta < 2/lambda_max").
    """
    measured = _jsonable(dict(measured))
    holds = bool(predicate(measured))
    note = holds_note if holds else (fails_because or f"the rule '{rule}' is false for the measured numbers")
    return Claim(
        id=id,
        statement=statement,
        paper=paper,
        measured=measured,
        holds=holds,
        scale=scale,
        seeds=[int(s) for s in seeds],
        rule=rule,
        note=note,
    )


def assert_verdicts(claims: Sequence[Claim], expected: Mapping[str, bool] | None = None) -> str:
    """The notebooks' claims check: every claim must have its expected verdict (default: holds).

    Returns a short table as text (print it); raises ``AssertionError`` naming the claims whose
    verdict changed, so nbval fails when the science breaks.
    """
    expected = dict(expected or {})
    wrong = []
    lines = []
    for c in claims:
        want = expected.get(c.id, True)
        mark = "holds" if c.holds else "does NOT hold"
        lines.append(f"{c.id}: {mark:13s} ({c.rule})")
        if c.holds != want:
            wrong.append(f"{c.id} expected {'to hold' if want else 'to fail'}: {c.note or c.rule}")
    unknown = set(expected) - {c.id for c in claims}
    if unknown:
        wrong.append(f"expected verdicts for claims that were not measured: {sorted(unknown)}")
    assert not wrong, "claims check failed:\n" + "\n".join(wrong)
    return "\n".join(lines)


def _num(x, fmt: str) -> str:
    """A number for the report; non-finite values (stored as None or "inf") are written as-is."""
    return format(x, fmt) if isinstance(x, (int, float)) and not isinstance(x, bool) else str(x)


def _fmt_measured(m: Mapping, limit: int = 6) -> str:
    parts = []
    for k, v in list(m.items())[:limit]:
        if isinstance(v, Mapping) and "mean" in v:
            parts.append(f"{k} = {_num(v['mean'], '.4g')} ± {_num(v.get('std'), '.2g')}")
        elif isinstance(v, float):
            parts.append(f"{k} = {v:.4g}")
        elif isinstance(v, (int, bool, str)):
            parts.append(f"{k} = {v}")
    return "; ".join(parts)


def write_ledger(claims: Sequence[Claim], out_dir, figures: Sequence[str] = (), title: str = "") -> tuple[Path, Path]:
    """Write ``claims.json`` and ``REPORT.md`` into ``out_dir``; return both paths.

    Introduced in notebooks/01_river_valley.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    js = out / "claims.json"
    js.write_text(json.dumps([c.to_json() for c in claims], indent=2) + "\n")
    lines = [f"# {title or 'loopvalley reproduction report'}", ""]
    scales = sorted({c.scale for c in claims})
    lines += [f"Scale: {', '.join(scales)}. Verdicts are computed from the measured numbers.", ""]
    lines += ["| claim | paper | measured | verdict |", "|---|---|---|---|"]
    for c in claims:
        verdict = "holds" if c.holds else "**does not hold**"
        lines.append(
            f"| **{c.id}** {c.statement} | {c.paper} | {_fmt_measured(c.measured)} | {verdict} |"
        )
    failing = [c for c in claims if not c.holds]
    noted = [c for c in claims if c.holds and c.note]
    if failing:
        lines += ["", "## Claims that do not hold", ""]
        lines += [f"- **{c.id}**: {c.note}" for c in failing]
    if noted:
        lines += ["", "## Regimes", ""]
        lines += [f"- **{c.id}**: {c.note}" for c in noted]
    lines += ["", "## Rules", ""]
    lines += [f"- **{c.id}**: {c.rule}" for c in claims]
    if figures:
        lines += ["", "## Figures", ""]
        lines += [f"![{Path(f).stem}]({Path(f).name})" for f in figures]
    md = out / "REPORT.md"
    md.write_text("\n".join(lines) + "\n")
    return js, md
