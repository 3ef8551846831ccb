"""Every parser turns any line into a Record or a ParseError naming file:line — never a crash, never < 0 tokens."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from advisor.ingest import FORMATS
from advisor.ingest.common import Skipped
from advisor.kernel.errors import ParseError
from advisor.kernel.record import Record

FIX = Path(__file__).parent / "fixtures" / "ingest"
SEEDS: list[dict[str, Any]] = [
    orjson.loads(line)
    for name in ("openai_chat/chat.jsonl", "anthropic/messages.jsonl", "openai_batch/batch_output.jsonl",
                 "openai_batch/batch_input.jsonl", "canonical/calls.jsonl")
    for line in (FIX / name).read_bytes().splitlines() if line.strip()
]

scalars = st.one_of(st.none(), st.booleans(), st.integers(-10**20, 10**20), st.floats(allow_nan=True),
                    st.text(max_size=12))
json_values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                            st.dictionaries(st.text(max_size=8), inner, max_size=4)),
                           max_leaves=12)


def _paths(obj: Any, prefix: tuple = ()) -> list[tuple]:
    out = [prefix]
    if isinstance(obj, dict):
        for k, v in obj.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            out += _paths(v, (*prefix, i))
    return out


def _replace(obj: Any, path: tuple, value: Any) -> Any:
    if not path:
        return value
    head, rest = path[0], path[1:]
    if isinstance(obj, dict):
        return {**obj, head: _replace(obj[head], rest, value)}
    copy = list(obj)
    copy[head] = _replace(copy[head], rest, value)
    return copy


@st.composite
def mutated_lines(draw: st.DrawFn) -> Any:
    """A real fixture line with one value anywhere in it replaced by arbitrary JSON."""
    seed = draw(st.sampled_from(SEEDS))
    path = draw(st.sampled_from(_paths(seed)))
    return _replace(seed, path, draw(json_values))


def _check(obj: Any) -> None:
    for name, module in FORMATS.items():
        for got in module.parse([(7, obj)], "fuzz.jsonl"):
            assert isinstance(got, Record | ParseError | Skipped), (name, got)
            if isinstance(got, ParseError):
                assert got.file == "fuzz.jsonl" and got.line == 7, (name, got.render())
            elif isinstance(got, Record):
                assert got.source.line == 7 and got.model.strip()
                if got.usage is not None:
                    u = got.usage
                    assert min(u.input_tokens, u.output_tokens, u.cache_read_tokens, u.cache_write_tokens,
                               u.reasoning_tokens) >= 0


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_lines())
def test_mutated_real_lines_never_crash_a_parser(obj: Any) -> None:
    _check(obj)


@settings(max_examples=150, deadline=None)
@given(json_values)
def test_arbitrary_json_never_crashes_a_parser(obj: Any) -> None:
    _check(obj)


def test_sniffers_accept_their_own_fixtures_and_never_raise() -> None:
    from advisor.ingest.detect import vote

    assert vote(SEEDS[0]) == "openai_chat"
    assert {vote(s) for s in SEEDS} == {"openai_chat", "anthropic", "openai_batch", "canonical"}
    for weird in ({}, {"request": 1}, {"response": []}, {"model": None, "messages": "x", "output": 1}):
        assert vote(weird) in (None, *FORMATS)
