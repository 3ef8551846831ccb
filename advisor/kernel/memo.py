"""A memo whose memory stays bounded however long the texts it is keyed by.

Per-process memos (a prompt family by its system prompt, a token count by its text, a decoded JSON value by
its text) pay off because prompts repeat, but a log whose every prompt is megabytes long must not fill memory
with them: :class:`BoundedMemo` starts over past a number of entries or of characters kept alive.
"""

from __future__ import annotations

from typing import Any

KNOWN_CHARS = 16_000_000  # characters of text a memo may keep alive by default (~16 MB of ASCII)


class BoundedMemo(dict):  # type: ignore[type-arg]
    """A memo (a dict: `get` stays C-fast) that starts over past `limit` entries or `budget` characters of the
    text it keeps alive (`size` per entry: the prompt or tool list it is keyed by), so its memory stays bounded
    even when every prompt is megabytes long."""

    __slots__ = ("limit", "budget", "chars")

    def __init__(self, limit: int, budget: int | None = None) -> None:
        super().__init__()
        self.limit, self.budget, self.chars = limit, KNOWN_CHARS if budget is None else budget, 0

    def put(self, key: Any, value: Any, size: int) -> Any:
        if len(self) >= self.limit or self.chars + size > self.budget:
            self.clear()
        self[key] = value
        self.chars += size
        return value

    def clear(self) -> None:
        super().clear()
        self.chars = 0

    def __reduce__(self) -> tuple[Any, ...]:  # a memo travels empty (to and from worker processes)
        return BoundedMemo, (self.limit, self.budget)
