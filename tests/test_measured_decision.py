"""Measured fix rates per failure kind replace the fine-tune's priors in the decision (issue 16, item 5).

Realistic data: the bundled e-commerce logs (31.7% of answers fail, 88% of them structural, 12% scattered);
expected figures are computed here by hand from the profile the decision costs.
"""

import pytest

from advisor.decision.assumptions import load_assumptions
from advisor.decision.decide import MeasuredOverrides, MeasuredShare, decide
from trainer.evaluation.metrics import clopper_pearson

KEY = "fine-tune-serverless"


@pytest.fixture(scope="module")
def setup():
    from advisor.analyze import analyze_logs
    from advisor.decision.strategies.from_analysis import price_file_assumptions, profile_from_analysis
    from advisor.pricing import PriceBook
    from tests.conftest import ROOT

    analysis = analyze_logs([ROOT / "examples" / "ecommerce"])
    book = PriceBook(analysis.prices.user_file)
    given = {r.name: r.value for r in analysis.assumptions.rows if r.source == "user"}
    base = load_assumptions({**price_file_assumptions(analysis, book), **given})
    profile = profile_from_analysis(analysis, price_book=book, target_model=base.target_model)
    return analysis, profile, base


def share(k: int, n: int) -> MeasuredShare:
    return MeasuredShare(k=k, n=n, rate=k / n, ci=clopper_pearson(k, n), clusters={"format": (k, n)})


def strategy(decision, key=KEY):
    return next(s for s in decision.strategies if s.key == key)


def test_a_measured_cluster_replaces_the_prior_fix_share_and_moves_the_savings(setup):
    _, p, base = setup
    structural = p.failure_rate * p.structural_share  # ≈ 31.7% × 88% ≈ 27.9% of requests
    other = p.failure_rate * p.other_share
    assert structural > 0.2 and other > 0.02  # both kinds fail in these logs
    prior_d = decide(p, base)
    prior = strategy(prior_d)
    # prior: min(accuracy gain 20%, 80% × structural) = 20% of requests; scattered failures: prior 0
    assert prior.failure_rate_after == pytest.approx(p.failure_rate - 0.20 + 0.02)

    ov = MeasuredOverrides(fix_shares={"structural": share(7, 10)}, n_examples=40, model_measured="SmolLM2-135M",
                           proxy_for="Qwen3-14B")
    meas_d = decide(p, base, overrides=ov)
    meas = strategy(meas_d)
    fixed = structural * 0.7  # 7 of 10 fixed → 0.7 of the structural failures, no accuracy-gain cap
    assert meas.failure_rate_after == pytest.approx(p.failure_rate - fixed + 0.02)  # small-model prior kept
    v = meas_d.volume_per_day
    fc = 0.02  # examples/ecommerce/advise.toml: failure_cost
    assert meas.failures_avoided_per_month == pytest.approx(v * 30 * (fixed - 0.02))
    # the money moves by exactly the extra failures avoided × their cost (the costs per request are unchanged)
    assert meas.cost_per_request_after == pytest.approx(prior.cost_per_request_after)
    assert meas.monthly_net_value.value - prior.monthly_net_value.value == pytest.approx(
        v * 30 * (fixed - 0.20) * fc)

    rows = {r.name: r for r in meas_d.assumptions}
    s = rows["ft_fix_share_structural"]
    assert s.source == "measured" and s.value == pytest.approx(0.7)
    assert (s.low, s.high) == pytest.approx((0.3475, 0.9333), abs=1e-4)  # Clopper–Pearson 7/10
    assert "measured on 40 test requests" in s.basis and "format 7/10" in s.basis and "proxy for Qwen3-14B" in s.basis
    o = rows["ft_fix_share_other"]  # not measured: the prior stays and the row says so
    assert o.source == "default" and o.value is None and o.basis.startswith("prior")
    assert rows["small_model_regression"].source == "default"
    # the tornado moves the measured share across its interval, not the accuracy-gain prior it replaced
    rec = meas_d.recommendation
    assert KEY in rec.sensitivity_strategy.split("+")  # the winner (a portfolio with the fine-tune in it)
    sens = {r.input: r for r in rec.sensitivity}
    assert (sens["ft_fix_share_structural"].low_input, sens["ft_fix_share_structural"].high_input) == \
        pytest.approx((0.3475, 0.9333), abs=1e-4)
    assert "accuracy_gain" not in sens


def test_an_unmeasured_kind_keeps_its_prior_and_a_measured_one_counts_only_its_failures(setup):
    _, p, base = setup
    other = p.failure_rate * p.other_share
    # only the scattered failures were measured (3 of 4 fixed): structural keeps min(20%, 80% × structural)
    d = decide(p, base, overrides=MeasuredOverrides(fix_shares={"other": share(3, 4)}, n_examples=40))
    r = strategy(d)
    assert r.failure_rate_after == pytest.approx(p.failure_rate - 0.20 - other * 0.75 + 0.02)
    rows = {x.name: x for x in d.assumptions}
    assert rows["ft_fix_share_structural"].source == "default"
    assert rows["ft_fix_share_other"].source == "measured"
    assert any("measured" in line and "prior" in line for line in r.arithmetic)  # the arithmetic names both


def test_the_measured_interval_feeds_the_monte_carlo(setup):
    """7/10 and 70/100 have the same central figures; the smaller sample's wider interval widens the 80% range."""
    _, p, base = setup
    small = strategy(decide(p, base, overrides=MeasuredOverrides(fix_shares={"structural": share(7, 10)})))
    large = strategy(decide(p, base, overrides=MeasuredOverrides(fix_shares={"structural": share(70, 100)})))
    assert small.net_value_12m.value == pytest.approx(large.net_value_12m.value)
    width = lambda r: r.net_value_12m.high - r.net_value_12m.low  # noqa: E731
    assert width(small) > width(large) * 1.2


def test_a_measured_regression_adds_failures_to_every_fine_tune(setup):
    _, p, base = setup
    reg = MeasuredShare(k=2, n=14, rate=2 / 14, ci=clopper_pearson(2, 14))
    ov = MeasuredOverrides(fix_shares={"structural": share(6, 6)}, regression=reg, pass_share=1 - p.failure_rate)
    d = decide(p, base, overrides=ov)
    added = (1 - p.failure_rate) * 2 / 14
    structural = p.failure_rate * p.structural_share
    assert strategy(d).failure_rate_after == pytest.approx(p.failure_rate - structural + added)
    row = next(r for r in d.assumptions if r.name == "small_model_regression")
    assert row.source == "measured" and row.value == pytest.approx(added)


def test_measured_roi_of_an_evaluation_on_the_bundled_example(setup):
    from tests.test_report import toy_evaluation
    from trainer.evaluation.measured import MeasuredROI, kind_of, measured_roi

    analysis, p, _ = setup
    ev = toy_evaluation()  # incumbent fails 6/20 ("format"), the candidate fixes all 6 and breaks 2 of 14 passes
    roi = measured_roi(analysis, ev)
    assert isinstance(roi, MeasuredROI) and roi.proxy and roi.model_measured == "base"
    st = roi.overrides.fix_shares["structural"]
    assert (st.k, st.n, st.clusters) == (6, 6, {"format": (6, 6)})
    # structural failures all fixed, scattered ones keep their prior (0), 2/14 of the passes broken
    want = p.failure_rate - p.failure_rate * p.structural_share + (1 - p.failure_rate) * 2 / 14
    assert roi.measured.failure_rate_after == pytest.approx(want)
    assert roi.measured.fix_shares == {"structural": 1.0}
    rows = {r.name: r for r in roi.assumptions}
    assert rows["ft_fix_share_structural"].source == "measured" and rows["ft_fix_share_other"].source == "default"
    assert "other failures not measured: their priors kept" in roi.summary and "proxy" in roi.label
    assert MeasuredROI.model_validate_json(roi.model_dump_json()) == roi  # eval.json round-trips
    assert kind_of("format") == "structural" and kind_of("factual") == "knowledge"
    assert kind_of("bullets instead · markdown") is None  # a free-text cluster label names no kind
