"""The supported log formats, most specific first (detection asks each `sniff` in this order).

A format is one module with ``NAME``, ``DESCRIPTION``, ``sniff(obj) -> bool`` and
``parse(items, file) -> Iterator[Record | ParseError]``; a format whose calls span several
files (OpenAI Batch input + output) also has ``parse_group([(file, items), ...])``; one whose lines usually
have one shape may add ``fast_reader(file)``, a typed msgspec decoder of that shape that must give the same
Record as ``parse`` or decline the line (:mod:`advisor.ingest.fastpath`, tests/test_fast_path.py).
Adding a format = one module + one line below (put it above any format its lines also match).
"""

from __future__ import annotations

from types import ModuleType

from advisor.ingest import (
    anthropic,
    canonical,
    helicone,
    langfuse,
    langsmith,
    litellm,
    openai_batch,
    openai_chat,
    openai_responses,
    otel,
)

# LiteLLM and Helicone rows embed OpenAI-shaped responses: they must be asked before openai_chat.
FORMATS: dict[str, ModuleType] = {m.NAME: m for m in (
    canonical,
    openai_batch,
    litellm,
    helicone,
    langsmith,
    langfuse,
    otel,
    openai_responses,
    anthropic,
    openai_chat,
)}


def format_names() -> list[str]:
    """Names accepted by `--format`."""
    return list(FORMATS)
