"""Measured ROI: the advisor's cost model re-run with what the evaluation measured.

The priors (accuracy gain 10–30%, a 30-token short prompt) are replaced by measurements:

* **failure rate after** = the fine-tuned model's measured failure rate on the held-out set
  (1 − pass rate), so the gain is production's logged failure rate minus that, never more;
* **prompt tokens after** = production's mean input tokens × (1 − measured prompt-token
  reduction), the reduction being fine-tuned short-prompt tokens vs full-prompt tokens per
  request on the same examples.

Everything else (volume, prices, one-time costs) stays as in analysis.json, so prior and
measured figures differ only by what was measured.
"""

from __future__ import annotations

from typing import Any

from advisor.analysis import Analysis


def _strategy(decision: Any, key: str) -> Any:
    return next(s for s in decision.strategies if s.key == key)


def pick_finetune_key(analysis: Analysis) -> str:
    """The fine-tune the advisor recommended (or ranked best; its fine-tune member for a portfolio)."""
    from advisor.decide import FINE_TUNES

    rec = analysis.recommendation or {}
    for key in [rec.get("winner"), *rec.get("ranking", [])]:
        for member in (key or "").split("+"):
            if member in FINE_TUNES:
                return member
    return "fine-tune-serverless"


def measured_roi(analysis: Analysis, evaluation: Any) -> dict[str, Any]:
    """Prior vs measured figures for the fine-tune strategy, as a JSON-ready dict for eval.json."""
    from advisor.assumptions import load_assumptions
    from advisor.decide import decide
    from advisor.pricing import PriceBook
    from advisor.strategies.from_analysis import price_file_assumptions, profile_from_analysis

    book = PriceBook(analysis.prices.user_file)
    rows = (analysis.assumptions or {}).get("rows") or []
    given = {r["name"]: r["value"] for r in rows if r.get("source") == "user"}
    base = load_assumptions({**price_file_assumptions(analysis, book), **given})
    profile = profile_from_analysis(analysis, price_book=book, target_model=base.target_model)
    key = pick_finetune_key(analysis)

    prior = _strategy(decide(profile, base), key)
    ft_fail = 1.0 - evaluation.finetuned.pass_rate
    gain = max(0.0, profile.failure_rate - ft_fail)
    reduction = evaluation.prompt_token_reduction
    input_after = profile.static_prefix_tokens + profile.variable_input_tokens
    input_after *= max(0.0, 1.0 - reduction)
    short_tokens = max(0.0, input_after - profile.variable_input_tokens)
    measured_a = base.with_values(source="measured", accuracy_gain=min(1.0, gain), ft_max_fix_share=1.0,
                                  short_prompt_tokens=short_tokens)
    meas = _strategy(decide(profile, measured_a), key)
    cur = prior.currency

    def fig(s: Any) -> dict[str, Any]:
        return {"cost_per_request_after": s.cost_per_request_after,
                "per_request_saving_share": s.per_request_saving_share,
                "failure_rate_after": s.failure_rate_after, "monthly_run_cost": s.monthly_run_cost,
                "monthly_net_value": s.monthly_net_value.value, "payback_days": s.payback_days.value,
                "net_value_12m": s.net_value_12m.value}

    pb = meas.payback_days.value
    summary = (f"{meas.name}: measured failure rate {ft_fail:.1%} (production today {profile.failure_rate:.1%}), "
               f"prompt tokens −{reduction:.0%} → {meas.per_request_saving_share:.0%} cheaper per request; "
               + (f"pays back in {pb:,.0f} days" if pb is not None else "does not pay back")
               + f", 12-month net value {cur} {meas.net_value_12m.value:,.0f} "
               f"(prior: {prior.per_request_saving_share:.0%} cheaper, "
               + (f"payback {prior.payback_days.value:,.0f} days)" if prior.payback_days.value is not None
                  else "no payback)"))
    return {
        "strategy": key, "strategy_name": meas.name, "currency": cur,
        "production_failure_rate": profile.failure_rate,
        "measured": {"failure_rate_after": ft_fail, "accuracy_gain": gain, "prompt_token_reduction": reduction,
                     "short_prompt_tokens_production": short_tokens, **fig(meas)},
        "prior": {"accuracy_gain": base.accuracy_gain, "short_prompt_tokens_production": base.short_prompt_tokens,
                  **fig(prior)},
        "method": __doc__.strip().splitlines()[0] if __doc__ else "",
        "summary": summary,
    }
