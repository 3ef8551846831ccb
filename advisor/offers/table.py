"""Load, validate, merge and query the offers table (the one home of provider rules).

Why a data file and not constants: prices, cut-off dates and cache minimums change every few months;
each row carries its source and date, a user file can correct a row without a release, and a decision
can export exactly the rows it used.
"""

from __future__ import annotations

import difflib
import re
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from advisor.kernel.config import read_toml
from advisor.kernel.errors import AdviseError
from advisor.offers.models import (
    CacheRule,
    FineTuneOffer,
    ModelOffer,
    OpenWeightOffer,
    ProviderDefaults,
)

BUNDLED = Path(__file__).with_name("data") / "offers.toml"
STALE_AFTER_DAYS = 90

_SECTIONS: dict[str, type] = {"model": ModelOffer, "open_weight": OpenWeightOffer, "provider": ProviderDefaults}
_SNAPSHOT_SUFFIX = r"(?:-\d{4}-\d{2}-\d{2}|-\d{8}|@\d{8}|-latest|-v\d+(?::\d+)?)?"
_PROVIDER_PREFIXES = ("openai/", "anthropic/", "google/", "gemini/", "vertex_ai/", "models/")


class OffersError(AdviseError):
    """The offers table (bundled or --offers FILE) is malformed."""


class UnknownModelError(AdviseError):
    """A model named explicitly by the user has no row in the offers table."""


# ---------------------------------------------------------------- loading


def _row_line(text: str, section: str, index: int) -> int | None:
    """1-based line of the index-th ``[[section]]`` header (tomllib keeps no positions)."""
    hits = [i + 1 for i, line in enumerate(text.splitlines())
            if re.match(rf"^\s*\[\[\s*{re.escape(section)}\s*\]\]", line)]
    return hits[index] if index < len(hits) else None


def _row_name(raw: dict[str, Any]) -> str:
    parts = [str(raw[k]) for k in ("provider", "model", "kind", "name") if k in raw]
    return " ".join(parts) or "?"


def _read(path: Path) -> tuple[str, dict[str, Any]]:
    text, data = read_toml(path, what="offers file", hint="see docs/offers.md for the format", error=OffersError)
    unknown = sorted(set(data) - set(_SECTIONS) - {"meta"})
    if unknown:
        raise OffersError(f"unknown section(s) {', '.join(unknown)}", file=str(path),
                          hint="use [[model]], [[open_weight]] and [[provider]] tables")
    return text, data


def _validate(cls: type, raw: Any, path: Path, text: str, section: str, index: int):  # type: ignore[no-untyped-def]
    # the row's line is looked up only for an error: scanning the file per row was most of loading the table
    if not isinstance(raw, dict):
        raise OffersError(f"[[{section}]] #{index + 1} is not a table", file=str(path),
                          line=_row_line(text, section, index))
    try:
        return cls.model_validate(raw)
    except ValidationError as exc:
        line = _row_line(text, section, index)
        err = exc.errors()[0]
        field = ".".join(str(p) for p in err["loc"]) or None
        more = f" (+{len(exc.errors()) - 1} more)" if len(exc.errors()) > 1 else ""
        hint = ("every row needs source (the page's URL) and as_of (YYYY-MM-DD)"
                if field in ("source", "as_of") else "see docs/offers.md for the fields, their units and ranges")
        raise OffersError(f"[[{section}]] row #{index + 1} ({_row_name(raw)}): {err['msg']}{more}",
                          file=str(path), line=line, field=field, hint=hint) from exc


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in over.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def _key(section: str, raw: dict[str, Any]) -> tuple:
    if section == "model":
        return (raw.get("provider"), raw.get("model"))
    if section == "open_weight":
        return (raw.get("provider"), raw.get("kind"), raw.get("name"))
    return (raw.get("provider"),)


def _resolve_ft_prices(row: ModelOffer) -> ModelOffer:
    """Fill fine-tuned inference prices from the referenced genai-prices ``ft:`` entry (explicit fields win)."""
    ref = row.fine_tuning.prices_from
    if not ref:
        return row
    from advisor.offers.genai import ft_entry

    entry = ft_entry(ref)
    if entry is None:
        raise OffersError(f"row {row.provider} {row.model}: fine_tuning.prices_from {ref!r} names no "
                          "genai-prices entry", field="fine_tuning.prices_from",
                          hint="use 'genai-prices:<provider>:<entry id>', e.g. 'genai-prices:openai:ft:gpt-4o'")
    ft = row.fine_tuning
    update = {
        "input_mtok": ft.input_mtok if ft.input_mtok is not None else entry.input_mtok,
        "output_mtok": ft.output_mtok if ft.output_mtok is not None else entry.output_mtok,
        "cached_input_mtok": ft.cached_input_mtok if ft.cached_input_mtok is not None else entry.cached_input_mtok,
    }
    return row.model_copy(update={"fine_tuning": ft.model_copy(update=update)})


# ---------------------------------------------------------------- the table


class OfferTable:
    """All rows, with lookups that remember which rows a decision used."""

    def __init__(self, models: list[ModelOffer], open_weights: list[OpenWeightOffer],
                 providers: list[ProviderDefaults], files: list[str]):
        self.models = models
        self.open_weights = open_weights
        self.providers = providers
        self.files = files
        self._used: dict[tuple, ModelOffer | OpenWeightOffer | ProviderDefaults] = {}

    # -- provenance
    def rows(self) -> list[ModelOffer | OpenWeightOffer | ProviderDefaults]:
        return [*self.models, *self.open_weights, *self.providers]

    @property
    def as_of(self) -> date:
        """The oldest row date: the table is only as fresh as its stalest fact."""
        return min(r.as_of for r in self.rows())

    def stale(self, today: date, days: int = STALE_AFTER_DAYS) -> bool:
        return today - self.as_of > timedelta(days=days)

    def stale_warning(self, today: date, days: int = STALE_AFTER_DAYS) -> str | None:
        if not self.stale(today, days):
            return None
        age = (today - self.as_of).days
        return (f"the offers table is {age} days old (oldest row dated {self.as_of.isoformat()}; "
                f"prices and cut-off dates may have changed) — check the sources with `advise offers` "
                f"and correct rows with --offers FILE")

    def _mark(self, row):  # type: ignore[no-untyped-def]
        if row is not None:
            self._used[(type(row).__name__, *row.key)] = row
        return row

    def rows_used(self) -> list[ModelOffer | OpenWeightOffer | ProviderDefaults]:
        return list(self._used.values())

    def export_used(self) -> list[dict[str, Any]]:
        """The rows lookups returned so far, as JSON-ready dicts (for analysis.json)."""
        return [export_row(r) for r in self.rows_used()]

    def reset_used(self) -> None:
        self._used.clear()

    def provenance(self, today: date | None = None) -> dict[str, Any]:
        """What analysis.json records about the market facts a decision used: files, dates, rows."""
        out: dict[str, Any] = {"as_of": self.as_of.isoformat(), "files": list(self.files),
                               "rows": self.export_used()}
        if today is not None:
            out["stale"] = self.stale(today)
            out["warning"] = self.stale_warning(today)
        return out

    # -- hosted models
    def _match(self, provider: str | None, name: str) -> ModelOffer | None:
        wanted = normalise_model_name(name)
        best: tuple[int, ModelOffer] | None = None
        for row in self.models:
            if provider is not None and row.provider != provider.lower():
                continue
            names = [row.model, *row.aliases]
            hit = wanted in names or any(re.fullmatch(re.escape(n) + _SNAPSHOT_SUFFIX, wanted) for n in names)
            if not hit and row.snapshot_pattern:
                hit = re.fullmatch(row.snapshot_pattern, wanted) is not None
            if hit:
                score = max(len(n) for n in names if wanted.startswith(n)) if any(
                    wanted.startswith(n) for n in names) else 0
                if best is None or score > best[0]:
                    best = (score, row)
        return best[1] if best else None

    def model(self, provider: str | None, model: str) -> ModelOffer | None:
        """The row for a model name as logs spell it: dated snapshots, ``ft:`` names, ``openai/`` prefixes."""
        return self._mark(self._match(provider, model))

    def suggest(self, model: str, provider: str | None = None, n: int = 3) -> list[str]:
        names = sorted({nm for r in self.models if provider is None or r.provider == provider
                        for nm in (r.model, *r.aliases)})
        return difflib.get_close_matches(normalise_model_name(model), names, n=n, cutoff=0.6)

    def require_model(self, provider: str | None, model: str) -> ModelOffer:
        """Like :meth:`model` for a name the user typed: unknown → error with a did-you-mean hint."""
        row = self.model(provider, model)
        if row is not None:
            return row
        close = self.suggest(model, provider)
        hint = (f"did you mean {', '.join(repr(c) for c in close)}?" if close
                else "run `advise offers` for the models the table covers, or add a row with --offers FILE")
        raise UnknownModelError(f"no offer row for model {model!r}" + (f" (provider {provider})" if provider else ""),
                                field="model", hint=hint)

    def provider_defaults(self, provider: str | None) -> ProviderDefaults | None:
        if provider is None:
            return None
        return self._mark(next((p for p in self.providers if p.provider == provider.lower()), None))

    def fine_tuning(self, provider: str | None, model: str) -> FineTuneOffer:
        """Fine-tuning offer of a model; a provider's default (usually: none) when the model has no row."""
        row = self.model(provider, model)
        if row is not None:
            return row.fine_tuning
        defaults = self.provider_defaults(provider or guess_provider(model))
        return defaults.fine_tuning if defaults else FineTuneOffer()

    def cache_rule(self, provider: str | None, model: str) -> CacheRule | None:
        """Prompt-caching rule of a model: its own row first, then the provider's default, else None."""
        row = self.model(provider, model)
        if row is not None and row.cache is not None:
            return _with_source(row.cache, row.source)
        defaults = self.provider_defaults(provider or (row.provider if row else guess_provider(model)))
        return _with_source(defaults.cache, defaults.source) if defaults and defaults.cache else None

    # -- open weights
    def open_weight(self, kind: str | None = None, provider: str | None = None) -> list[OpenWeightOffer]:
        """Open-weight offers, optionally of one kind ('serverless_lora' | 'dedicated_gpu') or provider."""
        if kind is not None and kind not in ("serverless_lora", "dedicated_gpu"):
            raise AdviseError(f"unknown open-weight offer kind {kind!r}", field="kind",
                              hint="use serverless_lora or dedicated_gpu")
        out = [r for r in self.open_weights
               if (kind is None or r.kind == kind) and (provider is None or r.provider == provider)]
        for r in out:
            self._mark(r)
        return out


def _with_source(rule: CacheRule, source: str) -> CacheRule:
    """The rule with its row's URL when it has none of its own, so callers can always cite it."""
    return rule if rule.source else rule.model_copy(update={"source": source})


def normalise_model_name(name: str) -> str:
    """Lower-case, drop a routing prefix (``openai/``) and a fine-tune wrapper (``ft:BASE:org::id`` → BASE)."""
    n = name.strip().lower()
    for prefix in _PROVIDER_PREFIXES:
        if n.startswith(prefix):
            n = n[len(prefix):]
    if n.startswith("ft:"):
        n = n[3:].split(":", 1)[0]
    return n


def guess_provider(model: str) -> str | None:
    n = normalise_model_name(model)
    if n.startswith("claude"):
        return "anthropic"
    if n.startswith(("gpt-", "o1", "o3", "o4", "chatgpt")):
        return "openai"
    if n.startswith("gemini"):
        return "google"
    return None


def export_row(row: ModelOffer | OpenWeightOffer | ProviderDefaults) -> dict[str, Any]:
    """JSON-ready row with its kind, key, source and as-of date first."""
    body = row.model_dump(mode="json", exclude_none=True)
    head = {"table": {"ModelOffer": "model", "OpenWeightOffer": "open_weight",
                      "ProviderDefaults": "provider"}[type(row).__name__],
            "source": body.pop("source"), "as_of": body.pop("as_of")}
    return {**head, **body}


def load_offers(extra: Path | str | None = None) -> OfferTable:
    """The bundled table, plus a user TOML file whose rows add to or override it (by provider+model key).

    An override row is merged over the bundled one field by field, and must carry its own source and
    as_of so the merged row never shows the bundled provenance for a number the user changed.
    """
    files = [BUNDLED] + ([Path(extra)] if extra is not None else [])
    raw_rows: dict[str, dict[tuple, dict[str, Any]]] = {s: {} for s in _SECTIONS}
    valid: dict[str, dict[tuple, Any]] = {s: {} for s in _SECTIONS}  # each key's row as validated last
    for path in files:
        text, data = _read(path)
        is_override = path is not BUNDLED
        for section, cls in _SECTIONS.items():
            rows = data.get(section, [])
            if not isinstance(rows, list):
                raise OffersError(f"'{section}' must be an array of tables ([[{section}]])", file=str(path))
            for i, raw in enumerate(rows):
                _validate_partial = isinstance(raw, dict) and is_override
                if _validate_partial:
                    for needed in ("source", "as_of"):
                        if needed not in raw:
                            raise OffersError(f"[[{section}]] row #{i + 1} ({_row_name(raw)}): an override row "
                                              f"needs its own {needed}", file=str(path),
                                              line=_row_line(text, section, i), field=needed,
                                              hint="say where the corrected figure comes from and when")
                key = _key(section, raw) if isinstance(raw, dict) else (i,)
                merged = _merge(raw_rows[section][key], raw) if key in raw_rows[section] else raw
                row = _validate(cls, merged, path, text, section, i)  # fail here, naming this file and row
                raw_rows[section][key] = merged
                valid[section][key] = row
    models = [_resolve_ft_prices(r) for r in valid["model"].values()]
    open_weights = list(valid["open_weight"].values())
    providers = list(valid["provider"].values())
    return OfferTable(models, open_weights, providers, [str(p) for p in files])


_BUNDLED_TABLE: OfferTable | None = None


def bundled() -> OfferTable:
    """The bundled table, loaded once per process (lookups on it track rows_used process-wide)."""
    global _BUNDLED_TABLE
    if _BUNDLED_TABLE is None:
        _BUNDLED_TABLE = load_offers()
    return _BUNDLED_TABLE


def cache_rule(provider: str | None, model: str) -> CacheRule | None:
    """Shortcut on the bundled table for code that has no OfferTable at hand."""
    return bundled().cache_rule(provider, model)
