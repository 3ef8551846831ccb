"""Bills checked to the cent against hand-computed figures, from rates asserted explicitly.

Every expected figure below was computed by hand from the rates asserted in the same test
(tokens × USD per 1M tokens ÷ 1,000,000), not by calling the code under test.
"""

from __future__ import annotations

import dataclasses
import json
import socket
from datetime import UTC, datetime

import pytest

from advisor.cli import main
from advisor.kernel.errors import AdviseError, UnpricedModelError
from advisor.kernel.record import Record, SourceRef, Usage
from advisor.pricing import PriceBook, load_price_file, snapshot_date

AFTER = datetime(2026, 11, 2, 12, tzinfo=UTC)  # genai-prices batch variants are active (from 2026-10-14)
BEFORE_BATCH_TABLE = datetime(2026, 9, 1, 12, tzinfo=UTC)


@pytest.fixture(scope="module")
def book() -> PriceBook:
    return PriceBook()


def _record(model: str, usage: Usage, *, provider: str | None, at: datetime = AFTER, batch: bool = False,
            i: int = 0) -> Record:
    return Record(id=f"r{i}", source_format="test", source=SourceRef(file="t.jsonl", line=i + 1), timestamp=at,
                  provider=provider, model=model, usage=usage, batch=batch)


def _bill(book: PriceBook, model: str, provider: str, rows: list[tuple[Usage, int]], *, at: datetime = AFTER,
          batch: bool = False) -> float:
    """Sum of PriceBook.cost over `count` records of each usage."""
    total = 0.0
    for i, (usage, count) in enumerate(rows):
        total += book.cost(_record(model, usage, provider=provider, at=at, batch=batch, i=i)) * count
    return total


def _rates(price) -> tuple:  # type: ignore[no-untyped-def]
    return (price.input_mtok, price.cached_input_mtok, price.cache_write_mtok, price.cache_write_1h_mtok,
            price.output_mtok)


# --- OpenAI -----------------------------------------------------------------------------------

def test_openai_gpt4o_with_cached_tokens(book: PriceBook) -> None:
    price = book.lookup("gpt-4o-2024-08-06", "openai", AFTER)
    assert _rates(price) == (2.5, 1.25, None, None, 10.0)
    assert price.matched == "gpt-4o" and price.currency == "USD"
    rows = [
        # prompt_tokens 12,000 of which cached 8,192; 850 completion tokens
        (Usage(input_tokens=12_000, cache_read_tokens=8_192, output_tokens=850), 1_000),
        (Usage(input_tokens=2_500, output_tokens=400), 500),
        (Usage(input_tokens=150_000, cache_read_tokens=120_064, output_tokens=2_000), 10),
    ]
    # row 1: 3,808×2.5 + 8,192×1.25 + 850×10 = 9,520 + 10,240 + 8,500 = 28,260 µ$ → ×1,000 = $28.26
    # row 2: 2,500×2.5 + 400×10 = 6,250 + 4,000 = 10,250 µ$ → ×500 = $5.125
    # row 3: 29,936×2.5 + 120,064×1.25 + 2,000×10 = 74,840 + 150,080 + 20,000 = 244,920 µ$ → ×10 = $2.4492
    assert round(_bill(book, "gpt-4o-2024-08-06", "openai", rows), 2) == 35.83  # 28.26 + 5.125 + 2.4492 = 35.8342


def test_openai_o3_reasoning_bills_as_output(book: PriceBook) -> None:
    price = book.lookup("o3", "openai", AFTER)
    assert _rates(price) == (2.0, 0.5, None, None, 8.0)
    assert price.effective_from == "2025-06-10"  # the o3 price cut
    usage = Usage(input_tokens=5_000, cache_read_tokens=2_048, output_tokens=6_000, reasoning_tokens=4_800)
    parts = book.cost_breakdown(usage, price)
    # 2,952×2 = 5,904 µ$; 2,048×0.5 = 1,024 µ$; 6,000×8 = 48,000 µ$ (reasoning inside output)
    assert parts["input"] == pytest.approx(0.005904)
    assert parts["cache_read"] == pytest.approx(0.001024)
    assert parts["output"] == pytest.approx(0.048)
    assert round(_bill(book, "o3", "openai", [(usage, 200)]), 2) == 10.99  # 54,928 µ$ × 200 = $10.9856


def test_price_history_is_dated(book: PriceBook) -> None:
    before = book.lookup("o3", "openai", datetime(2025, 5, 1, tzinfo=UTC))
    assert (before.input_mtok, before.output_mtok) == (10.0, 40.0)  # before the 2025-06-10 cut
    assert before.effective_from is None


def test_openai_batch_is_half_price(book: PriceBook) -> None:
    price = book.lookup("gpt-4o", "openai", AFTER)
    assert price.batch_price is not None
    assert (price.batch_price.input_mtok, price.batch_price.output_mtok) == (1.25, 5.0)
    rows = [(Usage(input_tokens=3_000, output_tokens=500), 2_000)]
    # standard: 3,000×2.5 + 500×10 = 12,500 µ$ → ×2,000 = $25.00; batch: 3,000×1.25 + 500×5 = 6,250 µ$ → $12.50
    assert round(_bill(book, "gpt-4o", "openai", rows), 2) == 25.00
    assert round(_bill(book, "gpt-4o", "openai", rows, batch=True), 2) == 12.50


def test_openai_batch_with_cache_uses_table_rates_then_documented_discount(book: PriceBook) -> None:
    usage = Usage(input_tokens=1_800, cache_read_tokens=1_024, output_tokens=220)
    price = book.lookup("gpt-4o-mini", "openai", AFTER)
    assert _rates(price) == (0.15, 0.075, None, None, 0.6)
    # genai-prices' batch table has no cached rate for gpt-4o-mini, so cached input keeps 0.075
    assert _rates(price.batch_price) == (0.075, 0.075, None, None, 0.3)
    # standard: 776×0.15 + 1,024×0.075 + 220×0.6 = 116.4 + 76.8 + 132 = 325.2 µ$ → ×10,000 = $3.252
    assert round(_bill(book, "gpt-4o-mini", "openai", [(usage, 10_000)]), 2) == 3.25
    # batch (table): 776×0.075 + 1,024×0.075 + 220×0.3 = 58.2 + 76.8 + 66 = 201 µ$ → ×10,000 = $2.01
    assert round(_bill(book, "gpt-4o-mini", "openai", [(usage, 10_000)], batch=True), 2) == 2.01
    # before the batch table existed: the documented 50% discount on every part: 325.2/2 µ$ → $1.626
    early = book.lookup("gpt-4o-mini", "openai", BEFORE_BATCH_TABLE)
    assert early.batch_price is None and early.batch_discount == 0.5
    assert round(_bill(book, "gpt-4o-mini", "openai", [(usage, 10_000)], at=BEFORE_BATCH_TABLE, batch=True),
                 2) == 1.63


# --- Anthropic --------------------------------------------------------------------------------

def test_anthropic_cache_reads_and_5m_1h_writes(book: PriceBook) -> None:
    price = book.lookup("claude-sonnet-4-5-20250929", "anthropic", AFTER)
    assert _rates(price) == (3.0, 0.3, 3.75, 6.0, 15.0)
    assert price.matched == "claude-sonnet-4-5" and price.batch_discount == 0.5
    # Usage.input_tokens is every prompt token (uncached + cache reads + cache writes)
    rows = [
        # cold call writes a 5-minute cache: 1,200×3 + 9,000×3.75 + 300×15 = 3,600 + 33,750 + 4,500 = 41,850 µ$
        (Usage(input_tokens=10_200, cache_write_tokens=9_000, output_tokens=300), 120),  # → $5.022
        # hit: 1,500×3 + 9,000×0.3 + 350×15 = 4,500 + 2,700 + 5,250 = 12,450 µ$
        (Usage(input_tokens=10_500, cache_read_tokens=9_000, output_tokens=350), 2_000),  # → $24.90
        # 1-hour write: 800×3 + 20,000×6 + 500×15 = 2,400 + 120,000 + 7,500 = 129,900 µ$
        (Usage(input_tokens=20_800, cache_write_tokens=20_000, cache_write_1h_tokens=20_000, output_tokens=500),
         50),  # → $6.495
        # mixed: 1,000×3 + 20,000×0.3 + 3,000×3.75 + 2,000×6 + 700×15
        #      = 3,000 + 6,000 + 11,250 + 12,000 + 10,500 = 42,750 µ$
        (Usage(input_tokens=26_000, cache_read_tokens=20_000, cache_write_tokens=5_000, cache_write_1h_tokens=2_000,
               output_tokens=700), 300),  # → $12.825
    ]
    assert round(_bill(book, "claude-sonnet-4-5-20250929", "anthropic", rows), 2) == 49.24  # 49.242
    parts = book.cost_breakdown(rows[3][0], price)
    assert parts["cache_write"] == pytest.approx(0.01125) and parts["cache_write_1h"] == pytest.approx(0.012)
    # batch: every rate halved (Anthropic: caching multipliers stack with the batch discount) → 49.242 / 2
    assert round(_bill(book, "claude-sonnet-4-5-20250929", "anthropic", rows, batch=True), 2) == 24.62


def test_long_context_tier_applies_to_the_whole_request(book: PriceBook) -> None:
    price = book.lookup("claude-sonnet-4-5", "anthropic", AFTER)
    usage = Usage(input_tokens=230_000, cache_read_tokens=20_000, output_tokens=1_000)
    # above 200k input: input 6, cache read 0.6, output 22.5 → 210,000×6 + 20,000×0.6 + 1,000×22.5
    #                                                        = 1,260,000 + 12,000 + 22,500 µ$ = $1.2945
    assert round(book.cost_breakdown(usage, price)["total"], 4) == 1.2945


def test_agrees_with_genai_prices_own_calculator(book: PriceBook) -> None:
    import genai_prices

    usage = Usage(input_tokens=30_000, cache_read_tokens=20_000, cache_write_tokens=5_000,
                  cache_write_1h_tokens=2_000, output_tokens=700)
    theirs = genai_prices.calc_price(
        genai_prices.Usage(input_tokens=30_000, cache_read_tokens=20_000, cache_write_tokens=5_000,
                           cache_write_1h_tokens=2_000, output_tokens=700),
        "claude-sonnet-4-5", provider_id="anthropic", genai_request_timestamp=AFTER)
    ours = book.cost_breakdown(usage, book.lookup("claude-sonnet-4-5", "anthropic", AFTER))["total"]
    assert ours == pytest.approx(float(theirs.total_price), abs=1e-12)


# --- user price file --------------------------------------------------------------------------

def test_user_file_overrides_and_prices_self_hosted(fixtures) -> None:  # type: ignore[no-untyped-def]
    book = PriceBook(fixtures / "prices" / "prices.toml")
    gpt = book.lookup("gpt-4o", "openai", AFTER)
    assert _rates(gpt) == (2.0, 1.0, None, None, 8.0)
    assert gpt.source == "prices.toml: enterprise agreement EA-17" and gpt.date == "2026-11-01"
    assert gpt.provider == "openai"
    # 8,000 uncached×2 + 4,000 cached×1 + 1,000×8 = 16,000 + 4,000 + 8,000 µ$ = $0.028
    assert book.cost_breakdown(Usage(input_tokens=12_000, cache_read_tokens=4_000, output_tokens=1_000),
                               gpt)["total"] == pytest.approx(0.028)
    own = book.lookup("acme-llama-8b-ft")
    assert (own.training_mtok, own.hosting_per_hour, own.hosting_usd_per_hour) == (1.5, 2.25, 2.25)
    ft = book.lookup("ft:gpt-4o-mini-2024-07-18:acme::B7x2", "openai")
    assert (ft.input_mtok, ft.output_mtok, ft.training_mtok) == (0.3, 1.2, 3.0)
    assert "prices.toml" in book.describe() and "genai-prices" in book.describe()


def test_json_price_file_with_currency(fixtures) -> None:  # type: ignore[no-untyped-def]
    prices = load_price_file(fixtures / "prices" / "prices.json")
    p = prices["mistral-small-eu"]
    assert (p.currency, p.date, p.input_mtok) == ("EUR", "2026-10-31", 0.1)
    assert p.hosting_usd_per_hour is None


@pytest.mark.parametrize("name,field,line", [
    ("bad_field.toml", 'models."typo-model".outptu', 8),
    ("bad_negative.toml", 'models."neg-model".input', 4),
    ("no_date.toml", 'models."undated-model".date', 3),
])
def test_bad_price_file_names_file_model_and_field(fixtures, name: str, field: str, line: int) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(AdviseError) as info:
        load_price_file(fixtures / "prices" / name)
    err = info.value
    assert err.file and err.file.endswith(name)
    assert err.field and err.field.startswith(field)
    assert err.line == line and err.hint


def test_fine_tune_never_falls_back_to_base_price(book: PriceBook) -> None:
    ft = book.lookup("ft:gpt-4o-mini-2024-07-18:org::abc", None, AFTER)
    assert ft.matched == "ft:gpt-4o-mini" and (ft.input_mtok, ft.output_mtok) == (0.3, 1.2)
    assert ft.note and "fine-tuned" in ft.note
    with pytest.raises(UnpricedModelError) as info:
        book.lookup("ft:gpt-4.1-mini-2025-04-14:org::x", "openai", AFTER)
    assert "'gpt-4.1-mini-2025-04-14'" not in info.value.message  # no base model offered for a fine-tune
    assert "Fine-tuned models bill at their own rates" in (info.value.hint or "")
    assert all(s.startswith("ft:") for s in book.suggestions("ft:gpt-4.1-mini-2025-04-14:org::x"))


# --- unpriced ---------------------------------------------------------------------------------

def test_unpriced_model_fails_loudly_with_suggestions(book: PriceBook) -> None:
    with pytest.raises(UnpricedModelError) as info:
        book.lookup("claude-sonet-4-5", "anthropic", AFTER)
    msg = info.value.render()
    assert "claude-sonet-4-5" in msg and "did you mean" in msg and "'claude-sonnet-4-5'" in msg
    assert "--allow-unpriced" in msg and "--prices" in msg


def test_unpriced_error_lists_request_counts(book: PriceBook) -> None:
    counts = {("gpt-4oo", "openai"): 1_234, ("gpt-4o", "openai"): 10, ("my-private-model", None): 7}
    with pytest.raises(UnpricedModelError) as info:
        book.check_models(counts, AFTER)
    msg = info.value.message
    assert "'gpt-4oo' (1,234 requests; did you mean 'gpt-4o'" in msg
    assert "'my-private-model' (7 requests)" in msg and "2 models" in msg
    assert book.check_models(counts, AFTER, allow_unpriced=True) == ["gpt-4oo", "my-private-model"]


def test_no_network_during_lookup(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise AssertionError("network access attempted")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    fresh = PriceBook()
    assert fresh.lookup("gpt-4o", "openai", AFTER).input_mtok == 2.5
    assert fresh.lookup("claude-haiku-4-5", None, AFTER).provider == "anthropic"
    with pytest.raises(UnpricedModelError):
        fresh.lookup("no-such-model-anywhere")
    assert snapshot_date() <= datetime.now(UTC).date().isoformat()


# --- CLI --------------------------------------------------------------------------------------

def test_prices_command_shows_price_source_and_date(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["prices", "gpt-4o", "--at", "2026-11-02"]) == 0
    out = capsys.readouterr().out
    assert "2.5 USD / 1M tokens" in out and "1.25 USD / 1M tokens" in out and "10 USD / 1M tokens" in out
    assert "genai-prices" in out and f"data as of {snapshot_date()}" in out and "2026-11-02" in out


def test_prices_command_json_and_user_file(fixtures, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    assert main(["prices", "acme-llama-8b-ft", "--prices", str(fixtures / "prices" / "prices.toml"), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["price"]["input_mtok"] == 0.2 and data["price"]["training_mtok"] == 1.5
    assert data["price"]["source"] == "prices.toml: internal contract 2026-Q4"


def test_prices_command_unknown_model_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["prices", "gpt-4oo"]) == 1
    err = capsys.readouterr().err
    assert "no price for model 'gpt-4oo'" in err and "did you mean 'gpt-4o'" in err


# --- one rate computation (billing, static-prompt share, decision) -------------------------------

def test_one_rate_rule_for_a_cache_read_price_the_table_does_not_list() -> None:
    """`bill` and `cost_breakdown` read one rate computation, and the static-prompt cost share and the decision's
    cost of a request as logged bill an unlisted cache-read price as billing does: at the input price."""
    from advisor.decision.strategies.base import baseline_cost_per_request
    from advisor.metrics.static_prompt import _Family, static_cost_share
    from advisor.pricing import ModelPrice, TierRate
    from tests.test_decide_profiles import anthropic_market, profile

    p = ModelPrice(model="m", provider="anthropic", input_mtok=3.0, output_mtok=15.0, cache_write_mtok=3.75,
                   batch_discount=0.5)  # no cached_input_mtok, no 1-hour write price
    u = Usage(input_tokens=10_000, cache_read_tokens=4_000, cache_write_tokens=2_000, cache_write_1h_tokens=500,
              output_tokens=1_000)
    # µ$: 4,000 uncached × 3 = 12,000; 4,000 reads × 3 (unlisted → input) = 12,000; 1,500 5-min writes × 3.75 = 5,625;
    # 500 1-hour writes × 6 (Anthropic: 2 × input) = 3,000; 1,000 output × 15 = 15,000 → 47,625; input part 32,625
    assert PriceBook.cost_breakdown(u, p) == pytest.approx(
        {"input": 0.012, "cache_read": 0.012, "cache_write": 0.005625, "cache_write_1h": 0.003, "output": 0.015,
         "total": 0.047625})
    assert PriceBook.bill(u, p) == pytest.approx((0.047625, 0.032625))
    # batch: the documented discount (0.5) on every part
    assert PriceBook.bill(u, p, batch=True) == pytest.approx((0.0238125, 0.0163125))
    assert PriceBook.cost_breakdown(u, p, batch=True)["total"] == pytest.approx(0.0238125)
    # a long-context tier (input 6 above 5,000 input tokens) applies to the whole request, cache fallbacks included:
    # 4,000 × 6 + 4,000 × 6 + 1,500 × 3.75 + 500 × 12 + 1,000 × 15 = 74,625 µ$; input part 59,625
    tiered = dataclasses.replace(p, tiers=(TierRate(rate_field="input_mtok", above_input_tokens=5_000, mtok=6.0),))
    assert PriceBook.bill(u, tiered) == pytest.approx((0.074625, 0.059625))
    assert PriceBook.cost_breakdown(u, tiered)["total"] == pytest.approx(0.074625)

    # static-prompt share: one request of 10,000 input tokens, 4,000 read from cache, a 5,000-token static prefix:
    # prefix = 4,000 read × 3 + 1,000 × 3 = 15,000; input = 6,000 × 3 + 4,000 × 3 = 30,000 → 0.5
    fam = _Family("m", "k")
    fam.requests, fam.input_tokens = 1, 10_000
    fam.cache_read.add(4_000)
    assert static_cost_share(fam, 5_000, p) == pytest.approx(0.5, rel=0.02)

    # decision, a logged request of 10,000 input tokens (4,000 of them cache reads) and 1,000 output tokens:
    # 6,000 × 3 + 4,000 × 3 + 1,000 × 15 = 45,000 µ$ (the offers' 0.1× read multiplier would make it 34,200)
    prof = profile(100, 2_000, 8_000, 1_000, prices=p, provider="anthropic", model="m",
                   market=anthropic_market("m")).model_copy(update={"cache_read_tokens": 4_000.0})
    assert prof.market is not None and prof.market.cache is not None and prof.market.cache.read_multiplier == 0.1
    assert baseline_cost_per_request(prof) == pytest.approx(0.045)
