"""Streaming metrics over Records. Each accumulator has one job: `add(record)` per call, `result()` once."""

from advisor.metrics.cost import CostAccumulator, CostSummary, ModelCost
from advisor.metrics.daily import DailyAccumulator, DayAggregate
from advisor.metrics.latency import Reliability, ReliabilityAccumulator
from advisor.metrics.sketch import QuantileSketch, Summary
from advisor.metrics.static_prompt import PromptFamily, StaticPromptAccumulator, StaticPromptResult
from advisor.metrics.token_mix import TokenMix, TokenMixAccumulator
from advisor.metrics.volume import VolumeAccumulator, VolumeMetrics

__all__ = [
    "CostAccumulator", "CostSummary", "ModelCost", "DailyAccumulator", "DayAggregate", "Reliability",
    "ReliabilityAccumulator", "QuantileSketch", "Summary", "PromptFamily", "StaticPromptAccumulator",
    "StaticPromptResult", "TokenMix", "TokenMixAccumulator", "VolumeAccumulator", "VolumeMetrics",
]
