"""advisor.textgate: a gate is False only for texts its pattern cannot match (it never changes a result)."""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from advisor.failures.volatility import SIGNALS
from advisor.textgate import IGNORECASE_ASCII, folded, gate, required

EXAMPLES = Path(__file__).parent.parent / "examples"


def _example_check_patterns() -> list[str]:
    """Every regex of every bundled example's advise.toml checks (the patterns users actually write)."""
    out = []
    for toml in sorted(EXAMPLES.rglob("advise.toml")):
        for check in tomllib.loads(toml.read_text(encoding="utf-8")).get("failures", {}).get("checks", []):
            out += [check[k] for k in ("must_match", "must_not_match", "full_match", "count_pattern") if check.get(k)]
    return out


PATTERNS = [*_example_check_patterns(), *(p.pattern for p in SIGNALS.values()),
            r"(?i)!|\b(amazing|must-have|game-changer)\b", r"Made to last\.$", r"(?i)\bpass(?:port|nummer)\s*(\d+)",
            r"(?:ab|cd)+e?f", r"x(?:yz)*w", r"(?i)stra(?:ß|ss)e \d+", r"[A-Z]{3}-\d{4}", r"(?s)BEGIN.*?END"]


def test_example_configs_have_patterns() -> None:
    assert len(_example_check_patterns()) >= 5


def test_only_four_non_ascii_characters_match_an_ascii_letter_ignoring_case() -> None:
    """What folded() and every case-insensitive gate rely on (Python's re, IGNORECASE, str patterns)."""
    letters = re.compile("[a-z]", re.I)
    found = {cp for cp in range(0x80, sys.maxunicode + 1) if letters.fullmatch(chr(cp))}
    assert set(found) == set(IGNORECASE_ASCII)
    assert all(re.fullmatch(IGNORECASE_ASCII[cp], chr(cp), re.I) for cp in IGNORECASE_ASCII)
    assert [cp for cp in range(sys.maxunicode + 1) if len(chr(cp).lower()) != 1] == [0x130]
    assert folded("Bırthday İS ſoon, K") == "birthday is soon, k"


@pytest.mark.parametrize(("pattern", "expected"), [
    (r"AccountKey=[a-z]{8}", {"AccountKey="}),
    (r"[0-9a-z]{32}-us[0-9]{1,2}", {"-us"}),
    (r"(?i)!|\b(amazing|stunning)\b", {"!", "amazing", "stunning"}),
    (r"(?i)Made TO last", {"made to last"}),
    (r"(ab|cd)x", {"ab", "cd"}),  # the branch (2 characters) beats the single x
    (r"a(?:yz)+", {"yz"}),  # a repeat of at least one holds its body
    (r"(?:yz)*", None),  # zero repeats need nothing
    (r"(?=abc)[a-z]", None),  # an assertion consumes nothing
    (r"abc|", None),  # an empty alternative needs nothing
    (r"(?i:abc)d", {"d"}),  # a scoped flag changes matching: not read
    (r"(?i)stra(?:ß|ss)e", {"stra"}),
    (r"(?i)ße", None),  # a non-ASCII letter under IGNORECASE: lower() is not re's folding
])
def test_required_strings(pattern: str, expected: set[str] | None) -> None:
    got = required(re.compile(pattern))
    assert (None if got is None else set(got)) == expected


_ATOM = st.sampled_from(["a", "b", "A", "é", "!", "ß", "k", "s", "i", ".", "[ab]", r"\d", r"\w", r"\b", "x y"])


def _regexes() -> st.SearchStrategy[str]:
    return st.recursive(_ATOM, lambda inner: st.one_of(
        st.tuples(inner, inner).map("".join),
        st.tuples(inner, inner).map(lambda p: f"(?:{p[0]}|{p[1]})"),
        st.tuples(inner, st.sampled_from(["*", "+", "?", "{2,3}", "+?"])).map(lambda p: f"(?:{p[0]}){p[1]}"),
        inner.map(lambda p: f"({p})"),
        inner.map(lambda p: f"(?i:{p})"),
        inner.map(lambda p: f"(?=x){p}"),
    ), max_leaves=8)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(source=_regexes(), ignorecase=st.booleans(), data=st.data())
def test_a_match_always_passes_the_gate_of_random_patterns(source: str, ignorecase: bool, data: st.DataObject) -> None:
    try:
        pattern = re.compile(source, re.IGNORECASE if ignorecase else 0)
    except re.error:
        assume(False)
        return
    test = gate(pattern)
    assume(test is not None)
    text = data.draw(st.from_regex(pattern))
    if pattern.search(text) is not None:
        assert test(text), (source, ignorecase, text)


@pytest.mark.parametrize("source", PATTERNS)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(data=st.data())
def test_a_match_always_passes_the_gate_of_real_patterns(source: str, data: st.DataObject) -> None:
    pattern = re.compile(source)
    test = gate(pattern)
    if test is None:
        return
    text = data.draw(st.from_regex(pattern))
    if pattern.search(text) is not None:
        assert test(text), (source, text)


def test_no_gate_where_re_already_skips_to_a_leading_literal() -> None:
    assert gate(re.compile(r"\nMade to last by Northwind\.$")) is None  # re's own prefix search does this
    assert gate(re.compile(r"(Made) to last")) is None
    assert gate(re.compile(r"(?i)made to last")) is not None  # case-insensitive: re tries every position
    assert gate(re.compile(r"\bmade to last")) is not None
