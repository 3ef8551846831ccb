"""One test per ROI formula, each against numbers worked out by hand in the comment."""

from __future__ import annotations

import pytest

from advisor.decision import roi


def test_token_cost() -> None:
    # 500 tokens at $2.50 per 1M = 500 × 2.5 / 1e6 = $0.00125
    assert roi.token_cost(500, 2.5) == pytest.approx(0.00125)


def test_request_cost_with_cache_parts() -> None:
    # 1,000 uncached × $3 + 2,000 cache reads × $0.30 + 500 writes × $3.75 + 200 out × $15, all per 1M
    # = 0.003 + 0.0006 + 0.001875 + 0.003 = $0.008475
    assert roi.request_cost(1000, 200, 3.0, 15.0, cache_read=2000, cached_price=0.30, cache_write=500,
                            cache_write_price=3.75) == pytest.approx(0.008475)


def test_monthly_run_cost() -> None:
    # 3,000/day × 30 × $0.002875 = $258.75, + $25 fixed = $283.75
    assert roi.monthly_run_cost(3000, 0.002875, 25) == pytest.approx(283.75)


def test_per_request_saving_share() -> None:
    # (0.002875 − 0.001625) / 0.002875 = 0.4348
    assert roi.per_request_saving_share(0.002875, 0.001625) == pytest.approx(0.434783, rel=1e-5)
    assert roi.per_request_saving_share(0.0, 1.0) == 0.0
    assert roi.per_request_saving_share(1.0, 1.5) == pytest.approx(-0.5)


def test_training_cost_from_tokens() -> None:
    # 2,000 examples × 300 tokens × 3 epochs = 1.8M tokens × $25/1M = $45
    assert roi.training_cost_from_tokens(2000, 300, 3, 25.0) == pytest.approx(45.0)


def test_training_cost_from_gpu_bills_at_least_an_hour() -> None:
    # 2,000 × 300 × 3 = 1.8M tokens / 2,000 tok/s = 900 s = 0.25 h → billed 1 h × $2 = $2
    assert roi.training_cost_from_gpu(2000, 300, 3, 2000, 2.0) == pytest.approx(2.0)
    # 100,000 × 300 × 3 = 90M tokens / 2,000 = 45,000 s = 12.5 h × $2 = $25
    assert roi.training_cost_from_gpu(100_000, 300, 3, 2000, 2.0) == pytest.approx(25.0)


def test_one_time_cost() -> None:
    # 2,000 × $0.10 + $45 training + $100 eval + $0 setup = $345
    assert roi.one_time_cost(2000, 0.10, 45, 100) == pytest.approx(345.0)


def test_retraining_monthly() -> None:
    # ($45 training + $100 eval + 20% × $200 curation) / 6 months = $185 / 6 = $30.833
    assert roi.retraining_monthly(45, 100, 200, 0.2, 6) == pytest.approx(30.8333, rel=1e-4)


def test_gpu_hosting_monthly() -> None:
    # per request 300/15,000 + 150/1,500 = 0.02 + 0.1 = 0.12 s; 100,000/day × 30 × 0.12 s = 360,000 s = 100 h
    # at 50% load → 200 h × $2 = $400 when scaling to zero; always on: at least 730 h → $1,460
    assert roi.gpu_hosting_monthly(100_000, 300, 150, 15_000, 1_500, 0.5, 2.0, always_on=False) == pytest.approx(400)
    assert roi.gpu_hosting_monthly(100_000, 300, 150, 15_000, 1_500, 0.5, 2.0) == pytest.approx(1460)
    # 10× the traffic needs 2,000 h → rounded up to whole GPUs: 3 × 730 h × $2 = $4,380
    assert roi.gpu_hosting_monthly(1_000_000, 300, 150, 15_000, 1_500, 0.5, 2.0) == pytest.approx(4380)


def test_failures_avoided_monthly() -> None:
    # 3,000/day × 30 × 24% = 21,600
    assert roi.failures_avoided_monthly(3000, 0.24) == pytest.approx(21_600)


def test_monthly_net_value() -> None:
    # saved 258.75 − 146.25 = 112.50; failures 21,600 × $0.02 = $432; recurring $35.83
    # net = 112.50 + 432 − 35.83 = $508.67
    assert roi.monthly_net_value(258.75, 146.25, 21_600, 0.02, 35.83) == pytest.approx(508.67)


def test_payback_days() -> None:
    # $215 / ($508.67 / 30 days) = 12.68 days
    assert roi.payback_days(215, 508.67) == pytest.approx(12.680, rel=1e-3)
    assert roi.payback_days(215, 0) is None and roi.payback_days(215, -5) is None
    assert roi.payback_days(0, 10) == 0.0


def test_horizon_net_value() -> None:
    # 12 × $508.67 − $215 = $5,889.04
    assert roi.horizon_net_value(508.67, 215, 12) == pytest.approx(5889.04)


def test_break_even_daily_volume() -> None:
    # one-time $360, $10/month fixed, $0.001 value per request over 12 months:
    # (360/12 + 10) / (30 × 0.001) = 40 / 0.03 = 1,333.3 requests/day
    v = roi.break_even_daily_volume(360, 10, 0.001, 12)
    assert v == pytest.approx(1333.33, rel=1e-4)
    # at that volume the 12-month net is zero
    net = roi.horizon_net_value(v * 30 * 0.001 - 10, 360, 12)
    assert net == pytest.approx(0, abs=1e-9)
    assert roi.break_even_daily_volume(360, 10, -0.001) is None


def test_solve_threshold_matches_closed_form() -> None:
    def positive(v: float) -> bool:
        return roi.horizon_net_value(v * 30 * 0.001 - 10, 360, 12) > 0

    assert roi.solve_threshold(positive, 1, 1e6, rel_tol=1e-6) == pytest.approx(1333.33, rel=1e-4)


def test_percentile_and_bootstrap_range() -> None:
    assert roi.percentile([1, 2, 3, 4, 5], 50) == 3
    assert roi.percentile([0, 10], 25) == pytest.approx(2.5)
    # payback samples where one in five never pays back: 90th percentile is 'never' (None)
    lo, hi = roi.bootstrap_range([5, 6, 7, 8, None])
    assert lo == pytest.approx(5.4) and hi is None
    assert roi.bootstrap_range([None, None]) == (None, None)


def test_bootstrap_indices_are_deterministic() -> None:
    a = roi.bootstrap_indices(14, 5, seed=0)
    assert a == roi.bootstrap_indices(14, 5, seed=0)
    assert a != roi.bootstrap_indices(14, 5, seed=1)
    assert all(len(r) == 14 and all(0 <= i < 14 for i in r) for r in a)


def test_sensitivity_sorted_by_payback_swing() -> None:
    # payback = one_time / (volume × margin / 30 × 30): volume swings it more than the one-time cost here
    def model(x: dict[str, float]) -> tuple[float | None, float]:
        monthly = x["volume"] * 30 * x["margin"]
        return roi.payback_days(x["one_time"], monthly), roi.horizon_net_value(monthly, x["one_time"])

    base = {"volume": 1000.0, "margin": 0.01, "one_time": 300.0}
    rows = roi.sensitivity(base, {"one_time": (250, 350), "volume": (500, 2000), "margin": (-0.01, 0.02)},
                           {"volume": "requests/day"}, model)
    # margin −0.01 never pays back → largest swing; volume 500 → 60 d vs 2000 → 15 d (45); one_time 25 vs 35 (10)
    assert [r.input for r in rows] == ["margin", "volume", "one_time"]
    assert rows[0].payback_low is None
    assert rows[1].swing_days == pytest.approx(45.0)
    assert rows[2].swing_days == pytest.approx(10.0)
