"""Prompt caching: the static prefix billed at the cache-read price when requests arrive within the TTL.

Per-model minimum, step, prices and TTLs come from the offers table; the hit rate of each prompt
family is re-simulated from its logged inter-arrival gaps at the what-if volume (gaps shrink as
traffic grows), so `--volume` moves the caching value the way it would move in production.
"""

from __future__ import annotations

from advisor.decision import roi
from advisor.decision.strategies.base import Costing, Ctx, FamilyProfile, StrategySpec, money

SPEC = StrategySpec(key="caching", name="Prompt caching", kind="caching", addresses="cost of a repeated static prefix",
                    complexity=1)


def _hit(fam: FamilyProfile, ttl_min: float, factor: float, logged: float | None) -> tuple[float, str]:
    from advisor.metrics.static_prompt import resimulate_hit_rate

    sim = resimulate_hit_rate(fam.gap_quantiles_s, ttl_min * 60, factor)
    if sim is not None:
        return sim, "re-simulated" if abs(factor - 1) > 1e-9 else "simulated"
    return (logged or 0.0), "logged simulation" + (" (not re-simulated: no gaps)" if abs(factor - 1) > 1e-9 else "")


def cost(ctx: Ctx) -> Costing:
    p, a, cur, m = ctx.p, ctx.a, ctx.cur, ctx.m
    base = dict(target=p.model, served=p.provider or "as today")
    rule = m.cache if m is not None else None
    if rule is None:
        return Costing(cost_after=ctx.c0, eligible=False, **base,
                       eligibility=f"the offers list no prompt caching for {p.model}")
    price = p.prices
    inp = price.input_mtok
    read = price.cached_input_mtok if price.cached_input_mtok is not None else inp * rule.read_multiplier
    factor = ctx.volume / p.requests_per_day
    families = p.families or [FamilyProfile(name="all", share_of_requests=1.0,
                                            static_prefix_tokens=p.static_prefix_tokens)]
    discount = 0.0
    lines: list[str] = []
    for fam in families:
        tokens = rule.cacheable(fam.static_prefix_tokens)
        if tokens <= 0 or fam.share_of_requests <= 0:
            continue
        best = None
        for ttl in rule.ttl_minutes:
            mult = rule.write_multiplier_5m if ttl <= 5 or rule.write_multiplier_1h is None else rule.write_multiplier_1h
            write = price.cache_write_mtok if (price.cache_write_mtok is not None and ttl <= 5) else inp * mult
            hit, how = _hit(fam, ttl, factor, fam.hit_rate_5m if ttl <= 5 else fam.hit_rate_1h)
            cached_cost = hit * read + (1 - hit) * write  # per token, per request
            saving = roi.token_cost(tokens, inp - cached_cost)
            if best is None or saving > best[0]:
                best = (saving, ttl, hit, how)
        assert best is not None
        saving, ttl, hit, how = best
        discount += fam.share_of_requests * saving
        lines.append(f"{fam.name}: {tokens:,.0f} cacheable tokens × hit {hit:.0%} ({ttl:g}-min TTL, {how} at "
                     f"{ctx.volume:,.0f} req/day) → {money(saving, cur)}/request saved on "
                     f"{fam.share_of_requests:.0%} of traffic")
    no_cache = roi.request_cost(p.input_tokens, p.output_tokens, inp, price.output_mtok or 0.0)
    after = no_cache - discount
    notes = [f"cache rule: ≥{rule.min_tokens:,} tokens in {rule.step}-token steps, reads "
             f"{rule.read_multiplier:g}× input ({rule.source or 'offers table'}"
             + (f", as of {rule.as_of}" if rule.as_of else "") + ")",
             "hit rates from the logged arrival times (an upper bound: assumes one cache per family)"]
    if discount <= 0:
        longest = max((f.static_prefix_tokens for f in families), default=0.0)
        return Costing(cost_after=ctx.c0, eligible=False, notes=notes, **base,
                       eligibility=f"no static prefix reaches the {rule.min_tokens:,}-token cache minimum of "
                                   f"{p.model} (longest {longest:,.0f} tokens)"
                                   if longest < rule.min_tokens else "cache hits would not pay for the writes")
    if after >= ctx.c0:
        notes.append("the logs already show cache reads at least this good")
        after = ctx.c0
    return Costing(cost_after=after, one_time={"setup": a.caching_setup_cost}, notes=notes, after=p, **base,
                   eligibility=f"a static prefix above {p.model}'s {rule.min_tokens:,}-token cache minimum",
                   arithmetic=lines + [f"{money(no_cache, cur)} uncached − {money(discount, cur)} = "
                                       f"{money(after, cur)}/request"])
