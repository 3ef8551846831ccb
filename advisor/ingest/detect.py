"""Sniff a file's log format from its first items, and recognise files in a log directory that are not logs.

Each of the first JSON objects votes for the first registered format whose `sniff` accepts
it (registry order is most specific first); the format with most votes wins, ties going to
the earlier one. Unknown → an error that shows the keys it saw and lists what is supported.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from advisor.ingest.common import Item
from advisor.ingest.registry import FORMATS
from advisor.kernel.errors import AdviseError, ParseError

SNIFF_ITEMS = 20  # objects looked at per file
# Files a log directory often holds that are not logs (advise's own outputs, docs, configs).
NON_LOG_NAMES = {"truth.json", "analysis.json", "eval.json", "run.json", "metrics.jsonl", "package.json",
                 "tsconfig.json", "config.json", "adapter_config.json", "tokenizer.json", "tokenizer_config.json"}


def _sniffs(module: Any, obj: dict) -> bool:
    try:
        return bool(module.sniff(obj))
    except Exception:  # noqa: BLE001 - a sniffer that trips over odd input just says no
        return False


def vote(obj: dict) -> str | None:
    """The first registered format that recognises this object."""
    return next((name for name, module in FORMATS.items() if _sniffs(module, obj)), None)


def detect_format(head: list[Item], file: str) -> str:
    """The format of a file from its first items; AdviseError naming the file when none fits."""
    objs = [obj for _, obj in head if isinstance(obj, dict)][:SNIFF_ITEMS]
    votes = Counter(name for name in map(vote, objs) if name)
    if votes:
        order = list(FORMATS)
        return max(votes, key=lambda n: (votes[n], -order.index(n)))
    supported = ", ".join(FORMATS)
    if not objs:
        errors = [obj for _, obj in head if isinstance(obj, ParseError)]
        why = f"no line is a JSON object (first problem: {errors[0].render()})" if errors else \
            "no line is a JSON object"
        raise AdviseError(f"cannot tell the log format: {why}", file=file,
                          hint=f"supported formats: {supported}; see docs/canonical-format.md")
    keys = sorted({k for o in objs[:3] for k in o})[:15]
    raise AdviseError(f"unknown log format (top-level keys seen: {', '.join(keys) or 'none'})", file=file,
                      hint=f"supported formats: {supported}; force one with --format, or convert to the "
                           "canonical format (docs/canonical-format.md)")


def non_log_kind(path: Path, first: object) -> str | None:
    """Why a file found in a directory is not a log (labels, advise outputs, fine-tuning data), or None."""
    name = path.name.lower().removesuffix(".gz")
    if name in NON_LOG_NAMES:
        return "not a log file"
    if not isinstance(first, dict):
        return None
    keys = set(first)
    if {"id", "ok"} <= keys and "model" not in keys:
        return "labels file"
    if "schema_version" in keys and "model" not in keys and "messages" not in keys:
        return "advise output"
    if keys and (keys <= {"messages", "tools", "parallel_tool_calls"} or keys <= {"prompt", "completion"}):
        return "fine-tuning data"
    return None
