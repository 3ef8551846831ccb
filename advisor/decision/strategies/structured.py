"""Strict structured outputs: a JSON schema the provider enforces removes JSON format/schema failures, no training."""

from __future__ import annotations

from advisor.decision.strategies.base import Costing, Ctx, StrategySpec, with_failures

SPEC = StrategySpec(key="structured-outputs", name="Strict structured outputs (provider-enforced JSON schema)",
                    kind="structured-outputs", addresses="JSON format and schema violations", complexity=1)

STRUCTURED_MIN_RATE = 0.005  # JSON format/schema failures must reach 0.5% of requests to be worth a schema


def cost(ctx: Ctx) -> Costing:
    p, a, m = ctx.p, ctx.a, ctx.m
    rate = p.failure_rate * p.schema_share
    fixed = rate * a.structured_fix_share
    base = dict(cost_after=ctx.c0, target=p.model, served=p.provider or "as today")
    if m is None or not m.structured_outputs:
        return Costing(**base, eligible=False,
                       eligibility=f"the offers list no strict structured outputs for {p.model}")
    if rate < STRUCTURED_MIN_RATE:
        return Costing(**base, eligible=False,
                       eligibility=f"JSON format/schema failures are {rate:.2%} of requests "
                                   f"(< {STRUCTURED_MIN_RATE:.1%}): nothing for a schema to remove")
    return Costing(
        **base, one_time={"setup": a.structured_setup_cost}, failure_rate_fixed=fixed,
        eligibility=f"{p.schema_share:.0%} of failures are JSON format/schema violations and {p.model} enforces "
                    f"strict schemas ({m.structured_source or 'offers table'})",
        after=with_failures(p, {"schema": fixed}),
        arithmetic=[f"JSON format/schema failures {rate:.2%} of requests × {a.structured_fix_share:.0%} removed "
                    f"= {fixed:.2%} of requests, no training and no extra tokens"],
        notes=["a strict schema constrains decoding: the answer always parses and has every required field; "
               "refusals and truncations remain"])
