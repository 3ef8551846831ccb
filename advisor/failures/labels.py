"""Reviewer labels (``labels.jsonl``): the strongest failure source, joined on record id.

Read line by line (gzip is fine) with ``file:line`` errors. The index remembers which ids
matched a record, so ids with no record are *reported* at the end, never silently dropped.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from advisor.failures.config import CheckCategory
from advisor.kernel.errors import AdviseError, ParseError
from advisor.kernel.io import open_binary

MAX_REPORTED_UNKNOWN = 20


class Label(BaseModel):
    """`{"id", "ok", "category"?, "expected"?, "note"?}` — one reviewer judgement."""

    model_config = ConfigDict(extra="ignore", frozen=True)
    id: str
    ok: bool
    category: CheckCategory | None = None
    expected: str | None = None
    note: str | None = None

    @field_validator("id", mode="before")
    @classmethod
    def _id_text(cls, v: Any) -> Any:
        return str(v) if isinstance(v, int) and not isinstance(v, bool) else v


def iter_labels(path: str | Path, errors: list[ParseError] | None = None) -> Iterator[tuple[int, Label]]:
    """(line number, Label) for every non-blank line; a bad line raises a ParseError naming file, line, field.

    With `errors`, a bad line is appended there and skipped instead, as malformed log lines are."""
    for n, got in _label_lines(path):
        if isinstance(got, Label):
            yield n, got
        elif errors is None:
            raise got
        else:
            errors.append(got)


def _label_lines(path: str | Path) -> Iterator[tuple[int, Label | ParseError]]:
    p = Path(path)
    if not p.is_file():
        raise AdviseError(f"labels file not found: {p}", file=str(p), hint="check the --labels path")
    with open_binary(p) as fh:
        for n, raw in enumerate(fh, 1):
            if not raw.strip():
                continue
            try:
                obj = json.loads(raw)
            except (ValueError, UnicodeDecodeError) as exc:
                yield n, ParseError(f"not valid JSON: {exc}", file=str(p), line=n,
                                    hint='one object per line: {"id": "...", "ok": false, "category": "format"}')
                continue
            if not isinstance(obj, dict):
                yield n, ParseError("a label must be a JSON object", file=str(p), line=n,
                                    hint='one object per line: {"id": "...", "ok": true}')
                continue
            try:
                yield n, Label.model_validate(obj)
            except ValidationError as exc:
                err = exc.errors()[0]
                yield n, ParseError(f"invalid label: {err['msg']}", file=str(p), line=n,
                                    field=".".join(str(x) for x in err["loc"]) or None,
                                    hint="ok is true/false; category is one of format, schema, style, factual, "
                                         "outdated, refusal, other")


class LabelIndex:
    """Labels by record id; `take(id)` marks a label as used so the unmatched ones can be reported."""

    def __init__(self, labels: dict[str, Label], *, path: str | None = None, duplicates: int = 0,
                 bad_lines: list[ParseError] | None = None) -> None:
        self._labels = labels
        self._matched: set[str] = set()
        self.path = path
        self.duplicates = duplicates
        self.bad_lines = bad_lines or []  # malformed lines skipped (not strict), each naming file:line

    @classmethod
    def load(cls, path: str | Path, *, strict: bool = True) -> LabelIndex:
        """Read a labels file; a repeated id keeps the last label (and is counted in `duplicates`).

        `strict=False` skips malformed lines (kept in `bad_lines`), as `advise analyze` does with log lines."""
        labels: dict[str, Label] = {}
        dups = 0
        bad: list[ParseError] | None = None if strict else []
        for _, label in iter_labels(path, bad):
            if label.id in labels:
                dups += 1
            labels[label.id] = label
        return cls(labels, path=str(path), duplicates=dups, bad_lines=bad)

    def __len__(self) -> int:
        return len(self._labels)

    def take(self, record_id: str) -> Label | None:
        label = self._labels.get(record_id)
        if label is not None:
            self._matched.add(record_id)
        return label

    @property
    def matched_ids(self) -> set[str]:
        return self._matched

    def clear_matches(self) -> None:
        """Forget which ids matched (the logs are about to be read again)."""
        self._matched.clear()

    def mark_matched(self, ids: Iterable[str]) -> None:
        """Count ids matched by a reader in another process."""
        self._matched.update(ids)

    @property
    def matched(self) -> int:
        return len(self._matched)

    def unknown_ids(self) -> list[str]:
        """Label ids that matched no analysed record (typo, another export, or outside --since/--until)."""
        return [i for i in self._labels if i not in self._matched]
