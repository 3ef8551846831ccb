"""The JSON check reads outputs with orjson for speed but must decide exactly as the json module would."""

from __future__ import annotations

import json
import math

from hypothesis import given, settings
from hypothesis import strategies as st

from advisor.failures.checks import parse_json_leniently

_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=20),
    lambda kids: st.lists(kids, max_size=4) | st.dictionaries(st.text(max_size=8), kids, max_size=4), max_leaves=12)


def _same(a: object, b: object) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b


@given(_JSON)
@settings(max_examples=300, deadline=None)
def test_clean_json_reads_as_the_json_module_reads_it(value: object) -> None:
    text = json.dumps(value)
    parsed, problem = parse_json_leniently(text)
    assert problem is None and _same(parsed, json.loads(text))


@given(st.text(max_size=60))
@settings(max_examples=300, deadline=None)
def test_any_text_is_clean_json_exactly_when_the_json_module_says_so(text: str) -> None:
    try:
        expected = json.loads(text)
    except ValueError:
        assert parse_json_leniently(text)[1] is not None
    else:
        parsed, problem = parse_json_leniently(text)
        assert problem is None and _same(parsed, expected)


def test_edge_cases() -> None:
    for text in ('{"a": NaN}', '[1.5e400]', '["\\ud800"]', '{"n": 123456789012345678901234}', '{"a": 1, "a": 2}'):
        parsed, problem = parse_json_leniently(text)
        assert problem is None and _same(parsed, json.loads(text)), text
