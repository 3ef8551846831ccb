"""ROI arithmetic: one small pure function per formula, so each can be checked by hand.

Conventions: money in the price currency; prices per 1M tokens; a month is 30 days (as in
analysis.json); volumes in requests/day. `None` means "never" (no payback, no break-even).
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence

from pydantic import BaseModel

from advisor.decision.assumptions import DAYS_PER_MONTH, HOURS_PER_MONTH

PER_MILLION = 1_000_000.0


def token_cost(tokens: float, price_per_1m: float) -> float:
    """Cost of `tokens` at a per-1M-token price."""
    return tokens * price_per_1m / PER_MILLION


def request_cost(uncached_input: float, output: float, input_price: float, output_price: float,
                 cache_read: float = 0.0, cached_price: float = 0.0,
                 cache_write: float = 0.0, cache_write_price: float = 0.0) -> float:
    """Cost of one request from its token parts (cache reads/writes billed at their own rates)."""
    return (token_cost(uncached_input, input_price) + token_cost(cache_read, cached_price)
            + token_cost(cache_write, cache_write_price) + token_cost(output, output_price))


def monthly_run_cost(requests_per_day: float, cost_per_request: float, fixed_monthly: float = 0.0) -> float:
    """Per-request cost × 30 days of traffic, plus fixed monthly costs (hosting, store)."""
    return requests_per_day * DAYS_PER_MONTH * cost_per_request + fixed_monthly


def per_request_saving_share(cost_before: float, cost_after: float) -> float:
    """Share of the per-request cost a change removes (negative when it adds cost)."""
    return (cost_before - cost_after) / cost_before if cost_before > 0 else 0.0


def training_cost_from_tokens(examples: float, tokens_per_example: float, epochs: int, price_per_1m: float) -> float:
    """Hosted fine-tuning bills training tokens: examples × tokens × epochs × price."""
    return token_cost(examples * tokens_per_example * epochs, price_per_1m)


def training_cost_from_gpu(examples: float, tokens_per_example: float, epochs: int, tokens_per_s: float,
                           gpu_hour_price: float, min_hours: float = 1.0) -> float:
    """Self-hosted LoRA: GPU-hours (at least `min_hours`, billing granularity) × $/hour."""
    hours = max(min_hours, examples * tokens_per_example * epochs / tokens_per_s / 3600.0)
    return hours * gpu_hour_price


def one_time_cost(examples: float, cost_per_example: float, training: float, evaluation: float,
                  setup: float = 0.0) -> float:
    """Curation + one training run + one evaluation + any setup work."""
    return examples * cost_per_example + training + evaluation + setup


def retraining_monthly(training: float, evaluation: float, curation: float, curation_share: float,
                       interval_months: float) -> float:
    """Retraining when the base model changes, spread over its interval."""
    return (training + evaluation + curation * curation_share) / interval_months


def gpu_hosting_monthly(requests_per_day: float, input_tokens: float, output_tokens: float,
                        prefill_tokens_s: float, output_tokens_s: float, utilisation: float,
                        gpu_hour_price: float, always_on: bool = True) -> float:
    """GPU-hours the traffic needs at the given throughput and load; at least one GPU when always on."""
    seconds_per_request = input_tokens / prefill_tokens_s + output_tokens / output_tokens_s
    hours = requests_per_day * DAYS_PER_MONTH * seconds_per_request / 3600.0 / utilisation
    if always_on:
        hours = max(HOURS_PER_MONTH, math.ceil(hours / HOURS_PER_MONTH) * HOURS_PER_MONTH)
    return hours * gpu_hour_price


def failures_avoided_monthly(requests_per_day: float, failure_rate_fixed: float) -> float:
    """Failed answers a strategy removes per month (rate fixed = share of requests)."""
    return requests_per_day * DAYS_PER_MONTH * failure_rate_fixed


def monthly_net_value(baseline_monthly: float, strategy_monthly: float, failures_avoided: float,
                      failure_cost: float, recurring_monthly: float = 0.0) -> float:
    """Cost saved + failures avoided × cost per failure − recurring costs (retraining, store)."""
    return baseline_monthly - strategy_monthly + failures_avoided * failure_cost - recurring_monthly


def payback_days(one_time: float, monthly_net: float) -> float | None:
    """Days until the one-time cost is earned back; None when the strategy never pays back."""
    if monthly_net <= 0:
        return 0.0 if one_time <= 0 and monthly_net == 0 else None
    return one_time / (monthly_net / DAYS_PER_MONTH)


def horizon_net_value(monthly_net: float, one_time: float, months: float = 12.0) -> float:
    """Net value over the horizon: months × monthly net − one-time cost."""
    return months * monthly_net - one_time


def break_even_daily_volume(one_time: float, fixed_monthly: float, value_per_request: float,
                            months: float = 12.0) -> float | None:
    """Requests/day at which the horizon net value is zero, for a net value linear in volume.

    net(v) = months × (v × 30 × value_per_request − fixed_monthly) − one_time = 0.
    None when each request loses money (no volume pays back).
    """
    if value_per_request <= 0:
        return None
    return (one_time / months + fixed_monthly) / (DAYS_PER_MONTH * value_per_request)


def solve_threshold(predicate: Callable[[float], bool], lo: float, hi: float, *, rel_tol: float = 1e-3,
                    max_iter: int = 200) -> float:
    """Bisection for the point where `predicate` changes between lo (value p(lo)) and hi (not p(lo)).

    Used for break-even and flip points whose cost model is not linear (GPU steps, guards).
    Returns a point on the `hi` side, so evaluating there shows the changed outcome.
    """
    side = predicate(lo)
    for _ in range(max_iter):
        if abs(hi - lo) <= rel_tol * max(abs(lo), abs(hi), 1e-12):
            break
        mid = (lo + hi) / 2 if lo <= 0 or hi <= 0 else math.sqrt(lo * hi)
        if mid in (lo, hi):
            break
        if predicate(mid) == side:
            lo = mid
        else:
            hi = mid
    return hi


class Range(BaseModel):
    """A central value with a low/high band (None inside = unbounded, e.g. payback 'never')."""

    value: float | None
    low: float | None
    high: float | None
    basis: str


def percentile(values: Sequence[float], q: float) -> float:
    """Linear-interpolated percentile, q in [0, 100]."""
    xs = sorted(values)
    if not xs:
        raise ValueError("no values")
    pos = (len(xs) - 1) * q / 100.0
    i = int(math.floor(pos))
    j = min(i + 1, len(xs) - 1)
    return xs[i] + (xs[j] - xs[i]) * (pos - i)


def bootstrap_indices(n: int, iterations: int = 200, seed: int = 0) -> list[list[int]]:
    """Resamples (with replacement) of n days: the same draw every run (deterministic seed)."""
    rng = random.Random(seed)
    return [[rng.randrange(n) for _ in range(n)] for _ in range(iterations)]


def bootstrap_range(samples: Sequence[float | None], low_q: float = 10.0, high_q: float = 90.0,
                    never_high: bool = True) -> tuple[float | None, float | None]:
    """10th–90th percentile of a bootstrapped quantity. `None` samples mean 'never' (+∞ for payback)."""
    finite = [s for s in samples if s is not None]
    if not finite:
        return None, None
    inf = math.inf if never_high else -math.inf
    xs = [s if s is not None else inf for s in samples]
    lo, hi = percentile(xs, low_q), percentile(xs, high_q)
    return (None if math.isinf(lo) else lo), (None if math.isinf(hi) else hi)


class SensitivityRow(BaseModel):
    """One input moved to its low and high while the others stay put; tornado-ready."""

    input: str
    unit: str
    low_input: float
    high_input: float
    payback_low: float | None  # payback days with the input at its low value (None = never)
    payback_high: float | None
    net_12m_low: float
    net_12m_high: float
    swing_days: float | None  # |payback_high − payback_low|; None when one side never pays back
    swing_value: float  # |net_12m_high − net_12m_low|


def sensitivity(base_inputs: dict[str, float], spans: dict[str, tuple[float, float]], units: dict[str, str],
                model: Callable[[dict[str, float]], tuple[float | None, float]]) -> list[SensitivityRow]:
    """One-at-a-time: for each input, evaluate `model` (→ payback days, 12-month net) at low and high.

    Sorted by payback swing (a side that never pays back counts as the largest swing), then by
    the 12-month value swing.
    """
    rows = []
    for name, (low, high) in spans.items():
        p_lo, n_lo = model({**base_inputs, name: low})
        p_hi, n_hi = model({**base_inputs, name: high})
        swing = abs(p_hi - p_lo) if p_lo is not None and p_hi is not None else None
        rows.append(SensitivityRow(input=name, unit=units.get(name, ""), low_input=low, high_input=high,
                                   payback_low=p_lo, payback_high=p_hi, net_12m_low=n_lo, net_12m_high=n_hi,
                                   swing_days=swing, swing_value=abs(n_hi - n_lo)))

    def key(r: SensitivityRow) -> tuple[float, float]:
        never = (r.payback_low is None) != (r.payback_high is None)
        return (math.inf if never else (r.swing_days or 0.0), r.swing_value)

    return sorted(rows, key=key, reverse=True)
