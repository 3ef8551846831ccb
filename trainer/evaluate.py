"""Baseline vs fine-tuned on the same held-out examples → `eval.json`.

The baseline is the base (or a named) model with the **full original prompt** (style guide,
few-shot) that production uses today; the candidate is the adapter with the **short prompt**.
Both decode greedily on the same examples, so the pass/fail pairs feed a McNemar test.
Generation lives in :mod:`trainer.generate`; the scoring here is pure (:mod:`trainer.eval_metrics`).
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from advisor import __version__
from advisor.errors import AdviseError
from trainer import eval_metrics as em

EVAL_SCHEMA_VERSION = 1
FORGETTING_WARN_PCT = 10.0  # documented: general-text loss up >10% vs base → warn about forgetting


# ---------------------------------------------------------------- contract (eval.json)

class ExampleResult(BaseModel):
    id: str
    passed: bool
    exact: bool
    normalised: bool
    json_valid: bool | None = None
    failed_checks: list[str] = Field(default_factory=list)
    prompt_tokens: int
    output_tokens: int
    latency_ms: float
    output: str


class VariantResult(BaseModel):
    name: str  # "baseline" | "fine-tuned"
    model: str
    adapter: str | None = None
    prompt: str  # "full original prompt" | "short prompt"
    n: int
    pass_rate: float
    pass_rate_ci: tuple[float, float]
    exact_match: float
    normalised_match: float
    json_valid: float | None = None
    field_precision: float | None = None
    field_recall: float | None = None
    field_f1: float | None = None
    check_pass_rates: dict[str, float] = Field(default_factory=dict)
    cluster_pass_rates: dict[str, float] = Field(default_factory=dict)
    prompt_tokens_mean: float
    output_tokens_mean: float
    latency_ms_mean: float
    latency_ms_p50: float
    latency_ms_p95: float
    examples: list[ExampleResult]


class Significance(BaseModel):
    test: str = "McNemar (paired, two-sided)"
    baseline_only_passed: int
    finetuned_only_passed: int
    p_value: float
    method: str
    pass_rate_diff: float
    pass_rate_diff_ci: tuple[float, float]
    significant_at_0_05: bool


class Forgetting(BaseModel):
    general_loss_base: float
    general_loss_adapter: float
    instruction_loss_base: float
    instruction_loss_adapter: float
    general_ppl_base: float
    general_ppl_adapter: float
    worst_increase_pct: float
    threshold_pct: float = FORGETTING_WARN_PCT
    warning: str | None = None


class Evaluation(BaseModel):
    schema_version: int = EVAL_SCHEMA_VERSION
    advise_version: str = __version__
    generated_at: datetime
    run_dir: str
    test_file: str
    test_sha256: str
    device: str
    checks_source: str
    pass_definition: str
    n_examples: int
    baseline: VariantResult
    finetuned: VariantResult
    significance: Significance
    prompt_token_reduction: float  # 1 − finetuned/baseline prompt tokens per request
    forgetting: Forgetting | None = None
    measured_roi: dict[str, Any] | None = None


# ---------------------------------------------------------------- test data

@dataclass
class HeldOutExample:
    id: str
    short_messages: list[dict]  # system (short) + user turns, no assistant target
    full_messages: list[dict]  # original production prompt
    reference: str
    cluster: str | None = None
    meta: dict = field(default_factory=dict)


def _split_target(messages: list[dict]) -> tuple[list[dict], str]:
    if not messages or messages[-1].get("role") != "assistant":
        raise ValueError("last message must be the assistant target")
    return messages[:-1], str(messages[-1].get("content") or "")


def load_test_examples(path: Path, limit: int | None = None) -> list[HeldOutExample]:
    """Read test.jsonl: `messages` (short prompt + target) and `original_messages` (full prompt)."""
    out: list[HeldOutExample] = []
    with open(path, encoding="utf-8") as fh:
        for i, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                prompt, ref = _split_target(row["messages"])
                full = row.get("original_messages") or row["messages"]
                full_prompt = full[:-1] if full and full[-1].get("role") == "assistant" else full
            except (ValueError, KeyError, TypeError, AttributeError) as exc:
                raise AdviseError(f"invalid test example: {exc}", file=str(path), line=i, field="messages",
                                  hint="test files come from `advise dataset` (messages + original_messages)") from exc
            meta = row.get("metadata") or {}
            out.append(HeldOutExample(id=str(meta.get("id", i)), short_messages=prompt, full_messages=full_prompt,
                                   reference=ref, cluster=meta.get("cluster"), meta=meta))
            if limit and len(out) >= limit:
                break
    if not out:
        raise AdviseError("test file holds no examples", file=str(path))
    return out


# ---------------------------------------------------------------- scoring

Checker = Callable[[str], list[str]]  # output text → names of failed checks


def score_variant(name: str, model: str, adapter: str | None, prompt: str, examples: Sequence[HeldOutExample],
                  outputs: Sequence[str], prompt_tokens: Sequence[int], output_tokens: Sequence[int],
                  latencies_ms: Sequence[float], checker: Checker | None, json_expected: bool,
                  check_names: Sequence[str] = ()) -> VariantResult:
    """Pure: generated outputs + references → every metric of one variant."""
    rows: list[ExampleResult] = []
    field_pairs = []
    check_fail_counts = {c: 0 for c in check_names}
    cluster_totals: dict[str, list[int]] = {}
    for ex, out, pt, ot, lat in zip(examples, outputs, prompt_tokens, output_tokens, latencies_ms, strict=True):
        failed = checker(out) if checker else []
        jv = None
        if json_expected:
            parsed = em.parse_json(out)
            jv = parsed is not None
            field_pairs.append((parsed, em.parse_json(ex.reference)))
            if not jv:
                failed = [*failed, "json:invalid"]
        norm = em.normalised_match(out, ex.reference)
        # Pass = every format/style check holds (and the output is non-empty); without checks, a normalised match.
        passed = (not failed and bool(out.strip())) if (checker or json_expected) else norm
        for c in failed:
            if c in check_fail_counts:
                check_fail_counts[c] += 1
        if ex.cluster:
            cluster_totals.setdefault(ex.cluster, [0, 0])
            cluster_totals[ex.cluster][0] += int(passed)
            cluster_totals[ex.cluster][1] += 1
        rows.append(ExampleResult(id=ex.id, passed=passed, exact=em.exact_match(out, ex.reference), normalised=norm,
                                  json_valid=jv, failed_checks=failed, prompt_tokens=pt, output_tokens=ot,
                                  latency_ms=round(lat, 2), output=out))
    n = len(rows)
    passes = [1.0 if r.passed else 0.0 for r in rows]
    fs = em.micro_field_scores([p for p in field_pairs if p[1] is not None]) if field_pairs else None
    lat_sorted = sorted(latencies_ms)
    return VariantResult(
        name=name, model=model, adapter=adapter, prompt=prompt, n=n,
        pass_rate=sum(passes) / n, pass_rate_ci=em.bootstrap_ci(passes),
        exact_match=sum(r.exact for r in rows) / n, normalised_match=sum(r.normalised for r in rows) / n,
        json_valid=(sum(bool(r.json_valid) for r in rows) / n) if json_expected else None,
        field_precision=fs.precision if fs else None, field_recall=fs.recall if fs else None,
        field_f1=fs.f1 if fs else None,
        check_pass_rates={c: 1 - k / n for c, k in check_fail_counts.items()},
        cluster_pass_rates={c: p / t for c, (p, t) in cluster_totals.items()},
        prompt_tokens_mean=statistics.fmean(prompt_tokens), output_tokens_mean=statistics.fmean(output_tokens),
        latency_ms_mean=statistics.fmean(latencies_ms), latency_ms_p50=statistics.median(latencies_ms),
        latency_ms_p95=lat_sorted[min(n - 1, int(round(0.95 * (n - 1))))],
        examples=rows,
    )


def compare(baseline: VariantResult, finetuned: VariantResult) -> Significance:
    a = [r.passed for r in baseline.examples]
    b = [r.passed for r in finetuned.examples]
    mc = em.mcnemar(a, b)
    lo, hi = em.paired_diff_ci([float(x) for x in a], [float(x) for x in b])
    return Significance(baseline_only_passed=mc.b, finetuned_only_passed=mc.c, p_value=mc.p_value,
                        method=mc.method, pass_rate_diff=finetuned.pass_rate - baseline.pass_rate,
                        pass_rate_diff_ci=(lo, hi), significant_at_0_05=mc.p_value < 0.05)


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
    from advisor.config import load_config
    from advisor.failures.checks import check_record
    from advisor.failures.config import from_advise_config
    from advisor.models import Record, SourceRef

    cfg = load_config(config_path)
    fcfg = from_advise_config(cfg)
    if not fcfg.checks and not fcfg.wants_json:
        return None, [], False, "none (pass = normalised match with the reference)"
    stamp = datetime(2000, 1, 1, tzinfo=UTC)

    def checker(text: str) -> list[str]:
        rec = Record(id="eval", source_format="eval", source=SourceRef(file="eval", line=1), timestamp=stamp,
                     model="eval", output=text, finish_reason="stop")
        return [f.signature for f in check_record(rec, fcfg)]

    names = [c.signature for c in fcfg.checks]
    return checker, names, fcfg.wants_json, f"{config_path} ({len(names)} user checks + automatic checks)"


# ---------------------------------------------------------------- model-driven part

def _prompt_tokens(tokenizer, conversations: list[list[dict]]) -> list[int]:
    return [len(tokenizer(tokenizer.apply_chat_template(c, tokenize=False, add_generation_prompt=True),
                          add_special_tokens=False)["input_ids"]) for c in conversations]


def _generate_timed(model, tokenizer, conversations: list[list[dict]], max_new_tokens: int, batch_size: int,
                    on_batch: Callable[[int], None] | None = None) -> tuple[list[str], list[float], list[int]]:
    """Greedy outputs, per-request latency (batch wall time shared by its requests, on this device) and
    prompt tokens per request."""
    from trainer.generate import generate_batch

    lengths = _prompt_tokens(tokenizer, conversations)
    order = sorted(range(len(conversations)), key=lambda i: lengths[i])
    outputs: list[str] = [""] * len(conversations)
    lat: list[float] = [0.0] * len(conversations)
    for start in range(0, len(order), batch_size):
        idx = order[start:start + batch_size]
        res, ms = timed(lambda idx=idx: generate_batch(model, tokenizer, [conversations[i] for i in idx],
                                                       max_new_tokens=max_new_tokens, batch_size=len(idx)))
        for i, text in zip(idx, res, strict=True):
            outputs[i] = text
            lat[i] = ms / len(idx)
        if on_batch:
            on_batch(len(idx))
    return outputs, lat, lengths


def _mean_loss(model, tokenizer, rows: list[dict], max_len: int = 512) -> float:
    """Mean next-token loss on assistant tokens (chat rows) or all tokens (plain text rows)."""
    import torch

    from trainer.data import tokenize_row

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


def forgetting_probe(model, tokenizer) -> Forgetting:
    """Loss on the shipped general text and instructions, adapter off vs on (same loaded weights)."""
    probe = Path(__file__).parent / "probe"
    general = [{"text": p} for p in (probe / "general.txt").read_text(encoding="utf-8").split("\n") if p.strip()]
    instr = [json.loads(line) for line in (probe / "instructions.jsonl").read_text(encoding="utf-8").splitlines()
             if line.strip()]
    with model.disable_adapter():
        gb, ib = _mean_loss(model, tokenizer, general), _mean_loss(model, tokenizer, instr)
    ga, ia = _mean_loss(model, tokenizer, general), _mean_loss(model, tokenizer, instr)
    return forgetting_verdict(gb, ga, ib, ia)


def run_evaluation(run_dir: Path, test_path: Path, *, checks: Path | None = None, baseline: str = "base",
                   limit: int | None = None, max_new_tokens: int | None = None, batch_size: int = 32,
                   probe: bool = True, quiet: bool = False) -> Evaluation:
    """Generate with baseline (full prompt) and adapter (short prompt) on the same examples and score both."""
    from advisor.io import sha256_file
    from advisor.progress import progress_bar
    from trainer.generate import load_adapter

    examples = load_test_examples(test_path, limit)
    checker, check_names, json_expected, checks_source = make_checker(checks)
    model, tok, run = load_adapter(run_dir, merge=False)
    base_id = run.base.get("id", "base")
    if max_new_tokens is None:  # room for the longest reference and then some: rambling fails the checks anyway
        longest = max(len(tok(ex.reference, add_special_tokens=False)["input_ids"]) for ex in examples)
        max_new_tokens = min(512, int(longest * 1.25) + 8)
    n = len(examples)
    with progress_bar(quiet) as bar:
        task = bar.add_task("evaluating baseline + fine-tuned", total=2 * n)
        step = lambda k: bar.advance(task, k)  # noqa: E731
        base_convs = [ex.full_messages for ex in examples]
        if baseline == "base":
            with model.disable_adapter():
                base_out, base_lat, base_pt = _generate_timed(model, tok, base_convs, max_new_tokens, batch_size,
                                                              step)
            base_name, base_tok = base_id, tok
        else:
            from trainer.models import load_base

            other, other_tok, info = load_base(baseline)
            base_out, base_lat, base_pt = _generate_timed(other, other_tok, base_convs, max_new_tokens, batch_size,
                                                          step)
            base_name, base_tok = info.id, other_tok
        ft_convs = [ex.short_messages for ex in examples]
        ft_out, ft_lat, ft_pt = _generate_timed(model, tok, ft_convs, max_new_tokens, batch_size, step)
    base_res = score_variant("baseline", base_name, None, "full original prompt", examples, base_out, base_pt,
                             [len(base_tok(o, add_special_tokens=False)["input_ids"]) for o in base_out],
                             base_lat, checker, json_expected, check_names)
    ft_res = score_variant("fine-tuned", base_id, str(run_dir), "short prompt", examples, ft_out, ft_pt,
                           [len(tok(o, add_special_tokens=False)["input_ids"]) for o in ft_out],
                           ft_lat, checker, json_expected, check_names)
    forgetting = forgetting_probe(model, tok) if probe else None
    return Evaluation(
        generated_at=now(), run_dir=str(run_dir), test_file=str(test_path), test_sha256=sha256_file(test_path),
        device=str(next(model.parameters()).device), checks_source=checks_source,
        pass_definition=("passes every configured format/style check and is non-empty" if checker or json_expected
                         else "normalised match with the reference"),
        n_examples=n, baseline=base_res, finetuned=ft_res, significance=compare(base_res, ft_res),
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
