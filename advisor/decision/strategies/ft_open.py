"""Fine-tune (distil) an open-weight model: served per token as a serverless LoRA, or on dedicated GPUs.

Serverless multi-LoRA platforms bill an uploaded adapter per token at the base model's price; the
production model's passing answers are the training data. Dedicated GPUs are sized for the peak
hour (burstiness), kept redundant (`gpu_replicas`) and operated (`gpu_ops_monthly`).
"""

from __future__ import annotations

import math

from advisor.decision import roi
from advisor.decision.assumptions import HOURS_PER_MONTH
from advisor.decision.strategies import finetune as ft
from advisor.decision.strategies.base import (
    Costing,
    Ctx,
    FineTuneKind,
    StrategySpec,
    TrafficProfile,
    money,
    with_failures,
    with_prices,
)
from advisor.decision.strategies.market import OpenWeightOffer

SERVERLESS = StrategySpec(key="fine-tune-serverless", name="Fine-tune an open-weight model, serverless LoRA",
                          kind="fine-tune", addresses="structural failures; base-model price per token",
                          complexity=3)
DEDICATED = StrategySpec(key="fine-tune-gpu", name="Fine-tune an open-weight model on dedicated GPUs",
                         kind="fine-tune", addresses="structural failures; no per-token price at high volume",
                         complexity=4)


def per_request(p: TrafficProfile, offer: OpenWeightOffer, short: float) -> float:
    return roi.request_cost(short + p.variable_input_tokens, p.output_tokens, offer.input or 0.0, offer.output or 0.0)


def cheapest_serverless(ctx: Ctx) -> OpenWeightOffer | None:
    """The cheapest serverless base model of at least `open_weight_min_params_b` (unknown sizes count)."""
    offers = [o for o in (ctx.m.serverless() if ctx.m is not None else [])
              if o.params_b is None or o.params_b >= ctx.a.open_weight_min_params_b]
    return min(offers, key=lambda o: per_request(ctx.p, o, ctx.a.short_prompt_tokens), default=None)


def training_terms(ctx: Ctx, offer: OpenWeightOffer) -> tuple[float | None, float | None] | None:
    """(price per 1M training tokens, GPU-hour price) to train the adapter; None when nothing prices it."""
    a, m = ctx.a, ctx.m
    if a.training_price_per_1m is not None or a.training_cost is not None:
        return a.training_price_per_1m, None
    if offer.training_per_1m is not None:
        return offer.training_per_1m, None
    hour = a.gpu_hour_price if a.gpu_hour_price is not None else min(
        (o.gpu_hour for o in (m.dedicated() if m is not None else []) if o.gpu_hour is not None), default=None)
    return (None, hour) if hour is not None else None


def after_profile(p: TrafficProfile, ctx: Ctx, fixed: float, offer: OpenWeightOffer) -> TrafficProfile:
    prices = with_prices(p.prices, input_mtok=offer.input or 0.0, output_mtok=offer.output or 0.0,
                         cached_input_mtok=None, cache_write_mtok=None, source=offer.source)
    return with_failures(p, ft.fixes(p, ctx.a)).model_copy(update={
        "static_prefix_tokens": ctx.a.short_prompt_tokens, "prices": prices, "market": None,
        "cache_read_tokens": 0.0, "cache_write_tokens": 0.0, "model": offer.base_model, "provider": offer.vendor,
        "families": []})


def _whole_traffic(ctx: Ctx) -> tuple[bool, str]:
    """The full switch: fine-tune eligibility, and no recurring family whose failures training cannot fix."""
    from advisor.decision.strategies.hybrid import families_that_stay

    ok, why = ft.eligibility(ctx.p, ctx.a)
    keep = families_that_stay(ctx.p)
    if ok and keep:
        names = ", ".join(f"{f.name} ({f.share_of_requests:.0%})" for f in keep)
        return False, (f"moving all traffic would move {names}, whose failures are not structural: a small adapter "
                       "does not fix them (see the hybrid)")
    return ok, why


def serverless(ctx: Ctx) -> Costing:
    p, a, cur = ctx.p, ctx.a, ctx.cur
    offer = cheapest_serverless(ctx)
    base = dict(cost_after=ctx.c0, fine_tune_kind=FineTuneKind.SERVERLESS_LORA, target="open-weight model",
                served="serverless LoRA")
    if offer is None:
        return Costing(**base, eligible=False, eligibility="the offers list no serverless LoRA platform")
    ok, why = _whole_traffic(ctx)
    after = per_request(p, offer, a.short_prompt_tokens)
    train = training_terms(ctx, offer)
    if train is None:
        return Costing(**base, eligible=False,
                       eligibility=f"no training price for {offer.base_model}: the offers list neither a LoRA "
                                   "training price nor a GPU-hour price (set training_price_per_1m or gpu_hour_price)")
    parts, how = ft.one_time(ctx, train[0], gpu_hour=train[1])
    fixed = ft.fix_rate(p, a)
    retrain = ft.retraining(parts, a)
    return Costing(
        cost_after=after, one_time=parts, recurring={"retraining": retrain}, failure_rate_fixed=fixed,
        failure_rate_added=a.small_model_regression, eligible=ok, eligibility=why,
        fine_tune_kind=FineTuneKind.SERVERLESS_LORA, target=f"{offer.base_model} + LoRA adapter",
        served=f"{offer.vendor}, serverless LoRA billed per token at the base model's price",
        arithmetic=[f"prompt {p.input_tokens:,.0f} → {a.short_prompt_tokens + p.variable_input_tokens:,.0f} tokens "
                    f"on {offer.base_model} at {cur} {offer.input:g}/{offer.output:g} per 1M in/out "
                    f"({offer.source}) → {money(after, cur)}/request", how,
                    f"retraining every {a.retrain_interval_months:g} months → {money(retrain, cur)}/month",
                    f"{ft.fix_text(p, a)}; a small model adds {a.small_model_regression:.1%} new failures "
                    f"({_source(a)})"],
        notes=["distil from the production model's passing answers; evaluate the adapter before switching",
               "fix shares and regression are priors until `advise evaluate` measures them"],
        after=after_profile(p, ctx, fixed, offer))


def gpus_needed(ctx: Ctx, volume: float, tokens_in: float,
                throughput: float | None = None) -> tuple[int, float]:
    """GPUs for the peak hour at the target load, at least `gpu_replicas` for failover; → (GPUs, seconds/request).

    `throughput`: the offer's measured output tokens/s, used unless the user set gpu_throughput_tokens_s.
    """
    p, a = ctx.p, ctx.a
    out_s = throughput if throughput is not None and a.source("gpu_throughput_tokens_s") != "user" \
        else a.gpu_throughput_tokens_s
    sec = tokens_in / a.gpu_prefill_tokens_s + p.output_tokens / out_s
    peak = max(1.0, p.burstiness or 1.0)
    busy = volume / 86_400 * peak * sec / a.gpu_utilisation
    return max(a.gpu_replicas, math.ceil(busy)), sec


def dedicated(ctx: Ctx) -> Costing:
    p, a, cur, m = ctx.p, ctx.a, ctx.cur, ctx.m
    base = dict(cost_after=ctx.c0, fine_tune_kind=FineTuneKind.DEDICATED_GPU, target="open-weight model",
                served="dedicated GPUs")
    offers = m.dedicated() if m is not None else []
    tokens_in = a.short_prompt_tokens + p.variable_input_tokens

    def monthly(o: OpenWeightOffer) -> float:
        return gpus_needed(ctx, ctx.volume, tokens_in, o.throughput_tokens_s)[0] * (o.gpu_hour or 0.0)

    offer = min(offers, key=monthly, default=None) if a.gpu_hour_price is None else None
    hour = a.gpu_hour_price if a.gpu_hour_price is not None else (offer.gpu_hour if offer else None)
    if hour is None:
        return Costing(**base, eligible=False, eligibility="the offers list no dedicated GPU price")
    ok, why = _whole_traffic(ctx)
    n, sec = gpus_needed(ctx, ctx.volume, tokens_in, offer.throughput_tokens_s if offer else None)
    hosting = n * HOURS_PER_MONTH * hour
    parts, how = ft.one_time(ctx, None, gpu_hour=hour)
    fixed = ft.fix_rate(p, a)
    retrain = ft.retraining(parts, a)
    model = offer.base_model if offer else "an open-weight model"
    src = offer.source if offer else "your gpu_hour_price"
    return Costing(
        cost_after=0.0, fixed_monthly=hosting, one_time=parts,
        recurring={"retraining": retrain, "operations": a.gpu_ops_monthly}, failure_rate_fixed=fixed,
        failure_rate_added=a.small_model_regression, eligible=ok, eligibility=why,
        fine_tune_kind=FineTuneKind.DEDICATED_GPU, target=f"{model} + LoRA adapter",
        served=f"{n} dedicated {offer.gpu if offer and offer.gpu else 'GPU'}s"
               + (f" on {offer.vendor}" if offer else ""),
        arithmetic=[f"{n} GPUs × {HOURS_PER_MONTH:g} h × {cur} {hour:g}/h = {money(hosting, cur)}/month ({src}); "
                    f"{sec * 1000:,.0f} ms GPU time/request, peak hour ×{max(1.0, p.burstiness or 1.0):.1f}, "
                    f"{a.gpu_utilisation:.0%} load, ≥{a.gpu_replicas} replicas for failover",
                    f"operations {money(a.gpu_ops_monthly, cur)}/month", how,
                    f"retraining every {a.retrain_interval_months:g} months → {money(retrain, cur)}/month",
                    f"{ft.fix_text(p, a)}; a small model adds {a.small_model_regression:.1%} ({_source(a)})"],
        notes=["you run the inference: on-call, upgrades and capacity are yours"],
        after=with_failures(p, ft.fixes(p, a)).model_copy(update={
            "static_prefix_tokens": a.short_prompt_tokens, "market": None, "families": []}))


def _source(a) -> str:  # noqa: ANN001 - Assumptions
    return "measured" if a.source("small_model_regression") == "measured" else "prior"
