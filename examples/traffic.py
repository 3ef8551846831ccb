"""Arrival times and latencies: what makes generated logs look like production traffic.

Arrivals are a non-homogeneous Poisson process, piecewise constant per hour, shaped by a
diurnal curve (UTC hour weights) and a weekly curve (Monday..Sunday weights), both
normalised so the long-run mean is exactly ``per_day``. Sampled exports are generated
directly at ``per_day * sample_rate`` (thinning a Poisson process is again Poisson), so a
5% sample of 1M calls costs 5% of the time. Bursty traffic (many requests within a few
minutes, then silence) is a cluster process: sessions arrive by Poisson, each brings a
geometric number of requests seconds apart.
"""

from __future__ import annotations

import heapq
import math
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

# Business-hours shape for a European company (UTC): quiet nights, 09-17 peak.
EU_BUSINESS_HOURS: tuple[float, ...] = (
    0.15, 0.1, 0.1, 0.1, 0.15, 0.3, 0.6, 1.0, 1.5, 1.9, 2.0, 2.0,
    1.8, 1.9, 2.0, 1.9, 1.6, 1.2, 0.9, 0.7, 0.55, 0.45, 0.3, 0.2,
)
# Consumer support: busy from morning to late evening (UTC, EU + US east coast).
CONSUMER_HOURS: tuple[float, ...] = (
    0.4, 0.3, 0.25, 0.2, 0.2, 0.3, 0.5, 0.8, 1.1, 1.3, 1.4, 1.4,
    1.4, 1.5, 1.6, 1.6, 1.5, 1.4, 1.3, 1.3, 1.2, 1.0, 0.8, 0.55,
)
WEEKDAYS_HEAVY: tuple[float, ...] = (1.15, 1.15, 1.1, 1.1, 1.05, 0.75, 0.7)
WEEK_FLAT_ISH: tuple[float, ...] = (1.05, 1.0, 1.0, 1.0, 1.0, 0.95, 1.0)


def _normalised(weights: tuple[float, ...]) -> list[float]:
    mean = sum(weights) / len(weights)
    return [w / mean for w in weights]


@dataclass(frozen=True)
class TrafficShape:
    """How requests spread over the day and week, and whether they come in bursts."""

    hourly: tuple[float, ...] = EU_BUSINESS_HOURS
    weekly: tuple[float, ...] = WEEKDAYS_HEAVY
    burst_mean_size: float = 1.0  # >1: bursty cluster process with this mean requests per burst
    burst_gap_s: float = 15.0  # mean seconds between requests inside a burst
    jitter: float = 0.1  # day-to-day volume noise (lognormal sigma)

    def hourly_rates(self, start: datetime, days: int, per_day: float, rng: random.Random) -> Iterator[tuple[datetime, float]]:
        """(hour start, expected requests in that hour) for every hour of the window."""
        hw = _normalised(self.hourly)
        ww = _normalised(self.weekly)
        for d in range(days):
            day = start + timedelta(days=d)
            day_noise = math.exp(rng.gauss(0.0, self.jitter) - self.jitter**2 / 2) if self.jitter else 1.0
            for h in range(24):
                hour = day + timedelta(hours=h)
                yield hour, per_day / 24.0 * hw[h] * ww[hour.weekday()] * day_noise


@dataclass
class Arrivals:
    """Iterate timestamps (UTC, sorted) of ``per_day * sample_rate`` requests a day."""

    shape: TrafficShape
    start: datetime
    days: int
    per_day: float
    sample_rate: float = 1.0
    rng: random.Random = field(default_factory=lambda: random.Random(0))

    def __iter__(self) -> Iterator[datetime]:
        rate_scale = self.sample_rate / max(self.shape.burst_mean_size, 1.0)
        pending: list[float] = []  # seconds since start; bursts may spill into the next hour
        for hour, expected in self.shape.hourly_rates(self.start, self.days, self.per_day, self.rng):
            base = (hour - self.start).total_seconds()
            lam = expected * rate_scale  # events (requests or bursts) per hour
            if lam > 0:
                times: list[float] = []
                t = self.rng.expovariate(lam)
                while t < 1.0:
                    times.append(base + t * 3600.0)
                    t += self.rng.expovariate(lam)
                if self.shape.burst_mean_size > 1.0:
                    times = self._expand_bursts(times)
                for s in times:
                    heapq.heappush(pending, s)
            while pending and pending[0] < base + 3600.0:
                yield self.start + timedelta(seconds=round(heapq.heappop(pending), 3))
        while pending:
            yield self.start + timedelta(seconds=round(heapq.heappop(pending), 3))

    def _expand_bursts(self, starts: list[float]) -> list[float]:
        # Geometric burst sizes (mean burst_mean_size); with sampling, each request kept independently
        # would thin bursts, so sampling is applied to whole bursts instead (sessions are exported whole).
        p = 1.0 / self.shape.burst_mean_size
        out: list[float] = []
        for s in starts:
            n = 1
            while self.rng.random() > p:
                n += 1
            t = s
            for _ in range(n):
                out.append(t)
                t += self.rng.expovariate(1.0 / self.shape.burst_gap_s)
        return out


def latency_ms(rng: random.Random, input_tokens: int, output_tokens: int, *, ttft_ms: float = 450.0,
               ms_per_output_token: float = 14.0, ms_per_1k_input: float = 25.0) -> int:
    """Time to first token (lognormal, long right tail) + decode time + prefill time."""
    ttft = ttft_ms * math.exp(rng.gauss(0.0, 0.35))
    decode = output_tokens * ms_per_output_token * math.exp(rng.gauss(0.0, 0.12))
    prefill = input_tokens / 1000.0 * ms_per_1k_input
    slow_tail = rng.random() < 0.01  # provider hiccups: ~1% of calls take seconds longer
    return int(ttft + decode + prefill + (rng.uniform(2000, 9000) if slow_tail else 0.0))


DEFAULT_START = datetime(2025, 3, 3, tzinfo=UTC)  # a Monday; fixed so output is byte-identical per seed
