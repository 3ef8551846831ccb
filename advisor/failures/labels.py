"""Reviewer labels (``labels.jsonl``): the strongest failure source, joined on record id.

Read line by line (gzip is fine) with ``file:line`` errors. The index remembers which ids
matched a record, so ids with no record are *reported* at the end, never silently dropped.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
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


# A label as LabelIndex keeps it: (ok, category, expected, note).
_Packed = tuple[bool, CheckCategory | None, str | None, str | None]


def _pack(label: Label, shared: dict[_Packed, _Packed]) -> _Packed:
    """A label's fields as a tuple, the same tuple object for labels that say the same (most say only ok)."""
    packed = (label.ok, label.category, label.expected, label.note)
    return shared.setdefault(packed, packed) if label.expected is None and label.note is None else packed


class LabelIndex:
    """Labels by record id; `take(id)` marks a label as used so the unmatched ones can be reported.

    Kept packed, a tuple per id (one shared tuple for all the `{"id", "ok"}` labels), and each Label is made
    when a record takes it: a Label model costs ~880 bytes, 35 MB for the 40k labels of the 2M-record
    benchmark, and a forked worker that reads them ends up with its own copy of the pages they sit on.
    """

    def __init__(self, labels: Mapping[str, Label], *, path: str | None = None, duplicates: int = 0,
                 bad_lines: list[ParseError] | None = None) -> None:
        shared: dict[_Packed, _Packed] = {}
        self._labels: dict[str, _Packed] = {i: _pack(label, shared) for i, label in labels.items()}
        self._matched: set[str] = set()
        self.path = path
        self.duplicates = duplicates
        self.bad_lines = bad_lines or []  # malformed lines skipped (not strict), each naming file:line

    @classmethod
    def load(cls, path: str | Path, *, strict: bool = True) -> LabelIndex:
        """Read a labels file; a repeated id keeps the last label (and is counted in `duplicates`).

        `strict=False` skips malformed lines (kept in `bad_lines`), as `advise analyze` does with log lines."""
        index = cls({}, path=str(path))
        labels, shared = index._labels, {}
        bad: list[ParseError] | None = None if strict else []
        for _, label in iter_labels(path, bad):
            if label.id in labels:
                index.duplicates += 1
            labels[label.id] = _pack(label, shared)
        index.bad_lines = bad or []
        return index

    def __len__(self) -> int:
        return len(self._labels)

    def take(self, record_id: str) -> Label | None:
        packed = self._labels.get(record_id)
        if packed is None:
            return None
        self._matched.add(record_id)
        ok, category, expected, note = packed
        return Label.model_construct(id=record_id, ok=ok, category=category, expected=expected, note=note)

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
