"""Acceptance: the static prefix of the generated ecommerce example is found within ±2 % of its true size."""

from __future__ import annotations

import json

import pytest

from advisor.cli import main


@pytest.fixture(scope="module")
def ecommerce(tmp_path_factory):
    from examples.generate import write_scenario

    out = tmp_path_factory.mktemp("ecommerce")
    truth = write_scenario("ecommerce", out, seed=3, days=2, per_day=400, sample_rate=1.0, force=True)
    return out, truth


def test_static_prefix_within_two_percent_of_truth(ecommerce, tmp_path, monkeypatch, capsys):
    logs, truth = ecommerce
    monkeypatch.chdir(tmp_path)
    assert main(["analyze", str(logs), "--json", "-", "--allow-unpriced"]) == 0
    a = json.loads(capsys.readouterr().out)
    fam = max(a["prompt_families"], key=lambda f: f["requests"])
    true_tokens = truth["static_system_prompt_tokens_o200k"]
    assert fam["static_prefix_tokens"] == pytest.approx(true_tokens, rel=0.02)
    assert fam["static_tokens_by_kind"]["system"] == pytest.approx(true_tokens, rel=0.02)
    assert a["data_quality"]["records"] == truth["records"]
