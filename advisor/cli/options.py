"""Click options shared by `advise analyze` and `advise run`.

The what-if flags feed `advisor.decision.assumptions.cli_overrides`; click itself stays in the app layer.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def assumption_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """Click options for what-if questions; the command passes `cli_overrides(**kwargs)` to load_assumptions."""
    import click

    options = [
        click.option("--volume", "volume", default=None, metavar="N[/day|/month]",
                     help="Cost the strategies at this traffic instead of the measured volume (e.g. 10000/day)."),
        click.option("--target-model", "target_model", default=None, metavar="MODEL",
                     help="Model the fine-tune would run on (priced from --prices or the price table)."),
        click.option("--examples", "examples_needed", type=click.IntRange(min=1), default=None, metavar="N",
                     help="Curated examples the fine-tune needs (default: by task kind, 1,000–5,000)."),
        click.option("--training-price", "training_price_per_1m", type=click.FloatRange(min=0), default=None,
                     metavar="PRICE", help="Hosted fine-tuning price per 1M training tokens."),
        click.option("--training-cost", "training_cost", type=click.FloatRange(min=0), default=None,
                     metavar="AMOUNT", help="Cost of one training run in total (overrides --training-price)."),
        click.option("--failure-cost", "failure_cost", type=click.FloatRange(min=0), default=None,
                     metavar="AMOUNT", help="What one failed answer costs you (default: one retry)."),
        click.option("--has-openai-ft-access", "has_ft_access", is_flag=True, default=None,
                     help="Your organisation still has OpenAI fine-tuning access (closed to new organisations "
                          "since 2026-05-07): cost a hosted fine-tune whose horizon ends at the cut-off/retirement."),
        click.option("--offers", "offers_file", default=None, metavar="FILE",
                     help="Offers TOML whose rows add to or override the bundled offers table."),
        click.option("--latency-slo", "latency_slo_ms", type=click.FloatRange(min=1), default=None, metavar="MS",
                     help="p95 latency (ms) a strategy must stay under."),
    ]
    for option in reversed(options):
        func = option(func)
    return func
