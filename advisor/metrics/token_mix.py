"""Per-model token mix: how many input, cached, cache-write, output and reasoning tokens each call uses."""

from __future__ import annotations

from array import array

from pydantic import BaseModel, Field

from advisor.kernel.record import Origin, Record
from advisor.metrics.merging import merge_keyed
from advisor.metrics.sketch import QuantileSketch, Summary

TOKEN_KINDS = ("input", "cache_read", "cache_write", "output", "reasoning")
BATCH = 256  # counts a model collects per kind before adding them to its sketches in one call


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
    __slots__ = ("requests", "reported", "estimated", "sketches", "pending")

    def __init__(self) -> None:
        self.requests = 0
        self.reported = 0
        self.estimated = 0
        self.sketches = {k: QuantileSketch() for k in TOKEN_KINDS}
        # Counts not yet in `sketches`, per kind in TOKEN_KINDS order, added BATCH at a time with `add_many` (one
        # `add` per count per kind was ~0.3 µs, five times a record). Unsigned 64-bit: a negative or wider count
        # cannot wait in a batch and goes through `add` itself (see `add_one_by_one`).
        self.pending = tuple(array("Q") for _ in TOKEN_KINDS)

    def flush(self) -> None:
        """Move the pending counts into the sketches (before anything reads or merges them)."""
        for sketch, values in zip(self.sketches.values(), self.pending, strict=True):
            if values:
                sketch.add_many(values)
                del values[:]

    def add_one_by_one(self, values: tuple[int, ...]) -> None:
        """One request's counts straight into the sketches, after the pending ones (an append to a batch failed
        part-way: the kinds already appended are taken back first)."""
        held = min(len(a) for a in self.pending)
        for a in self.pending:
            if len(a) > held:
                a.pop()
        self.flush()
        for sketch, v in zip(self.sketches.values(), values, strict=True):
            sketch.add(v)

    def merge(self, later: _ModelTokens) -> None:
        self.flush()
        later.flush()
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
        p = m.pending
        try:
            p[0].append(u.input_tokens)
            p[1].append(u.cache_read_tokens)
            p[2].append(u.cache_write_tokens)
            p[3].append(u.output_tokens)
            p[4].append(u.reasoning_tokens)
        except OverflowError:  # negative, or beyond 64 bits
            m.add_one_by_one((u.input_tokens, u.cache_read_tokens, u.cache_write_tokens, u.output_tokens,
                              u.reasoning_tokens))
        if len(p[0]) >= BATCH:
            m.flush()

    def merge(self, later: TokenMixAccumulator) -> None:
        merge_keyed(self._models, later._models)

    def result(self) -> dict[str, TokenMix]:
        for m in self._models.values():
            m.flush()
        return {
            model: TokenMix(
                requests=m.requests,
                reported=m.reported,
                estimated=m.estimated,
                tokens={k: sk.summary(integer=True) for k, sk in m.sketches.items()},
            )
            for model, m in sorted(self._models.items())
        }
