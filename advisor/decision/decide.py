"""The decision engine: cost every strategy the market sells on the measured traffic, combine, rank, say why.

Pure core: a :class:`TrafficProfile` (what the logs measured, plus the offers in `profile.market`)
and :class:`Assumptions` in, a :class:`Decision` (JSON-ready for analysis.json) out. Each strategy
is its own module under :mod:`advisor.decision.strategies` (eligibility + costing); this module resolves the
assumptions (currency included), combines strategies into portfolios, ranks them (the simpler one
within a stated margin), runs the Monte Carlo (:mod:`advisor.decision.strategies.montecarlo`) and explains
the answer: which model, served where, why each other option lost, and what would flip it.
"""

from __future__ import annotations

from collections.abc import Callable
from itertools import combinations
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_serializer, field_validator

from advisor.decision import roi
from advisor.decision.assumptions import (
    EXAMPLES_BY_TASK,
    MONEY,
    SPECS,
    AssumptionRow,
    Assumptions,
    assumption_table,
)
from advisor.decision.strategies import (
    caching,
    ft_hosted,
    ft_open,
    hybrid,
    prompting,
    rag,
    status_quo,
    structured,
)
from advisor.decision.strategies.base import (
    Costing,
    Ctx,
    DaySample,
    FamilyProfile,
    FineTuneKind,
    StrategyKind,
    StrategySpec,
    TrafficProfile,
    baseline_cost_per_request,
    money,
    price,
)
from advisor.decision.strategies.fx import fx_rate
from advisor.pricing import ModelPrice

__all__ = ["DaySample", "FamilyProfile", "FineTuneKind", "ModelPrice", "price", "TrafficProfile", "Decision", "decide",
           "evaluate_strategies", "resolve", "winner_of", "baseline_cost_per_request", "MeasuredOverrides",
           "MeasuredShare"]

DECISION_SCHEMA_VERSION = 2

# (spec, costing) of every strategy, simplest first; each module holds its eligibility and costing
STRATEGIES: list[tuple[StrategySpec, Callable[[Ctx], Costing]]] = [
    (status_quo.SPEC, status_quo.cost),
    (prompting.SPEC, prompting.cost),
    (structured.SPEC, structured.cost),
    (caching.SPEC, caching.cost),
    (rag.SPEC, rag.cost),
    (ft_hosted.SPEC, ft_hosted.cost),
    (ft_open.SERVERLESS, ft_open.serverless),
    (ft_open.DEDICATED, ft_open.dedicated),
    (hybrid.SPEC, hybrid.cost),
]
SPEC_OF = {s.key: s for s, _ in STRATEGIES}
COST_OF = {s.key: f for s, f in STRATEGIES}
FINE_TUNES = frozenset({"fine-tune-hosted", "fine-tune-serverless", "fine-tune-gpu", "hybrid"})
# order in which portfolio members apply (each sees the traffic the previous ones left)
APPLY_ORDER = ["structured-outputs", "fine-tune-hosted", "fine-tune-serverless", "fine-tune-gpu", "hybrid",
               "prompting", "rag", "caching"]
PORTFOLIO_MAX = 3
TREND_NOTE_PCT_PER_WEEK = 5.0  # a volume trend this steep is pointed out with the volume flip it heads to
MIN_RETRAIN_MONTHS = 0.5  # retraining more often than every two weeks is not costed as a cadence
TREND_MIN_DAYS = 14  # … when the window is long enough for a weekly slope to mean something


# ---------------------------------------------------------------- output contracts


class StrategyResult(BaseModel):
    """One strategy (or portfolio) costed per month on the measured traffic, with probabilities."""

    key: str
    name: str
    kind: StrategyKind
    members: list[str] = Field(default_factory=list, description="portfolio: the strategies combined, in order")
    fine_tune_kind: FineTuneKind | None = Field(default=None, description="set when `advise run` would train")
    addresses: str
    complexity: int
    currency: str
    eligible: bool
    eligibility: str = Field(description="why the offers and the measured signals allow or rule it out")
    target: str = Field(description="the model that serves the traffic afterwards")
    served: str = Field(description="where it is served")
    routing: dict[str, list[str]] = Field(default_factory=dict, description="hybrid: model → prompt families")
    horizon_months: float
    cost_per_request_before: float
    cost_per_request_after: float
    per_request_saving_share: float
    baseline_monthly_cost: float
    monthly_run_cost: float
    one_time_cost: float
    one_time_breakdown: dict[str, float]
    recurring_monthly: float
    recurring_breakdown: dict[str, float]
    failure_rate_before: float
    failure_rate_after: float
    failures_avoided_per_month: float
    failure_value_monthly: float
    monthly_net_value: roi.Range
    payback_days: roi.Range
    net_value_12m: roi.Range = Field(description="net value over this strategy's horizon: central, 80% interval")
    p_net_positive: float | None = Field(default=None, description="P(net value over the horizon > 0)")
    p_payback_30d: float | None = Field(default=None, description="P(payback ≤ 30 days)")
    p_best: float | None = Field(default=None, description="P(this option has the highest net value)")
    break_even_volume_per_day: float | None = Field(description="requests/day where the horizon net value is zero")
    break_even_failure_cost: float | None = Field(default=None,
                                                  description="failure cost where the horizon net value is zero")
    lost_because: str | None = Field(default=None, description="why it is not the recommendation")
    arithmetic: list[str] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)


class FlipCondition(BaseModel):
    """A value of one input at which the winner changes."""

    assumption: str
    unit: str
    current: float
    threshold: float
    direction: Literal["below", "above"]
    winner_after: str
    text: str


class MonteCarloInfo(BaseModel):
    """How the decision's intervals and probabilities were drawn."""

    samples: int
    seed: int
    basis: str = Field(description="the interval's definition and what was resampled, in words")
    p_best_status_quo: float


class MarketRow(BaseModel):
    """One offers-table row a decision read (advisor.offers.table.export_row): its kind, source URL and as-of
    date typed; the rest of the row as the offers table has it."""

    model_config = ConfigDict(extra="allow")
    table: Literal["model", "open_weight", "provider"]
    source: str
    as_of: str


class Recommendation(BaseModel):
    winner: str
    winner_name: str
    members: list[str] = Field(default_factory=list)
    fine_tune_kind: FineTuneKind | None = None
    target: str
    served: str
    routing: dict[str, list[str]] = Field(default_factory=dict, description="hybrid: model → prompt families")
    ranking: list[str] = Field(description="strategy keys, best first")
    headline: str
    explanation: list[str]
    why_not: dict[str, str] = Field(default_factory=dict, description="each other option → why it lost")
    deciding_numbers: dict[str, float | str | None]
    rules_applied: list[str]
    margin: float = Field(description="a more complex option must beat a simpler one by this much (money)")
    flip_conditions: list[FlipCondition]
    sensitivity_strategy: str | None
    sensitivity: list[roi.SensitivityRow]
    monte_carlo: MonteCarloInfo | None = Field(default=None, description="how the ranges were drawn; {} without")

    @field_validator("monte_carlo", mode="before")
    @classmethod
    def _no_ranges(cls, v: object) -> object:
        return None if v == {} else v

    @field_serializer("monte_carlo")
    def _dump_no_ranges(self, v: MonteCarloInfo | None) -> object:
        return {} if v is None else v.model_dump()


class MarketInfo(BaseModel):
    """The offers and the exchange rate a decision used (recorded in analysis.json)."""

    today: str
    fx: str
    fx_rate: float
    fx_date: str | None
    rows: list[MarketRow] = Field(default_factory=list)
    offers_as_of: str | None = None
    offers_files: list[str] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)


class RecommendationRecord(Recommendation):
    """The recommendation as analysis.json holds it: with the money's currency, prices and offers used."""

    currency: str
    price_source: str
    volume_per_day: float
    schema_version: int = DECISION_SCHEMA_VERSION
    market: MarketInfo | None = None


class Decision(BaseModel):
    """What analysis.json gains: `strategies`, `recommendation`, `assumptions`."""

    schema_version: int = DECISION_SCHEMA_VERSION
    currency: str
    price_source: str
    volume_per_day: float
    market: MarketInfo | None = None
    strategies: list[StrategyResult]
    recommendation: Recommendation
    assumptions: list[AssumptionRow]


class MeasuredShare(BaseModel):
    """k of n measured on held-out requests, with its exact 95% interval (the Monte Carlo draws inside it)."""

    k: int = Field(ge=0)
    n: int = Field(ge=1)
    rate: float = Field(ge=0, le=1)
    ci: tuple[float, float]
    clusters: dict[str, tuple[int, int]] = Field(default_factory=dict,
                                                 description="failure cluster → (fixed, incumbent failures)")


FailureKind = Literal["structural", "knowledge", "other"]


class MeasuredOverrides(BaseModel):
    """What `advise evaluate` measured, replacing priors (the eval helper feeds these).

    `fix_shares`: per failure kind, the share of the incumbent's logged failures the candidate fixed on the test
    split (pooled over the failure clusters of that kind; the split is stratified by cluster, so pooling weighs
    clusters as the logs do). A kind that was not measured keeps its prior. `regression`: of the incumbent's passes,
    the share the candidate broke, as new failures per request.
    """

    accuracy_gain: float | None = Field(default=None, ge=0, le=1)
    short_prompt_tokens: float | None = Field(default=None, ge=0)
    small_model_regression: float | None = Field(default=None, ge=0, le=1)
    fix_shares: dict[FailureKind, MeasuredShare] = Field(default_factory=dict)
    regression: MeasuredShare | None = Field(default=None, description="incumbent passes the candidate broke")
    pass_share: float | None = Field(default=None, ge=0, le=1,
                                     description="share of requests the incumbent passes (scales `regression`)")
    model_measured: str | None = None
    proxy_for: str | None = Field(default=None, description="the recommended target, when it is not the model measured")
    n_examples: int | None = None

    def _who(self) -> str:
        who = self.model_measured or "the candidate"
        return who + (f", a proxy for {self.proxy_for}" if self.proxy_for else "")

    def apply(self, a: Assumptions) -> Assumptions:
        values = {k: v for k, v in self.model_dump(include={"accuracy_gain", "short_prompt_tokens",
                                                            "small_model_regression"}).items() if v is not None}
        if "accuracy_gain" in values:
            values["ft_max_fix_share"] = 1.0
        notes = dict(a.notes)
        spans = dict(a.measured_spans)
        on = f"measured on {self.n_examples} test requests" if self.n_examples else "measured"
        for kind in ("structural", "knowledge", "other"):
            name = f"ft_fix_share_{kind}"
            m = self.fix_shares.get(kind)  # type: ignore[call-overload]
            if m is None:
                if self.fix_shares:
                    notes[name] = (f"prior ({on}; the incumbent had no {kind} failure among them): "
                                   + SPECS[name].basis.removeprefix("prior: "))
                continue
            values[name] = m.rate
            spans[name] = m.ci
            per = "; ".join(f"{c} {f}/{n}" for c, (f, n) in m.clusters.items())
            notes[name] = (f"{on} ({self._who()}): fixed {m.k} of the incumbent's {m.n} {kind} failures"
                           + (f" (clusters: {per})" if per else "")
                           + f", 95% CI {m.ci[0]:.0%}–{m.ci[1]:.0%} (Clopper–Pearson)")
        if self.short_prompt_tokens is not None:
            notes["short_prompt_tokens"] = (f"{on} ({self._who()}): production's prompt shortened by the candidate's "
                                            "measured prompt-token reduction, less the variable input")
        if self.regression is not None:
            share = self.pass_share if self.pass_share is not None else 1.0
            r = self.regression
            values["small_model_regression"] = min(1.0, share * r.rate)
            spans["small_model_regression"] = (share * r.ci[0], share * r.ci[1])
            notes["small_model_regression"] = (f"{on} ({self._who()}): broke {r.k} of the incumbent's {r.n} passes "
                                               f"({r.rate:.0%}, 95% CI {r.ci[0]:.0%}–{r.ci[1]:.0%}) × {share:.0%} "
                                               "of requests it passes")
        if not values:
            return a
        out = a.with_values(source="measured", **values)
        return out.model_copy(update={"notes": notes, "measured_spans": spans})


# ---------------------------------------------------------------- resolving assumptions against the profile


def task_kind(profile: TrafficProfile) -> str:
    """Which example-count prior applies: format/style when failures are structural, knowledge when factual."""
    if profile.failure_rate > 0 and profile.knowledge_share >= 0.5:
        return "knowledge"
    if profile.failure_rate > 0 and profile.structural_share >= 0.5:
        return "format"
    return "general"


def resolve(profile: TrafficProfile, assumptions: Assumptions) -> Assumptions:
    """Fill the values that come from the logs and convert USD defaults into the price currency.

    Refuses (AdviseError) a currency with no dated rate unless the user gave `usd_rate`.
    """
    a = assumptions
    if a.notes.get("_resolved") == profile.currency:
        return a
    fill: dict[str, object] = {}
    notes = dict(a.notes)
    if a.volume_per_day is None:
        fill["volume_per_day"] = profile.requests_per_day
        notes["volume_per_day"] = f"measured: mean over {profile.days_observed} logged days"
    if a.failure_cost is None:
        fill["failure_cost"] = baseline_cost_per_request(profile)
        notes["failure_cost"] = "measured: one retry = mean cost per request"
    if profile.prompt_changes and a.source("retrain_interval_months") == "default":
        every = profile.days_observed / profile.prompt_changes / 30
        if every < a.retrain_interval_months:
            fill["retrain_interval_months"] = max(MIN_RETRAIN_MONTHS, every)
            notes["retrain_interval_months"] = (f"measured: the prompt changed {profile.prompt_changes}× in "
                                                f"{profile.days_observed} days (a new prompt family began mid-window)")
    kind = a.task_kind if a.task_kind != "auto" else task_kind(profile)
    if a.examples_needed is None:
        fill["examples_needed"] = EXAMPLES_BY_TASK[kind][0]
        lo, hi = EXAMPLES_BY_TASK[kind][1:]
        notes["examples_needed"] = f"default for task kind '{kind}' ({lo:,}–{hi:,})"
    fx = profile.market.fx if profile.market is not None and profile.market.fx.currency == profile.currency.upper() \
        else fx_rate(profile.currency, a.usd_rate if a.source("usd_rate") == "user" else None)
    if a.source("usd_rate") != "user":
        fill["usd_rate"] = fx.per_usd
        notes["usd_rate"] = fx.label
    if fx.per_usd != 1.0:
        for name in MONEY:
            value = getattr(a, name)
            if a.source(name) == "default" and isinstance(value, int | float) and value:
                fill[name] = value * fx.per_usd
                notes[name] = f"USD {value:,.4g} × {fx.per_usd:,.4g} ({fx.label})"
    notes["_resolved"] = profile.currency
    data = a.model_dump()
    data.update(fill)
    data["notes"] = notes
    data["sources"] = {**a.sources, **{k: ("measured" if k in ("volume_per_day", "failure_cost",
                                                               "retrain_interval_months")
                                          and "measured" in notes.get(k, "") else a.source(k)) for k in fill}}
    return Assumptions.model_validate(data)


def spans(profile: TrafficProfile, a: Assumptions) -> dict[str, tuple[float, float]]:
    """Prior spans of every default-valued assumption (user-set values are taken as given)."""
    out = {name: span for name in SPECS if (span := a.span(name)) is not None}
    if a.source("examples_needed") == "default":
        kind = a.task_kind if a.task_kind != "auto" else task_kind(profile)
        out["examples_needed"] = (float(EXAMPLES_BY_TASK[kind][1]), float(EXAMPLES_BY_TASK[kind][2]))
    return out


# ---------------------------------------------------------------- central numbers of a strategy or portfolio


class Central(BaseModel):
    """Central ROI numbers of one option."""

    costing: Costing
    c0: float
    months: float
    baseline_monthly: float
    monthly_run: float
    one_time: float
    recurring: float
    avoided: float
    failure_value: float
    monthly_net: float
    payback: float | None
    net_12m: float


def costing(key: str, p: TrafficProfile, a: Assumptions) -> Costing:
    """One strategy, or a portfolio 'a+b' whose members apply in APPLY_ORDER, each on the traffic left."""
    members = key.split("+")
    c0 = baseline_cost_per_request(p)
    if len(members) == 1:
        return COST_OF[key](Ctx(p=p, a=a, c0=c0))
    cur_p = p
    saving = fixed_m = fixed = added = 0.0
    one: dict[str, float] = {}
    rec: dict[str, float] = {}
    caps: list[float] = []
    lines: list[str] = []
    notes: list[str] = []
    whys: list[str] = []
    ok = True
    ftk, target, served, routing = None, p.model, p.provider or "as today", {}
    for k in sorted(members, key=APPLY_ORDER.index):
        ci = baseline_cost_per_request(cur_p)
        c = COST_OF[k](Ctx(p=cur_p, a=a, c0=ci))
        ok = ok and c.eligible
        whys.append(f"{SPEC_OF[k].name}: {c.eligibility}")
        saving += ci - c.cost_after
        fixed_m += c.fixed_monthly
        fixed += c.failure_rate_fixed
        added += c.failure_rate_added
        one.update({f"{k}: {n}": v for n, v in c.one_time.items()})
        rec.update({f"{k}: {n}": v for n, v in c.recurring.items()})
        if c.horizon_cap_months is not None:
            caps.append(c.horizon_cap_months)
        lines += [f"[{SPEC_OF[k].name}] {line}" for line in c.arithmetic]
        notes += c.notes
        if c.fine_tune_kind is not None:
            ftk, target, served, routing = c.fine_tune_kind, c.target, c.served, c.routing
        cur_p = c.after or cur_p
    return Costing(cost_after=c0 - saving, fixed_monthly=fixed_m, one_time=one, recurring=rec,
                   failure_rate_fixed=fixed, failure_rate_added=added, horizon_cap_months=min(caps) if caps else None,
                   eligible=ok, eligibility="; ".join(whys), target=target, served=served, fine_tune_kind=ftk,
                   routing=routing, arithmetic=lines, notes=list(dict.fromkeys(notes)), after=cur_p)


def central(key: str, p: TrafficProfile, a: Assumptions) -> Central:
    c0 = baseline_cost_per_request(p)
    v = a.volume_per_day or p.requests_per_day
    cost = costing(key, p, a)
    months = min(a.horizon_months, cost.horizon_cap_months) if cost.horizon_cap_months is not None \
        else a.horizon_months
    base_m = roi.monthly_run_cost(v, c0)
    run_m = roi.monthly_run_cost(v, cost.cost_after, cost.fixed_monthly)
    one = sum(cost.one_time.values())
    rec = sum(cost.recurring.values())
    avoided = roi.failures_avoided_monthly(v, cost.failure_rate_fixed - cost.failure_rate_added)
    fc = a.failure_cost or 0.0
    net = roi.monthly_net_value(base_m, run_m, avoided, fc, rec)
    return Central(costing=cost, c0=c0, months=months, baseline_monthly=base_m, monthly_run=run_m, one_time=one,
                   recurring=rec, avoided=avoided, failure_value=avoided * fc, monthly_net=net,
                   payback=roi.payback_days(one, net), net_12m=roi.horizon_net_value(net, one, months))


def name_of(key: str) -> str:
    return " + ".join(SPEC_OF[k].name for k in key.split("+"))


def complexity_of(key: str) -> int:
    return sum(SPEC_OF[k].complexity for k in key.split("+"))


def _conflict(keys: tuple[str, ...]) -> bool:
    """At most one fine-tune; caching never with an open-weight model (serverless/GPU serve no cache discount)."""
    fts = [k for k in keys if k in FINE_TUNES]
    return len(fts) > 1 or ("caching" in keys and any(k in ("fine-tune-serverless", "fine-tune-gpu") for k in keys))


def candidates(p: TrafficProfile, a: Assumptions) -> tuple[list[str], dict[str, Central]]:
    """Every single strategy, plus the portfolios of eligible, individually positive ones that do not conflict."""
    singles = {spec.key: central(spec.key, p, a) for spec, _ in STRATEGIES}
    good = [k for k, c in singles.items() if k != "status-quo" and c.costing.eligible and c.net_12m > 0]
    out = dict(singles)
    for size in range(2, PORTFOLIO_MAX + 1):
        for combo in combinations(sorted(good, key=APPLY_ORDER.index), size):
            if not _conflict(combo):
                key = "+".join(combo)
                out[key] = central(key, p, a)
    return list(out), out


def margin_of(a: Assumptions, c: Central) -> float:
    """Materiality: a more complex option must beat a simpler one by this share of the horizon spend."""
    return a.materiality * c.baseline_monthly * a.horizon_months


def choose(options: dict[str, Central], a: Assumptions, cur: str = "") -> tuple[str, list[str]]:
    """Best option, simplest first: a more complex one replaces the current pick only if it beats it by the margin.

    Status quo (value 0) is the start, so nothing with a negative or immaterial value is recommended.
    """
    pick = "status-quo"
    rules: list[str] = []
    order = sorted((k for k, c in options.items() if c.costing.eligible and k != "status-quo"),
                   key=lambda k: (complexity_of(k), -options[k].net_12m))
    for k in order:
        gain = options[k].net_12m - options[pick].net_12m
        margin = margin_of(a, options[k])
        if gain > margin:
            pick = k
        elif gain > 0 and complexity_of(k) > complexity_of(pick):
            rules.append(f"{name_of(k)} is worth {money(gain, cur)} more than {name_of(pick)} over the horizon, "
                         f"less than the {money(margin, cur)} margin ({a.materiality:.0%} of the spend) for its extra "
                         "complexity: the simpler option stays")
    kept = [r for r in rules if r.split(" is worth")[0] != name_of(pick)]
    return pick, kept


def winner_of(profile: TrafficProfile, assumptions: Assumptions) -> str:
    """The winning option key, central estimates only (used to solve flip points)."""
    a = resolve(profile, assumptions)
    _, opts = candidates(profile, a)
    return choose(opts, a)[0]


# ---------------------------------------------------------------- what-if helpers (pure)


def at_volume(a: Assumptions, volume: float) -> Assumptions:
    return a.with_values(volume_per_day=volume)


def _with_input(p: TrafficProfile, a: Assumptions, name: str, value: float) -> tuple[TrafficProfile, Assumptions]:
    """Move one input (an assumption, or the measured static prompt) for sensitivity and flips."""
    if name == "static_prefix_tokens":
        ratio = value / p.static_prefix_tokens if p.static_prefix_tokens else 0.0
        fams = [f.model_copy(update={"static_prefix_tokens": f.static_prefix_tokens * ratio}) for f in p.families]
        return p.model_copy(update={"static_prefix_tokens": value, "families": fams}), a
    if name == "examples_needed":
        return p, a.with_values(examples_needed=max(1, round(value)))
    if name in ("rag_k", "epochs", "gpu_replicas"):
        return p, a.with_values(**{name: max(1, round(value))})
    return p, a.with_values(**{name: value})


def _break_even_volume(key: str, p: TrafficProfile, a: Assumptions) -> float | None:
    """Requests/day at which the horizon net value crosses zero (bisection: GPU costs step with volume)."""
    def positive(v: float) -> bool:
        return central(key, p, at_volume(a, v)).net_12m > 0

    lo, hi = 1.0, 1e7
    if positive(lo):
        return 0.0
    if not positive(hi):
        return None
    return roi.solve_threshold(positive, lo, hi)


def _break_even_failure_cost(c: Central, a: Assumptions) -> float | None:
    """The failure cost at which the horizon net value is zero (linear in failure cost)."""
    if c.avoided <= 0:
        return None
    money_only = c.net_12m - c.months * c.avoided * (a.failure_cost or 0.0)
    return max(0.0, -money_only / (c.months * c.avoided))


def _roi_lines(c: Central, a: Assumptions, cur: str) -> list[str]:
    v = a.volume_per_day or 0
    saved = c.baseline_monthly - c.monthly_run
    lines = [f"per request {money(c.c0, cur)} → {money(c.costing.cost_after, cur)} "
             f"({roi.per_request_saving_share(c.c0, c.costing.cost_after):.1%} saved)",
             f"monthly: {v:,.0f} req/day × 30 → run cost {money(c.baseline_monthly, cur)} → "
             f"{money(c.monthly_run, cur)} (saves {money(saved, cur)})",
             f"failures avoided (net of new ones) {c.avoided:,.0f}/month × {money(a.failure_cost or 0, cur)} = "
             f"{money(c.failure_value, cur)}/month",
             f"net {money(saved, cur)} + {money(c.failure_value, cur)} − recurring {money(c.recurring, cur)} = "
             f"{money(c.monthly_net, cur)}/month"]
    if c.payback is not None:
        lines.append(f"payback {money(c.one_time, cur)} ÷ ({money(c.monthly_net, cur)} ÷ 30 days) = "
                     f"{c.payback:,.1f} days")
    else:
        lines.append(f"never pays back the one-time {money(c.one_time, cur)}")
    lines.append(f"{c.months:.3g}-month net: {c.months:.3g} × {money(c.monthly_net, cur)} − "
                 f"{money(c.one_time, cur)} = {money(c.net_12m, cur)}")
    return lines


def _result(key: str, c: Central, p: TrafficProfile, a: Assumptions, mc: object | None,
            with_ranges: bool) -> StrategyResult:
    from advisor.decision.strategies.montecarlo import MonteCarlo

    cost = c.costing
    members = key.split("+")
    kind: StrategyKind = "portfolio" if len(members) > 1 else SPEC_OF[key].kind
    stats = mc.stats.get(key) if isinstance(mc, MonteCarlo) else None
    basis = mc.basis if isinstance(mc, MonteCarlo) and stats else "central estimate only"

    def rng(value: float | None, lo: float | None, hi: float | None) -> roi.Range:
        return roi.Range(value=value, low=lo, high=hi, basis=basis)

    return StrategyResult(
        key=key, name=name_of(key), kind=kind, members=members if len(members) > 1 else [],
        fine_tune_kind=cost.fine_tune_kind, addresses="; ".join(SPEC_OF[k].addresses for k in members),
        complexity=complexity_of(key), currency=p.currency, eligible=cost.eligible, eligibility=cost.eligibility,
        target=cost.target, served=cost.served, routing=cost.routing, horizon_months=c.months,
        cost_per_request_before=c.c0, cost_per_request_after=cost.cost_after,
        per_request_saving_share=roi.per_request_saving_share(c.c0, cost.cost_after),
        baseline_monthly_cost=c.baseline_monthly, monthly_run_cost=c.monthly_run, one_time_cost=c.one_time,
        one_time_breakdown=cost.one_time, recurring_monthly=c.recurring, recurring_breakdown=cost.recurring,
        failure_rate_before=p.failure_rate,
        failure_rate_after=max(0.0, p.failure_rate - cost.failure_rate_fixed + cost.failure_rate_added),
        failures_avoided_per_month=c.avoided, failure_value_monthly=c.failure_value,
        monthly_net_value=rng(c.monthly_net, *(stats.monthly if stats else (None, None))),
        payback_days=rng(c.payback, *(stats.payback if stats else (None, None))),
        net_value_12m=rng(c.net_12m, *(stats.net if stats else (None, None))),
        p_net_positive=stats.p_positive if stats else None, p_payback_30d=stats.p_payback_30 if stats else None,
        p_best=stats.p_best if stats else None,
        break_even_volume_per_day=_break_even_volume(key, p, a) if with_ranges else None,
        break_even_failure_cost=_break_even_failure_cost(c, a),
        arithmetic=cost.arithmetic + _roi_lines(c, a, p.currency), notes=cost.notes)


def evaluate_strategies(profile: TrafficProfile, assumptions: Assumptions, *,
                        with_ranges: bool = True) -> list[StrategyResult]:
    """Cost every strategy and portfolio; with_ranges adds the Monte Carlo and break-even volumes."""
    from advisor.decision.strategies.montecarlo import run_monte_carlo

    a = resolve(profile, assumptions)
    keys, opts = candidates(profile, a)
    mc = run_monte_carlo(profile, a, keys) if with_ranges else None
    return [_result(k, opts[k], profile, a, mc, with_ranges) for k in keys]


# ---------------------------------------------------------------- flips and sensitivity


FLIP_INPUTS: dict[str, tuple[float, float]] = {
    # input → (lowest, highest) value searched for a flip
    "volume_per_day": (1.0, 1e7),
    "failure_cost": (0.0, 100.0),
    "accuracy_gain": (0.0, 1.0),
    "examples_needed": (100.0, 50_000.0),
}


def _fmt_value(name: str, x: float, cur: str) -> str:
    if name == "volume_per_day":
        return f"{x:,.0f} requests/day"
    if name == "failure_cost":
        return f"a failure cost of {cur} {x:,.3g}"
    if name == "accuracy_gain":
        return f"an accuracy gain of {x:.0%}"
    if name == "examples_needed":
        return f"{x:,.0f} curated examples"
    return f"{name} = {x:,.4g}"


def _flip_search(profile: TrafficProfile, a: Assumptions, name: str, current: float, lo: float, hi: float,
                 winner: str) -> list[FlipCondition]:
    """Nearest value below and above `current` where the winner changes (grid scan, then bisection)."""
    def who(x: float) -> str:
        p2, a2 = _with_input(profile, a, name, x)
        return winner_of(p2, a2)

    unit = SPECS[name].unit.format(cur=profile.currency) if name in SPECS else ""
    out: list[FlipCondition] = []
    if who(current) != winner:
        return out
    geometric = lo > 0
    for direction, end in (("below", lo), ("above", hi)):
        if (direction == "below" and current <= lo) or (direction == "above" and current >= hi):
            continue
        prev = current
        steps = 16
        for i in range(1, steps + 1):
            t = i / steps
            x = current * (end / current) ** t if geometric and current > 0 else current + (end - current) * t
            if who(x) != winner:
                threshold = roi.solve_threshold(lambda y: who(y) == winner, prev, x)
                after = who(threshold)
                if after == winner:  # pragma: no cover - bisection returns the changed side
                    continue
                text = f"{direction} {_fmt_value(name, threshold, profile.currency)}, {name_of(after)} wins"
                out.append(FlipCondition(assumption=name, unit=unit, current=current, threshold=threshold,
                                         direction=direction, winner_after=after, text=text))
                break
            prev = x
    return out


def flip_conditions(profile: TrafficProfile, assumptions: Assumptions, winner: str) -> list[FlipCondition]:
    """Where one input would change the winner, nearest first for each input."""
    a = resolve(profile, assumptions)
    out: list[FlipCondition] = []
    for name, (lo, hi) in FLIP_INPUTS.items():
        current = float(getattr(a, name))
        out += _flip_search(profile, a, name, current, lo, hi, winner)
    return out


def _sensitivity(profile: TrafficProfile, a: Assumptions, key: str) -> list[roi.SensitivityRow]:
    """Which input moves this option's payback most (one at a time, low/high): the tornado."""
    v = a.volume_per_day or profile.requests_per_day
    span_map: dict[str, tuple[float, float]] = {"volume_per_day": (v / 2, v * 2)}
    sp = spans(profile, a)
    n = float(a.examples_needed or 1)
    span_map["examples_needed"] = sp.get("examples_needed", (n / 2, n * 2))
    for name in ("accuracy_gain", "cost_per_example", "small_model_regression", "migration_cost", "eval_cost",
                 "structured_fix_share", "rag_fix_share", "prompt_fix_share",
                 "ft_fix_share_structural", "ft_fix_share_knowledge", "ft_fix_share_other"):  # measured: their CIs
        if name in sp:
            span_map[name] = sp[name]
    s = profile.static_prefix_tokens
    span_map["static_prefix_tokens"] = (s * 0.8, s * 1.2)
    fc = a.failure_cost or 0.0
    span_map["failure_cost"] = (fc / 2, fc * 2)
    units = {k: (SPECS[k].unit.format(cur=profile.currency) if k in SPECS else "tokens/request") for k in span_map}
    base = {k: float(getattr(a, k)) if hasattr(a, k) and getattr(a, k) is not None else (lo + hi) / 2
            for k, (lo, hi) in span_map.items()}
    base["static_prefix_tokens"] = s

    def model(inputs: dict[str, float]) -> tuple[float | None, float]:
        p2, a2 = profile, a
        for k in inputs:
            if inputs[k] != base[k]:
                p2, a2 = _with_input(p2, a2, k, inputs[k])
        c = central(key, p2, a2)
        return c.payback, c.net_12m

    rows = roi.sensitivity(base, span_map, units, model)
    return [r for r in rows if r.swing_value > 0 or r.swing_days]


# ---------------------------------------------------------------- the answer in words


def _lost_because(r: StrategyResult, win: StrategyResult, margin: float, cur: str) -> str:
    if r.key == "status-quo":
        return (f"changing nothing is worth nothing; {win.name} is worth "
                f"{money(win.net_value_12m.value or 0, cur)} over {win.horizon_months:.3g} months")
    if not r.eligible:
        return f"ruled out: {r.eligibility}"
    net = r.net_value_12m.value or 0.0
    if net <= 0:
        return f"negative value: {money(net, cur)} over {r.horizon_months:.3g} months"
    wnet = win.net_value_12m.value or 0.0
    if net <= wnet:
        return f"{money(net, cur)} over the horizon, less than the recommendation's {money(wnet, cur)}"
    return (f"{money(net, cur)}, more than the recommendation but by less than the {money(margin, cur)} margin "
            f"for its extra complexity")


def recommend(results: list[StrategyResult], profile: TrafficProfile, a: Assumptions,
              opts: dict[str, Central]) -> Recommendation:
    """The ranked answer in plain words, the numbers that decided it and when it would flip."""
    by_key = {r.key: r for r in results}
    winner, rules = choose(opts, a, profile.currency)
    win = by_key[winner]
    cur = profile.currency
    v = a.volume_per_day or profile.requests_per_day
    margin = margin_of(a, opts[winner])
    ranking = [winner] + sorted((k for k in by_key if k != winner),
                                key=lambda k: (not by_key[k].eligible, -(by_key[k].net_value_12m.value or 0.0)))
    flips = flip_conditions(profile, a, winner)
    sens_key = winner if win.one_time_cost > 0 else next(
        (k for k in ranking if by_key[k].fine_tune_kind is not None and by_key[k].eligible), None)
    sens = _sensitivity(profile, a, sens_key) if sens_key else []

    facts: list[str] = []
    if profile.static_prefix_tokens > 0:
        facts.append(f"{profile.static_share:.0%} of input tokens are a static {profile.static_prefix_tokens:,.0f}-token "
                     "prompt prefix")
    if profile.failure_rate > 0:
        facts.append(f"{profile.failure_rate:.1%} of answers fail ({profile.failure_source}); "
                     f"{profile.structural_share:.0%} structural (format/style; {profile.schema_share:.0%} JSON "
                     f"format/schema), {profile.knowledge_share:.0%} knowledge, {profile.other_share:.0%} scattered")
    else:
        facts.append("no failures detected")
    facts.append(f"volume {v:,.0f} requests/day ({a.source('volume_per_day')}), "
                 f"{money(win.cost_per_request_before, cur)}/request ({_price_label(profile.prices)})")
    n12 = win.net_value_12m
    if winner != "status-quo":
        facts.append(f"{win.horizon_months:.3g}-month net value {money(n12.value or 0, cur)} "
                     + (f"(80% interval {money(n12.low, cur)} to {money(n12.high, cur)})"
                        if n12.low is not None and n12.high is not None else ""))
        if win.p_net_positive is not None:
            facts.append(f"P(net value > 0) {win.p_net_positive:.0%}, P(payback ≤ 30 days) "
                         f"{(win.p_payback_30d or 0):.0%}, P(best option) {(win.p_best or 0):.0%}")
        if win.per_request_saving_share:
            verb = "saves" if win.per_request_saving_share > 0 else "adds"
            facts.append(f"it {verb} {abs(win.per_request_saving_share):.0%} per request "
                         f"({money(win.cost_per_request_before, cur)} → {money(win.cost_per_request_after, cur)})")
    explanation = [f"Recommended: {win.name} — target {win.target}, served by {win.served}. " + "; ".join(facts) + "."]
    explanation.append(f"Why: {win.eligibility}.")
    if win.routing:
        explanation.append("Routing: " + "; ".join(f"{m} ← {', '.join(f) or '—'}" for m, f in win.routing.items()) + ".")
    explanation += [f"Rule: {r}." for r in rules]
    trend = profile.trend_pct_per_week
    if trend is not None and abs(trend) >= TREND_NOTE_PCT_PER_WEEK and profile.days_observed >= TREND_MIN_DAYS:
        vol_flip = next((f for f in flips if f.assumption == "volume_per_day"
                         and f.direction == ("below" if trend < 0 else "above")), None)
        explanation.append(f"Volume {'grows' if trend > 0 else 'falls'} {abs(trend):.0f}%/week in the window; the "
                           f"options are costed at the measured mean"
                           + (f" — {vol_flip.text}" if vol_flip else ", and no volume within reach changes the answer")
                           + ".")
    why_not: dict[str, str] = {}
    for k in ranking[1:]:
        r = by_key[k]
        if r.kind == "portfolio" and not r.eligible:
            continue
        why_not[k] = _lost_because(r, win, margin, cur)
        r.lost_because = why_not[k]
    best_value = next((by_key[k] for k in ranking[1:] if by_key[k].eligible and k != "status-quo"), None)
    if winner == "status-quo" and best_value is not None and best_value.break_even_failure_cost is not None:
        explanation.append(f"{best_value.name} pays for itself once a failure costs more than "
                           f"{money(best_value.break_even_failure_cost, cur)} — set --failure-cost to yours.")
    pb = win.payback_days.value
    headline = (f"{win.name}: target {win.target}" + (f", pays back in {pb:,.0f} days" if pb and win.one_time_cost
                                                      else "")
                if winner != "status-quo" else "Keep as is: no option the market sells pays at this traffic")
    deciding: dict[str, float | str | None] = {
        "volume_per_day": v, "static_prefix_tokens": profile.static_prefix_tokens,
        "static_share_of_input": profile.static_share, "failure_rate": profile.failure_rate,
        "structural_share": profile.structural_share, "schema_share": profile.schema_share,
        "knowledge_share": profile.knowledge_share, "consistency": profile.consistency,
        "knowledge_volatility_share": profile.knowledge_volatility_share, "burstiness": profile.burstiness,
        "trend_pct_per_week": profile.trend_pct_per_week, "latency_p95_ms": profile.latency_p95_ms,
        "winner_payback_days": pb, "winner_net_value": n12.value, "currency": cur,
    }
    return Recommendation(winner=winner, winner_name=win.name, members=win.members, fine_tune_kind=win.fine_tune_kind,
                          target=win.target, served=win.served, routing=win.routing, ranking=ranking, headline=headline,
                          explanation=explanation, why_not=why_not, deciding_numbers=deciding, rules_applied=rules,
                          margin=margin, flip_conditions=flips, sensitivity_strategy=sens_key, sensitivity=sens)


def _price_label(prices: ModelPrice) -> str:
    """Price table name and date, once."""
    if prices.date and prices.date not in prices.source:
        return f"{prices.source}, prices of {prices.date}"
    return prices.source


def decide(profile: TrafficProfile, assumptions: Assumptions | None = None, *,
           overrides: MeasuredOverrides | None = None) -> Decision:
    """Strategies, recommendation and the assumptions behind them, ready for analysis.json.

    `overrides`: what `advise evaluate` measured (fix rate, prompt tokens, regression) replaces the priors.
    """
    a = resolve(profile, assumptions or Assumptions())
    if overrides is not None:
        a = overrides.apply(a)
    from advisor.decision.strategies.montecarlo import run_monte_carlo

    keys, opts = candidates(profile, a)
    mc = run_monte_carlo(profile, a, keys)
    results = [_result(k, opts[k], profile, a, mc, True) for k in keys]
    rec = recommend(results, profile, a, opts)
    rec.monte_carlo = MonteCarloInfo(samples=mc.samples, seed=mc.seed, basis=mc.basis,
                                     p_best_status_quo=mc.stats["status-quo"].p_best or 0.0)
    order = {k: i for i, k in enumerate(rec.ranking)}
    results.sort(key=lambda r: order[r.key])
    m = profile.market
    fx = m.fx if m is not None else fx_rate(profile.currency, a.usd_rate if a.source("usd_rate") == "user" else None)
    market = MarketInfo(today=str(m.today) if m else "", fx=fx.label, fx_rate=fx.per_usd, fx_date=fx.date,
                        rows=m.rows if m else [], offers_as_of=m.offers_as_of if m else None,
                        offers_files=m.offers_files if m else [],
                        warnings=m.warnings if m else ["no offers table was read"])
    return Decision(currency=profile.currency, price_source=_price_label(profile.prices),
                    volume_per_day=a.volume_per_day or profile.requests_per_day, market=market, strategies=results,
                    recommendation=rec, assumptions=assumption_table(a, profile.currency))
