"""Decision engine: the seed's reference case, the scenarios, market rules, portfolios and the contract."""

from __future__ import annotations

import json
from datetime import date

import click
import pytest
from click.testing import CliRunner

from advisor.cli.options import assumption_options
from advisor.decision.assumptions import (
    Assumptions,
    assumption_table,
    cli_overrides,
    load_assumptions,
    parse_volume,
)
from advisor.decision.decide import (
    Decision,
    decide,
    evaluate_strategies,
    resolve,
    winner_of,
)
from advisor.decision.strategies.market import CacheTerms
from advisor.kernel.errors import AdviseError
from tests import test_decide_profiles as profiles

# the seed's reference case: ~€200 (≈$215) LoRA run, 2,000 examples, 70%→94% consistency, fine-tuned model billed at
# the base price (what the seed assumed), a reviewer's glance per failure
REFERENCE = dict(examples_needed=2000, training_cost=215.0, accuracy_gain=0.24, cost_per_example=0.0,
                 eval_cost=0.0, ft_input_price=2.5, ft_output_price=10.0, short_prompt_tokens=0.0,
                 failure_cost=0.02, migration_cost=0.0, has_ft_access=True)


def by_key(results):
    return {r.key: r for r in results}


def open_reference():
    """The reference case with a provider that still sells the fine-tune to this organisation, no retirement."""
    return profiles.reference_case().model_copy(
        update={"market": profiles.openai_market(access="open", retirement=None)})


# ------------------------------------------------------------------ the seed's reference case

def test_reference_case_hosted_fine_tune_arithmetic() -> None:
    """500-token style guide off ~3,000 req/day on gpt-4o prices, 2,000 examples, ≈$215 LoRA run.

    By hand: before 750 × 2.5/1M + 100 × 10/1M = $0.002875; after 250 × 2.5/1M + 0.001 = $0.001625
    → 43.5% saved. Month: 3,000 × 30 × $0.00125 = $112.50 saved; 70%→94% consistency avoids 24% of
    90,000 = 21,600 failures × $0.02 (a reviewer's glance) = $432; retraining $215 / 6 = $35.83.
    Net $508.67/month → payback 215 / (508.67 / 30) = 12.7 days (< 14).
    """
    decision = decide(open_reference(), load_assumptions({}, REFERENCE))
    ft = by_key(decision.strategies)["fine-tune-hosted"]
    assert ft.eligible and ft.fine_tune_kind == "hosted"
    assert ft.per_request_saving_share == pytest.approx(0.435, abs=0.001)
    assert ft.cost_per_request_before == pytest.approx(0.002875)
    assert ft.cost_per_request_after == pytest.approx(0.001625)
    assert ft.monthly_net_value.value == pytest.approx(112.5 + 432 - 215 / 6)
    assert ft.payback_days.value == pytest.approx(215 / ((112.5 + 432 - 215 / 6) / 30))
    text = "\n".join(ft.arithmetic)
    assert "43.5% saved" in text and "21,600/month" in text and "12.7 days" in text


def test_reference_case_open_weight_adapter_beats_the_hosted_fine_tune() -> None:
    """An 8B adapter billed at the base price ($0.20/1M) costs 250 × 0.2/1M + 100 × 0.2/1M = $0.00007/request:
    −98% per request, so it out-earns the hosted fine-tune even after a 2% regression prior."""
    decision = decide(open_reference(), load_assumptions({}, REFERENCE))
    s = by_key(decision.strategies)
    ow = s["fine-tune-serverless"]
    assert ow.cost_per_request_after == pytest.approx((250 * 0.2 + 100 * 0.2) / 1e6)
    assert ow.per_request_saving_share < -0.4 or ow.per_request_saving_share > 0.9
    assert decision.recommendation.winner == "fine-tune-serverless"
    assert decision.recommendation.fine_tune_kind == "serverless-lora"
    assert "llama-3.1-8b" in decision.recommendation.target
    assert "fine-tune-hosted" in decision.recommendation.why_not


def test_reference_case_token_saving_alone_is_slower() -> None:
    """Without the failure value (failure cost 0) the saving alone pays $215 back in ~85 days, not two weeks."""
    a = load_assumptions({}, {**REFERENCE, "failure_cost": 0.0})
    ft = by_key(evaluate_strategies(open_reference(), a, with_ranges=False))["fine-tune-hosted"]
    assert ft.payback_days.value == pytest.approx(215 / ((112.5 - 215 / 6) / 30))


# ------------------------------------------------------------------ scenarios

@pytest.mark.parametrize(("name", "kind"), [("ecommerce", "fine-tune"), ("support", "status-quo"),
                                            ("lowvolume", "status-quo"), ("caching", "caching")])
def test_scenarios_pick_their_winner(name: str, kind: str) -> None:
    """Support and lowvolume: RAG / a longer prompt cost more than the failures they fix at a retry's price."""
    decision = decide(getattr(profiles, name)())
    winner = by_key(decision.strategies)[decision.recommendation.winner]
    assert winner.kind == kind, decision.recommendation.explanation
    assert decision.strategies[0].key == winner.key  # strategies come ranked


def test_support_rag_wins_once_failures_cost_more_than_break_even() -> None:
    decision = decide(profiles.support())
    rag = by_key(decision.strategies)["rag"]
    assert rag.eligible and rag.net_value_12m.value < 0
    assert rag.break_even_failure_cost > rag.cost_per_request_before
    above = load_assumptions({}, {"failure_cost": rag.break_even_failure_cost * 1.3})
    below = load_assumptions({}, {"failure_cost": rag.break_even_failure_cost * 0.5})
    assert "rag" in winner_of(profiles.support(), above).split("+")
    assert "rag" not in winner_of(profiles.support(), below).split("+")
    # fine-tuning is ruled out: it would bake the stale facts in
    assert not by_key(decision.strategies)["fine-tune-serverless"].eligible


def test_a_falling_volume_trend_points_to_the_volume_flip() -> None:
    p = profiles.ecommerce().model_copy(update={"trend_pct_per_week": -20.0})
    rec = decide(p).recommendation
    below = next(f for f in rec.flip_conditions if f.assumption == "volume_per_day" and f.direction == "below")
    assert any("falls 20%/week" in line and below.text in line for line in rec.explanation)


def test_ecommerce_flips_to_status_quo_at_low_volume() -> None:
    rec = decide(profiles.ecommerce()).recommendation
    below = [f for f in rec.flip_conditions if f.assumption == "volume_per_day" and f.direction == "below"]
    assert below and below[0].winner_after == "status-quo"
    assert f"below {below[0].threshold:,.0f} requests/day" in below[0].text


# ------------------------------------------------------------------ market rules

def test_claude_with_structural_failures_never_gets_a_hosted_claude_fine_tune() -> None:
    p = profiles.profile(3000, 481, 90, 150, prices=profiles.SONNET, provider="anthropic",
                         model="claude-3-5-sonnet-20241022", failure_rate=0.31, structural=0.99, other=0.01)
    for volume in (300, 3000, 300_000):
        decision = decide(p, Assumptions().with_values(volume_per_day=volume))
        hosted = by_key(decision.strategies)["fine-tune-hosted"]
        assert not hosted.eligible and "sells no fine-tuning" in hosted.eligibility
        assert "fine-tune-hosted" not in decision.recommendation.winner.split("+")
    # the structural failures still find a fine-tune the market sells: an open-weight adapter
    assert decide(p).recommendation.fine_tune_kind in ("serverless-lora", "dedicated-gpu", "hybrid")


def test_openai_fine_tune_needs_access_and_ends_at_retirement() -> None:
    p = profiles.ecommerce()
    hosted = by_key(decide(p).strategies)["fine-tune-hosted"]
    assert not hosted.eligible and "--has-openai-ft-access" in hosted.eligibility
    with_access = by_key(decide(p, Assumptions().with_values(has_ft_access=True)).strategies)["fine-tune-hosted"]
    assert with_access.eligible
    # gpt-4o (test offers) retires 2027-06-30: 212 days after 2026-11-30 → a 7.1-month horizon, not 12
    assert with_access.horizon_months == pytest.approx((date(2027, 6, 30) - profiles.TODAY).days / 30)
    assert "migration" in with_access.one_time_breakdown
    assert any("horizon ends 2027-06-30" in line for line in with_access.arithmetic)


def test_openai_fine_tune_closed_after_the_job_cut_off() -> None:
    market = profiles.openai_market().model_copy(update={"today": date(2027, 2, 1)})
    p = profiles.ecommerce().model_copy(update={"market": market})
    hosted = by_key(decide(p, Assumptions().with_values(has_ft_access=True)).strategies)["fine-tune-hosted"]
    assert not hosted.eligible and "2027-01-06" in hosted.eligibility


def test_json_mode_schema_failures_get_strict_structured_outputs() -> None:
    """Supplier lines → JSON at 400/day, failures all fenced/invalid JSON or missing fields: a strict schema
    removes 95% of them for nothing, where a fine-tune costs a curation, a training run and a migration."""
    p = profiles.profile(400, 266, 120, 200, failure_rate=0.18, structural=1.0, schema=1.0)
    decision = decide(p)
    rec = decision.recommendation
    assert "structured-outputs" in rec.winner.split("+"), rec.explanation
    so = by_key(decision.strategies)["structured-outputs"]
    assert so.one_time_breakdown == {"setup": 0.0} and "training" not in so.one_time_breakdown
    assert so.failure_rate_before - so.failure_rate_after == pytest.approx(0.18 * 0.95)
    assert so.p_net_positive == 1.0


def test_a_prefix_below_the_models_cache_minimum_is_not_cacheable() -> None:
    rule = CacheTerms(min_tokens=4096, step=1, read_multiplier=0.1, write_multiplier_5m=1.25, source="test")
    market = profiles.anthropic_market(cache_min=4096)
    p = profiles.profile(2000, 1500, 100, 200, prices=profiles.SONNET, provider="anthropic",
                         model="claude-opus-4-5", hit_5m=0.9, market=market)
    caching = by_key(decide(p).strategies)["caching"]
    assert rule.cacheable(1500) == 0 and rule.cacheable(4096) == 4096
    assert not caching.eligible and "4,096-token cache minimum" in caching.eligibility
    # the same prefix on a model whose minimum is 1,024 is cacheable
    p2 = p.model_copy(update={"market": profiles.anthropic_market(cache_min=1024)})
    assert by_key(decide(p2).strategies)["caching"].eligible


def test_openai_cache_rule_steps() -> None:
    rule = profiles.openai_market().cache
    assert rule.cacheable(1023) == 0 and rule.cacheable(1024) == 1024 and rule.cacheable(1300) == 1280


def test_caching_hit_rate_is_resimulated_at_the_what_if_volume() -> None:
    """Gaps of 10 min at the logged volume: no 5-min hits; at 3× the traffic the gaps are 3.3 min: all hit."""
    p = profiles.caching()
    fam = p.families[0].model_copy(update={"gap_quantiles_s": [600.0] * 101, "hit_rate_5m": 0.0,
                                           "hit_rate_1h": 0.0})
    market = profiles.anthropic_market().model_copy(update={"cache": profiles.anthropic_market().cache.model_copy(
        update={"ttl_minutes": [5.0]})})
    p = p.model_copy(update={"families": [fam], "market": market})
    low = by_key(evaluate_strategies(p, Assumptions(), with_ranges=False))["caching"]
    high = by_key(evaluate_strategies(p, Assumptions().with_values(volume_per_day=1200), with_ranges=False))[
        "caching"]
    assert not low.eligible
    assert high.eligible and any("hit 100%" in line and "re-simulated" in line for line in high.arithmetic)


def test_caching_cost_anthropic_by_hand() -> None:
    """3,087 static tokens at $3/1M; 1 h TTL with 95% hits: 0.95 × $0.30 + 0.05 × $6.00 = $0.585/1M per token."""
    p = profiles.caching()
    caching = by_key(evaluate_strategies(p, Assumptions(), with_ranges=False))["caching"]
    no_cache = (3087 + 150) * 3 / 1e6 + 300 * 15 / 1e6
    assert caching.cost_per_request_after == pytest.approx(no_cache - 3087 * (3 - 0.585) / 1e6)
    assert caching.one_time_cost == 0 and caching.payback_days.value == 0


def test_rag_cost_by_hand() -> None:
    """Support: +4 × 300 = 1,200 tokens × $3/1M = $0.0036 + query embedding 25 × $0.02/1M per request."""
    p = profiles.support()
    rag = by_key(evaluate_strategies(p, Assumptions(), with_ranges=False))["rag"]
    c0 = (274 + 25) * 3 / 1e6 + 48 * 15 / 1e6  # today: 299 input tokens at $3/1M + 48 output at $15/1M = $0.001617
    assert rag.cost_per_request_after == pytest.approx(c0 + 0.0036 + 25 * 0.02 / 1e6)
    assert rag.one_time_cost == 500 and rag.monthly_run_cost == pytest.approx(
        1200 * 30 * rag.cost_per_request_after + 25)
    assert rag.recurring_breakdown == pytest.approx({"knowledge-base upkeep": 100.0})
    assert rag.failure_rate_before - rag.failure_rate_after == pytest.approx(0.179 * 0.83 * 0.6)


def test_rag_ruled_out_by_a_latency_slo() -> None:
    p = profiles.support().model_copy(update={"latency_p95_ms": 1800.0})
    rag = by_key(evaluate_strategies(p, Assumptions().with_values(latency_slo_ms=2000), with_ranges=False))["rag"]
    assert not rag.eligible and "SLO" in rag.eligibility


def test_dedicated_gpus_are_redundant_and_operated() -> None:
    ft = by_key(evaluate_strategies(profiles.ecommerce(), Assumptions(), with_ranges=False))["fine-tune-gpu"]
    assert ft.monthly_run_cost == pytest.approx(2 * 730 * 2.0)  # two replicas at $2/h (test offers)
    assert ft.recurring_breakdown["operations"] == 800.0


def test_fine_tune_needs_enough_clean_examples() -> None:
    p = profiles.profile(40, 481, 90, 150, failure_rate=0.31, structural=0.99, other=0.01, n_days=7)
    ft = by_key(evaluate_strategies(p, Assumptions(), with_ranges=False))["fine-tune-serverless"]
    assert not ft.eligible and "clean examples" in ft.eligibility


def test_hybrid_routes_named_families_and_keeps_the_rest() -> None:
    p = profiles.hybrid_case()
    decision = decide(p)
    hy = by_key(decision.strategies)["hybrid"]
    assert hy.eligible, hy.eligibility
    routed = hy.routing
    small = next(k for k in routed if "llama" in k)
    assert routed[small] == ["catalogue-json"] and routed["gpt-4o-2024-08-06"] == ["advice-chat"]
    assert 0 < hy.failure_rate_after and "coverage 70%" in "\n".join(hy.arithmetic)
    assert decision.recommendation.winner == "hybrid", decision.recommendation.explanation
    assert any("catalogue-json" in line for line in decision.recommendation.explanation)


def test_one_family_is_never_a_hybrid() -> None:
    hy = by_key(evaluate_strategies(profiles.ecommerce(), Assumptions(), with_ranges=False))["hybrid"]
    assert not hy.eligible and "one prompt family" in hy.eligibility


# ------------------------------------------------------------------ portfolios and the ranking rule

def test_structured_outputs_and_caching_combine() -> None:
    p = profiles.profile(5000, 2500, 150, 200, failure_rate=0.10, structural=0.9, other=0.1, schema=0.9,
                         hit_5m=0.9)
    decision = decide(p, Assumptions().with_values(examples_needed=1_000_000))  # no fine-tune: not enough examples
    rec = decision.recommendation
    assert rec.winner == "structured-outputs+caching", rec.explanation
    assert rec.members == ["structured-outputs", "caching"]
    s = by_key(decision.strategies)
    combo = s["structured-outputs+caching"]
    assert combo.net_value_12m.value == pytest.approx(
        s["structured-outputs"].net_value_12m.value + s["caching"].net_value_12m.value, rel=1e-6)


def test_negative_value_never_wins_and_status_quo_is_zero() -> None:
    for name in ("ecommerce", "support", "lowvolume", "caching", "reference_case"):
        for volume in (5, 50, 500, 5000, 50_000):
            decision = decide(getattr(profiles, name)(), Assumptions().with_values(volume_per_day=volume))
            s = by_key(decision.strategies)
            win = s[decision.recommendation.winner]
            assert s["status-quo"].net_value_12m.value == 0
            assert win.key == "status-quo" or win.net_value_12m.value > 0


def test_simpler_option_wins_within_the_margin() -> None:
    from advisor.decision.decide import candidates, choose, margin_of

    p = profiles.caching()
    a = resolve(p, Assumptions())
    _, opts = candidates(p, a)
    assert choose(opts, a)[0] == "caching"
    margin = margin_of(a, opts["caching"])
    assert margin == pytest.approx(0.05 * opts["caching"].baseline_monthly * 12)
    for extra, expected in ((0.5 * margin, "caching"), (1.5 * margin, "fine-tune-serverless")):
        rich = opts["fine-tune-serverless"].model_copy(deep=True)
        rich.costing.eligible, rich.net_12m = True, opts["caching"].net_12m + extra
        pick, rules = choose({**opts, "fine-tune-serverless": rich}, a)
        assert pick == expected
        assert bool(rules) == (expected == "caching")  # the simplicity rule is stated when it decides
    rec = decide(p).recommendation
    assert all(rec.why_not.values()) and rec.margin > 0


# ------------------------------------------------------------------ probabilities

def test_probability_of_positive_value_is_half_at_break_even_and_one_far_above() -> None:
    p = profiles.ecommerce()
    base = {r.key: r for r in decide(p).strategies}["fine-tune-serverless"]
    be = base.break_even_volume_per_day
    assert be and 0 < be < p.requests_per_day
    at_be = by_key(decide(p, Assumptions().with_values(volume_per_day=be)).strategies)["fine-tune-serverless"]
    far = by_key(decide(p, Assumptions().with_values(volume_per_day=be * 20)).strategies)["fine-tune-serverless"]
    assert at_be.net_value_12m.value == pytest.approx(0, abs=5)
    assert 0.3 <= at_be.p_net_positive <= 0.7
    assert far.p_net_positive >= 0.99


def test_monte_carlo_is_deterministic_and_p_best_sums_to_one() -> None:
    a, b = decide(profiles.ecommerce()), decide(profiles.ecommerce())
    assert a.model_dump() == b.model_dump()
    assert sum(s.p_best or 0 for s in a.strategies) == pytest.approx(1.0)
    win = a.strategies[0]
    assert win.net_value_12m.low <= win.net_value_12m.value <= win.net_value_12m.high
    assert 0 <= win.p_payback_30d <= 1


# ------------------------------------------------------------------ currency

@pytest.mark.parametrize("currency", ["EUR", "JPY"])
def test_a_foreign_price_file_gives_the_same_decision_converted(currency: str) -> None:
    from advisor.decision.strategies.fx import fx_rate
    from advisor.decision.strategies.offers_adapter import _conv

    rate = fx_rate(currency)
    usd = profiles.ecommerce()

    def convert(p):
        import dataclasses

        pr = p.prices
        prices = dataclasses.replace(pr, input_mtok=pr.input_mtok * rate.per_usd,
                                     output_mtok=pr.output_mtok * rate.per_usd,
                                     cached_input_mtok=pr.cached_input_mtok * rate.per_usd, currency=currency)
        m = p.market
        ow = [o.model_copy(update={k: _conv(getattr(o, k), "USD", rate) for k in
                                   ("input", "output", "training_per_1m", "gpu_hour")}) for o in m.open_weight]
        ft = m.hosted_ft.model_copy(update={k: getattr(m.hosted_ft, k) * rate.per_usd for k in
                                            ("input", "output", "training_per_1m")})
        return p.model_copy(update={"prices": prices, "market": m.model_copy(
            update={"fx": rate, "open_weight": ow, "hosted_ft": ft})})

    d_usd, d_cur = decide(usd), decide(convert(usd))
    assert d_cur.currency == currency and d_cur.market.fx_rate == pytest.approx(rate.per_usd)
    assert d_cur.recommendation.winner == d_usd.recommendation.winner
    assert [s.key for s in d_cur.strategies] == [s.key for s in d_usd.strategies]
    for a, b in zip(d_usd.strategies, d_cur.strategies, strict=True):
        assert b.net_value_12m.value == pytest.approx(a.net_value_12m.value * rate.per_usd, rel=1e-6, abs=1e-6)
        assert b.one_time_cost == pytest.approx(a.one_time_cost * rate.per_usd, rel=1e-6)
    rows = {r.name: r for r in d_cur.assumptions}
    assert rows["eval_cost"].value == pytest.approx(100 * rate.per_usd) and rows["eval_cost"].unit == currency
    assert "ECB" in rows["usd_rate"].basis and rate.date in rows["usd_rate"].basis


def test_a_currency_without_a_rate_is_refused() -> None:
    p = profiles.lowvolume()
    import dataclasses

    p = p.model_copy(update={"prices": dataclasses.replace(p.prices, currency="XAF"), "market": None})
    with pytest.raises(AdviseError) as exc:
        decide(p)
    assert "XAF" in exc.value.message and "usd_rate" in exc.value.hint
    d = decide(p, load_assumptions({}, {"usd_rate": 600.0}))
    assert d.currency == "XAF"


# ------------------------------------------------------------------ assumptions: sources, what-if, errors

def test_assumption_sources_measured_default_user() -> None:
    a = resolve(profiles.ecommerce(), load_assumptions({"epochs": 4}, {"examples_needed": 2000}))
    assert a.source("epochs") == "user" and a.source("examples_needed") == "user"
    assert a.source("volume_per_day") == "measured" and a.volume_per_day == 3000
    assert a.source("failure_cost") == "measured"
    assert a.source("cost_per_example") == "default"
    rows = {r.name: r for r in assumption_table(a, "USD")}
    assert rows["epochs"].display == "4" and rows["epochs"].basis == "set by you"
    assert rows["accuracy_gain"].low == 0.10 and rows["accuracy_gain"].high == 0.30
    assert rows["usd_rate"].value == 1.0
    assert rows["cost_per_example"].unit == "USD/example"
    assert rows["examples_needed"].source == "user"


def test_cli_overrides_config_and_volume_what_if() -> None:
    a = load_assumptions({"volume_per_day": "1000/day", "examples_needed": 500}, {"examples_needed": 2000})
    assert a.volume_per_day == 1000 and a.examples_needed == 2000
    d = decide(profiles.ecommerce(), load_assumptions({}, {"volume_per_day": "10000/day"}))
    assert d.volume_per_day == 10_000
    # 10,000/day × 30 days × ((481 + 90) input × $2.50/1M + 150 output × $10/1M = $0.0029275) = $878.25
    assert by_key(d.strategies)["status-quo"].baseline_monthly_cost == pytest.approx(878.25)


def test_bad_assumption_names_field_and_hint() -> None:
    with pytest.raises(AdviseError) as exc:
        load_assumptions({"epochs": 0}, {}, config_file="advise.toml")
    assert exc.value.field == "epochs" and exc.value.file == "advise.toml" and exc.value.hint
    with pytest.raises(AdviseError) as exc:
        load_assumptions({"volumes": 3}, {})
    assert exc.value.field == "volumes" and "known assumptions" in exc.value.hint


@pytest.mark.parametrize(("text", "per_day"), [("10000/day", 10000), ("300000/month", 10000), ("10000", 10000),
                                               ("10k/day", 10000), ("70,000/week", 10000), ("1.5k", 1500),
                                               (250, 250)])
def test_parse_volume(text: str, per_day: float) -> None:
    assert parse_volume(text) == pytest.approx(per_day)


@pytest.mark.parametrize("text", ["lots", "10/fortnight", "-5/day", "0"])
def test_parse_volume_rejects(text: str) -> None:
    with pytest.raises(AdviseError) as exc:
        parse_volume(text)
    assert exc.value.field == "--volume" and exc.value.hint


def test_assumption_options_click_bundle() -> None:
    seen = {}

    @click.command()
    @assumption_options
    def cmd(**kwargs):
        seen.update(cli_overrides(**kwargs))

    result = CliRunner().invoke(cmd, ["--volume", "10000/day", "--examples", "2000", "--training-price", "3",
                                      "--failure-cost", "0.5", "--target-model", "gpt-4o-mini"])
    assert result.exit_code == 0, result.output
    assert seen == {"volume_per_day": 10000, "examples_needed": 2000, "training_price_per_1m": 3.0,
                    "failure_cost": 0.5, "target_model": "gpt-4o-mini"}
    seen.clear()
    result = CliRunner().invoke(cmd, ["--has-openai-ft-access", "--latency-slo", "1500", "--offers", "my.toml"])
    assert result.exit_code == 0, result.output
    assert seen == {"has_ft_access": True, "latency_slo_ms": 1500.0, "offers_file": "my.toml"}
    assert CliRunner().invoke(cmd, ["--examples", "0"]).exit_code == 2


# ------------------------------------------------------------------ contract

def test_decision_is_json_ready_and_round_trips() -> None:
    decision = decide(profiles.caching())
    data = json.loads(decision.model_dump_json())
    assert set(data) >= {"strategies", "recommendation", "assumptions"}
    assert Decision.model_validate(data) == decision
    assert all(s["currency"] == "USD" for s in data["strategies"])
    assert data["recommendation"]["sensitivity"] or data["recommendation"]["sensitivity_strategy"] is None


def test_sensitivity_names_the_inputs_the_issue_asks_for() -> None:
    rec = decide(profiles.ecommerce()).recommendation
    names = {r.input for r in rec.sensitivity}
    assert {"volume_per_day", "examples_needed", "accuracy_gain", "small_model_regression",
            "static_prefix_tokens"} <= names
    swings = [r.swing_days for r in rec.sensitivity if r.swing_days is not None]
    assert swings == sorted(swings, reverse=True)


def test_prompt_changes_in_the_window_set_the_retraining_cadence() -> None:
    p = profiles.ecommerce().model_copy(update={"prompt_changes": 2, "window_days": 60})  # 2 new prompts, 60 days
    a = resolve(p, Assumptions())
    assert a.retrain_interval_months == pytest.approx(60 / 2 / 30) and a.source("retrain_interval_months") == \
        "measured"
    often = resolve(p.model_copy(update={"prompt_changes": 10}), Assumptions())
    assert often.retrain_interval_months == 0.5  # floor: not more often than every two weeks
    ft = by_key(evaluate_strategies(p, Assumptions(), with_ranges=False))["fine-tune-serverless"]
    steady = by_key(evaluate_strategies(profiles.ecommerce(), Assumptions(), with_ranges=False))[
        "fine-tune-serverless"]
    assert ft.recurring_breakdown["retraining"] > steady.recurring_breakdown["retraining"]
    # a user-set cadence stands
    assert resolve(p, load_assumptions({}, {"retrain_interval_months": 6})).retrain_interval_months == 6
