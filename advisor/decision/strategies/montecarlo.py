"""Uncertainty as probabilities: Monte Carlo over the priors, bootstrap over logged days and failure counts.

Each draw takes every default-valued assumption from its documented prior (a two-piece uniform on
[low, default] and [default, high] whose mean is the default — see :func:`split_uniform`), resamples
the logged days with replacement (volume and tokens per request vary as the days did) and redraws
the failure counts (binomial over analysed requests, multinomial over structural / knowledge /
scattered, binomial for the JSON format/schema part). Every option is costed on each draw.
Seeded numpy: the same inputs give the same output.
"""

from __future__ import annotations

import math

import numpy as np
from pydantic import BaseModel

from advisor.decision.assumptions import Assumptions
from advisor.decision.strategies.base import TrafficProfile

MC_SAMPLES = 200
MC_SEED = 0
NEVER = 1e18  # stands for "never pays back" inside the percentiles
INT_PRIORS = frozenset({"examples_needed", "rag_k", "epochs"})


class Stats(BaseModel):
    """One option's distribution over the draws."""

    net: tuple[float | None, float | None]  # 10th–90th percentile of the horizon net value
    monthly: tuple[float | None, float | None]
    payback: tuple[float | None, float | None]  # None high = never within reach
    median_net: float
    p_positive: float
    p_payback_30: float
    p_best: float


class MonteCarlo(BaseModel):
    samples: int
    seed: int
    basis: str
    stats: dict[str, Stats]


def split_uniform(rng: np.random.Generator, low: float, mode: float, high: float, n: int) -> np.ndarray:
    """Two-piece uniform on [low, default] and [default, high], weighted so the mean is the default.

    Weight of the lower piece w = (high − default) / (high − low): a default near the low end of a
    wide span (cost per example 0.02–1.00, default 0.10) puts most draws near it and a thin tail up
    to the high end. Mean = default keeps the Monte Carlo centred on the central estimate, so at a
    break-even point P(net > 0) is close to one half.
    """
    low, high = min(low, mode), max(high, mode)
    if high <= low:
        return np.full(n, mode)
    w = (high - mode) / (high - low)
    lower = rng.random(n) < w
    u = rng.random(n)
    return np.where(lower, low + u * (mode - low), mode + u * (high - mode))


def _failures(p: TrafficProfile, rng: np.random.Generator) -> dict[str, float]:
    n = p.logged_requests or max(1, round(p.requests_per_day * p.days_observed))
    if p.failure_rate <= 0:
        return {}
    f = int(rng.binomial(n, p.failure_rate))
    if f == 0:
        return {"failure_rate": 0.0}
    shares = np.array([p.structural_share, p.knowledge_share, p.other_share], dtype=float)
    shares = shares / shares.sum() if shares.sum() > 0 else np.array([0, 0, 1.0])
    s, k, o = rng.multinomial(f, shares)
    schema = int(rng.binomial(s, min(1.0, p.schema_share / p.structural_share))) if s and p.structural_share else 0
    return {"failure_rate": f / n, "structural_share": s / f, "knowledge_share": k / f, "other_share": o / f,
            "schema_share": schema / f}


class _Days:
    """The logged days with requests, as arrays: what every draw's resample reads (built once per run)."""

    def __init__(self, p: TrafficProfile) -> None:
        days = [d for d in p.days if d.requests > 0]
        self.n = len(days)
        self.req = np.array([d.requests for d in days])
        self.tot = {k: np.array([getattr(d, k) for d in days])
                    for k in ("input_tokens", "static_tokens", "output_tokens")}
        self.base = {k: v.sum() / self.req.sum() for k, v in self.tot.items()}
        self.req_mean = self.req.mean()


def _days(p: TrafficProfile, rng: np.random.Generator, d: _Days | None = None) -> tuple[float, dict[str, float]]:
    """→ (volume factor, token updates) from one resample of the logged days."""
    d = d or _Days(p)
    if d.n < 3:
        return 1.0, {}
    pick = rng.integers(0, d.n, d.n)
    r = d.req[pick].sum()

    def ratio(field: str) -> float:
        base = d.base[field]
        return float(d.tot[field][pick].sum() / r / base) if base else 1.0

    static_ratio = ratio("static_tokens")
    static = p.static_prefix_tokens * static_ratio
    variable = max(0.0, p.input_tokens * ratio("input_tokens") - static)
    fams = [f.model_copy(update={"static_prefix_tokens": f.static_prefix_tokens * static_ratio})
            for f in p.families]
    return float(d.req[pick].mean() / d.req_mean), {
        "static_prefix_tokens": static, "variable_input_tokens": variable,
        "output_tokens": p.output_tokens * ratio("output_tokens"), "families": fams}


def run_monte_carlo(p: TrafficProfile, a: Assumptions, keys: list[str], samples: int = MC_SAMPLES,
                    seed: int = MC_SEED) -> MonteCarlo:
    from advisor.decision.decide import central, spans

    rng = np.random.default_rng(seed)
    priors = {name: split_uniform(rng, lo, float(getattr(a, name)), hi, samples)
              for name, (lo, hi) in spans(p, a).items() if getattr(a, name, None) is not None}
    base = {k: central(k, p, a) for k in keys}
    live = [k for k in keys if base[k].costing.eligible]
    nets = {k: np.zeros(samples) for k in live}
    months = {k: np.zeros(samples) for k in live}
    pays = {k: np.full(samples, math.inf) for k in live}
    v0 = a.volume_per_day or p.requests_per_day
    days = _Days(p)
    for i in range(samples):
        factor, tokens = _days(p, rng, days)
        p_i = p.model_copy(update={**tokens, **_failures(p, rng)})
        values = {n: (round(float(d[i])) if n in INT_PRIORS else float(d[i])) for n, d in priors.items()}
        a_i = a.with_values(source="default", volume_per_day=v0 * factor, **values)
        for k in live:
            c = central(k, p_i, a_i)
            nets[k][i] = c.net_12m
            months[k][i] = c.monthly_net
            pays[k][i] = c.payback if c.payback is not None else math.inf
    table = np.vstack([nets[k] for k in live]) if live else np.zeros((0, samples))
    best = np.argmax(table, axis=0) if live else np.array([], dtype=int)
    stats: dict[str, Stats] = {}
    for j, k in enumerate(live):
        finite = np.where(np.isfinite(pays[k]), pays[k], NEVER)
        pay_lo, pay_hi = (float(x) for x in np.percentile(finite, [10, 90]))
        stats[k] = Stats(net=(float(np.percentile(nets[k], 10)), float(np.percentile(nets[k], 90))),
                         monthly=(float(np.percentile(months[k], 10)), float(np.percentile(months[k], 90))),
                         payback=(None if pay_lo >= NEVER else pay_lo, None if pay_hi >= NEVER else pay_hi),
                         median_net=float(np.median(nets[k])), p_positive=float((nets[k] > 0).mean()),
                         p_payback_30=float((pays[k] <= 30).mean()), p_best=float((best == j).mean()))
    n_days = len([d for d in p.days if d.requests > 0])
    basis = (f"80% interval (10th–90th percentile) of {samples} Monte Carlo draws (seed {seed}): priors from their "
             f"documented spans, {n_days} logged days resampled, failure counts redrawn")
    return MonteCarlo(samples=samples, seed=seed, basis=basis, stats=stats)
