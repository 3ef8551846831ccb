"""Per-model latency (where logged) and error rate: the operational side of each model."""

from __future__ import annotations

from pydantic import BaseModel, Field

from advisor.kernel.record import Record
from advisor.metrics.merging import add_counts, merge_keyed
from advisor.metrics.sketch import QuantileSketch, Summary


class Reliability(BaseModel):
    """Latency percentiles (ms, ±1 %) over calls that logged one, and the share of calls that failed."""

    requests: int
    latency_ms: Summary | None = Field(description="None when no record logged a latency")
    errors: int = Field(description="calls with status=error")
    error_rate: float
    finish_reasons: dict[str, int] = Field(description="finish reason → calls (unknown when not logged)")


class _ModelOps:
    __slots__ = ("requests", "errors", "latency", "finish")

    def __init__(self) -> None:
        self.requests = 0
        self.errors = 0
        self.latency = QuantileSketch()
        self.finish: dict[str, int] = {}

    def merge(self, later: _ModelOps) -> None:
        self.requests += later.requests
        self.errors += later.errors
        self.latency.merge(later.latency)
        add_counts(self.finish, later.finish)


class ReliabilityAccumulator:
    def __init__(self) -> None:
        self._models: dict[str, _ModelOps] = {}

    def add(self, record: Record) -> None:
        m = self._models.get(record.model)
        if m is None:
            m = self._models[record.model] = _ModelOps()
        m.requests += 1
        if record.status == "error":
            m.errors += 1
        if record.latency_ms is not None:
            m.latency.add(record.latency_ms)
        reason = record.finish_reason.value if record.finish_reason else "unknown"
        m.finish[reason] = m.finish.get(reason, 0) + 1

    def merge(self, later: ReliabilityAccumulator) -> None:
        merge_keyed(self._models, later._models)

    def result(self) -> dict[str, Reliability]:
        return {
            model: Reliability(
                requests=m.requests,
                latency_ms=m.latency.summary() if m.latency.count else None,
                errors=m.errors,
                error_rate=m.errors / m.requests if m.requests else 0.0,
                finish_reasons=dict(sorted(m.finish.items())),
            )
            for model, m in sorted(self._models.items())
        }
