"""Every knob the decision engine turns, with its unit, its prior span and where its value came from.

Nothing the advisor recommends may rest on a hidden number: each assumption carries a
``source`` — ``measured`` (from the logs), ``default`` (the documented prior below) or
``user`` (advise.toml ``[assumptions]`` or a CLI flag) — and a low/high span used for ranges
and the sensitivity table. See docs/decision-model.md for where each default comes from.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from advisor.kernel.errors import AdviseError

Source = Literal["measured", "default", "user"]
TaskKind = Literal["auto", "format", "style", "extraction", "classification", "knowledge", "general"]

DAYS_PER_MONTH = 30.0  # same convention as analysis.json (per_month = per_day × 30)
HOURS_PER_MONTH = 730.0  # 24 × 365 / 12: an always-on GPU

# Curated examples a LoRA run needs, by task kind: (typical, low, high). Background: "500–5,000+
# examples"; a few hundred to ~2,000 for style/format, a few thousand for knowledge-heavy tasks.
EXAMPLES_BY_TASK: dict[str, tuple[int, int, int]] = {
    "format": (1500, 1000, 2000),
    "style": (1500, 1000, 2000),
    "extraction": (1500, 500, 3000),
    "classification": (1000, 500, 2000),
    "knowledge": (4000, 2000, 5000),
    "general": (2500, 500, 5000),
}


class Spec(BaseModel):
    """Documentation of one assumption: unit, prior span, what it means and where the default comes from.

    `money`: the default and span are USD and reach a decision only converted at a dated rate.
    The Monte Carlo draws a default-valued assumption from a two-piece uniform on [low, default] and
    [default, high] weighted so its mean is the default (see docs/decision-model.md).
    """

    unit: str
    low: float | None = None
    high: float | None = None
    description: str
    basis: str = "advise default"
    money: bool = False
    distribution: str = "two-piece uniform on [low, default] ∪ [default, high], mean = default"


SPECS: dict[str, Spec] = {
    "volume_per_day": Spec(unit="requests/day", description="traffic to cost the strategies at",
                           basis="measured mean over the log window (× 1/sample_rate)"),
    "horizon_months": Spec(unit="months", description="horizon of the net-value comparison", basis="issue 5: 12 months"),
    "failure_cost": Spec(unit="{cur}/failure", description="what one failed answer costs the team",
                         basis="cost of a retry = measured mean cost per request"),
    "task_kind": Spec(unit="", description="sizes the curated example count (auto: from the failure mix)"),
    "examples_needed": Spec(unit="examples", description="curated training examples for the LoRA run",
                            basis="background: 500–5,000+ by task kind (style/format 1,000–2,000)"),
    "cost_per_example": Spec(money=True, unit="{cur}/example", low=0.02, high=1.0,
                             description="curation: mine passing outputs from the logs and review them",
                             basis="reviewer ≈USD 30/h checking ≈300 examples/h"),
    "training_price_per_1m": Spec(money=True, unit="{cur}/1M training tokens",
                                  description="fine-tuning price per 1M training tokens (overrides the offers)",
                                  basis="the offers table, per model"),
    "training_cost": Spec(money=True, unit="{cur}", description="explicit cost of one training run (overrides the price model)"),
    "epochs": Spec(unit="epochs", low=2, high=4, description="passes over the examples", basis="OpenAI/peft default 3"),
    "eval_cost": Spec(money=True, unit="{cur}", low=50.0, high=500.0,
                      description="one evaluation: held-out runs of both variants + a reviewer's check"),
    "accuracy_gain": Spec(unit="share of requests", low=0.10, high=0.30,
                          description="absolute accuracy gain of fine-tuning, capped by the structural failures",
                          basis="background prior: 10–30% for specialised tasks, until measured by `advise evaluate`"),
    "ft_max_fix_share": Spec(unit="share", description="at most this share of structural failures goes away",
                             basis="reference case: 70%→94% fixed 80% of them"),
    "ft_fix_share_structural": Spec(unit="share of structural failures",
                                    description="structural (format/schema/style) failures the fine-tune fixes",
                                    basis="prior: min(accuracy_gain, ft_max_fix_share × structural rate) until "
                                          "`advise evaluate` measures it"),
    "ft_fix_share_knowledge": Spec(unit="share of knowledge failures",
                                   description="knowledge (factual/outdated) failures the fine-tune fixes",
                                   basis="prior: 0 (training bakes today's facts in; RAG is costed for these) until "
                                         "`advise evaluate` measures it"),
    "ft_fix_share_other": Spec(unit="share of scattered failures",
                               description="scattered (other) failures the fine-tune fixes",
                               basis="prior: 0 (nothing recurring to learn) until `advise evaluate` measures it"),
    "prompt_fix_share": Spec(unit="share of scattered failures", low=0.30, high=0.50,
                             description="scattered failures a better prompt (rules, few-shot) fixes"),
    "prompt_extra_tokens": Spec(unit="tokens/request", low=0.0, high=300.0,
                                description="input tokens the improved prompt adds (rules, few-shot)"),
    "rag_k": Spec(unit="chunks/request", low=2, high=8, description="retrieved chunks per request"),
    "rag_chunk_tokens": Spec(unit="tokens/chunk", low=150.0, high=500.0, description="tokens per retrieved chunk"),
    "embedding_price_per_1m": Spec(money=True, unit="{cur}/1M tokens", low=0.02, high=0.13,
                                   description="query embedding price",
                                   basis="OpenAI text-embedding-3-small $0.02 / -large $0.13"),
    "rag_store_monthly": Spec(money=True, unit="{cur}/month", low=0.0, high=100.0, description="vector store hosting"),
    "rag_setup_cost": Spec(money=True, unit="{cur}", low=100.0, high=2000.0,
                           description="one-time: ingest and index the knowledge base, wire retrieval"),
    "rag_fix_share": Spec(unit="share of knowledge failures", low=0.40, high=0.80,
                          description="knowledge failures current documents fix"),
    "caching_setup_cost": Spec(money=True, unit="{cur}", low=0.0, high=200.0,
                               description="one-time: reorder the prompt so the static part comes first"),
    "ft_input_price": Spec(money=True, unit="{cur}/1M tokens", description="explicit fine-tuned input price (overrides the offers table)"),
    "ft_output_price": Spec(money=True, unit="{cur}/1M tokens", description="explicit fine-tuned output price (overrides the offers table)"),
    "target_model": Spec(unit="", description="model the fine-tune runs on (prices via --prices / price table)"),
    "short_prompt_tokens": Spec(unit="tokens/request", low=0.0, high=100.0,
                                description="instruction tokens left after training (static prompt baked in)"),
    "retrain_interval_months": Spec(unit="months", low=3.0, high=12.0,
                                    description="retrain when the base model changes", basis="provider model cadence"),
    "retrain_curation_share": Spec(unit="share", description="share of curation redone at each retraining"),
    "gpu_hour_price": Spec(money=True, unit="{cur}/GPU-hour",
                           description="dedicated GPU price per hour (overrides the offers' dedicated-GPU rows)"),
    "gpu_throughput_tokens_s": Spec(unit="output tokens/s", low=800.0, high=3000.0,
                                    description="batched generation throughput of the small model per GPU"),
    "gpu_prefill_tokens_s": Spec(unit="input tokens/s", low=5000.0, high=30000.0,
                                 description="prompt processing throughput per GPU"),
    "gpu_utilisation": Spec(unit="share", low=0.3, high=0.7, description="average load of the serving GPUs"),
    "gpu_always_on": Spec(unit="", description="keep at least one GPU running (False: scale to zero)"),
    "train_tokens_s": Spec(unit="tokens/s", description="LoRA training throughput on one GPU"),
    "materiality": Spec(unit="share of horizon spend",
                        description="a more complex portfolio must beat the simpler one by this much to displace it"),
    "has_ft_access": Spec(unit="", description="your organisation still has fine-tuning access where the provider "
                                               "sells it only to existing customers (OpenAI since 2026-05-07)"),
    "usd_rate": Spec(unit="{cur} per USD", description="exchange rate for the USD defaults (overrides the bundled "
                                                       "ECB table)"),
    "migration_cost": Spec(money=True, unit="{cur}", low=200.0, high=2000.0,
                           description="one-time: switch the serving endpoint, re-run the evaluation, roll out "
                                       "(and move off a fine-tune when its base model retires)",
                           basis="1–4 engineer-days at ≈USD 500/day"),
    "structured_fix_share": Spec(unit="share of JSON format/schema failures", low=0.8, high=1.0,
                                 description="JSON format/schema failures a provider-enforced strict schema removes",
                                 basis="strict mode constrains decoding to the schema; refusals/truncations remain"),
    "structured_setup_cost": Spec(money=True, unit="{cur}", low=0.0, high=200.0,
                                  description="one-time: switch response_format to the strict JSON schema, test",
                                  basis="a configuration change when the schema exists (the checks validated "
                                        "against it); up to ≈4 engineer-hours at ≈USD 50/h if strict mode needs "
                                        "the schema adjusted"),
    "kb_upkeep_monthly": Spec(money=True, unit="{cur}/month", low=50.0, high=400.0,
                              description="keeping the knowledge base current; × (1 + share of volatile questions)",
                              basis="a few hours a month of a maintainer"),
    "rag_latency_ms": Spec(unit="ms", low=150.0, high=600.0, description="latency retrieval adds per request"),
    "latency_slo_ms": Spec(unit="ms", description="p95 latency a strategy must stay under (--latency-slo)"),
    "gpu_replicas": Spec(unit="GPUs", description="dedicated serving: replicas kept for redundancy (≥2 for failover)"),
    "gpu_ops_monthly": Spec(money=True, unit="{cur}/month", low=300.0, high=2000.0,
                            description="operating your own inference: on-call, upgrades, monitoring",
                            basis="a few engineer-days a month"),
    "small_model_regression": Spec(unit="share of moved requests", low=0.0, high=0.05,
                                   description="new failures of a fine-tuned small open-weight model on the traffic "
                                               "it takes, outside what training targets",
                                   basis="prior until `advise evaluate` measures the adapter"),
    "open_weight_min_params_b": Spec(unit="billion parameters", description="smallest open-weight base model "
                                     "the advisor proposes to replace the production model",
                                     basis="7–9B models are the usual distillation target for tasks a frontier "
                                           "model does; lower it after `advise evaluate` shows a smaller one passes"),
    "router_setup_cost": Spec(money=True, unit="{cur}", low=100.0, high=1000.0,
                              description="one-time: route by prompt family (system-prompt hash) to two models"),
    "misroute_rate": Spec(unit="share of routed requests", low=0.0, high=0.05,
                          description="requests the router sends to the wrong model (each counted as a failure)"),
}

# money assumptions whose default (USD) is converted to the price currency when they were not set by the user
MONEY = frozenset(name for name, spec in SPECS.items() if spec.money)


class Assumptions(BaseModel):
    """All decision inputs. `sources[name]` says measured | default | user; spans live in SPECS."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    volume_per_day: float | None = Field(default=None, gt=0)
    horizon_months: float = Field(default=12.0, gt=0)
    failure_cost: float | None = Field(default=None, ge=0)
    task_kind: TaskKind = "auto"
    examples_needed: int | None = Field(default=None, gt=0)
    cost_per_example: float = Field(default=0.10, ge=0)
    training_price_per_1m: float | None = Field(default=None, ge=0)
    training_cost: float | None = Field(default=None, ge=0)
    epochs: int = Field(default=3, ge=1)
    eval_cost: float = Field(default=100.0, ge=0)
    accuracy_gain: float = Field(default=0.20, ge=0, le=1)
    ft_max_fix_share: float = Field(default=0.8, ge=0, le=1)
    # measured by `advise evaluate` per failure kind (None: the prior above applies)
    ft_fix_share_structural: float | None = Field(default=None, ge=0, le=1)
    ft_fix_share_knowledge: float | None = Field(default=None, ge=0, le=1)
    ft_fix_share_other: float | None = Field(default=None, ge=0, le=1)
    prompt_fix_share: float = Field(default=0.40, ge=0, le=1)
    prompt_extra_tokens: float = Field(default=100.0, ge=0)
    rag_k: int = Field(default=4, ge=1)
    rag_chunk_tokens: float = Field(default=300.0, gt=0)
    embedding_price_per_1m: float = Field(default=0.02, ge=0)
    rag_store_monthly: float = Field(default=25.0, ge=0)
    rag_setup_cost: float = Field(default=500.0, ge=0)
    rag_fix_share: float = Field(default=0.6, ge=0, le=1)
    caching_setup_cost: float = Field(default=0.0, ge=0)
    ft_input_price: float | None = Field(default=None, ge=0)
    ft_output_price: float | None = Field(default=None, ge=0)
    target_model: str | None = None
    short_prompt_tokens: float = Field(default=30.0, ge=0)
    retrain_interval_months: float = Field(default=6.0, gt=0)
    retrain_curation_share: float = Field(default=0.2, ge=0, le=1)
    gpu_hour_price: float | None = Field(default=None, ge=0)
    gpu_throughput_tokens_s: float = Field(default=1500.0, gt=0)
    gpu_prefill_tokens_s: float = Field(default=15000.0, gt=0)
    gpu_utilisation: float = Field(default=0.5, gt=0, le=1)
    gpu_always_on: bool = True
    train_tokens_s: float = Field(default=2000.0, gt=0)
    materiality: float = Field(default=0.05, ge=0)
    has_ft_access: bool = False
    usd_rate: float | None = Field(default=None, gt=0)
    migration_cost: float = Field(default=500.0, ge=0)
    structured_fix_share: float = Field(default=0.95, ge=0, le=1)
    structured_setup_cost: float = Field(default=0.0, ge=0)
    kb_upkeep_monthly: float = Field(default=100.0, ge=0)
    rag_latency_ms: float = Field(default=300.0, ge=0)
    latency_slo_ms: float | None = Field(default=None, gt=0)
    gpu_replicas: int = Field(default=2, ge=1)
    gpu_ops_monthly: float = Field(default=800.0, ge=0)
    small_model_regression: float = Field(default=0.02, ge=0, le=1)
    open_weight_min_params_b: float = Field(default=7.0, ge=0)
    router_setup_cost: float = Field(default=300.0, ge=0)
    misroute_rate: float = Field(default=0.02, ge=0, le=1)
    sources: dict[str, Source] = Field(default_factory=dict)
    notes: dict[str, str] = Field(default_factory=dict, description="why a measured/default value is what it is")
    measured_spans: dict[str, tuple[float, float]] = Field(
        default_factory=dict, description="95% interval of a measured value (drawn by the Monte Carlo in place of a "
                                          "prior's span)")

    def source(self, name: str) -> Source:
        return self.sources.get(name, "default")

    def span(self, name: str) -> tuple[float, float] | None:
        """Prior (low, high) of a default; a measured value's own interval (`measured_spans`); None for user-set
        values and measured ones without an interval.

        Money spans are USD in SPECS and come back converted at `usd_rate` (price currency per USD).
        """
        if self.source(name) == "measured" and name in self.measured_spans:
            return self.measured_spans[name]
        spec = SPECS.get(name)
        if spec is None or self.source(name) != "default" or spec.low is None or spec.high is None:
            return None
        rate = (self.usd_rate or 1.0) if spec.money else 1.0
        return (spec.low * rate, spec.high * rate)

    def with_values(self, source: Source = "user", **values: Any) -> Assumptions:
        """A copy with some values replaced (what-if), recording their source."""
        data = self.model_dump()
        data.update(values)
        data["sources"] = {**self.sources, **{k: source for k in values}}
        return Assumptions.model_validate(data)


def _validation_error(exc: ValidationError, origin: str, file: str | None) -> AdviseError:
    err = exc.errors()[0]
    field = ".".join(str(x) for x in err["loc"])
    known = ", ".join(sorted(SPECS))
    hint = f"known assumptions: {known}" if err["type"] == "extra_forbidden" else \
        f"{field}: {SPECS[field].description} ({SPECS[field].unit.format(cur='currency')})" if field in SPECS \
        else None
    return AdviseError(f"invalid assumption in {origin}: {err['msg']}", file=file, field=field, hint=hint)


def load_assumptions(config_section: dict[str, Any] | None, cli_overrides: dict[str, Any] | None = None,
                     *, config_file: str | None = None) -> Assumptions:
    """Defaults ← advise.toml [assumptions] ← CLI flags (None values in `cli_overrides` are ignored)."""
    values: dict[str, Any] = {}
    sources: dict[str, Source] = {}
    for origin, layer in (("advise.toml [assumptions]", config_section or {}), ("command line", cli_overrides or {})):
        for key, value in layer.items():
            if value is None:
                continue
            if key == "volume_per_day" and isinstance(value, str):
                value = parse_volume(value)
            values[key] = value
            sources[key] = "user"
        try:
            Assumptions(**values)
        except ValidationError as exc:
            raise _validation_error(exc, origin, config_file if origin.startswith("advise") else None) from exc
    return Assumptions(**values, sources=sources)


_VOLUME = re.compile(r"^\s*([0-9][0-9_,]*(?:\.[0-9]+)?)\s*([kKmM]?)\s*(?:/\s*(day|d|month|mo|week|wk|hour|h))?\s*$")
_PER = {None: 1.0, "day": 1.0, "d": 1.0, "month": 1 / DAYS_PER_MONTH, "mo": 1 / DAYS_PER_MONTH,
        "week": 1 / 7, "wk": 1 / 7, "hour": 24.0, "h": 24.0}


def parse_volume(text: str | float | int) -> float:
    """'10000/day', '300000/month', '10k/day', '10000' (per day) → requests per day."""
    if isinstance(text, int | float):
        value = float(text)
    else:
        m = _VOLUME.match(text)
        if not m:
            raise AdviseError(f"not a request volume: {text!r}", field="--volume",
                              hint="write e.g. 10000/day, 300000/month or 10k/day")
        number = float(m.group(1).replace(",", "").replace("_", ""))
        number *= {"": 1, "k": 1e3, "m": 1e6}[m.group(2).lower()]
        value = number * _PER[m.group(3)]
    if value <= 0:
        raise AdviseError(f"volume must be positive, got {text!r}", field="--volume", hint="e.g. 10000/day")
    return value


def _fmt(value: Any) -> str:
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return {True: "yes", False: "no", None: "—"}.get(value, value) if not isinstance(value, str) else value
    if isinstance(value, int) or float(value).is_integer():
        return f"{int(value):,}"
    if abs(value) >= 1000:  # converted money (JPY) reads as 14,870, not 1.487e+04
        return f"{value:,.0f}"
    return f"{value:,.4g}"


class AssumptionRow(BaseModel):
    """One printable line: the value, its unit and span, and where it came from."""

    name: str
    value: Any
    display: str
    unit: str
    source: Source
    low: float | None
    high: float | None
    description: str
    basis: str


def assumption_table(assumptions: Assumptions, currency: str = "USD") -> list[AssumptionRow]:
    """Every assumption as a row for the terminal/report (the terminal engineer renders it)."""
    rows = []
    for name, spec in SPECS.items():
        value = getattr(assumptions, name)
        span = assumptions.span(name)
        source = assumptions.source(name)
        basis = assumptions.notes.get(name, spec.basis) if source != "user" else "set by you"
        display = "prior" if value is None and name.startswith("ft_fix_share_") else _fmt(value)
        rows.append(AssumptionRow(
            name=name, value=value, display=display, unit=spec.unit.format(cur=currency), source=source,
            low=span[0] if span else None, high=span[1] if span else None,
            description=spec.description.format(cur=currency), basis=basis.format(cur=currency)))
    return rows


def cli_overrides(volume: str | None = None, **flags: Any) -> dict[str, Any]:
    """Turn the values of `assumption_options` into overrides for load_assumptions (unset flags dropped)."""
    out = {k: v for k, v in flags.items() if v is not None and (k in Assumptions.model_fields or k == "offers_file")}
    if not out.get("has_ft_access", True):
        out.pop("has_ft_access")  # an unset flag is not the user's "no"
    if volume is not None:
        out["volume_per_day"] = parse_volume(volume)
    return out
