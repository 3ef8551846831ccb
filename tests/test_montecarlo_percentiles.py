"""The Monte Carlo's percentiles and median are numpy's, bit for bit, without numpy importing numpy.ma.

advisor/decision/strategies/montecarlo.py reproduces ``np.percentile`` (linear) and ``np.median`` because both
look up ``np.ma`` and so import numpy.ma (~35 ms of CPU per `advise analyze`). These tests demand identical
floats (sign of zero included) on random draws, heavy ties, ±0.0, NEVER-style sentinels, infinities and NaN.
"""

from __future__ import annotations

import math
import struct
import subprocess
import sys

import numpy as np
import pytest

from advisor.decision.strategies.montecarlo import median, percentiles


def _bits(x: float) -> bytes:
    return struct.pack("<d", x)


def _arrays() -> list[np.ndarray]:
    rng = np.random.default_rng(20)
    out = []
    for n in [1, 2, 3, 4, 5, 10, 11, 199, 200, 201, 1000]:
        out.append(rng.normal(0, 1e4, n))
        out.append(np.round(rng.normal(0, 3, n)))  # many ties
        out.append(rng.choice([0.0, -0.0, 1.0, -1.0], n))  # zeros of both signs
        out.append(np.where(rng.random(n) < 0.3, 1e18, rng.random(n) * 90))  # "never" sentinels
        out.append(np.where(rng.random(n) < 0.1, np.inf, rng.random(n)))
        out.append(np.where(rng.random(n) < 0.1, -np.inf, rng.random(n)))
        with_nan = rng.random(n)
        with_nan[rng.integers(0, n)] = np.nan
        out.append(with_nan)
    return out


def test_percentiles_equal_numpys() -> None:
    for a in _arrays():
        for qs in ([10], [90], [50], [10, 90], [0], [100], [0, 25, 50, 75, 100], [33.3]):
            with np.errstate(invalid="ignore"):
                want = [float(x) for x in np.atleast_1d(np.percentile(a, qs if len(qs) > 1 else qs[0]))]
                got = percentiles(a, qs)  # ±inf neighbours: numpy warns on inf - inf as well
            assert [_bits(x) for x in got] == [_bits(x) for x in want], (a, qs, got, want)


def test_median_equals_numpys() -> None:
    for a in _arrays():
        with np.errstate(invalid="ignore"):
            want = float(np.median(a))
        assert _bits(median(a)) == _bits(want), (a, median(a), want)


def test_inputs_are_not_modified() -> None:
    a = np.array([3.0, 1.0, 2.0, 5.0, 4.0])
    percentiles(a, [10, 90])
    median(a)
    assert a.tolist() == [3.0, 1.0, 2.0, 5.0, 4.0]


def test_monte_carlo_stats_do_not_import_numpy_ma() -> None:
    code = ("import sys\nimport numpy as np\nfrom advisor.decision.strategies.montecarlo import median, percentiles\n"
            "a = np.random.default_rng(0).normal(size=200)\npercentiles(a, [10, 90]); median(a)\n"
            "assert 'numpy.ma' not in sys.modules\n")
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize("n", [1, 2, 200])
def test_nan_gives_nan(n: int) -> None:
    a = np.full(n, np.nan)
    assert math.isnan(percentiles(a, [10])[0]) and math.isnan(median(a))
