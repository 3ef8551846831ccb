"""Market facts as data: hosted-model and open-weight offers, each row sourced and dated.

Public face::

    from advisor.offers import load_offers
    table = load_offers(Path("my-offers.toml"))      # bundled rows + user overrides
    row = table.model("openai", "gpt-4o-2024-08-06")  # ModelOffer | None
    rule = table.cache_rule("anthropic", "claude-haiku-4-5-20251001")
    table.export_used()                               # rows the decision looked at, with source and as_of
"""

from advisor.offers.models import (
    AccessRule,
    CacheRule,
    FineTuneOffer,
    ModelOffer,
    OpenWeightOffer,
    ProviderDefaults,
)
from advisor.offers.table import (
    BUNDLED,
    STALE_AFTER_DAYS,
    OffersError,
    OfferTable,
    UnknownModelError,
    bundled,
    cache_rule,
    export_row,
    guess_provider,
    load_offers,
    normalise_model_name,
)

__all__ = [
    "AccessRule", "BUNDLED", "CacheRule", "FineTuneOffer", "ModelOffer", "OfferTable", "OffersError",
    "OpenWeightOffer", "ProviderDefaults", "STALE_AFTER_DAYS", "UnknownModelError", "bundled", "cache_rule",
    "export_row", "guess_provider", "load_offers", "normalise_model_name",
]
