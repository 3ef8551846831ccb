"""Dated model prices: a user price file first, then the genai-prices snapshot bundled in the wheel.

Why two sources: genai-prices knows public list prices (with their history, tiers and batch
rates) but not fine-tuned, self-hosted or negotiated prices; teams put those in a small
TOML/JSON file. Prices are looked up *at the request's timestamp* so a month of logs that spans
a price change is billed correctly. genai-prices' online updater is never started: its bundled
snapshot is read directly, so a lookup never touches the network.

A model without a price is an error (:class:`UnpricedModelError`, with "did you mean"); it is
never billed $0. Every output names the table's source and date (:meth:`PriceBook.describe`).

Billing rules (:func:`rates`, shared by :meth:`PriceBook.cost_breakdown` and :meth:`PriceBook.bill`), on
normalised :class:`~advisor.kernel.record.Usage`:

* uncached input at ``input_mtok``; cache reads at ``cached_input_mtok`` (no cached price → input price);
* cache writes at ``cache_write_mtok`` (none → input price: OpenAI bills cache writes as plain input);
  the 1-hour subset at ``cache_write_1h_mtok`` (none → 2 × input for Anthropic, whose docs price
  1-hour writes at twice the base input; the 5-minute write price otherwise);
* output, reasoning included, at ``output_mtok``;
* long-context tiers: when a rate is tiered, the tier whose threshold the request's *total* input
  exceeds applies to all its tokens (genai-prices' "cliff" rule);
* batch requests: the table's own batch rates where genai-prices has them for that date, otherwise
  ``batch_discount`` × every part (0.5 for OpenAI and Anthropic, whose batch APIs bill half price);
  no known discount → standard prices (never cheaper than documented).
"""

from __future__ import annotations

import difflib
import fnmatch
import functools
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from datetime import date as Date  # field annotations: a field named `date` shadows the type
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from advisor.kernel.config import read_toml
from advisor.kernel.errors import AdviseError, UnpricedModelError
from advisor.kernel.record import Record, Usage

MTOK = 1_000_000
# Batch APIs documented at half price (OpenAI Batch API, Anthropic Message Batches API, Gemini Batch Mode).
PROVIDER_BATCH_DISCOUNT: dict[str, float] = {"openai": 0.5, "anthropic": 0.5, "google": 0.5}
ANTHROPIC_1H_WRITE_MULTIPLIER = 2.0  # Anthropic prompt caching: 1-hour writes cost 2 × base input
RATE_FIELDS = ("input_mtok", "cached_input_mtok", "cache_write_mtok", "cache_write_1h_mtok", "output_mtok")
_GENAI_KEYS = {"input_mtok": "input_mtok", "cached_input_mtok": "cache_read_mtok",
               "cache_write_mtok": "cache_write_mtok", "cache_write_1h_mtok": "cache_write_1h_mtok",
               "output_mtok": "output_mtok"}


@dataclass(frozen=True)
class TierRate:
    """A long-context rate: `rate_field` costs `mtok` per 1M when a request's input exceeds the threshold."""

    rate_field: str  # one of RATE_FIELDS
    above_input_tokens: int
    mtok: float


@dataclass(frozen=True)
class ModelPrice:
    """Per-1M-token prices of one model on one date, with where they came from."""

    model: str  # the name that was looked up
    provider: str | None
    input_mtok: float
    output_mtok: float | None
    cached_input_mtok: float | None = None  # None → cache reads bill at input_mtok
    cache_write_mtok: float | None = None  # None → cache writes bill at input_mtok
    cache_write_1h_mtok: float | None = None  # None → see module docstring
    currency: str = "USD"
    source: str = ""
    date: str | None = None  # ISO date of the price data
    batch_discount: float | None = None  # batch multiplier (0.5 = half price); None = no batch discount known
    batch_price: ModelPrice | None = None  # exact batch rates from the table, used instead of the multiplier
    tiers: tuple[TierRate, ...] = ()
    matched: str | None = None  # the price table entry (e.g. "gpt-4o" for "gpt-4o-2024-08-06")
    effective_from: str | None = None  # first day these rates apply (price history), when the table says
    note: str | None = None
    training_mtok: float | None = None  # fine-tuning price per 1M training tokens (user file)
    hosting_per_hour: float | None = None  # self-hosting price per hour, in `currency` (user file)
    extra_units: tuple[str, ...] = field(default=())  # priced units advise does not bill (web searches …)

    @property
    def hosting_usd_per_hour(self) -> float | None:
        """Hosting price per hour when the price is in USD (None for other currencies)."""
        return self.hosting_per_hour if self.currency == "USD" else None

    def rates_for(self, input_tokens: int) -> ModelPrice:
        """The flat rates that apply to a request with `input_tokens` total input (tiers resolved)."""
        if not self.tiers:
            return self
        chosen: dict[str, float] = {}
        for tier in sorted(self.tiers, key=lambda t: t.above_input_tokens):
            if input_tokens > tier.above_input_tokens:
                chosen[tier.rate_field] = tier.mtok
        return replace(self, tiers=(), **chosen) if chosen else replace(self, tiers=())

    def describe(self) -> str:
        """One line: where the price comes from and its date."""
        when = f", effective {self.effective_from}" if self.effective_from else ""
        entry = f" as '{self.matched}'" if self.matched and self.matched != self.model else ""
        return f"{self.source}{entry}{when}"


# ---------------------------------------------------------------------------------------------
# user price file
# ---------------------------------------------------------------------------------------------


class _UserModel(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)  # a price of inf/nan is a typo, not a price
    input: float = Field(ge=0, description="per 1M uncached input tokens")
    output: float = Field(ge=0, description="per 1M output tokens (reasoning included)")
    cached_input: float | None = Field(default=None, ge=0)
    cache_write: float | None = Field(default=None, ge=0)
    cache_write_1h: float | None = Field(default=None, ge=0)
    currency: str | None = None
    date: Date | None = None
    source: str | None = None
    provider: str | None = None
    training: float | None = Field(default=None, ge=0, description="per 1M training tokens")
    hosting_per_hour: float | None = Field(default=None, ge=0)
    batch_discount: float | None = Field(default=None, gt=0, le=1)

    @field_validator("currency")
    @classmethod
    def _iso_currency(cls, v: str | None) -> str | None:
        if v is not None and not re.fullmatch(r"[A-Z]{3}", v):
            raise ValueError(f"currency must be a 3-letter ISO code like USD or EUR, got {v!r}")
        return v


class _UserFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    currency: str = "USD"
    date: Date | None = None
    source: str | None = None
    models: dict[str, _UserModel]

    @field_validator("currency")
    @classmethod
    def _iso_currency(cls, v: str) -> str:
        return _UserModel._iso_currency(v) or "USD"


_USER_FIELDS = ", ".join(_UserModel.model_fields)


def _line_of(text: str, key: str) -> int | None:
    """1-based line where the model's table or key appears (for error messages)."""
    for i, line in enumerate(text.splitlines(), 1):
        if f'"{key}"' in line or f"'{key}'" in line or re.match(rf"\s*\[models\.{re.escape(key)}\]", line):
            return i
    return None


def load_price_file(path: str | Path) -> dict[str, ModelPrice]:
    """Read a TOML or JSON price file into ModelPrices keyed by model name (or glob pattern)."""
    p = Path(path)
    if not p.is_file():
        raise AdviseError(f"price file not found: {p}", hint="pass --prices with an existing TOML or JSON file")
    shape = 'expected [models."name"] tables with input/output prices per 1M tokens'
    if p.suffix.lower() != ".json":
        text, raw = read_toml(p, what="price file", hint=shape, finite=False)  # its prices say which model
    else:
        try:
            text = p.read_text(encoding="utf-8")
            raw = json.loads(text)
        except (OSError, UnicodeDecodeError) as exc:
            raise AdviseError(f"cannot read price file: {exc}", file=str(p),
                              hint="save it as UTF-8 JSON text and check its permissions") from exc
        except json.JSONDecodeError as exc:
            raise AdviseError(f"cannot parse price file: {exc}", file=str(p), line=exc.lineno, hint=shape) from exc
    if not isinstance(raw, dict) or "models" not in raw:
        raise AdviseError("price file has no models", file=str(p), field="models",
                          hint='add e.g. [models."my-model"] input = 0.15, output = 0.60, date = "2026-11-01", '
                               'source = "contract"')
    try:
        parsed = _UserFile.model_validate(raw)
    except ValidationError as exc:
        errors = exc.errors()
        err = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])  # a typo explains the rest
        loc = [str(x) for x in err["loc"]]
        line = _line_of(text, loc[1]) if len(loc) > 1 and loc[0] == "models" else None
        where = f'models."{loc[1]}".' + ".".join(loc[2:]) if len(loc) > 2 and loc[0] == "models" else ".".join(loc)
        hint = f"fields per model: {_USER_FIELDS} (prices per 1M tokens)"
        msg = "unknown field" if err["type"] == "extra_forbidden" else err["msg"]
        raise AdviseError(f"invalid price: {msg}", file=str(p), line=line, field=where, hint=hint) from exc

    out: dict[str, ModelPrice] = {}
    for key, m in parsed.models.items():
        when = m.date or parsed.date
        src = m.source or parsed.source
        for name, value in (("date", when), ("source", src)):
            if value is None:
                raise AdviseError(f"price of '{key}' has no {name}", file=str(p), line=_line_of(text, key),
                                  field=f'models."{key}".{name}',
                                  hint=f"every price needs a {name} (per model or at the top of the file) so "
                                       "reports can say where it comes from")
        out[key] = ModelPrice(
            model=key, provider=m.provider, input_mtok=m.input, output_mtok=m.output,
            cached_input_mtok=m.cached_input, cache_write_mtok=m.cache_write, cache_write_1h_mtok=m.cache_write_1h,
            currency=m.currency or parsed.currency, source=f"{p.name}: {src}", date=when.isoformat() if when else None,
            batch_discount=m.batch_discount, matched=key, training_mtok=m.training,
            hosting_per_hour=m.hosting_per_hour,
        )
    return out


# ---------------------------------------------------------------------------------------------
# genai-prices snapshot (offline)
# ---------------------------------------------------------------------------------------------


@functools.cache
def _snapshot() -> Any:
    """The price snapshot bundled in the genai-prices wheel; its online updater is never started."""
    from genai_prices.data import providers
    from genai_prices.data_snapshot import DataSnapshot

    return DataSnapshot(providers=providers, from_auto_update=False)


@functools.cache
def genai_prices_version() -> str:
    from importlib.metadata import version

    return version("genai-prices")


@functools.cache
def snapshot_date() -> str:
    """The snapshot's "data as of" date: its latest dated price change or verification.

    genai-prices stores no release date, so we take the newest date found in its data (price
    start dates, "verified on" notes) that is not after the day the data file was installed —
    later dates are announced future price changes, which still apply to requests on those days.
    """
    import genai_prices.data as data_mod
    from genai_prices.types import ConditionalPrice

    cap = min(datetime.now(UTC).date(), datetime.fromtimestamp(Path(data_mod.__file__).stat().st_mtime, UTC).date())
    dates: set[date] = set()
    verified = re.compile(r"(?:verified|as of|updated)\D{0,12}(20\d\d-\d\d-\d\d)", re.I)
    for provider in _snapshot().providers:
        for text in [provider.price_comments or ""] + [m.price_comments or "" for m in provider.models]:
            dates.update(date.fromisoformat(d) for d in verified.findall(text) if _valid_date(d))
        for model in provider.models:
            conds = model.prices if isinstance(model.prices, list) else []
            for c in conds:
                if isinstance(c, ConditionalPrice) and c.constraint is not None and hasattr(c.constraint, "start_date"):
                    dates.add(c.constraint.start_date)
            for v in model.price_variants or ():
                if v.constraint is not None and hasattr(v.constraint, "start_date"):
                    dates.add(v.constraint.start_date)
    past = [d for d in dates if d <= cap]
    return max(past).isoformat() if past else cap.isoformat()


def _valid_date(text: str) -> bool:
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True


def genai_source() -> str:
    return f"genai-prices {genai_prices_version()} (data as of {snapshot_date()})"


def _rate(value: Any, rate_field: str, tiers: list[TierRate]) -> float | None:
    """A genai-prices Decimal or TieredPrices as a flat base rate, collecting its tiers."""
    if value is None:
        return None
    base = getattr(value, "base", None)
    if base is not None:  # TieredPrices
        for t in value.tiers:
            tiers.append(TierRate(rate_field, int(t.start), float(t.price)))
        return float(base)
    return float(value)


def _active_start(model_info: Any, at: datetime) -> str | None:
    if not isinstance(model_info.prices, list):
        return None
    for cond in reversed(model_info.prices):
        c = cond.constraint
        if c is None or c.active(at):
            return c.start_date.isoformat() if c is not None and hasattr(c, "start_date") else None
    return None


def _from_genai(model: str, provider_id: str, model_info: Any, at: datetime, service_tier: str | None) -> ModelPrice:
    context = {"service_tier": service_tier} if service_tier else None
    standard = model_info.get_prices(at, context)
    batch = model_info.get_prices(at, {**(context or {}), "processing": "batch"})

    def build(mp: Any, note: str | None) -> ModelPrice:
        tiers: list[TierRate] = []
        rates = {ours: _rate(getattr(mp, theirs, None), ours, tiers) for ours, theirs in _GENAI_KEYS.items()}
        if rates["input_mtok"] is None:
            raise UnpricedModelError(f"price table entry '{model_info.id}' has no per-token input price for {model}",
                                     field="model", hint="add the model to a --prices file")
        extra = tuple(sorted(k for k, v in mp.__dict__.items()
                             if v is not None and not k.startswith("_") and k not in _GENAI_KEYS.values()))
        return ModelPrice(
            model=model, provider=provider_id, input_mtok=rates["input_mtok"], output_mtok=rates["output_mtok"],
            cached_input_mtok=rates["cached_input_mtok"], cache_write_mtok=rates["cache_write_mtok"],
            cache_write_1h_mtok=rates["cache_write_1h_mtok"], currency="USD", source=genai_source(),
            date=snapshot_date(), tiers=tuple(tiers), matched=model_info.id,
            effective_from=_active_start(model_info, at), note=note, extra_units=extra,
        )

    note = None
    if model.lower().startswith("ft:"):
        note = f"fine-tuned rate from the price table entry '{model_info.id}'"
    price = build(standard, note)
    if batch != standard:
        batch_price = build(batch, "batch rates from the price table")
        discount = batch_price.input_mtok / price.input_mtok if price.input_mtok else None
        return replace(price, batch_price=batch_price, batch_discount=discount)
    return replace(price, batch_discount=PROVIDER_BATCH_DISCOUNT.get(provider_id))


def _is_fine_tune(name: str) -> bool:
    n = name.lower()
    return n.startswith("ft:") or ".ft-" in n or ":ft-" in n


# ---------------------------------------------------------------------------------------------
# the price book
# ---------------------------------------------------------------------------------------------


class PriceBook:
    """Resolves a model (and provider, date) to a ModelPrice and bills usage with it."""

    def __init__(self, user_file: str | Path | None = None) -> None:
        self.user_file: Path | None = Path(user_file) if user_file is not None else None
        self.user_prices: dict[str, ModelPrice] = load_price_file(self.user_file) if self.user_file else {}
        self._folded = {k.casefold(): v for k, v in self.user_prices.items()}
        self._cache: dict[tuple[str, str | None, date, str | None], ModelPrice] = {}

    # -- lookup ---------------------------------------------------------------------------------

    def _user_lookup(self, model: str) -> ModelPrice | None:
        if model in self.user_prices:
            return self.user_prices[model]
        if (hit := self._folded.get(model.casefold())) is not None:
            return replace(hit, model=model)
        for key, price in self.user_prices.items():  # glob keys: "ft:gpt-4o-mini-2024-07-18:*"
            if any(ch in key for ch in "*?[") and fnmatch.fnmatchcase(model.casefold(), key.casefold()):
                return replace(price, model=model)
        return None

    def warm(self) -> None:
        """Load the bundled price data now (before worker processes fork, so they share it)."""
        _snapshot()

    def _genai_lookup(self, model: str, provider: str | None, at: datetime,
                      service_tier: str | None) -> ModelPrice | None:
        snap = _snapshot()
        candidates: list[tuple[str, str | None]] = []
        if provider:
            candidates.append((model, provider))
        if "/" in model:  # "openai/gpt-4o", "anthropic/claude-…"
            prefix, rest = model.split("/", 1)
            candidates += [(rest, prefix), (rest, provider)] if provider else [(rest, prefix)]
        if _is_fine_tune(model) and provider is None:
            candidates.append((model, "openai"))  # ft:… is OpenAI's fine-tune naming
        candidates.append((model, None))
        for ref, prov in candidates:
            try:
                found_provider, info = snap.find_provider_model(ref, None, prov, None)
            except LookupError:
                continue
            if _is_fine_tune(model) and not _is_fine_tune(info.id):
                continue  # never bill a fine-tuned model at its base model's rates
            return _from_genai(model, found_provider.id, info, at, service_tier)
        return None

    def lookup(self, model: str, provider: str | None = None, at: datetime | None = None, *,
               service_tier: str | None = None) -> ModelPrice:
        """The price of `model` at `at` (default now): the user file first, then genai-prices.

        Fine-tuned models (``ft:…``) need a user-file entry or a fine-tuned entry in genai-prices
        (it has OpenAI's, e.g. ``ft:gpt-4o-mini-2024-…``); they never fall back to the base model.
        """
        at = at or datetime.now(UTC)
        if at.tzinfo is None:
            at = at.replace(tzinfo=UTC)
        key = (model, provider, at.astimezone(UTC).date(), service_tier)
        if key in self._cache:
            return self._cache[key]
        price = self._user_lookup(model)
        if price is not None and price.provider is None and provider:
            price = replace(price, provider=provider)
        price = price or self._genai_lookup(model, provider, at, service_tier)
        if price is None:
            raise self._unpriced(model)
        self._cache[key] = price
        return price

    def known_models(self) -> list[str]:
        """User-file keys plus every model id and exact alias in the genai-prices snapshot."""
        return list(self.user_prices) + [m for m in _known_genai_models() if m not in self.user_prices]

    def suggestions(self, model: str, n: int = 3) -> list[str]:
        """Closest known model names (difflib), for "did you mean"."""
        known = self.known_models()
        if _is_fine_tune(model):  # a base model is no answer for a fine-tune: suggest priced fine-tunes only
            known = [k for k in known if _is_fine_tune(k) or k in self.user_prices]
        folded = {k.casefold(): k for k in known}
        names = [model.casefold(), model.rsplit("/", 1)[-1].casefold()]
        out: list[str] = []
        for name in names:
            for hit in difflib.get_close_matches(name, list(folded), n=n, cutoff=0.6):
                if folded[hit] not in out:
                    out.append(folded[hit])
        return out[:n]

    def _unpriced(self, model: str, requests: int | None = None) -> UnpricedModelError:
        close = self.suggestions(model)
        count = f" ({requests:,} requests)" if requests is not None else ""
        mean = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        ft = (" Fine-tuned models bill at their own rates, never the base model's." if _is_fine_tune(model) else "")
        return UnpricedModelError(
            f"no price for model '{model}'{count}{mean}", field="model",
            hint=f"add it to a price file (--prices prices.toml: [models.\"{model}\"] input = …, output = …, "
                 f"date = \"YYYY-MM-DD\", source = \"…\") or pass --allow-unpriced to report its cost as unknown."
                 f"{ft} Prices: {self.describe()}")

    def unpriced_error(self, request_counts: Mapping[str, int]) -> UnpricedModelError:
        """One error listing every unpriced model with its request count and suggestions."""
        if len(request_counts) == 1:
            (model, n), = request_counts.items()
            return self._unpriced(model, n)
        parts = []
        for model, n in sorted(request_counts.items(), key=lambda kv: -kv[1]):
            close = self.suggestions(model)
            parts.append(f"'{model}' ({n:,} requests" + (f"; did you mean {', '.join(map(repr, close))}?" if close
                                                        else "") + ")")
        return UnpricedModelError(
            f"no price for {len(parts)} models: " + ", ".join(parts), field="model",
            hint="add them to a --prices file or pass --allow-unpriced to report their cost as unknown. "
                 f"Prices: {self.describe()}")

    def check_models(self, request_counts: Mapping[tuple[str, str | None], int], at: datetime | None = None, *,
                     allow_unpriced: bool = False) -> list[str]:
        """The unpriced models among {(model, provider): requests}; raises unless `allow_unpriced`."""
        missing: dict[str, int] = {}
        for (model, provider), n in request_counts.items():
            try:
                self.lookup(model, provider, at)
            except UnpricedModelError:
                missing[model] = missing.get(model, 0) + n
        if missing and not allow_unpriced:
            raise self.unpriced_error(missing)
        return sorted(missing)

    # -- billing --------------------------------------------------------------------------------

    @staticmethod
    def cost_breakdown(usage: Usage, price: ModelPrice, batch: bool = False) -> dict[str, float]:
        """Money per part (input, cache_read, cache_write, cache_write_1h, output, total) in price.currency."""
        rt = rates(price, batch, usage.input_tokens)
        if usage.output_tokens and rt.output is None:
            raise UnpricedModelError(f"no output price for model '{price.model}'", field="model",
                                     hint="add the model with an output price to a --prices file")
        parts = {
            "input": usage.uncached_input_tokens * rt.input / MTOK,
            "cache_read": usage.cache_read_tokens * rt.cache_read / MTOK,
            "cache_write": (usage.cache_write_tokens - usage.cache_write_1h_tokens) * rt.cache_write / MTOK,
            "cache_write_1h": usage.cache_write_1h_tokens * rt.cache_write_1h / MTOK,
            "output": usage.output_tokens * (rt.output or 0.0) / MTOK,
        }
        parts = {k: v * rt.factor for k, v in parts.items()}
        parts["total"] = sum(parts.values())
        return parts

    @staticmethod
    def bill(usage: Usage, price: ModelPrice, batch: bool = False) -> tuple[float, float]:
        """(total, input part) of `cost_breakdown(usage, price, batch)` with the same rates and float arithmetic,
        minus the dict: `advise analyze` bills every record, so this is the per-record path at 1M records."""
        hit = _BILL_RATES.get((id(price), batch))
        if hit is None or hit[0] is not price:
            hit = _bill_rates(price, batch)
        rt = hit[1]
        if rt is None:  # long-context tiers: the rates depend on the request's input, as in cost_breakdown
            parts = PriceBook.cost_breakdown(usage, price, batch)
            return parts["total"], float(parts["input"] + parts["cache_read"] + parts["cache_write"]
                                         + parts["cache_write_1h"])
        out_tokens = usage.output_tokens
        if out_tokens and rt.output is None:
            raise UnpricedModelError(f"no output price for model '{price.model}'", field="model",
                                     hint="add the model with an output price to a --prices file")
        factor = rt.factor
        read, writes, writes_1h = usage.cache_read_tokens, usage.cache_write_tokens, usage.cache_write_1h_tokens
        a = (usage.input_tokens - read - writes) * rt.input / MTOK * factor
        b = read * rt.cache_read / MTOK * factor
        c = (writes - writes_1h) * rt.cache_write / MTOK * factor
        d = writes_1h * rt.cache_write_1h / MTOK * factor
        e = out_tokens * (rt.output or 0.0) / MTOK * factor
        return a + b + c + d + e, float(a + b + c + d)

    def cost(self, record: Record) -> float:
        """What one call cost at list price, in the price's currency (usage estimated offline when absent)."""
        usage = record.usage
        if usage is None:
            from advisor.tokens import estimate_usage

            usage = estimate_usage(record)
        price = self.lookup(record.model, record.provider, record.timestamp, service_tier=record.service_tier)
        return self.cost_breakdown(usage, price, batch=record.batch)["total"]

    def describe(self) -> str:
        """Where prices come from, with dates: shown in every output."""
        text = f"{genai_source()}, bundled snapshot (never updated online)"
        if self.user_file is not None:
            dates = sorted({p.date for p in self.user_prices.values() if p.date})
            span = dates[0] if len(dates) == 1 else f"{dates[0]}..{dates[-1]}" if dates else "undated"
            text = (f"{self.user_file} ({len(self.user_prices)} model{'s' if len(self.user_prices) != 1 else ''}, "
                    f"dated {span}) over {text}")
        return text


@dataclass(frozen=True, slots=True)
class Rates:
    """What one request is billed per 1M tokens of each kind, batch terms and fallbacks applied.

    The one rate computation: `cost_breakdown` and `bill` read their rates from :func:`rates`, the decision's
    cost of a request as logged from :func:`cache_rates`."""

    input: float
    cache_read: float
    cache_write: float
    cache_write_1h: float
    output: float | None  # None: the table lists no output price (billing output tokens is then an error)
    factor: float = 1.0  # batch discount applied to every part (1.0 when the table has batch rates, or none)


def cache_rates(r: ModelPrice) -> tuple[float, float, float]:
    """Cache-read, cache-write and 1-hour-write rates per 1M: the one rule for prices a table does not list.

    No cached price → the input price (never bill less than documented); no write price → the input price
    (OpenAI bills cache writes as plain input); no 1-hour price → Anthropic's documented 2× input, else the
    write price.
    """
    cached = r.cached_input_mtok if r.cached_input_mtok is not None else r.input_mtok
    write = r.cache_write_mtok if r.cache_write_mtok is not None else r.input_mtok
    if r.cache_write_1h_mtok is not None:
        write_1h = r.cache_write_1h_mtok
    elif (r.provider or "").lower() == "anthropic":
        write_1h = ANTHROPIC_1H_WRITE_MULTIPLIER * r.input_mtok
    else:
        write_1h = write
    return cached, write, write_1h


def _batch_terms(price: ModelPrice, batch: bool) -> tuple[ModelPrice, float]:
    """(price to bill at, factor on every part): the table's batch rates, else its batch discount, else list."""
    if batch:
        if price.batch_price is not None:
            return price.batch_price, 1.0
        if price.batch_discount is not None:
            return price, price.batch_discount
    return price, 1.0


def rates(price: ModelPrice, batch: bool = False, input_tokens: int = 0) -> Rates:
    """The rates a request with `input_tokens` of input is billed at (its long-context tier included)."""
    used, factor = _batch_terms(price, batch)
    r = used.rates_for(input_tokens)
    cached, write, write_1h = cache_rates(r)
    return Rates(input=r.input_mtok, cache_read=cached, cache_write=write, cache_write_1h=write_1h,
                 output=r.output_mtok, factor=factor)


_BILL_RATES: dict[tuple[int, bool], tuple[ModelPrice, Rates | None]] = {}


def _bill_rates(price: ModelPrice, batch: bool) -> tuple[ModelPrice, Rates | None]:
    """`rates(price, batch)` computed once per price for `bill`; None when tiers make them per request."""
    used, _ = _batch_terms(price, batch)
    hit = (price, None if used.tiers else rates(price, batch))
    if len(_BILL_RATES) > 4096:
        _BILL_RATES.clear()
    _BILL_RATES[(id(price), batch)] = hit
    return hit


@functools.cache
def _known_genai_models() -> tuple[str, ...]:
    """Model ids and exact-match aliases in the snapshot (for suggestions)."""
    names: dict[str, None] = {}

    def walk(clause: Any) -> None:
        if clause is None:
            return
        if (eq := getattr(clause, "equals", None)) is not None:
            names.setdefault(eq)
        if (sw := getattr(clause, "starts_with", None)) is not None:
            names.setdefault(sw.rstrip("-."))
        for sub in (getattr(clause, "or_", None) or []) + (getattr(clause, "and_", None) or []):
            walk(sub)

    for provider in _snapshot().providers:
        for model in provider.models:
            names.setdefault(model.id)
            walk(model.match)
    return tuple(n for n in names if n)
