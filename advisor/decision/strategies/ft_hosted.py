"""Fine-tune the production model where its provider sells it; the horizon ends at the cut-off/retirement."""

from __future__ import annotations

from advisor.decision import roi
from advisor.decision.strategies import finetune as ft
from advisor.decision.strategies.base import (
    Costing,
    Ctx,
    FineTuneKind,
    StrategySpec,
    money,
    with_failures,
    with_prices,
)
from advisor.decision.strategies.market import months_between

SPEC = StrategySpec(key="fine-tune-hosted", name="Fine-tune the production model (hosted by its provider)",
                    kind="fine-tune", addresses="structural failures; static prompt baked in", complexity=3)


def cost(ctx: Ctx) -> Costing:
    p, a, m, cur = ctx.p, ctx.a, ctx.m, ctx.cur
    base = dict(cost_after=ctx.c0, fine_tune_kind=FineTuneKind.HOSTED, target=p.model,
                served=f"{p.provider or 'provider'} (fine-tuned)")
    offer = m.hosted_ft if m is not None else None
    if offer is None:
        note = (m.hosted_ft_note if m is not None and m.hosted_ft_note else
                f"the offers table lists no fine-tuning of {p.model}")
        return Costing(**base, eligible=False, eligibility=note)
    if offer.access == "closed":
        return Costing(**base, eligible=False, eligibility=f"fine-tuning of {offer.model} takes no new customers "
                                                           f"({offer.source})")
    if offer.access == "existing-customers" and not a.has_ft_access:
        return Costing(**base, eligible=False,
                       eligibility=f"{p.provider or 'the provider'} sells fine-tuning of {offer.model} only to "
                                   f"organisations that already have access ({offer.source}); if yours does, pass "
                                   "--has-openai-ft-access (has_ft_access = true)")
    assert m is not None
    if offer.job_cutoff is not None and offer.job_cutoff < m.today:
        return Costing(**base, eligible=False,
                       eligibility=f"no new fine-tuning jobs after {offer.job_cutoff} ({offer.source})")
    ok, why = ft.eligibility(p, a)
    inp = a.ft_input_price if a.ft_input_price is not None else offer.input
    out = a.ft_output_price if a.ft_output_price is not None else offer.output
    tokens_in = a.short_prompt_tokens + p.variable_input_tokens
    after = roi.request_cost(tokens_in, p.output_tokens, inp, out)
    train_price = a.training_price_per_1m if a.training_price_per_1m is not None else offer.training_per_1m
    parts, how = ft.one_time(ctx, train_price)
    fixed = ft.fix_rate(p, a)
    end = offer.retirement or offer.job_cutoff
    cap = months_between(m.today, end) if end is not None else None
    retrain = ft.retraining(parts, a)
    lines = [f"prompt {p.input_tokens:,.0f} → {tokens_in:,.0f} tokens (static {p.static_prefix_tokens:,.0f} baked in, "
             f"{a.short_prompt_tokens:,.0f} left) on fine-tuned {offer.model} at {cur} {inp:g}/{out:g} per 1M in/out "
             f"({offer.source}) → {money(after, cur)}/request", how,
             f"retraining every {a.retrain_interval_months:g} months → {money(retrain, cur)}/month",
             ft.fix_text(p, a)]
    added = ft.regression(a, small_model=False)
    if added:
        lines.append(f"adds {added:.1%} new failures (measured: incumbent passes the candidate broke)")
    notes = ["fix shares per failure kind are priors until `advise evaluate` measures them",
             "risk: catastrophic forgetting outside the trained task"]
    if end is not None:
        what = "retires" if offer.retirement else "takes no new jobs"
        lines.append(f"horizon ends {end} ({cap:.1f} months from {m.today}): {offer.model} {what} then; "
                     "migration cost included")
    if offer.access == "existing-customers":
        notes.append("costed because you said your organisation still has fine-tuning access")
    prices_after = with_prices(p.prices, input_mtok=inp, output_mtok=out, cached_input_mtok=offer.cached_input,
                               cache_write_mtok=None, source=offer.source)
    after_p = with_failures(p, ft.fixes(p, a)).model_copy(
        update={"static_prefix_tokens": a.short_prompt_tokens, "prices": prices_after, "cache_read_tokens": 0.0,
                "cache_write_tokens": 0.0,
                "families": [f.model_copy(update={"static_prefix_tokens": a.short_prompt_tokens})
                             for f in p.families]})
    return Costing(
        cost_after=after, one_time=parts, recurring={"retraining": retrain}, failure_rate_fixed=fixed,
        failure_rate_added=added, eligible=ok,
        eligibility=why, horizon_cap_months=cap, fine_tune_kind=FineTuneKind.HOSTED, target=f"fine-tuned {offer.model}",
        served=f"{p.provider or 'provider'} (hosted fine-tune)", arithmetic=lines, notes=notes, after=after_p)
