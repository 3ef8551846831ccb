"""Decision engine: the seed's reference case, four scenarios with four winners, rules and contracts."""

from __future__ import annotations

import json

import click
import pytest
from click.testing import CliRunner

from advisor.assumptions import (
    Assumptions,
    assumption_options,
    assumption_table,
    cli_overrides,
    load_assumptions,
    parse_volume,
)
from advisor.decide import (
    CACHE_RULES,
    Decision,
    baseline_cost_per_request,
    cacheable_tokens,
    decide,
    evaluate_strategies,
    resolve,
    winner_of,
)
from advisor.errors import AdviseError
from tests import test_decide_profiles as profiles

REFERENCE = dict(examples_needed=2000, training_cost=215.0, accuracy_gain=0.24, cost_per_example=0.0,
                 eval_cost=0.0, ft_price_multiplier=1.0, short_prompt_tokens=0.0, failure_cost=0.02)


def by_key(results):
    return {r.key: r for r in results}


# ------------------------------------------------------------------ the seed's reference case

def test_reference_case_saving_and_payback() -> None:
    """500-token style guide off ~3,000 req/day on gpt-4o prices, 2,000 examples, ~€200 (≈$215) LoRA run.

    By hand: before 750 × 2.5/1M + 100 × 10/1M = $0.002875; after 250 × 2.5/1M + 0.001 = $0.001625
    → 43.5% saved. Month: 3,000 × 30 × $0.00125 = $112.50 saved; 70%→94% consistency avoids 24% of
    90,000 = 21,600 failures × $0.02 (a reviewer's glance) = $432; retraining $215 / 6 = $35.83.
    Net $508.67/month → payback 215 / (508.67 / 30) = 12.7 days (< 14).
    """
    decision = decide(profiles.reference_case(), load_assumptions({}, REFERENCE))
    rec = decision.recommendation
    assert rec.winner == "fine-tune-hosted"
    ft = by_key(decision.strategies)["fine-tune-hosted"]
    assert ft.per_request_saving_share == pytest.approx(0.40, abs=0.05)
    assert ft.cost_per_request_before == pytest.approx(0.002875)
    assert ft.cost_per_request_after == pytest.approx(0.001625)
    assert ft.monthly_net_value.value == pytest.approx(112.5 + 432 - 215 / 6)
    assert ft.payback_days.value == pytest.approx(215 / ((112.5 + 432 - 215 / 6) / 30))
    assert ft.payback_days.value < 14
    assert ft.payback_days.low <= ft.payback_days.value <= ft.payback_days.high
    # the arithmetic is shown, with the numbers a reader can redo
    text = "\n".join(ft.arithmetic)
    assert "43.5% saved" in text and "21,600/month" in text and "12.7 days" in text
    assert any("pays back in 13 days" in line for line in rec.explanation)


def test_reference_case_token_saving_alone_is_slower() -> None:
    """Without the failure value (failure cost 0) the saving alone pays €200 back in ~85 days, not two weeks."""
    a = load_assumptions({}, {**REFERENCE, "failure_cost": 0.0})
    ft = by_key(evaluate_strategies(profiles.reference_case(), a, with_ranges=False))["fine-tune-hosted"]
    assert ft.payback_days.value == pytest.approx(215 / ((112.5 - 215 / 6) / 30))


# ------------------------------------------------------------------ four scenarios, four winners

@pytest.mark.parametrize(("name", "kind"), [("ecommerce", "fine-tune"), ("support", "rag"),
                                            ("lowvolume", "prompting"), ("caching", "caching")])
def test_scenarios_pick_their_winner(name: str, kind: str) -> None:
    decision = decide(getattr(profiles, name)())
    winner = by_key(decision.strategies)[decision.recommendation.winner]
    assert winner.kind == kind, decision.recommendation.explanation
    assert decision.strategies[0].key == winner.key  # strategies come ranked


def test_four_scenarios_four_different_winners() -> None:
    winners = {winner_of(getattr(profiles, n)(), Assumptions()) for n in ("ecommerce", "support", "lowvolume",
                                                                           "caching")}
    assert len(winners) == 4


def test_support_rag_rule_and_break_even_failure_cost() -> None:
    decision = decide(profiles.support())
    rec = decision.recommendation
    assert any("knowledge failures dominate" in r for r in rec.rules_applied)
    rag = by_key(decision.strategies)["rag"]
    # RAG loses money at the default failure cost (a retry); the break-even failure cost is reported …
    assert rag.net_value_12m.value < 0 and rag.break_even_failure_cost > rag.cost_per_request_before
    # … and when the team says what a failure costs, money decides: above break-even RAG wins, below it does not
    above = load_assumptions({}, {"failure_cost": rag.break_even_failure_cost * 1.2})
    below = load_assumptions({}, {"failure_cost": rag.break_even_failure_cost * 0.5})
    assert winner_of(profiles.support(), above) == "rag"
    assert winner_of(profiles.support(), below) != "rag"
    # fine-tuning is ruled out: it would bake the stale facts in
    assert not by_key(decision.strategies)["fine-tune-hosted"].eligible


def test_ecommerce_flips_to_prompting_at_low_volume() -> None:
    rec = decide(profiles.ecommerce()).recommendation
    below = [f for f in rec.flip_conditions if f.assumption == "volume_per_day" and f.direction == "below"]
    assert below and below[0].winner_after == "prompting"
    assert f"below {below[0].threshold:,.0f} requests/day" in below[0].text
    assert any(f"below {below[0].threshold:,.0f} requests/day" in line for line in rec.explanation)


def test_lowvolume_prompting_first() -> None:
    decision = decide(profiles.lowvolume())
    ft = by_key(decision.strategies)["fine-tune-hosted"]
    assert ft.net_value_12m.value < 0 and ft.payback_days.value is None


# ------------------------------------------------------------------ strategy formulas by hand

def test_openai_cache_rule_steps() -> None:
    rule = CACHE_RULES["openai"]
    assert cacheable_tokens(1023, rule) == 0
    assert cacheable_tokens(1024, rule) == 1024
    assert cacheable_tokens(1300, rule) == 1280  # 128-token steps
    assert cacheable_tokens(1300, CACHE_RULES["anthropic"]) == 1300


def test_caching_cost_anthropic_by_hand() -> None:
    """3,087 static tokens at $3/1M; 1 h TTL with 95% hits: 0.95 × $0.30 + 0.05 × $6.00 = $0.585/1M per token.

    Saving per request = 3,087 × (3 − 0.585) / 1e6 = $0.0074551 (5 min: 0.85 × 0.3 + 0.15 × 3.75 = 0.8175 →
    3,087 × 2.1825 / 1e6 = $0.0067374, so the 1 h TTL is chosen).
    """
    p = profiles.caching()
    caching = by_key(evaluate_strategies(p, Assumptions(), with_ranges=False))["caching"]
    no_cache = (3087 + 150) * 3 / 1e6 + 300 * 15 / 1e6
    assert caching.cost_per_request_after == pytest.approx(no_cache - 3087 * (3 - 0.585) / 1e6)
    assert caching.one_time_cost == 0 and caching.payback_days.value == 0


def test_caching_ineligible_below_minimum() -> None:
    caching = by_key(evaluate_strategies(profiles.ecommerce(), Assumptions(), with_ranges=False))["caching"]
    assert not caching.eligible and "1,024" in caching.eligibility


def test_rag_cost_by_hand() -> None:
    """Support: +4 × 300 = 1,200 tokens × $3/1M = $0.0036 + query embedding 25 × $0.02/1M per request."""
    p = profiles.support()
    rag = by_key(evaluate_strategies(p, Assumptions(), with_ranges=False))["rag"]
    c0 = baseline_cost_per_request(p)
    assert rag.cost_per_request_after == pytest.approx(c0 + 0.0036 + 25 * 0.02 / 1e6)
    assert rag.one_time_cost == 500 and rag.monthly_run_cost == pytest.approx(
        1200 * 30 * rag.cost_per_request_after + 25)
    # fixes 60% of knowledge failures: 17.9% × 83% × 60%
    assert rag.failure_rate_before - rag.failure_rate_after == pytest.approx(0.179 * 0.83 * 0.6)


def test_fine_tune_hosted_defaults_by_hand() -> None:
    """Ecommerce, defaults: fine-tuned gpt-4o at 1.5× ($3.75/$15). Prompt 571 → 30 + 90 = 120 tokens.

    after = 120 × 3.75/1M + 150 × 15/1M = $0.00045 + $0.00225 = $0.0027
    one-time: 1,500 examples (format task) × $0.10 + 1,500 × 270 tok × 3 epochs × $25/1M ($30.375) + $100 eval.
    """
    ft = by_key(evaluate_strategies(profiles.ecommerce(), Assumptions(), with_ranges=False))["fine-tune-hosted"]
    assert ft.cost_per_request_after == pytest.approx(0.0027)
    assert ft.one_time_breakdown == pytest.approx({"curation": 150.0, "training": 30.375, "evaluation": 100.0})
    # fixes min(20% prior, 80% × 31% × 99% structural) = 20%
    assert ft.failure_rate_before - ft.failure_rate_after == pytest.approx(0.20)
    assert ft.recurring_breakdown["retraining"] == pytest.approx((30.375 + 100 + 0.2 * 150) / 6)


def test_self_hosted_has_a_gpu_floor() -> None:
    ft = by_key(evaluate_strategies(profiles.lowvolume(), Assumptions(), with_ranges=False))["fine-tune-self-hosted"]
    assert ft.monthly_run_cost == pytest.approx(730 * 2.0)  # one always-on GPU at $2/h
    assert ft.cost_per_request_after == 0


def test_target_model_prices_are_used() -> None:
    p = profiles.ecommerce().model_copy(update={"target_prices": profiles.GPT4O.model_copy(
        update={"input": 0.15, "output": 0.60})})
    ft = by_key(evaluate_strategies(p, Assumptions(target_model="gpt-4o-mini"), with_ranges=False))
    # 120 × 0.225/1M + 150 × 0.9/1M (1.5× the mini prices)
    assert ft["fine-tune-hosted"].cost_per_request_after == pytest.approx(120 * 0.225 / 1e6 + 150 * 0.9 / 1e6)


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
    assert rows["cost_per_example"].unit == "USD/example"
    assert rows["examples_needed"].source == "user"


def test_cli_overrides_config_and_volume_what_if() -> None:
    a = load_assumptions({"volume_per_day": "1000/day", "examples_needed": 500}, {"examples_needed": 2000})
    assert a.volume_per_day == 1000 and a.examples_needed == 2000
    d = decide(profiles.ecommerce(), load_assumptions({}, {"volume_per_day": "10000/day"}))
    assert d.volume_per_day == 10_000
    assert by_key(d.strategies)["prompting"].baseline_monthly_cost == pytest.approx(
        10_000 * 30 * baseline_cost_per_request(profiles.ecommerce()))


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
    assert CliRunner().invoke(cmd, ["--examples", "0"]).exit_code == 2


# ------------------------------------------------------------------ contract

def test_decision_is_json_ready_and_round_trips() -> None:
    decision = decide(profiles.caching())
    data = json.loads(decision.model_dump_json())
    assert set(data) >= {"strategies", "recommendation", "assumptions"}
    assert Decision.model_validate(data) == decision
    assert all(s["currency"] == "USD" for s in data["strategies"])
    assert data["recommendation"]["sensitivity"] or data["recommendation"]["sensitivity_strategy"] is None


def test_ranges_bracket_the_central_value() -> None:
    for s in decide(profiles.ecommerce()).strategies:
        r = s.net_value_12m
        assert r.low <= r.value <= r.high


def test_sensitivity_names_the_inputs_the_issue_asks_for() -> None:
    rec = decide(profiles.ecommerce()).recommendation
    names = {r.input for r in rec.sensitivity}
    assert {"volume_per_day", "examples_needed", "training_price_per_1m", "accuracy_gain",
            "static_prefix_tokens"} <= names
    swings = [r.swing_days for r in rec.sensitivity if r.swing_days is not None]
    assert swings == sorted(swings, reverse=True)
