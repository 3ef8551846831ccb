"""How concentrated failures are, and how the failure rate moves over time.

**Consistency** (the headline, in [0, 1]) = share of failures whose primary signature is a
*recurring structural* signature: category format/schema/style, seen on at least
``min_count`` records (default 3) and on at least ``min_days`` distinct days (default 2, or
the number of days in the logs if fewer). This is what fine-tuning fixes.

Companions:
* **recurrence** = share of failures in recurring signatures of any category.
* **concentration** = 1 − H/ln(n), H the Shannon entropy of the failures over their primary
  signatures, n the number of failures (ln n is the entropy when every failure is a one-off):
  1 = one signature explains everything, 0 = all different.

**Verdict** (thresholds below, in order): ``none`` (no failures) · ``insufficient`` (< 10
failures) · ``structural`` (consistency ≥ 0.6) · ``knowledge`` (knowledge share of failures ≥ 0.5)
· ``random`` (consistency < 0.3: failures are one-offs, or recur but are not structural) · ``mixed``
(0.3 ≤ consistency < 0.6).

**Trend** of the daily failure rate (needs ≥ 3 days and ≥ 20 failures, else ``insufficient``):
a weighted least-squares line rate = a + b·day (weights: requests per day). *Drifting* when the
slope is significant (two-sided z-test with binomial variance, p < 0.01) and moves the rate by
≥ 25 % of its mean over the window. *Bursty* when the days scatter around that line more than
binomial noise allows: Pearson dispersion X²/(D−2) ≥ 2 with χ² p < 0.001 (burst days: standardised
residual > 3). Bursty wins over drifting (one bad day can tilt a line). Otherwise *stable*.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from advisor.failures.signatures import KNOWLEDGE, STRUCTURAL

STRUCTURAL_MIN = 0.6
RANDOM_MAX = 0.3
KNOWLEDGE_MIN = 0.5
MIN_FAILURES = 10
TREND_MIN_DAYS = 3
TREND_MIN_FAILURES = 20
TREND_ALPHA = 0.01
BURST_ALPHA = 0.001
DRIFT_MIN_RELATIVE = 0.25
BURST_MIN_DISPERSION = 2.0
BURST_Z = 3.0


@dataclass(frozen=True, slots=True)
class SignatureCount:
    signature: str
    category: str
    count: int  # failures with this as their *primary* signature
    days: int  # distinct days it was seen on


@dataclass(frozen=True, slots=True)
class Concentration:
    consistency: float
    recurrence: float
    concentration: float
    structural_share: float
    knowledge_share: float
    other_share: float
    verdict: str
    min_count: int
    min_days: int


def is_recurring(count: int, days: int, min_count: int, min_days: int) -> bool:
    return count >= min_count and days >= min_days


def concentration(counts: Iterable[SignatureCount], *, min_count: int = 3, min_days: int = 2,
                  days_observed: int | None = None) -> Concentration:
    """The consistency metric and its companions over failures grouped by primary signature."""
    rows = [c for c in counts if c.count > 0]
    n = sum(c.count for c in rows)
    eff_days = min(min_days, days_observed) if days_observed else min_days
    if n == 0:
        return Concentration(0.0, 0.0, 0.0, 0.0, 0.0, 0.0, "none", min_count, eff_days)
    rec = [c for c in rows if is_recurring(c.count, c.days, min_count, eff_days)]
    consistency = sum(c.count for c in rec if c.category in STRUCTURAL) / n
    recurrence = sum(c.count for c in rec) / n
    entropy = -sum((c.count / n) * math.log(c.count / n) for c in rows)
    conc = 1.0 - entropy / math.log(n) if n > 1 else 1.0
    structural = sum(c.count for c in rows if c.category in STRUCTURAL) / n
    knowledge = sum(c.count for c in rows if c.category in KNOWLEDGE) / n
    if n < MIN_FAILURES:
        verdict = "insufficient"
    elif consistency >= STRUCTURAL_MIN:
        verdict = "structural"
    elif knowledge >= KNOWLEDGE_MIN:
        verdict = "knowledge"
    elif consistency < RANDOM_MAX:
        verdict = "random"
    else:
        verdict = "mixed"
    return Concentration(round(consistency, 4), round(recurrence, 4), round(max(0.0, conc), 4),
                         round(structural, 4), round(knowledge, 4), round(1 - structural - knowledge, 4),
                         verdict, min_count, eff_days)


@dataclass(frozen=True, slots=True)
class Trend:
    verdict: str  # stable | drifting | bursty | insufficient
    slope_per_day: float | None  # change of the failure rate per day (absolute, e.g. 0.01 = +1 point/day)
    slope_p: float | None
    relative_change: float | None  # slope × (days − 1) / mean rate
    dispersion_index: float | None
    dispersion_p: float | None
    burst_days: list[str]


def _normal_sf2(z: float) -> float:
    return math.erfc(abs(z) / math.sqrt(2))


_LOG_SPACE_FROM = 600.0  # e^-y stays a normal double below ~708; past this the terms are summed from logs


def chi2_sf(df: int, x: float) -> float:
    """P(χ²_df > x) for an integer `df` ≥ 1: scipy's ``chdtrc(df, x)`` without importing scipy.special.

    Importing scipy.special costs ~0.15–0.2 s of CPU per run (it clones numpy's namespace for the array
    API and drags in numpy.f2py), far more than the one tail probability the trend needs. For integer
    degrees of freedom the tail has a closed form (the regularised upper incomplete gamma Q(df/2, x/2)):
    even df = 2k: e^-y Σ_{i<k} y^i/i!; odd df = 2k+1: erfc(√y) + e^-y Σ_{i<k} y^(i+½)/Γ(i+3/2), y = x/2.
    Every term is positive, so the sum loses no precision; tests/test_chi2_equivalence.py pins it to
    scipy (relative error < 1e-12 over df 1–2000 and the whole range of x; the trend rounds to 6 places).
    """
    if df < 1 or df != int(df):
        raise ValueError(f"chi2_sf needs an integer df >= 1, got {df}")
    if math.isnan(x):
        return math.nan
    if x <= 0:
        return 1.0
    if math.isinf(x):
        return 0.0
    y = x / 2
    k, odd = divmod(int(df), 2)
    head = math.erfc(math.sqrt(y)) if odd else 0.0
    if not odd:  # the i = 0 term, e^-y, then i = 1 … k-1
        k -= 1
    if y < _LOG_SPACE_FROM:
        term = math.exp(-y) * (2 * math.sqrt(y / math.pi) if odd else 1.0)
        total = 0.0 if odd else term
        for i in range(k):
            if odd:
                total += term
                term *= y / (i + 1.5)
            else:
                term *= y / (i + 1)
                total += term
        return head + total
    log_y = math.log(y)
    total = 0.0
    for i in range(0 if odd else -1, k):  # i = -1 stands for the even series' e^-y term
        if odd:
            total += math.exp(-y + (i + 0.5) * log_y - math.lgamma(i + 1.5))
        else:
            total += math.exp(-y + (i + 1) * log_y - math.lgamma(i + 2))
    return head + total


def daily_trend(days: list[tuple[str, int, int]]) -> Trend:
    """Classify the daily failure rate; `days` are (ISO day, requests, failures), sorted by day."""
    days = [d for d in days if d[1] > 0]
    total_n = sum(d[1] for d in days)
    total_f = sum(d[2] for d in days)
    if len(days) < TREND_MIN_DAYS or total_f < TREND_MIN_FAILURES or total_f == total_n:
        return Trend("insufficient", None, None, None, None, None, [])
    from datetime import date

    d0 = date.fromisoformat(days[0][0])
    t = [(date.fromisoformat(d).toordinal() - d0.toordinal()) for d, _, _ in days]
    w = [n for _, n, _ in days]
    r = [f / n for _, n, f in days]
    p = total_f / total_n
    tw = sum(wi * ti for wi, ti in zip(w, t, strict=True)) / total_n
    sxx = sum(wi * (ti - tw) ** 2 for wi, ti in zip(w, t, strict=True))
    b = sum(wi * (ti - tw) * ri for wi, ti, ri in zip(w, t, r, strict=True)) / sxx if sxx else 0.0
    a = p - b * tw
    var_b = p * (1 - p) / sxx if sxx else math.inf
    slope_p = _normal_sf2(b / math.sqrt(var_b)) if var_b and math.isfinite(var_b) else 1.0
    span = t[-1] - t[0]
    rel = b * span / p if p else 0.0
    chi = 0.0
    resid_z: list[float] = []
    for (_day, n, f), ti in zip(days, t, strict=True):
        ph = min(max(a + b * ti, 1e-6), 1 - 1e-6)
        z = (f - n * ph) / math.sqrt(n * ph * (1 - ph))
        resid_z.append(z)
        chi += z * z
    df = max(len(days) - 2, 1)
    disp_p = chi2_sf(df, chi)  # = scipy.stats.chi2.sf(chi, df)
    disp = chi / df
    bursts = [d for (d, _, _), z in zip(days, resid_z, strict=True) if z > BURST_Z]
    if disp_p < BURST_ALPHA and disp >= BURST_MIN_DISPERSION:
        verdict = "bursty"
    elif slope_p < TREND_ALPHA and abs(rel) >= DRIFT_MIN_RELATIVE:
        verdict = "drifting"
    else:
        verdict = "stable"
    return Trend(verdict, round(b, 6), round(slope_p, 6), round(rel, 4), round(disp, 4), round(disp_p, 6), bursts)


def wilson_interval(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """95 % Wilson score interval of a proportion (sensible at 0 and small n)."""
    if n == 0:
        return 0.0, 1.0
    ph = k / n
    den = 1 + z * z / n
    centre = (ph + z * z / (2 * n)) / den
    half = z * math.sqrt(ph * (1 - ph) / n + z * z / (4 * n * n)) / den
    return round(max(0.0, centre - half), 4), round(min(1.0, centre + half), 4)
