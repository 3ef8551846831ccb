"""What every fine-tune strategy shares: when training is worth trying, and what one run costs.

Eligibility (named thresholds): consistent structural failures or a large static prompt to bake
in; not when knowledge failures dominate (it would bake today's facts in); enough clean examples
in the traffic for the examples it needs.
"""

from __future__ import annotations

from advisor.decision import roi
from advisor.decision.assumptions import Assumptions
from advisor.decision.strategies.base import Ctx, TrafficProfile, money

FT_MIN_STRUCTURAL_RATE = 0.02  # structural failures ≥ 2% of requests …
FT_MIN_STRUCTURAL_SHARE = 0.5  # … and ≥ 50% of failures: "consistent"
FT_MIN_STATIC_SHARE = 0.3  # or a static prompt ≥ 30% of input tokens …
FT_MIN_STATIC_TOKENS = 200  # … of at least 200 tokens to bake in
GPU_TRAIN_MIN_HOURS = 1.0


def structural_rate(p: TrafficProfile) -> float:
    return p.failure_rate * p.structural_share


BUCKETS = ("structural", "knowledge", "other")


def fixes_by_kind(rate: float, shares: dict[str, float], a: Assumptions) -> dict[str, float]:
    """Failures (absolute rates) fine-tuning removes per failure kind, for a traffic with failure `rate` split by
    `shares` (structural / knowledge / other).

    A kind `advise evaluate` measured (``ft_fix_share_<kind>``) is removed at its measured share; an unmeasured one
    keeps the prior: structural failures at min(accuracy gain, ft_max_fix_share × structural rate), the others not
    at all (training bakes facts in; scattered one-offs recur too little to learn).
    """
    out: dict[str, float] = {}
    for kind in BUCKETS:
        kind_rate = rate * shares.get(kind, 0.0)
        measured = getattr(a, f"ft_fix_share_{kind}")
        if measured is not None:
            out[kind] = kind_rate * measured
        elif kind == "structural":
            out[kind] = min(a.accuracy_gain, kind_rate * a.ft_max_fix_share)
        else:
            out[kind] = 0.0
    return out


def fixes(p: TrafficProfile, a: Assumptions) -> dict[str, float]:
    return fixes_by_kind(p.failure_rate, {"structural": p.structural_share, "knowledge": p.knowledge_share,
                                          "other": p.other_share}, a)


def fix_rate(p: TrafficProfile, a: Assumptions) -> float:
    """Failures fine-tuning removes (share of requests): measured shares per kind where measured, else the priors."""
    return sum(fixes(p, a).values())


def fix_text(p: TrafficProfile, a: Assumptions) -> str:
    """The arithmetic of :func:`fix_rate` in words, saying which share is measured and which a prior."""
    parts = []
    for kind, removed in fixes(p, a).items():
        kind_rate = p.failure_rate * getattr(p, f"{kind}_share")
        measured = getattr(a, f"ft_fix_share_{kind}")
        if measured is not None:
            parts.append(f"{kind} {kind_rate:.1%} × {measured:.0%} measured = {removed:.1%}")
        elif kind == "structural" and kind_rate > 0:
            parts.append(f"structural min(accuracy gain {a.accuracy_gain:.0%}, {a.ft_max_fix_share:.0%} × "
                         f"{kind_rate:.1%}) = {removed:.1%} (prior)")
        elif kind_rate > 0:
            parts.append(f"{kind} {kind_rate:.1%} × 0 (prior)")
    return f"fixes {' + '.join(parts) or 'nothing'} → {fix_rate(p, a):.1%} of requests"


def regression(a: Assumptions, small_model: bool) -> float:
    """New failures the fine-tune adds (share of requests): the small-model prior for an open-weight switch; for a
    fine-tune of the production model itself none is assumed unless `advise evaluate` measured some."""
    if small_model or a.source("small_model_regression") == "measured":
        return a.small_model_regression
    return 0.0


def clean_examples(p: TrafficProfile) -> float:
    """Passing answers the window held at full traffic (the pool curation mines)."""
    return p.requests_per_day * p.days_observed * (1 - p.failure_rate)


def eligibility(p: TrafficProfile, a: Assumptions) -> tuple[bool, str]:
    consistent = structural_rate(p) >= FT_MIN_STRUCTURAL_RATE and p.structural_share >= FT_MIN_STRUCTURAL_SHARE
    token_cut = p.static_share >= FT_MIN_STATIC_SHARE and p.static_prefix_tokens >= FT_MIN_STATIC_TOKENS
    if p.failure_rate > 0 and p.knowledge_share >= 0.5 and not consistent:
        return False, ("most failures are knowledge failures: fine-tuning would bake today's facts in "
                       "(RAG for changing facts)")
    if p.consistency_verdict == "random" and not token_cut:
        return False, "failures are scattered one-offs (consistency verdict: random): nothing recurring to learn"
    need = a.examples_needed or 0
    have = clean_examples(p)
    if need and have < need:
        return False, (f"only ~{have:,.0f} clean examples in {p.days_observed} logged days "
                       f"({need:,} needed): collect more traffic first")
    if consistent:
        verdict = f", consistency {p.consistency:.0%}" if p.consistency is not None else ""
        return True, (f"{p.structural_share:.0%} of failures are structural (format/style){verdict}; "
                      f"~{have:,.0f} clean examples for the {need:,} needed")
    if token_cut:
        return True, f"{p.static_share:.0%} of input tokens are a static prompt that training can bake in"
    return False, (f"no consistent structural failures (≥{FT_MIN_STRUCTURAL_RATE:.0%} of requests and "
                   f"≥{FT_MIN_STRUCTURAL_SHARE:.0%} of failures) and no static prompt ≥{FT_MIN_STATIC_SHARE:.0%} "
                   "of input to bake in")


def training_tokens_per_example(p: TrafficProfile, a: Assumptions) -> float:
    return a.short_prompt_tokens + p.variable_input_tokens + p.output_tokens


def one_time(ctx: Ctx, price_per_1m: float | None, *, gpu_hour: float | None = None,
             migration: bool = True) -> tuple[dict[str, float], str]:
    """Curation + one training run (per token, or GPU-hours) + one evaluation (+ migration)."""
    p, a, cur = ctx.p, ctx.a, ctx.cur
    n = float(a.examples_needed or 0)
    tokens = training_tokens_per_example(p, a)
    if a.training_cost is not None:
        training, how = a.training_cost, f"training {money(a.training_cost, cur)} (given)"
    elif price_per_1m is not None:
        training = roi.training_cost_from_tokens(n, tokens, a.epochs, price_per_1m)
        how = (f"training {n:,.0f} ex × {tokens:,.0f} tok × {a.epochs} epochs × {cur} {price_per_1m:g}/1M "
               f"= {money(training, cur)}")
    else:
        hour = gpu_hour or 0.0
        training = roi.training_cost_from_gpu(n, tokens, a.epochs, a.train_tokens_s, hour, GPU_TRAIN_MIN_HOURS)
        how = f"training on a GPU at {cur} {hour:g}/h = {money(training, cur)} (≥1 h billed)"
    parts = {"curation": n * a.cost_per_example, "training": training, "evaluation": a.eval_cost}
    if migration:
        parts["migration"] = a.migration_cost
    text = (f"one-time: curation {n:,.0f} × {money(a.cost_per_example, cur)} + {how} + evaluation "
            f"{money(a.eval_cost, cur)}" + (f" + migration {money(a.migration_cost, cur)}" if migration else "")
            + f" = {money(sum(parts.values()), cur)}")
    return parts, text


def retraining(parts: dict[str, float], a: Assumptions) -> float:
    return roi.retraining_monthly(parts["training"], parts["evaluation"], parts["curation"],
                                  a.retrain_curation_share, a.retrain_interval_months)
