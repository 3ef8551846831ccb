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

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any

import msgspec
import orjson
from msgspec import UNSET, Meta, Raw, UnsetType

from advisor.ingest.common import chat_role, dict_list, first_time, opt_number
from advisor.kernel.memo import BoundedMemo
from advisor.kernel.record import Message

Decode = Callable[[Any, int], Any]  # (raw line bytes, line number) -> Record | None

Int64 = Annotated[int, Meta(ge=-(2**63), le=2**63 - 1)]
Number = Int64 | float  # what orjson gives for a JSON number that fits 64 bits (larger ints: no match)
Refuse = UnsetType  # a key the fast path leaves to the general parser: present (even null) → no match


def unset_none(value: Any) -> Any:
    """An absent key (UNSET) as the general parsers see it with `dict.get`: None."""
    return None if value is UNSET else value


def raw_value(raw: Raw | UnsetType) -> Any:
    """A Raw-kept JSON value as orjson decodes it (None when the key was absent)."""
    return None if raw is UNSET else orjson.loads(memoryview(raw))  # type: ignore[arg-type]


_MISSING = object()
_SHARED = BoundedMemo(4096)  # JSON text → its decoded value, for values that repeat line after line


def shared_value(raw: Raw | UnsetType) -> Any:
    """`raw_value` for values that repeat across lines (an agent's tool schemas): decoded once per distinct
    text and the same object handed to every record that has it, so it must be treated as read-only (the
    analysis only reads tool schemas). Equal to what orjson gives; the memo's text is bounded (BoundedMemo)."""
    if raw is UNSET:
        return None
    key = bytes(raw)  # type: ignore[arg-type]
    got = _SHARED.get(key, _MISSING)
    if got is _MISSING:
        got = _SHARED.put(key, orjson.loads(key), len(key))
    return got


class Envelope(msgspec.Struct, kw_only=True):
    """The `{request, response, timestamp, latency_ms, metadata, ...}` line around a provider's bodies, as the
    OpenAI chat and Anthropic parsers read it: a subclass adds the typed `request` and `response`. The status,
    error and the alternative spellings (duration_ms, cost_usd) are left to the general parsers."""

    timestamp: Number | str | None = None
    created_at: Number | str | None = None
    latency_ms: Number | None = None
    cost: Number | None | Refuse = UNSET
    metadata: Raw | Refuse = UNSET
    feedback: Raw | Refuse = UNSET
    status_code: Refuse = UNSET
    error: Refuse = UNSET
    duration_ms: Refuse = UNSET
    cost_usd: Refuse = UNSET


def envelope_values(line_obj: Envelope, file: str, line: int,
                    *times: tuple[str, Any]) -> tuple[datetime, float | None, float | None] | None:
    """(time, latency ms, cost) of an envelope as the general parsers read them (`times`: later time fields to
    try, e.g. the response's `created`), or None where they would assume a time. The ranges of latency and
    cost are the Record's own rules: a value out of range makes the Record raise, and the line falls back."""
    ts = first_time(file, line, ("timestamp", line_obj.timestamp), ("created_at", line_obj.created_at), *times)
    latency = opt_number(line_obj.latency_ms)
    cost = None if line_obj.cost is UNSET else opt_number(line_obj.cost)
    if ts is None:
        return None
    return ts, latency, cost


class ChatMessage(msgspec.Struct):
    """An OpenAI-shaped chat message, as :func:`advisor.ingest.common.messages_of` reads it."""

    role: str | None = None
    content: str | None = None  # a list of parts: no match
    tool_calls: Raw | Refuse = UNSET
    tool_call_id: str | None = None
    name: str | None = None
    function_call: Refuse = UNSET


def chat_messages(raw: list[ChatMessage]) -> tuple[str | None, list[Message]]:
    """`messages_of` on typed messages: system + developer text joined, the other roles mapped by `chat_role`."""
    system: list[str] = []
    out: list[Message] = []
    for m in raw:
        role, text = chat_role(m.role), m.content or ""
        if role == "system":
            if text:
                system.append(text)
            continue
        calls = None
        if m.tool_calls is not UNSET:
            got = raw_value(m.tool_calls)
            calls = None if got is None else dict_list(got)
        out.append(Message(role=role, content=text, tool_calls=calls or None,  # type: ignore[arg-type]
                           tool_call_id=m.tool_call_id or None, name=m.name or None))
    return ("\n\n".join(system) if system else None), out


__all__ = ["UNSET", "ChatMessage", "Decode", "Envelope", "Int64", "Number", "Raw", "Refuse", "chat_messages",
           "envelope_values", "raw_value", "shared_value", "unset_none"]
