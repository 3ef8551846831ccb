"""The typed fast path: lines of the usual shape decoded by msgspec straight into typed structs.

A format may offer ``fast_reader(file) -> decode``, where ``decode(raw_line, line)`` returns the line's Record,
or None when the line is not of the shape it knows. The reader tries it on every line of a plain JSONL file
and hands the line to the general path (orjson, then the format's parser) on None. So the fast path never
has to be complete, only exact: for every line it accepts, its Record must equal the general path's, field
for field (tests/test_fast_path.py checks this on every bundled log and on generated variants). It is
exact by construction where it can be:

* every key the general parser reads is declared in the structs, with the narrow type the usual shape has;
  a key the fast path does not handle is declared as :data:`Refuse` (present → no match → general path);
  keys the parser never reads are skipped unread;
* values the general parser would reinterpret (free-form metadata, tool schemas) are kept as
  :class:`msgspec.Raw` and decoded by orjson itself, so they are the very same Python objects;
* integers are bounded to 64 bits (orjson turns larger ones into floats, msgspec would not);
* anything that goes wrong (a failed check, a broken cross-field rule) is a None, never an error: the
  general path then produces the error, with its usual message.

Why: decoding the usual line into structs costs about what `orjson.loads` does, and building the Record
from typed fields skips the dict lookups, type checks and the second validation the general path needs.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Annotated, Any

import msgspec
import orjson
from msgspec import UNSET, Meta, Raw, UnsetType

from advisor.kernel.record import MAX_LATENCY_MS

Decode = Callable[[Any, int], Any]  # (raw line bytes, line number) -> Record | None

Int64 = Annotated[int, Meta(ge=-(2**63), le=2**63 - 1)]
Number = Int64 | float  # what orjson gives for a JSON number that fits 64 bits (larger ints: no match)
Refuse = UnsetType  # a key the fast path leaves to the general parser: present (even null) → no match
DECODE_ERRORS = (msgspec.ValidationError, msgspec.DecodeError)


def raw_value(raw: Raw | UnsetType) -> Any:
    """A Raw-kept JSON value as orjson decodes it (None when the key was absent)."""
    return None if raw is UNSET else orjson.loads(memoryview(raw))  # type: ignore[arg-type]


def latency_ok(value: float | None) -> bool:
    """The Record's latency rule (0 ≤ ms ≤ one day, finite), checked before building it directly."""
    return value is None or 0 <= value <= MAX_LATENCY_MS


def cost_ok(value: float | None) -> bool:
    """The Record's cost rule (finite, ≥ 0)."""
    return value is None or (value >= 0 and math.isfinite(value))


__all__ = ["DECODE_ERRORS", "UNSET", "Decode", "Int64", "Number", "Raw", "Refuse", "cost_ok", "latency_ok",
           "raw_value"]
