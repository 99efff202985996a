"""The ledger's forest plot: every claim's margin with its 95 % interval, one row per claim.

Margins have different units (accuracy points, fractions of draws, ratios), so each row is drawn
on its own scale: divided by the largest absolute value among its mean and interval ends. The
division keeps what the verdict reads — the sign of the margin and whether the interval crosses
zero — and the true numbers are written at the right of each row.

Introduced in notebooks/01_river_valley.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import matplotlib.pyplot as plt

from loopvalley.claims import Claim, interval_text

# Okabe–Ito colours (colour-blind safe), one per verdict
VERDICT_COLOR = {"holds": "#0072B2", "fails": "#D55E00", "inconclusive": "#7F7F7F"}
VERDICT_MARKER = {"holds": "o", "fails": "s", "inconclusive": "D"}


def _mathtext(s: str) -> str:
    """Letters the figure fonts lack (𝒞) as mathtext."""
    return s.replace("𝒞", r"$\mathcal{C}$")


def _entry(c) -> dict:
    return c.to_json() if hasattr(c, "to_json") else dict(c)


def plot_forest(claims: Sequence):
    """One row per claim: the margin (marker) and its interval (bar), scaled per row, a vertical line
    at zero, coloured and shaped by verdict; the numbers on the right. ``claims``: :class:`Claim`
    objects or ``claims.json`` entries. Returns the figure.

    Introduced in notebooks/01_river_valley.
    """

    rows = [_entry(c) for c in claims]
    fig, ax = plt.subplots(figsize=(8.0, 0.36 * len(rows) + 1.2))
    for i, c in enumerate(rows):
        y = len(rows) - 1 - i
        col, mk = VERDICT_COLOR[c["verdict"]], VERDICT_MARKER[c["verdict"]]
        m, lo, hi = c["margin"], c["ci_low"], c["ci_high"]
        if m is None:
            ax.text(0, y, "no margin", ha="center", va="center", color=col, fontsize=8)
        else:
            ends = [abs(v) for v in (m, lo, hi) if isinstance(v, (int, float))]
            scale = max(ends) or 1.0
            if isinstance(lo, (int, float)) and isinstance(hi, (int, float)) and lo != hi:
                ax.plot([lo / scale, hi / scale], [y, y], color=col, lw=2.2, solid_capstyle="butt")
            ax.plot([m / scale], [y], mk, color=col, ms=7, mfc=col if c["deterministic"] is False else "white")
        claim = Claim(**{k: c[k] for k in Claim.__dataclass_fields__ if k in c})
        ax.text(1.08, y, _mathtext(f"{c['verdict']}: {interval_text(claim)}"), va="center", fontsize=7.5, color=col,
                transform=ax.get_yaxis_transform())
    ax.axvline(0, color="black", lw=1)
    ax.set_yticks(range(len(rows)), [c["id"] for c in reversed(rows)])
    ax.set_xlim(-1.15, 1.15)
    ax.set_xticks([-1, 0, 1], ["against the paper", "0", "on the paper's side"])
    ax.set_ylim(-0.7, len(rows) - 0.3)
    ax.grid(axis="y", alpha=0.2)
    handles = [plt.Line2D([], [], marker=VERDICT_MARKER[v], color=VERDICT_COLOR[v], ls="", label=v)
               for v in ("holds", "inconclusive", "fails")]
    handles.append(plt.Line2D([], [], marker="o", color="black", mfc="white", ls="", label="deterministic"))
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=4, fontsize=8, frameon=False)
    ax.set_title("Each claim's margin with its 95 % interval over seeds (each row scaled to its largest value)",
                 fontsize=9)
    fig.subplots_adjust(right=0.68)
    return fig


def forest_alt_text(claims: Sequence[Mapping]) -> str:
    """A one-line description of the forest plot (its alt text)."""
    rows = [_entry(c) for c in claims]
    by = {v: [c["id"] for c in rows if c["verdict"] == v] for v in VERDICT_COLOR}
    return ("Forest plot of claim margins with 95% intervals: " +
            "; ".join(f"{v}: {', '.join(ids) or 'none'}" for v, ids in by.items()))
