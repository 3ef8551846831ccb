"""Money: what the logged calls cost at list prices, per model, per request, per day and per month.

Each call is billed by the price valid on its own date (price tables change), looked up once per
model/provider/day. A model without a price is never billed $0: it is an error unless the user
allowed unpriced models, and then its cost is reported as unknown (None) and listed.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Protocol

from pydantic import BaseModel, Field

from advisor.kernel.errors import UnpricedModelError
from advisor.kernel.record import Record
from advisor.metrics.merging import merge_keyed, plus

DAYS_PER_MONTH = 30


class PriceSource(Protocol):
    """What the cost metrics need from :class:`advisor.pricing.PriceBook`."""

    def lookup(self, model: str, provider: str | None = None, at: Any = None) -> Any: ...
    def cost_breakdown(self, usage: Any, price: Any, batch: bool = False) -> dict: ...
    def describe(self) -> str: ...


def breakdown_total(breakdown: dict) -> float:
    """The total of a PriceBook.cost_breakdown dict (its 'total' key, else the sum of its parts)."""
    if "total" in breakdown:
        return float(breakdown["total"])
    return float(sum(v for v in breakdown.values() if isinstance(v, int | float)))


class ModelCost(BaseModel):
    """List-price cost of one model's calls; None everywhere when the model has no price."""

    requests: int
    priced: bool
    currency: str | None
    price_source: str | None = Field(description="where the price came from (table name, user file)")
    price_date: str | None = Field(description="date of the price table entry used")
    total: float | None = Field(description="cost of the logged calls (not scaled)")
    per_request: float | None
    per_day: float | None = Field(description="mean per day over the window, scaled to full traffic")
    per_month: float | None = Field(description="per_day × 30, scaled to full traffic")
    input_per_request: float | None = Field(default=None, description="input part of per_request")
    reported_total: float | None = Field(description="cost the logging tool wrote, where it did (USD)")


class CostSummary(BaseModel):
    currency: str | None = Field(description="None when models are priced in different currencies")
    total: float | None = Field(description="logged calls at list price, not scaled; priced models only")
    per_request: float | None
    per_day: float | None = Field(description="scaled to full traffic")
    per_month: float | None = Field(description="30-day projection, scaled to full traffic")
    scale: float
    complete: bool = Field(description="False when some models had no price (their cost is unknown)")
    unpriced_models: list[str]
    models: dict[str, ModelCost]


class _ModelMoney:
    __slots__ = ("requests", "priced_requests", "total", "input_total", "reported", "currency", "source", "date",
                 "price")

    def __init__(self) -> None:
        self.requests = 0
        self.priced_requests = 0
        self.total = 0.0
        self.input_total = 0.0
        self.reported: float | None = None
        self.currency: str | None = None
        self.source: str | None = None
        self.date: str | None = None
        self.price: Any = None  # the latest ModelPrice used

    def merge(self, later: _ModelMoney) -> None:
        self.requests += later.requests
        self.priced_requests += later.priced_requests
        self.total += later.total
        self.input_total += later.input_total
        self.reported = plus(self.reported, later.reported)
        if later.price is not None:
            self.currency, self.source, self.date, self.price = later.currency, later.source, later.date, later.price


class CostAccumulator:
    """Bills each record; `add` returns its cost (None when unpriced) so daily totals can use it."""

    def __init__(self, prices: PriceSource, *, allow_unpriced: bool = False, scale: float = 1.0,
                 price_cache: dict | None = None) -> None:
        self.prices = prices
        self.allow_unpriced = allow_unpriced
        self.scale = scale
        self._models: dict[str, _ModelMoney] = {}
        # (model, provider, day) → price; may be shared by the accumulators of one process (pure memo)
        self._price_cache: dict[tuple[str, str | None, date], Any] = {} if price_cache is None else price_cache
        self._first_unpriced: dict[str, tuple[str, int]] = {}
        from advisor.pricing import PriceBook

        # PriceBook's per-record fast path; other price sources (and subclasses) bill through cost_breakdown
        self._bill = prices.bill if type(prices) is PriceBook else None

    def price_for(self, record: Record) -> Any:
        """The ModelPrice valid on the record's date, or None when allowed to be unpriced."""
        key = (record.model, record.provider, record.timestamp.date())
        if key in self._price_cache:
            return self._price_cache[key]
        try:
            price = self.prices.lookup(record.model, record.provider, at=record.timestamp)
        except UnpricedModelError:
            # Keep reading: the error at the end names every unpriced model with its request count.
            self._first_unpriced.setdefault(record.model, (record.source.file, record.source.line))
            price = None
        self._price_cache[key] = price
        return price

    def add(self, record: Record) -> float | None:
        m = self._models.get(record.model)
        if m is None:
            m = self._models[record.model] = _ModelMoney()
        m.requests += 1
        if record.cost_reported is not None:
            m.reported = (m.reported or 0.0) + record.cost_reported
        key = (record.model, record.provider, record.timestamp.date())
        price = self._price_cache[key] if key in self._price_cache else self.price_for(record)
        if price is None or record.usage is None:
            return None
        if self._bill is not None:  # PriceBook: (total, input) with cost_breakdown's arithmetic, no dict per call
            cost, input_cost = self._bill(record.usage, price, record.batch)
        else:
            parts = self.prices.cost_breakdown(record.usage, price, batch=record.batch)
            cost, input_cost = breakdown_total(parts), input_part(parts)
        m.priced_requests += 1
        m.total += cost
        m.input_total += input_cost
        if price is not m.price:  # the same price object always gives the same currency, source and date
            m.currency = getattr(price, "currency", None) or "USD"
            m.source = getattr(price, "source", None)
            m.date = str(getattr(price, "date", None) or "") or None
            m.price = price
        return cost

    def merge(self, later: CostAccumulator) -> None:
        """Add the bills of a later piece of the logs (the latest price is the later piece's)."""
        merge_keyed(self._models, later._models)
        for name, where in later._first_unpriced.items():
            self._first_unpriced.setdefault(name, where)

    def __getstate__(self) -> dict[str, Any]:
        # what a worker process sends back: the bills, not the price table
        return {**self.__dict__, "prices": None, "_bill": None, "_price_cache": {}}

    def latest_price(self, model: str) -> Any:
        """The last price this model was billed at (None when unpriced or unseen)."""
        m = self._models.get(model)
        return m.price if m else None

    def raise_if_unpriced(self) -> None:
        """Fail loudly (never $0) unless --allow-unpriced: every unpriced model, its requests, did-you-mean."""
        if self.allow_unpriced or not self._first_unpriced:
            return
        counts = {name: self._models[name].requests for name in self._first_unpriced}
        make = getattr(self.prices, "unpriced_error", None)
        if make is not None:
            exc = make(counts)
        else:
            exc = UnpricedModelError("no price for " + ", ".join(f"'{m}' ({n:,} requests)" for m, n in counts.items()),
                                     field="model", hint="add the model to a --prices file, or pass --allow-unpriced "
                                                         "to report its cost as unknown")
        if len(counts) == 1:
            exc.file, exc.line = next(iter(self._first_unpriced.values()))
        raise exc

    def result(self, window_days: int) -> CostSummary:
        self.raise_if_unpriced()
        models: dict[str, ModelCost] = {}
        for name, m in sorted(self._models.items()):
            priced = m.priced_requests > 0
            per_day = m.total * self.scale / window_days if priced and window_days else None
            models[name] = ModelCost(
                requests=m.requests,
                priced=priced,
                currency=m.currency,
                price_source=m.source,
                price_date=m.date,
                total=m.total if priced else None,
                per_request=m.total / m.priced_requests if priced else None,
                per_day=per_day,
                per_month=per_day * DAYS_PER_MONTH if per_day is not None else None,
                input_per_request=m.input_total / m.priced_requests if priced else None,
                reported_total=m.reported,
            )
        priced = [c for c in models.values() if c.priced]
        unpriced = [n for n, c in models.items() if not c.priced]
        currencies = {c.currency for c in priced}
        single = len(currencies) == 1
        total = sum(c.total or 0.0 for c in priced) if priced and single else None
        n_priced = sum(m.priced_requests for m in self._models.values())
        per_day = total * self.scale / window_days if total is not None and window_days else None
        return CostSummary(
            currency=currencies.pop() if single else None,
            total=total,
            per_request=total / n_priced if total is not None and n_priced else None,
            per_day=per_day,
            per_month=per_day * DAYS_PER_MONTH if per_day is not None else None,
            scale=self.scale,
            complete=not unpriced,
            unpriced_models=unpriced,
            models=models,
        )


def input_part(parts: dict) -> float:
    """Input-side money in a cost breakdown: every key that is not output/total."""
    return float(sum(v for k, v in parts.items()
                     if isinstance(v, int | float) and k != "total" and "output" not in k and "reason" not in k))
