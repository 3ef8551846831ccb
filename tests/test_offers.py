"""The offers table: loads, validates, merges user rows, answers lookups, and says when it is stale."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from advisor.cli import main
from advisor.offers import OffersError, UnknownModelError, load_offers


@pytest.fixture(scope="module")
def table():
    return load_offers()


def test_bundled_table_loads_and_every_row_is_sourced_and_dated(table):
    rows = table.rows()
    assert len(table.models) >= 4 and table.open_weights and table.providers
    for r in rows:
        assert r.source.startswith("https://"), r
        assert isinstance(r.as_of, date) and r.as_of <= date(2026, 11, 30), r


@pytest.mark.parametrize("name, key", [
    ("gpt-4o-2024-08-06", ("openai", "gpt-4o")),
    ("gpt-4o-mini-2024-07-18", ("openai", "gpt-4o-mini")),
    ("ft:gpt-4o-mini-2024-07-18:acme::B7x2", ("openai", "gpt-4o-mini")),
    ("openai/gpt-4o", ("openai", "gpt-4o")),
    ("claude-3-5-sonnet-20241022", ("anthropic", "claude-3-5-sonnet")),
    ("claude-sonnet-4-5-20250929", ("anthropic", "claude-sonnet-4-5")),
])
def test_dated_snapshots_resolve_to_their_row(table, name, key):
    row = table.model(None, name)
    assert row is not None and row.key == key


def test_unknown_explicit_name_gets_did_you_mean(table):
    assert table.model(None, "gpt-4oo") is None
    with pytest.raises(UnknownModelError) as err:
        table.require_model(None, "gpt-4oo")
    assert "did you mean" in err.value.render() and "'gpt-4o'" in err.value.render()


def test_openai_fine_tuning_cutoff(table):
    ft = table.model("openai", "gpt-4o").fine_tuning
    assert ft.new_jobs_until == date(2027, 1, 6)
    assert not ft.open_on(date(2026, 11, 30))                 # closed to organisations without access
    assert ft.open_on(date(2026, 11, 30), has_access=True)    # an active fine-tuning customer
    assert not ft.open_on(date(2027, 1, 7), has_access=True)  # nobody after the cut-off


def test_claude_models_have_no_fine_tuning(table):
    for row in table.models:
        if row.provider == "anthropic":
            assert row.fine_tuning.methods == [] and not row.fine_tuning.open_on(date(2026, 11, 30), has_access=True)
    assert table.fine_tuning("anthropic", "claude-unknown-9").methods == []


def test_ft_prices_come_from_genai_prices(table):
    from genai_prices import data

    entries = {m.id: m.prices for p in data.providers if p.id == "openai" for m in p.models}
    for model, entry in (("gpt-4o-mini", "ft:gpt-4o-mini"), ("gpt-4o", "ft:gpt-4o")):
        ft = table.model("openai", model).fine_tuning
        assert ft.input_mtok == float(entries[entry].input_mtok)
        assert ft.output_mtok == float(entries[entry].output_mtok)


def test_bad_row_names_file_row_and_field(tmp_path):
    bad = tmp_path / "offers.toml"
    bad.write_text('[[model]]\nprovider = "openai"\nmodel = "gpt-x"\nsource = "https://x.example/p"\n'
                   'as_of = 2026-11-01\n\n[[model]]\nprovider = "openai"\nmodel = "gpt-y"\n'
                   'source = "https://x.example/p"\nas_of = 2026-11-01\nbatch_discount = 3\n')
    with pytest.raises(OffersError) as err:
        load_offers(bad)
    text = err.value.render()
    assert str(bad) + ":7" in text and "row #2 (openai gpt-y)" in text and "batch_discount" in text


def test_override_file_adds_and_overrides(tmp_path):
    extra = tmp_path / "mine.toml"
    extra.write_text('[[model]]\nprovider = "openai"\nmodel = "gpt-4o"\nsource = "https://contract.example/acme"\n'
                     'as_of = 2026-11-20\n[model.fine_tuning]\ntraining_mtok = 20.0\n\n'
                     '[[model]]\nprovider = "acme"\nmodel = "acme-llm-1"\nsource = "https://acme.example/p"\n'
                     'as_of = 2026-11-20\n')
    table = load_offers(extra)
    gpt4o = table.model("openai", "gpt-4o-2024-08-06")
    assert gpt4o.fine_tuning.training_mtok == 20.0 and gpt4o.source == "https://contract.example/acme"
    assert gpt4o.fine_tuning.new_jobs_until == date(2027, 1, 6)  # untouched fields kept
    assert table.model("acme", "acme-llm-1") is not None


def test_staleness(table):
    assert not table.stale(table.as_of)
    assert table.stale(date.fromordinal(table.as_of.toordinal() + 91))


def test_cli_json_for_one_model(capsys):
    assert main(["offers", "gpt-4o-mini", "--json", "-"]) == 0
    out = json.loads(capsys.readouterr().out)
    (row,) = out["rows"]
    assert row["model"] == "gpt-4o-mini" and row["fine_tuning"]["new_jobs_until"] == "2027-01-06"
    assert row["source"].startswith("https://") and row["as_of"]


def test_cli_warns_when_stale(capsys):
    assert main(["offers", "gpt-4o", "--today", "2027-12-31", "--json", "-"]) == 0
    assert "offers table is" in capsys.readouterr().err


def test_bundled_path_exists():
    from advisor.offers import BUNDLED

    assert Path(BUNDLED).is_file()


# ---------------------------------------------------------------- provider rules


def _flat(v):
    """A genai-prices price as float, or None when absent or tiered (tiers are checked elsewhere)."""
    if v is None or hasattr(v, "tiers"):
        return None
    return float(v)


def test_cache_multipliers_agree_with_genai_prices(table):
    """Where genai-prices prices a row's model flat, cache read/write ÷ input equals the row's multipliers."""
    from genai_prices import data

    by_provider = {p.id: p for p in data.providers}
    checked = 0
    for row in table.models:
        provider = by_provider.get(row.provider)
        if row.cache is None or provider is None:
            continue
        for name in (row.model, *row.aliases):
            info = provider.find_model(name)
            prices = getattr(info, "prices", None)
            if info is None or not hasattr(prices, "input_mtok"):
                continue
            inp, read, write = (_flat(prices.input_mtok), _flat(prices.cache_read_mtok),
                                _flat(prices.cache_write_mtok))
            if not inp:
                continue
            if read is not None:
                assert read / inp == pytest.approx(row.cache.read_multiplier, rel=0.01), (row.model, name)
                checked += 1
            if write is not None:
                assert write / inp == pytest.approx(row.cache.write_multiplier_5m, rel=0.01), (row.model, name)
    assert checked >= 10


def test_cache_minimum_per_model(table):
    # a 1,500-token prefix is not cacheable where the minimum is 4,096 (Haiku 4.5) but is on Sonnet 4.5
    assert table.cache_rule("anthropic", "claude-haiku-4-5-20251001").cacheable_tokens(1500) == 0
    assert table.cache_rule("anthropic", "claude-sonnet-4-5-20250929").cacheable_tokens(1500) == 1500
    assert table.cache_rule("anthropic", "claude-3-5-haiku-20241022").min_tokens == 2048
    # OpenAI caches automatically from 1,024 tokens in 128-token steps
    rule = table.cache_rule("openai", "gpt-4o-2024-08-06")
    assert rule.automatic and rule.cacheable_tokens(1500) == 1024 + 3 * 128
    assert rule.cacheable_tokens(1000) == 0
    # a model the table has no row for falls back to its provider's rule
    assert table.cache_rule(None, "claude-brand-new-9").mode == "explicit"
    assert table.cache_rule("acme", "acme-1") is None
    assert all(table.cache_rule(r.provider, r.model).source.startswith("https://") for r in table.models if r.cache)


def test_fine_tune_horizon_ends_at_retirement(table):
    gpt4o = table.model("openai", "gpt-4o")
    assert gpt4o.fine_tune_until() == date(2027, 1, 14)
    assert gpt4o.fine_tuning.access and all(r.since < gpt4o.fine_tuning.new_jobs_until
                                            for r in gpt4o.fine_tuning.access)
    assert table.model("openai", "gpt-4.1-nano").retired(date(2026, 11, 30))
    assert not table.model("openai", "gpt-4.1").retired(date(2026, 11, 30))


def test_gpt41_ft_prices_are_sourced_outside_genai_prices(table):
    from genai_prices import data

    ft_ids = {m.id for p in data.providers if p.id == "openai" for m in p.models if m.id.startswith("ft:")}
    assert not any(i.startswith("ft:gpt-4.1") for i in ft_ids)
    for name in ("gpt-4.1", "gpt-4.1-mini"):
        ft = table.model("openai", name).fine_tuning
        assert ft.prices_from is None and ft.input_mtok and ft.output_mtok and ft.training_mtok
        assert "pricing" in ft.price_source


def test_every_fine_tunable_row_says_what_training_costs_or_why_not(table):
    for row in table.models:
        ft = row.fine_tuning
        if ft.methods:
            assert ft.where, row.model
            assert ft.training_mtok is not None or ft.note, row.model


def test_open_weight_offers(table):
    serverless = table.open_weight("serverless_lora")
    assert serverless and all(r.input_mtok is not None and r.output_mtok is not None for r in serverless)
    assert any(r.params_b and r.params_b <= 8 for r in serverless)
    gpus = table.open_weight("dedicated_gpu")
    assert gpus and all(r.per_hour and r.throughput_assumption and r.throughput_source for r in gpus)
    with pytest.raises(Exception, match="unknown open-weight offer kind"):
        table.open_weight("spot")


def test_rows_used_are_exported_with_dates():
    table = load_offers()
    table.model("openai", "gpt-4o-2024-08-06")
    table.cache_rule("anthropic", "claude-unknown")
    used = table.export_used()
    assert [(u["table"], u.get("model", u.get("provider"))) for u in used] == [("model", "gpt-4o"),
                                                                              ("provider", "anthropic")]
    assert all(u["source"].startswith("https://") and u["as_of"] for u in used)
    prov = table.provenance(date(2026, 11, 30))
    assert prov["rows"] == used and prov["stale"] is False and prov["as_of"] == table.as_of.isoformat()
    table.reset_used()
    assert table.export_used() == []


def test_bundled_table_was_fresh_when_shipped(table):
    assert not table.stale(date(2026, 11, 30))
    assert table.stale_warning(date(2026, 11, 30)) is None
    assert "days old" in table.stale_warning(date(2027, 6, 1))


# ---------------------------------------------------------------- bad input


def _write(tmp_path, text, name="offers.toml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_row_without_source_is_rejected(tmp_path):
    bad = _write(tmp_path, '[[model]]\nprovider = "x"\nmodel = "y"\nas_of = 2026-11-01\n')
    with pytest.raises(OffersError) as err:
        load_offers(bad)
    assert "source" in err.value.render() and ":1" in err.value.render()


def test_override_row_must_carry_its_own_provenance(tmp_path):
    bad = _write(tmp_path, '[[model]]\nprovider = "openai"\nmodel = "gpt-4o"\n[model.fine_tuning]\ntraining_mtok = 1\n')
    with pytest.raises(OffersError, match="needs its own source"):
        load_offers(bad)


def test_unknown_section_and_bad_toml(tmp_path):
    with pytest.raises(OffersError, match="unknown section"):
        load_offers(_write(tmp_path, '[[modle]]\nprovider = "x"\n'))
    with pytest.raises(OffersError, match="invalid TOML"):
        load_offers(_write(tmp_path, "[[model]\n"))
    with pytest.raises(OffersError, match="cannot read"):
        load_offers(tmp_path / "missing.toml")


def test_throughput_without_assumption_is_rejected(tmp_path):
    bad = _write(tmp_path, '[[open_weight]]\nkind = "dedicated_gpu"\nprovider = "x"\nname = "H100"\ngpu = "H100"\n'
                           'per_hour = 2.0\nthroughput_tokens_per_s = 1000\nsource = "https://x.example"\n'
                           'as_of = 2026-11-01\n')
    with pytest.raises(OffersError, match="throughput_assumption"):
        load_offers(bad)


# ---------------------------------------------------------------- CLI


def test_cli_table_shows_sources_and_dates(capsys):
    assert main(["offers", "claude-sonnet-4-5-20250929"]) == 0
    out = capsys.readouterr().out
    assert "claude-sonnet-4-5" in out and "platform.claude.com" in out and "not sold" in out


def test_cli_json_to_file_and_kind_filter(tmp_path, capsys):
    target = tmp_path / "offers.json"
    assert main(["offers", "--kind", "dedicated_gpu", "--json", str(target)]) == 0
    rows = json.loads(target.read_text())["rows"]
    assert rows and {r["kind"] for r in rows} == {"dedicated_gpu"}


def test_cli_unknown_model_exits_1_with_hint(capsys):
    assert main(["offers", "claude-sonet-4-5"]) == 1
    assert "did you mean" in capsys.readouterr().err


def test_cli_override_file(tmp_path, capsys):
    extra = _write(tmp_path, '[[model]]\nprovider = "acme"\nmodel = "acme-llm-1"\nsource = "https://acme.example/p"\n'
                             'as_of = 2026-11-20\nstructured_output = "json_mode"\n')
    assert main(["offers", "acme-llm-1", "--offers", str(extra), "--json", "-"]) == 0
    (row,) = json.loads(capsys.readouterr().out)["rows"]
    assert row["structured_output"] == "json_mode" and row["source"] == "https://acme.example/p"


# ---------------------------------------------------------------- coverage of the models advise meets


def _example_models() -> set[str]:
    """Model names in the bundled example logs (first lines of each file are enough: one model per file)."""
    import gzip

    root = Path(__file__).resolve().parents[1] / "examples"
    names: set[str] = set()
    def find_model(obj):  # the first "model" string anywhere in a record (formats nest it differently)
        if isinstance(obj, dict):
            if isinstance(obj.get("model"), str):
                return obj["model"]
            obj = list(obj.values())
        if isinstance(obj, list):
            for item in obj:
                found = find_model(item)
                if found:
                    return found
        return None

    for path in root.rglob("*.jsonl*"):
        if path.name.startswith(("labels", "batch_output")):
            continue
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rt", encoding="utf-8") as fh:
            for _, line in zip(range(50), fh, strict=False):
                model = find_model(json.loads(line)) if line.strip() else None
                if model:
                    names.add(model)
    return names


def test_every_example_model_has_a_row(table):
    names = _example_models()
    assert {"gpt-4o-2024-08-06", "claude-3-5-sonnet-20241022"} <= names
    for name in names:
        assert table.model(None, name) is not None, name


@pytest.mark.parametrize("name", [
    "gpt-4o-2024-11-20", "gpt-4.1", "gpt-4.1-mini-2025-04-14", "gpt-4.1-nano", "o3", "o3-mini-2025-01-31",
    "o4-mini", "o1", "gpt-4", "gpt-4-turbo-2024-04-09", "gpt-3.5-turbo", "gpt-5", "claude-3-5-haiku-20241022",
    "claude-3-7-sonnet-20250219", "claude-sonnet-4-20250514", "claude-haiku-4-5", "gemini-2.5-flash",
])
def test_models_the_tests_use_have_rows(table, name):
    assert table.model(None, name) is not None


def test_offers_file_not_utf8_or_with_inf_is_a_clear_error(tmp_path):
    """One TOML reader for every user file (advisor.kernel.config.read_toml): a Latin-1 offers file names its
    line (it was a UnicodeDecodeError traceback), and an inf price is refused like in advise.toml."""
    latin = tmp_path / "latin.toml"
    latin.write_bytes(b'[[model]]\nprovider = "acme"\nnote = "caf\xe9"\n')
    with pytest.raises(OffersError, match="not valid UTF-8") as info:
        load_offers(latin)
    assert info.value.line == 3
    inf = tmp_path / "inf.toml"
    inf.write_text('[[open_weight]]\ninput_mtok = inf\n', encoding="utf-8")
    with pytest.raises(OffersError, match="not a usable number") as info:
        load_offers(inf)
    assert info.value.field == "open_weight.0.input_mtok"
