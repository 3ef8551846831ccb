"""The typed fast path (advisor.ingest.fastpath) gives, for every line it accepts, the general path's Record.

For each format with a `fast_reader`: every line of every bundled log and test fixture in that format, a
generated varied log (bench/gen_logs.py), and hypothesis mutations of real lines (keys dropped or set to
null, values of the wrong type, huge integers, unknown keys, extra choices, feedback, metadata, timestamps in
other shapes). A line the fast path declines (None) is not checked here: the general path reads it, and the
end-to-end tests cover that path.
"""

from __future__ import annotations

import copy
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec
import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from advisor.ingest import FORMATS, read_records
from advisor.ingest.common import guarded
from advisor.ingest.detect import detect_format
from advisor.ingest.reader import iter_items
from advisor.kernel.errors import ParseError
from advisor.kernel.record import Record

ROOT = Path(__file__).resolve().parent.parent
FAST = {name: m for name, m in FORMATS.items() if hasattr(m, "fast_reader")}


def _logs_of(fmt: str) -> list[Path]:
    """Every bundled JSONL log (examples, fixtures) whose format is `fmt`."""
    out = []
    for base in (ROOT / "examples", ROOT / "tests" / "fixtures"):
        for p in sorted(base.rglob("*.jsonl")):
            try:
                head = list(iter_items(p))[:20]
                if head and detect_format(head, str(p)) == fmt:
                    out.append(p)
            except Exception:  # noqa: BLE001 - not a log of any format (labels, configs, broken fixtures)
                continue
    return out


def general(fmt: str, raw: bytes, file: str, line: int) -> Any:
    try:
        obj = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return "not json"
    if not isinstance(obj, dict):
        return "not an object"
    got = guarded(FORMATS[fmt]._build, obj, file, line)
    return got if isinstance(got, Record) else ("error", getattr(got, "reason", None))


def _agree(fmt: str, lines: list[bytes], file: str) -> tuple[int, int]:
    fast = FAST[fmt].fast_reader(file)
    taken = 0
    for n, raw in enumerate(lines, 1):
        got = fast(raw, n)
        if got is None:
            continue
        taken += 1
        want = general(fmt, raw, file, n)
        assert got == want, f"{file}:{n}: fast path differs from the general one"
    return taken, len(lines)


@pytest.mark.parametrize("fmt", sorted(FAST))
def test_bundled_logs_read_the_same_by_both_paths(fmt: str) -> None:
    files = _logs_of(fmt)
    assert files, f"no bundled {fmt} logs found"
    taken = total = 0
    for p in files:
        lines = [ln.strip() for ln in p.read_bytes().splitlines() if ln.strip()]
        t, n = _agree(fmt, lines, str(p))
        taken, total = taken + t, total + n
    assert taken > total / 2, f"the fast path took only {taken} of {total} {fmt} lines"


@pytest.fixture(scope="module")
def varied(tmp_path_factory: pytest.TempPathFactory) -> Path:
    sys.path.insert(0, str(ROOT / "bench"))
    from gen_logs import write_logs  # type: ignore[import-not-found]

    d = tmp_path_factory.mktemp("varied")
    write_logs(d, 3000, seed=7)
    return d


_VARIED: dict[Path, list[tuple[Path, list[bytes]]]] = {}


def _varied_lines(varied: Path, fmt: str) -> list[tuple[Path, list[bytes]]]:
    if varied not in _VARIED:
        _VARIED[varied] = [(p, [ln.strip() for ln in p.read_bytes().splitlines() if ln.strip()])
                           for p in sorted(varied.glob("*.jsonl")) if p.name != "labels.jsonl"]
    return [(p, lines) for p, lines in _VARIED[varied]
            if detect_format([(1, orjson.loads(x)) for x in lines[:20]], str(p)) == fmt]


@pytest.mark.parametrize("fmt", sorted(FAST))
def test_generated_logs_read_the_same_by_both_paths(fmt: str, varied: Path) -> None:
    seen = False
    for p, lines in _varied_lines(varied, fmt):
        taken, total = _agree(fmt, lines, str(p))
        assert taken > total * 0.9
        seen = True
    assert seen


@pytest.mark.parametrize("fmt", sorted(FAST))
def test_reading_a_file_gives_the_same_records_with_or_without_the_fast_path(fmt: str, varied: Path,
                                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    for p, _ in _varied_lines(varied, fmt):
        errors_fast: list[ParseError] = []
        fast = list(read_records([p], on_error=errors_fast.append))
        monkeypatch.delattr(FORMATS[fmt], "fast_reader")
        errors_plain: list[ParseError] = []
        plain = list(read_records([p], on_error=errors_plain.append))
        monkeypatch.undo()
        assert fast == plain and [e.render() for e in errors_fast] == [e.render() for e in errors_plain]


# ------------------------------------------------------------------ mutations of real lines

ODD_VALUES = st.sampled_from([None, "", " ", 0, -1, 1.5, 2**64, -(2**63) - 1, 10**30, True, [], {}, [1], {"a": 1},
                              "2025-01-01T00:00:00+02:00", "2025-01-01 00:00:00 UTC", 1735689600, 1735689600123,
                              "not a time", "12", "x" * 3, [{"type": "text", "text": "hi"}], {"feedback": "up"},
                              {"feedback": {"score": 0.2}}, float("1e308")])


def _paths(obj: Any, prefix: tuple = ()) -> Iterator[tuple]:
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield (*prefix, k)
            yield from _paths(v, (*prefix, k))
    elif isinstance(obj, list):
        for i, v in enumerate(obj[:3]):
            yield (*prefix, i)
            yield from _paths(v, (*prefix, i))


def _mutate(obj: Any, path: tuple, how: str, value: Any) -> Any:
    parent = obj
    for key in path[:-1]:
        parent = parent[key]
    last = path[-1]
    if how == "drop" and isinstance(parent, dict):
        del parent[last]
    elif how == "add" and isinstance(parent, dict):
        parent[f"{last}"] = value
        parent["unknown_key"] = value
    else:
        parent[last] = value
    return obj


@pytest.mark.parametrize("fmt", sorted(FAST))
@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_mutated_lines_read_the_same_by_both_paths(fmt: str, varied: Path, data: st.DataObject) -> None:
    lines = [ln for _, ls in _varied_lines(varied, fmt) for ln in ls[:200]]
    raw = data.draw(st.sampled_from(lines))
    obj = orjson.loads(raw)
    for _ in range(data.draw(st.integers(1, 3))):
        paths = list(_paths(obj))
        extra = [("timestamp",), ("metadata",), ("feedback",), ("cost",), ("status_code",), ("id",), ("model",)]
        path = data.draw(st.sampled_from(paths + extra))
        how = data.draw(st.sampled_from(["set", "drop", "add"]))
        try:
            obj = _mutate(obj, path, how, copy.deepcopy(data.draw(ODD_VALUES)))
        except (KeyError, IndexError, TypeError):
            continue
    try:
        mutated = orjson.dumps(obj)
    except (TypeError, orjson.JSONEncodeError):  # 2**64 and beyond: orjson will not write them, json will
        mutated = json.dumps(obj).encode()
    _agree(fmt, [mutated], "mutated.jsonl")


class _ToolsLine(msgspec.Struct):
    tools: msgspec.Raw


def test_repeated_tool_schemas_are_decoded_once_and_equal_to_orjson() -> None:
    from advisor.ingest import fastpath

    Line = _ToolsLine  # noqa: N806
    line = b'{"tools": [{"type": "function", "function": {"name": "f", "parameters": {"maxItems": 18446744073709551615}}}]}'
    first = fastpath.shared_value(msgspec.json.decode(line, type=Line).tools)
    again = fastpath.shared_value(msgspec.json.decode(line, type=Line).tools)
    assert first == orjson.loads(line)["tools"] and again is first
    assert fastpath.shared_value(msgspec.UNSET) is None
    with pytest.MonkeyPatch.context() as mp:  # a memo over its budget starts over instead of growing
        mp.setattr(fastpath, "_SHARED", fastpath.BoundedMemo(2, budget=200))
        for i in range(10):
            fastpath.shared_value(msgspec.json.decode(b'{"tools": [%d]}' % i, type=Line).tools)
        assert len(fastpath._SHARED) <= 2 and fastpath._SHARED.chars <= 200


@pytest.mark.parametrize("fmt", sorted(FAST))
def test_crlf_bom_blank_lines_and_gzip_read_the_same_with_or_without_the_fast_path(
        fmt: str, varied: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import gzip

    (_, lines), = _varied_lines(varied, fmt)
    body = b"\xef\xbb\xbf" + b"\r\n".join([*lines[:40], b"", b"   ", *lines[40:80]]) + b"\r\n"
    plain, packed = tmp_path / "calls.jsonl", tmp_path / "calls.jsonl.gz"
    plain.write_bytes(body)
    packed.write_bytes(gzip.compress(body))
    for path in (plain, packed):
        fast = list(read_records([path]))
        monkeypatch.delattr(FORMATS[fmt], "fast_reader")
        general_records = list(read_records([path]))
        monkeypatch.undo()
        assert len(fast) == 80 and fast == general_records
