"""Currency: every default is a USD figure; it reaches a decision only converted at a dated, sourced rate.

The bundled table holds ECB euro reference rates of one day (`fx_rates.json`). A price file in a
currency the table lacks makes the run refuse (with a hint) unless the user gives the rate
(`usd_rate` in advise.toml [assumptions]: units of the price currency per 1 USD). Nothing is relabelled.
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources

from pydantic import BaseModel

from advisor.kernel.errors import AdviseError


class FxRate(BaseModel):
    """Units of `currency` per 1 USD, with the date and source of the rate."""

    currency: str
    per_usd: float
    date: str | None
    source: str

    def usd(self, amount: float) -> float:
        """A USD figure in this currency."""
        return amount * self.per_usd

    @property
    def label(self) -> str:
        if self.currency == "USD":
            return "USD (no conversion)"
        return f"1 USD = {self.per_usd:,.4g} {self.currency} ({self.source.split(' (')[0]}, {self.date})"


@lru_cache(maxsize=1)
def _table() -> dict:
    return json.loads(resources.files("advisor.decision.strategies").joinpath("fx_rates.json").read_text("utf-8"))


def fx_rate(currency: str, user_rate: float | None = None) -> FxRate:
    """The rate that converts USD defaults into `currency`; refuses a currency it cannot convert."""
    cur = (currency or "USD").upper()
    if cur == "USD":
        return FxRate(currency="USD", per_usd=1.0, date=None, source="no conversion")
    if user_rate is not None:
        return FxRate(currency=cur, per_usd=user_rate, date=None, source="set by you (usd_rate)")
    t = _table()
    rates = t["rates"]
    if cur not in rates:
        raise AdviseError(f"no exchange rate for {cur}: the advisor's defaults are in USD and would be mislabelled",
                          field="currency",
                          hint=f"set usd_rate = <{cur} per 1 USD> in advise.toml [assumptions], or use a price "
                               f"file in one of {', '.join(sorted(rates))}")
    return FxRate(currency=cur, per_usd=rates[cur] / rates["USD"], date=t["date"], source=t["source"])
