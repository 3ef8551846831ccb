"""Fuzz every registered log parser: whatever a line holds, the outcome is a valid Record or a file:line error.

Realistic fixture objects of each format are mutated (fields dropped, wrong types, huge / negative /
fractional numbers, deep nesting, truncated lines, invalid UTF-8) and written to a temporary file that
`advisor.ingest.read_records` reads with the format forced, so each parser sees the damage. Never a crash,
never a negative token count, and pricing a Record that came out is never negative or NaN.

The second half calls each parser's `parse()` directly on one line (a real fixture line with one value replaced
by arbitrary JSON, or arbitrary JSON alone) and checks the sniffers: the same properties, one line at a time.
"""

from __future__ import annotations

import copy
import json
import math
import tempfile
from functools import cache
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from advisor.ingest import (
    FORMATS,
    helicone,
    langfuse,
    langsmith,
    litellm,
    openai_responses,
    otel,
    read_records,
    registry,
)
from advisor.ingest.common import Skipped
from advisor.kernel.errors import AdviseError, ParseError
from advisor.kernel.record import Record

FIX = Path(__file__).parent / "fixtures"
NEW = (litellm, helicone, langsmith, langfuse, otel, openai_responses)
SEEDS: dict[str, list[str]] = {
    "openai_chat": ["ingest/openai_chat/chat.jsonl", "analyze/openai_chat.jsonl"],
    "anthropic": ["ingest/anthropic/messages.jsonl"],
    "canonical": ["ingest/canonical/calls.jsonl"],
    "openai_batch": ["ingest/openai_batch/batch_output.jsonl", "ingest/openai_batch/batch_input.jsonl"],
    "openai_responses": ["ingest_more/openai_responses.jsonl"],
    "otel": ["ingest_more/otel_spans.jsonl", "ingest_more/otel_export.json"],
    "langfuse": ["ingest_more/langfuse.jsonl", "ingest_more/langfuse_dir/scores.jsonl"],
    "helicone": ["ingest_more/helicone.jsonl"],
    "litellm": ["ingest_more/litellm.jsonl"],
    "langsmith": ["ingest_more/langsmith.jsonl"],
}
EXAMPLES = int(__import__("os").environ.get("ADVISE_FUZZ_EXAMPLES", "60"))  # per format; the whole file stays well under a minute on 2 cores

HOSTILE = [None, "", "x", "-5", "12.5", -1, -(10**30), 10**30, 2**63, 1.5, -0.0, 1e308, -1e308, True, False,
           [], {}, [None], {"a": None}, "\u0000\ud7ff\U0001f600", "9" * 400, "NaN", "1e999"]


@pytest.fixture(autouse=True)
def all_formats():
    """Make sure every format module is registered while fuzzing (the lead wires them for real)."""
    saved = dict(registry.FORMATS)
    for m in NEW:
        if m.NAME not in registry.FORMATS:
            registry.FORMATS[m.NAME] = m
    yield
    registry.FORMATS.clear()
    registry.FORMATS.update(saved)


@cache
def seeds(fmt: str) -> tuple[Any, ...]:
    out: list[Any] = []
    for rel in SEEDS[fmt]:
        text = (FIX / rel).read_text(encoding="utf-8")
        if rel.endswith(".json"):
            out.append(json.loads(text))
        else:
            for line in text.splitlines():
                try:
                    out.append(json.loads(line))
                except json.JSONDecodeError:  # fixtures may hold deliberately broken lines
                    continue
    out = out[:8] + [o for o in out[8:] if isinstance(o, dict)][:4]
    return tuple(out)


@cache
def price_book() -> Any:
    try:
        from advisor.pricing import PriceBook
    except ImportError:  # pricing not built yet: only the ingest half is checked
        return None
    return PriceBook()


def slots(obj: Any) -> list[tuple[Any, Any]]:
    """Every (container, key) in a JSON value, so a mutation can hit any depth."""
    out: list[tuple[Any, Any]] = []
    stack = [obj]
    while stack:
        node = stack.pop()
        keys = list(node) if isinstance(node, dict) else range(len(node)) if isinstance(node, list) else []
        for k in keys:
            out.append((node, k))
            stack.append(node[k])
    return out


def deep(levels: int) -> Any:
    value: Any = "bottom"
    for i in range(levels):
        value = [value] if i % 2 else {"n": value}
    return value


mutation = st.tuples(st.integers(0, 10_000), st.sampled_from(["drop", "hostile", "deep", "swap", "string"]),
                     st.integers(0, len(HOSTILE) - 1))
line_damage = st.sampled_from(["none", "none", "none", "truncate", "utf8", "nan", "blank", "array"])


def mutate(obj: Any, plan: list[tuple[int, str, int]]) -> Any:
    obj = copy.deepcopy(obj)
    for where, kind, pick in plan:
        places = slots(obj)
        if not places:
            return HOSTILE[pick]
        node, key = places[where % len(places)]
        if kind == "drop" and isinstance(node, dict):
            del node[key]
        elif kind == "hostile" or kind == "drop":
            node[key] = copy.deepcopy(HOSTILE[pick])
        elif kind == "deep":
            node[key] = deep(20 + pick * 10)
        elif kind == "swap":
            node[key] = [node[key]] if not isinstance(node[key], list) else {"v": node[key]}
        else:
            node[key] = str(node[key])
    return obj


def encode(obj: Any, damage: str, cut: int) -> bytes:
    raw = json.dumps(obj, ensure_ascii=False).encode()
    if damage == "truncate":
        return raw[: max(1, cut % max(len(raw), 1))]
    if damage == "utf8":
        at = cut % max(len(raw), 1)
        return raw[:at] + b"\xff\xfe\xc3" + raw[at:]
    if damage == "nan":
        return raw.replace(b"0", b"NaN", 1)
    if damage == "blank":
        return b"   "
    if damage == "array":
        return b"[" + raw + b"]"
    return raw


def check(path: Path, fmt: str | None) -> None:
    errors: list[ParseError] = []
    try:
        records = list(read_records([path], format=fmt, on_error=errors.append))
    except AdviseError as exc:  # a whole-file problem (e.g. no line is JSON): must name the file
        assert exc.file == str(path), exc.render()
        return
    for err in errors:
        assert isinstance(err, ParseError)
        assert err.file == str(path) and isinstance(err.line, int) and err.line >= 1, err.render()
    book = price_book()
    for rec in records:
        assert isinstance(rec, Record) and rec.source.file == str(path) and rec.source.line >= 1
        u = rec.usage
        if u is not None:
            assert min(u.input_tokens, u.output_tokens, u.cache_read_tokens, u.cache_write_tokens,
                       u.reasoning_tokens) >= 0
            assert u.cache_read_tokens + u.cache_write_tokens <= u.input_tokens
            assert u.reasoning_tokens <= u.output_tokens
        assert rec.cost_reported is None or (math.isfinite(rec.cost_reported) and rec.cost_reported >= 0)
        assert rec.latency_ms is None or (math.isfinite(rec.latency_ms) and rec.latency_ms >= 0)
        if book is not None:
            try:
                money = book.cost(rec)
            except AdviseError:  # unknown model: reported, never $0
                continue
            assert math.isfinite(money) and money >= 0, (rec.model, rec.usage, money)


def fuzz_case(fmt: str, data: st.DataObject) -> None:
    pool = seeds(fmt)
    lines = []
    for _ in range(data.draw(st.integers(1, 3), label="lines")):
        seed = pool[data.draw(st.integers(0, len(pool) - 1), label="seed")]
        plan = data.draw(st.lists(mutation, min_size=0, max_size=4), label="plan")
        damage = data.draw(line_damage, label="damage")
        lines.append(encode(mutate(seed, plan), damage, data.draw(st.integers(0, 10_000), label="cut")))
    suffix = ".json" if data.draw(st.booleans(), label="doc") and len(lines) == 1 else ".jsonl"
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"fuzz{suffix}"
        path.write_bytes(b"\n".join(lines) + b"\n")
        check(path, fmt)
        check(path, None)  # auto-detection on damaged input: a reported error, never a crash


FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


@pytest.mark.parametrize("fmt", sorted(SEEDS))
@FUZZ
@given(data=st.data())
def test_parser_never_crashes(fmt: str, data: st.DataObject) -> None:
    fuzz_case(fmt, data)


def test_every_registered_format_is_fuzzed() -> None:
    assert set(registry.FORMATS) <= set(SEEDS), "add seed fixtures for the new format to SEEDS"


@pytest.mark.parametrize("fmt", sorted(SEEDS))
def test_unmutated_seeds_give_records(fmt: str, tmp_path: Path) -> None:
    """The seeds themselves parse, so the fuzzing starts from real, working input."""
    path = tmp_path / "seed.jsonl"
    path.write_text("".join(json.dumps(s) + "\n" for s in seeds(fmt)))
    errors: list[ParseError] = []
    records = list(read_records([path], format=fmt, on_error=errors.append))
    assert records, [e.render() for e in errors]


def test_absurd_token_counts_are_reported_not_priced(tmp_path: Path) -> None:
    line = json.loads((FIX / "ingest_more/helicone.jsonl").read_text().splitlines()[2])
    line["prompt_tokens"] = 10**30
    path = tmp_path / "huge.jsonl"
    path.write_text(json.dumps(line) + "\n")
    errors: list[ParseError] = []
    records = list(read_records([path], format="helicone", on_error=errors.append))
    assert not records and errors and errors[0].line == 1


# ---------------------------------------------------------------- parse() one line at a time; the sniffers

LINE_SEEDS: list[dict[str, Any]] = [
    orjson.loads(line)
    for name in ("openai_chat/chat.jsonl", "anthropic/messages.jsonl", "openai_batch/batch_output.jsonl",
                 "openai_batch/batch_input.jsonl", "canonical/calls.jsonl")
    for line in (FIX / "ingest" / name).read_bytes().splitlines() if line.strip()
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
    seed = draw(st.sampled_from(LINE_SEEDS))
    path = draw(st.sampled_from(_paths(seed)))
    return _replace(seed, path, draw(json_values))


def _check_parse(obj: Any) -> None:
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
    _check_parse(obj)


@settings(max_examples=150, deadline=None)
@given(json_values)
def test_arbitrary_json_never_crashes_a_parser(obj: Any) -> None:
    _check_parse(obj)


def test_sniffers_accept_their_own_fixtures_and_never_raise() -> None:
    from advisor.ingest.detect import vote

    assert vote(LINE_SEEDS[0]) == "openai_chat"
    assert {vote(s) for s in LINE_SEEDS} == {"openai_chat", "anthropic", "openai_batch", "canonical"}
    for weird in ({}, {"request": 1}, {"response": []}, {"model": None, "messages": "x", "output": 1}):
        assert vote(weird) in (None, *FORMATS)
