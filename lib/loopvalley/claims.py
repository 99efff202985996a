"""The claims ledger: each paper claim as a margin over seeds, an interval, and a three-valued verdict.

A claim's rule is a **margin**: one number per confirmatory seed that is positive when the data are
on the paper's side (e.g. ``SHIFT − (Looped − 2 points)``). Over the seeds it gets a 95 % Student-t
interval (:func:`loopvalley.stats.mean_interval`; margins of arms that share a seed are paired by
construction, because the margin is computed within the seed). The verdict is

- ``holds``        — the whole interval is above 0,
- ``fails``        — the whole interval is below 0,
- ``inconclusive`` — the interval contains 0, fewer than 2 seeds were measured, or a number is
  missing / not finite (the note says which).

A claim with several parts (a conjunction: "A and B") judges every part this way and takes its
weakest: it fails when any part fails, holds when every part holds, and is inconclusive otherwise;
its margin and interval are those of the deciding part (the failing part with the lowest upper end,
else the part with the lowest lower end).

**Deterministic** claims — nothing a seed can change (gradient descent on exact quadratics by
construction, parameter counts) — keep two values: ``holds`` when the margin is > 0, ``fails``
otherwise, with no interval.

**Kinds of evidence** (:mod:`loopvalley.rules`): an *identity* (a mathematical identity checked
numerically), *by construction* (forced by how the model or regime is built), or *empirical* (could have
come out either way). Only empirical claims count for or against the paper.

**Robustness.** :func:`judge` takes a claim's rule from the rules table (:mod:`loopvalley.rules`) and a
margin function of the analysis choices; it judges the main analysis, then every declared alternative
(one choice changed at a time) and every leave-one-seed-out subset, and records the verdict under each.
A holds/fails verdict that any of them flips is **fragile** (``robust = False``; ``flips`` lists the
choices): a verdict a single analyst's choice — or a single seed, the grid's stand-in for a
rounding-level change — can overturn is not reported as a plain holds/fails.

Rules, thresholds and windows are chosen on exploratory seeds; verdicts are computed on
confirmatory seeds (:mod:`loopvalley.seeds`). :func:`claim_from_margins` refuses seeds that are in
both sets, and marks a claim computed on non-confirmatory seeds (``confirmatory = False``: a
notebook's exploration, not a verdict of the ledger). :func:`write_ledger` writes ``claims.json`` and
``REPORT.md``; notebooks end with :func:`assert_verdicts`, which takes the *set* of verdicts that is
robust at their scale.

Introduced in notebooks/01_river_valley (claims check cell).
"""

from __future__ import annotations

import json
import math
import string
from dataclasses import MISSING, asdict, dataclass, field, fields
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from loopvalley import rules as R
from loopvalley.jsonable import jsonable, read_json
from loopvalley.seeds import is_confirmatory, is_teaching
from loopvalley.stats import mean_interval, median_interval, seeds_for_power

VERDICTS = ("holds", "fails", "inconclusive")
CONFIDENCE = 0.95  # the interval's coverage
INTERVAL = "Student-t 95 % interval of the mean margin over seeds"
SIGN_INTERVAL = "distribution-free sign-test interval of the median margin over seeds"
INTERVALS = {"t": INTERVAL, "sign": SIGN_INTERVAL}
STATUSES = ("holds", "fails", "inconclusive", "fragile")  # what a reader sees: the verdict, or fragile
POWER_LIMIT = 50  # beyond this many seeds an inconclusive claim is measurement-limited, not seed-limited


@dataclass(frozen=True)
class Part:
    """One part of a claim's rule: its per-seed margins, their mean and interval, and its verdict."""

    name: str  # what the margin measures, e.g. "Looped − Single complex accuracy − 5"
    unit: str  # the margin's unit, e.g. "points"
    per_seed: list  # one margin per seed (None where the number is missing)
    mean: float | None  # mean margin (None when not computable)
    ci_low: float | None  # lower end of the interval (the margin itself when deterministic)
    ci_high: float | None  # upper end
    verdict: str  # holds | fails | inconclusive
    reason: str = ""  # why the part is inconclusive ("" otherwise)


def judge_part(name: str, margins: Sequence[float], unit: str = "", deterministic: bool = False,
               interval: str = "t") -> Part:
    """Judge one part: the interval of ``margins`` over seeds (``interval``: ``"t"``, the Student-t
    interval of the mean; ``"sign"``, the distribution-free interval of the median), and the verdict
    it implies.

    Introduced in notebooks/01_river_valley.
    """
    vals = [None if v is None else float(v) for v in margins]
    bad = [i for i, v in enumerate(vals) if v is None or not math.isfinite(v)]
    clean = [v if v is not None and math.isfinite(v) else None for v in vals]
    if not vals:
        return Part(name, unit, [], None, None, None, "inconclusive", "no margin was measured")
    if bad:
        what = ", ".join(f"#{i}" for i in bad)
        return Part(name, unit, clean, None, None, None, "inconclusive",
                    f"margin missing or not finite for seed(s) {what}")
    if deterministic:
        m = float(np.mean(vals))
        return Part(name, unit, vals, m, m, m, "holds" if m > 0 else "fails")
    if len(vals) < 2:
        return Part(name, unit, vals, vals[0], None, None, "inconclusive", "one seed: no interval")
    m, lo, hi = mean_interval(vals, CONFIDENCE) if interval == "t" else median_interval(vals, CONFIDENCE)[:3]
    verdict = "holds" if lo > 0 else "fails" if hi < 0 else "inconclusive"
    reason = f"the interval [{lo:.3g}, {hi:.3g}] contains 0" if verdict == "inconclusive" else ""
    return Part(name, unit, vals, m, lo, hi, verdict, reason)


def _weakest(parts: Sequence[Part]) -> tuple[str, Part]:
    """The conjunction's verdict and the part that decides it (see the module doc)."""
    failing = [p for p in parts if p.verdict == "fails"]
    if failing:
        return "fails", min(failing, key=lambda p: p.ci_high)
    unclear = [p for p in parts if p.verdict == "inconclusive"]
    if unclear:
        with_low = [p for p in unclear if p.ci_low is not None]
        return "inconclusive", (min(with_low, key=lambda p: p.ci_low) if with_low else unclear[0])
    return "holds", min(parts, key=lambda p: p.ci_low)


@dataclass(frozen=True)
class Claim:
    """One measured claim of the paper, with its computed verdict (never typed)."""

    id: str  # T1..T6b, S1..S6, H1..H4, F1..F4
    statement: str  # what the paper says, in one sentence
    paper: str  # the paper's number or wording
    rule: str  # the margin(s), in words: what is positive when the data are on the paper's side
    rule_version: str  # bumped whenever the rule changes (and only on exploratory evidence)
    verdict: str  # holds | fails | inconclusive — computed from the margins
    margin: float | None  # the deciding part's mean margin
    ci_low: float | None  # ... and its interval (= margin for a deterministic claim)
    ci_high: float | None
    unit: str  # the deciding part's unit
    deciding_part: str  # which part decided the verdict
    parts: list  # every part, as dicts (name, unit, per_seed, mean, ci_low, ci_high, verdict, reason)
    n_seeds: int  # how many seeds the verdict rests on
    seeds: list  # the seeds behind the verdict
    exploratory_seeds: list  # the seeds the rule was chosen on (disjoint from ``seeds``)
    deterministic: bool  # no seed can change it: two-valued verdict, no interval
    confirmatory: bool  # every seed is a confirmatory seed (a ledger verdict, not an exploration)
    scale: str  # ci | small | paper
    measured: dict = field(default_factory=dict)  # the numbers behind the margins (JSON values)
    note: str = ""  # a plain sentence: why it fails / is inconclusive, or the regime where it holds
    interval: str = INTERVAL
    kind: str = "empirical"  # identity | by-construction | empirical (loopvalley.rules)
    chapter: str = ""  # the notebook that teaches it ("01" … "09")
    why: str = ""  # identity / by-construction: why it holds
    robust: bool | None = None  # every declared alternative gives the main verdict (None: not judged)
    flips: list = field(default_factory=list)  # the alternatives that change the verdict, in words
    alternatives: list = field(default_factory=list)  # the verdict under each alternative (dicts)
    seeds_needed: int | None = None  # inconclusive: seeds for 80 % power at the measured effect
    rule_hash: str = ""  # the hash of the claim's entry in the rules table (loopvalley.rules)
    teaching: bool = False  # every seed is a teaching seed (notebooks, tests, CI): not a verdict of the ledger

    @property
    def holds(self) -> bool:
        """``verdict == "holds"`` (kept for compatibility with two-valued code)."""
        return self.verdict == "holds"

    @property
    def status(self) -> str:
        """What a reader sees: ``fragile`` for a holds/fails verdict that an alternative flips, else the verdict."""
        return "fragile" if self.robust is False and self.verdict in ("holds", "fails") else self.verdict

    def to_json(self) -> dict:
        d = asdict(self)
        d["holds"] = self.holds
        d["status"] = self.status
        return jsonable(d)


def claim_from_margins(
    id: str,
    statement: str,
    paper: str,
    margins: Mapping[str, Sequence[float]],
    *,
    rule: str,
    rule_version: str,
    scale: str,
    seeds: Sequence[int],
    exploratory_seeds: Sequence[int],
    units: Mapping[str, str] | str = "",
    deterministic: bool = False,
    measured: Mapping | None = None,
    notes: Mapping[str, str] | None = None,
    interval: str = "t",
    **extra,
) -> Claim:
    """Make a :class:`Claim` from per-seed margins (``{part name: [margin per seed]}``).

    Every part is judged by :func:`judge_part` and the claim takes its weakest part. ``notes`` maps
    a verdict to the sentence the report prints for it (``{"fails": "...", "holds": "..."}``); a
    verdict without one gets a sentence generated from the deciding part's interval. ``interval``:
    ``"t"`` or ``"sign"`` (:func:`judge_part`); ``extra``: further :class:`Claim` fields (``kind``,
    ``chapter``, …; :func:`judge` fills them from the rules table).

    Introduced in notebooks/01_river_valley.
    """
    seeds = [int(s) for s in seeds]
    exploratory_seeds = [int(s) for s in exploratory_seeds]
    both = sorted(set(seeds) & set(exploratory_seeds))
    if both:
        raise ValueError(f"seeds {both} are both exploratory and verdict seeds: a verdict must come from other seeds")
    if not margins:
        raise ValueError("margins must hold at least one part")
    for name, vals in margins.items():
        if len(vals) != len(seeds) and not deterministic:
            raise ValueError(f"margins[{name!r}] has {len(vals)} values for {len(seeds)} seeds")
    unit_of = (lambda n: units) if isinstance(units, str) else (lambda n: units.get(n, ""))
    parts = [judge_part(n, list(v), unit_of(n), deterministic, interval) for n, v in margins.items()]
    verdict, deciding = _weakest(parts)
    note = dict(notes or {}).get(verdict) or _auto_note(verdict, deciding, len(parts))
    needed = None
    if verdict == "inconclusive" and not deterministic and deciding.per_seed and None not in deciding.per_seed:
        needed = seeds_for_power(deciding.per_seed)
    return Claim(
        id=id, statement=statement, paper=paper, rule=rule, rule_version=str(rule_version), verdict=verdict,
        margin=deciding.mean, ci_low=deciding.ci_low, ci_high=deciding.ci_high, unit=deciding.unit,
        deciding_part=deciding.name, parts=[asdict(p) for p in parts], n_seeds=len(seeds), seeds=seeds,
        exploratory_seeds=exploratory_seeds, deterministic=bool(deterministic),
        confirmatory=bool(seeds) and all(is_confirmatory(s) for s in seeds), scale=scale,
        measured=jsonable(dict(measured or {})), note=note,
        interval="exact (deterministic)" if deterministic else INTERVALS[interval], seeds_needed=needed,
        teaching=bool(seeds) and all(is_teaching(s) for s in seeds), **extra,
    )


class NotMeasured(Exception):
    """Raised by a margin function when an alternative's data were not recorded at this scale (e.g. a
    view the ci runs skip): the alternative is reported as not measured and counts for no flip."""


def _verdict_of(margins: Mapping[str, Sequence[float]], rule: R.Rule, seeds: Sequence[int]) -> dict:
    """The verdict, deciding part, margin and interval of one analysis (the rule's interval method)."""
    parts = [judge_part(rule.part(k).name, list(v), rule.part(k).unit, rule.deterministic, rule.interval)
             for k, v in margins.items()]
    verdict, d = _weakest(parts)
    return {"verdict": verdict, "deciding_part": d.name, "margin": d.mean, "ci_low": d.ci_low, "ci_high": d.ci_high}


def _values(v) -> str:
    return f"{v:g}" if isinstance(v, float) else str(v)


def judge(cid: str, margins, *, scale: str, seeds: Sequence[int], measured: Mapping | None = None,
          note=None, **params) -> Claim:
    """The claim ``cid`` from its rule in the rules table (:mod:`loopvalley.rules`) and its margins.

    ``margins`` is a function of the analysis — ``margins(spec) -> {part key: [margin per seed]}``,
    ``spec`` mapping each declared choice's key to a value — or, for a rule without choices, the
    mapping itself. The verdict is the main analysis's (every choice at its ``main`` value); then
    every declared alternative is judged (one choice changed at a time), and, for a claim with
    seeds, every leave-one-seed-out subset of the main analysis; ``robust`` says whether they all
    give the main verdict, ``flips`` lists those that do not, ``alternatives`` holds each one's
    verdict, margin and interval (the specification curve REPORT.md draws).

    ``note`` is a sentence, or a function of the main verdict returning one, generated from the
    numbers (never typed); ``params`` are numbers measured at run time that the rule text names. A
    margin function raises :class:`NotMeasured` for an alternative whose data this run did not record:
    it is listed as not measured and flips nothing.

    Introduced in notebooks/01_river_valley.
    """
    rule = R.rule(cid)
    fn = margins if callable(margins) else (lambda spec: margins)
    try:
        main = {k: list(v) for k, v in fn(rule.main).items()}
    except NotMeasured as e:  # the main analysis's data are not in this run (a --max-steps smoke run)
        return not_measured(cid, str(e), scale=scale, seeds=seeds, measured=measured, **params)
    unknown = set(main) - {p.key for p in rule.parts}
    if unknown:
        raise ValueError(f"claim {cid}: margins for unknown parts {sorted(unknown)}")
    alternatives, flips = [], []
    first = _verdict_of(main, rule, seeds)
    for c in rule.choices:
        for alt in c.alternatives:
            try:
                got = _verdict_of({k: list(v) for k, v in fn({**rule.main, c.key: alt}).items()}, rule, seeds)
            except NotMeasured as e:
                alternatives.append({"choice": c.name, "key": c.key, "value": alt, "verdict": "not measured",
                                     "deciding_part": str(e), "margin": None, "ci_low": None, "ci_high": None})
                continue
            alternatives.append({"choice": c.name, "key": c.key, "value": alt, **got})
            if got["verdict"] != first["verdict"]:
                flips.append(f"{c.name} = {_values(alt)}")
    n = len(seeds)
    if rule.kind == "empirical" and not rule.deterministic and n >= 3:
        for i, s in enumerate(seeds):
            got = _verdict_of({k: v[:i] + v[i + 1:] for k, v in main.items()}, rule, [x for x in seeds if x != s])
            alternatives.append({"choice": "leave one seed out", "key": "seeds", "value": f"without {s}", **got})
            if got["verdict"] != first["verdict"]:
                flips.append(f"without seed {s}")
    names = {rule.part(k).name: list(v) for k, v in main.items()}
    text = note(first["verdict"]) if callable(note) else note
    return claim_from_margins(
        cid, rule.statement, rule.paper, names, rule=rule.text(**params), rule_version=rule.version, scale=scale,
        seeds=[] if rule.deterministic else seeds, exploratory_seeds=rule.exploratory_seeds,
        units={rule.part(k).name: rule.part(k).unit for k in main}, deterministic=rule.deterministic,
        measured=measured, notes={first["verdict"]: text} if text else None, interval=rule.interval,
        kind=rule.kind, chapter=rule.chapter, why=rule.why, robust=not flips if alternatives else None,
        flips=flips, alternatives=jsonable(alternatives), rule_hash=rule.hash)


def not_measured(cid: str, reason: str, *, scale: str, seeds: Sequence[int], measured: Mapping | None = None,
                 **params) -> Claim:
    """The claim ``cid`` when this run did not record what its main analysis reads (a ``--max-steps``
    smoke run that ends before the step a rule reads): inconclusive, every margin missing, ``reason``
    in its note.

    Introduced in notebooks/01_river_valley.
    """
    rule = R.rule(cid)
    names = {f for _, f, _, _ in string.Formatter().parse(rule.rule) if f}
    params = {**{k: "?" for k in names - set(rule.main)}, **params}
    return claim_from_margins(
        cid, rule.statement, rule.paper, {p.name: [None] * max(len(seeds), 1) for p in rule.parts},
        rule=rule.text(**params), rule_version=rule.version, scale=scale,
        seeds=[] if rule.deterministic else seeds, exploratory_seeds=rule.exploratory_seeds,
        units={p.name: p.unit for p in rule.parts}, deterministic=rule.deterministic, measured=measured,
        notes={"inconclusive": f"not measured in this run: {reason}"}, interval=rule.interval, kind=rule.kind,
        chapter=rule.chapter, why=rule.why, robust=None, flips=[], alternatives=[], rule_hash=rule.hash)


def _auto_note(verdict: str, p: Part, n_parts: int) -> str:
    which = f" ({p.name})" if n_parts > 1 else ""
    if verdict == "inconclusive":
        return f"inconclusive{which}: {p.reason}"
    if verdict == "fails":
        if p.ci_low == p.ci_high:
            return f"margin{which} {p.mean:+.3g} {p.unit} ≤ 0".replace("  ", " ")
        return f"margin{which} {p.mean:+.3g} {p.unit}, interval [{p.ci_low:.3g}, {p.ci_high:.3g}] below 0".replace("  ", " ")
    return ""


def interval_text(c: Claim) -> str:
    """``+1.2 [0.4, 2.0] points`` (or ``+1.2 points`` when deterministic, ``n/a`` when missing)."""
    if c.margin is None:
        return "n/a"
    unit = f" {c.unit}" if c.unit else ""
    if c.deterministic or c.ci_low is None:
        return f"{c.margin:+.3g}{unit}"
    return f"{c.margin:+.3g} [{c.ci_low:+.3g}, {c.ci_high:+.3g}]{unit}"


def summary(per_seed: Sequence[float]) -> dict:
    """``{"mean", "std", "min", "max", "per_seed"}`` of one number measured on several seeds
    (NaN and ±inf are kept per seed and left out of the statistics)."""
    a = np.asarray(per_seed, dtype=float)
    f = a[np.isfinite(a)]
    stats = {"mean": f.mean(), "std": f.std(ddof=0), "min": f.min(), "max": f.max()} if f.size else {}
    return jsonable({**stats, "per_seed": a, **({"n_not_finite": int((~np.isfinite(a)).sum())} if f.size < a.size else {})})


def assert_verdicts(claims: Sequence[Claim], allowed: Mapping[str, str | Sequence[str]],
                    unchecked: Sequence[str] = ()) -> str:
    """The notebooks' claims check: every claim's verdict must be in its allowed set.

    ``allowed`` maps a claim id to one verdict or a set of verdicts: assert only what is robust at
    the notebook's scale (e.g. ``{"F4": {"fails", "inconclusive"}}``), never a knife-edge. A set of
    all three verdicts is a check that cannot fail and is refused: a claim that nothing robust can be
    said about at this scale goes in ``unchecked`` (printed, not asserted). Returns a short table as
    text (print it); raises ``AssertionError`` naming the claims whose verdict left its set, so
    nbval fails when the science changes.

    Introduced in notebooks/01_river_valley.
    """
    wrong, lines = [], []
    for c in claims:
        if c.id in unchecked:
            lines.append(f"{c.id}: {c.verdict:12s} {interval_text(c)}  ({c.n_seeds} seeds; not checked at this scale)")
            continue
        if c.id not in allowed:
            wrong.append(f"{c.id}: no allowed verdicts given (list it in unchecked if nothing robust can be said)")
            continue
        ok = {allowed[c.id]} if isinstance(allowed[c.id], str) else set(allowed[c.id])
        bad = ok - set(VERDICTS)
        if bad:
            raise ValueError(f"allowed[{c.id!r}] has unknown verdicts {sorted(bad)}; use {VERDICTS}")
        if ok == set(VERDICTS):
            raise ValueError(f"allowed[{c.id!r}] admits every verdict, a check that cannot fail: "
                             "put the claim in unchecked instead")
        lines.append(f"{c.id}: {c.verdict:12s} {interval_text(c)}  ({c.n_seeds} seeds)")
        if c.verdict not in ok:
            wrong.append(f"{c.id} is {c.verdict}, expected {' or '.join(sorted(ok))}: {c.note or c.rule}")
    unknown = (set(allowed) | set(unchecked)) - {c.id for c in claims}
    if unknown:
        wrong.append(f"allowed verdicts for claims that were not measured: {sorted(unknown)}")
    assert not wrong, "claims check failed:\n" + "\n".join(wrong)
    return "\n".join(lines)


# ----------------------------------------------------------------------------------------------
# The ledger files

KIND_LABEL = {"empirical": "empirical", "by-construction": "by construction", "identity": "identity"}
CHAPTER_TITLE = {"01": "01 river valley", "02": "02 U- vs V-valleys", "03": "03 Markov language",
                 "04": "04 Single vs Looped", "05": "05 Hessian dynamics", "06": "06 GPU training", "07": "07 SHIFT",
                 "08": "08 algorithmic tasks", "09": "09 recursion or depth"}


def load_ledger(path) -> list[dict]:
    """The claims of a ``claims.json`` (a list of dicts, as written by :func:`write_ledger`). A damaged
    or foreign file (missing, truncated, not JSON, not a list of claims, a claim lacking a field)
    raises a ``ValueError`` naming the file and saying what is wrong."""
    data = read_json(path, "a claims ledger written by write_ledger")
    entries = data.get("claims") if isinstance(data, dict) else data
    if not isinstance(entries, list) or not all(isinstance(c, dict) for c in entries):
        raise ValueError(f"{path} is JSON but not a claims ledger (expected a list of claims as write_ledger writes)")
    required = [f.name for f in fields(Claim) if f.default is MISSING and f.default_factory is MISSING]
    for i, c in enumerate(entries):
        missing = [k for k in required if k not in c]
        if missing:
            raise ValueError(f"{path} is not a complete claims ledger: claim {c.get('id', f'#{i}')} lacks "
                             f"{', '.join(missing)}")
    return entries


def load_ledger_meta(path) -> dict:
    """The ledger's header (``rules_hash``, ``scale``, ``cpu_kernels``, …; empty for an old ledger)."""
    data = read_json(path, "a claims ledger written by write_ledger")
    return {k: v for k, v in data.items() if k != "claims"} if isinstance(data, dict) else {}


def _seeds_text(seeds: Sequence[int]) -> str:
    seeds = list(seeds)
    if len(seeds) > 2 and seeds == list(range(seeds[0], seeds[0] + len(seeds))):
        return f"{seeds[0]}–{seeds[-1]}"
    return ", ".join(map(str, seeds))


def _claim_of(c: Mapping) -> Claim:
    return Claim(**{k: c[k] for k in Claim.__dataclass_fields__ if k in c})


def _status(c: Mapping) -> str:
    return c.get("status") or _claim_of(c).status


def status_text(c: Mapping) -> str:
    """The verdict as a reader should see it: ``holds``, ``fails``, ``inconclusive``, or ``fragile
    (holds; flips under …)``; identities and by-construction claims say so."""
    c = dict(c)
    st = _status(c)
    if c.get("kind", "empirical") != "empirical":
        return f"{c['verdict']} ({KIND_LABEL[c['kind']]})"
    if st == "fragile":
        return f"fragile ({c['verdict']}; flips: {', '.join(c.get('flips', [])[:3])}{' …' if len(c.get('flips', [])) > 3 else ''})"
    return st


def verdict_table(claims: Sequence[Mapping]) -> str:
    """The Markdown verdict table (claim, kind, statement, verdict, margin [interval], seeds, seeds for
    80 % power) of ledger entries (dicts from ``claims.json``). The README's table is this function
    of the shipped ledger.

    Introduced in notebooks/01_river_valley.
    """
    rows = ["| claim | kind | statement | verdict | margin [95 % interval] | seeds | seeds for 80 % power |",
            "|---|---|---|---|---|---|---|"]
    for c in claims:
        c = dict(c)
        st = status_text(c)
        v = st if _status(c) == "holds" and c.get("kind", "empirical") == "empirical" else f"**{st}**"
        text = interval_text(_claim_of(c))
        seeds = "deterministic" if c["deterministic"] else f"{c['n_seeds']} ({_seeds_text(c['seeds'])})"
        need = c.get("seeds_needed")
        power = "—" if c["verdict"] != "inconclusive" or c["deterministic"] else (
            "measurement-limited" if need is None or need > POWER_LIMIT else str(need))
        rows.append(f"| {c['id']} | {KIND_LABEL.get(c.get('kind', 'empirical'))} | {c['statement']} | {v} | {text} | "
                    f"{seeds} | {power} |")
    return "\n".join(rows)


def scorecard(claims: Sequence[Mapping]) -> str:
    """The scorecard in Markdown, generated from ledger entries: per chapter, the empirical claims with
    their status (holds / fails / inconclusive / fragile), then the identities and by-construction
    claims apart (they cannot count for or against the paper), and a count of the empirical ones.

    Introduced in notebooks/00_start_here.
    """
    rows = [dict(c) for c in claims]
    emp = [c for c in rows if c.get("kind", "empirical") == "empirical"]
    other = [c for c in rows if c.get("kind", "empirical") != "empirical"]
    count = {st: sum(_status(c) == st for c in emp) for st in STATUSES}
    lines = [f"**{len(emp)} empirical claims** (the only ones that count for or against the paper): "
             f"{count['holds']} hold, {count['fails']} fail, {count['fragile']} fragile (a verdict one declared "
             f"analysis choice or one seed overturns), {count['inconclusive']} inconclusive. "
             f"{len(other)} more are identities or true by construction (listed apart).", "",
             "| chapter | empirical claims (status) | identities and by-construction |", "|---|---|---|"]
    for ch in sorted({c.get("chapter", "") for c in rows}):
        e = [f"{c['id']} {_status(c)}" for c in emp if c.get("chapter", "") == ch]
        o = [f"{c['id']} ({KIND_LABEL[c['kind']]})" for c in other if c.get("chapter", "") == ch]
        lines.append(f"| {CHAPTER_TITLE.get(ch, ch)} | {', '.join(e) or '—'} | {', '.join(o) or '—'} |")
    return "\n".join(lines)


def specification_curve(c: Mapping) -> str:
    """One line per claim: its verdict under the main analysis and under every declared alternative
    (leave-one-seed-out subsets counted), e.g. ``holds; anchor step = 40: inconclusive; …``."""
    c = dict(c)
    alts = c.get("alternatives") or []
    parts = [f"main: {c['verdict']} {interval_text(_claim_of(c))}"]
    loo = [a for a in alts if a["key"] == "seeds"]
    for a in alts:
        if a["key"] != "seeds":
            parts.append(f"{a['choice']} = {_values(a['value'])}: {a['verdict']}")
    if loo:
        same = sum(a["verdict"] == c["verdict"] for a in loo)
        parts.append(f"leave one seed out: {c['verdict']} in {same} of {len(loo)}")
    return "; ".join(parts)


def verdict_comparison(live: Sequence, shipped: Sequence[Mapping] | None, shipped_scale: str = "small") -> str:
    """The end of a chapter: each live claim (a notebook's run, on teaching seeds at ``ci``) next to the
    shipped ledger's verdict of the same claim (confirmatory seeds at ``shipped_scale``), with its kind
    and robustness, and one line under the table for every claim whose two verdicts differ, saying why
    they can (``shipped``: :func:`loopvalley.registry.shipped_ledger`; ``None`` when none is shipped).

    Introduced in notebooks/00_start_here.
    """
    rows = [c.to_json() if hasattr(c, "to_json") else dict(c) for c in live]
    by_id = {c["id"]: c for c in (shipped or [])}
    out = [f"{'claim':6s} {'kind':16s} {'live (this run)':44s} shipped ({shipped_scale}, confirmatory seeds)"]
    differ = []
    for c in rows:
        seeds = "teaching" if c.get("teaching") else "confirmatory" if c.get("confirmatory") else "exploratory"
        here = f"{_status(c)} {interval_text(_claim_of(c))} ({c['n_seeds']} {seeds} seeds)" if not c["deterministic"] \
            else f"{c['verdict']} (exact)"
        s = by_id.get(c["id"])
        there = "not shipped" if s is None else (f"{status_text(s)} {interval_text(_claim_of(s))} ({s['n_seeds']} seeds)"
                                                 if not s["deterministic"] else f"{s['verdict']} (exact)")
        out.append(f"{c['id']:6s} {KIND_LABEL.get(c.get('kind', 'empirical'), ''):16s} {here:44s} {there}")
        if s is not None and s["verdict"] != c["verdict"]:
            differ.append(f"{c['id']}: live {c['verdict']}, shipped {s['verdict']} — the live run has {c['n_seeds']} "
                          f"{seeds} seeds at {c['scale']} (shorter runs, fewer seeds: wider intervals); the shipped "
                          f"verdict rests on {s['n_seeds']} confirmatory seeds at {s['scale']}.")
    if shipped is None:
        out.append(f"(no shipped {shipped_scale} ledger found: run `python -m loopvalley reproduce`)")
    return "\n".join(out + ([""] + differ if differ else []))


def chapter_summary(shipped: Sequence[Mapping] | None, ids: Sequence[str]) -> str:
    """What the shipped ledger says about ``ids``, one line per claim — its status in words and its
    note — generated from the ledger (never typed), for a chapter's "what this means" paragraph."""
    if not shipped:
        return "no shipped ledger: run `python -m loopvalley reproduce`"
    by_id = {c["id"]: c for c in shipped}
    lines = []
    for cid in ids:
        c = by_id.get(cid)
        if c is None:
            lines.append(f"{cid}: not in the shipped ledger")
            continue
        lines.append(f"{cid} — {c['statement']}: {status_text(c)}. {' '.join(x for x in (c.get('why', ''), c.get('note', '')) if x)}")
    return "\n".join(lines)


def write_ledger(claims: Sequence[Claim], out_dir, figures: Sequence[str] = (), title: str = "",
                 forest: str | None = None, meta: Mapping | None = None) -> tuple[Path, Path]:
    """Write ``claims.json`` (a header — ``meta``, the rules table's hash — and the claims) and
    ``REPORT.md`` into ``out_dir``; return both paths. ``forest`` is the forest plot's file name
    (drawn by :func:`loopvalley.forest.plot_forest`), shown first.

    Introduced in notebooks/01_river_valley.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    js = out / "claims.json"
    entries = [c.to_json() for c in claims]
    header = {"title": title or "loopvalley reproduction", "rules_hash": R.table_hash(), **jsonable(dict(meta or {}))}
    js.write_text(json.dumps({**header, "claims": entries}, indent=2, ensure_ascii=False) + "\n")
    scales = sorted({c.scale for c in claims})
    lines = [f"# {title or 'loopvalley reproduction report'}", ""]
    lines += [
        f"Scale: {', '.join(scales)}. Rules table `{header['rules_hash']}` (`lib/loopvalley/rules.toml`). Every verdict "
        f"is computed from the measured margins: holds when the 95 % interval (per claim: {INTERVAL}, or the "
        f"{SIGN_INTERVAL} where its margins are visibly not normal) lies above 0, fails when it lies below 0, "
        "inconclusive otherwise; a claim with several parts takes its weakest part. A holds/fails verdict that a "
        "declared analysis alternative or the removal of one seed overturns is reported as **fragile**. Rules were "
        "chosen on exploratory seeds; the verdicts come from the confirmatory seeds listed.",
        "",
    ]
    if all(c.teaching for c in claims if not c.deterministic):
        lines += ["**Teaching seeds:** these claims were computed on teaching seeds (a notebook's or CI's run), "
                  "not on the confirmatory seeds: an exploration, not the ledger's verdicts.", ""]
    lines += ["## Scorecard", "", scorecard(entries), ""]
    if forest:
        lines += [f"![Forest plot: every empirical claim's standardised margin (mean / spread over seeds) with its "
                  f"95 % interval, grouped by chapter; right of zero = on the paper's side; identities and "
                  f"by-construction claims listed apart]({Path(forest).name})", ""]
    lines += ["## Verdicts", "", verdict_table(entries), ""]
    emp = [e for e in entries if e.get("kind") == "empirical" and e.get("alternatives")]
    if emp:
        lines += ["## Specification curves", "",
                  "Each empirical claim's verdict under its main analysis and under every declared alternative "
                  "(one choice changed at a time), and under every leave-one-seed-out subset.", ""]
        lines += [f"- **{e['id']}**: {specification_curve(e)}" for e in emp]
        lines += [""]
    noted = [c for c in claims if c.note or c.why]
    if noted:
        lines += ["## What the verdicts mean", ""]
        lines += [f"- **{c.id}** ({status_text(c.to_json())}): " + " ".join(x for x in (c.why, c.note) if x) for c in noted]
        lines += [""]
    lines += ["## Rules and seeds", ""]
    for c in claims:
        ex = _seeds_text(c.exploratory_seeds) if c.exploratory_seeds else "—"
        seeds = "deterministic" if c.deterministic else f"decided on seeds {_seeds_text(c.seeds)}"
        lines.append(f"- **{c.id}** (rule v{c.rule_version}; {seeds}; rule chosen on exploratory seeds {ex}; "
                     f"{c.interval}): {c.rule}")
    if not all(c.confirmatory or c.deterministic for c in claims):
        lines += ["", "**Note:** some claims were computed on non-confirmatory seeds: an exploration, not a verdict."]
    if figures:
        lines += ["", "## Figures", ""]
        lines += [f"![{Path(f).stem}]({Path(f).name})" for f in figures if Path(f).suffix == ".png"]
    md = out / "REPORT.md"
    md.write_text("\n".join(lines) + "\n")
    return js, md
