"""The rules table: every claim's statement, paper wording, kind, rule, parts, thresholds and declared
analysis alternatives, in one file (``rules.toml`` beside this module), frozen before the
confirmatory run that uses it.

A claim's **rule** is what its margin measures, in words, with its thresholds as ``{param}``
placeholders filled from the table (so the text and the code read the same number). Its **choices**
are the analysis decisions a reasonable analyst could make differently — an anchor step, a window,
k in κ_k, a normalisation, a tolerance, a horizon, a Lanczos budget — each with the value the verdict
uses (``main``) and the declared alternatives; the ledger recomputes the verdict under every
alternative (:func:`loopvalley.claims.judge`), and a verdict that flips under one is *fragile*.

The ledger records :func:`table_hash` and each claim its :func:`Rule.hash`: a test compares the shipped
ledger's hashes with the current table, so a rule change forces a new confirmatory run (and the commit
that changes a rule lands before the commit that ships its ledger). A declared choice or alternative
is never dropped after it is seen: the table only grows, and ``version`` goes up when a rule changes.

Kinds of evidence:

- ``identity`` — a mathematical identity or bound, checked numerically (a check of the code);
- ``by-construction`` — true because of how the model, data or regime is built (the claim's ``why``
  says what forces it); it illustrates the paper's story but cannot count as evidence for it;
- ``empirical`` — measured, and could have come out either way: only these count for or against the
  paper.

Introduced in notebooks/01_river_valley.
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

RULES_FILE = Path(__file__).with_name("rules.toml")
KINDS = ("identity", "by-construction", "empirical")
INTERVALS = ("t", "sign")  # Student-t of the mean; distribution-free sign-test interval of the median
CHAPTERS = ("01", "02", "03", "04", "05", "06", "07", "08", "09")


@dataclass(frozen=True)
class RulePart:
    """One part of a rule (a conjunction takes its weakest part): its key in the code, what its
    margin measures, and the unit."""

    key: str
    name: str
    unit: str = ""


@dataclass(frozen=True)
class Choice:
    """An analysis choice: the value the verdict uses and the declared alternatives."""

    key: str  # the name the margin function reads, e.g. "anchor"
    name: str  # what it is, in words, e.g. "anchor step"
    main: object
    alternatives: tuple
    why: str = ""  # why these alternatives (what a reasonable analyst might pick)


@dataclass(frozen=True)
class Rule:
    """One claim's entry of the rules table."""

    id: str
    chapter: str
    experiment: str
    kind: str
    statement: str
    paper: str
    rule: str
    version: str
    parts: tuple
    params: dict = field(default_factory=dict)
    choices: tuple = ()
    why: str = ""  # identity / by-construction: why it holds
    exploratory_seeds: tuple = ()
    interval: str = "t"
    deterministic: bool = False  # nothing a seed can change: two-valued, no interval

    @property
    def main(self) -> dict:
        """The analysis the verdict uses: ``{choice key: main value}``."""
        return {c.key: c.main for c in self.choices}

    def text(self, **extra) -> str:
        """The rule in words, thresholds and main choices filled in (``extra``: numbers measured at
        run time, e.g. a FLOP ratio)."""
        return self.rule.format(**{k: _shown(v) for k, v in {**self.params, **self.main, **extra}.items()})

    def part(self, key: str) -> RulePart:
        for p in self.parts:
            if p.key == key:
                return p
        raise ValueError(f"rule {self.id}: no part {key!r}; parts: {', '.join(p.key for p in self.parts)}")

    @property
    def hash(self) -> str:
        return _hash(_raw()[self.id])


def _shown(v):
    """A number as the rule text shows it: 5.0 → 5, 0.50 → 0.5; lists item by item."""
    if isinstance(v, float):
        return f"{v:g}"
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(str(_shown(x)) for x in v) + "]"
    return v


def _hash(obj) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, ensure_ascii=False).encode()).hexdigest()[:16]


@lru_cache(maxsize=1)
def _raw() -> dict:
    try:
        return tomllib.loads(RULES_FILE.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as e:
        raise ValueError(f"{RULES_FILE}: cannot read the rules table ({e})") from None


def _rule(cid: str, d: dict) -> Rule:
    where = f"{RULES_FILE.name} [{cid}]"
    known = {"chapter", "experiment", "kind", "statement", "paper", "rule", "version", "parts", "params", "choices",
             "why", "exploratory_seeds", "interval", "deterministic"}
    unknown = set(d) - known
    if unknown:
        raise ValueError(f"{where}: unknown keys {sorted(unknown)}")
    missing = [k for k in ("chapter", "experiment", "kind", "statement", "paper", "rule", "version", "parts") if k not in d]
    if missing:
        raise ValueError(f"{where}: missing keys {missing}")
    if d["kind"] not in KINDS:
        raise ValueError(f"{where}: kind must be one of {KINDS}, got {d['kind']!r}")
    if d["kind"] != "empirical" and not d.get("why"):
        raise ValueError(f"{where}: a {d['kind']} claim must say why it holds (key 'why')")
    if d.get("interval", "t") not in INTERVALS:
        raise ValueError(f"{where}: interval must be one of {INTERVALS}")
    if d["chapter"] not in CHAPTERS:
        raise ValueError(f"{where}: chapter must be one of {CHAPTERS}")
    parts = tuple(RulePart(p["key"], p["name"], p.get("unit", "")) for p in d["parts"])
    choices = tuple(Choice(c["key"], c["name"], c["main"], tuple(c["alternatives"]), c.get("why", ""))
                    for c in d.get("choices", []))
    if d["kind"] == "empirical" and not choices:
        raise ValueError(f"{where}: an empirical claim declares its analysis choices and their alternatives")
    return Rule(id=cid, chapter=d["chapter"], experiment=d["experiment"], kind=d["kind"], statement=d["statement"],
                paper=d["paper"], rule=d["rule"], version=str(d["version"]), parts=parts, params=dict(d.get("params", {})),
                choices=choices, why=d.get("why", ""), exploratory_seeds=tuple(d.get("exploratory_seeds", ())),
                interval=d.get("interval", "t"), deterministic=bool(d.get("deterministic", False)))


@lru_cache(maxsize=1)
def table() -> dict[str, Rule]:
    """Every rule of ``rules.toml``, by claim id (validated: a malformed entry raises ``ValueError``
    naming the file and the claim).

    Introduced in notebooks/01_river_valley.
    """
    return {cid: _rule(cid, d) for cid, d in _raw().items()}


def rule(cid: str) -> Rule:
    """The rule of claim ``cid``.

    Introduced in notebooks/01_river_valley.
    """
    rules = table()
    if cid not in rules:
        raise ValueError(f"claim {cid!r} has no entry in {RULES_FILE.name}; known: {', '.join(sorted(rules))}")
    return rules[cid]


def table_hash() -> str:
    """A hash of the whole rules table (its parsed content, so formatting does not count).

    Introduced in notebooks/01_river_valley.
    """
    return _hash(_raw())
