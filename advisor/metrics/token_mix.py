"""Per-model token mix: how many input, cached, cache-write, output and reasoning tokens each call uses."""

from __future__ import annotations

from pydantic import BaseModel, Field

from advisor.kernel.record import Origin, Record
from advisor.metrics.merging import merge_keyed
from advisor.metrics.sketch import QuantileSketch, Summary

TOKEN_KINDS = ("input", "cache_read", "cache_write", "output", "reasoning")


class TokenMix(BaseModel):
    """Token counts per request for one model. `input` includes cache reads and writes."""

    requests: int
    reported: int = Field(description="requests whose counts the provider reported")
    estimated: int = Field(description="requests whose counts advise estimated offline")
    tokens: dict[str, Summary] = Field(description="kind → totals, mean, p50/p95 (tokens per request)")

    @property
    def estimated_share(self) -> float:
        return self.estimated / self.requests if self.requests else 0.0


class _ModelTokens:
    __slots__ = ("requests", "reported", "estimated", "sketches")

    def __init__(self) -> None:
        self.requests = 0
        self.reported = 0
        self.estimated = 0
        self.sketches = {k: QuantileSketch() for k in TOKEN_KINDS}

    def merge(self, later: _ModelTokens) -> None:
        self.requests += later.requests
        self.reported += later.reported
        self.estimated += later.estimated
        for kind, sketch in later.sketches.items():
            self.sketches[kind].merge(sketch)


class TokenMixAccumulator:
    """One constant-size sketch per model and token kind."""

    def __init__(self) -> None:
        self._models: dict[str, _ModelTokens] = {}

    def add(self, record: Record) -> None:
        u = record.usage
        if u is None:
            raise ValueError(f"record {record.id} has no usage; fill it with advisor.tokens.fill_usage first")
        m = self._models.get(record.model)
        if m is None:
            m = self._models[record.model] = _ModelTokens()
        m.requests += 1
        if u.origin == Origin.estimated:
            m.estimated += 1
        else:
            m.reported += 1
        s = m.sketches
        s["input"].add(u.input_tokens)
        s["cache_read"].add(u.cache_read_tokens)
        s["cache_write"].add(u.cache_write_tokens)
        s["output"].add(u.output_tokens)
        s["reasoning"].add(u.reasoning_tokens)

    def merge(self, later: TokenMixAccumulator) -> None:
        merge_keyed(self._models, later._models)

    def result(self) -> dict[str, TokenMix]:
        return {
            model: TokenMix(
                requests=m.requests,
                reported=m.reported,
                estimated=m.estimated,
                tokens={k: sk.summary(integer=True) for k, sk in m.sketches.items()},
            )
            for model, m in sorted(self._models.items())
        }
