"""`advise offers [MODEL]`: the market facts advise decides with, each with its source and date."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import click

from advisor.kernel.errors import AdviseError


def _money(v: float | None, cur: str) -> str:
    return "—" if v is None else f"{v:,.4f}".rstrip("0").rstrip(".") + f" {cur}"


def _ft_text(ft, cur: str) -> str:  # type: ignore[no-untyped-def]
    if not ft.methods:
        return "not sold" + (f" ({ft.note})" if ft.note else "")
    parts = [f"{'/'.join(ft.methods)} on {ft.where or '?'}"]
    if ft.new_jobs_until:
        parts.append(f"new jobs until {ft.new_jobs_until}")
    for rule in ft.access:
        parts.append(f"closed since {rule.since} to {rule.who}")
    if ft.inference_until:
        parts.append(f"fine-tunes served until {ft.inference_until}")
    prices = [f"in {_money(ft.input_mtok, cur)}", f"cached {_money(ft.cached_input_mtok, cur)}",
              f"out {_money(ft.output_mtok, cur)}", f"training {_money(ft.training_mtok, cur)}"]
    parts.append("per 1M tokens: " + ", ".join(prices))
    if ft.price_source:
        parts.append(f"prices: {ft.price_source}")
    return "; ".join(parts)


def _cache_text(c) -> str:  # type: ignore[no-untyped-def]
    if c is None:
        return "—"
    if c.mode == "none":
        return "no prompt caching"
    ttl = "/".join(f"{s // 60} min" if s < 3600 else f"{s // 3600} h" for s in c.ttls_s)
    w = f"write {c.write_multiplier_5m:g}×" + (f" (1 h {c.write_multiplier_1h:g}×)" if c.write_multiplier_1h else "")
    step = f" in {c.step}-token steps" if c.step > 1 else ""
    return f"{c.mode}, ≥{c.min_tokens:,} tokens{step}; read {c.read_multiplier:g}× input, {w}; TTL {ttl or '?'}"


def _render(table, rows, console) -> None:  # type: ignore[no-untyped-def]
    from rich.table import Table

    from advisor.offers import ModelOffer, OpenWeightOffer

    models = [r for r in rows if isinstance(r, ModelOffer)]
    weights = [r for r in rows if isinstance(r, OpenWeightOffer)]
    if models:
        t = Table(title="Hosted models", show_lines=True)
        for col in ("provider / model", "fine-tuning", "prompt cache", "batch", "structured output", "retires",
                    "source (as of)"):
            t.add_column(col, overflow="fold")
        for r in models:
            names = r.model + (f"\n({', '.join(r.aliases)})" if r.aliases else "")
            t.add_row(f"{r.provider}\n{names}", _ft_text(r.fine_tuning, r.currency), _cache_text(r.cache),
                      "—" if r.batch_discount is None else f"{r.batch_discount:g}× price",
                      r.structured_output, str(r.retires or "not announced"),
                      f"{r.source}\n({r.as_of}" + (f"; {r.source_note}" if r.source_note else "") + ")")
        console.print(t)
    if weights:
        t = Table(title="Open-weight offers", show_lines=True)
        for col in ("kind", "provider", "offer", "price", "training", "throughput (assumption)", "source (as of)"):
            t.add_column(col, overflow="fold")
        for r in weights:
            if r.kind == "serverless_lora":
                price = (f"in {_money(r.input_mtok, r.currency)} / out {_money(r.output_mtok, r.currency)} per 1M"
                         + ("; LoRA upload" if r.lora_upload else ""))
            else:
                price = f"{_money(r.per_hour, r.currency)} / hour ({r.gpu_count}× {r.gpu})"
            thr = ("—" if r.throughput_tokens_per_s is None else
                   f"ASSUMPTION {r.throughput_tokens_per_s:,.0f} tok/s: {r.throughput_assumption} "
                   f"[{r.throughput_source}]")
            t.add_row(r.kind, r.provider, r.name + (f"\n({r.base_model})" if r.base_model else ""), price,
                      _money(r.training_mtok, r.currency) + " / 1M" if r.training_mtok is not None else "—",
                      thr, f"{r.source}\n({r.as_of}" + (f"; {r.source_note}" if r.source_note else "") + ")")
        console.print(t)


@click.command("offers")
@click.argument("model", required=False)
@click.option("--provider", default=None, help="Provider id (openai, anthropic, google, together, …).")
@click.option("--offers", "offers_file", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="TOML file whose rows add to or override the bundled offers (see docs/offers.md).")
@click.option("--kind", type=click.Choice(["hosted", "serverless_lora", "dedicated_gpu"]), default=None,
              help="Only rows of this kind.")
@click.option("--json", "json_out", metavar="FILE|-", is_flag=False, flag_value="-", default=None,
              help="Write the rows as JSON to FILE, or to stdout with '-' (the default when no FILE).")
@click.option("--today", "today_text", metavar="DATE", default=None, hidden=True,
              help="Pretend today is DATE (tests the staleness warning).")
def offers(model: str | None, provider: str | None, offers_file: Path | None, kind: str | None,
           json_out: str | None, today_text: str | None) -> None:
    """Show the offers table: fine-tuning availability and prices, cache rules, open-weight serving.

    Every row carries its source URL and as-of date. With MODEL, only that model's row (dated
    snapshot names such as gpt-4o-2024-08-06 work).

    \b
    Examples:
      advise offers
      advise offers claude-sonnet-4-5-20250929
      advise offers gpt-4o-mini --json -
      advise offers --kind serverless_lora --offers my-offers.toml
    """
    from advisor.offers import export_row, load_offers

    try:
        today = date.fromisoformat(today_text) if today_text else datetime.now(UTC).date()
    except ValueError as exc:
        raise AdviseError(f"cannot read --today {today_text!r} as a date", field="--today",
                          hint="use YYYY-MM-DD") from exc
    table = load_offers(offers_file)
    warning = table.stale_warning(today)
    if warning:
        click.echo(f"advise: warning: {warning}", err=True)
    if model:
        rows = [table.require_model(provider, model)]
    else:
        rows = [r for r in (*table.models, *table.open_weights)
                if (provider is None or r.provider == provider)
                and (kind is None or (kind == "hosted" and r in table.models) or getattr(r, "kind", None) == kind)]
    if json_out is not None:
        payload = {"as_of": table.as_of.isoformat(), "stale": table.stale(today), "tables": table.files,
                   "rows": [export_row(r) for r in rows]}
        text = json.dumps(payload, indent=2, ensure_ascii=False)
        if json_out == "-":
            click.echo(text)
            return
        from advisor.kernel.io import atomic_write_text

        atomic_write_text(json_out, text + "\n")
        click.echo(f"wrote {len(rows)} offer rows to {json_out}", err=True)
        return
    from rich.console import Console

    console = Console(width=max(160, Console().width))
    _render(table, rows, console)
    console.print(f"offers table as of {table.as_of} (oldest row); files: {', '.join(table.files)}")
