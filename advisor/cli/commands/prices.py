"""`advise prices MODEL`: the price advise would bill a model at, and where that price comes from."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

import click

from advisor.kernel.errors import AdviseError


def _parse_at(text: str | None) -> datetime:
    if text is None:
        return datetime.now(UTC)
    try:
        at = datetime.fromisoformat(text)
    except ValueError as exc:
        raise AdviseError(f"cannot read --at {text!r} as a date", field="--at",
                          hint="use an ISO date or date-time, e.g. 2026-03-01 or 2026-03-01T12:00:00Z") from exc
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def _money(value: float | None, currency: str) -> str:
    return "—" if value is None else f"{value:,.4f}".rstrip("0").rstrip(".") + f" {currency} / 1M tokens"


def render_price(price, at: datetime, describe: str) -> str:  # type: ignore[no-untyped-def]
    """Human-readable price card (plain text; the numbers carry currency and unit)."""
    cur = price.currency
    lines = [f"{price.model}" + (f"  (provider: {price.provider})" if price.provider else "")
             + (f"  → price entry '{price.matched}'" if price.matched and price.matched != price.model else "")]
    rows = [
        ("input", _money(price.input_mtok, cur)),
        ("cached input", _money(price.cached_input_mtok, cur) if price.cached_input_mtok is not None
         else "billed as input (no cache discount listed)"),
        ("cache write (5 min)", _money(price.cache_write_mtok, cur) if price.cache_write_mtok is not None
         else "billed as input"),
        ("cache write (1 h)", _money(price.cache_write_1h_mtok, cur) if price.cache_write_1h_mtok is not None
         else "2 × input (Anthropic rule)" if (price.provider or "") == "anthropic" else "as cache write"),
        ("output (incl. reasoning)", _money(price.output_mtok, cur)),
    ]
    if price.batch_price is not None:
        b = price.batch_price
        rows.append(("batch", f"input {_money(b.input_mtok, cur)}, output {_money(b.output_mtok, cur)} "
                              "(batch rates from the price table)"))
    elif price.batch_discount is not None:
        rows.append(("batch", f"{price.batch_discount:g} × every rate (documented batch discount)"))
    else:
        rows.append(("batch", "no batch discount known (billed at standard rates)"))
    for tier in price.tiers:
        rows.append((f"above {tier.above_input_tokens:,} input tokens",
                     f"{tier.rate_field.removesuffix('_mtok').replace('_', ' ')} {_money(tier.mtok, cur)}"))
    if price.training_mtok is not None:
        rows.append(("training", _money(price.training_mtok, cur)))
    if price.hosting_per_hour is not None:
        rows.append(("hosting", f"{price.hosting_per_hour:,.2f} {cur} / hour"))
    width = max(len(k) for k, _ in rows)
    lines += [f"  {k:<{width}}  {v}" for k, v in rows]
    if price.note:
        lines.append(f"  note: {price.note}")
    if price.extra_units:
        lines.append(f"  not billed by advise: {', '.join(price.extra_units)}")
    lines.append(f"source: {price.source}; price data dated {price.date}"
                 + (f"; these rates effective from {price.effective_from}" if price.effective_from else "")
                 + f"; looked up for {at.date().isoformat()}")
    lines.append(f"price tables: {describe}")
    return "\n".join(lines)


@click.command("prices")
@click.argument("model")
@click.option("--prices", "prices_file", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Price override file (TOML/JSON, per-1M-token prices) checked before genai-prices.")
@click.option("--provider", default=None, help="Provider id (openai, anthropic, azure, …) when the name is ambiguous.")
@click.option("--at", "at_text", metavar="DATE", default=None, help="Price valid on this ISO date (default: today, UTC).")
@click.option("--json", "as_json", is_flag=True, help="Print the price as JSON.")
def prices(model: str, prices_file: Path | None, provider: str | None, at_text: str | None, as_json: bool) -> None:
    """Show the per-1M-token prices advise uses for MODEL, with their source and date.

    \b
    Examples:
      advise prices gpt-4o
      advise prices claude-sonnet-4-5 --at 2026-03-01
      advise prices ft:gpt-4o-mini-2024-07-18:acme::abc --prices prices.toml --json
    """
    from advisor.pricing import PriceBook

    at = _parse_at(at_text)
    book = PriceBook(prices_file)
    price = book.lookup(model, provider, at)
    if as_json:
        payload = {"model": model, "at": at.isoformat(), "price": asdict(price), "price_tables": book.describe()}
        click.echo(json.dumps(payload, indent=2, default=str))
    else:
        click.echo(render_price(price, at, book.describe()))
