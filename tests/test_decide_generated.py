"""Acceptance of the decision engine on generated logs: logs → analysis → offers → decision.

Every test reads logs written by examples/generate.py (the committed examples, or a scenario
re-generated with another model, volume or mix), builds the analysis and asks the decision hook.
"""

from __future__ import annotations

import dataclasses
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT


def _analysis(dirs: list[Path], config: Path | None, labels: Path | None = None,
              hook_config: dict[str, Any] | None = None, overrides: dict[str, Any] | None = None,
              prices: Path | None = None) -> Any:
    from advisor.analysis import build_analysis
    from advisor.decision.strategies.from_analysis import decision_hook
    from advisor.failures.collector import make_collector
    from advisor.kernel.config import load_config
    from advisor.pricing import PriceBook

    cfg = load_config(config)
    if labels is None:
        labels = next((p for d in dirs for p in d.glob("labels.jsonl*")), None)
    book = PriceBook(prices)
    hook = decision_hook(cfg.assumptions if hook_config is None else hook_config, overrides or {},
                         price_book=book)
    return build_analysis(dirs, config=cfg, prices=book, collectors={"failures": make_collector(cfg, labels=labels)},
                          post_process=hook)


def _by_key(analysis: Any) -> dict[str, Any]:
    return {s.key: s for s in analysis.strategies}


def _write(monkeypatch: pytest.MonkeyPatch, base: str, out: Path, fmt: str, **changes: Any) -> None:
    """Write scenario `base` with some fields changed (model, provider …) into `out`."""
    from examples import scenarios
    from examples.generate import write_scenario

    traffic = {k: changes.pop(k) for k in ("per_day", "days", "sample_rate") if k in changes}
    name = f"{base}-variant"
    monkeypatch.setitem(scenarios.SCENARIOS, name, dataclasses.replace(scenarios.SCENARIOS[base], name=name,
                                                                         **changes))
    write_scenario(name, out, fmt, **traffic)


def test_claude_logs_with_structural_failures_never_get_a_hosted_claude_fine_tune(tmp_path, monkeypatch) -> None:
    _write(monkeypatch, "ecommerce", tmp_path / "logs", "anthropic", provider="anthropic",
           model="claude-sonnet-4-5-20250929", days=7)
    a = _analysis([tmp_path / "logs"], ROOT / "examples" / "ecommerce" / "advise.toml")
    s = _by_key(a)
    assert a.models and next(iter(a.models)).startswith("claude-sonnet-4-5")
    # the ecommerce scenario plants label-only factual errors too (~13% of failures): still mostly structural
    assert a.failures.shares.structural > 0.8
    hosted = s["fine-tune-hosted"]
    assert not hosted.eligible and "sells no fine-tuning" in hosted.eligibility
    rec = a.recommendation
    assert "fine-tune-hosted" not in rec.winner.split("+")
    assert rec.why_not["fine-tune-hosted"].startswith("ruled out")
    # analysis.json records the offer rows the decision read, with their sources and dates
    tables = {r.table for r in rec.market.rows}
    assert {"model", "open_weight"} <= tables and all(r.source.startswith("http") for r in rec.market.rows)


@pytest.fixture(scope="module")
def ecommerce() -> Any:
    return _analysis([ROOT / "examples" / "ecommerce"], ROOT / "examples" / "ecommerce" / "advise.toml")


def test_openai_logs_get_no_hosted_fine_tune_by_default(ecommerce) -> None:
    hosted = _by_key(ecommerce)["fine-tune-hosted"]
    assert not hosted.eligible and "--has-openai-ft-access" in hosted.eligibility
    assert ecommerce.recommendation.fine_tune_kind in ("serverless-lora", "dedicated-gpu", "hybrid")


def test_openai_fine_tune_with_access_ends_at_the_cut_off_or_retirement(ecommerce) -> None:
    from advisor.decision.assumptions import load_assumptions
    from advisor.decision.strategies.from_analysis import decide_from_analysis
    from advisor.offers import bundled

    a = load_assumptions({}, {"has_ft_access": True, "failure_cost": 0.02})
    d = decide_from_analysis(ecommerce, a)
    hosted = next(s for s in d.strategies if s.key == "fine-tune-hosted")
    row = bundled().model("openai", "gpt-4o-2024-08-06")
    end = row.fine_tune_until() or row.fine_tuning.new_jobs_until
    today = ecommerce.generated_at.date()
    assert hosted.eligible
    assert hosted.horizon_months == pytest.approx(max(0.0, (end - today).days / 30))
    assert hosted.horizon_months < 12 and "migration" in hosted.one_time_breakdown
    assert any(f"horizon ends {end}" in line for line in hosted.arithmetic)
    # the fine-tuned price is the real one from the offers (genai-prices ft:gpt-4o), not a multiplier
    assert f"{row.fine_tuning.input_mtok:g}/{row.fine_tuning.output_mtok:g}" in hosted.arithmetic[0]


def test_json_mode_logs_with_schema_failures_get_strict_structured_outputs() -> None:
    d = ROOT / "examples" / "plant-structural"
    a = _analysis([d], d / "advise.toml" if (d / "advise.toml").exists() else None)
    rec = a.recommendation
    assert "structured-outputs" in rec.winner.split("+"), rec.explanation
    so = _by_key(a)["structured-outputs"]
    assert so.eligible and "training" not in so.one_time_breakdown
    assert so.failure_rate_after < so.failure_rate_before
    assert rec.deciding_numbers["schema_share"] > 0.5


def test_a_prefix_below_the_cache_minimum_is_not_cacheable(tmp_path) -> None:
    """The caching example (3,087-token prefix) with the model's minimum raised to 4,096 by an --offers file."""
    offers = tmp_path / "offers.toml"
    offers.write_text('[[model]]\nprovider = "anthropic"\nmodel = "claude-3-5-sonnet"\n'
                      'source = "https://example.com/test-offer"\nas_of = 2026-11-30\n'
                      '[model.cache]\nmode = "explicit"\nmin_tokens = 4096\nread_multiplier = 0.1\n'
                      'write_multiplier_5m = 1.25\nttls_s = [300]\n', encoding="utf-8")
    d = ROOT / "examples" / "caching"
    normal = _analysis([d], d / "advise.toml" if (d / "advise.toml").exists() else None)
    assert _by_key(normal)["caching"].eligible and normal.recommendation.winner.startswith("caching")
    raised = _analysis([d], d / "advise.toml" if (d / "advise.toml").exists() else None,
                       overrides={"offers_file": str(offers)})
    caching = _by_key(raised)["caching"]
    assert not caching.eligible and "4,096-token cache minimum" in caching.eligibility
    assert "caching" not in raised.recommendation.winner.split("+")


def test_mixed_traffic_yields_a_hybrid_plan_naming_the_families(tmp_path, monkeypatch) -> None:
    """A JSON supplier-line job failing on format and a support bot failing on facts, both on gpt-4o: the
    JSON family moves to a fine-tuned open-weight adapter, the support family stays on gpt-4o."""
    _write(monkeypatch, "plant-structural", tmp_path / "json", "openai_chat", per_day=10_000, days=7,
           sample_rate=0.01)
    _write(monkeypatch, "support", tmp_path / "support", "openai_chat", provider="openai", model="gpt-4o-2024-08-06",
           per_day=4_000, days=7, sample_rate=0.01)
    labels = tmp_path / "labels.jsonl"
    labels.write_text("".join(p.read_text() for p in sorted(tmp_path.glob("*/labels.jsonl"))))
    config = tmp_path / "advise.toml"
    config.write_text("[traffic]\nsample_rate = 0.01\n")
    a = _analysis([tmp_path / "json", tmp_path / "support"], config, labels=labels)
    assert len(a.prompt_families) == 2 and len(a.failures.by_family) == 2
    hy = _by_key(a)["hybrid"]
    assert hy.eligible, hy.eligibility
    json_family, support_family = (next(f.family for f in a.prompt_families if f.requests == n)
                                   for n in sorted((f.requests for f in a.prompt_families), reverse=True))
    small = next(m for m in hy.routing if m != "gpt-4o-2024-08-06")
    assert "LoRA" in small
    assert hy.routing[small] == [json_family]
    assert hy.routing["gpt-4o-2024-08-06"] == [support_family]
    full = _by_key(a)["fine-tune-serverless"]
    assert not full.eligible and support_family in full.eligibility
    rec = a.recommendation
    assert "hybrid" in rec.winner.split("+"), rec.explanation
    assert rec.routing == hy.routing
    assert any(json_family in line and support_family in line for line in rec.explanation)


def _price_file(path: Path, currency: str, rate: float) -> Path:
    path.write_text(f'currency = "{currency}"\ndate = 2026-11-01\nsource = "test contract"\n'
                    f'[models."gpt-4o-2024-08-06"]\ninput = {2.5 * rate}\ncached_input = {1.25 * rate}\n'
                    f'output = {10 * rate}\n', encoding="utf-8")
    return path


@pytest.mark.parametrize("currency", ["EUR", "JPY"])
def test_eur_and_jpy_price_files_give_the_usd_decision_converted(ecommerce, tmp_path, currency) -> None:
    from advisor.decision.assumptions import load_assumptions
    from advisor.decision.strategies.from_analysis import decide_from_analysis
    from advisor.decision.strategies.fx import fx_rate
    from advisor.pricing import PriceBook

    rate = fx_rate(currency).per_usd
    a = load_assumptions({}, {})
    usd = decide_from_analysis(ecommerce, a, price_book=PriceBook(_price_file(tmp_path / "usd.toml", "USD", 1.0)))
    cur = decide_from_analysis(ecommerce, a, price_book=PriceBook(_price_file(tmp_path / "c.toml", currency, rate)))
    assert cur.currency == currency and cur.market.fx_rate == pytest.approx(rate)
    assert cur.market.fx_date == "2025-03-14" and "ECB" in cur.market.fx
    assert cur.recommendation.winner == usd.recommendation.winner
    for u, c in zip(usd.strategies, cur.strategies, strict=True):
        assert (u.key, u.eligible) == (c.key, c.eligible)
        assert c.net_value_12m.value == pytest.approx(u.net_value_12m.value * rate, rel=1e-6, abs=1e-6)
        assert c.one_time_cost == pytest.approx(u.one_time_cost * rate, rel=1e-6)


def test_the_offers_table_date_reaches_the_decision(ecommerce) -> None:
    market = ecommerce.recommendation.market
    assert date.fromisoformat(market.today) == ecommerce.generated_at.date()
    assert all(date.fromisoformat(r.as_of) for r in market.rows)
    assert market.offers_as_of and market.offers_files[0].endswith("offers.toml")
    # only the rows this decision read: the gpt-4o row, OpenAI's defaults, open-weight offers — no Claude rows
    assert not any("claude" in str(getattr(r, "model", "")) for r in market.rows)


def test_analysis_json_holds_the_typed_decision_contract(ecommerce, tmp_path) -> None:
    import json

    from advisor.analysis import SCHEMA_VERSION, analysis_json, load_analysis
    from advisor.kernel.errors import AdviseError

    assert SCHEMA_VERSION == 2
    path = tmp_path / "analysis.json"
    path.write_text(analysis_json(ecommerce))
    back = load_analysis(path)
    assert back.strategies == ecommerce.strategies and back.recommendation == ecommerce.recommendation
    assert back.recommendation.schema_version == 2 and back.recommendation.fine_tune_kind
    raw = json.loads(path.read_text())
    raw["strategies"][0]["p_best"] = "often"
    path.write_text(json.dumps(raw))
    with pytest.raises(AdviseError) as exc:
        load_analysis(path)
    assert "p_best" in str(exc.value.field) + exc.value.message


def test_prompt_families_carry_the_models_own_cache_minimum() -> None:
    from advisor.metrics.static_prompt import cache_minimum, resimulate_hit_rate

    d = ROOT / "examples" / "caching"
    a = _analysis([d], d / "advise.toml" if (d / "advise.toml").exists() else None)
    fam = a.prompt_families[0]
    assert fam.cache.cache_min_tokens == cache_minimum(fam.model) == 1024 and fam.cache.cacheable is True
    assert len(fam.cache.gap_quantiles_s) == 101
    # the logged simulation and the re-simulation at the logged volume agree (to the quantile resolution)
    again = resimulate_hit_rate(fam.cache.gap_quantiles_s, 300, 1.0, fam.requests)
    assert again == pytest.approx(fam.cache.hit_rate_5m, abs=0.02)
    assert resimulate_hit_rate(fam.cache.gap_quantiles_s, 300, 10.0) >= again
    assert cache_minimum("claude-opus-4-5-20251101") == 4096  # not one number per provider


def test_target_model_fine_tune_uses_that_models_offer(ecommerce) -> None:
    """--target-model gpt-4o-mini: its own fine-tuned prices (genai-prices ft:gpt-4o-mini) and its USD 3/1M
    training price from the offers — not gpt-4o's USD 25, and no multiplier."""
    from advisor.decision.assumptions import load_assumptions
    from advisor.decision.strategies.from_analysis import decide_from_analysis
    from advisor.offers import bundled

    row = bundled().model("openai", "gpt-4o-mini").fine_tuning
    d = decide_from_analysis(ecommerce, load_assumptions({}, {"target_model": "gpt-4o-mini", "has_ft_access": True}))
    hosted = next(s for s in d.strategies if s.key == "fine-tune-hosted")
    assert hosted.eligible and hosted.target == "fine-tuned gpt-4o-mini"
    assert f"USD {row.input_mtok:g}/{row.output_mtok:g} per 1M" in hosted.arithmetic[0]
    assert f"USD {row.training_mtok:g}/1M" in hosted.arithmetic[1] and row.training_mtok == 3.0
