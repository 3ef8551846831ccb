"""The scrubber's gates (cheap necessary conditions that skip a recognizer's regex) never change what it finds.

A gate may let through texts that hold nothing (it is only a filter); it must never turn away a text its
recognizer's pattern matches. Checked two ways: the pattern's own matches (hypothesis `from_regex`, surrounded
by arbitrary text) always pass their gate; the gated scrubber finds exactly the spans of the ungated one on the
adversarial corpus, mutated copies of it (case flips, the non-ASCII letters IGNORECASE equates with ASCII ones,
splices) and real product texts. The generic gate and its case-folding table: tests/test_textgate.py.
"""

from __future__ import annotations

import dataclasses
import gzip
import json
import random
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trainer.dataset.scrub import core
from trainer.dataset.scrub import recognizers as rec

CORPUS = Path(__file__).parent / "fixtures" / "adversarial" / "pii_corpus.jsonl"
EXAMPLES = Path(__file__).parent.parent / "examples"

# Shapes the corpus has few of: the detect-secrets provider keys, every address and name form, dates of birth.
SEEDS = [
    "AKIAIOSFODNN7EXAMPLE and ASIAY34FZKBOKMUTVV7A", "aws_secret_access_key = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY'",
    "DefaultEndpointsProtocol=https;AccountName=x;AccountKey=" + "a1B2" * 22 + ";",
    "https://admin:s3cr3tpass@db.example.com/x", "MTk4NjIyNDgzNDcxOTI1MjQ4.Cl2FMQ.ZnCjm1XVW7vRze4b7Cq4se7kKWs",
    "ghp_" + "a" * 36, "glpat-" + "x1Y2z3" * 4, "GR1348941" + "abcDEF123_" * 3, "glcbt-ab_" + "Zz9" * 8,
    "0123456789abcdef0123456789abcdef-us12", "//registry.npmjs.org/:_authToken=npm_" + "x" * 36,
    "sk-" + "A" * 20 + "T3BlbkFJ" + "b" * 20, "pypi-AgEIcHlwaS5vcmc" + "q" * 70, "SG." + "a" * 22 + "." + "b" * 43,
    "xoxb-123456789012-1234567890123-abcdefghijklmnop", "XOXP-1-2-abc", "sq0csp-" + "Q" * 43, "rk_live_" + "9" * 24,
    "123456789:" + "A" * 35, "AC" + "0" * 32, "SK" + "f" * 32,
    "https://hooks.slack.com/services/T0000/B0000/XXXXXXXX",
    "Send it to 12 Main Street, Apt 4 please", "221B Baker St.", "Hauptstraße 5, Berlin", "Lindenstr. 12a",
    "12 bis, rue de Rivoli", "3 Avenue des Champs", "Via Roma 10", "calle de la Paz Mayor, 7", "Rua Augusta 274",
    "my name is Ann Smith", "Name: José de la Cruz", "Dear Mr. O'Brien,", "Regards, Jean-Luc", "ich heiße Jörg",
    "Mme Dupont", "customer : Li Wei", "Ich heisse Anna", "born on 3 March 1990", "DOB: 1990-03-03",
    "d.o.b 03/03/1990", "date of birth 1 Jan 1980", "née le 12/05/1975", "geboren am 1.2.1999", "birthday is May 5, 1985",
    "passport no. X1234567", "call me on 020 7946 0958", "SSN 123 45 6789", "123-45-6789", "4111 1111 1111 1111",
    "DE89 3704 0044 0532 0130 00", "gb82west12345698765432", "10.0.0.1.", "fe80::1:2:3:4", "2001:db8::1",
    "Authorization: Bearer abcdefghijklmnop", "password = hunter2", "eyJhbGciOi.eyJzdWIiOiIx.SflKxwRJSMeKKF2QT4fw",
]
# IGNORECASE equates these with ASCII letters; they are spliced in to prove the gates fold them.
SPECIALS = {"i": ["\u0130", "\u0131"], "k": ["\u212a"], "s": ["\u017f"], "I": ["\u0130", "\u0131"], "K": ["\u212a"],
            "S": ["\u017f"], "é": ["É"], "ß": ["ẞ"]}


def _corpus() -> list[str]:
    rows = [json.loads(line) for line in CORPUS.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [r["text"] for r in rows] + SEEDS


def _mutate(text: str, rng: random.Random, pool: list[str]) -> str:
    chars = list(text)
    for i, c in enumerate(chars):
        r = rng.random()
        if r < 0.15:
            chars[i] = c.swapcase()
        elif r < 0.25 and c in SPECIALS:
            chars[i] = rng.choice(SPECIALS[c])
        elif r < 0.27:
            chars[i] = rng.choice(" .-:/,_\n\t0123456789aZ")
        elif r < 0.28:
            chars[i] = ""
    out = "".join(chars)
    if rng.random() < 0.3:
        out = rng.choice(pool) + rng.choice([" ", ", ", "\n", ": ", ""]) + out
    if rng.random() < 0.3:
        out += rng.choice([" ", ". ", "\n"]) + rng.choice(pool)
    return out


def _product_texts(limit: int = 400) -> list[str]:
    """Real message and output texts of the bundled ecommerce example (digit-rich product text)."""
    out: list[str] = []
    with gzip.open(EXAMPLES / "ecommerce" / "openai_chat.jsonl.gz", "rt", encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            out += [m["content"] for m in row["request"]["messages"] if isinstance(m.get("content"), str)]
            out += [c["message"]["content"] for c in row["response"].get("choices", [])
                    if isinstance(c.get("message", {}).get("content"), str)]
            if len(out) >= limit:
                break
    return out


def _texts() -> list[str]:
    base = _corpus()
    rng = random.Random(20261130)
    return base + [_mutate(rng.choice(base), rng, base) for _ in range(2500)] + _product_texts()


TEXTS = _texts()


def test_gated_spans_equal_ungated_spans(monkeypatch: pytest.MonkeyPatch) -> None:
    gated = [core.find_spans(t) for t in TEXTS]
    with monkeypatch.context() as m:
        m.setattr(core, "RECOGNIZERS", tuple(dataclasses.replace(r, needed=None, digits=False)
                                             for r in rec.RECOGNIZERS))
        patterns = tuple((p, g, None) for p, g, _ in rec._provider_patterns())
        m.setattr(rec, "_provider_patterns", lambda: patterns)
        plain = [core.find_spans(t) for t in TEXTS]
    assert sum(1 for s in plain if s) > 1000  # the texts do hold things to find
    for text, a, b in zip(TEXTS, gated, plain, strict=True):
        assert a == b, text


def test_each_gate_passes_every_text_its_recognizer_finds_something_in() -> None:
    found = dict.fromkeys(range(len(rec.RECOGNIZERS)), 0)
    for text in TEXTS:
        has_digit = core._DIGIT.search(text) is not None
        for i, r in enumerate(rec.RECOGNIZERS):
            if next(iter(r.find(text)), None) is not None:
                found[i] += 1
                assert (has_digit or not r.digits) and (r.needed is None or r.needed(text)), (r.kind, text)
    assert all(found[i] > 0 for i in found), found  # every recognizer found something at least once


def _gate(kind: str, nth: int = 0, digits: bool = True):
    """The recognizer's gate; `digits=False` leaves out its has-a-digit test, for a recognizer whose digit comes
    from its validator rather than its pattern."""
    r = [x for x in rec.RECOGNIZERS if x.kind == kind][nth]
    return lambda t: ((not (digits and r.digits) or core._DIGIT.search(t) is not None)
                      and (r.needed is None or r.needed(t)))


# (pattern, the gate of the recognizer that runs it): any match of the raw pattern, validators aside, must pass
GATED_PATTERNS = [
    (rec._API_KEY, _gate("api_key")), (rec._IPV4, _gate("ip")), (rec._IPV6, _gate("ip", 1)), (rec._CARD, _gate("card")),
    (rec._SSN, _gate("ssn")), (rec._IBAN, _gate("iban")), (rec._PHONE, _gate("phone")), (rec._DOB, _gate("date_of_birth")),
    (rec._ADDRESS, _gate("address")), (rec._NAME, _gate("name")), (rec._TOKENISH, _gate("secret")),
    (rec._JWT, _gate("jwt")), (rec._BEARER, _gate("bearer")), (rec._PASSPORT, _gate("passport", digits=False)),
]


@pytest.mark.parametrize(("pattern", "gate"), GATED_PATTERNS, ids=lambda x: getattr(x, "pattern", "")[:24])
@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(data=st.data())
def test_a_match_of_the_pattern_always_passes_its_gate(pattern: re.Pattern[str], gate, data: st.DataObject) -> None:
    text = data.draw(st.from_regex(pattern))
    assert pattern.search(text) is not None
    assert gate(text), text


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(data=st.data())
def test_every_match_of_each_provider_pattern_passes_its_gate(data: st.DataObject) -> None:
    for pattern, _group, needed in rec._provider_patterns():
        if needed is None:
            continue
        text = data.draw(st.from_regex(pattern))
        if pattern.search(text) is not None:
            assert needed(text), (pattern.pattern, text)


@pytest.mark.parametrize(("text", "kind"), [
    ("PAssport No. X1234567", "passport"),  # the old gate asked for "ass" or "ASS"
    ("Anna dot Schmidt At example dot com", "email"),  # … for a lowercase "at"
    ("ann [ at ] example.com", "email"),  # … for "dot", "[at]" or "(at)"
    ("the pa\u017fsword is hunter22", "password"),  # … for "pass" in text.lower(), which keeps the long s
    ("header BEARer abcdefghijklmnop1234", "bearer"),  # … for "earer" or "EARER"
])
def test_texts_the_old_gates_turned_away_are_scrubbed(text: str, kind: str) -> None:
    from trainer.dataset.scrub import Scrubber

    scrubber = Scrubber()
    assert f"<{kind.upper()}_1>" in scrubber.text(text)
