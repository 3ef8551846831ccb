"""What a scenario is: a task (prompt + how the production model answers) plus its traffic.

A scenario only describes *content*: ``make_content(rng)`` returns the user turn, the model's
output and the ground truth about it (planted failure signature, category, label). Timing,
provider errors, truncations, token usage and file formats are added by the generator, so
every scenario gets them the same way.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from examples.traffic import TrafficShape


@dataclass(frozen=True)
class PlantedSignature:
    """A failure mode planted at a known rate, and how the advisor is expected to see it."""

    key: str  # stable id used in truth.json
    category: str  # format | schema | style | factual | outdated | refusal | other
    share: float  # target share of successful (status ok) calls
    description: str
    detected_by: str  # which check / automatic rule / label reveals it
    kind: str = "structural"  # structural (recurring format/schema/style) | knowledge | scattered (one-offs)

    @property
    def recurring(self) -> bool:
        """Counts towards consistency: a recurring, structural signature."""
        return self.kind == "structural"


@dataclass
class Content:
    """One call's conversation and answer, with the truth about the answer."""

    user: str
    output: str
    signature: str | None = None  # PlantedSignature.key, or None when the answer is good
    category: str | None = None
    note: str | None = None  # free-text reviewer note (labels file)
    expected: str | None = None  # the correct answer, when a reviewer would write one
    finish_reason: str = "stop"
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.signature is None


@dataclass(frozen=True)
class Scenario:
    """A named, documented example; defaults are what `--all` commits."""

    name: str
    title: str
    summary: str  # one paragraph for the README
    expected_conclusion: str  # what the advisor should recommend, and why
    provider: str  # openai | anthropic
    model: str
    system_prompt: str
    make_content: Callable[[random.Random], Content]
    traffic: TrafficShape
    days: int = 14
    per_day: float = 3000.0
    sample_rate: float = 1.0
    default_format: str = "openai_chat"
    max_tokens: int = 400
    temperature: float = 0.7
    response_format: dict[str, Any] | None = None
    signatures: tuple[PlantedSignature, ...] = ()
    labelled: bool = False  # write labels.jsonl (a reviewed export)
    label_share: float = 1.0  # share of ok calls a reviewer labelled (drawn from the call id, not the stream)
    error_rate: float = 0.004  # provider errors (429 / 5xx)
    truncation_rate: float = 0.002  # finish_reason=length on otherwise good answers
    ms_per_output_token: float = 14.0
    ttft_ms: float = 450.0
    metadata: dict[str, Any] = field(default_factory=dict)
    advise_toml: str | None = None  # written as advise.toml beside the logs

    def pick(self, rng: random.Random) -> PlantedSignature | None:
        """Draw which planted failure (if any) this call shows, at the planted shares."""
        u = rng.random()
        acc = 0.0
        for sig in self.signatures:
            acc += sig.share
            if u < acc:
                return sig
        return None

    def signature(self, key: str) -> PlantedSignature:
        return next(s for s in self.signatures if s.key == key)
