"""Metrics on hand-built Records with hand-computed expectations."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest

from advisor.kernel.errors import UnpricedModelError
from advisor.kernel.record import Message, Origin, Record, SourceRef, Usage
from advisor.metrics import (
    CostAccumulator,
    DailyAccumulator,
    QuantileSketch,
    ReliabilityAccumulator,
    TokenMixAccumulator,
    VolumeAccumulator,
)
from advisor.metrics.volume import trend_pct_per_week

T0 = datetime(2025, 3, 3, tzinfo=UTC)  # a Monday


def rec(i: int = 0, *, ts: datetime = T0, model: str = "gpt-4o-mini", inp: int = 100, out: int = 10,
        cr: int = 0, cw: int = 0, reasoning: int = 0, origin: Origin = Origin.reported, **kw) -> Record:
    return Record(id=f"r{i}", source_format="test", source=SourceRef(file="t.jsonl", line=i + 1), timestamp=ts,
                  model=model, messages=[Message(role="user", content=f"q{i}")],
                  usage=Usage(input_tokens=inp, output_tokens=out, cache_read_tokens=cr, cache_write_tokens=cw,
                              reasoning_tokens=reasoning, origin=origin), **kw)


class FakePrices:
    """A price table: $/1M tokens; input 1.0, cached 0.1, write 1.25, output 4.0."""

    def __init__(self, known=("gpt-4o-mini",), input_mtok: float = 1.0):
        self.known = set(known)
        self.input_mtok = input_mtok
        self.lookups = 0

    def lookup(self, model, provider=None, at=None):
        self.lookups += 1
        if model not in self.known:
            raise UnpricedModelError(f"no price for model {model!r}")
        # a price change on 2025-03-05: input doubles (tests billing by the request's date)
        inp = self.input_mtok * (2 if at is not None and at >= datetime(2025, 3, 5, tzinfo=UTC) else 1)
        return SimpleNamespace(input_mtok=inp, cached_input_mtok=0.1, cache_write_mtok=1.25, output_mtok=4.0,
                               currency="USD", source="test-table", date="2025-03-01")

    def cost_breakdown(self, usage, price, batch=False):
        parts = {
            "input": usage.uncached_input_tokens * price.input_mtok / 1e6,
            "cached_input": usage.cache_read_tokens * price.cached_input_mtok / 1e6,
            "cache_write": usage.cache_write_tokens * price.cache_write_mtok / 1e6,
            "output": usage.output_tokens * price.output_mtok / 1e6,
        }
        if batch:
            parts = {k: v / 2 for k, v in parts.items()}
        parts["total"] = sum(parts.values())
        return parts

    def describe(self):
        return "test-table (2025-03-01)"


def test_sketch_quantiles_within_one_percent():
    rng = random.Random(1)
    values = [rng.randint(1, 50_000) for _ in range(5000)]
    sk = QuantileSketch()
    for v in values:
        sk.add(v)
    s = sorted(values)
    for q in (0.5, 0.95):
        true = s[max(0, -(-int(q * 1000) * len(s) // 1000) - 1)]
        assert abs(sk.quantile(q) - true) <= 0.011 * true
    assert sk.total == sum(values) and sk.count == 5000
    assert sk.summary().mean == pytest.approx(sum(values) / 5000)


def test_sketch_small_integers_exact_nearest_rank():
    sk = QuantileSketch()
    for v in [0, 0, 3, 5, 7, 9, 11, 13, 15, 40]:
        sk.add(v)
    s = sk.summary(integer=True)
    assert s.p50 == 7  # 5th of 10 values
    assert s.p95 == 40  # ceil(9.5) = 10th value
    assert sk.quantile(0.2) == 0.0
    assert sk.sum_capped(10) == pytest.approx(0 + 0 + 3 + 5 + 7 + 9 + 10 * 4, rel=0.01)


def test_volume_per_day_trend_peak():
    acc = VolumeAccumulator(scale=1.0)
    # day k has k+1 requests at 14:xx UTC, plus one at 03:00 on day 0; day 3 is empty
    i = 0
    for day, n in [(0, 1), (1, 2), (2, 3), (4, 5)]:
        for j in range(n):
            acc.add(rec(i, ts=T0 + timedelta(days=day, hours=14, minutes=j)))
            i += 1
    acc.add(rec(i, ts=T0 + timedelta(hours=3)))
    v = acc.result()
    assert v.requests == 12 and v.days == 5
    assert v.per_day == {"2025-03-03": 2, "2025-03-04": 2, "2025-03-05": 3, "2025-03-06": 0, "2025-03-07": 5}
    assert v.mean_per_day == pytest.approx(12 / 5)
    assert v.peak_hour_utc == 14 and v.peak_hour_share == pytest.approx(11 / 12)
    assert v.busiest_hour == "2025-03-07T14:00:00+00:00" and v.busiest_hour_requests == 5
    # OLS through (0,2)(1,2)(2,3)(3,0)(4,5): slope = 0.4/day; mean 2.4 → 0.4*7/2.4 = 116.67 %/week
    assert v.trend_pct_per_week == pytest.approx(0.4 * 7 / 2.4 * 100)
    assert v.first == T0 + timedelta(hours=3) and v.last == T0 + timedelta(days=4, hours=14, minutes=4)


def test_trend_flat_and_short():
    assert trend_pct_per_week([5, 5, 5, 5]) == 0
    assert trend_pct_per_week([1, 2]) is None
    assert trend_pct_per_week([0, 0, 0]) is None


def test_volume_scaled_by_sample_rate():
    acc = VolumeAccumulator(scale=1 / 0.1)
    for i in range(4):
        acc.add(rec(i, ts=T0 + timedelta(days=i % 2)))
    v = acc.result()
    assert v.requests == 4 and v.requests_scaled == pytest.approx(40)
    assert v.mean_per_day == pytest.approx(20)


def test_token_mix_reported_and_estimated():
    acc = TokenMixAccumulator()
    for i, (inp, out, cr, rs) in enumerate([(100, 10, 0, 0), (200, 20, 50, 5), (300, 30, 100, 10), (400, 40, 0, 0)]):
        acc.add(rec(i, inp=inp, out=out, cr=cr, reasoning=rs, origin=Origin.estimated if i == 3 else Origin.reported))
    acc.add(rec(9, model="claude-x", inp=7, out=1))
    mix = acc.result()
    m = mix["gpt-4o-mini"]
    assert m.requests == 4 and m.reported == 3 and m.estimated == 1 and m.estimated_share == 0.25
    assert m.tokens["input"].total == 1000 and m.tokens["input"].mean == 250
    assert m.tokens["input"].p50 == 200 and m.tokens["input"].p95 == 400
    assert m.tokens["cache_read"].total == 150 and m.tokens["reasoning"].p95 == 10
    assert m.tokens["cache_write"].total == 0
    assert mix["claude-x"].tokens["output"].mean == 1


def test_token_mix_requires_usage():
    r = rec(0)
    r.usage = None
    with pytest.raises(ValueError, match="fill_usage"):
        TokenMixAccumulator().add(r)


def test_cost_total_per_request_day_month_and_date_pricing():
    prices = FakePrices()
    acc = CostAccumulator(prices)
    # two days at the old price, one at the new (doubled input) price; 1M input + 1M output tokens each
    costs = [acc.add(rec(i, ts=T0 + timedelta(days=d), inp=1_000_000, out=1_000_000)) for i, d in enumerate([0, 1, 2])]
    assert costs == [pytest.approx(5.0), pytest.approx(5.0), pytest.approx(6.0)]
    s = acc.result(window_days=3)
    assert s.total == pytest.approx(16.0) and s.per_request == pytest.approx(16 / 3)
    assert s.per_day == pytest.approx(16 / 3) and s.per_month == pytest.approx(16 / 3 * 30)
    assert s.currency == "USD" and s.complete and s.models["gpt-4o-mini"].price_source == "test-table"
    assert s.models["gpt-4o-mini"].input_per_request == pytest.approx(4 / 3)
    assert prices.lookups == 3  # cached per model/provider/day


def test_cost_cache_and_batch_discount():
    acc = CostAccumulator(FakePrices())
    c = acc.add(rec(0, inp=1_000_000, cr=600_000, cw=100_000, out=0))
    assert c == pytest.approx(0.3 * 1.0 + 0.6 * 0.1 + 0.1 * 1.25)
    assert acc.add(rec(1, inp=1_000_000, out=0, batch=True)) == pytest.approx(0.5)


def test_cost_scaled_by_sample_rate():
    acc = CostAccumulator(FakePrices(), scale=4.0)
    acc.add(rec(0, inp=1_000_000, out=0))
    s = acc.result(window_days=1)
    assert s.total == pytest.approx(1.0)  # logged calls are not scaled
    assert s.per_day == pytest.approx(4.0) and s.per_month == pytest.approx(120.0)


def test_unpriced_model_is_an_error_never_zero():
    acc = CostAccumulator(FakePrices())
    assert acc.add(rec(0, model="mystery-1")) is None  # keeps reading to count every unpriced request
    acc.add(rec(1, model="mystery-1"))
    with pytest.raises(UnpricedModelError) as exc:
        acc.result(window_days=1)
    assert exc.value.file == "t.jsonl" and exc.value.line == 1 and "--allow-unpriced" in exc.value.hint
    assert "mystery-1" in exc.value.message and "2 requests" in exc.value.message


def test_unpriced_allowed_reports_unknown():
    acc = CostAccumulator(FakePrices(), allow_unpriced=True)
    assert acc.add(rec(0, model="mystery-1")) is None
    acc.add(rec(1, inp=1_000_000, out=0))
    s = acc.result(window_days=1)
    assert not s.complete and s.unpriced_models == ["mystery-1"]
    assert s.models["mystery-1"].total is None and s.models["mystery-1"].per_month is None
    assert s.total == pytest.approx(1.0)


def test_reliability_latency_and_errors():
    acc = ReliabilityAccumulator()
    for i, lat in enumerate([100, 200, 300, 400, 1000]):
        acc.add(rec(i, latency_ms=lat, status="error" if i == 4 else "ok"))
    acc.add(rec(9, model="other"))
    r = acc.result()
    g = r["gpt-4o-mini"]
    assert g.errors == 1 and g.error_rate == pytest.approx(0.2)
    assert g.latency_ms.p50 == pytest.approx(300, rel=0.01) and g.latency_ms.p95 == pytest.approx(1000, rel=0.01)
    assert r["other"].latency_ms is None and r["other"].finish_reasons == {"unknown": 1}


def test_daily_aggregates_fill_gaps():
    acc = DailyAccumulator()
    acc.add(rec(0, inp=10, out=1), cost=0.5)
    acc.add(rec(1, inp=20, out=2, status="error"), cost=0.25)
    acc.add(rec(2, ts=T0 + timedelta(days=2), inp=5, out=1), cost=None)
    days = acc.result({"2025-03-03": 12.0})
    assert [d.date for d in days] == ["2025-03-03", "2025-03-04", "2025-03-05"]
    assert days[0].requests == 2 and days[0].input_tokens == 30 and days[0].output_tokens == 3
    assert days[0].cost == pytest.approx(0.75) and days[0].errors == 1 and days[0].static_tokens == 12
    assert days[1].requests == 0 and days[1].cost is None
    assert days[2].cost is None and days[2].input_tokens == 5
