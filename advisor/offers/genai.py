"""Read fine-tuned (``ft:``) price entries from the bundled genai-prices data: its figures come first."""

from __future__ import annotations

from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version


@dataclass(frozen=True)
class GenaiFtEntry:
    provider: str
    id: str
    input_mtok: float | None
    cached_input_mtok: float | None
    output_mtok: float | None
    comment: str | None
    package_version: str


def _version() -> str:
    try:
        return version("genai-prices")
    except PackageNotFoundError:  # pragma: no cover - it is a core dependency
        return "?"


def ft_entry(ref: str) -> GenaiFtEntry | None:
    """``'genai-prices:openai:ft:gpt-4o-mini'`` → that entry's base (non-variant) prices, or None."""
    prefix = "genai-prices:"
    if not ref.startswith(prefix):
        return None
    provider_id, _, entry_id = ref[len(prefix):].partition(":")
    from genai_prices import data

    for provider in data.providers:
        if provider.id != provider_id:
            continue
        for m in provider.models:
            if m.id == entry_id:
                p = m.prices
                if not hasattr(p, "input_mtok"):  # tiered/conditional prices: not a flat ft: entry
                    return None

                def f(v):  # type: ignore[no-untyped-def]
                    return None if v is None else float(v)

                return GenaiFtEntry(provider_id, entry_id, f(p.input_mtok), f(p.cache_read_mtok),
                                    f(p.output_mtok), m.price_comments, _version())
    return None
