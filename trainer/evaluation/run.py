"""Three arms on the same held-out inputs → `eval.json`.

* **incumbent** — the production model's logged answer to each test input (free: it is in the logs);
* **candidate** — the fine-tuned adapter with the short prompt;
* **base** — the same base model without the adapter, with the full production prompt.

The test split is a sample of all answered requests, failed ones included (:mod:`trainer.dataset.splits`),
so the incumbent's logged failure rate on it estimates its rate over the logs; both are reported with
exact intervals. The generated arms decode greedily with one token budget taken from the production
output-length distribution (p99 + margin); an output that hits it is counted as *truncated*, apart
from the checks. A pass is "every configured check holds"; where a label gives the expected answer it
is the reference for the metrics of the task kind (JSON fields, chrF for text, accuracy/macro-F1 for
labels). Generation lives in :mod:`trainer.evaluation.generate`; the scoring here is pure (:mod:`trainer.evaluation.metrics`).
"""

from __future__ import annotations

import json
import math
import statistics
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import Field

from advisor import __version__
from advisor.kernel.errors import AdviseError
from trainer.evaluation import metrics as em
from trainer.evaluation.measured import EvalModel, MeasuredROI

EVAL_SCHEMA_VERSION = 3  # 3: measured_roi typed (MeasuredROI), fix shares per failure kind
FORGETTING_WARN_PCT = 10.0  # documented: general-text loss up >10% vs base → warn about forgetting
CI_METHOD = "Clopper–Pearson exact 95%"
TRUNCATED = "truncated:max_new_tokens"
TRUNCATED_LOGGED = "truncated:max_tokens"
TaskKind = Literal["json", "labels", "text"]


# ---------------------------------------------------------------- contract (eval.json)

class Rate(EvalModel):
    """k of n with its exact interval."""

    k: int
    n: int
    rate: float
    ci: tuple[float, float]
    method: str = CI_METHOD


def rate(k: int, n: int) -> Rate:
    return Rate(k=k, n=n, rate=k / n if n else math.nan, ci=em.clopper_pearson(k, n))


class ExampleResult(EvalModel):
    id: str
    cluster: str | None = None
    passed: bool
    truncated: bool = False
    failed_checks: list[str] = Field(default_factory=list)
    has_reference: bool = False
    exact: bool | None = None  # vs the reference (None without one)
    normalised: bool | None = None
    chrf: float | None = None
    json_valid: bool | None = None
    field_f1: float | None = None
    prompt_tokens: int | None = None
    output_tokens: int
    latency_ms: float | None = None
    output: str


class VariantResult(EvalModel):
    name: str  # "incumbent" | "candidate" | "base"
    model: str
    adapter: str | None = None
    prompt: str  # "full original prompt" | "short prompt"
    source: str  # "logged production output" | "generated here (greedy)"
    n: int
    pass_rate: float
    pass_rate_ci: tuple[float, float]
    passes: int
    truncated: int = 0  # outputs cut by the token limit (reported apart, counted as not passing)
    pass_rate_untruncated: float | None = None
    n_reference: int = 0  # examples with a reference answer (the metrics below are over those)
    exact_match: float | None = None
    normalised_match: float | None = None
    chrf: float | None = None
    json_valid: float | None = None
    json_exact: float | None = None
    field_precision: float | None = None
    field_recall: float | None = None
    field_f1: float | None = None
    label_accuracy: float | None = None
    label_macro_f1: float | None = None
    check_pass_rates: dict[str, float] = Field(default_factory=dict)  # over the untruncated outputs
    cluster_pass_rates: dict[str, Rate] = Field(default_factory=dict)
    prompt_tokens_mean: float | None = None
    output_tokens_mean: float
    latency_ms_mean: float | None = None
    latency_ms_p50: float | None = None
    latency_ms_p95: float | None = None
    examples: list[ExampleResult]


class Comparison(EvalModel):
    """One arm against another on the same examples: paired pass/fail and, with references, a paired score."""

    candidate: str
    against: str
    test: str = "McNemar (paired, two-sided)"
    wins: int  # candidate passed, the other failed
    losses: int  # the other passed, candidate failed
    ties_pass: int
    ties_fail: int
    p_value: float
    method: str
    pass_rate_diff: float
    pass_rate_diff_ci: tuple[float, float]  # paired bootstrap
    significant_at_0_05: bool
    score: str | None = None  # the reference metric compared (chrF / field F1 / label accuracy)
    score_n: int = 0
    score_diff: float | None = None
    score_diff_ci: tuple[float, float] | None = None
    score_p_value: float | None = None  # paired bootstrap
    score_wins: int = 0
    score_losses: int = 0
    score_ties: int = 0


class IncumbentRecord(EvalModel):
    """The incumbent's logged verdict (labels, then checks — as the dataset filters judge) on the test split,
    beside its failure rate over all the logs (the analysis)."""

    test: Rate  # failures on the test split
    logs: Rate | None = None  # failures over all analysed requests
    test_within_logs_ci: bool | None = None
    logs_within_test_ci: bool | None = None
    by_reason: dict[str, int] = Field(default_factory=dict)


class FixRate(EvalModel):
    """Of the test examples whose logged answer failed (in one cluster), how many the candidate gets right."""

    incumbent_failed: int
    fixed: int
    rate: float
    ci: tuple[float, float]
    judged_by: str  # "checks" or "reference (closer to the reviewer's answer than the incumbent)"
    kind: str | None = None  # the decision's failure kind (structural / knowledge / other); None: not a category


class Forgetting(EvalModel):
    general_loss_base: float
    general_loss_adapter: float
    instruction_loss_base: float
    instruction_loss_adapter: float
    general_ppl_base: float
    general_ppl_adapter: float
    worst_increase_pct: float
    threshold_pct: float = FORGETTING_WARN_PCT
    warning: str | None = None


class Evaluation(EvalModel):
    schema_version: int = EVAL_SCHEMA_VERSION
    advise_version: str = __version__
    generated_at: datetime
    run_dir: str
    test_file: str
    test_sha256: str
    device: str
    model_measured: str  # the base model the candidate was trained on (what these figures are about)
    checks_source: str
    pass_definition: str
    task_kind: TaskKind
    decoding: dict[str, Any] = Field(default_factory=dict)
    n_examples: int
    incumbent: VariantResult
    finetuned: VariantResult  # the candidate
    baseline: VariantResult  # base model, full prompt
    significance: Comparison  # candidate vs incumbent (the question a team asks)
    vs_base: Comparison  # candidate vs its own base model with the full prompt
    incumbent_logged: IncumbentRecord
    fix_rates: dict[str, FixRate] = Field(default_factory=dict)
    broken: Rate | None = None  # of the incumbent's logged passes, how many the candidate fails
    prompt_token_reduction: float  # 1 − candidate/full prompt tokens per request
    forgetting: Forgetting | None = None
    measured_roi: MeasuredROI | None = None


# ---------------------------------------------------------------- test data

@dataclass
class HeldOutExample:
    id: str
    short_messages: list[dict]  # system (short) + user turns, no assistant target
    full_messages: list[dict]  # original production prompt
    incumbent_output: str  # the production model's logged answer
    reference: str | None = None  # a label's expected answer (or a label-approved logged answer)
    cluster: str | None = None
    incumbent_ok: bool = True  # the logged verdict (labels, then checks)
    incumbent_reason: str | None = None
    incumbent_truncated: bool = False
    incumbent_model: str = "production"
    meta: dict = field(default_factory=dict)


def _split_target(messages: list[dict]) -> tuple[list[dict], str]:
    if not messages or messages[-1].get("role") != "assistant":
        raise ValueError("last message must be the assistant target")
    return messages[:-1], str(messages[-1].get("content") or "")


def load_test_examples(path: Path, limit: int | None = None) -> list[HeldOutExample]:
    """Read test.jsonl: `messages` (short prompt + logged answer), `original_messages` (full prompt) and
    `metadata.incumbent` (logged verdict and reference)."""
    out: list[HeldOutExample] = []
    with open(path, encoding="utf-8") as fh:
        for i, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                prompt, logged = _split_target(row["messages"])
                full = row.get("original_messages") or row["messages"]
                full_prompt = full[:-1] if full and full[-1].get("role") == "assistant" else full
                meta = row.get("metadata") or {}
                inc = meta.get("incumbent") or {}
                if not isinstance(inc, dict):
                    raise TypeError("metadata.incumbent must be an object")
            except (ValueError, KeyError, TypeError, AttributeError) as exc:
                raise AdviseError(f"invalid test example: {exc}", file=str(path), line=i, field="messages",
                                  hint="test files come from `advise dataset` (messages + original_messages)") from exc
            # an older test file has no incumbent block: its logged answers passed the filters and were the reference
            ref = inc.get("reference") if inc else logged
            out.append(HeldOutExample(
                id=str(meta.get("id", i)), short_messages=prompt, full_messages=full_prompt, incumbent_output=logged,
                reference=ref, cluster=meta.get("cluster"), incumbent_ok=bool(inc.get("ok", True)),
                incumbent_reason=inc.get("reason"), incumbent_truncated=inc.get("finish_reason") == "length",
                incumbent_model=str(inc.get("model") or "production"), meta=meta))
            if limit and len(out) >= limit:
                break
    if not out:
        raise AdviseError("test file holds no examples", file=str(path))
    return out


# ---------------------------------------------------------------- scoring

Checker = Callable[[str], list[str]]  # output text → names of failed checks


def task_kind(examples: Sequence[HeldOutExample], json_expected: bool) -> TaskKind:
    """json when JSON is expected; labels when the references are a few short class names; else text."""
    if json_expected:
        return "json"
    refs = [em.normalise(e.reference) for e in examples if e.reference]
    if refs and all(len(r.split()) <= 3 for r in refs) and len(set(refs)) <= max(2, len(refs) // 3):
        return "labels"
    return "text"


def generation_budget(output_lengths: Sequence[int], cap: int = 1024) -> tuple[int, int]:
    """(max_new_tokens, p99): the production answers' p99 length plus a margin of 25% (at least 16 tokens),
    so a correct answer of production length is never cut."""
    if not output_lengths:
        return 256, 0
    xs = sorted(output_lengths)
    p99 = xs[min(len(xs) - 1, math.ceil(0.99 * len(xs)) - 1)]
    return min(cap, p99 + max(16, math.ceil(0.25 * p99))), p99


def _primary_score(r: ExampleResult, kind: TaskKind) -> float | None:
    if not r.has_reference:
        return None
    if kind == "json":
        return r.field_f1 if r.field_f1 is not None else 0.0
    if kind == "labels":
        return 1.0 if r.normalised else 0.0
    return r.chrf


SCORE_NAME = {"json": "field F1", "labels": "label accuracy", "text": "chrF"}


def score_variant(name: str, model: str, adapter: str | None, prompt: str, examples: Sequence[HeldOutExample],
                  outputs: Sequence[str], prompt_tokens: Sequence[int] | None, output_tokens: Sequence[int],
                  latencies_ms: Sequence[float] | None, checker: Checker | None, json_expected: bool,
                  check_names: Sequence[str] = (), truncated: Sequence[bool] | None = None,
                  kind: TaskKind | None = None, source: str = "generated here (greedy)") -> VariantResult:
    """Pure: one arm's outputs (+ which hit the token limit) and the references → every metric of that arm."""
    kind = kind or task_kind(examples, json_expected)
    truncated = truncated or [False] * len(outputs)
    rows: list[ExampleResult] = []
    field_pairs: list[tuple[Any, Any]] = []
    json_ok: list[bool] = []
    json_exact: list[bool] = []
    chrfs: list[float] = []
    label_pred: list[str] = []
    label_gold: list[str] = []
    check_fail_counts = {c: 0 for c in check_names}
    cluster_totals: dict[str, list[int]] = {}
    untruncated = untruncated_pass = 0
    for i, (ex, out, ot, cut) in enumerate(zip(examples, outputs, output_tokens, truncated, strict=True)):
        has_ref = ex.reference is not None
        jv = f1 = ch = None
        exact = norm = None
        if cut:  # the limit cut it: no format verdict, reported apart
            failed = [TRUNCATED if source.startswith("generated") else TRUNCATED_LOGGED]
        else:
            failed = checker(out) if checker else []
            if json_expected:
                parsed = em.parse_json(out)
                jv = parsed is not None
                if not jv and "json:invalid" not in failed and not any(f.startswith("format:") for f in failed):
                    failed = [*failed, "json:invalid"]
            for c in failed:
                if c in check_fail_counts:
                    check_fail_counts[c] += 1
        if has_ref:
            ref = ex.reference or ""
            exact, norm = em.exact_match(out, ref), em.normalised_match(out, ref)
            if kind == "json":
                pj, rj = em.parse_json(out), em.parse_json(ref)
                jv = pj is not None
                if rj is not None:
                    fs = em.field_scores(pj if pj is not None else {}, rj)
                    f1 = fs.f1
                    field_pairs.append((pj, rj))
                    json_exact.append(em.exact_json_match(pj, rj))
                json_ok.append(jv)
            elif kind == "labels":
                label_pred.append(out)
                label_gold.append(ref)
            else:
                ch = em.chrf(out, ref)
                chrfs.append(ch)
        passed = (not failed and bool(out.strip())) if (checker or json_expected) else bool(norm)
        if not cut:
            untruncated += 1
            untruncated_pass += int(passed)
        if ex.cluster:
            t = cluster_totals.setdefault(ex.cluster, [0, 0])
            t[0] += int(passed)
            t[1] += 1
        rows.append(ExampleResult(
            id=ex.id, cluster=ex.cluster, passed=passed, truncated=bool(cut), failed_checks=failed, has_reference=has_ref,
            exact=exact, normalised=norm, chrf=None if ch is None else round(ch, 4), json_valid=jv,
            field_f1=None if f1 is None else round(f1, 4),
            prompt_tokens=prompt_tokens[i] if prompt_tokens is not None else None, output_tokens=ot,
            latency_ms=round(latencies_ms[i], 2) if latencies_ms is not None else None, output=out))
    n = len(rows)
    k = sum(r.passed for r in rows)
    refs = [r for r in rows if r.has_reference]
    fs = em.micro_field_scores(field_pairs) if field_pairs else None
    acc = mf1 = None
    if label_gold:
        acc, mf1 = em.label_scores(label_pred, label_gold)
    lat = sorted(latencies_ms) if latencies_ms else None
    return VariantResult(
        name=name, model=model, adapter=adapter, prompt=prompt, source=source, n=n,
        pass_rate=k / n, pass_rate_ci=em.clopper_pearson(k, n), passes=k, truncated=sum(r.truncated for r in rows),
        pass_rate_untruncated=untruncated_pass / untruncated if untruncated else None,
        n_reference=len(refs),
        exact_match=sum(bool(r.exact) for r in refs) / len(refs) if refs else None,
        normalised_match=sum(bool(r.normalised) for r in refs) / len(refs) if refs else None,
        chrf=statistics.fmean(chrfs) if chrfs else None,
        json_valid=(sum(json_ok) / len(json_ok) if json_ok else
                    sum(bool(r.json_valid) for r in rows) / n) if json_expected else None,
        json_exact=sum(json_exact) / len(json_exact) if json_exact else None,
        field_precision=fs.precision if fs else None, field_recall=fs.recall if fs else None,
        field_f1=fs.f1 if fs else None, label_accuracy=acc, label_macro_f1=mf1,
        check_pass_rates={c: 1 - f / untruncated if untruncated else math.nan for c, f in check_fail_counts.items()},
        cluster_pass_rates={c: rate(p, t) for c, (p, t) in sorted(cluster_totals.items())},
        prompt_tokens_mean=statistics.fmean(prompt_tokens) if prompt_tokens else None,
        output_tokens_mean=statistics.fmean(output_tokens) if output_tokens else 0.0,
        latency_ms_mean=statistics.fmean(lat) if lat else None, latency_ms_p50=statistics.median(lat) if lat else None,
        latency_ms_p95=lat[min(n - 1, int(round(0.95 * (n - 1))))] if lat else None,
        examples=rows,
    )


def compare(against: VariantResult, candidate: VariantResult, kind: TaskKind = "text") -> Comparison:
    """Paired comparison on the same examples: McNemar on pass/fail, paired bootstrap on the reference score."""
    a = [r.passed for r in against.examples]
    b = [r.passed for r in candidate.examples]
    mc = em.mcnemar(a, b)
    _, (lo, hi), _ = em.paired_bootstrap([float(x) for x in a], [float(x) for x in b])
    pairs = [(_primary_score(x, kind), _primary_score(y, kind)) for x, y in
             zip(against.examples, candidate.examples, strict=True)]
    pairs = [(x, y) for x, y in pairs if x is not None and y is not None]
    out = Comparison(
        candidate=candidate.name, against=against.name, wins=mc.c, losses=mc.b,
        ties_pass=sum(1 for x, y in zip(a, b, strict=True) if x and y),
        ties_fail=sum(1 for x, y in zip(a, b, strict=True) if not x and not y),
        p_value=mc.p_value, method=mc.method, pass_rate_diff=candidate.pass_rate - against.pass_rate,
        pass_rate_diff_ci=(lo, hi), significant_at_0_05=mc.p_value < 0.05)
    if pairs:
        d, ci, p = em.paired_bootstrap([x for x, _ in pairs], [y for _, y in pairs])
        out.score, out.score_n, out.score_diff, out.score_diff_ci, out.score_p_value = (
            SCORE_NAME[kind], len(pairs), d, ci, p)
        out.score_wins = sum(1 for x, y in pairs if y > x + 1e-9)
        out.score_losses = sum(1 for x, y in pairs if x > y + 1e-9)
        out.score_ties = len(pairs) - out.score_wins - out.score_losses
    return out


def incumbent_record(examples: Sequence[HeldOutExample], logs_failures: int | None = None,
                     logs_requests: int | None = None) -> IncumbentRecord:
    """The logged failure rate on the test split, and (given the analysis' counts) over all logs."""
    k = sum(1 for e in examples if not e.incumbent_ok)
    reasons: dict[str, int] = {}
    for e in examples:
        if not e.incumbent_ok:
            reasons[e.incumbent_reason or "failed"] = reasons.get(e.incumbent_reason or "failed", 0) + 1
    rec = IncumbentRecord(test=rate(k, len(examples)), by_reason=dict(sorted(reasons.items(), key=lambda x: -x[1])))
    if logs_requests:
        logs = rate(int(logs_failures or 0), int(logs_requests))
        rec.logs = logs
        rec.test_within_logs_ci = logs.ci[0] <= rec.test.rate <= logs.ci[1]
        rec.logs_within_test_ci = rec.test.ci[0] <= logs.rate <= rec.test.ci[1]
    return rec


def fix_rates(examples: Sequence[HeldOutExample], incumbent: VariantResult,
              candidate: VariantResult) -> tuple[dict[str, FixRate], Rate]:
    """Per cluster of the incumbent's logged failures: the share the candidate fixes; and the share of the
    incumbent's logged passes the candidate breaks.

    A failure the checks see is fixed when the candidate passes every check. A failure only a label saw
    (the incumbent passed the checks) is fixed when the candidate's answer is closer to the reviewer's
    reference than the incumbent's was; without a reference it cannot be judged and is left out.
    """
    per: dict[str, list[int]] = {}
    how: dict[str, set[str]] = {}
    broken = kept = 0
    for ex, inc, cand in zip(examples, incumbent.examples, candidate.examples, strict=True):
        if ex.incumbent_ok:
            kept += 1
            broken += int(not cand.passed)
            continue
        key = ex.cluster or ex.incumbent_reason or "failed"
        if not inc.passed or inc.truncated:
            fixed, judged = cand.passed, "checks"
        elif ex.reference is not None and inc.chrf is not None and cand.chrf is not None:
            fixed, judged = cand.passed and cand.chrf > inc.chrf, "reference"
        elif ex.reference is not None and inc.field_f1 is not None and cand.field_f1 is not None:
            fixed, judged = cand.passed and cand.field_f1 > inc.field_f1, "reference"
        else:
            continue
        t = per.setdefault(key, [0, 0])
        t[0] += int(fixed)
        t[1] += 1
        how.setdefault(key, set()).add(judged)
    from trainer.evaluation.measured import kind_of

    out = {}
    for key, (f, n) in sorted(per.items(), key=lambda kv: -kv[1][1]):
        out[key] = FixRate(incumbent_failed=n, fixed=f, rate=f / n, ci=em.clopper_pearson(f, n),
                           judged_by=" + ".join(sorted(how[key])), kind=kind_of(key))
    return out, rate(broken, kept)


def forgetting_verdict(gb: float, ga: float, ib: float, ia: float) -> Forgetting:
    import math

    worst = max((ga - gb) / gb * 100 if gb else 0.0, (ia - ib) / ib * 100 if ib else 0.0)
    warn = None
    if worst > FORGETTING_WARN_PCT:
        warn = (f"general loss rose {worst:.1f}% (> {FORGETTING_WARN_PCT:.0f}%): the adapter may have forgotten "
                "general skills; lower the learning rate/epochs or mix general data into training")
    return Forgetting(general_loss_base=gb, general_loss_adapter=ga, instruction_loss_base=ib,
                      instruction_loss_adapter=ia, general_ppl_base=math.exp(gb), general_ppl_adapter=math.exp(ga),
                      worst_increase_pct=worst, warning=warn)


def now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    t0 = time.perf_counter()
    res = fn()
    return res, (time.perf_counter() - t0) * 1000


# ---------------------------------------------------------------- checks from advise.toml

def make_checker(config_path: Path | None) -> tuple[Checker | None, list[str], bool, str]:
    """The failure analysis' checks (user rules + automatic ones) as `text → failed signatures`.

    Returns (checker, user check signatures, json expected, human-readable source).
    """
    from advisor.failures.checks import check_record
    from advisor.failures.config import from_advise_config
    from advisor.kernel.config import load_config
    from advisor.kernel.record import FinishReason, Record, SourceRef

    cfg = load_config(config_path)
    fcfg = from_advise_config(cfg)
    if not fcfg.checks and not fcfg.wants_json:
        return None, [], False, "none (pass = normalised match with the reference)"
    stamp = datetime(2000, 1, 1, tzinfo=UTC)

    def checker(text: str) -> list[str]:
        rec = Record(id="eval", source_format="eval", source=SourceRef(file="eval", line=1), timestamp=stamp,
                     model="eval", output=text, finish_reason=FinishReason.stop)
        return [f.signature for f in check_record(rec, fcfg)]

    names = [c.signature for c in fcfg.checks]
    return checker, names, fcfg.wants_json, f"{config_path} ({len(names)} user checks + automatic checks)"


# ---------------------------------------------------------------- model-driven part

def _prompt_tokens(tokenizer, conversations: list[list[dict]]) -> list[int]:
    return [len(tokenizer(tokenizer.apply_chat_template(c, tokenize=False, add_generation_prompt=True),
                          add_special_tokens=False)["input_ids"]) for c in conversations]


def _generate_timed(model, tokenizer, conversations: list[list[dict]], max_new_tokens: int, batch_size: int,
                    on_batch: Callable[[int], None] | None = None) -> tuple[list[Any], list[float], list[int]]:
    """Greedy outputs (text, tokens, truncated), per-request latency (batch wall time shared by its requests,
    on this device) and prompt tokens per request."""
    from trainer.evaluation.generate import generate_outputs

    lengths = _prompt_tokens(tokenizer, conversations)
    order = sorted(range(len(conversations)), key=lambda i: lengths[i])
    outputs: list[Any] = [None] * len(conversations)
    lat: list[float] = [0.0] * len(conversations)
    for start in range(0, len(order), batch_size):
        idx = order[start:start + batch_size]
        res, ms = timed(lambda idx=idx: generate_outputs(model, tokenizer, [conversations[i] for i in idx],
                                                         max_new_tokens=max_new_tokens, batch_size=len(idx)))
        for i, g in zip(idx, res, strict=True):
            outputs[i] = g
            lat[i] = ms / len(idx)
        if on_batch:
            on_batch(len(idx))
    return outputs, lat, lengths


def production_output_lengths(tokenizer, test_examples: Sequence[HeldOutExample], train_path: Path | None,
                              limit: int = 2000) -> list[int]:
    """Token lengths (this model's tokenizer) of production answers that were not cut off: the training
    targets beside the test file plus the test split's logged answers."""
    texts = [e.incumbent_output for e in test_examples if not e.incumbent_truncated and e.incumbent_output]
    if train_path is not None and train_path.is_file():
        with open(train_path, encoding="utf-8") as fh:
            for line in fh:
                if len(texts) >= limit:
                    break
                try:
                    msgs = json.loads(line).get("messages") or []
                except ValueError:
                    continue
                if msgs and msgs[-1].get("role") == "assistant" and msgs[-1].get("content"):
                    texts.append(str(msgs[-1]["content"]))
    return [len(tokenizer(t, add_special_tokens=False)["input_ids"]) for t in texts]


def _mean_loss(model, tokenizer, rows: list[dict], max_len: int = 512) -> float:
    """Mean next-token loss on assistant tokens (chat rows) or all tokens (plain text rows)."""
    import torch

    from trainer.training.batches import tokenize_row

    losses = []
    with torch.inference_mode():
        for row in rows:
            if "text" in row:
                ids = tokenizer(row["text"], add_special_tokens=False)["input_ids"][:max_len]
                labels = list(ids)
            else:
                ex = tokenize_row(tokenizer, row, max_len)
                ids, labels = ex.input_ids, ex.labels
            t = torch.tensor([ids], device=next(model.parameters()).device)
            lab = torch.tensor([labels], device=t.device)
            losses.append(float(model(input_ids=t, labels=lab).loss))
    return statistics.fmean(losses)


def base_weights(model, run: Any) -> AbstractContextManager[Any]:
    """The base model of a run, as a context: the adapter switched off (LoRA, same loaded weights), or the
    base loaded beside the fully fine-tuned model (`--method full`) and released after."""
    @contextmanager
    def adapter_off() -> Iterator[Any]:
        with model.disable_adapter():  # peft's context yields nothing: the model itself is the base now
            yield model

    if getattr(run, "method", "lora") != "full":
        return adapter_off()

    @contextmanager
    def loaded() -> Iterator[Any]:
        from trainer.evaluation.generate import base_spec_from_run
        from trainer.training.models import load_base

        base, _, _ = load_base(base_spec_from_run(run.base), device=str(next(model.parameters()).device))
        try:
            yield base
        finally:
            del base

    return loaded()


def forgetting_probe(model, tokenizer, run: Any = None) -> Forgetting:
    """Loss on the shipped general text and instructions, base vs fine-tuned (adapter off vs on)."""
    probe = Path(__file__).parent / "probe"
    general = [{"text": p} for p in (probe / "general.txt").read_text(encoding="utf-8").split("\n") if p.strip()]
    instr = [json.loads(line) for line in (probe / "instructions.jsonl").read_text(encoding="utf-8").splitlines()
             if line.strip()]
    with base_weights(model, run) as base:
        gb, ib = _mean_loss(base, tokenizer, general), _mean_loss(base, tokenizer, instr)
    ga, ia = _mean_loss(model, tokenizer, general), _mean_loss(model, tokenizer, instr)
    return forgetting_verdict(gb, ga, ib, ia)


def run_evaluation(run_dir: Path, test_path: Path, *, checks: Path | None = None, baseline: str = "base",
                   limit: int | None = None, max_new_tokens: int | None = None, batch_size: int = 32,
                   probe: bool = True, quiet: bool = False, logs_failures: int | None = None,
                   logs_requests: int | None = None) -> Evaluation:
    """Score the incumbent's logged answers and generate with the base model (full prompt) and the adapter
    (short prompt) on the same test examples, one decoding setup for both."""
    from advisor.kernel.io import sha256_file
    from advisor.kernel.progress import progress_bar
    from trainer.evaluation.generate import load_adapter

    every = load_test_examples(test_path)  # the incumbent's logged verdict is free on the whole split
    examples = every[:limit] if limit else every
    checker, check_names, json_expected, checks_source = make_checker(checks)
    kind = task_kind(examples, json_expected)
    model, tok, run = load_adapter(run_dir, merge=False)
    base_id = run.base.get("id", "base")
    lengths = production_output_lengths(tok, examples, Path(test_path).with_name("train.jsonl"))
    budget, p99 = generation_budget(lengths)
    budget_source = (f"p99 of {len(lengths)} production answers = {p99} tokens, + 25% (≥ 16)"
                     if max_new_tokens is None else "--max-new-tokens")
    max_new_tokens = max_new_tokens or budget
    n = len(examples)
    with progress_bar(quiet) as bar:
        task = bar.add_task("evaluating base model + candidate", total=2 * n)
        step = lambda k: bar.advance(task, k)  # noqa: E731
        base_convs = [ex.full_messages for ex in examples]
        if baseline == "base":
            with base_weights(model, run) as base:
                base_gen, base_lat, base_pt = _generate_timed(base, tok, base_convs, max_new_tokens, batch_size,
                                                              step)
            base_name, base_tok = base_id, tok
        else:
            from trainer.training.models import load_base

            other, other_tok, info = load_base(baseline)
            base_gen, base_lat, base_pt = _generate_timed(other, other_tok, base_convs, max_new_tokens, batch_size,
                                                          step)
            base_name, base_tok = info.id, other_tok
        ft_convs = [ex.short_messages for ex in examples]
        ft_gen, ft_lat, ft_pt = _generate_timed(model, tok, ft_convs, max_new_tokens, batch_size, step)
    inc_out = [ex.incumbent_output for ex in examples]
    inc_model = examples[0].incumbent_model
    incumbent = score_variant("incumbent", inc_model, None, "full original prompt", examples, inc_out, base_pt,
                              [len(tok(o, add_special_tokens=False)["input_ids"]) for o in inc_out], None, checker,
                              json_expected, check_names, truncated=[ex.incumbent_truncated for ex in examples],
                              kind=kind, source="logged production output")
    base_res = score_variant("base", base_name, None, "full original prompt", examples, [g.text for g in base_gen],
                             base_pt, [g.tokens for g in base_gen], base_lat, checker, json_expected, check_names,
                             truncated=[g.truncated for g in base_gen], kind=kind)
    ft_res = score_variant("candidate", base_id, str(run_dir), "short prompt", examples, [g.text for g in ft_gen],
                           ft_pt, [g.tokens for g in ft_gen], ft_lat, checker, json_expected, check_names,
                           truncated=[g.truncated for g in ft_gen], kind=kind)
    del base_tok
    forgetting = forgetting_probe(model, tok, run) if probe else None
    fixes, broken = fix_rates(examples, incumbent, ft_res)
    return Evaluation(
        generated_at=now(), run_dir=str(run_dir), test_file=str(test_path), test_sha256=sha256_file(test_path),
        device=str(next(model.parameters()).device), model_measured=base_id, checks_source=checks_source,
        pass_definition=("passes every configured check, is non-empty and was not cut by the token limit"
                         if checker or json_expected else "normalised match with the reference"),
        task_kind=kind,
        decoding={"strategy": "greedy", "max_new_tokens": max_new_tokens, "source": budget_source,
                  "same_for": ["base", "candidate"]},
        n_examples=n, incumbent=incumbent, finetuned=ft_res, baseline=base_res,
        significance=compare(incumbent, ft_res, kind), vs_base=compare(base_res, ft_res, kind),
        incumbent_logged=incumbent_record(every, logs_failures, logs_requests),
        fix_rates=fixes, broken=broken,
        prompt_token_reduction=1 - ft_res.prompt_tokens_mean / base_res.prompt_tokens_mean
        if base_res.prompt_tokens_mean else 0.0,
        forgetting=forgetting,
    )


def load_evaluation(path: str | Path) -> Evaluation:
    p = Path(path)
    try:
        raw = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise AdviseError(f"not a readable eval.json: {exc}", file=str(p), hint="write it with `advise evaluate`") from exc
    if raw.get("schema_version") != EVAL_SCHEMA_VERSION:
        raise AdviseError(f"eval.json schema_version {raw.get('schema_version')} is not {EVAL_SCHEMA_VERSION}",
                          file=str(p), field="schema_version", hint="re-run `advise evaluate` with this version")
    return Evaluation.model_validate(raw)
