"""Status quo: change nothing. Value 0 by definition — the bar every other strategy must clear."""

from __future__ import annotations

from advisor.decision.strategies.base import Costing, Ctx, StrategySpec

SPEC = StrategySpec(key="status-quo", name="Keep as is (status quo)", kind="status-quo",
                    addresses="nothing; the baseline every option is measured against", complexity=0)


def cost(ctx: Ctx) -> Costing:
    p = ctx.p
    return Costing(cost_after=ctx.c0, eligibility="always possible: change nothing (net value 0 by definition)",
                   target=p.model, served=p.provider or "as today", after=p)
