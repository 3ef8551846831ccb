"""Hybrid routing: the prompt families a fine-tuned open-weight model does well go to it, the rest stay.

A family is routed when it is recurring (≥ `HYBRID_MIN_FAMILY_SHARE` of traffic), its failures are
not knowledge failures (those need current facts, not training) and moving it pays per request
after the small model's regression and the router's misroutes. Routing every family is the full
switch (its own strategy), so a hybrid needs at least one family left on the production model.
"""

from __future__ import annotations

from advisor.decision import roi
from advisor.decision.strategies import finetune as ft
from advisor.decision.strategies.base import (
    Costing,
    Ctx,
    FamilyProfile,
    FineTuneKind,
    StrategySpec,
    money,
    with_failures,
)
from advisor.decision.strategies.ft_open import cheapest_serverless, training_terms

SPEC = StrategySpec(key="hybrid", name="Hybrid: route prompt families to a fine-tuned open-weight model",
                    kind="hybrid", addresses="recurring families on the small model, the rest unchanged", complexity=4)

HYBRID_MIN_FAMILY_SHARE = 0.05  # a family under 5% of traffic has too few examples to train on
HYBRID_MAX_KNOWLEDGE_SHARE = 0.3  # families whose failures are ≥ 30% knowledge stay on the production model


def stays(fam: FamilyProfile) -> bool:
    """A family whose own failures are mostly not structural: a small adapter would not fix them (and may add)."""
    return (fam.failure_rate is not None and fam.structural_share is not None and fam.failure_rate > 0
            and fam.structural_share < 0.5 and (1 - fam.structural_share) >= HYBRID_MAX_KNOWLEDGE_SHARE)


def families_that_stay(p) -> list[FamilyProfile]:  # noqa: ANN001 - TrafficProfile (import cycle-free)
    """Recurring families the full open-weight switch should not take (per-family failure data needed)."""
    return [f for f in p.families if f.share_of_requests >= HYBRID_MIN_FAMILY_SHARE and stays(f)]


def _family_value(ctx: Ctx, fam: FamilyProfile, offer) -> tuple[float, float, float, float]:
    """→ (value per moved request, cost before, cost after, failures fixed) for moving one family."""
    p, a = ctx.p, ctx.a
    var = fam.variable_input_tokens if fam.variable_input_tokens is not None else p.variable_input_tokens
    before = roi.request_cost(fam.static_prefix_tokens + var, p.output_tokens, p.prices.input_mtok,
                             p.prices.output_mtok or 0.0)
    after = roi.request_cost(a.short_prompt_tokens + var, p.output_tokens, offer.input or 0.0, offer.output or 0.0)
    rate = fam.failure_rate if fam.failure_rate is not None else p.failure_rate
    share = fam.structural_share if fam.structural_share is not None else p.structural_share
    # a family's non-structural failures split as the traffic's do (families carry only their structural share)
    rest = p.knowledge_share + p.other_share
    k_part = (1 - share) * (p.knowledge_share / rest) if rest else 0.0
    fixed = sum(ft.fixes_by_kind(rate, {"structural": share, "knowledge": k_part, "other": (1 - share) - k_part},
                                 a).values())
    fc = a.failure_cost or 0.0
    value = before - after + (fixed - a.small_model_regression - a.misroute_rate) * fc
    return value, before, after, fixed


def cost(ctx: Ctx) -> Costing:
    p, a, cur = ctx.p, ctx.a, ctx.cur
    base = dict(cost_after=ctx.c0, fine_tune_kind=FineTuneKind.HYBRID, target=p.model, served="two models")
    offer = cheapest_serverless(ctx)
    if offer is None:
        return Costing(**base, eligible=False, eligibility="the offers list no serverless LoRA platform to route to")
    fams = [f for f in p.families if f.share_of_requests > 0]
    if len(fams) < 2:
        return Costing(**base, eligible=False,
                       eligibility="one prompt family: routing it all is the full open-weight fine-tune, not a hybrid")
    moved: list[FamilyProfile] = []
    stay: list[tuple[FamilyProfile, str]] = []
    saving = fixed_total = 0.0
    lines = []
    for fam in fams:
        if fam.share_of_requests < HYBRID_MIN_FAMILY_SHARE:
            stay.append((fam, f"{fam.share_of_requests:.0%} of traffic (< {HYBRID_MIN_FAMILY_SHARE:.0%})"))
            continue
        if stays(fam):
            stay.append((fam, "its failures are mostly not structural (knowledge/scattered): training does not fix "
                              "them"))
            continue
        # valued only when it could move: a log with hundreds of small families made this the Monte Carlo's cost
        value, before, after, fixed = _family_value(ctx, fam, offer)
        if value <= 0:
            stay.append((fam, f"moving it loses {money(-value, cur)}/request"))
        else:
            moved.append(fam)
            saving += fam.share_of_requests * (before - after)
            fixed_total += fam.share_of_requests * fixed
            lines.append(f"{fam.name} ({fam.share_of_requests:.0%} of traffic) → {offer.base_model}: "
                         f"{money(before, cur)} → {money(after, cur)}/request, fixes {fixed:.1%}")
    coverage = sum(f.share_of_requests for f in moved)
    routing = {f"{offer.base_model} + LoRA ({offer.vendor})": [f.name for f in moved],
               p.model: [f.name for f, _ in stay]}
    if not moved:
        return Costing(**base, eligible=False, routing=routing,
                       eligibility="no prompt family pays to move: " + "; ".join(f"{f.name}: {w}" for f, w in stay))
    if not stay:
        return Costing(**base, eligible=False, routing=routing,
                       eligibility="every prompt family would move: that is the full open-weight fine-tune")
    ok, why = ft.eligibility(p, a)
    if not ok and "clean examples" in why:
        return Costing(**base, eligible=False, eligibility=why, routing=routing)
    train = training_terms(ctx, offer)
    if train is None:
        return Costing(**base, eligible=False, routing=routing,
                       eligibility=f"no training price for {offer.base_model} in the offers")
    parts, how = ft.one_time(ctx, train[0], gpu_hour=train[1])
    parts["router"] = a.router_setup_cost
    retrain = ft.retraining(parts, a)
    added = coverage * (a.small_model_regression + a.misroute_rate)
    lines += [f"stays on {p.model}: " + "; ".join(f"{f.name} ({w})" for f, w in stay),
              f"coverage {coverage:.0%} of requests; router by system-prompt hash, misroutes {a.misroute_rate:.0%} "
              f"and small-model regression {a.small_model_regression:.0%} of moved requests → "
              f"+{added:.2%} failures", how + f" + router {money(a.router_setup_cost, cur)}",
              f"retraining every {a.retrain_interval_months:g} months → {money(retrain, cur)}/month"]
    return Costing(
        cost_after=ctx.c0 - saving, one_time=parts, recurring={"retraining": retrain}, failure_rate_fixed=fixed_total,
        failure_rate_added=added, eligible=True,
        eligibility=f"{len(moved)} of {len(fams)} prompt families ({coverage:.0%} of traffic) pay to move; "
                    f"the rest stay on {p.model}",
        fine_tune_kind=FineTuneKind.HYBRID, target=f"{offer.base_model} + LoRA for routed families; {p.model} for the rest",
        served=f"{offer.vendor} (serverless LoRA) + {p.provider or 'the production provider'}", routing=routing,
        arithmetic=lines, notes=["per-family failure rates decide the routing; without them every family looks "
                                 "alike (the analysis's rate applies)"],
        after=with_failures(p, {"structural": fixed_total}))
