"""The rich terminal summary of an Analysis: tables with units, sources and ranges.

Estimated figures (tokens counted offline rather than reported by the provider) are marked
with "≈" and a ± range from the tokenizer's relative error; money always carries its currency
and the price table's source and date; scaled figures say they are scaled from a sample.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

if TYPE_CHECKING:
    from advisor.analysis import Analysis, ModelSummary


def fmt_int(x: float | None) -> str:
    return "—" if x is None else f"{x:,.0f}"


def fmt_money(x: float | None, currency: str | None) -> str:
    if x is None:
        return "unknown"
    cur = currency or "USD"
    if x != 0 and abs(x) < 0.01:
        return f"{x:.5f} {cur}"
    return f"{x:,.2f} {cur}"


def fmt_pct(x: float | None, digits: int = 0) -> str:
    return "—" if x is None else f"{x * 100:.{digits}f}%"


def token_error(m: ModelSummary) -> float:
    """Relative uncertainty of this model's token totals: the tokenizer error × share estimated."""
    return m.tokenizer.relative_error * m.tokens.estimated_share


def approx(text: str, err: float) -> str:
    """Mark an estimated figure: '≈1,234 ±5%'."""
    return f"≈{text} ±{err * 100:.0f}%" if err > 0 else text


def summary_tables(a: Analysis) -> list:
    """The renderables, in order (header lines and tables); kept separate so tests can inspect them."""
    out: list = []
    cur = a.cost.currency
    files = escape(", ".join(f"{f.path} ({f.format or '?'}, {f.records:,} records)" for f in a.inputs)
                   or "(records given)")  # file names and model names are data, not rich markup
    first = a.window.first.strftime("%Y-%m-%d %H:%M") if a.window.first else "—"
    last = a.window.last.strftime("%Y-%m-%d %H:%M") if a.window.last else "—"
    out.append(f"[bold]advise analyze[/] — {files}")
    out.append(f"Window: {first} → {last} UTC ({a.window.days} days), {a.data_quality.records:,} records")
    dates = f", entries dated {', '.join(a.prices.dates)}" if a.prices.dates else ""
    out.append(f"Prices: {a.prices.source}{dates}" + (f" + {a.prices.user_file}" if a.prices.user_file else ""))
    if a.sampling.label:
        out.append(f"[yellow]Volumes and money {a.sampling.label} (× {a.sampling.scale:g}).[/]")

    v = a.volume
    vol = Table(title="Volume", title_justify="left")
    vol.add_column("metric")
    vol.add_column("value", justify="right")
    vol.add_row("requests logged", fmt_int(v.requests))
    if a.sampling.label:
        vol.add_row("requests, full traffic (scaled)", fmt_int(v.requests_scaled))
    vol.add_row("mean requests/day" + (" (scaled)" if a.sampling.label else ""), fmt_int(v.mean_per_day))
    trend = "— (fewer than 3 days)" if v.trend_pct_per_week is None else f"{v.trend_pct_per_week:+.1f} %/week"
    vol.add_row("trend (least squares on daily counts)", trend)
    if v.peak_hour_utc is not None:
        vol.add_row("peak hour of day (UTC)", f"{v.peak_hour_utc:02d}:00 ({fmt_pct(v.peak_hour_share)} of requests)")
        vol.add_row("busiest clock hour", f"{v.busiest_hour} ({fmt_int(v.busiest_hour_requests)} requests)")
    out.append(vol)

    tok = Table(title="Tokens per request, by model (mean · p50 · p95)", title_justify="left")
    for col in ("model", "requests", "input tok", "cached tok", "cache-write tok", "output tok", "reasoning tok"):
        tok.add_column(col, justify="left" if col == "model" else "right")
    for name, m in a.models.items():
        err = token_error(m)
        t = m.tokens.tokens

        def dist(kind: str, e: float = err, t: dict = t) -> str:
            d = t[kind]
            return approx(f"{fmt_int(d.mean)} · {fmt_int(d.p50)} · {fmt_int(d.p95)}", e)

        tok.add_row(escape(name), fmt_int(m.tokens.requests), dist("input"), dist("cache_read", 0.0),
                    dist("cache_write", 0.0), dist("output"), dist("reasoning", 0.0))
    out.append(tok)

    money = Table(title="Cost at list price and reliability, by model", title_justify="left")
    for col in ("model", "per request", "per day", "per month (30 d)", "errors", "latency p50 · p95"):
        money.add_column(col, justify="left" if col == "model" else "right")
    for name, m in a.models.items():
        e = token_error(m) if m.cost.priced else 0.0
        lat = m.reliability.latency_ms
        money.add_row(escape(name), approx(fmt_money(m.cost.per_request, m.cost.currency), e),
                      approx(fmt_money(m.cost.per_day, m.cost.currency), e),
                      approx(fmt_money(m.cost.per_month, m.cost.currency), e),
                      fmt_pct(m.reliability.error_rate, 1),
                      f"{fmt_int(lat.p50)} · {fmt_int(lat.p95)} ms" if lat else "not logged")
    out.append(money)
    total_err = max((token_error(m) for m in a.models.values()), default=0.0)
    line = (f"Total: {approx(fmt_money(a.cost.total, cur), total_err)} for the logged calls, "
            f"{approx(fmt_money(a.cost.per_day, cur), total_err)}/day, "
            f"{approx(fmt_money(a.cost.per_month, cur), total_err)}/month projected (30 days"
            + (f", {a.sampling.label})" if a.sampling.label else ")"))
    if not a.cost.complete:
        line += f" — [red]cost unknown for {escape(', '.join(a.cost.unpriced_models))} (no price)[/]"
    out.append(line)

    fam = Table(title="Prompt families: tokens every request repeats", title_justify="left")
    for col in ("#", "model", "requests", "static prefix tok", "variable tok", "static % input tok",
                "static % input cost", "cache hit 5m · 1h (sim.)"):
        fam.add_column(col, justify="left" if col == "model" else "right")
    shown = a.prompt_families[:10]
    for i, f in enumerate(shown, 1):
        static = fmt_int(f.static_prefix_tokens)
        if f.static_prefix_estimated:
            static = approx(static, f.static_prefix_error)
        if f.static_block_tokens:
            static += f" (+{f.static_block_tokens:,.0f} in blocks)"
        fam.add_row(str(i), escape(f.model), fmt_int(f.requests), static, fmt_int(f.mean_variable_tokens),
                    fmt_pct(f.static_share_of_input_tokens), fmt_pct(f.static_share_of_input_cost),
                    f"{fmt_pct(f.cache.hit_rate_5m)} · {fmt_pct(f.cache.hit_rate_1h)}")
    out.append(fam)
    for i, f in enumerate(shown, 1):
        if f.excerpt:
            text = f.excerpt[:100].replace("\n", " ")
            out.append(f"  #{i} static prefix starts: [dim]{escape(text)}{'…' if len(f.excerpt) > 100 else ''}[/]")
    if len(a.prompt_families) > len(shown):
        out.append(f"  … and {len(a.prompt_families) - len(shown)} more families in analysis.json")

    dq = a.data_quality
    skipped = sum(dq.skipped_lines.values())
    parts = [f"tokens reported for {fmt_pct(1 - dq.estimated_share)} of records, "
             f"estimated offline for {fmt_pct(dq.estimated_share)}"]
    if skipped:
        parts.append(f"{skipped:,} malformed lines skipped (" +
                     ", ".join(f"{k}: {n}" for k, n in dq.skipped_lines.items()) + ")")
    if dq.filtered_out:
        parts.append(f"{dq.filtered_out:,} records outside --since/--until")
    if dq.out_of_window.records:
        ow = dq.out_of_window
        parts.append(f"{ow.records:,} records with implausible timestamps excluded (e.g. {ow.examples[0]}; "
                     "set the window with --since/--until)")
    if dq.duplicates.records or dq.duplicates.identical_files:
        dup = dq.duplicates
        parts.append(f"counted once: {len(dup.identical_files)} identical input files skipped, {dup.records:,} records "
                     f"repeating an earlier id ({', '.join(f'{k}: {n:,}' for k, n in dup.by_file.items()) or 'none'})")
    if dq.assumed_time.records:
        parts.append(f"time ASSUMED for {dq.assumed_time.records:,} records without a timestamp "
                     f"({dq.assumed_time.source})")
    if dq.unpriced_models:
        parts.append(f"unpriced: {escape(', '.join(dq.unpriced_models))}")
    by_format: dict[str, int] = {}
    for f in a.inputs:
        by_format[f.format or "unknown"] = by_format.get(f.format or "unknown", 0) + f.records
    parts.append("records per source format: " + ", ".join(f"{k} {v:,}" for k, v in sorted(by_format.items())))
    out.append("Data quality: " + "; ".join(parts))
    out.extend(f"  note: {escape(n)}" for n in dq.notes[:10])
    return out


def print_summary(a: Analysis, console: Console | None = None) -> None:
    console = console or Console()
    for item in summary_tables(a):
        console.print(item)
    if a.failures is not None:
        from reports.terminal_failures import print_failures

        print_failures(a.failures, console)
    for item in decision_tables(a):
        console.print(item)


def fmt_days(r: Any) -> str:
    """A payback Range as 'N d (lo–hi)'; 'never' when it does not pay back within reach."""
    if r is None or r.value is None:
        return "never"
    lo, hi = r.low, r.high
    band = f" ({lo:,.0f}–{hi:,.0f})" if lo is not None and hi is not None else (
        f" ({lo:,.0f}–never)" if lo is not None else "")
    return f"{r.value:,.0f} d{band}"


def _interval(r: Any, cur: str) -> str:
    """'central (low to high)' for a money Range with its 80% interval."""
    if r is None or r.value is None:
        return "—"
    lo, hi = r.low, r.high
    band = f" ({fmt_money(lo, cur)} to {fmt_money(hi, cur)})" if lo is not None and hi is not None else ""
    return fmt_money(r.value, cur) + band


def decision_tables(a: Analysis) -> list:
    """The ranked options, the recommendation (target, where served, why the others lost) and its flips."""
    from advisor.analysis import NoRecommendation

    out: list = []
    rec = a.recommendation
    if rec is not None and not a.strategies:
        out.append(f"[bold]Recommendation:[/] {escape(rec.headline)}")
    if not a.strategies or rec is None or isinstance(rec, NoRecommendation):
        return out
    cur = rec.currency
    order = {k: i for i, k in enumerate(rec.ranking)}
    shown = [s for s in sorted(a.strategies, key=lambda s: order.get(s.key, 99))
             if s.eligible or s.kind != "portfolio"]
    t = Table(title=f"Options, ranked (money in {cur}; net value over each option's horizon, 80% interval of the "
                    "Monte Carlo)")
    for col in ("#", "option", "target · served by", "one-time", "net value / month", "net value (80%)",
                "P(net>0)", "P(best)", "payback"):
        t.add_column(col, justify="left" if col in ("option", "target · served by") else "right")
    for s in shown:
        win = s.key == rec.winner
        ok = s.eligible
        name = s.name + ("" if ok else " (ruled out)")
        t.add_row(str(order.get(s.key, 0) + 1), f"[bold green]{name}[/]" if win else name,
                  escape(f"{s.target} · {s.served}"),
                  fmt_money(s.one_time_cost, cur) if ok else "—",
                  fmt_money(s.monthly_net_value.value, cur) if ok else "—",
                  (fmt_money(0, cur) if s.key == "status-quo" else _interval(s.net_value_12m, cur)) if ok
                  else "—",
                  fmt_pct(s.p_net_positive, 0) if s.p_net_positive is not None else "—",
                  fmt_pct(s.p_best, 0) if s.p_best is not None else "—",
                  fmt_days(s.payback_days) if ok and s.key != "status-quo" else "—")
    out.append(t)
    out.append(f"[bold]Recommendation:[/] {escape(rec.headline)}")
    for line in rec.explanation:
        out.append(f"  • {escape(line)}")
    if rec.why_not:
        out.append("[bold]Why not the others:[/]")
        names = {s.key: s.name for s in a.strategies}
        for key, why in rec.why_not.items():
            out.append(f"  • {escape(names.get(key, key))}: {escape(why)}")
    if rec.flip_conditions:
        out.append("[bold]The answer would change if:[/]")
        for f in rec.flip_conditions:
            out.append(f"  • {escape(f.text)}")
    rows = a.assumptions.rows if a.assumptions is not None else []
    if rows:
        at = Table(title="Assumptions (value · source)")
        for col in ("assumption", "value", "source"):
            at.add_column(col)
        for r in rows:
            at.add_row(r.name, f"{r.display} {r.unit}".strip(), r.source)
        out.append(at)
    out.append(f"Prices: {rec.price_source}")
    market = rec.market
    if market is not None:
        rows_used = market.rows
        dates = sorted({r.as_of for r in rows_used})
        out.append(f"Offers: {len(rows_used)} rows" + (f" (as of {dates[0]}–{dates[-1]})" if dates else "")
                   + f"; currency: {market.fx}")
        for w in market.warnings:
            out.append(f"[yellow]Warning:[/] {escape(w)}")
    return out
