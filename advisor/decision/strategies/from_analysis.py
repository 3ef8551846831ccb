"""Map analysis.json onto the decision engine's TrafficProfile, and fill the decision slots of an Analysis.

The only place that knows both contracts: when the Analysis or failure model changes, only this
module follows. Prices come from the same PriceBook the analysis used (user file first).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from advisor.decision.assumptions import Assumptions, load_assumptions
from advisor.decision.decide import (
    DaySample,
    Decision,
    FamilyProfile,
    MeasuredOverrides,
    TrafficProfile,
    decide,
)
from advisor.failures.result import FailureAnalysis
from advisor.kernel.errors import AdviseError

# failure signatures a provider-enforced JSON schema removes (the JSON-mode checks' format problems + schema checks)
SCHEMA_SIGNATURES = ("schema:", "format:invalid_json", "format:json_")
PROMPT_CHANGE_MIN_SHARE = 0.05  # a family that appears mid-window counts as a prompt change from 5% of the traffic


def _dominant_model(analysis: Any) -> str:
    if not analysis.models:
        raise AdviseError("the analysis has no models to decide for", hint="re-run `advise analyze` on the logs")
    return max(analysis.models, key=lambda m: analysis.models[m].tokens.requests)


def _prices(price: Any) -> Any:
    """The price book's ModelPrice (the one price type), with its currency and source filled in."""
    import dataclasses

    return dataclasses.replace(price, currency=price.currency or "USD", source=price.source or "price table")


def _mean(mix: Any, kind: str) -> float:
    s = mix.tokens.get(kind)
    return float(s.mean) if s is not None and s.mean is not None else 0.0


def _failures(failures: FailureAnalysis | None) -> dict[str, Any]:
    """The failure fields the profile needs, from the failures section (absent → no failures known)."""
    if failures is None:
        return {"failure_source": "none"}
    consistency = failures.consistency
    n_fail = failures.failures
    schema = sum(r.primary for r in failures.signatures
                 if r.category == "schema" or r.signature.startswith(SCHEMA_SIGNATURES))
    return {
        "schema_share": min(1.0, schema / n_fail) if n_fail else 0.0,
        "logged_requests": failures.requests,
        "recurrence": consistency.recurrence,
        "failure_rate": float(failures.failure_rate),
        "structural_share": float(failures.shares.structural),
        "knowledge_share": float(failures.shares.knowledge),
        "other_share": float(failures.shares.other),
        "consistency": consistency.consistency,
        "consistency_verdict": consistency.verdict,
        "knowledge_volatility_share": failures.volatility.volatile_request_share,
        "failure_source": ", ".join(sorted(k for k, n in failures.sources.decided_by.items() if n)) or "checks",
    }


def _today(analysis: Any) -> date:
    gen = getattr(analysis, "generated_at", None)
    return gen.date() if gen is not None else date.today()


def profile_from_analysis(analysis: Any, *, price_book: Any = None, target_model: str | None = None,
                          offers: Any = None, usd_rate: float | None = None) -> TrafficProfile:
    """The decision input for the model that carries most of the traffic, with the offers for it."""
    from advisor.decision.strategies.offers_adapter import market_for
    from advisor.offers import bundled
    from advisor.pricing import PriceBook

    book = price_book or PriceBook(analysis.prices.user_file)
    model = _dominant_model(analysis)
    summary = analysis.models[model]
    at = analysis.window.last
    price = book.lookup(model, at=at)
    target = _prices(book.lookup(target_model, at=at)) if target_model else None
    mix = summary.tokens
    families = [f for f in analysis.prompt_families if f.model == model]
    n_fam = sum(f.requests for f in families)
    static = (sum(f.requests * (f.static_prefix_tokens + f.static_block_tokens) for f in families) / n_fam
              if n_fam else 0.0)
    mean_in = _mean(mix, "input")
    static = min(static, mean_in)
    by_family = analysis.failures.by_family if analysis.failures is not None else {}

    def fam_failures(name: str) -> dict[str, float]:
        row = by_family.get(name)
        if row is None or not row.requests:
            return {}
        n_f = row.failures
        return {"failure_rate": n_f / row.requests, "structural_share": row.structural / n_f if n_f else 0.0}

    first = min((r.first_day for r in by_family.values() if r.first_day), default=None)
    # a prompt family of this model that first appears after the window's first day: its prompt was changed or
    # added mid-window — an adapter with that prompt baked in would have needed retraining then
    prompt_changes = sum(1 for name, r in by_family.items()
                         if name.startswith(f"{model}#") and first is not None and r.first_day
                         and r.first_day > first and r.requests >= PROMPT_CHANGE_MIN_SHARE * n_fam) \
        if by_family else None
    fams = [FamilyProfile(name=f.family, share_of_requests=f.requests / n_fam,
                          static_prefix_tokens=f.static_prefix_tokens, variable_input_tokens=f.mean_variable_tokens,
                          hit_rate_5m=f.cache.hit_rate_5m, hit_rate_1h=f.cache.hit_rate_1h,
                          gap_quantiles_s=getattr(f.cache, "gap_quantiles_s", []) or [], **fam_failures(f.family))
            for f in families] if n_fam else []
    volume = analysis.volume
    burst = volume.peak_hour_share * 24 if volume.peak_hour_share is not None else None
    days = [DaySample(date=d.date, requests=d.requests, input_tokens=d.input_tokens, static_tokens=d.static_tokens,
                      output_tokens=d.output_tokens, cost=d.cost) for d in analysis.daily]
    per_day = volume.mean_per_day or (volume.requests_scaled / max(volume.days, 1))
    prices = _prices(price)
    market = market_for(offers if offers is not None else bundled(), price.provider, model, today=_today(analysis),
                        currency=prices.currency, usd_rate=usd_rate, target_model=target_model)
    lat = summary.reliability.latency_ms
    p95 = getattr(lat, "p95", None) if lat is not None else None
    return TrafficProfile(
        requests_per_day=per_day, days=days, model=model, provider=price.provider, prices=prices,
        target_prices=target, market=market, static_prefix_tokens=static,
        variable_input_tokens=max(0.0, mean_in - static), output_tokens=_mean(mix, "output"),
        cache_read_tokens=_mean(mix, "cache_read"), cache_write_tokens=_mean(mix, "cache_write"), families=fams,
        burstiness=burst, trend_pct_per_week=volume.trend_pct_per_week, latency_p95_ms=p95,
        window_days=max(1, volume.days), prompt_changes=prompt_changes, **_failures(analysis.failures))


def price_file_assumptions(analysis: Any, price_book: Any = None) -> dict[str, float]:
    """Training and hosting prices a user price file gives for the model (they count as the user's values)."""
    from advisor.pricing import PriceBook

    book = price_book or PriceBook(analysis.prices.user_file)
    price = book.lookup(_dominant_model(analysis), at=analysis.window.last)
    out: dict[str, float] = {}
    if getattr(price, "training_mtok", None) is not None:
        out["training_price_per_1m"] = price.training_mtok
    if getattr(price, "hosting_per_hour", None) is not None:
        out["gpu_hour_price"] = price.hosting_per_hour
    return out


def load_offers_file(path: str | Path | None) -> Any:
    """The bundled offers table, plus the user's --offers FILE rows."""
    from advisor.offers import bundled, load_offers

    return load_offers(path) if path else bundled()


def decide_from_analysis(analysis: Any, assumptions: Assumptions | None = None, *, price_book: Any = None,
                         offers: Any = None, overrides: MeasuredOverrides | None = None) -> Decision:
    """The decision for an analysis; `overrides` carries what `advise evaluate` measured."""
    a = assumptions or Assumptions()
    usd = a.usd_rate if a.source("usd_rate") == "user" else None
    profile = profile_from_analysis(analysis, price_book=price_book, target_model=a.target_model, offers=offers,
                                    usd_rate=usd)
    return decide(profile, a, overrides=overrides)


def decision_hook(config_section: dict[str, Any] | None = None, overrides: dict[str, Any] | None = None, *,
                  config_file: str | None = None, price_book: Any = None) -> Callable[[Any], Any]:
    """A `post_process` for build_analysis: fills `strategies`, `recommendation`, `assumptions`.

    Precedence: defaults ← price file (training/hosting prices) ← advise.toml [assumptions] ← CLI flags.
    """
    given = dict(overrides or {})
    offers_file = given.pop("offers_file", None)

    def hook(analysis: Any) -> Any:
        from_prices = price_file_assumptions(analysis, price_book)
        a = load_assumptions({**from_prices, **(config_section or {})}, given, config_file=config_file)
        decision = decide_from_analysis(analysis, a, price_book=price_book, offers=load_offers_file(offers_file))
        return fill_analysis(analysis, decision)

    return hook


def fill_analysis(analysis: Any, decision: Decision) -> Any:
    """Put a Decision into the analysis' `strategies`, `recommendation` and `assumptions` slots."""
    from advisor.analysis import AssumptionTable
    from advisor.decision.decide import RecommendationRecord

    analysis.strategies = decision.strategies
    analysis.recommendation = RecommendationRecord(
        **dict(decision.recommendation), currency=decision.currency, price_source=decision.price_source,
        volume_per_day=decision.volume_per_day, schema_version=decision.schema_version, market=decision.market)
    analysis.assumptions = AssumptionTable(rows=decision.assumptions)
    return analysis
