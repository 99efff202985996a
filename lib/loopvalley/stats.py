"""Intervals over seeds: the Student-t interval of a mean, without SciPy.

A verdict rests on the mean margin over n seeds and its 95 % interval

    m̄ ± t_{0.975, n−1} · s / √n,     s² = Σ (m_i − m̄)² / (n − 1),

which assumes the per-seed margins are independent draws from a roughly normal distribution. With
the 5–10 seeds we can afford, a bootstrap interval is too narrow (it cannot see beyond the
observed range), so the t interval is the honest choice. The quantile t_{p, ν} comes from inverting
the regularised incomplete beta function (bisection on the CDF; tested against SciPy).

Introduced in notebooks/01_river_valley.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from loopvalley._validate import check_int, check_range


def _betacf(a: float, b: float, x: float) -> float:
    """Continued fraction of the incomplete beta function (Lentz's method)."""
    tiny, qab, qap, qam = 1e-300, a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 300):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c if abs(1.0 + aa / c) > tiny else tiny
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c if abs(1.0 + aa / c) > tiny else tiny
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < 1e-15:
            break
    return h


def betainc(a: float, b: float, x: float) -> float:
    """The regularised incomplete beta function I_x(a, b)."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    lbeta = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    if x < (a + 1.0) / (a + b + 2.0):
        return math.exp(lbeta) * _betacf(a, b, x) / a
    return 1.0 - math.exp(lbeta) * _betacf(b, a, 1.0 - x) / b


def t_cdf(t: float, df: float) -> float:
    """P(T ≤ t) for Student's t with ``df`` degrees of freedom: 1 − ½ I_{ν/(ν+t²)}(ν/2, ½) for t ≥ 0."""
    x = df / (df + t * t)
    tail = 0.5 * betainc(df / 2.0, 0.5, x)  # P(T > |t|)
    return 1.0 - tail if t >= 0 else tail


def t_quantile(p: float, df: int) -> float:
    """t_{p, ν}: the p-quantile of Student's t with ν = ``df`` degrees of freedom (bisection on the CDF).

    Introduced in notebooks/01_river_valley.
    """
    p = check_range("p", p, 0.0, 1.0, lo_open=True, hi_open=True)
    df = check_int("df", df, 1)
    if p < 0.5:
        return -t_quantile(1.0 - p, df)
    lo, hi = 0.0, 1.0
    while t_cdf(hi, df) < p:  # bracket the quantile
        hi *= 2.0
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if t_cdf(mid, df) < p else (lo, mid)
        if hi - lo < 1e-13 * max(1.0, hi):
            break
    return 0.5 * (lo + hi)


def mean_interval(values: Sequence[float], confidence: float = 0.95) -> tuple[float, float, float]:
    """``(mean, low, high)``: the Student-t interval m̄ ± t_{(1+c)/2, n−1}·s/√n of the mean of ``values``.

    Needs n ≥ 2 finite values (raises ``ValueError`` otherwise). With zero spread the interval is
    the point m̄.

    Introduced in notebooks/01_river_valley.
    """
    confidence = check_range("confidence", confidence, 0.0, 1.0, lo_open=True, hi_open=True)
    a = np.asarray(values, dtype=float)
    if a.size < 2:
        raise ValueError(f"values: an interval needs at least 2 values, got {a.size}")
    if not np.isfinite(a).all():
        raise ValueError("values must be finite")
    m = float(a.mean())
    half = t_quantile(0.5 + confidence / 2, a.size - 1) * float(a.std(ddof=1)) / math.sqrt(a.size)
    return m, m - half, m + half


def median_interval(values: Sequence[float], confidence: float = 0.95) -> tuple[float, float, float, float]:
    """``(median, low, high, coverage)``: the distribution-free sign-test interval of the median,
    [x_(k), x_(n−k+1)] of the sorted values with the largest k such that 2·P(Binomial(n, ½) < k) ≤
    1 − ``confidence``; ``coverage`` = 1 − 2·P(Binomial(n, ½) < k) is its exact coverage (≥ the asked
    one when k ≥ 1; below it only when even the full range [x_(1), x_(n)] covers less, n ≤ 5 at 95 %).

    For margins that are visibly not normal (a bimodal mixture of seeds that finished a climb and seeds
    that did not), where the Student-t interval's assumption fails. Needs n ≥ 2 finite values.

    Introduced in notebooks/09_recursion_or_depth.
    """
    confidence = check_range("confidence", confidence, 0.0, 1.0, lo_open=True, hi_open=True)
    a = np.sort(np.asarray(values, dtype=float))
    if a.size < 2:
        raise ValueError(f"values: an interval needs at least 2 values, got {a.size}")
    if not np.isfinite(a).all():
        raise ValueError("values must be finite")
    n = a.size
    below = [sum(math.comb(n, i) for i in range(k)) / 2.0**n for k in range(n + 1)]  # P(B < k)
    k = max([k for k in range(1, n // 2 + 1) if 2 * below[k] <= 1 - confidence] or [1])
    return float(np.median(a)), float(a[k - 1]), float(a[n - k]), 1.0 - 2 * below[k]


def seeds_for_power(values: Sequence[float], power: float = 0.8, confidence: float = 0.95, limit: int = 10_000) -> int | None:
    """The number of seeds at which the two-sided t test of "mean margin = 0" would reach ``power``
    if the true mean and spread were those of ``values``: the smallest n with
    t_{(1+c)/2, n−1} + t_{power, n−1} ≤ |m̄|/s·√n (the usual normal-approximation formula with t
    quantiles). ``None`` when the values have no spread or mean 0, or beyond ``limit``.

    Introduced in notebooks/01_river_valley.
    """
    a = np.asarray(values, dtype=float)
    a = a[np.isfinite(a)]
    if a.size < 2:
        return None
    m, s = abs(float(a.mean())), float(a.std(ddof=1))
    if s == 0 or m == 0:
        return None
    d = m / s  # the standardised effect
    for n in range(2, limit + 1):
        if t_quantile(0.5 + confidence / 2, n - 1) + t_quantile(power, n - 1) <= d * math.sqrt(n):
            return n
    return None
