"""Write the README's scorecard and verdict table from the shipped ledger (never by hand).

    python scripts/readme_table.py            # rewrite both in README.md from results/small/claims.json
    python scripts/readme_table.py --check    # exit 1 if README.md's differ from the ledger

The paragraph on recursion or depth (:func:`loopvalley.looped.recursion_depth.what_it_means` of
S4–S6) sits between ``<!-- depth:start -->`` and ``<!-- depth:end -->``. The scorecard sits between ``<!-- scorecard:start -->`` and ``<!-- scorecard:end -->`` and is
:func:`loopvalley.claims.scorecard` of ``results/small/claims.json``; the table sits between
``<!-- verdicts:start -->`` and ``<!-- verdicts:end -->`` and is :func:`loopvalley.claims.verdict_table`
of the same ledger, the one the README's main job (``python -m loopvalley reproduce``) writes. The "CI time" column of the notebook map comes
from ``notebooks/run_times.json`` (measured by ``scripts/build_notebooks.sh``) the same way.
``tests/test_readme.py`` runs ``--check``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
START, END = "<!-- verdicts:start -->", "<!-- verdicts:end -->"
CARD_START, CARD_END = "<!-- scorecard:start -->", "<!-- scorecard:end -->"
DEPTH_START, DEPTH_END = "<!-- depth:start -->", "<!-- depth:end -->"


def table(ledger: Path) -> str:
    from loopvalley.claims import load_ledger, verdict_table

    return verdict_table(load_ledger(ledger))


def card(ledger: Path) -> str:
    from loopvalley.claims import load_ledger, scorecard

    return scorecard(load_ledger(ledger))


def depth(ledger: Path) -> str:
    """The paragraph on recursion or depth (chapter 09), generated from S4–S6 of the ledger."""
    from loopvalley.claims import load_ledger
    from loopvalley.looped.recursion_depth import what_it_means

    return "**Recursion or depth?** " + what_it_means([c for c in load_ledger(ledger) if c["id"] in ("S4", "S5a", "S5b", "S6")])


def with_table(readme: str, text: str, start: str = START, end: str = END) -> str:
    if start not in readme or end not in readme:
        raise ValueError(f"README.md has no {start} ... {end} markers")
    head, rest = readme.split(start, 1)
    _, tail = rest.split(end, 1)
    return f"{head}{start}\n{text}\n{end}{tail}"


def with_run_times(readme: str, run_times: Path) -> str:
    """The notebook map's "CI time" cells (the 5th column of rows ``| [`NN_name`](...)``) from the
    measured ci run times."""
    import re

    from loopvalley.jsonable import read_json

    table = read_json(run_times, "the run-time table scripts/build_notebooks.sh writes")["notebooks"]
    out = []
    for line in readme.split("\n"):
        m = re.match(r"\| \[`(\d\d_[a-z0-9_]+)`\]", line)
        sec = (table.get(m.group(1), {}).get("ci") or {}).get("seconds") if m else None
        if sec is not None:
            cells = line.split(" | ")
            cells[4] = f"~{round(float(sec)):d} s"
            line = " | ".join(cells)
        out.append(line)
    return "\n".join(out)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--check", action="store_true", help="only compare; exit 1 when they differ")
    ap.add_argument("--ledger", default=str(ROOT / "results" / "small" / "claims.json"))
    ap.add_argument("--readme", default=str(ROOT / "README.md"))
    args = ap.parse_args(argv)
    readme = Path(args.readme)
    old = readme.read_text()
    try:
        new = with_table(old, table(Path(args.ledger)))
        new = with_table(new, card(Path(args.ledger)), CARD_START, CARD_END)
        new = with_table(new, depth(Path(args.ledger)), DEPTH_START, DEPTH_END)
        new = with_run_times(new, ROOT / "notebooks" / "run_times.json")
    except ValueError as e:  # a damaged ledger or run-time table, or a README without the markers
        ap.error(str(e))  # exits 2 with the message
    if args.check:
        if new != old:
            print(f"{readme.name}'s scorecard or verdict table differs from {args.ledger}: run python scripts/readme_table.py")
            return 1
        return 0
    readme.write_text(new)
    return 0


if __name__ == "__main__":
    sys.exit(main())
