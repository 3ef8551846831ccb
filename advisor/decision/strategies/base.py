"""Shared contracts of the strategy modules: the measured traffic, one strategy's costing, the fine-tune kinds.

A strategy module exports `SPEC` (key, name, kind, complexity) and `cost(ctx) -> Costing`:
eligibility (from the offers, with named thresholds) plus the per-request, monthly, one-time and
recurring money, the failures it removes or adds, and the traffic as it looks afterwards (so
strategies compose into portfolios).
"""

from __future__ import annotations

import dataclasses
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, Field

from advisor.decision import roi
from advisor.decision.assumptions import Assumptions
from advisor.decision.strategies.market import Market
from advisor.pricing import ModelPrice, cache_rates

StrategyKind = Literal["status-quo", "prompting", "structured-outputs", "caching", "rag", "fine-tune", "hybrid",
                       "portfolio"]


class FineTuneKind(StrEnum):
    """Where a trained adapter runs: the strategies `advise run` trains for (the one definition)."""

    HOSTED = "hosted"  # the production model, fine-tuned by its provider
    SERVERLESS_LORA = "serverless-lora"  # open-weight base + uploaded LoRA, billed per token at the base price
    DEDICATED_GPU = "dedicated-gpu"  # open-weight model on rented GPUs
    HYBRID = "hybrid"  # some prompt families on the fine-tuned open-weight model, the rest unchanged


def price(input: float, output: float, *, cached_input: float | None = None, cache_write: float | None = None,
          currency: str = "USD", source: str = "price table", date: str | None = None, model: str = "",
          provider: str | None = None) -> ModelPrice:
    """A :class:`advisor.pricing.ModelPrice` (the one price type) from per-1M prices, for tests and what-ifs."""
    return ModelPrice(model=model, provider=provider, input_mtok=input, output_mtok=output,
                      cached_input_mtok=cached_input, cache_write_mtok=cache_write, currency=currency, source=source,
                      date=date)


def with_prices(p: ModelPrice, **changes: float | str | None) -> ModelPrice:
    """A copy of a price with some per-1M rates replaced (an offer's rates after a migration)."""
    return dataclasses.replace(p, **changes)  # type: ignore[arg-type]


class DaySample(BaseModel):
    """One logged day, for the bootstrap (counts as logged, not scaled)."""

    date: str
    requests: float = Field(ge=0)
    input_tokens: float = Field(ge=0)
    static_tokens: float = Field(ge=0)
    output_tokens: float = Field(ge=0)
    cost: float | None = None


class FamilyProfile(BaseModel):
    """A prompt family: its share of traffic, its static prefix and simulated cache hit rates."""

    name: str
    share_of_requests: float = Field(ge=0, le=1)
    static_prefix_tokens: float = Field(ge=0)
    variable_input_tokens: float | None = Field(default=None, ge=0)
    hit_rate_5m: float | None = Field(default=None, ge=0, le=1)
    hit_rate_1h: float | None = Field(default=None, ge=0, le=1)
    gap_quantiles_s: list[float] = Field(default_factory=list,
                                         description="quantiles of full-traffic inter-arrival gaps (cache re-simulation)")
    failure_rate: float | None = Field(default=None, ge=0, le=1, description="None: the model-wide rate applies")
    structural_share: float | None = Field(default=None, ge=0, le=1)


class TrafficProfile(BaseModel):
    """What the decision needs from the analysis. Token counts are means per request."""

    requests_per_day: float = Field(gt=0, description="measured mean, scaled to full traffic")
    days: list[DaySample] = Field(default_factory=list)
    model: str
    provider: str | None = None
    prices: ModelPrice = Field(description="per-1M prices of the logged model, in `prices.currency`")
    target_prices: ModelPrice | None = Field(default=None, description="base prices of --target-model, if given")
    market: Market | None = Field(default=None, description="what the offers table sells for this model")
    static_prefix_tokens: float = Field(ge=0, description="request-weighted static prefix")
    variable_input_tokens: float = Field(ge=0)
    output_tokens: float = Field(ge=0)
    cache_read_tokens: float = Field(default=0.0, ge=0)
    cache_write_tokens: float = Field(default=0.0, ge=0)
    families: list[FamilyProfile] = Field(default_factory=list)
    failure_rate: float = Field(default=0.0, ge=0, le=1, description="failed answers / requests")
    structural_share: float = Field(default=0.0, ge=0, le=1, description="of failures: format, schema, style")
    knowledge_share: float = Field(default=0.0, ge=0, le=1, description="of failures: factual, outdated")
    other_share: float = Field(default=0.0, ge=0, le=1, description="of failures: scattered one-offs")
    schema_share: float = Field(default=0.0, ge=0, le=1,
                                description="of failures: JSON format/schema violations a strict schema removes")
    logged_requests: int | None = Field(default=None, ge=0, description="ok requests analysed (failure bootstrap)")
    consistency: float | None = Field(default=None, ge=0, le=1)
    consistency_verdict: str | None = None
    recurrence: float | None = Field(default=None, ge=0, le=1)
    knowledge_volatility_share: float | None = None
    burstiness: float | None = Field(default=None, description="peak-hour share × 24 (1 = flat)")
    trend_pct_per_week: float | None = None
    latency_p95_ms: float | None = None
    window_days: int | None = Field(default=None, ge=1)
    prompt_changes: int | None = Field(default=None, ge=0,
                                       description="prompt families of this model that began mid-window")
    failure_source: str = Field(default="none", description="labels | checks | heuristics | none")

    @property
    def input_tokens(self) -> float:
        return self.static_prefix_tokens + self.variable_input_tokens

    @property
    def static_share(self) -> float:
        return self.static_prefix_tokens / self.input_tokens if self.input_tokens else 0.0

    @property
    def currency(self) -> str:
        return self.prices.currency

    @property
    def days_observed(self) -> int:
        return self.window_days or max(1, len(self.days))


class Costing(BaseModel):
    """The central numbers of one strategy on one profile, before ranges are attached."""

    cost_after: float = Field(description="mean cost per request after, on all traffic")
    fixed_monthly: float = 0.0
    one_time: dict[str, float] = Field(default_factory=dict)
    recurring: dict[str, float] = Field(default_factory=dict)
    failure_rate_fixed: float = 0.0
    failure_rate_added: float = Field(default=0.0, description="new failures (misroutes, a weaker small model)")
    horizon_cap_months: float | None = Field(default=None, description="the offer ends before the horizon does")
    eligible: bool = True
    eligibility: str = ""
    target: str = Field(default="", description="the model that serves the traffic afterwards")
    served: str = Field(default="", description="where it is served")
    fine_tune_kind: FineTuneKind | None = None
    routing: dict[str, list[str]] = Field(default_factory=dict, description="hybrid: model → prompt families")
    arithmetic: list[str] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)
    after: TrafficProfile | None = Field(default=None, description="the traffic as the next strategy sees it")


class StrategySpec(BaseModel):
    key: str
    name: str
    kind: StrategyKind
    addresses: str
    complexity: int = Field(description="0 = nothing to do; higher = more to build and run")


class Ctx(BaseModel):
    """What every costing reads: the traffic, the resolved assumptions, the offers, the baseline cost."""

    model_config = {"arbitrary_types_allowed": True}

    p: TrafficProfile
    a: Assumptions
    c0: float

    @property
    def m(self) -> Market | None:
        return self.p.market

    @property
    def cur(self) -> str:
        return self.p.currency

    @property
    def volume(self) -> float:
        return self.a.volume_per_day or self.p.requests_per_day


def money(x: float, cur: str) -> str:
    if abs(x) >= 100:
        return f"{cur} {x:,.0f}"
    if abs(x) >= 1:
        return f"{cur} {x:,.2f}"
    return f"{cur} {x:.5f}"


def cache_terms(p: TrafficProfile) -> object | None:
    return p.market.cache if p.market is not None else None


def baseline_cost_per_request(p: TrafficProfile) -> float:
    """Mean cost of a request as logged: uncached input, cache reads/writes, output — at the rates billing uses
    (`advisor.pricing.cache_rates`: a cache price the table does not list bills at the input price)."""
    pr = p.prices
    inp = pr.input_mtok
    cached, write, _ = cache_rates(pr)
    uncached = max(0.0, p.input_tokens - p.cache_read_tokens - p.cache_write_tokens)
    return roi.request_cost(uncached, p.output_tokens, inp, pr.output_mtok or 0.0,
                            p.cache_read_tokens, cached, p.cache_write_tokens, write)


def with_failures(p: TrafficProfile, removed: dict[str, float]) -> TrafficProfile:
    """The profile after some failures (absolute rates per bucket) are gone: rate and shares recomputed."""
    rates = {"structural": p.failure_rate * p.structural_share, "knowledge": p.failure_rate * p.knowledge_share,
             "other": p.failure_rate * p.other_share}
    schema = p.failure_rate * p.schema_share
    for bucket, r in removed.items():
        if bucket == "schema":
            schema = max(0.0, schema - r)
            rates["structural"] = max(0.0, rates["structural"] - r)
        else:
            rates[bucket] = max(0.0, rates[bucket] - r)
            if bucket == "structural":
                schema = min(schema, rates["structural"])
    total = sum(rates.values())
    if total <= 0:
        return p.model_copy(update={"failure_rate": 0.0, "structural_share": 0.0, "knowledge_share": 0.0,
                                    "other_share": 0.0, "schema_share": 0.0})
    return p.model_copy(update={"failure_rate": total, "structural_share": rates["structural"] / total,
                                "knowledge_share": rates["knowledge"] / total, "other_share": rates["other"] / total,
                                "schema_share": schema / total})
