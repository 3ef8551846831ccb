"""`FailureAnalysis`: the `failures` section of analysis.json (pydantic v2 contract)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from advisor.failures import consistency as C


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Example(_Model):
    id: str
    excerpt: str = Field(description="note or output, shortened")


class SignatureRow(_Model):
    signature: str = Field(description="check name + normalised detail, e.g. 'schema:missing:sku', 'check:bullets'")
    category: str
    bucket: str = Field(description="structural | knowledge | other")
    count: int = Field(description="failing records showing this signature (a record can show several)")
    primary: int = Field(description="failures for which this is the main signature (these sum to all failures)")
    share_of_requests: float = Field(description="count / analysed ok requests")
    share_of_failures: float = Field(description="primary / failures")
    days_seen: int
    recurring: bool
    examples: list[Example]
    per_day: dict[str, int] = Field(default_factory=dict, description="UTC day → failures with this main signature")


class ClusterRow(_Model):
    id: int
    label: str = Field(description="top TF-IDF terms of the cluster")
    size: int = Field(description="failures in the cluster (scaled up when texts were sampled)")
    share_of_requests: float
    share_of_failures: float
    category: str = Field(description="most common category of its members")
    examples: list[Example]


class Clustering(_Model):
    method: str
    texts: int = Field(description="free-text failures seen (label/feedback notes, outputs flagged bad)")
    sampled: int = Field(description="texts clustered (reservoir sample when texts > capacity)")
    one_offs: int = Field(description="texts in clusters of size 1")
    clusters: list[ClusterRow] = Field(description="clusters of size ≥ 2, biggest first")


class ConsistencyReport(_Model):
    consistency: float = Field(description="share of failures in recurring structural signatures, 0–1")
    recurrence: float = Field(description="share of failures in recurring signatures of any category")
    concentration: float = Field(description="1 − entropy/ln(failures) over primary signatures")
    verdict: str = Field(description="none | insufficient | structural | knowledge | random | mixed")
    recurring_min_count: int
    recurring_min_days: int
    thresholds: dict[str, float]
    definition: str


class Shares(_Model):
    """Shares of failures by bucket (sum to 1 when there are failures)."""

    structural: float
    knowledge: float
    other: float


class DayRate(_Model):
    day: str
    requests: int
    failures: int
    rate: float


class TrendReport(_Model):
    verdict: str = Field(description="stable | drifting | bursty | insufficient")
    slope_per_day: float | None = Field(description="failure-rate change per day (0.01 = +1 point/day)")
    slope_p: float | None
    relative_change: float | None = Field(description="slope × span / mean rate")
    dispersion_index: float | None = Field(description="Pearson X²/(days−2) around the trend line")
    dispersion_p: float | None
    burst_days: list[str]
    method: str
    daily: list[DayRate]


class VolatilityReport(_Model):
    volatile_requests: int = Field(description="ok requests whose last user turn asks about a changing fact")
    volatile_request_share: float
    volatile_failure_share: float = Field(description="share of failures on volatile questions")
    knowledge_failure_share: float = Field(description="share of failures labelled/checked factual or outdated")
    rag_share: float = Field(description="share of failures pointing to retrieval: knowledge failures, plus "
                                         "non-structural failures on volatile questions")
    signals: dict[str, int] = Field(description="requests per cue: price, date, as_of, recency, policy")
    method: str


class Sources(_Model):
    labels_file: str | None
    labels: int = Field(description="labels in the file")
    labelled_records: int
    feedback_records: int = Field(description="records whose feedback gave a verdict")
    checks: list[str] = Field(description="automatic and user checks that ran")
    decided_by: dict[str, int] = Field(description="failures by deciding source: label > feedback > checks")
    label_overrides: int = Field(description="records the checks flagged but a label marked ok (label wins)")
    label_duplicates: int
    label_lines_skipped: int = Field(0, description="malformed labels-file lines skipped (--strict: fatal)")


class UnknownLabels(_Model):
    count: int
    examples: list[str]
    note: str


class ProviderErrors(_Model):
    count: int
    share_of_all_calls: float
    by_kind: dict[str, int]


class FamilyFailures(_Model):
    """Failures of one prompt family (named as in `prompt_families`): what hybrid routing decides on."""

    requests: int
    failures: int
    structural: int
    knowledge: int
    other: int
    first_day: str | None = Field(default=None, description="first UTC day the family was seen")
    last_day: str | None = Field(default=None, description="last UTC day the family was seen")


class FailureAnalysis(_Model):
    """What keeps failing, how consistently, and whether it points to fine-tuning or RAG."""

    requests: int = Field(description="calls with status ok (the denominator of every share)")
    failures: int
    failure_rate: float
    failure_rate_range: tuple[float, float] = Field(description="95% Wilson interval")
    provider_errors: ProviderErrors
    sources: Sources
    unknown_label_ids: UnknownLabels
    signatures: list[SignatureRow] = Field(description="biggest first, at most 50")
    more_signatures: int = Field(description="signatures not listed")
    clustering: Clustering
    consistency: ConsistencyReport
    shares: Shares
    trend: TrendReport
    volatility: VolatilityReport
    by_family: dict[str, FamilyFailures] = Field(default_factory=dict,
                                                 description="prompt family → its failures by bucket")


THRESHOLDS = {"structural_min": C.STRUCTURAL_MIN, "random_max": C.RANDOM_MAX, "knowledge_min": C.KNOWLEDGE_MIN,
              "min_failures": C.MIN_FAILURES}
