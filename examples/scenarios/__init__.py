"""Registry of the bundled scenarios (names are a contract: other tests and docs use them)."""

from __future__ import annotations

from examples.scenarios.base import Scenario


def _load() -> dict[str, Scenario]:
    from examples.scenarios import caching, ecommerce, extraction, support

    found = [ecommerce.SCENARIO, support.SCENARIO, extraction.LOWVOLUME, caching.SCENARIO,
             extraction.PLANT_STRUCTURAL, extraction.PLANT_RANDOM, support.PLANT_KNOWLEDGE]
    return {s.name: s for s in found}


SCENARIOS: dict[str, Scenario] = _load()


def get_scenario(name: str) -> Scenario:
    from advisor.kernel.errors import AdviseError

    if name not in SCENARIOS:
        raise AdviseError(f"unknown scenario {name!r}", field="scenario", hint="one of: " + ", ".join(SCENARIOS))
    return SCENARIOS[name]
