"""What the market sells for one production model, in the decision's currency: the offers a decision reads.

The offers table (:mod:`advisor.offers`) is the one home of provider rules; this module is the
decision's view of it — the rows for the logged model (cache terms, strict structured outputs,
hosted fine-tuning and its dates, batch discount) and the open-weight offers (serverless LoRA,
dedicated GPUs) — with every USD price converted at the dated rate in `fx`. Tests build a
:class:`Market` by hand; :func:`advisor.decision.strategies.offers_adapter.market_for` builds it from the table.
"""

from __future__ import annotations

import math
from datetime import date
from typing import Literal

from pydantic import BaseModel, Field

from advisor.decision.strategies.fx import FxRate, fx_rate


class CacheTerms(BaseModel):
    """A provider's prompt-caching rule for one model."""

    min_tokens: int = Field(ge=0, description="shortest cacheable prefix")
    step: int = Field(default=1, ge=1, description="cached length is a multiple of this")
    read_multiplier: float = Field(ge=0, description="cache read price / input price")
    write_multiplier_5m: float = Field(default=1.0, ge=0, description="cache write price / input price (short TTL)")
    write_multiplier_1h: float | None = Field(default=None, ge=0, description="write price / input for the 1-h TTL")
    ttl_minutes: list[float] = Field(default_factory=lambda: [5.0], description="TTLs one can buy")
    automatic: bool = True
    source: str = ""
    as_of: str | None = None

    def cacheable(self, static_prefix: float) -> float:
        """The part of a static prefix the provider will cache (0 below its minimum)."""
        if static_prefix < self.min_tokens:
            return 0.0
        # the minimum, then whole steps above it (advisor.offers.CacheRule.cacheable_tokens, for fractional means)
        return self.min_tokens + math.floor((static_prefix - self.min_tokens) / self.step) * self.step


class HostedFineTune(BaseModel):
    """Fine-tuning of the production model as its provider sells it (prices in the decision currency)."""

    model: str
    methods: list[str] = Field(default_factory=lambda: ["sft"])
    access: Literal["open", "existing-customers", "closed"] = "open"
    job_cutoff: date | None = Field(default=None, description="no new training jobs after this day")
    retirement: date | None = Field(default=None, description="the base model (and its fine-tunes) retire")
    input: float = Field(ge=0, description="fine-tuned inference, per 1M input tokens")
    output: float = Field(ge=0, description="fine-tuned inference, per 1M output tokens")
    cached_input: float | None = Field(default=None, ge=0)
    training_per_1m: float = Field(ge=0, description="per 1M training tokens")
    source: str = ""
    as_of: str | None = None


class OpenWeightOffer(BaseModel):
    """Where a fine-tuned open-weight model can run: per token (serverless LoRA) or on rented GPUs."""

    key: str
    kind: Literal["serverless-lora", "dedicated-gpu"]
    vendor: str
    base_model: str
    input: float | None = Field(default=None, ge=0, description="serverless: per 1M input, the base model's price")
    output: float | None = Field(default=None, ge=0, description="serverless: per 1M output")
    training_per_1m: float | None = Field(default=None, ge=0, description="LoRA training per 1M tokens")
    gpu_hour: float | None = Field(default=None, ge=0, description="dedicated: per GPU-hour")
    gpu: str | None = None
    params_b: float | None = Field(default=None, gt=0, description="base model size, billions of parameters")
    throughput_tokens_s: float | None = Field(default=None, gt=0, description="dedicated: output tokens/s per GPU")
    source: str = ""
    as_of: str | None = None

    @property
    def label(self) -> str:
        where = "serverless LoRA (per token, base-model price)" if self.kind == "serverless-lora" else \
            f"dedicated {self.gpu or 'GPU'}"
        return f"{self.base_model} on {self.vendor}, {where}"


class Market(BaseModel):
    """The offers one decision reads, converted to its currency."""

    today: date
    provider: str | None = None
    model: str
    fx: FxRate = Field(default_factory=lambda: fx_rate("USD"))
    cache: CacheTerms | None = None
    structured_outputs: bool = False
    structured_source: str = ""
    hosted_ft: HostedFineTune | None = None
    hosted_ft_note: str = Field(default="", description="why the provider sells no fine-tune of this model")
    open_weight: list[OpenWeightOffer] = Field(default_factory=list)
    batch_discount: float | None = None
    retirement: date | None = None
    rows: list[dict] = Field(default_factory=list, description="offer rows used (source, as-of) for analysis.json")
    offers_as_of: str | None = Field(default=None, description="the table's oldest row date")
    offers_files: list[str] = Field(default_factory=list, description="bundled table + the user's --offers file")
    warnings: list[str] = Field(default_factory=list)

    def serverless(self) -> list[OpenWeightOffer]:
        return [o for o in self.open_weight if o.kind == "serverless-lora" and o.input is not None]

    def dedicated(self) -> list[OpenWeightOffer]:
        return [o for o in self.open_weight if o.kind == "dedicated-gpu" and o.gpu_hour is not None]


def months_between(start: date, end: date) -> float:
    return max(0.0, (end - start).days / 30.0)
