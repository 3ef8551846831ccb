"""The decision engine: cost every strategy on the measured traffic, rank them, say why and when it flips.

Pure core: a :class:`TrafficProfile` (what the logs measured) and :class:`Assumptions` in, a
:class:`Decision` (JSON-ready for analysis.json) out. The arithmetic lives in :mod:`advisor.roi`;
this module decides *which* arithmetic each strategy needs and applies the seed rules
(prompting first; fine-tune for consistent format/style failures and token reduction; RAG for
knowledge failures; fine-tuning pays at thousands of requests/day).
"""

from __future__ import annotations

import math
from typing import Literal

from pydantic import BaseModel, Field

from advisor import roi
from advisor.assumptions import (
    EXAMPLES_BY_TASK,
    SPECS,
    AssumptionRow,
    Assumptions,
    assumption_table,
)

DECISION_SCHEMA_VERSION = 1
BOOTSTRAP_ITERATIONS = 200

StrategyKind = Literal["prompting", "caching", "rag", "fine-tune", "hybrid"]


# ---------------------------------------------------------------- input: what the logs measured


class Prices(BaseModel):
    """Per-1M-token prices of the logged model (or the fine-tune target), in `currency`."""

    input: float = Field(ge=0)
    output: float = Field(ge=0)
    cached_input: float | None = Field(default=None, ge=0, description="cache read price; None → provider rule")
    cache_write: float | None = Field(default=None, ge=0, description="5-min cache write; None → provider rule")
    currency: str = "USD"
    source: str = "price table"
    date: str | None = None


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
    hit_rate_5m: float | None = Field(default=None, ge=0, le=1)
    hit_rate_1h: float | None = Field(default=None, ge=0, le=1)


class TrafficProfile(BaseModel):
    """What the decision needs from the analysis. Token counts are means per request."""

    requests_per_day: float = Field(gt=0, description="measured mean, scaled to full traffic")
    days: list[DaySample] = Field(default_factory=list)
    model: str
    provider: str | None = None
    prices: Prices
    target_prices: Prices | None = Field(default=None, description="base prices of --target-model, if given")
    static_prefix_tokens: float = Field(ge=0, description="request-weighted static prefix")
    variable_input_tokens: float = Field(ge=0)
    output_tokens: float = Field(ge=0)
    cache_read_tokens: float = Field(default=0.0, ge=0)
    cache_write_tokens: float = Field(default=0.0, ge=0)
    families: list[FamilyProfile] = Field(default_factory=list)
    recurring_share: float | None = Field(default=None, ge=0, le=1,
                                          description="requests in recurring families a small model could take")
    failure_rate: float = Field(default=0.0, ge=0, le=1, description="failed answers / requests")
    structural_share: float = Field(default=0.0, ge=0, le=1, description="of failures: format, schema, style")
    knowledge_share: float = Field(default=0.0, ge=0, le=1, description="of failures: factual, outdated")
    other_share: float = Field(default=0.0, ge=0, le=1, description="of failures: scattered one-offs")
    consistency: float | None = Field(default=None, ge=0, le=1)
    consistency_verdict: str | None = None
    knowledge_volatility_share: float | None = None
    burstiness: float | None = None
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


# ---------------------------------------------------------------- output contracts


class StrategyResult(BaseModel):
    """One strategy costed per month on the measured traffic, with ranges."""

    key: str
    name: str
    kind: StrategyKind
    addresses: str
    currency: str
    eligible: bool
    eligibility: str = Field(description="why the seed rules allow or rule it out")
    cost_per_request_before: float
    cost_per_request_after: float
    per_request_saving_share: float
    baseline_monthly_cost: float
    monthly_run_cost: float
    one_time_cost: float
    one_time_breakdown: dict[str, float]
    recurring_monthly: float
    recurring_breakdown: dict[str, float]
    failure_rate_before: float
    failure_rate_after: float
    failures_avoided_per_month: float
    failure_value_monthly: float
    monthly_net_value: roi.Range
    payback_days: roi.Range
    net_value_12m: roi.Range = Field(description="over the horizon (12 months unless changed)")
    break_even_volume_per_day: float | None = Field(description="requests/day where the horizon net value is zero")
    break_even_failure_cost: float | None = Field(default=None,
                                                  description="failure cost where the horizon net value is zero")
    arithmetic: list[str] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)


class FlipCondition(BaseModel):
    """A value of one input at which the winner changes."""

    assumption: str
    unit: str
    current: float
    threshold: float
    direction: Literal["below", "above"]
    winner_after: str
    text: str


class Recommendation(BaseModel):
    winner: str
    winner_name: str
    ranking: list[str] = Field(description="strategy keys, best first")
    headline: str
    explanation: list[str]
    deciding_numbers: dict[str, float | str | None]
    rules_applied: list[str]
    flip_conditions: list[FlipCondition]
    sensitivity_strategy: str | None
    sensitivity: list[roi.SensitivityRow]


class Decision(BaseModel):
    """What analysis.json gains: `strategies`, `recommendation`, `assumptions`."""

    schema_version: int = DECISION_SCHEMA_VERSION
    currency: str
    price_source: str
    volume_per_day: float
    strategies: list[StrategyResult]
    recommendation: Recommendation
    assumptions: list[AssumptionRow]


# ---------------------------------------------------------------- provider prompt-caching rules


class CacheRule(BaseModel):
    min_tokens: int
    step: int
    read_multiplier: float  # × input price, when the price table has no cached price
    write_multiplier_5m: float
    write_multiplier_1h: float | None
    automatic: bool
    source: str


CACHE_RULES: dict[str, CacheRule] = {
    "openai": CacheRule(min_tokens=1024, step=128, read_multiplier=0.5, write_multiplier_5m=1.0,
                        write_multiplier_1h=None, automatic=True,
                        source="OpenAI prompt caching: automatic ≥1,024 tokens in 128-token steps, no write fee"),
    "anthropic": CacheRule(min_tokens=1024, step=1, read_multiplier=0.1, write_multiplier_5m=1.25,
                           write_multiplier_1h=2.0, automatic=False,
                           source="Anthropic prompt caching: explicit breakpoints, ≥1,024 tokens, "
                                  "writes 1.25× (5 min) / 2× (1 h), reads 0.1×"),
}


def cache_rule(provider: str | None) -> CacheRule | None:
    return CACHE_RULES.get((provider or "").lower())


def cacheable_tokens(static_prefix: float, rule: CacheRule) -> float:
    """The part of a static prefix the provider will cache (0 below its minimum)."""
    if static_prefix < rule.min_tokens:
        return 0.0
    return math.floor(static_prefix / rule.step) * rule.step


# ---------------------------------------------------------------- resolving assumptions against the profile


def task_kind(profile: TrafficProfile) -> str:
    """Which example-count prior applies: format/style when failures are structural, knowledge when factual."""
    if profile.failure_rate > 0 and profile.knowledge_share >= 0.5:
        return "knowledge"
    if profile.failure_rate > 0 and profile.structural_share >= 0.5:
        return "format"
    return "general"


def baseline_cost_per_request(profile: TrafficProfile) -> float:
    """Mean cost of a request as logged: uncached input, cache reads/writes, output."""
    p = profile.prices
    rule = cache_rule(profile.provider)
    cached = p.cached_input if p.cached_input is not None else p.input * (rule.read_multiplier if rule else 1.0)
    write = p.cache_write if p.cache_write is not None else p.input * (rule.write_multiplier_5m if rule else 1.0)
    uncached = max(0.0, profile.input_tokens - profile.cache_read_tokens - profile.cache_write_tokens)
    return roi.request_cost(uncached, profile.output_tokens, p.input, p.output,
                            profile.cache_read_tokens, cached, profile.cache_write_tokens, write)


def resolve(profile: TrafficProfile, assumptions: Assumptions) -> Assumptions:
    """Fill the values that come from the logs (volume, failure cost, example count, coverage)."""
    a = assumptions
    fill: dict[str, object] = {}
    notes = dict(a.notes)
    if a.volume_per_day is None:
        fill["volume_per_day"] = profile.requests_per_day
        notes["volume_per_day"] = f"measured: mean over {len(profile.days) or 'the'} logged days"
    if a.failure_cost is None:
        fill["failure_cost"] = baseline_cost_per_request(profile)
        notes["failure_cost"] = "measured: one retry = mean cost per request"
    kind = a.task_kind if a.task_kind != "auto" else task_kind(profile)
    if a.examples_needed is None:
        fill["examples_needed"] = EXAMPLES_BY_TASK[kind][0]
        lo, hi = EXAMPLES_BY_TASK[kind][1:]
        notes["examples_needed"] = f"default for task kind '{kind}' ({lo:,}–{hi:,})"
    if a.hybrid_coverage is None:
        fill["hybrid_coverage"] = profile.recurring_share if profile.recurring_share is not None else 0.7
        notes["hybrid_coverage"] = ("measured: requests in recurring prompt families"
                                    if profile.recurring_share is not None else "default (no family data)")
    if not fill:
        return a
    data = a.model_dump()
    data.update(fill)
    data["notes"] = notes
    data["sources"] = {**a.sources, **{k: ("measured" if k in ("volume_per_day", "failure_cost", "hybrid_coverage")
                                          and "measured" in notes.get(k, "") else "default") for k in fill}}
    return Assumptions.model_validate(data)


def spans(profile: TrafficProfile, a: Assumptions) -> dict[str, tuple[float, float]]:
    """Prior spans of every default-valued assumption (user-set values are taken as given)."""
    out = {name: span for name in SPECS if (span := a.span(name)) is not None}
    if a.source("examples_needed") == "default":
        kind = a.task_kind if a.task_kind != "auto" else task_kind(profile)
        out["examples_needed"] = (float(EXAMPLES_BY_TASK[kind][1]), float(EXAMPLES_BY_TASK[kind][2]))
    if a.source("training_price_per_1m") == "default" and a.training_cost is not None:
        out.pop("training_price_per_1m", None)
    return out


# ---------------------------------------------------------------- costing each strategy


class _Costing(BaseModel):
    """The central numbers of one strategy before ranges are attached."""

    cost_after: float
    fixed_monthly: float = 0.0
    one_time: dict[str, float] = Field(default_factory=dict)
    recurring: dict[str, float] = Field(default_factory=dict)
    failure_rate_fixed: float = 0.0
    eligible: bool = True
    eligibility: str = ""
    arithmetic: list[str] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)


def _money(x: float, cur: str) -> str:
    if abs(x) >= 100:
        return f"{cur} {x:,.0f}"
    if abs(x) >= 1:
        return f"{cur} {x:,.2f}"
    return f"{cur} {x:.5f}"


def _structural_rate(p: TrafficProfile) -> float:
    return p.failure_rate * p.structural_share


def _ft_fix_rate(p: TrafficProfile, a: Assumptions) -> float:
    """Failures fine-tuning removes: the accuracy-gain prior, capped by the structural failures it can fix."""
    return min(a.accuracy_gain, _structural_rate(p) * a.ft_max_fix_share)


def _ft_eligibility(p: TrafficProfile) -> tuple[bool, str]:
    consistent = _structural_rate(p) >= 0.02 and p.structural_share >= 0.5
    token_cut = p.static_share >= 0.3 and p.static_prefix_tokens >= 200
    if p.failure_rate > 0 and p.knowledge_share >= 0.5 and not consistent:
        return False, ("most failures are knowledge failures: fine-tuning would bake today's facts in "
                       "(seed rule: RAG for changing facts)")
    if consistent:
        return True, f"{p.structural_share:.0%} of failures are structural (format/style): fine-tuning's strength"
    if token_cut:
        return True, f"{p.static_share:.0%} of input tokens are a static prompt that training can bake in"
    return False, "no consistent structural failures and no large static prompt to bake in"


def _cost_prompting(p: TrafficProfile, a: Assumptions, c0: float) -> _Costing:
    cur = p.currency
    extra = roi.token_cost(a.prompt_extra_tokens, p.prices.input)
    fixed = p.failure_rate * p.other_share * a.prompt_fix_share
    return _Costing(
        cost_after=c0 + extra, failure_rate_fixed=fixed, eligibility="always the first step (seed rule)",
        arithmetic=[f"+{a.prompt_extra_tokens:,.0f} prompt tokens × {cur} {p.prices.input:g}/1M = "
                    f"+{_money(extra, cur)}/request",
                    f"fixes {a.prompt_fix_share:.0%} of scattered failures: {p.failure_rate * p.other_share:.1%} × "
                    f"{a.prompt_fix_share:.0%} = {fixed:.2%} of requests"])


def _cost_caching(p: TrafficProfile, a: Assumptions, c0: float) -> _Costing:
    cur = p.currency
    rule = cache_rule(p.provider)
    if rule is None:
        return _Costing(cost_after=c0, eligible=False,
                        eligibility=f"no prompt-caching rules known for provider {p.provider or 'unknown'}")
    price = p.prices
    read = price.cached_input if price.cached_input is not None else price.input * rule.read_multiplier
    write_5m = price.cache_write if price.cache_write is not None else price.input * rule.write_multiplier_5m
    families = p.families or [FamilyProfile(name="all", share_of_requests=1.0,
                                            static_prefix_tokens=p.static_prefix_tokens)]
    discount = 0.0
    lines: list[str] = []
    for fam in families:
        tokens = cacheable_tokens(fam.static_prefix_tokens, rule)
        if tokens <= 0 or fam.share_of_requests <= 0:
            continue
        options = [("5 min", fam.hit_rate_5m or 0.0, write_5m)]
        if rule.write_multiplier_1h is not None:
            options.append(("1 h", fam.hit_rate_1h or 0.0, price.input * rule.write_multiplier_1h))
        best = None
        for ttl, hit, write in options:
            cached_cost = hit * read + (1 - hit) * write  # per token, per request
            saving = roi.token_cost(tokens, price.input - cached_cost)
            if best is None or saving > best[0]:
                best = (saving, ttl, hit, write)
        assert best is not None
        saving, ttl, hit, write = best
        discount += fam.share_of_requests * saving
        lines.append(f"{fam.name}: {tokens:,.0f} cacheable tokens × hit {hit:.0%} ({ttl} TTL) → "
                     f"{_money(saving, cur)}/request saved on {fam.share_of_requests:.0%} of traffic")
    no_cache = roi.request_cost(p.input_tokens, p.output_tokens, price.input, price.output)
    after = no_cache - discount
    notes = [rule.source, "hit rates simulated from the logged timestamps (an upper bound)"]
    if discount <= 0:
        return _Costing(cost_after=c0, eligible=False, notes=notes,
                        eligibility=f"no static prefix reaches the {rule.min_tokens:,}-token cache minimum")
    if after >= c0:
        notes.append("the logs already show cache reads at least this good")
        after = c0
    return _Costing(cost_after=after, one_time={"setup": a.caching_setup_cost}, notes=notes,
                    eligibility="a static prefix above the provider's cache minimum",
                    arithmetic=lines + [f"{_money(no_cache, cur)} uncached − {_money(discount, cur)} = "
                                        f"{_money(after, cur)}/request"])


def _cost_rag(p: TrafficProfile, a: Assumptions, c0: float) -> _Costing:
    cur = p.currency
    added = a.rag_k * a.rag_chunk_tokens
    extra = roi.token_cost(added, p.prices.input) + roi.token_cost(p.variable_input_tokens, a.embedding_price_per_1m)
    knowledge = p.failure_rate * p.knowledge_share
    fixed = knowledge * a.rag_fix_share
    ok = knowledge >= 0.02 and p.knowledge_share >= 0.3
    why = (f"{p.knowledge_share:.0%} of failures are knowledge failures (outdated/invented facts)" if ok
           else "too few knowledge failures for retrieval to fix")
    return _Costing(
        cost_after=c0 + extra, fixed_monthly=a.rag_store_monthly, one_time={"setup": a.rag_setup_cost},
        failure_rate_fixed=fixed, eligible=ok, eligibility=why,
        arithmetic=[f"+{a.rag_k} chunks × {a.rag_chunk_tokens:,.0f} tokens = {added:,.0f} input tokens → "
                    f"+{_money(extra, cur)}/request (incl. query embedding)",
                    f"vector store {_money(a.rag_store_monthly, cur)}/month",
                    f"fixes {a.rag_fix_share:.0%} of knowledge failures: {knowledge:.1%} × {a.rag_fix_share:.0%} "
                    f"= {fixed:.2%} of requests"])


def _ft_prices(p: TrafficProfile, a: Assumptions) -> tuple[float, float]:
    base = p.target_prices or p.prices
    inp = a.ft_input_price if a.ft_input_price is not None else base.input * a.ft_price_multiplier
    out = a.ft_output_price if a.ft_output_price is not None else base.output * a.ft_price_multiplier
    return inp, out


def _training_tokens_per_example(p: TrafficProfile, a: Assumptions) -> float:
    return a.short_prompt_tokens + p.variable_input_tokens + p.output_tokens


def _one_time_ft(p: TrafficProfile, a: Assumptions, *, hosted: bool) -> tuple[dict[str, float], str]:
    n = float(a.examples_needed or 0)
    tokens = _training_tokens_per_example(p, a)
    cur = p.currency
    if a.training_cost is not None:
        training, how = a.training_cost, f"training {_money(a.training_cost, cur)} (given)"
    elif hosted:
        training = roi.training_cost_from_tokens(n, tokens, a.epochs, a.training_price_per_1m)
        how = (f"training {n:,.0f} ex × {tokens:,.0f} tok × {a.epochs} epochs × {cur} {a.training_price_per_1m:g}/1M "
               f"= {_money(training, cur)}")
    else:
        training = roi.training_cost_from_gpu(n, tokens, a.epochs, a.train_tokens_s, a.gpu_hour_price)
        how = f"training on a GPU at {cur} {a.gpu_hour_price:g}/h = {_money(training, cur)} (≥1 h billed)"
    parts = {"curation": n * a.cost_per_example, "training": training, "evaluation": a.eval_cost}
    how = (f"one-time: curation {n:,.0f} × {_money(a.cost_per_example, cur)} + {how} + evaluation "
           f"{_money(a.eval_cost, cur)} = {_money(sum(parts.values()), cur)}")
    return parts, how


def _retraining(parts: dict[str, float], a: Assumptions) -> float:
    return roi.retraining_monthly(parts["training"], parts["evaluation"], parts["curation"],
                                  a.retrain_curation_share, a.retrain_interval_months)


def _cost_ft_hosted(p: TrafficProfile, a: Assumptions, c0: float) -> _Costing:
    cur = p.currency
    inp, out = _ft_prices(p, a)
    tokens_in = a.short_prompt_tokens + p.variable_input_tokens
    after = roi.request_cost(tokens_in, p.output_tokens, inp, out)
    parts, how = _one_time_ft(p, a, hosted=True)
    ok, why = _ft_eligibility(p)
    fixed = _ft_fix_rate(p, a)
    target = a.target_model or p.model
    return _Costing(
        cost_after=after, one_time=parts, recurring={"retraining": _retraining(parts, a)},
        failure_rate_fixed=fixed, eligible=ok, eligibility=why,
        arithmetic=[f"prompt {p.input_tokens:,.0f} → {tokens_in:,.0f} tokens (static {p.static_prefix_tokens:,.0f} "
                    f"baked in, {a.short_prompt_tokens:,.0f} left) on fine-tuned {target} at {cur} {inp:g}/{out:g} "
                    f"per 1M in/out → {_money(after, cur)}/request",
                    how,
                    f"retraining every {a.retrain_interval_months:g} months → "
                    f"{_money(_retraining(parts, a), cur)}/month",
                    f"fixes min(accuracy gain {a.accuracy_gain:.0%}, {a.ft_max_fix_share:.0%} × structural "
                    f"{_structural_rate(p):.1%}) = {fixed:.1%} of requests"],
        notes=["accuracy gain is a prior until `advise evaluate` measures it",
               "risk: catastrophic forgetting outside the trained task"])


def _cost_ft_self_hosted(p: TrafficProfile, a: Assumptions, c0: float, coverage: float = 1.0) -> _Costing:
    """Small open-weight model on rented GPUs for `coverage` of traffic; the rest stays on the prompted model."""
    cur = p.currency
    volume = a.volume_per_day or p.requests_per_day
    tokens_in = a.short_prompt_tokens + p.variable_input_tokens
    hosting = roi.gpu_hosting_monthly(volume * coverage, tokens_in, p.output_tokens, a.gpu_prefill_tokens_s,
                                      a.gpu_throughput_tokens_s, a.gpu_utilisation, a.gpu_hour_price,
                                      a.gpu_always_on) if coverage > 0 else 0.0
    after = (1 - coverage) * c0  # covered requests cost GPU time (fixed_monthly), not tokens
    parts, how = _one_time_ft(p, a, hosted=False)
    ok, why = _ft_eligibility(p)
    fixed = _ft_fix_rate(p, a) * coverage
    lines = [f"{coverage:.0%} of traffic on a self-hosted small model: GPUs {_money(hosting, cur)}/month "
             f"({cur} {a.gpu_hour_price:g}/h, {a.gpu_throughput_tokens_s:,.0f} output tok/s, "
             f"{a.gpu_utilisation:.0%} load{', ≥1 GPU always on' if a.gpu_always_on else ''})"]
    if coverage < 1:
        lines.append(f"{1 - coverage:.0%} stays on {p.model} at {_money(c0, cur)}/request")
    lines += [how, f"retraining every {a.retrain_interval_months:g} months → "
                   f"{_money(_retraining(parts, a), cur)}/month",
              f"fixes {fixed:.1%} of requests (structural failures on the covered traffic)"]
    return _Costing(cost_after=after, fixed_monthly=hosting, one_time=parts,
                    recurring={"retraining": _retraining(parts, a)}, failure_rate_fixed=fixed,
                    eligible=ok, eligibility=why, arithmetic=lines,
                    notes=["a 1–8B model needs its own evaluation before it replaces the large one",
                           "accuracy gain is a prior until `advise evaluate` measures it"])


class _Spec(BaseModel):
    key: str
    name: str
    kind: StrategyKind
    addresses: str


STRATEGIES: list[_Spec] = [
    _Spec(key="prompting", name="Keep prompting (improve the prompt)", kind="prompting",
          addresses="scattered one-off failures; no training cost"),
    _Spec(key="caching", name="Prompt caching", kind="caching", addresses="cost of a repeated static prefix"),
    _Spec(key="rag", name="RAG (retrieve current documents)", kind="rag", addresses="knowledge failures"),
    _Spec(key="fine-tune-hosted", name="LoRA fine-tune, hosted", kind="fine-tune",
          addresses="structural failures; static prompt baked in"),
    _Spec(key="fine-tune-self-hosted", name="LoRA fine-tune, small self-hosted model", kind="fine-tune",
          addresses="structural failures; no per-token price"),
    _Spec(key="hybrid", name="Hybrid: fine-tuned small model + prompted model", kind="hybrid",
          addresses="recurring families on the small model, the rest prompted"),
]


def _costing(key: str, p: TrafficProfile, a: Assumptions, c0: float) -> _Costing:
    if key == "prompting":
        return _cost_prompting(p, a, c0)
    if key == "caching":
        return _cost_caching(p, a, c0)
    if key == "rag":
        return _cost_rag(p, a, c0)
    if key == "fine-tune-hosted":
        return _cost_ft_hosted(p, a, c0)
    if key == "fine-tune-self-hosted":
        return _cost_ft_self_hosted(p, a, c0)
    if key == "hybrid":
        return _cost_ft_self_hosted(p, a, c0, coverage=a.hybrid_coverage if a.hybrid_coverage is not None else 0.7)
    raise KeyError(key)


class _Central(BaseModel):
    """Central ROI numbers of one strategy."""

    costing: _Costing
    c0: float
    baseline_monthly: float
    monthly_run: float
    one_time: float
    recurring: float
    avoided: float
    failure_value: float
    monthly_net: float
    payback: float | None
    net_12m: float


def _central(key: str, p: TrafficProfile, a: Assumptions) -> _Central:
    c0 = baseline_cost_per_request(p)
    v = a.volume_per_day or p.requests_per_day
    cost = _costing(key, p, a, c0)
    base_m = roi.monthly_run_cost(v, c0)
    run_m = roi.monthly_run_cost(v, cost.cost_after, cost.fixed_monthly)
    one = sum(cost.one_time.values())
    rec = sum(cost.recurring.values())
    avoided = roi.failures_avoided_monthly(v, cost.failure_rate_fixed)
    fc = a.failure_cost or 0.0
    net = roi.monthly_net_value(base_m, run_m, avoided, fc, rec)
    return _Central(costing=cost, c0=c0, baseline_monthly=base_m, monthly_run=run_m, one_time=one, recurring=rec,
                    avoided=avoided, failure_value=avoided * fc, monthly_net=net,
                    payback=roi.payback_days(one, net), net_12m=roi.horizon_net_value(net, one, a.horizon_months))


# ---------------------------------------------------------------- what-if helpers (pure)


def at_volume(a: Assumptions, volume: float) -> Assumptions:
    return a.with_values(volume_per_day=volume)


def _with_input(p: TrafficProfile, a: Assumptions, name: str, value: float) -> tuple[TrafficProfile, Assumptions]:
    """Move one input (an assumption, or the measured static prompt) for sensitivity and flips."""
    if name == "static_prefix_tokens":
        ratio = value / p.static_prefix_tokens if p.static_prefix_tokens else 0.0
        fams = [f.model_copy(update={"static_prefix_tokens": f.static_prefix_tokens * ratio}) for f in p.families]
        return p.model_copy(update={"static_prefix_tokens": value, "families": fams}), a
    if name == "examples_needed":
        return p, a.with_values(examples_needed=max(1, round(value)))
    if name in ("rag_k", "epochs"):
        return p, a.with_values(**{name: max(1, round(value))})
    return p, a.with_values(**{name: value})


def _bootstrap_profiles(p: TrafficProfile, a: Assumptions) -> list[TrafficProfile]:
    """Profiles from day-resampled logs: volume and tokens per request vary as the days did."""
    days = [d for d in p.days if d.requests > 0]
    if len(days) < 3:
        return []
    base_req = sum(d.requests for d in days) / len(days)
    tot = {k: sum(getattr(d, k) for d in days) for k in ("requests", "input_tokens", "static_tokens",
                                                           "output_tokens")}
    out = []
    for idx in roi.bootstrap_indices(len(days), BOOTSTRAP_ITERATIONS, seed=0):
        pick = [days[i] for i in idx]
        req = sum(d.requests for d in pick)
        if req <= 0:
            continue

        def ratio(field: str, pick: list[DaySample] = pick, req: float = req) -> float:
            base = tot[field] / tot["requests"]
            return (sum(getattr(d, field) for d in pick) / req) / base if base else 1.0

        static = p.static_prefix_tokens * ratio("static_tokens")
        variable_in = max(0.0, p.input_tokens * ratio("input_tokens") - static)
        out.append(p.model_copy(update={
            "requests_per_day": p.requests_per_day * (req / len(pick)) / base_req,
            "static_prefix_tokens": static, "variable_input_tokens": variable_in,
            "output_tokens": p.output_tokens * ratio("output_tokens")}))
    return out


def _prior_extremes(key: str, p: TrafficProfile, a: Assumptions,
                    span_map: dict[str, tuple[float, float]]) -> tuple[_Central, _Central]:
    """Pessimistic and optimistic ends of the priors: each spanned input at the side that hurts/helps most."""
    worst: dict[str, float] = {}
    best: dict[str, float] = {}
    for name, (lo, hi) in span_map.items():
        if name in ("volume_per_day", "failure_cost"):
            continue
        values = {}
        for side in (lo, hi):
            p2, a2 = _with_input(p, a, name, side)
            values[side] = _central(key, p2, a2).net_12m
        if values[lo] == values[hi]:
            continue
        worst[name], best[name] = (lo, hi) if values[lo] < values[hi] else (hi, lo)

    def apply(moves: dict[str, float]) -> _Central:
        p2, a2 = p, a
        for n, val in moves.items():
            p2, a2 = _with_input(p2, a2, n, val)
        return _central(key, p2, a2)

    return apply(worst), apply(best)


def _range(central: float | None, values: list[float | None], basis: str, never_high: bool = True) -> roi.Range:
    finite = [v for v in values if v is not None]
    if not finite:
        return roi.Range(value=central, low=None, high=None, basis=basis)
    low = min(finite)
    high = None if never_high and any(v is None for v in values) else max(finite)
    return roi.Range(value=central, low=low, high=high, basis=basis)


def _break_even_volume(key: str, p: TrafficProfile, a: Assumptions) -> float | None:
    """Requests/day at which the horizon net value crosses zero (bisection: GPU costs step with volume)."""
    def positive(v: float) -> bool:
        return _central(key, p, at_volume(a, v)).net_12m > 0

    lo, hi = 1.0, 1e7
    if positive(lo):
        return 0.0  # pays at any volume we model
    if not positive(hi):
        return None
    return roi.solve_threshold(positive, lo, hi)


def _break_even_failure_cost(key: str, p: TrafficProfile, a: Assumptions, central: _Central) -> float | None:
    """The failure cost at which the horizon net value is zero (linear in failure cost)."""
    if central.avoided <= 0:
        return None
    months = a.horizon_months
    money_only = central.net_12m - months * central.avoided * (a.failure_cost or 0.0)
    fc = -money_only / (months * central.avoided)
    return max(0.0, fc)


def evaluate_strategies(profile: TrafficProfile, assumptions: Assumptions, *,
                        with_ranges: bool = True) -> list[StrategyResult]:
    """Cost every strategy on the profile; ranges from a day bootstrap and from the priors' spans."""
    a = resolve(profile, assumptions)
    cur = profile.currency
    span_map = spans(profile, a) if with_ranges else {}
    boot = _bootstrap_profiles(profile, a) if with_ranges else []
    boot_basis = (f"10th–90th percentile of {len(boot)} bootstrap resamples of {len(profile.days)} logged days"
                  if boot else "no day series to bootstrap")
    results = []
    for spec in STRATEGIES:
        c = _central(spec.key, profile, a)
        net_vals: list[float | None] = [c.monthly_net]
        pay_vals: list[float | None] = [c.payback]
        n12_vals: list[float | None] = [c.net_12m]
        basis = "central estimate only"
        if with_ranges:
            if boot:
                samples = [_central(spec.key, bp, a.with_values(source=a.source("volume_per_day"),
                                                                volume_per_day=(a.volume_per_day or 1)
                                                                * bp.requests_per_day / profile.requests_per_day))
                           for bp in boot]
                for vals, get in ((net_vals, lambda s: s.monthly_net), (n12_vals, lambda s: s.net_12m)):
                    vals += list(roi.bootstrap_range([get(s) for s in samples], never_high=False))
                pay_vals += list(roi.bootstrap_range([s.payback for s in samples]))
            worst, best = _prior_extremes(spec.key, profile, a, span_map)
            net_vals += [worst.monthly_net, best.monthly_net]
            n12_vals += [worst.net_12m, best.net_12m]
            pay_vals += [worst.payback, best.payback]
            basis = f"{boot_basis}; and the priors' spans (all at their worst / best)"
        be_vol = _break_even_volume(spec.key, profile, a) if with_ranges else None
        results.append(StrategyResult(
            key=spec.key, name=spec.name, kind=spec.kind, addresses=spec.addresses, currency=cur,
            eligible=c.costing.eligible, eligibility=c.costing.eligibility,
            cost_per_request_before=c.c0, cost_per_request_after=c.costing.cost_after,
            per_request_saving_share=roi.per_request_saving_share(c.c0, c.costing.cost_after),
            baseline_monthly_cost=c.baseline_monthly, monthly_run_cost=c.monthly_run, one_time_cost=c.one_time,
            one_time_breakdown=c.costing.one_time, recurring_monthly=c.recurring,
            recurring_breakdown=c.costing.recurring, failure_rate_before=profile.failure_rate,
            failure_rate_after=max(0.0, profile.failure_rate - c.costing.failure_rate_fixed),
            failures_avoided_per_month=c.avoided, failure_value_monthly=c.failure_value,
            monthly_net_value=_range(c.monthly_net, net_vals, basis, never_high=False),
            payback_days=_range(c.payback, pay_vals, basis),
            net_value_12m=_range(c.net_12m, n12_vals, basis, never_high=False),
            break_even_volume_per_day=be_vol,
            break_even_failure_cost=_break_even_failure_cost(spec.key, profile, a, c),
            arithmetic=c.costing.arithmetic + _roi_lines(c, a, cur), notes=c.costing.notes))
    return results


def _roi_lines(c: _Central, a: Assumptions, cur: str) -> list[str]:
    v = a.volume_per_day or 0
    saved = c.baseline_monthly - c.monthly_run
    lines = [f"per request {_money(c.c0, cur)} → {_money(c.costing.cost_after, cur)} "
             f"({roi.per_request_saving_share(c.c0, c.costing.cost_after):.1%} saved)",
             f"monthly: {v:,.0f} req/day × 30 → run cost {_money(c.baseline_monthly, cur)} → "
             f"{_money(c.monthly_run, cur)} (saves {_money(saved, cur)})",
             f"failures avoided {c.avoided:,.0f}/month × {_money(a.failure_cost or 0, cur)} = "
             f"{_money(c.failure_value, cur)}/month",
             f"net {_money(saved, cur)} + {_money(c.failure_value, cur)} − recurring {_money(c.recurring, cur)} = "
             f"{_money(c.monthly_net, cur)}/month"]
    if c.payback is not None:
        lines.append(f"payback {_money(c.one_time, cur)} ÷ ({_money(c.monthly_net, cur)} ÷ 30 days) = "
                     f"{c.payback:,.1f} days")
    else:
        lines.append(f"never pays back the one-time {_money(c.one_time, cur)}")
    lines.append(f"{a.horizon_months:g}-month net: {a.horizon_months:g} × {_money(c.monthly_net, cur)} − "
                 f"{_money(c.one_time, cur)} = {_money(c.net_12m, cur)}")
    return lines


# ---------------------------------------------------------------- ranking and rules


def choose_winner(results: list[StrategyResult], profile: TrafficProfile,
                  assumptions: Assumptions) -> tuple[list[str], list[str]]:
    """Rank by horizon net value among eligible strategies, then apply the seed rules. → (ranking, rules)."""
    a = resolve(profile, assumptions)
    by_key = {r.key: r for r in results}

    def value(r: StrategyResult) -> float:
        return r.net_value_12m.value or 0.0

    ranked = sorted(results, key=lambda r: (not r.eligible, -value(r)))
    ranking = [r.key for r in ranked]
    rules: list[str] = []
    winner = ranking[0]
    knowledge_rate = profile.failure_rate * profile.knowledge_share
    rag = by_key.get("rag")
    if (rag is not None and rag.eligible and profile.knowledge_share >= 0.5 and knowledge_rate >= 0.05
            and a.source("failure_cost") != "user" and winner != "rag"):
        winner = "rag"
        rules.append(f"knowledge failures dominate ({profile.knowledge_share:.0%} of failures, "
                     f"{knowledge_rate:.1%} of requests) and only RAG fixes them; the failure cost was not given, "
                     "so the default (one retry) understates them — RAG first (seed rule)")
    prompting = by_key["prompting"]
    if winner not in ("prompting", "rag") or (winner == "rag" and not rules):
        margin = a.materiality * by_key[winner].baseline_monthly_cost * a.horizon_months
        if value(by_key[winner]) - value(prompting) <= margin:
            rules.append(f"{by_key[winner].name} beats prompting by less than {a.materiality:.0%} of the "
                         f"{a.horizon_months:g}-month spend — prompting first (seed rule)")
            winner = "prompting"
    if winner != ranking[0]:
        ranking.remove(winner)
        ranking.insert(0, winner)
    return ranking, rules


def winner_of(profile: TrafficProfile, assumptions: Assumptions) -> str:
    """The winning strategy key, central estimates only (fast; used to solve flip points)."""
    results = evaluate_strategies(profile, assumptions, with_ranges=False)
    return choose_winner(results, profile, assumptions)[0][0]


FLIP_INPUTS: dict[str, tuple[float, float]] = {
    # input → (lowest, highest) value searched for a flip
    "volume_per_day": (1.0, 1e7),
    "failure_cost": (0.0, 100.0),
    "accuracy_gain": (0.0, 1.0),
    "examples_needed": (100.0, 50_000.0),
    "training_price_per_1m": (0.0, 200.0),
}


def _flip_search(profile: TrafficProfile, a: Assumptions, name: str, current: float, lo: float, hi: float,
                 winner: str, name_of: dict[str, str]) -> list[FlipCondition]:
    """Nearest value below and above `current` where the winner changes (grid scan, then bisection)."""
    def who(x: float) -> str:
        p2, a2 = _with_input(profile, a, name, x)
        return winner_of(p2, a2)

    unit = SPECS[name].unit.format(cur=profile.currency) if name in SPECS else ""
    out: list[FlipCondition] = []
    if who(current) != winner:  # the winner rests on a rule this input would switch off (e.g. unknown failure cost)
        return out
    geometric = lo > 0
    for direction, end in (("below", lo), ("above", hi)):
        if (direction == "below" and current <= lo) or (direction == "above" and current >= hi):
            continue
        steps = 24
        prev = current
        for i in range(1, steps + 1):
            t = i / steps
            x = current * (end / current) ** t if geometric and current > 0 else current + (end - current) * t
            w = who(x)
            if w != winner:
                threshold = roi.solve_threshold(lambda y: who(y) == winner, prev, x)
                after = who(threshold)
                if after == winner:  # pragma: no cover - bisection returns the changed side
                    continue
                text = (f"{direction} {_fmt_value(name, threshold, profile.currency)}, "
                        f"{name_of.get(after, after)} wins")
                out.append(FlipCondition(assumption=name, unit=unit, current=current, threshold=threshold,
                                         direction=direction, winner_after=after, text=text))
                break
            prev = x
    return out


def _fmt_value(name: str, x: float, cur: str) -> str:
    if name == "volume_per_day":
        return f"{x:,.0f} requests/day"
    if name == "failure_cost":
        return f"a failure cost of {cur} {x:,.3g}"
    if name == "accuracy_gain":
        return f"an accuracy gain of {x:.0%}"
    if name == "examples_needed":
        return f"{x:,.0f} curated examples"
    if name == "training_price_per_1m":
        return f"a training price of {cur} {x:,.3g}/1M tokens"
    return f"{name} = {x:,.4g}"


def flip_conditions(profile: TrafficProfile, assumptions: Assumptions, winner: str) -> list[FlipCondition]:
    """Where one input would change the winner, nearest first for each input."""
    a = resolve(profile, assumptions)
    name_of = {s.key: s.name for s in STRATEGIES}
    out: list[FlipCondition] = []
    for name, (lo, hi) in FLIP_INPUTS.items():
        if name == "training_price_per_1m" and a.training_cost is not None:
            continue
        current = float(getattr(a, name))
        out += _flip_search(profile, a, name, current, lo, hi, winner, name_of)
    return out


def _sensitivity(profile: TrafficProfile, a: Assumptions, key: str) -> list[roi.SensitivityRow]:
    """Which input moves this strategy's payback most (one at a time, low/high)."""
    v = a.volume_per_day or profile.requests_per_day
    kind = a.task_kind if a.task_kind != "auto" else task_kind(profile)
    n = float(a.examples_needed or EXAMPLES_BY_TASK[kind][0])
    span_map: dict[str, tuple[float, float]] = {"volume_per_day": (v / 2, v * 2)}
    ex_span = spans(profile, a).get("examples_needed", (n / 2, n * 2))
    span_map["examples_needed"] = ex_span
    if a.training_cost is not None:
        span_map["training_cost"] = (a.training_cost / 2, a.training_cost * 2)
    else:
        span_map["training_price_per_1m"] = a.span("training_price_per_1m") or (a.training_price_per_1m / 2,
                                                                                 a.training_price_per_1m * 2)
    span_map["accuracy_gain"] = a.span("accuracy_gain") or (a.accuracy_gain / 2, min(1.0, a.accuracy_gain * 1.5))
    s = profile.static_prefix_tokens
    span_map["static_prefix_tokens"] = (s * 0.8, s * 1.2)
    fc = a.failure_cost or 0.0
    span_map["failure_cost"] = (fc / 2, fc * 2)
    span_map["cost_per_example"] = a.span("cost_per_example") or (a.cost_per_example / 2, a.cost_per_example * 2)
    units = {k: (SPECS[k].unit.format(cur=profile.currency) if k in SPECS else "tokens/request") for k in span_map}
    base = {k: (lo + hi) / 2 for k, (lo, hi) in span_map.items()}

    def model(inputs: dict[str, float]) -> tuple[float | None, float]:
        moved = [k for k in inputs if inputs[k] != base[k]]
        p2, a2 = profile, a
        for k in moved:
            p2, a2 = _with_input(p2, a2, k, inputs[k])
        c = _central(key, p2, a2)
        return c.payback, c.net_12m

    return roi.sensitivity(base, span_map, units, model)


def recommend(results: list[StrategyResult], profile: TrafficProfile, assumptions: Assumptions) -> Recommendation:
    """The ranked answer in plain words, the numbers that decided it and when it would flip."""
    a = resolve(profile, assumptions)
    by_key = {r.key: r for r in results}
    ranking, rules = choose_winner(results, profile, a)
    win = by_key[ranking[0]]
    cur = profile.currency
    v = a.volume_per_day or profile.requests_per_day
    flips = flip_conditions(profile, a, win.key)
    sens_key = win.key if win.one_time_cost > 0 else next(
        (k for k in ranking if by_key[k].kind == "fine-tune"), None)
    sens = _sensitivity(profile, a, sens_key) if sens_key else []

    facts: list[str] = []
    if profile.static_prefix_tokens > 0:
        facts.append(f"{profile.static_share:.0%} of input tokens are a static {profile.static_prefix_tokens:,.0f}-token "
                     "prompt prefix")
    if profile.failure_rate > 0:
        facts.append(f"{profile.failure_rate:.1%} of answers fail ({profile.failure_source}); "
                     f"{profile.structural_share:.0%} structural (format/style), "
                     f"{profile.knowledge_share:.0%} knowledge, {profile.other_share:.0%} scattered")
    else:
        facts.append("no failures detected")
    facts.append(f"volume {v:,.0f} requests/day ({a.source('volume_per_day')}), "
                 f"{_money(win.cost_per_request_before, cur)}/request ({_price_label(profile.prices)})")
    pay = win.payback_days
    if pay.value is not None and win.one_time_cost > 0:
        band = f" ({pay.low:,.0f}–{pay.high:,.0f})" if pay.low is not None and pay.high is not None else \
            f" ({pay.low:,.0f}–never)" if pay.low is not None else ""
        facts.append(f"at {v:,.0f} requests/day {win.name} pays back in {pay.value:,.0f} days{band}")
    n12 = win.net_value_12m
    facts.append(f"{a.horizon_months:g}-month net value {_money(n12.value or 0, cur)} "
                 f"({_money(n12.low or 0, cur)} to {_money(n12.high or 0, cur)})")
    if win.per_request_saving_share:
        verb = "saves" if win.per_request_saving_share > 0 else "adds"
        facts.append(f"it {verb} {abs(win.per_request_saving_share):.0%} per request "
                     f"({_money(win.cost_per_request_before, cur)} → {_money(win.cost_per_request_after, cur)})")
    runner = next((by_key[k] for k in ranking[1:] if by_key[k].eligible), None)
    explanation = [f"Recommended: {win.name}. " + "; ".join(facts) + "."]
    explanation.append(f"Why: {win.eligibility}.")
    explanation += [f"Rule: {r}." for r in rules]
    if runner is not None:
        explanation.append(f"Runner-up: {runner.name} ({a.horizon_months:g}-month net "
                           f"{_money(runner.net_value_12m.value or 0, cur)}).")
    if win.break_even_failure_cost is not None and (win.net_value_12m.value or 0) <= 0:
        explanation.append(f"In money terms {win.name} pays for itself once a failure costs more than "
                           f"{_money(win.break_even_failure_cost, cur)} — set --failure-cost to yours.")
    explanation += [f"It would flip: {f.text}." for f in flips]
    headline = f"{win.name}" + (f": pays back in {pay.value:,.0f} days" if pay.value and win.one_time_cost else "")
    deciding: dict[str, float | str | None] = {
        "volume_per_day": v, "static_prefix_tokens": profile.static_prefix_tokens,
        "static_share_of_input": profile.static_share, "failure_rate": profile.failure_rate,
        "structural_share": profile.structural_share, "knowledge_share": profile.knowledge_share,
        "winner_payback_days": pay.value, "winner_net_value_12m": n12.value, "currency": cur,
    }
    return Recommendation(winner=win.key, winner_name=win.name, ranking=ranking, headline=headline,
                          explanation=explanation, deciding_numbers=deciding, rules_applied=rules,
                          flip_conditions=flips, sensitivity_strategy=sens_key, sensitivity=sens)


def _price_label(prices: Prices) -> str:
    """Price table name and date, once."""
    if prices.date and prices.date not in prices.source:
        return f"{prices.source}, prices of {prices.date}"
    return prices.source


def decide(profile: TrafficProfile, assumptions: Assumptions | None = None) -> Decision:
    """Strategies, recommendation and the assumptions behind them, ready for analysis.json."""
    a = resolve(profile, assumptions or Assumptions())
    results = evaluate_strategies(profile, a)
    rec = recommend(results, profile, a)
    order = {k: i for i, k in enumerate(rec.ranking)}
    results.sort(key=lambda r: order[r.key])
    return Decision(currency=profile.currency, price_source=_price_label(profile.prices),
                    volume_per_day=a.volume_per_day or profile.requests_per_day, strategies=results,
                    recommendation=rec, assumptions=assumption_table(a, profile.currency))

