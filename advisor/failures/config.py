"""The ``[failures]`` section of advise.toml: the team's hard rules as checks.

```toml
[failures]
json = false                # treat outputs as JSON even without response_format
schema = "schema.json"      # optional JSON schema for outputs, relative to the toml
[[failures.checks]]
name = "bullets"            # → signature "check:bullets"
category = "format"
count_pattern = '(?m)^• [A-Z].*\\.$'  # counted matches of a pattern …
count = 3                   # … exactly (or min_count / max_count)
description = "Features are three '• ' bullets ending in a full stop."
```

Rules (any subset, all must hold): ``must_match`` (found anywhere), ``full_match`` (the whole
output, stripped, matches), ``each_line_match`` (every non-blank line matches in full),
``count_pattern`` with ``count`` / ``min_count`` / ``max_count`` (number of non-overlapping
matches), ``must_not_match``, ``max_chars``, ``required_fields``. A search can be satisfied by one
line, so a rule like "exactly three bullets" needs a count, not ``must_match``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

from advisor.kernel.errors import AdviseError

CheckCategory = Literal["format", "schema", "style", "factual", "outdated", "refusal", "other"]


class UserCheck(BaseModel):
    """One rule from a style guide or output contract; any violated rule fails the record as ``check:<name>``."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$", max_length=60)
    category: CheckCategory = "format"
    must_match: str | None = None
    must_not_match: str | None = None
    full_match: str | None = None
    each_line_match: str | None = None
    count_pattern: str | None = None
    count: int | None = Field(default=None, ge=0)
    min_count: int | None = Field(default=None, ge=0)
    max_count: int | None = Field(default=None, ge=0)
    max_chars: int | None = Field(default=None, gt=0)
    required_fields: list[str] | None = None
    description: str | None = None
    _must: re.Pattern[str] | None = PrivateAttr(default=None)
    _must_not: re.Pattern[str] | None = PrivateAttr(default=None)
    _full: re.Pattern[str] | None = PrivateAttr(default=None)
    _each_line: re.Pattern[str] | None = PrivateAttr(default=None)
    _counted: re.Pattern[str] | None = PrivateAttr(default=None)

    @field_validator("must_match", "must_not_match", "full_match", "each_line_match", "count_pattern")
    @classmethod
    def _compiles(cls, v: str | None) -> str | None:
        if v is not None:
            try:
                re.compile(v)
            except re.error as exc:
                raise ValueError(f"invalid regular expression {v!r}: {exc}") from exc
        return v

    @model_validator(mode="after")
    def _has_rule(self) -> UserCheck:
        counts = (self.count, self.min_count, self.max_count)
        if any(c is not None for c in counts) and not self.count_pattern:
            raise ValueError(f"check {self.name!r}: count/min_count/max_count need a count_pattern to count")
        if self.count_pattern and all(c is None for c in counts):
            raise ValueError(f"check {self.name!r}: count_pattern needs count, min_count or max_count")
        if self.count is not None and (self.min_count is not None or self.max_count is not None):
            raise ValueError(f"check {self.name!r}: give count, or min_count/max_count, not both")
        if not (self.must_match or self.must_not_match or self.max_chars or self.required_fields
                or self.full_match or self.each_line_match or self.count_pattern):
            raise ValueError(f"check {self.name!r} has no rule: give must_match, full_match, each_line_match, "
                             "count_pattern + count, must_not_match, max_chars or required_fields")
        self._must = re.compile(self.must_match) if self.must_match else None
        self._must_not = re.compile(self.must_not_match) if self.must_not_match else None
        self._full = re.compile(self.full_match) if self.full_match else None
        self._each_line = re.compile(self.each_line_match) if self.each_line_match else None
        self._counted = re.compile(self.count_pattern) if self.count_pattern else None
        return self

    @property
    def count_range(self) -> tuple[int, int | None]:
        """(minimum, maximum or None) number of count_pattern matches."""
        if self.count is not None:
            return self.count, self.count
        return self.min_count or 0, self.max_count

    @property
    def signature(self) -> str:
        return f"check:{self.name}"

    @property
    def must(self) -> re.Pattern[str] | None:
        return self._must

    @property
    def must_not(self) -> re.Pattern[str] | None:
        return self._must_not

    @property
    def full(self) -> re.Pattern[str] | None:
        return self._full

    @property
    def each_line(self) -> re.Pattern[str] | None:
        return self._each_line

    @property
    def counted(self) -> re.Pattern[str] | None:
        return self._counted


class FailureConfig(BaseModel):
    """Validated ``[failures]`` settings (defaults: automatic checks only)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    json_output: bool = Field(default=False, alias="json")
    schema_path: str | None = Field(default=None, alias="schema")
    checks: list[UserCheck] = Field(default_factory=list)
    # Feedback with a score but no ok/not-ok verdict counts as a failure below this score.
    min_score: float | None = None
    # A signature *recurs* when it is seen on at least this many records and on this many distinct days.
    recurring_min_count: int = Field(default=3, ge=1)
    recurring_min_days: int = Field(default=2, ge=1)
    output_schema: dict[str, Any] | None = Field(default=None, exclude=True)  # loaded from schema_path

    @model_validator(mode="after")
    def _unique_names(self) -> FailureConfig:
        names = [c.name for c in self.checks]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise ValueError(f"duplicate check names: {sorted(dup)}")
        return self

    @property
    def wants_json(self) -> bool:
        return self.json_output or self.output_schema is not None


def load_schema(path: Path, *, config_file: str | None = None) -> dict[str, Any]:
    """Read and sanity-check a JSON schema file so a bad schema fails at start, not per record."""
    try:
        schema = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise AdviseError(f"schema file not found: {path}", file=config_file, field="failures.schema",
                          hint="the path is relative to advise.toml") from exc
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise AdviseError(f"schema is not valid JSON: {exc}", file=str(path), field="failures.schema",
                          hint="write the schema as a JSON document") from exc
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import SchemaError

    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        raise AdviseError(f"not a valid JSON schema: {exc.message}", file=str(path), field="failures.schema",
                          hint="check it against https://json-schema.org (draft 2020-12)") from exc
    return schema


def failure_config(raw: dict[str, Any] | None, *, base_dir: Path | None = None, config_file: str | None = None,
                   schema_override: str | Path | None = None, json_override: bool | None = None) -> FailureConfig:
    """Validate the raw ``[failures]`` dict (``cfg.failures``); CLI --schema / --json-output win over the file."""
    try:
        cfg = FailureConfig.model_validate(raw or {})
    except ValidationError as exc:
        err = exc.errors()[0]
        field = "failures." + ".".join(str(x) for x in err["loc"])
        raise AdviseError(err["msg"], file=config_file, field=field,
                          hint="see the [failures] section in the README (checks: name, category, must_match | "
                               "full_match | each_line_match | count_pattern + count/min_count/max_count | "
                               "must_not_match | max_chars | required_fields)") from exc
    if json_override is not None:
        cfg.json_output = json_override
    if schema_override is not None:
        cfg.output_schema = load_schema(Path(schema_override))
        cfg.schema_path = str(schema_override)
    elif cfg.schema_path:
        p = Path(cfg.schema_path)
        if not p.is_absolute() and base_dir is not None:
            p = base_dir / p
        cfg.output_schema = load_schema(p, config_file=config_file)
    return cfg


def from_advise_config(cfg: Any, **overrides: Any) -> FailureConfig:
    """`FailureConfig` from a loaded :class:`advisor.kernel.config.AdviseConfig`."""
    return failure_config(cfg.failures, base_dir=cfg.base_dir, config_file=str(cfg.path) if cfg.path else None,
                          **overrides)
