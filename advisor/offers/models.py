"""Typed rows of the offers table: what a team can buy today, each with its source and as-of date.

The data lives in ``advisor/offers/data/offers.toml``; these pydantic models are its schema, so a
mistyped field or a missing source fails on load instead of silently changing a decision.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

FineTuneMethod = Literal["sft", "dpo", "rft", "vision"]
StructuredOutput = Literal["strict_schema", "json_mode", "none"]
CacheMode = Literal["automatic", "explicit", "none"]
OpenWeightKind = Literal["serverless_lora", "dedicated_gpu"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Sourced(_Strict):
    """Every row says where its facts come from and when they were true."""

    source: str = Field(description="URL of the page the facts were read from")
    as_of: date = Field(description="date the page states, or the date its stored copy was read (see source_note)")
    source_note: str | None = Field(default=None, description="how the date was obtained, extra sources")
    currency: str = "USD"

    @field_validator("source")
    @classmethod
    def _url(cls, v: str) -> str:
        if not re.match(r"^https?://\S+$", v.strip()):
            raise ValueError("must be an http(s) URL of the page the facts come from")
        return v.strip()

    @field_validator("currency")
    @classmethod
    def _currency(cls, v: str) -> str:
        if not re.fullmatch(r"[A-Z]{3}", v):
            raise ValueError("must be an ISO 4217 code such as USD")
        return v


class CacheRule(_Strict):
    """A provider's prompt-caching rule for one model (multipliers are × the model's input price)."""

    mode: CacheMode
    min_tokens: int = Field(ge=0, description="shortest cacheable prefix, tokens")
    step: int = Field(default=1, ge=1, description="cached length grows in steps of this many tokens")
    read_multiplier: float = Field(ge=0, description="cache read price ÷ input price")
    write_multiplier_5m: float = Field(ge=0, description="cache write price (5-minute TTL) ÷ input price")
    write_multiplier_1h: float | None = Field(default=None, ge=0,
                                              description="cache write price (1-hour TTL) ÷ input price")
    ttls_s: list[int] = Field(default_factory=list, description="lifetimes offered, seconds")
    source: str | None = Field(default=None, description="URL, when it differs from the row's source")

    @property
    def automatic(self) -> bool:
        return self.mode == "automatic"

    def cacheable_tokens(self, prefix_tokens: int) -> int:
        """How many tokens of a shared prefix the provider would cache (0 below the minimum)."""
        if self.mode == "none" or prefix_tokens < self.min_tokens:
            return 0
        return prefix_tokens - (prefix_tokens - self.min_tokens) % self.step if self.step > 1 else prefix_tokens


class AccessRule(_Strict):
    """From `since`, the organisations described in `who` can no longer create fine-tuning jobs."""

    since: date
    who: str


class FineTuneOffer(_Strict):
    """Whether and where the provider sells fine-tuning of this model, until when, at what price."""

    methods: list[FineTuneMethod] = Field(default_factory=list)
    where: str | None = Field(default=None, description="the service that sells it, e.g. 'OpenAI API'")
    access: list[AccessRule] = Field(default_factory=list)
    new_jobs_until: date | None = Field(default=None, description="last day anyone can start a job")
    inference_until: date | None = Field(default=None, description="existing fine-tunes stop serving")
    prices_from: str | None = Field(default=None,
                                    description="'genai-prices:<provider>:<entry id>' — inference prices taken "
                                                "from the bundled genai-prices entry; explicit fields win")
    input_mtok: float | None = Field(default=None, ge=0)
    cached_input_mtok: float | None = Field(default=None, ge=0)
    output_mtok: float | None = Field(default=None, ge=0)
    training_mtok: float | None = Field(default=None, ge=0, description="training price per 1M trained tokens")
    price_source: str | None = Field(default=None, description="where the prices come from, when not the row")
    note: str | None = None

    @property
    def available(self) -> bool:
        return bool(self.methods)

    def open_on(self, day: date, *, has_access: bool = False) -> bool:
        """Can an organisation start a job on `day`? `has_access`: it is exempt from the access rules."""
        if not self.methods:
            return False
        if self.new_jobs_until is not None and day > self.new_jobs_until:
            return False
        return has_access or not any(rule.since <= day for rule in self.access)


class ModelOffer(Sourced):
    """One provider × hosted closed model."""

    provider: str
    model: str = Field(description="the genai-prices model id (base name, no date suffix)")
    aliases: list[str] = Field(default_factory=list, description="other names, dated snapshots")
    snapshot_pattern: str | None = Field(default=None,
                                         description="regex for names this row also covers (full match)")
    fine_tuning: FineTuneOffer = Field(default_factory=FineTuneOffer)
    cache: CacheRule | None = None
    batch_discount: float | None = Field(default=None, gt=0, le=1,
                                         description="batch price ÷ standard price (0.5 = half)")
    structured_output: StructuredOutput = "none"
    retires: date | None = Field(default=None, description="announced shutdown of the base model")
    note: str | None = None

    @field_validator("snapshot_pattern")
    @classmethod
    def _regex(cls, v: str | None) -> str | None:
        if v is not None:
            try:
                re.compile(v)
            except re.error as exc:
                raise ValueError(f"not a valid regular expression: {exc}") from exc
        return v

    @property
    def key(self) -> tuple[str, str]:
        return (self.provider, self.model)

    def retired(self, day: date) -> bool:
        """Has the base model been shut down by `day`?"""
        return self.retires is not None and day >= self.retires

    def fine_tune_until(self) -> date | None:
        """Last day a fine-tune of this model is useful: its serving end or base-model retirement."""
        ends = [d for d in (self.fine_tuning.inference_until, self.retires) if d is not None]
        return min(ends) if ends else None


class OpenWeightOffer(Sourced):
    """An open-weight serving offer: per-token serverless LoRA, or a dedicated GPU by the hour."""

    kind: OpenWeightKind
    provider: str
    name: str = Field(description="serverless: the provider's base-model id; dedicated: the GPU offer name")
    base_model: str | None = Field(default=None, description="Hugging Face id of the base model")
    params_b: float | None = Field(default=None, gt=0, description="parameters, billions")
    lora_upload: bool = Field(default=False, description="accepts adapters trained elsewhere")
    input_mtok: float | None = Field(default=None, ge=0)
    output_mtok: float | None = Field(default=None, ge=0)
    training_mtok: float | None = Field(default=None, ge=0, description="LoRA SFT price per 1M trained tokens")
    training_note: str | None = None
    gpu: str | None = None
    gpu_count: int = Field(default=1, ge=1)
    per_hour: float | None = Field(default=None, ge=0)
    throughput_tokens_per_s: float | None = Field(default=None, gt=0,
                                                  description="ASSUMPTION: sustained output tokens/s")
    throughput_assumption: str | None = Field(default=None, description="what the throughput figure assumes")
    throughput_source: str | None = None
    note: str | None = None

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.provider, self.kind, self.name)

    @model_validator(mode="after")
    def _complete(self) -> OpenWeightOffer:
        if self.kind == "serverless_lora" and (self.input_mtok is None or self.output_mtok is None):
            raise ValueError("a serverless_lora row needs input_mtok and output_mtok")
        if self.kind == "dedicated_gpu":
            if self.gpu is None or self.per_hour is None:
                raise ValueError("a dedicated_gpu row needs gpu and per_hour")
            if self.throughput_tokens_per_s is not None and not (self.throughput_assumption
                                                                 and self.throughput_source):
                raise ValueError("a throughput figure needs throughput_assumption and throughput_source")
        return self


class ProviderDefaults(Sourced):
    """What holds for every model of a provider that has no row of its own (e.g. a new Claude model)."""

    provider: str
    fine_tuning: FineTuneOffer = Field(default_factory=FineTuneOffer)
    cache: CacheRule | None = None
    batch_discount: float | None = Field(default=None, gt=0, le=1)
    structured_output: StructuredOutput = "none"
    note: str | None = None

    @property
    def key(self) -> tuple[str]:
        return (self.provider,)
