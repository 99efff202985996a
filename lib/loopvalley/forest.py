"""The ledger's forest plot: every empirical claim's margin with its 95 % interval, on one scale,
grouped by chapter; identities and by-construction claims listed apart, without an effect size.

Margins have different units (accuracy points, fractions of draws, log ratios), so each is drawn as a
**standardised effect**: the mean margin divided by its spread over seeds (s, the sample standard
deviation), its interval divided by the same s — how many seed-to-seed spreads the effect is away from
zero. The verdict's question, whether the interval crosses zero, reads the same on this scale; the
true numbers are written at the right of each row. A claim that cannot be standardised (no spread, one
seed) is drawn at the edge with its numbers.

Introduced in notebooks/01_river_valley.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np

from loopvalley.claims import CHAPTER_TITLE, KIND_LABEL, Claim, interval_text

# Okabe–Ito colours (colour-blind safe), one per status; fragile also gets a hollow marker
STATUS_COLOR = {"holds": "#0072B2", "fails": "#D55E00", "inconclusive": "#7F7F7F", "fragile": "#E69F00"}
STATUS_MARKER = {"holds": "o", "fails": "s", "inconclusive": "D", "fragile": "o"}
EDGE = 6.0  # standardised effects beyond ±EDGE are drawn at the edge (with an arrow)


def _mathtext(s: str) -> str:
    """Letters the figure fonts lack (𝒞) as mathtext."""
    return s.replace("𝒞", r"$\mathcal{C}$")


def _entry(c) -> dict:
    return c.to_json() if hasattr(c, "to_json") else dict(c)


def _claim(c: Mapping) -> Claim:
    return Claim(**{k: c[k] for k in Claim.__dataclass_fields__ if k in c})


def _status(c: Mapping) -> str:
    return c.get("status") or _claim(c).status


def standardised(c: Mapping) -> tuple | None:
    """``(d, low, high)``: the deciding part's mean margin and interval divided by its spread over seeds
    (``None`` without a spread: one seed, identical seeds, or a missing number)."""
    part = next((p for p in c.get("parts", []) if p["name"] == c.get("deciding_part")), None)
    vals = [v for v in (part or {}).get("per_seed", []) if v is not None]
    if c.get("margin") is None or c.get("ci_low") is None or len(vals) < 2:
        return None
    s = float(np.std(vals, ddof=1))
    if s == 0:
        return None
    return c["margin"] / s, c["ci_low"] / s, c["ci_high"] / s


def plot_forest(claims: Sequence):
    """Empirical claims, one row each, grouped by chapter: the standardised margin (marker) and its
    interval (bar), a vertical line at zero, colour and marker by status (holds, fails, inconclusive,
    fragile); the numbers on the right. Identities and by-construction claims are listed under the
    plot, apart. ``claims``: :class:`Claim` objects or ``claims.json`` entries. Returns the figure.

    Introduced in notebooks/01_river_valley.
    """
    rows = [_entry(c) for c in claims]
    emp = [c for c in rows if c.get("kind", "empirical") == "empirical"]
    other = [c for c in rows if c.get("kind", "empirical") != "empirical"]
    chapters = sorted({c.get("chapter", "") for c in emp}, key=lambda ch: ch or "~")
    layout = []  # (kind, payload): chapter headers and claim rows, top to bottom
    for ch in chapters:
        layout.append(("chapter", ch))
        layout += [("claim", c) for c in emp if c.get("chapter", "") == ch]
    n = max(len(layout), 1)
    k = len(other) + 1 if other else 0
    h_top, h_box = 0.3 * n, 0.19 * k
    fig, axes = plt.subplots(2 if other else 1, 1, figsize=(9.0, h_top + h_box + 1.5), squeeze=False,
                             gridspec_kw={"height_ratios": [h_top, h_box] if other else [h_top], "hspace": 0.9 / (h_top + 1)})
    ax = axes[0, 0]
    fig.subplots_adjust(left=0.05, right=0.6, top=1 - 0.75 / fig.get_figheight(), bottom=0.1 / fig.get_figheight())
    for i, (what, c) in enumerate(layout):
        y = n - 1 - i
        if what == "chapter":
            ax.text(-EDGE * 1.05, y, CHAPTER_TITLE.get(c, c or "—"), ha="left", va="center", fontsize=8, style="italic",
                    color="0.3")
            continue
        st = _status(c)
        col, mk = STATUS_COLOR[st], STATUS_MARKER[st]
        z = standardised(c)
        if c.get("margin") is None:  # nothing measured: no point (the label says n/a)
            pass
        elif z is None:  # no spread over seeds: drawn at the edge on its side (its numbers on the right)
            ax.plot([float(np.sign(c["margin"]) * EDGE)], [y], mk, color=col, ms=7, mfc="white" if st == "fragile" else col)
        else:
            d, lo, hi = (float(np.clip(v, -EDGE, EDGE)) for v in z)
            ax.plot([lo, hi], [y, y], color=col, lw=2.2, solid_capstyle="butt")
            ax.plot([d], [y], mk, color=col, ms=7, mfc="white" if st == "fragile" else col)
            for v, end in ((z[1], -EDGE), (z[2], EDGE)):
                if abs(v) > EDGE and np.sign(v) == np.sign(end):
                    ax.annotate("", xy=(end * 1.04, y), xytext=(end * 0.92, y),
                                arrowprops=dict(arrowstyle="->", color=col, lw=1.2))
        ax.text(1.02, y, _mathtext(f"{c['id']}  {st}: {interval_text(_claim(c))}"), va="center", fontsize=7.5,
                color=col, transform=ax.get_yaxis_transform())
    ax.axvline(0, color="black", lw=1)
    ax.set_yticks([])
    ax.set_xlim(-EDGE * 1.08, EDGE * 1.08)
    ax.set_ylim(-0.7, n - 0.3)
    ax.set_xlabel("standardised margin: mean / spread over seeds (right of 0 = on the paper's side)", fontsize=8)
    ax.grid(axis="x", alpha=0.25)
    handles = [plt.Line2D([], [], marker=STATUS_MARKER[v], color=STATUS_COLOR[v], ls="", label=v,
                          mfc="white" if v == "fragile" else STATUS_COLOR[v]) for v in STATUS_COLOR]
    ax.legend(handles=handles, loc="lower left", bbox_to_anchor=(0.0, 1.0), ncol=4, fontsize=8, frameon=False)
    ax.set_title("Empirical claims: margin and 95 % interval, in seed-to-seed spreads", fontsize=9, pad=22)
    if other:
        box = axes[1, 0]
        box.axis("off")
        lines = ["Identities and by-construction claims (checks of the code and the construction; no effect size):"]
        lines += [f"{c['id']} ({KIND_LABEL[c['kind']]}, chapter {c.get('chapter', '?')}): {c['verdict']}" for c in other]
        box.text(0.0, 1.0, _mathtext("\n".join(lines)), fontsize=7.5, va="top", ha="left", color="0.25",
                 transform=box.transAxes, linespacing=1.5)
    return fig


def forest_alt_text(claims: Sequence[Mapping]) -> str:
    """A one-line description of the forest plot (its alt text)."""
    rows = [_entry(c) for c in claims]
    emp = [c for c in rows if c.get("kind", "empirical") == "empirical"]
    by = {v: [c["id"] for c in emp if _status(c) == v] for v in STATUS_COLOR}
    other = [c["id"] for c in rows if c.get("kind", "empirical") != "empirical"]
    return ("Forest plot of the empirical claims' standardised margins with 95% intervals, by chapter: "
            + "; ".join(f"{v}: {', '.join(ids)}" for v, ids in by.items() if ids)
            + (f". Listed apart (identities and by construction): {', '.join(other)}" if other else ""))
