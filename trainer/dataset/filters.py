"""Which logged calls are good enough to train on: labels beat checks, checks beat heuristics.

A fine-tune copies its targets, failures included, so only outputs we have reason to trust are
kept. Evidence is consulted strongest first and the first source with an opinion decides:

1. hard drops — the call errored or produced nothing (no target to learn from);
2. distillation — with ``teacher_model`` only that model's outputs are targets;
3. labels — a labels file (``{"id","ok","category",…}``) or ``ok`` feedback in the log;
4. checks — :func:`advisor.failures.checks.check_record` with the ``[failures]`` user checks
   (a built-in implementation of the documented check schema is used until that module lands);
5. heuristics — truncation (``finish_reason == length``), content filter, refusals.

``min_quality`` then asks for positive evidence: ``heuristic`` keeps anything not shown bad,
``checked`` needs a passed label or at least one passed check, ``labelled`` needs an ``ok`` label.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from advisor.kernel.record import FinishReason, Record

MinQuality = Literal["heuristic", "checked", "labelled"]

REFUSAL_PATTERNS = re.compile(
    r"^\s*(?:i'?m sorry,? but |sorry,? |unfortunately,? )?i (?:can(?:'|no)?t|cannot|am unable to|won'?t|"
    r"am not able to) (?:help|assist|comply|provide|do that|fulfil|fulfill|answer)",
    re.IGNORECASE,
)

# reason names used in dataset.json's `filters` (stable: documented there)
ERROR = "error"
EMPTY = "empty_output"
NOT_TEACHER = "not_teacher_model"
LABEL_FAILED = "label_not_ok"
CHECK_FAILED = "failed_check"
TRUNCATED = "truncated"
CONTENT_FILTER = "content_filter"
REFUSAL = "refusal"
NO_EVIDENCE = "below_min_quality"
_AUTOMATIC_REASON = {"truncation": TRUNCATED, "content_filter": CONTENT_FILTER, "refusal": REFUSAL, "error": ERROR}


@dataclass(frozen=True)
class Verdict:
    keep: bool
    reason: str | None = None  # why dropped (one of the names above)
    evidence: str = "heuristic"  # label | check | heuristic: what decided a kept record
    category: str | None = None  # failure category from the label/check (for stratification)


@dataclass(frozen=True)
class Label:
    ok: bool
    category: str | None = None
    expected: str | None = None  # the reviewer's correct answer: the evaluation's reference and the chosen
    # side of a preference pair


def load_labels(path: str | Path) -> dict[str, Label]:
    """id → Label from a labels JSONL, read by the failure analysis' own parser (same rules, same errors)."""
    from advisor.failures.labels import iter_labels

    return {lab.id: Label(ok=lab.ok, category=lab.category, expected=lab.expected) for _, lab in iter_labels(path)}


@dataclass(frozen=True)
class Checker:
    """record → [(check name, category)] of failed checks; `user_checks` says whether any were configured."""

    run: Callable[[Record], list[tuple[str, str | None]]]
    user_checks: bool

    def __call__(self, record: Record) -> list[tuple[str, str | None]]:
        return self.run(record)


def make_checker(failures_config: dict[str, Any] | None, base_dir: Path | None = None) -> Checker:
    """The failure analysis' checks (automatic + the `[[failures.checks]]` user rules) as (signature, category)."""
    from advisor.failures.checks import check_record
    from advisor.failures.config import failure_config

    cfg = failure_config(failures_config or {}, base_dir=base_dir)

    def run(record: Record) -> list[tuple[str, str | None]]:
        return [(f.signature, f.category) for f in check_record(record, cfg)]

    return Checker(run, bool(cfg.checks))


def reference_for(record: Record, labels: dict[str, Label] | None) -> tuple[str | None, str | None]:
    """(reference answer, where it came from) for the test split: a label's expected output, else the
    logged output when a label says it is correct, else none (the example is scored by checks only)."""
    label = (labels or {}).get(record.id) or _log_label(record)
    if label is None:
        return None, None
    if label.expected:
        return label.expected, "label.expected"
    if label.ok and (record.output or "").strip():
        return record.output, "label.ok"
    return None, None


def _log_label(record: Record) -> Label | None:
    for fb in record.feedback:
        if fb.ok is not None:
            return Label(ok=fb.ok, category=fb.category)
    return None


def judge(record: Record, *, labels: dict[str, Label] | None = None,
          checker: Checker | None = None,
          teacher_model: str | None = None, min_quality: MinQuality = "heuristic") -> Verdict:
    """Keep or drop one call, and why (see module docstring for the order)."""
    if record.status == "error" or record.finish_reason == FinishReason.error:
        return Verdict(False, ERROR)
    if not (record.output or "").strip() and not record.output_tool_calls:
        return Verdict(False, REFUSAL if record.refusal else EMPTY)
    if teacher_model is not None and record.model != teacher_model:
        return Verdict(False, NOT_TEACHER)
    label = (labels or {}).get(record.id) or _log_label(record)
    if label is not None:
        return Verdict(label.ok, None if label.ok else LABEL_FAILED, "label", label.category)
    if checker is not None:
        failed = checker(record)
        if failed:
            # automatic checks name their own drop reason; user rules count as failed checks
            reason = _AUTOMATIC_REASON.get(failed[0][1] or "", CHECK_FAILED)
            return Verdict(False, reason, "check", failed[0][1])
    if record.finish_reason == FinishReason.length:
        return Verdict(False, TRUNCATED)
    if record.finish_reason == FinishReason.content_filter:
        return Verdict(False, CONTENT_FILTER)
    if record.refusal or record.finish_reason == FinishReason.refusal or \
            REFUSAL_PATTERNS.match(record.output or ""):
        return Verdict(False, REFUSAL)
    if min_quality == "labelled":
        return Verdict(False, NO_EVIDENCE)
    checked = checker is not None and checker.user_checks
    if min_quality == "checked" and not checked:
        return Verdict(False, NO_EVIDENCE)
    return Verdict(True, None, "check" if checked else "heuristic")
