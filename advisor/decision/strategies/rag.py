"""RAG: retrieve current documents into the prompt; fixes knowledge failures, costs tokens, a store and upkeep."""

from __future__ import annotations

from advisor.decision import roi
from advisor.decision.strategies.base import Costing, Ctx, StrategySpec, money, with_failures

SPEC = StrategySpec(key="rag", name="RAG (retrieve current documents)", kind="rag", addresses="knowledge failures",
                    complexity=2)

RAG_MIN_KNOWLEDGE_RATE = 0.02  # knowledge failures must reach 2% of requests
RAG_MIN_KNOWLEDGE_SHARE = 0.3  # and 30% of failures


def cost(ctx: Ctx) -> Costing:
    p, a, cur = ctx.p, ctx.a, ctx.cur
    added = a.rag_k * a.rag_chunk_tokens
    extra = roi.token_cost(added, p.prices.input_mtok) + roi.token_cost(p.variable_input_tokens, a.embedding_price_per_1m)
    knowledge = p.failure_rate * p.knowledge_share
    fixed = knowledge * a.rag_fix_share
    volatile = p.knowledge_volatility_share or 0.0
    upkeep = a.kb_upkeep_monthly * (1 + volatile)
    ok = knowledge >= RAG_MIN_KNOWLEDGE_RATE and p.knowledge_share >= RAG_MIN_KNOWLEDGE_SHARE
    why = (f"{p.knowledge_share:.0%} of failures are knowledge failures (outdated/invented facts)" if ok
           else f"knowledge failures {knowledge:.1%} of requests / {p.knowledge_share:.0%} of failures (needs "
                f"≥{RAG_MIN_KNOWLEDGE_RATE:.0%} and ≥{RAG_MIN_KNOWLEDGE_SHARE:.0%}): too few for retrieval to fix")
    if ok and a.latency_slo_ms is not None and p.latency_p95_ms is not None \
            and p.latency_p95_ms + a.rag_latency_ms > a.latency_slo_ms:
        ok, why = False, (f"p95 latency {p.latency_p95_ms:,.0f} ms + retrieval {a.rag_latency_ms:,.0f} ms exceeds "
                          f"the {a.latency_slo_ms:,.0f} ms SLO")
    after = with_failures(p, {"knowledge": fixed}).model_copy(
        update={"variable_input_tokens": p.variable_input_tokens + added})
    return Costing(
        cost_after=ctx.c0 + extra, fixed_monthly=a.rag_store_monthly, one_time={"setup": a.rag_setup_cost},
        recurring={"knowledge-base upkeep": upkeep}, failure_rate_fixed=fixed, eligible=ok, eligibility=why,
        target=p.model, served=f"{p.provider or 'as today'} + a vector store", after=after,
        arithmetic=[f"+{a.rag_k} chunks × {a.rag_chunk_tokens:,.0f} tokens = {added:,.0f} input tokens → "
                    f"+{money(extra, cur)}/request (incl. query embedding)",
                    f"vector store {money(a.rag_store_monthly, cur)}/month; knowledge-base upkeep "
                    f"{money(a.kb_upkeep_monthly, cur)} × (1 + {volatile:.0%} volatile questions) = "
                    f"{money(upkeep, cur)}/month",
                    f"fixes {a.rag_fix_share:.0%} of knowledge failures: {knowledge:.1%} × {a.rag_fix_share:.0%} "
                    f"= {fixed:.2%} of requests"])
