"""The offers table (:mod:`advisor.offers`) seen from one decision: a :class:`Market` in the price currency.

Every USD price of a row is converted at the dated rate in `fx`; a row in another currency is
converted through USD with the same table. The rows a lookup touched are recorded for analysis.json.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from advisor.decision.strategies.fx import FxRate, fx_rate
from advisor.decision.strategies.market import CacheTerms, HostedFineTune, Market, OpenWeightOffer


def _conv(amount: float | None, row_currency: str, fx: FxRate) -> float | None:
    if amount is None:
        return None
    usd = amount if row_currency == "USD" else amount / fx_rate(row_currency).per_usd
    return fx.usd(usd)


def _cache(rule: Any, source: str, as_of: str | None) -> CacheTerms | None:
    if rule is None or rule.mode == "none":
        return None
    ttls = [s / 60 for s in rule.ttls_s] or [5.0]
    return CacheTerms(min_tokens=rule.min_tokens, step=rule.step, read_multiplier=rule.read_multiplier,
                      write_multiplier_5m=rule.write_multiplier_5m, write_multiplier_1h=rule.write_multiplier_1h,
                      ttl_minutes=ttls, automatic=rule.automatic, source=rule.source or source, as_of=as_of)


def _hosted(table: Any, provider: str | None, model: str, today: date, fx: FxRate) -> tuple[HostedFineTune | None, str]:
    row = table.model(provider, model)
    ft = table.fine_tuning(provider, model)
    who = (row.provider if row else provider) or "the provider"
    src = row.source if row else "offers table"
    if not ft.available:
        defaults = table.provider_defaults(provider or (row.provider if row else None))
        note = ft.note or (row.note if row and row.note and "fine-tun" in row.note.lower() else None) or \
            (defaults.note if defaults and defaults.note else None)
        return None, f"{who} sells no fine-tuning of {model}" + (f": {note}" if note else "") + f" ({src})"
    cur = row.currency if row else "USD"
    inp, out = _conv(ft.input_mtok, cur, fx), _conv(ft.output_mtok, cur, fx)
    train = _conv(ft.training_mtok, cur, fx)
    if inp is None or out is None or train is None:
        return None, f"the offers table has no fine-tuned inference/training price for {model} ({src})"
    if ft.new_jobs_until is not None and today > ft.new_jobs_until:
        access = "closed"
    elif any(rule.since <= today for rule in ft.access):
        access = "existing-customers"
    else:
        access = "open"
    rules = "; ".join(f"closed to {r.who} since {r.since}" for r in ft.access if r.since <= today)
    return HostedFineTune(
        model=row.model if row else model, methods=list(ft.methods), access=access, job_cutoff=ft.new_jobs_until,
        retirement=row.fine_tune_until() if row else ft.inference_until, input=inp, output=out,
        cached_input=_conv(ft.cached_input_mtok, cur, fx), training_per_1m=train,
        source=(ft.price_source or src) + (f"; {rules}" if rules else ""),
        as_of=str(row.as_of) if row else None), ""


def _open_weight(table: Any, fx: FxRate) -> list[OpenWeightOffer]:
    out = []
    for o in table.open_weight("serverless_lora"):
        if not o.lora_upload:
            continue
        out.append(OpenWeightOffer(
            key=f"{o.provider}:{o.name}", kind="serverless-lora", vendor=o.provider, base_model=o.base_model or o.name,
            input=_conv(o.input_mtok, o.currency, fx), output=_conv(o.output_mtok, o.currency, fx),
            training_per_1m=_conv(o.training_mtok, o.currency, fx), params_b=o.params_b, source=o.source,
            as_of=str(o.as_of)))
    for o in table.open_weight("dedicated_gpu"):
        hour = _conv(o.per_hour, o.currency, fx)
        out.append(OpenWeightOffer(
            key=f"{o.provider}:{o.name}", kind="dedicated-gpu", vendor=o.provider, base_model=o.base_model or
            "an 8B open-weight model", gpu_hour=hour / o.gpu_count if hour is not None else None, gpu=o.gpu,
            throughput_tokens_s=o.throughput_tokens_per_s, params_b=o.params_b, source=o.source,
            as_of=str(o.as_of)))
    return out


def market_for(table: Any, provider: str | None, model: str, *, today: date, currency: str,
               usd_rate: float | None = None, target_model: str | None = None) -> Market:
    """The decision's view of the offers for `model` (fine-tune of `target_model` when given)."""
    fx = fx_rate(currency, usd_rate)
    table.reset_used()  # record only the rows this decision reads (the bundled table is shared per process)
    row = table.model(provider, model)
    prov = provider or (row.provider if row else None)
    src = row.source if row else "offers table"
    as_of = str(row.as_of) if row else None
    cache = _cache(table.cache_rule(prov, model), src, as_of)
    defaults = table.provider_defaults(prov)
    structured = (row.structured_output if row else (defaults.structured_output if defaults else "none"))
    hosted, note = _hosted(table, prov, target_model or model, today, fx)
    warnings = []
    if row is None:
        warnings.append(f"no offers row for {model}: provider defaults apply" if defaults else
                        f"no offers row for {model} or its provider: only open-weight offers are known")
    stale = table.stale_warning(today)
    if stale:
        warnings.append(stale)
    ow = _open_weight(table, fx)
    prov_info = table.provenance(today)
    return Market(today=today, provider=prov, model=model, fx=fx, cache=cache, offers_as_of=prov_info["as_of"],
                  offers_files=prov_info["files"],
                  structured_outputs=structured == "strict_schema",
                  structured_source=f"{structured} ({src})", hosted_ft=hosted, hosted_ft_note=note, open_weight=ow,
                  batch_discount=row.batch_discount if row else None, retirement=row.retires if row else None,
                  rows=prov_info["rows"], warnings=warnings)
