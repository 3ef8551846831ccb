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
