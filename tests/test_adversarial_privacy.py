"""Adversarial privacy suite (issue 18.8, 18.9): a PII corpus with every kind, end to end through `advise dataset`.

tests/fixtures/adversarial/pii_corpus.jsonl holds one text per line with the kinds it must report
and the sensitive substrings that must not survive; lines with no kinds are product text that must
come out byte for byte. Every kind in ``trainer.dataset.scrub.KINDS`` has at least one corpus line.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from advisor.cli import main
from trainer.dataset.scrub import COVERAGE, KINDS, NOT_DETECTED, Scrubber

CORPUS = Path(__file__).parent / "fixtures" / "adversarial" / "pii_corpus.jsonl"
ROWS = [json.loads(line) for line in CORPUS.read_text(encoding="utf-8").splitlines() if line.strip()]
POSITIVE = [r for r in ROWS if r["kinds"]]
NEGATIVE = [r for r in ROWS if not r["kinds"]]
ID_SECRET = "sk-ant-api03-Qw3Er7Ty1Ui5Op2As8DfGh4Jk6Lz0XcVb"
ID_EMAIL = "carla.ruiz@example.com"


def test_corpus_covers_every_kind_and_coverage_is_documented():
    assert {k for r in POSITIVE for k in r["kinds"]} == set(KINDS)
    assert set(COVERAGE) == set(KINDS) and NOT_DETECTED
    assert len(NEGATIVE) >= 5


@pytest.mark.parametrize("row", POSITIVE, ids=[f"{r['kinds'][0]}-{i}" for i, r in enumerate(POSITIVE)])
def test_corpus_text_is_scrubbed(row):
    s = Scrubber()
    out = s.text(row["text"])
    assert not [v for v in row["values"] if v in out], out
    assert set(row["kinds"]) <= set(s.report().occurrences), (out, s.report().occurrences)


@pytest.mark.parametrize("row", NEGATIVE, ids=[f"clean-{i}" for i in range(len(NEGATIVE))])
def test_product_text_is_left_alone(row):
    s = Scrubber()
    assert s.text(row["text"]) == row["text"]
    assert s.report().total == 0


def test_sentence_punctuation_stays_outside_the_placeholder():
    assert Scrubber().text("The request came from 151.67.10.4.") == "The request came from <IP_1>."
    assert Scrubber().text("password=hunter2.") == "password=<PASSWORD_1>."


def test_json_strings_are_scrubbed_value_by_value():
    """A secret right after a \\n escape: the JSON text would lose its `n` (issue 18.9)."""
    args = json.dumps({"note": "line one\nZx9Qw3Er7Ty1Ui5Op2As8DfGh4Jk6 end", "password": "hunter2",
                       "to": "ann@example.com"})
    out = Scrubber().text(args)
    value = json.loads(out)
    assert value["note"].startswith("line one\n<SECRET_1>") and value["password"] == "<PASSWORD_1>"
    assert value["to"] == "<EMAIL_1>"
    untouched = '{"sku":"NW-82213","qty":2}'
    assert Scrubber().text(untouched) == untouched  # nothing found: original formatting kept


def _line(i: int, rid: str, user: str, output: str, tool_args: str | None = None) -> str:
    message: dict = {"role": "assistant", "content": output}
    if tool_args is not None:
        message["tool_calls"] = [{"id": f"call_{i}", "type": "function",
                                  "function": {"name": "update_account", "arguments": tool_args}}]
    return json.dumps({
        "request": {"model": "gpt-4o-mini", "messages": [{"role": "system", "content": "You help customers."},
                                                         {"role": "user", "content": user}],
                    "tools": [{"type": "function", "function": {"name": "update_account", "parameters": {
                        "type": "object", "properties": {"note": {"type": "string"}}}}}]},
        "response": {"id": rid, "object": "chat.completion", "created": 1740969129 + i * 60, "model": "gpt-4o-mini",
                     "choices": [{"index": 0, "message": message,
                                  "finish_reason": "tool_calls" if tool_args else "stop"}],
                     "usage": {"prompt_tokens": 120, "completion_tokens": 30, "total_tokens": 150}},
    }, ensure_ascii=False)


def _files(out: Path) -> str:
    return "\n".join(p.read_text(encoding="utf-8") for p in out.iterdir() if p.is_file())


def test_corpus_never_reaches_any_dataset_file(tmp_path: Path):
    """Every corpus value, and a record id holding an e-mail and a key, end to end (metadata included)."""
    lines = []
    for i, row in enumerate(POSITIVE):
        rid = f"req-{ID_EMAIL}-{ID_SECRET}-{i}" if i % 2 == 0 else f"chatcmpl-Zx9Qw3Er7Ty1Ui5Op2As8D{i:03d}"
        lines.append(_line(i, rid, f"Ticket {i}: {row['text']}", f"Noted for ticket {i}."))
    logs = tmp_path / "calls.jsonl"
    logs.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "data"
    assert main(["dataset", str(logs), "-o", str(out), "-q", "--val", "0.1", "--test", "0.5"]) == 0
    blob = _files(out)
    leaked = [v for r in POSITIVE for v in r["values"] if v in blob]
    assert not leaked
    assert ID_EMAIL not in blob and ID_SECRET not in blob
    test_rows = [json.loads(x) for x in (out / "test.jsonl").read_text().splitlines()]
    ids = [r["metadata"]["id"] for r in test_rows]
    assert ids and all("<EMAIL_1>" in x and "<API_KEY_" in x for x in ids if x.startswith("req-"))
    assert any(x.startswith("chatcmpl-Zx9Qw3") for x in ids)  # provider ids stay joinable with the logs
    scrub = json.loads((out / "dataset.json").read_text())["scrub"]
    assert set(scrub["coverage"]) == set(KINDS) and scrub["not_detected"] == NOT_DETECTED
    assert {k for r in POSITIVE for k in r["kinds"]} <= set(scrub["occurrences"])


def test_tool_call_arguments_round_trip_and_validate(tmp_path: Path):
    """Secrets next to \\n escapes inside tool-call arguments: scrubbed, still valid JSON, accepted by validate."""
    lines = []
    for i in range(24):
        args = json.dumps({"note": f"call back\nZx9Qw3Er7Ty1Ui5Op2As8DfGh4Jk{i:02d}\ton +44 20 7946 09{i:02d}",
                           "password": f"hunter{i}", "ticket": i})
        lines.append(_line(i, f"chatcmpl-tool{i:04d}", f"Please update account {i} and note my new details.",
                           "", args))
    logs = tmp_path / "calls.jsonl"
    logs.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "data"
    assert main(["dataset", str(logs), "-o", str(out), "-q", "--val", "0", "--test", "0"]) == 0
    rows = [json.loads(x) for x in (out / "train.jsonl").read_text().splitlines()]
    assert len(rows) == 24
    for r in rows:
        args = json.loads(r["messages"][-1]["tool_calls"][0]["function"]["arguments"])
        assert args["note"].startswith("call back\n<SECRET_") and "\t" in args["note"] and "<PHONE_" in args["note"]
        assert args["password"].startswith("<PASSWORD_") and isinstance(args["ticket"], int)
    assert "hunter1" not in _files(out)
    assert main(["dataset", "validate", str(out / "train.jsonl")]) == 0


def _free_text(**kw):
    """Random text that does not itself hold the planted secrets (hypothesis also draws the test's literals)."""
    return st.text(**kw).filter(lambda s: "hunter2" not in s and "ann@example.com" not in s)


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | _free_text(alphabet=st.characters(codec="utf-8"), max_size=30)
    | st.sampled_from(["\\nZx9Qw3Er7Ty1Ui5Op2As8DfGh4", "line\nann@example.com\t", "pwd: hunter2\r\n",
                       "+44 20 7946 0958\\", "\\u00e9 sk-ant-api03-Zx9Qw3Er7Ty1Ui5Op2As8Df"]),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(_free_text(max_size=8), children, max_size=4),
    max_leaves=12)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(value=st.dictionaries(_free_text(max_size=8), _json_values, min_size=1, max_size=4), indent=st.sampled_from(
    [None, 2, 4]), compact=st.booleans())
def test_any_json_string_stays_valid_json(value, indent, compact):
    """Property (issue 18.9): whatever a JSON string holds, the scrubbed string parses, with the same shape."""
    text = json.dumps(value, indent=indent, separators=(",", ":") if compact and indent is None else None,
                      ensure_ascii=bool(indent))
    out = json.loads(Scrubber().text(text))
    assert isinstance(out, dict) and len(out) <= len(value)
    assert "hunter2" not in json.dumps(out) and "ann@example.com" not in json.dumps(out, ensure_ascii=False)


def test_no_scrub_claims_no_coverage():
    from trainer.dataset.scrub import ScrubReport

    assert ScrubReport(enabled=False).coverage == [] and ScrubReport().coverage == list(COVERAGE)


@pytest.mark.parametrize("text", ["a dot " * 16000 + "at b", "-----BEGIN PRIVATE KEY-----\n" + "QUJD\n" * 20000,
                                  "a." * 40000 + "@", "1:" * 40000, "password: x\n" * 8000, "Name: " + "Aa " * 30000],
                         ids=["spelled-email", "pem", "email-dots", "ipv6", "keywords", "names"])
def test_hostile_long_text_scrubs_in_linear_time(text):
    """~100 kB of near-misses: seconds at most (the unbounded spelled-e-mail pattern took minutes here)."""
    import time

    start = time.process_time()
    Scrubber().text(text)
    assert time.process_time() - start < 10
