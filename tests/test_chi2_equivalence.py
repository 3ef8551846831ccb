"""The failure trend's χ² tail is scipy's ``chdtrc`` without importing scipy.special.

advisor/failures/consistency.py computes P(χ²_df > x) in closed form (integer df) because importing
scipy.special costs ~0.15–0.2 s of CPU per `advise analyze` run. These tests demand it agree with scipy to
a relative 5e-12 and give the same value after the trend's rounding to 6 places, over df 1–2000 and x from
~0 to far into both tails (including where e^-x/2 underflows and the terms are summed from logs).
"""

from __future__ import annotations

import math
import random

import pytest

from advisor.failures.consistency import chi2_sf

chdtrc = pytest.importorskip("scipy.special").chdtrc

REL = 5e-12


def _grid() -> list[tuple[int, float]]:
    dfs = [*range(1, 301), 401, 500, 777, 1000, 1001, 1499, 1500, 2000]
    points = []
    for df in dfs:
        xs = [1e-300, 1e-12, 1e-6, 0.01, 0.1, 0.5, 1.0, 2.0, 5.0, 1199.0, 1200.0, 1201.0, 1490.0, 3000.0]
        xs += [df * f for f in (0.1, 0.3, 0.5, 0.8, 0.9, 1, 1.1, 1.2, 1.5, 2, 3, 5, 10)]
        xs += [df + z * math.sqrt(2 * df) for z in (-3, -2, -1, 0, 1, 2, 3, 4, 5, 6, 8)]
        points += [(df, x) for x in xs if x > 0]
    rng = random.Random(20)
    points += [(df, rng.uniform(0, 4 * df + 20)) for df in (rng.randint(1, 1200) for _ in range(20000))]
    return points


def test_chi2_sf_matches_scipy() -> None:
    for df, x in _grid():
        ours, ref = chi2_sf(df, x), float(chdtrc(df, x))
        assert round(ours, 6) == round(ref, 6), (df, x, ours, ref)
        if ref > 1e-280:
            assert abs(ours - ref) <= REL * ref, (df, x, ours, ref)
        else:
            assert ours <= 1e-279, (df, x, ours, ref)


def test_chi2_sf_edges() -> None:
    for df in (1, 2, 3, 10):
        assert chi2_sf(df, 0.0) == float(chdtrc(df, 0.0)) == 1.0
        assert chi2_sf(df, -1.0) == 1.0
        assert chi2_sf(df, math.inf) == float(chdtrc(df, math.inf)) == 0.0
        assert math.isnan(chi2_sf(df, math.nan))
    with pytest.raises(ValueError):
        chi2_sf(0, 1.0)


def test_trend_does_not_import_scipy_special() -> None:
    import subprocess
    import sys

    code = ("import sys\nfrom advisor.failures.consistency import daily_trend\n"
            "days = [(f'2026-01-{d:02d}', 1000, 30 + (200 if d == 5 else 0)) for d in range(1, 15)]\n"
            "t = daily_trend(days)\nassert t.verdict == 'bursty', t\n"
            "assert not any(m.startswith('scipy') for m in sys.modules), 'scipy imported'\n")
    subprocess.run([sys.executable, "-c", code], check=True)
