"""Measured ROI: the advisor's cost model re-run with what the evaluation measured, naming the model measured.

The coupling to the decision engine is one function, :func:`overrides_from_evaluation`, which turns an
``Evaluation`` into plain numbers the engine can take in place of its priors:

* **failure rate after** = production's logged failure rate (the analysis, over all logs) carried
  through the candidate's measured behaviour against the incumbent on the same test inputs:
  ``rate × (1 − fixed share of the incumbent's failures) + (1 − rate) × broken share of its passes``;
* **fix rates per cluster** = of the incumbent's logged failures in each cluster, the share the
  candidate gets right (checks; for label-only failures, closer to the reviewer's answer), pooled per
  failure kind (structural / knowledge / other — the decision's) into a **fix share** with its exact
  interval; these replace the fine-tune's prior fix shares for the kinds measured, the others keep
  their priors (:class:`advisor.decision.decide.MeasuredOverrides`);
* **regression** = of the incumbent's logged passes, the share the candidate breaks (new failures);
* **prompt tokens after** = production's mean input tokens × (1 − the measured prompt-token reduction).

It also says which model was measured and whether that is the recommended target: when it is not
(a hosted fine-tune of a closed model, or an open-weight target not available here), the figures are a
*proxy* and labelled so. :func:`measured_roi` feeds those overrides to today's ``decide`` API.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from advisor.analysis import Analysis
from advisor.decision.assumptions import AssumptionRow
from advisor.decision.decide import FailureKind, MeasuredShare
from advisor.decision.strategies.base import FineTuneKind

# fine-tune kinds whose adapter sits on an open-weight base, i.e. one advise can train and measure here
OPEN_WEIGHT_KINDS = frozenset({FineTuneKind.SERVERLESS_LORA, FineTuneKind.DEDICATED_GPU, FineTuneKind.HYBRID})
LORA_SUFFIX = " + LoRA adapter"  # how the decision names an adapter's target ("<base> + LoRA adapter")
# the assumption rows a measurement can replace (shown prior vs measured, kind by kind)
MEASURED_ROWS = ("ft_fix_share_structural", "ft_fix_share_knowledge", "ft_fix_share_other", "small_model_regression",
                 "short_prompt_tokens")


class EvalModel(BaseModel):
    """Base of the eval.json models: NaN (a rate over no examples) is written as the string "NaN", not as null,
    so the file reads back (JSON has no NaN; pydantic writes null by default, which a float field then refuses)."""

    model_config = ConfigDict(ser_json_inf_nan="strings")


class MeasuredOverrides(EvalModel):
    """What an evaluation measured, in the units the decision engine uses."""

    model_measured: str
    target: str  # the model the recommendation would run on
    proxy: bool  # measured model ≠ target: the figures stand in for the target
    n_examples: int
    production_failure_rate: float  # over all logs (the analysis)
    failure_rate_after: float
    fix_share: float  # of the incumbent's failures on the test split, share the candidate fixes
    broken_share: float  # of the incumbent's passes, share the candidate fails
    fix_rates: dict[str, float] = Field(default_factory=dict)  # per failure cluster
    fix_shares: dict[FailureKind, MeasuredShare] = Field(default_factory=dict)  # per failure kind (the decision's)
    unmapped_clusters: list[str] = Field(default_factory=list, description="clusters of no known failure kind")
    regression: MeasuredShare | None = None  # incumbent passes the candidate broke
    prompt_token_reduction: float = 0.0


class Figures(EvalModel):
    """One costing of the fine-tune strategy (central values; the net value with its Monte Carlo interval)."""

    cost_per_request_after: float
    per_request_saving_share: float
    failure_rate_after: float
    monthly_run_cost: float
    monthly_net_value: float | None
    payback_days: float | None
    net_value_12m: float | None
    net_value_12m_low: float | None = None
    net_value_12m_high: float | None = None
    p_net_positive: float | None = None
    short_prompt_tokens_production: float


class PriorFigures(Figures):
    accuracy_gain: float


class MeasuredFigures(Figures):
    prompt_token_reduction: float
    fix_shares: dict[str, float] = Field(default_factory=dict, description="failure kind → measured fixed share")


class MeasuredROI(EvalModel):
    """Prior vs measured figures of the recommended fine-tune, naming the model measured (eval.json)."""

    strategy: str
    strategy_name: str
    currency: str
    model_measured: str
    target: str
    proxy: bool
    label: str
    production_failure_rate: float
    overrides: MeasuredOverrides
    measured: MeasuredFigures
    prior: PriorFigures
    assumptions: list[AssumptionRow] = Field(default_factory=list,
                                             description="the decision inputs the measurement replaced, or not (prior)")
    method: str
    summary: str


def _strategy(decision: Any, key: str) -> Any:
    return next(s for s in decision.strategies if s.key == key)


def pick_finetune_key(analysis: Analysis) -> str:
    """The fine-tune the advisor recommended (or ranked best; its fine-tune member for a portfolio)."""
    from advisor.decision.decide import FINE_TUNES, RecommendationRecord

    rec = analysis.recommendation
    ranking = rec.ranking if isinstance(rec, RecommendationRecord) else []  # nothing costed: nothing ranked
    for key in [rec.winner if rec is not None else None, *ranking]:
        for member in (key or "").split("+"):
            if member in FINE_TUNES:
                return member
    return "fine-tune-serverless"


def recommended_target(analysis: Analysis) -> tuple[str, bool]:
    """(model the recommended fine-tune runs on, whether it is an open-weight model we could train here).

    The strategy's ``target`` (an open-weight base named
    "<base> + LoRA adapter" by the decision); else the ``target_model`` assumption; else the production model for a
    hosted fine-tune and "a small open-weight model" when the open-weight base is not named.
    """
    key = pick_finetune_key(analysis)
    strat = next((s for s in analysis.strategies if s.key == key), None)
    open_weight = strat is not None and strat.fine_tune_kind in OPEN_WEIGHT_KINDS
    rows = analysis.assumptions.rows if analysis.assumptions is not None else []
    assumed = next((r.value for r in rows if r.name == "target_model" and r.value), None)
    target = strat.target if strat is not None else ""
    named_base = target[: -len(LORA_SUFFIX)] if open_weight and target.endswith(LORA_SUFFIX) else None
    if named_base and " " in named_base:  # a description ("an 8B open-weight model"), not a model id
        named_base = None
    named = named_base or (assumed if open_weight else None)
    if named:
        return str(named), open_weight
    if open_weight:
        return "a small open-weight model (unnamed)", True
    production = target or next(iter(analysis.models or {}), "hosted model")
    return f"fine-tuned {production}", False


def trainable_target(analysis: Analysis) -> str | None:
    """The recommended open-weight target as a --base value, when it is here (a local HF directory or a hub id
    already in the cache); None otherwise (the embedded model is then measured as a proxy)."""
    name, open_weight = recommended_target(analysis)
    if not open_weight or name.startswith("a small open-weight"):
        return None
    try:
        from advisor.kernel.errors import AdviseError
        from trainer.training.models import local_model_dir, resolve_base

        local_model_dir(resolve_base(name), allow_download=False)
    except (AdviseError, OSError, ImportError, ValueError):
        return None
    return name


def kind_of(cluster: str) -> FailureKind | None:
    """The decision's failure kind of an evaluation cluster (a failure category); None for a name of no known
    category (a free-text cluster label or a bare reason)."""
    from typing import get_args

    from advisor.failures.signatures import Category, bucket_of

    return bucket_of(cluster) if cluster in get_args(Category) else None


def _pooled(fixes: dict[str, Any]) -> tuple[dict[FailureKind, MeasuredShare], list[str]]:
    """Per failure kind, the clusters' (fixed, failed) counts pooled, with the exact interval of the pooled count."""
    from trainer.evaluation.metrics import clopper_pearson

    counts: dict[FailureKind, dict[str, tuple[int, int]]] = {}
    unmapped = []
    for name, f in fixes.items():
        kind = kind_of(name)
        if kind is None:
            unmapped.append(name)
            continue
        counts.setdefault(kind, {})[name] = (f.fixed, f.incumbent_failed)
    out = {}
    for kind, per in counts.items():
        k, n = sum(f for f, _ in per.values()), sum(n for _, n in per.values())
        if n:
            out[kind] = MeasuredShare(k=k, n=n, rate=k / n, ci=clopper_pearson(k, n), clusters=per)
    return out, unmapped


def overrides_from_evaluation(evaluation: Any, production_failure_rate: float, target: str | None = None
                              ) -> MeasuredOverrides:
    """The single hand-over from an Evaluation to the decision engine (see module docstring)."""
    fixes = evaluation.fix_rates or {}
    failed = sum(f.incumbent_failed for f in fixes.values())
    fixed = sum(f.fixed for f in fixes.values())
    if failed:
        fix_share = fixed / failed
    else:  # no logged failure on the test split: fall back to the candidate's own pass rate
        fix_share = evaluation.finetuned.pass_rate
    b = evaluation.broken
    broken = b.rate if b is not None and b.n else 0.0
    rate = production_failure_rate
    after = rate * (1 - fix_share) + (1 - rate) * broken
    measured = evaluation.model_measured
    target = target or measured
    shares, unmapped = _pooled(fixes)
    return MeasuredOverrides(
        model_measured=measured, target=target, proxy=_norm(target) != _norm(measured),
        n_examples=evaluation.n_examples, production_failure_rate=rate, failure_rate_after=min(1.0, after),
        fix_share=fix_share, broken_share=broken, fix_rates={k: f.rate for k, f in fixes.items()},
        fix_shares=shares, unmapped_clusters=unmapped,
        regression=MeasuredShare(k=b.k, n=b.n, rate=b.rate, ci=b.ci) if b is not None and b.n else None,
        prompt_token_reduction=evaluation.prompt_token_reduction)


def _norm(name: str) -> str:
    return name.strip().rstrip("/").split("/")[-1].lower()


def measured_roi(analysis: Analysis, evaluation: Any) -> MeasuredROI:
    """Prior vs measured figures for the fine-tune strategy: the decision re-run with the measured fix share of each
    failure kind (its exact interval drawn by the Monte Carlo), the measured regression and prompt length; kinds
    that were not measured keep their priors, and the assumption rows say which is which."""
    from advisor.decision.assumptions import load_assumptions
    from advisor.decision.decide import MeasuredOverrides as DecisionOverrides
    from advisor.decision.decide import decide
    from advisor.decision.strategies.from_analysis import (
        load_offers_file,
        price_file_assumptions,
        profile_from_analysis,
    )
    from advisor.pricing import PriceBook

    book = PriceBook(analysis.prices.user_file)
    rows = analysis.assumptions.rows if analysis.assumptions is not None else []
    given = {r.name: r.value for r in rows if r.source == "user"}
    base = load_assumptions({**price_file_assumptions(analysis, book), **given})
    # the market the analysis decided on: the bundled offers plus the user's --offers file it recorded
    market = getattr(analysis.recommendation, "market", None)  # NoRecommendation has none
    user_offers = market.offers_files[1] if market is not None and len(market.offers_files) > 1 else None
    usd = base.usd_rate if base.source("usd_rate") == "user" else None
    profile = profile_from_analysis(analysis, price_book=book, target_model=base.target_model,
                                    offers=load_offers_file(user_offers), usd_rate=usd)
    key = pick_finetune_key(analysis)
    target, _ = recommended_target(analysis)
    ov = overrides_from_evaluation(evaluation, profile.failure_rate, target)

    prior_d = decide(profile, base)
    prior = _strategy(prior_d, key)
    input_after = (profile.static_prefix_tokens + profile.variable_input_tokens) * max(0.0, 1.0 - ov.prompt_token_reduction)
    short_tokens = max(0.0, input_after - profile.variable_input_tokens)
    dov = DecisionOverrides(short_prompt_tokens=short_tokens, fix_shares=ov.fix_shares, regression=ov.regression,
                            pass_share=1 - profile.failure_rate, model_measured=ov.model_measured,
                            proxy_for=ov.target if ov.proxy else None, n_examples=ov.n_examples)
    meas_d = decide(profile, base, overrides=dov)
    meas = _strategy(meas_d, key)
    cur = prior.currency

    def fig(s: Any, short: float) -> dict[str, Any]:
        return {"cost_per_request_after": s.cost_per_request_after,
                "per_request_saving_share": s.per_request_saving_share,
                "failure_rate_after": s.failure_rate_after, "monthly_run_cost": s.monthly_run_cost,
                "monthly_net_value": s.monthly_net_value.value, "payback_days": s.payback_days.value,
                "net_value_12m": s.net_value_12m.value, "net_value_12m_low": s.net_value_12m.low,
                "net_value_12m_high": s.net_value_12m.high, "p_net_positive": s.p_net_positive,
                "short_prompt_tokens_production": short}

    label = (f"proxy: measured on {ov.model_measured} fine-tuned here, standing in for {ov.target}"
             if ov.proxy else f"measured on the recommended target {ov.target}")
    pb = meas.payback_days.value
    kinds = "; ".join(f"{kind} {m.k}/{m.n} fixed ({m.rate:.0%}, 95% CI {m.ci[0]:.0%}–{m.ci[1]:.0%})"
                      for kind, m in ov.fix_shares.items()) or "no incumbent failure of a known kind measured"
    failing = [kind for kind, share in (("structural", profile.structural_share),
                                        ("knowledge", profile.knowledge_share), ("other", profile.other_share))
               if share > 0 and kind not in ov.fix_shares]
    summary = (f"{meas.name} ({label}): against the incumbent on {ov.n_examples} test inputs the candidate fixes "
               f"{ov.fix_share:.0%} of its failures ({kinds}) and breaks {ov.broken_share:.0%} of its passes → "
               f"failure rate {profile.failure_rate:.1%} → {meas.failure_rate_after:.1%}"
               + (f" ({', '.join(failing)} failures not measured: their priors kept)" if failing else "")
               + f"; prompt tokens −{ov.prompt_token_reduction:.0%} → {meas.per_request_saving_share:.0%} cheaper "
               "per request; " + (f"pays back in {pb:,.0f} days" if pb is not None else "does not pay back")
               + f", 12-month net value {cur} {meas.net_value_12m.value:,.0f} "
               f"(prior: {prior.per_request_saving_share:.0%} cheaper, failure rate "
               f"{prior.failure_rate_after:.1%}, "
               + (f"payback {prior.payback_days.value:,.0f} days)" if prior.payback_days.value is not None
                  else "no payback)"))
    return MeasuredROI(
        strategy=key, strategy_name=meas.name, currency=cur, model_measured=ov.model_measured, target=ov.target,
        proxy=ov.proxy, label=label, production_failure_rate=profile.failure_rate, overrides=ov,
        measured=MeasuredFigures(**fig(meas, short_tokens), prompt_token_reduction=ov.prompt_token_reduction,
                                 fix_shares={k: m.rate for k, m in ov.fix_shares.items()}),
        prior=PriorFigures(**fig(prior, base.short_prompt_tokens), accuracy_gain=base.accuracy_gain),
        assumptions=[r for r in meas_d.assumptions if r.name in MEASURED_ROWS],
        method=__doc__.strip().splitlines()[0] if __doc__ else "", summary=summary)
