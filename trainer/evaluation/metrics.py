"""Pure evaluation metrics: strings in, numbers out. No model, no I/O.

Every function here is unit-tested against hand-computed values, so `eval.json`
figures can be trusted and reproduced by hand.
"""

from __future__ import annotations

import json
import math
import random
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

_WS = re.compile(r"\s+")


def normalise(text: str) -> str:
    """Case-, whitespace- and Unicode-form-insensitive text for the 'normalised match' metric."""
    t = unicodedata.normalize("NFKC", text or "").casefold().strip()
    return _WS.sub(" ", t)


def exact_match(pred: str, ref: str) -> bool:
    return (pred or "").strip() == (ref or "").strip()


def normalised_match(pred: str, ref: str) -> bool:
    return normalise(pred) == normalise(ref)


def parse_json(text: str) -> Any | None:
    """The JSON value in an output, tolerating a ```json fence; None when it is not valid JSON."""
    t = (text or "").strip()
    if t.startswith("```"):
        t = re.sub(r"^```[a-zA-Z]*\n?", "", t)
        t = re.sub(r"\n?```$", "", t).strip()
    try:
        return json.loads(t)
    except (ValueError, TypeError):
        return None


def _flatten(obj: Any, prefix: str = "") -> dict[str, Any]:
    """{"a": {"b": 1}, "c": [1, 2]} → {"a.b": 1, "c[0]": 1, "c[1]": 2}: fields compared one by one."""
    out: dict[str, Any] = {}
    if isinstance(obj, dict):
        for k, v in obj.items():
            out.update(_flatten(v, f"{prefix}.{k}" if prefix else str(k)))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            out.update(_flatten(v, f"{prefix}[{i}]"))
    else:
        out[prefix] = normalise(obj) if isinstance(obj, str) else obj
    return out


@dataclass(frozen=True)
class FieldScore:
    tp: int
    fp: int
    fn: int

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


def field_scores(pred: Any, ref: Any) -> FieldScore:
    """Leaf fields of a JSON output vs the reference: a field is a true positive when path and value match."""
    p, r = _flatten(pred), _flatten(ref)
    tp = sum(1 for k, v in p.items() if k in r and r[k] == v)
    return FieldScore(tp=tp, fp=len(p) - tp, fn=len(r) - tp)


def micro_field_scores(pairs: Sequence[tuple[Any, Any]]) -> FieldScore:
    """Micro-average over examples (sum tp/fp/fn); an invalid prediction (None) misses every reference field."""
    tp = fp = fn = 0
    for pred, ref in pairs:
        s = field_scores(pred if pred is not None else {}, ref)
        tp, fp, fn = tp + s.tp, fp + s.fp, fn + s.fn
    return FieldScore(tp, fp, fn)


@dataclass(frozen=True)
class McNemar:
    """Paired test on pass/fail of two systems over the same examples."""

    b: int  # baseline passed, candidate failed
    c: int  # baseline failed, candidate passed
    p_value: float
    method: str  # "exact-binomial" or "chi2-continuity"


def mcnemar(baseline_pass: Sequence[bool], candidate_pass: Sequence[bool]) -> McNemar:
    """Exact two-sided McNemar (binomial on the discordant pairs) when they are few, else χ² with continuity.

    p = min(1, 2 · P[X ≤ min(b, c)]) with X ~ Bin(b + c, 1/2) for the exact test.
    """
    if len(baseline_pass) != len(candidate_pass):
        raise ValueError("McNemar needs paired results of equal length")
    b = sum(1 for x, y in zip(baseline_pass, candidate_pass, strict=True) if x and not y)
    c = sum(1 for x, y in zip(baseline_pass, candidate_pass, strict=True) if y and not x)
    n = b + c
    if n == 0:
        return McNemar(b, c, 1.0, "exact-binomial")
    if n <= 50:
        k = min(b, c)
        tail = sum(math.comb(n, i) for i in range(k + 1)) / 2**n
        return McNemar(b, c, min(1.0, 2 * tail), "exact-binomial")
    stat = (abs(b - c) - 1) ** 2 / n
    # survival function of chi2 with 1 dof: erfc(sqrt(x/2))
    return McNemar(b, c, math.erfc(math.sqrt(stat / 2)), "chi2-continuity")


def bootstrap_ci(values: Sequence[float], stat: Callable[[Sequence[float]], float] | None = None,
                 n_resamples: int = 2000, level: float = 0.95, seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap interval of `stat` (default mean); deterministic given `seed`."""
    if not values:
        return (math.nan, math.nan)
    stat = stat or (lambda xs: sum(xs) / len(xs))
    rng = random.Random(seed)
    n = len(values)
    draws = sorted(stat([values[rng.randrange(n)] for _ in range(n)]) for _ in range(n_resamples))
    lo_i = int(((1 - level) / 2) * (n_resamples - 1))
    hi_i = int((1 - (1 - level) / 2) * (n_resamples - 1))
    return (draws[lo_i], draws[hi_i])


def paired_diff_ci(a: Sequence[float], b: Sequence[float], n_resamples: int = 2000,
                   level: float = 0.95, seed: int = 0) -> tuple[float, float]:
    """Bootstrap interval of mean(b − a) over paired examples (resampling the pairs together)."""
    diffs = [y - x for x, y in zip(a, b, strict=True)]
    return bootstrap_ci(diffs, n_resamples=n_resamples, level=level, seed=seed)


# ---------------------------------------------------------------- intervals for rates

def clopper_pearson(k: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """Exact (Clopper–Pearson) interval for k successes in n: never degenerate, 40/40 → 0.912–1.0.

    Beta quantiles: lower = B(α/2; k, n−k+1), upper = B(1−α/2; k+1, n−k), with 0 and 1 at the edges.
    """
    if n <= 0:
        return (math.nan, math.nan)
    from scipy.stats import beta

    a = 1 - level
    lo = 0.0 if k == 0 else float(beta.ppf(a / 2, k, n - k + 1))
    hi = 1.0 if k == n else float(beta.ppf(1 - a / 2, k + 1, n - k))
    return (lo, hi)


# ---------------------------------------------------------------- free text: chrF

def _char_ngrams(text: str, n: int) -> dict[str, int]:
    s = _WS.sub("", text or "")  # chrF ignores whitespace (sacrebleu's default)
    out: dict[str, int] = {}
    for i in range(len(s) - n + 1):
        g = s[i:i + n]
        out[g] = out.get(g, 0) + 1
    return out


def chrf(pred: str, ref: str, max_n: int = 6, beta: float = 2.0) -> float:
    """chrF (Popović 2015) in [0, 1]: character n-gram precision and recall averaged over n = 1..6,
    combined as F-beta with beta = 2 (recall weighted twice). Orders with no n-grams on either side are
    skipped, as in sacrebleu; identical strings score 1, disjoint ones 0."""
    precs, recs = [], []
    for n in range(1, max_n + 1):
        p, r = _char_ngrams(pred, n), _char_ngrams(ref, n)
        tp_total, p_total, r_total = sum(min(c, r.get(g, 0)) for g, c in p.items()), sum(p.values()), sum(r.values())
        if p_total == 0 and r_total == 0:
            continue
        precs.append(tp_total / p_total if p_total else 0.0)
        recs.append(tp_total / r_total if r_total else 0.0)
    if not precs:
        return 1.0 if (pred or "").strip() == (ref or "").strip() else 0.0
    p, r = sum(precs) / len(precs), sum(recs) / len(recs)
    b2 = beta * beta
    return (1 + b2) * p * r / (b2 * p + r) if (p + r) else 0.0


# ---------------------------------------------------------------- labels

def label_scores(pred: Sequence[str], gold: Sequence[str]) -> tuple[float, float]:
    """(accuracy, macro-F1 over the gold and predicted classes) by scikit-learn's definitions."""
    from sklearn.metrics import accuracy_score, f1_score

    p = [normalise(x) for x in pred]
    g = [normalise(x) for x in gold]
    return float(accuracy_score(g, p)), float(f1_score(g, p, average="macro", zero_division=0))


def exact_json_match(pred: Any, ref: Any) -> bool:
    """Every leaf field equal (strings normalised) and none extra."""
    return pred is not None and _flatten(pred) == _flatten(ref)


def paired_bootstrap(a: Sequence[float], b: Sequence[float], n_resamples: int = 2000, seed: int = 0
                     ) -> tuple[float, tuple[float, float], float]:
    """(mean(b − a), its 95% percentile interval, two-sided bootstrap p-value) resampling examples as pairs."""
    diffs = [y - x for x, y in zip(a, b, strict=True)]
    if not diffs:
        return (math.nan, (math.nan, math.nan), math.nan)
    rng = random.Random(seed)
    n = len(diffs)
    mean = sum(diffs) / n
    draws = sorted(sum(diffs[rng.randrange(n)] for _ in range(n)) / n for _ in range(n_resamples))
    lo, hi = draws[int(0.025 * (n_resamples - 1))], draws[int(0.975 * (n_resamples - 1))]
    # p: how often a resample lands on the other side of zero than the observed mean (doubled), floor 1/B
    if mean == 0:
        p = 1.0
    else:
        other = sum(1 for d in draws if (d <= 0 if mean > 0 else d >= 0))
        p = min(1.0, max(1.0 / n_resamples, 2 * other / n_resamples))
    return (mean, (lo, hi), p)
