"""Improve the prompt (rules, few-shot examples): fixes part of the scattered failures for a few more tokens."""

from __future__ import annotations

from advisor.decision import roi
from advisor.decision.strategies.base import Costing, Ctx, StrategySpec, money, with_failures

SPEC = StrategySpec(key="prompting", name="Improve the prompt (rules, few-shot)", kind="prompting",
                    addresses="scattered one-off failures; no training cost", complexity=1)

PROMPT_MIN_SCATTERED_RATE = 0.005  # below 0.5% scattered failures of requests there is nothing for a prompt to fix


def cost(ctx: Ctx) -> Costing:
    p, a, cur = ctx.p, ctx.a, ctx.cur
    extra = roi.token_cost(a.prompt_extra_tokens, p.prices.input_mtok)
    scattered = p.failure_rate * p.other_share
    fixed = scattered * a.prompt_fix_share
    ok = scattered >= PROMPT_MIN_SCATTERED_RATE
    why = (f"{scattered:.1%} of requests fail in scattered one-offs: rules and few-shot examples address them"
           if ok else f"scattered failures {scattered:.1%} of requests < {PROMPT_MIN_SCATTERED_RATE:.1%}: "
                      "little for a better prompt to fix")
    after = with_failures(p, {"other": fixed}).model_copy(
        update={"static_prefix_tokens": p.static_prefix_tokens + a.prompt_extra_tokens})
    return Costing(
        cost_after=ctx.c0 + extra, failure_rate_fixed=fixed, eligible=ok, eligibility=why, target=p.model,
        served=p.provider or "as today", after=after,
        arithmetic=[f"+{a.prompt_extra_tokens:,.0f} prompt tokens × {cur} {p.prices.input_mtok:g}/1M = "
                    f"+{money(extra, cur)}/request",
                    f"fixes {a.prompt_fix_share:.0%} of scattered failures: {scattered:.1%} × "
                    f"{a.prompt_fix_share:.0%} = {fixed:.2%} of requests"])
