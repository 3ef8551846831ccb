"""Hand-built traffic profiles for the decision tests: the seed's reference case and four scenarios."""

from __future__ import annotations

import math
from datetime import date

from advisor.decision.decide import DaySample, FamilyProfile, TrafficProfile, price
from advisor.decision.strategies.market import CacheTerms, HostedFineTune, Market, OpenWeightOffer

GPT4O = price(2.50, 10.0, cached_input=1.25, currency="USD", source="test prices", date="2024-08-06")
SONNET = price(3.0, 15.0, cached_input=0.30, cache_write=3.75, currency="USD", source="test prices",
               date="2024-10-22")


TODAY = date(2026, 11, 30)
OPEN_WEIGHT = [
    OpenWeightOffer(key="test:llama-8b", kind="serverless-lora", vendor="TestCloud", base_model="llama-3.1-8b",
                    input=0.20, output=0.20, training_per_1m=0.50, source="test offers", as_of="2026-11-01"),
    OpenWeightOffer(key="test:h100", kind="dedicated-gpu", vendor="TestGPU", base_model="llama-3.1-8b",
                    gpu_hour=2.0, gpu="H100", source="test offers", as_of="2026-11-01"),
]


def openai_market(model: str = "gpt-4o-2024-08-06", *, access: str = "existing-customers",
                  retirement: date | None = date(2027, 6, 30)) -> Market:
    """Test offers shaped like OpenAI's: automatic caching ≥1,024 in 128 steps, strict schemas, closed fine-tuning."""
    return Market(
        today=TODAY, provider="openai", model=model,
        cache=CacheTerms(min_tokens=1024, step=128, read_multiplier=0.5, ttl_minutes=[5.0], automatic=True,
                         source="test offers"),
        structured_outputs=True, structured_source="test offers",
        hosted_ft=HostedFineTune(model=model, access=access, job_cutoff=date(2027, 1, 6), retirement=retirement,
                                 input=3.75, output=15.0, training_per_1m=25.0, source="test offers"),
        open_weight=OPEN_WEIGHT)


def anthropic_market(model: str = "claude-3-5-sonnet-20241022", cache_min: int = 1024) -> Market:
    """Test offers shaped like Anthropic's: explicit caching, no fine-tuning of the model."""
    return Market(
        today=TODAY, provider="anthropic", model=model,
        cache=CacheTerms(min_tokens=cache_min, step=1, read_multiplier=0.1, write_multiplier_5m=1.25,
                         write_multiplier_1h=2.0, ttl_minutes=[5.0, 60.0], automatic=False, source="test offers"),
        structured_outputs=False, hosted_ft=None,
        hosted_ft_note=f"Anthropic sells no fine-tuning of {model} (test offers)", open_weight=OPEN_WEIGHT)


def days(per_day: float, n: int, static: float, variable: float, output: float, wobble: float = 0.1,
         bursty: bool = False) -> list[DaySample]:
    """A deterministic day series around the means (volume ± wobble; bursty: alternating quiet/busy days)."""
    out = []
    for i in range(n):
        f = 1 + wobble * math.sin(i * 1.7)
        if bursty:
            f *= 1.8 if i % 3 == 0 else 0.6
        r = per_day * f
        out.append(DaySample(date=f"2025-03-{i + 1:02d}", requests=r, input_tokens=r * (static + variable),
                             static_tokens=r * static, output_tokens=r * output * (1 + 0.05 * math.cos(i))))
    return out


def profile(per_day: float, static: float, variable: float, output: float, *, prices=GPT4O,
            provider: str = "openai", model: str = "gpt-4o-2024-08-06", failure_rate: float = 0.0,
            structural: float = 0.0, knowledge: float = 0.0, other: float = 0.0, hit_5m: float = 0.0,
            hit_1h: float = 0.0, n_days: int = 14, bursty: bool = False, source: str = "checks",
            schema: float = 0.0, market: Market | None = None) -> TrafficProfile:
    if market is None:
        market = openai_market(model) if provider == "openai" else anthropic_market(model)
    return TrafficProfile(
        requests_per_day=per_day, days=days(per_day, n_days, static, variable, output, bursty=bursty),
        model=model, provider=provider, prices=prices, static_prefix_tokens=static,
        variable_input_tokens=variable, output_tokens=output,
        families=[FamilyProfile(name="main", share_of_requests=1.0, static_prefix_tokens=static,
                                hit_rate_5m=hit_5m, hit_rate_1h=hit_1h)],
        market=market, failure_rate=failure_rate, structural_share=structural, knowledge_share=knowledge,
        other_share=other, schema_share=schema, failure_source=source, window_days=n_days)


def reference_case() -> TrafficProfile:
    """The seed: ~3,000 req/day, a 500-token style guide in every request, consistency 70%."""
    return profile(3000, 500, 250, 100, failure_rate=0.30, structural=1.0)


def ecommerce() -> TrafficProfile:
    """High-volume brand voice: 3,000/day on gpt-4o, ~480-token style guide, 31% structural failures."""
    return profile(3000, 481, 90, 150, failure_rate=0.31, structural=0.99, other=0.01)


def support() -> TrafficProfile:
    """Support bot on Claude 3.5 Sonnet: 1,200/day, 15% knowledge failures (outdated facts)."""
    return profile(1200, 274, 25, 48, prices=SONNET, provider="anthropic", model="claude-3-5-sonnet-20241022",
                   failure_rate=0.179, structural=0.0, knowledge=0.83, other=0.17, source="labels")


def lowvolume() -> TrafficProfile:
    """50 requests/day with 5% scattered failures."""
    return profile(50, 266, 120, 200, failure_rate=0.05, other=1.0)


def caching() -> TrafficProfile:
    """A 3,087-token static prefix, almost no failures, bursty traffic (high simulated cache hits)."""
    return profile(400, 3087, 150, 300, prices=SONNET, provider="anthropic", model="claude-3-5-sonnet-20241022",
                   failure_rate=0.002, other=1.0, hit_5m=0.85, hit_1h=0.95, n_days=3, bursty=True)


def test_profiles_are_what_they_claim() -> None:
    ref = reference_case()
    assert ref.static_prefix_tokens == 500 and ref.requests_per_day == 3000
    assert abs(ref.static_share - 500 / 750) < 1e-9
    assert len(caching().days) == 3 and all(p.failure_rate < 0.4 for p in (ecommerce(), support(), lowvolume()))


def hybrid_case() -> TrafficProfile:
    """Two prompt families on gpt-4o: a JSON catalogue job failing on format (70% of traffic) and an advice chat
    whose failures are knowledge gaps (30%): the catalogue moves to a small adapter, the chat stays."""
    p = profile(4000, 600, 100, 150, failure_rate=0.16, structural=0.75, knowledge=0.2, other=0.05)
    fams = [FamilyProfile(name="catalogue-json", share_of_requests=0.7, static_prefix_tokens=700,
                          variable_input_tokens=80, hit_rate_5m=0.9, failure_rate=0.18, structural_share=0.95),
            FamilyProfile(name="advice-chat", share_of_requests=0.3, static_prefix_tokens=370,
                          variable_input_tokens=150, hit_rate_5m=0.6, failure_rate=0.11, structural_share=0.1)]
    return p.model_copy(update={"families": fams})
