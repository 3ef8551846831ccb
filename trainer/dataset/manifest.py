"""`dataset.json`: what `advise dataset` wrote, from what, and what it removed on the way (versioned contract)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from advisor import __version__
from advisor.metrics.sketch import Summary
from trainer.dataset.scrub import ScrubReport

DATASET_SCHEMA_VERSION = 1

FILTER_DESCRIPTIONS = {
    "error": "call failed (status error / finish_reason error): no target",
    "empty_output": "no output text and no tool calls",
    "not_teacher_model": "distillation: output not from the teacher model",
    "label_not_ok": "labelled not ok (labels file or feedback in the log)",
    "failed_check": "failed an automatic or user check ([failures] in advise.toml)",
    "truncated": "finish_reason length: output cut off by max_tokens",
    "content_filter": "finish_reason content_filter",
    "refusal": "refusal (provider refusal field or refusal wording)",
    "below_min_quality": "no positive evidence required by --min-quality",
    "exact_duplicate": "same normalised input as an earlier example",
    "near_duplicate": "--drop-near-duplicates: not the first of its near-duplicate group",
    "max_examples": "beyond --max-examples (whole groups kept or dropped)",
    "preference_in_test": "preference pair (preferences.jsonl) held back: its request, or a near-duplicate of it, "
                          "is a test example whose reference would be the pair's chosen answer",
}


class FileInfo(BaseModel):
    path: str
    sha256: str
    bytes: int
    examples: int | None = Field(default=None, description="lines written (output files only)")


class FilterInfo(BaseModel):
    name: str
    description: str
    removed: int


class Counts(BaseModel):
    records_read: int
    kept_after_filters: int
    after_dedupe: int
    written: int
    train: int
    val: int
    test: int


class DedupeInfo(BaseModel):
    settings: dict[str, Any]
    exact_duplicates_removed: int
    near_duplicate_groups: int = Field(description="groups of ≥ 2 near-duplicate inputs")
    examples_in_near_duplicate_groups: int
    near_duplicates_removed: int
    candidate_pairs: int = Field(description="LSH candidate pairs compared")
    confirmed_pairs: int = Field(description="pairs with estimated Jaccard ≥ threshold")


class FamilyInfo(BaseModel):
    """Static text stripped from one prompt family and the short prompt that replaces it."""

    family: str
    model: str
    requests: int = Field(description="kept requests of this family (after filters, before dedupe)")
    stripped_examples: int
    static_prefix_sha256: str
    static_prefix_tokens: int = Field(description="tokens of all stripped static text (o200k count)")
    system_prefix_chars: int
    user_prefix_chars: int
    static_blocks: int
    short_prompt: str | None
    analysis_static_prefix_tokens: int | None = Field(default=None, description="what analysis.json reported")


class TokenStats(BaseModel):
    counter: str = Field(description="tokenizer used; counts for non-OpenAI models are estimates")
    per_role: dict[str, Summary] = Field(description="tokens per example per role (written examples)")
    per_example: Summary = Field(description="tokens per example incl. chat framing (short prompt)")
    test_full_prompt: Summary | None = Field(
        default=None, description="test split: tokens per example with the original full prompt")
    per_split_total: dict[str, int]


class DatasetManifest(BaseModel):
    schema_version: int = DATASET_SCHEMA_VERSION
    advise_version: str = __version__
    generated_at: datetime
    format: str = Field(default="openai-chat-jsonl", description=(
        "train/val: {messages, tools?}; test: + original_messages (full prompt) and metadata {id,family,cluster}"))
    counts: Counts
    filters: list[FilterInfo]
    scrub: ScrubReport
    dedupe: DedupeInfo
    tokens: TokenStats
    strata: dict[str, dict[str, int]] = Field(description="prompt family | cluster → examples per split")
    families: list[FamilyInfo]
    files: dict[str, FileInfo]
    inputs: list[FileInfo]
    provenance: dict[str, Any]
