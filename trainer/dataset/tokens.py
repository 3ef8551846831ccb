"""Offline token counts for dataset stats and length checks (never downloads a vocabulary).

Counts with :func:`advisor.tokens.count_text` (o200k_base, seeded offline). Counts for
non-OpenAI models are therefore *estimates* — :func:`counter_name` says which counter produced them.
"""

from __future__ import annotations


def count_tokens(text: str | None) -> int:
    """Tokens in `text` (o200k; an estimate for non-OpenAI models)."""
    from advisor.tokens import count_text

    return count_text(text, "gpt-4o") if text else 0


def counter_name() -> str:
    return "advisor.tokens (o200k_base, offline)"


# OpenAI chat framing: every message costs ~4 tokens (role, separators), a reply is primed with 3.
PER_MESSAGE_TOKENS = 4
REPLY_PRIMING_TOKENS = 3


def count_messages(messages: list[dict]) -> int:
    """Prompt + completion tokens of a chat example including per-message framing."""
    import json

    total = REPLY_PRIMING_TOKENS
    for m in messages:
        total += PER_MESSAGE_TOKENS + count_tokens(m.get("content") or "")
        if m.get("tool_calls"):
            total += count_tokens(json.dumps(m["tool_calls"], ensure_ascii=False))
    return total
