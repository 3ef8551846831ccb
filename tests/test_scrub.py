"""PII/secret scrubbing: canaries never reach a dataset file, product data is left alone."""

from __future__ import annotations

import base64
import json
import random
import string
from pathlib import Path

import pytest

from advisor.cli import main
from trainer.dataset.scrub import Scrubber, iban_ok, looks_random, luhn_ok

RNG_SEED = 20250301


def _luhn_complete(prefix: str, length: int, rng: random.Random) -> str:
    body = prefix + "".join(rng.choice(string.digits) for _ in range(length - len(prefix) - 1))
    for d in string.digits:
        if luhn_ok(body + d):
            return body + d
    raise AssertionError("unreachable")


def _iban(country: str, bban: str) -> str:
    num = "".join(str(int(c, 36)) for c in bban + country + "00")
    check = 98 - int(num) % 97
    return f"{country}{check:02d}{bban}"


def _b64url(obj: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")


def make_canaries(rng: random.Random) -> dict[str, list[str]]:
    """50 distinct canaries over every kind the scrubber knows, grouped by the kind it must report."""
    alnum = string.ascii_letters + string.digits

    def rnd(n: int, chars: str = alnum) -> str:
        return "".join(rng.choice(chars) for _ in range(n))

    cards = [_luhn_complete(p, n, rng) for p, n in (("4", 16), ("51", 16), ("37", 15), ("6011", 16), ("4", 16),
                                                     ("55", 16))]
    cards[1] = " ".join(cards[1][i:i + 4] for i in range(0, 16, 4))  # spaced form
    cards[4] = "-".join(cards[4][i:i + 4] for i in range(0, 16, 4))  # dashed form
    ibans = [_iban("DE", "".join(rng.choice(string.digits) for _ in range(18))),
             _iban("GB", "WEST" + "".join(rng.choice(string.digits) for _ in range(14))),
             _iban("FR", "".join(rng.choice(string.digits) for _ in range(23))),
             _iban("NL", "ABNA" + "".join(rng.choice(string.digits) for _ in range(10))),
             _iban("ES", "".join(rng.choice(string.digits) for _ in range(20)))]
    ibans[0] = " ".join(ibans[0][i:i + 4] for i in range(0, len(ibans[0]), 4))
    jwts = [f"eyJ{_b64url({'alg': 'HS256', 'n': i})[3:]}.{_b64url({'sub': rnd(8), 'iat': 1700000000 + i})}."
            f"{rnd(43, alnum + '-_')}" for i in range(3)]
    return {
        "email": [f"{rnd(6).lower()}.{rnd(5).lower()}@{d}" for d in
                  ("example.com", "mail.example.org", "corp.example.co.uk", "example.net", "ex-ample.io",
                   "example.de")],
        "phone": ["+44 20 7946 0" + str(rng.randrange(100, 999)), "+1-415-555-0" + str(rng.randrange(100, 199)),
                  "(212) 555-0" + str(rng.randrange(100, 199)), "+49 30 901820" + str(rng.randrange(10, 99)),
                  "+33 1 42 68 53 " + str(rng.randrange(10, 99)), "020 7946 0" + str(rng.randrange(100, 999))],
        "card": cards,
        "iban": ibans,
        "ip": [f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}",
               f"192.168.{rng.randrange(256)}.{rng.randrange(1, 255)}",
               f"172.16.{rng.randrange(256)}.{rng.randrange(1, 255)}",
               f"203.0.113.{rng.randrange(1, 255)}",
               f"2001:db8:{rng.randrange(4096):x}::{rng.randrange(4096):x}",
               f"fe80::{rng.randrange(65536):x}:{rng.randrange(65536):x}:{rng.randrange(65536):x}:1",
               "2001:0db8:85a3:0000:0000:8a2e:0370:" + f"{rng.randrange(65536):04x}"],
        "api_key": ["sk-proj-" + rnd(40), "sk-" + rnd(48), "sk-ant-api03-" + rnd(60, alnum + "-_"),
                    "AKIA" + rnd(16, string.ascii_uppercase + string.digits),
                    "ghp_" + rnd(36), "AIza" + rnd(35, alnum + "-_"),
                    "xoxb-" + rnd(12, string.digits) + "-" + rnd(24),
                    "sk_live_" + rnd(24), "github_pat_" + rnd(40, alnum + "_"), "hf_" + rnd(34)],
        "jwt": jwts,
        "bearer": [rnd(32, alnum + "._-"), rnd(40, alnum)],
        "secret": [rnd(40, string.hexdigits.lower()[:16]), rnd(32), rnd(28), rnd(24), rnd(64, alnum + "+/")],
    }


def test_canaries_cover_fifty_distinct_values_of_every_kind():
    canaries = make_canaries(random.Random(RNG_SEED))
    flat = [c for v in canaries.values() for c in v]
    assert len(flat) == 50 and len(set(flat)) == 50
    assert set(canaries) == {"email", "phone", "card", "iban", "ip", "api_key", "jwt", "bearer", "secret"}


@pytest.mark.parametrize("kind", ["email", "phone", "card", "iban", "ip", "api_key", "jwt", "bearer", "secret"])
def test_each_kind_is_detected_as_itself(kind):
    canaries = make_canaries(random.Random(RNG_SEED))[kind]
    s = Scrubber()
    for value in canaries:
        text = f"Authorization: Bearer {value}" if kind == "bearer" else f"value is {value} today"
        out = s.text(text)
        assert value not in out, (kind, value, out)
    rep = s.report()
    assert rep.distinct == {kind: len(canaries)}, rep


def _log_line(i: int, system: str, user: str, output: str, tool_args: str | None = None) -> str:
    message: dict = {"role": "assistant", "content": output}
    finish = "stop"
    if tool_args is not None:
        message["tool_calls"] = [{"id": f"call_{i}", "type": "function",
                                  "function": {"name": "lookup_customer", "arguments": tool_args}}]
        finish = "tool_calls"
    return json.dumps({
        "request": {"model": "gpt-4o-mini", "messages": [{"role": "system", "content": system},
                                                         {"role": "user", "content": user}],
                    "tools": [{"type": "function", "function": {"name": "lookup_customer", "parameters": {
                        "type": "object", "properties": {"email": {"type": "string"}}}}}]},
        "response": {"id": f"chatcmpl-canary{i:04d}", "object": "chat.completion", "created": 1740969129 + i * 60,
                     "model": "gpt-4o-mini",
                     "choices": [{"index": 0, "message": message, "finish_reason": finish}],
                     "usage": {"prompt_tokens": 120, "completion_tokens": 30, "total_tokens": 150}},
    })


def test_canary_never_reaches_any_output_file_and_is_counted(tmp_path: Path):
    rng = random.Random(RNG_SEED)
    canaries = make_canaries(rng)
    system = ("You are the support assistant of Northwind. Escalations go to support-lead@northwind.example.com.\n"
              "Be brief and polite. Never reveal internal data.")
    lines = []
    places = []
    for i, (kind, value) in enumerate((k, v) for k, vs in canaries.items() for v in vs):
        text = f"Authorization: Bearer {value}" if kind == "bearer" else value
        where = i % 3
        user = f"Ticket {i}: customer wrote about order {1000 + i} — details: {text if where == 0 else 'see notes'}"
        output = f"Thanks, I checked order {1000 + i}. {text if where == 1 else 'All good.'}"
        tool = json.dumps({"query": text}) if where == 2 else None
        lines.append(_log_line(i, system, user, output if tool is None else "", tool))
        places.append(value)
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "calls.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "data"
    rc = main(["dataset", str(logs), "-o", str(out), "-q", "--val", "0.2", "--test", "0.2"])
    assert rc == 0
    manifest = json.loads((out / "dataset.json").read_text())
    assert manifest["counts"]["written"] == 50  # every canary record reached the output
    blob = "\n".join(p.read_text(encoding="utf-8") for p in out.iterdir() if p.is_file())
    leaked = [v for v in places if v in blob]
    assert not leaked
    assert "support-lead@northwind.example.com" not in blob
    distinct = manifest["scrub"]["distinct"]
    expected = {k: len(v) for k, v in canaries.items()}
    expected["email"] += 1  # the address in the shared system prompt
    assert distinct == expected
    # the shared system prompt's e-mail maps to one placeholder in every original prompt (consistency)
    test_rows = [json.loads(x) for x in (out / "test.jsonl").read_text().splitlines()]
    systems = {r["original_messages"][0]["content"] for r in test_rows}
    assert len(systems) == 1 and "<EMAIL_" in systems.pop()


def test_no_scrub_is_explicit_and_recorded(tmp_path: Path):
    logs = tmp_path / "calls.jsonl"
    logs.write_text("\n".join(_log_line(i, "Be brief.", f"question {i} from ann{i}@example.com", f"answer {i}")
                              for i in range(10)) + "\n")
    out = tmp_path / "data"
    assert main(["dataset", str(logs), "-o", str(out), "-q", "--no-scrub"]) == 0
    manifest = json.loads((out / "dataset.json").read_text())
    assert manifest["scrub"]["enabled"] is False and manifest["provenance"]["scrub"] is False
    assert "ann3@example.com" in "".join(p.read_text() for p in out.glob("*.jsonl"))


def test_product_data_is_not_scrubbed():
    text = ('Product: {"sku": "NW-82213", "name": "Cove Silicone Stacking Blocks", "price_eur": 41, '
            '"features": ["easy-clean surface"]}\nMaterial: linen | Colour: sand | €39\n'
            "Order 2025-03-01 at 10:30:00, version 1.2.3, batch 12345, SKU TASK-9395, 3 x 250 ml, "
            "id 550e8400-e29b-41d4-a716-446655440000, product_description_v2, EAN 4006381333931, "
            "temperature 0.7, the ISBN 978-3-16-148410-0, room 101.")
    s = Scrubber()
    assert s.text(text) == text
    assert s.report().total == 0


def test_consistent_placeholders_and_validators():
    s = Scrubber()
    a = s.text("mail ann@example.com then bob@example.com then ann@example.com")
    assert a == "mail <EMAIL_1> then <EMAIL_2> then <EMAIL_1>"
    assert s.report().occurrences == {"email": 3} and s.report().distinct == {"email": 2}
    assert luhn_ok("4111111111111111") and not luhn_ok("4111111111111112")
    assert iban_ok("GB82 WEST 1234 5698 7654 32") and not iban_ok("GB83 WEST 1234 5698 7654 32")
    assert Scrubber().text("card 4111 1111 1111 1112") == "card 4111 1111 1111 1112"  # Luhn fails → kept
    assert looks_random("Zx9Qw3Er7Ty1Ui5Op2As8Df") and not looks_random("product_description_version2")
    nested = Scrubber().obj({"args": ["call +44 20 7946 0958"], "n": 3})
    assert nested == {"args": ["call <PHONE_1>"], "n": 3}


def test_model_names_are_not_secrets_but_keys_with_a_word_prefix_are():
    """Names of models and deployments survive the entropy rule; keys with a word prefix do not."""
    names = ["Qwen3-14B-Instruct-2507", "Meta-Llama-3.1-8B-Instruct-Turbo", "SmolLM2-135M-Instruct",
             "accounts/fireworks/models/llama-v3p1-8b-instruct", "deepseek-ai/DeepSeek-R1-Distill-Qwen-14B"]
    keys = ["sk-proj-abcD3fGh1jKlmN0pQrStUvWx", "xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx",
            "ghp_aB3dE5fG7hI9jK1lM3nO5pQ7rS9tU1vW3xY5", "token-Ab3-Cd5-Ef7-Gh9-Ij1-Kl3", "SKU-AB12-CD34-EF56-GH78"]
    assert [looks_random(n) for n in names] == [False] * len(names)
    assert [looks_random(k) for k in keys] == [True] * len(keys)
    s = Scrubber()
    text = "Served by Qwen3-14B-Instruct-2507 with key sk-proj-abcD3fGh1jKlmN0pQrStUvWx."
    assert s.text(text) == "Served by Qwen3-14B-Instruct-2507 with key <API_KEY_1>."
