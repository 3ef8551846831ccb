"""Issue 10 (scale): every fast path of `advise analyze` gives exactly what the plain path gives.

The per-record shortcuts (block reads hashed on the way, PriceBook.bill, the clock-hour memo, the system
prompt memo, the `?` gate of the question regex) are each checked against the code they replace.
"""

from __future__ import annotations

import gzip
import hashlib
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from advisor.failures.volatility import _QUESTION, is_question
from advisor.ingest import IngestReport, read_records
from advisor.ingest.duplicates import RepeatedIds
from advisor.ingest.reader import FileDigest, iter_items
from advisor.kernel.io import sha256_file
from advisor.kernel.record import Message, Record, SourceRef, Usage
from advisor.metrics.cost import CostAccumulator, breakdown_total, input_part
from advisor.metrics.static_prompt import StaticPromptAccumulator, family_key
from advisor.metrics.volume import VolumeAccumulator
from advisor.pricing import ModelPrice, PriceBook, TierRate

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def _line_items(path: Path) -> list[tuple[int, object]]:
    """The reference: iterate the binary file line by line, as the reader did before block reads."""
    import orjson

    out = []
    with open(path, "rb") as fh:
        for n, raw in enumerate(fh, 1):
            if n == 1 and raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]
            raw = raw.strip()
            if raw:
                try:
                    out.append((n, orjson.loads(raw)))
                except orjson.JSONDecodeError:
                    out.append((n, "error"))
    return out


@pytest.mark.parametrize("body", [
    b'{"a": 1}\n{"a": 2}\n',
    b'{"a": 1}\n\n  \n{"a": 2}',  # blank lines, no final newline
    b'\xef\xbb\xbf{"a": 1}\r\n{"a": 2}\r\n',  # BOM, CRLF
    b'{"a": 1}\nnot json\n{"a": 3}\n',
    b"",
])
def test_block_reader_numbers_lines_like_line_iteration(tmp_path: Path, body: bytes) -> None:
    path = tmp_path / "log.jsonl"
    path.write_bytes(body)
    digest = FileDigest()
    got = [(n, "error" if type(obj).__name__ == "ParseError" else obj) for n, obj in iter_items(path, digest)]
    assert got == _line_items(path)
    assert digest.hexdigest() == hashlib.sha256(body).hexdigest()


def test_block_reader_across_block_boundaries(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import advisor.ingest.reader as reader

    monkeypatch.setattr(reader, "BUFFER", 7)  # lines longer than the buffer, boundaries inside every line
    path = tmp_path / "log.jsonl"
    path.write_bytes(b"".join(b'{"i": %d, "pad": "%s"}\n' % (i, b"x" * i) for i in range(40)) + b'{"last": 1}')
    digest = FileDigest()
    assert list(iter_items(path, digest)) == _line_items(path)
    assert digest.hexdigest() == sha256_file(path)


@pytest.mark.parametrize("buffer", [5, 64, 1 << 20])
def test_spans_of_a_file_read_like_the_whole_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                  buffer: int) -> None:
    import advisor.ingest.reader as reader

    monkeypatch.setattr(reader, "BUFFER", buffer)
    path = tmp_path / "log.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + b"".join(b'{"i": %d}\n\n' % i if i % 5 else b"oops %d\n" % i
                                              for i in range(300)))
    whole = [(n, "error" if type(o).__name__ == "ParseError" else o) for n, o in iter_items(path)]
    spans = reader.split_lines(path, 97)
    assert len(spans) > 10
    pieces = [(n, "error" if type(o).__name__ == "ParseError" else o)
              for start, end, first in spans for n, o in reader.iter_span(path, start, end, first)]
    assert pieces == whole == _line_items(path)


def test_a_file_truncated_while_read_ends_without_a_crash(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import advisor.ingest.reader as reader

    monkeypatch.setattr(reader, "BUFFER", 64)
    path = tmp_path / "live.jsonl"
    path.write_bytes(b"".join(b'{"i": %d}\n' % i for i in range(1000)))
    items = reader.iter_span(path)
    first = [next(items) for _ in range(3)]
    with open(path, "r+b") as fh:  # log rotation by copytruncate
        fh.truncate(0)
    rest = list(items)
    assert first[0] == (1, {"i": 0}) and len(rest) < 20


def test_digest_of_gzip_and_partial_reads_is_not_used(tmp_path: Path) -> None:
    gz = tmp_path / "log.jsonl.gz"
    gz.write_bytes(gzip.compress(b'{"a": 1}\n'))
    digest = FileDigest()
    assert len(list(iter_items(gz, digest))) == 1
    assert digest.hexdigest() is None  # the reader saw decompressed bytes: the file hash is computed apart
    plain = tmp_path / "log.jsonl"
    plain.write_bytes(b'{"a": 1}\n{"a": 2}\n')
    digest = FileDigest()
    items = iter_items(plain, digest)
    next(items)
    items.close()
    assert digest.hexdigest() is None


def test_ingest_report_hashes_match_sha256_file() -> None:
    report = IngestReport()
    records = list(read_records([EXAMPLES / "formats"], report=report))
    assert records and report.files
    for f in report.files:
        assert f.sha256 == sha256_file(f.path)
        assert f.records == sum(1 for r in records if r.source.file == f.path)


def _price(**kw: object) -> ModelPrice:
    base: dict = {"model": "m", "provider": "openai", "input_mtok": 2.5, "output_mtok": 10.0}
    base.update(kw)
    return ModelPrice(**base)


PRICES = [
    _price(),
    _price(cached_input_mtok=1.25),
    _price(provider="anthropic", input_mtok=3.0, output_mtok=15.0, cached_input_mtok=0.3, cache_write_mtok=3.75),
    _price(cache_write_1h_mtok=6.0, cache_write_mtok=3.75, batch_discount=0.5),
    _price(batch_price=_price(input_mtok=1.0, output_mtok=4.0, cached_input_mtok=0.5)),
    _price(tiers=(TierRate("input_mtok", 200_000, 5.0), TierRate("output_mtok", 200_000, 20.0))),
    _price(input_mtok=0.1234567, output_mtok=0.7654321, cached_input_mtok=0.0617, batch_discount=0.5),
]


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 400_000), st.integers(0, 100_000), st.integers(0, 100), st.integers(0, 100),
       st.integers(0, 100), st.integers(0, 100), st.booleans(), st.sampled_from(range(len(PRICES))))
def test_bill_is_cost_breakdown_to_the_last_bit(input_tokens: int, output_tokens: int, read_pct: int,
                                                 write_pct: int, write_1h_pct: int, reasoning_pct: int,
                                                 batch: bool, which: int) -> None:
    read = input_tokens * read_pct // 100
    write = (input_tokens - read) * write_pct // 100
    usage = Usage(input_tokens=input_tokens, output_tokens=output_tokens, cache_read_tokens=read,
                  cache_write_tokens=write, cache_write_1h_tokens=write * write_1h_pct // 100,
                  reasoning_tokens=output_tokens * reasoning_pct // 100)
    price = PRICES[which]
    parts = PriceBook.cost_breakdown(usage, price, batch=batch)
    assert PriceBook.bill(usage, price, batch) == (breakdown_total(parts), input_part(parts))


def _record(i: int, ts: datetime, *, model: str = "gpt-4o-mini", system: str | None = "sys",
            provider: str = "openai") -> Record:
    return Record(id=f"r{i}", source_format="test", source=SourceRef(file="f", line=i + 1), timestamp=ts,
                  provider=provider, model=model, system=system,
                  messages=[Message(role="user", content=f"question {i % 5}")],
                  usage=Usage(input_tokens=1000 + i, output_tokens=50 + i % 7, cache_read_tokens=(i % 3) * 128),
                  batch=i % 4 == 0, cost_reported=0.001 * (i % 2) or None)


class _Breakdowns:
    """A price source that is not a PriceBook: CostAccumulator must bill it through cost_breakdown."""

    def __init__(self) -> None:
        self.book = PriceBook()

    def lookup(self, model: str, provider: str | None = None, at: object = None) -> ModelPrice:
        return self.book.lookup(model, provider, at)

    def cost_breakdown(self, usage: Usage, price: ModelPrice, batch: bool = False) -> dict:
        return PriceBook.cost_breakdown(usage, price, batch)

    def describe(self) -> str:
        return "test"


def test_cost_accumulator_fast_path_equals_breakdown_path() -> None:
    start = datetime(2025, 3, 1, tzinfo=UTC)
    records = [_record(i, start + timedelta(minutes=37 * i), model=("gpt-4o-mini", "gpt-4o")[i % 2])
               for i in range(300)]
    fast, slow = CostAccumulator(PriceBook()), CostAccumulator(_Breakdowns())
    assert fast._bill is not None and slow._bill is None
    assert [fast.add(r) for r in records] == [slow.add(r) for r in records]
    assert fast.result(window_days=9).model_dump() == slow.result(window_days=9).model_dump()


class _PlainVolume(VolumeAccumulator):
    """The accumulator as it was: every record converted and truncated to its hour."""

    def add(self, record: Record) -> None:
        ts = record.timestamp.astimezone(UTC)
        self.count += 1
        if self.first is None or ts < self.first:
            self.first = ts
        if self.last is None or ts > self.last:
            self.last = ts
        hour = ts.replace(minute=0, second=0, microsecond=0)
        self._per_hour[hour] = self._per_hour.get(hour, 0) + 1


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 4 * 24 * 3600), st.sampled_from([0, 2, -5])), min_size=1, max_size=80))
def test_volume_hour_memo_matches_plain_counting(offsets: list[tuple[int, int]]) -> None:
    start = datetime(2025, 3, 1, tzinfo=UTC)
    records = []
    for i, (sec, tz_hours) in enumerate(sorted(offsets)[: len(offsets) // 2] + offsets[len(offsets) // 2:]):
        ts = start + timedelta(seconds=sec)
        if tz_hours:
            ts = ts.astimezone(timezone(timedelta(hours=tz_hours)))
        records.append(_record(i, ts))
    fast, plain = VolumeAccumulator(), _PlainVolume()
    for r in records:
        fast.add(r)
        plain.add(r)
    assert fast.result().model_dump() == plain.result().model_dump()


def test_static_prompt_family_memo_gives_family_key() -> None:
    acc = StaticPromptAccumulator(tokenize=lambda text, model: list(text.encode()))
    start = datetime(2025, 3, 1, tzinfo=UTC)
    systems = [f"system prompt {k} " * 50 for k in range(20)] + [None]
    for i in range(400):
        rec = _record(i, start + timedelta(minutes=i), model=("a", "b")[i % 2], system=systems[(i * 7) % 21])
        fam = acc._family_of(rec)
        assert fam is not None and (fam.model, fam.key) == family_key(rec)
        acc.add(rec)
    assert sum(f.requests for f in acc.result().families) == 400


@settings(max_examples=3000, deadline=None)
@given(st.lists(st.sampled_from(["what", "When", "?", "\n", "  ", "-", "is", "island", "tell me", "please tell",
                                 "i'd like to know", "foo", "\n\n", "\t", "é", "how", ".", "Does"])
                | st.text(max_size=3), max_size=12))
def test_question_gate_equals_the_regex(words: list[str]) -> None:
    text = "".join(words)
    assert is_question(text) == bool(_QUESTION.search(text))


def test_chdtrc_is_chi2_sf() -> None:
    """consistency.daily_trend uses scipy.special.chdtrc instead of importing scipy.stats (~1 s)."""
    from scipy.special import chdtrc
    from scipy.stats import chi2

    for df in range(1, 60):
        for x in (0.0, 0.5, 3.3, 17.0, 80.0, 250.0, 1e4):
            assert float(chdtrc(df, x)) == float(chi2.sf(x, df))


@pytest.mark.parametrize("value", [0, 1, 1_735_689_600, 10**11 - 1, 10**11, 10**11 + 1, 1_735_689_600_123])
def test_epoch_int_fast_path_equals_the_general_rule(value: int) -> None:
    from advisor.ingest.common import timestamp

    seconds = value / 1e3 if value > 1e11 else value  # the documented rule: above 1e11 it is milliseconds
    assert timestamp(value) == datetime.fromtimestamp(seconds, tz=UTC)
    assert timestamp(value) == timestamp(str(value))  # numeric text takes the general path


# --- issue 20: memory-bounded and faster paths give the same numbers as the plain code ---------------------


def _expected_repeats(units: list[tuple[int, list[int]]]) -> tuple[dict[int, int], int]:
    first: dict[int, int] = {}
    seen: dict[int, int] = {}
    for index, hashes in units:
        for h in hashes:
            seen[h] = seen.get(h, 0) + 1
            first[h] = min(first.get(h, index), index)
    return {h: first[h] for h in sorted(seen) if seen[h] > 1}, sum(n - 1 for n in seen.values())


def _first_repeat(units: list[tuple[int, list[int]]]) -> int | None:
    """The lowest unit index holding an id of a lower unit, or one id twice."""
    seen: set[int] = set()
    for index, hashes in sorted(units):
        if seen & set(hashes) or len(set(hashes)) < len(hashes):
            return index
        seen |= set(hashes)
    return None


def _ledger(units: list[tuple[int, list[int]]], spill_at: int) -> Any:
    """A ledger fed the way run_units feeds it: one piece per unit, merged in."""
    from advisor.ingest.duplicates import IdLedger

    ledger = IdLedger(spill_at=spill_at)
    for index, hashes in units:  # units reach the ledger in any order (workers): the lowest index is first
        piece = IdLedger()
        piece.start(index).extend(hashes)
        ledger.merge(piece)
    return ledger


UNITS = st.lists(st.tuples(st.integers(0, 7), st.lists(st.integers(-6, 6).map(lambda v: v * 10**17 + 3)
                                                        | st.integers(-2**63, 2**63 - 1), max_size=25)),
                 max_size=6, unique_by=lambda u: u[0])


@settings(max_examples=300, deadline=None)
@given(UNITS, st.sampled_from([1, 7, 40, 1 << 22]))
def test_repeated_ids_equal_a_plain_count(units: list[tuple[int, list[int]]], spill_at: int) -> None:
    """In memory or spilled to partition files (small spill_at), the repeats are those of a plain count."""
    expected, expected_n = _expected_repeats(units)
    ledger = _ledger(units, spill_at)
    got, n_repeats = ledger.repeated()
    assert list(got.items()) == list(expected.items())  # ascending hashes
    assert all(got.first_unit(h) == unit for h, unit in expected.items())
    assert all(got.first_unit(h) is None for _, hashes in units for h in hashes if h not in expected)
    assert n_repeats == expected_n
    assert got.first_repeat == _first_repeat(units)
    spilled = ledger._files._dir
    ledger.clear()
    assert ledger.repeated() == (RepeatedIds(), 0)
    assert spilled is None or not Path(spilled).exists()  # the files go with clear()


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(st.integers(-6, 6).map(lambda v: v * 10**17 + 3) | st.integers(-2**63, 2**63 - 1),
                         max_size=40), max_size=8),
       st.sampled_from([8, 64, 1 << 12, 1 << 26]))
def test_repeat_watch_never_flags_later_than_the_first_repeat(units: list[list[int]], bits: int) -> None:
    """The checkpoint of the second reading must come at or before the first unit holding an id seen earlier
    (or twice in itself): a Bloom filter never misses; with few bits it flags early, which only costs time."""
    from array import array

    from advisor.ingest.duplicates import RepeatWatch

    watch, seen, flagged, first_repeat = RepeatWatch(bits), set(), None, None
    for i, hashes in enumerate(units):
        if watch.check(array("q", hashes)) is not None and flagged is None:
            flagged = i
        if first_repeat is None and (len(set(hashes)) < len(hashes) or seen & set(hashes)):
            first_repeat = i
        seen |= set(hashes)
    if first_repeat is not None:
        assert flagged is not None and flagged <= first_repeat
    if bits == 1 << 26 and first_repeat is None:
        assert flagged is None  # ~300 ids in 2**26 bits: a false alarm is ~1e-30


@settings(max_examples=500, deadline=None)
@given(st.integers(1, 60), st.data(), st.floats(0.0, 1.0))
def test_the_doubt_of_a_flag_never_understates_the_binomial_tail(n: int, data: st.DataObject, p: float) -> None:
    """RepeatWatch's doubt is an upper bound on P(X ≥ k), X ~ Binomial(n, p): how likely it is that k hits out of
    n ids are all chance. Understating it would end the watch on a false alarm; overstating costs a spare file."""
    import math

    from advisor.ingest.duplicates import chance_of_at_least

    k = data.draw(st.integers(1, n))
    exact = sum(math.comb(n, i) * p ** i * (1 - p) ** (n - i) for i in range(k, n + 1))
    assert chance_of_at_least(k, n, p) >= exact * (1 - 1e-9) - 1e-300


def test_a_full_filter_still_knows_an_export_from_chance() -> None:
    """Far past its capacity (bits per id well under the 7 probes' need), the filter flags units of fresh ids,
    in doubt; a unit whose every id was seen before is beyond doubt; an id twice in one unit is certain."""
    import random
    from array import array

    from advisor.ingest.duplicates import RepeatWatch
    from advisor.scan import Checkpoint

    rng = random.Random(7)
    watch = RepeatWatch(1 << 14)
    fresh = lambda n: array("q", (rng.getrandbits(64) - (1 << 63) for _ in range(n)))  # noqa: E731
    seen = fresh(2000)
    assert watch.check(seen) is None  # nothing before it
    doubts = [watch.check(fresh(50)) for _ in range(20)]
    assert watch.false_hit_rate() > 0.05 and sum(d is not None for d in doubts) >= 15  # it cries wolf ...
    assert all(d > Checkpoint.SURE for d in doubts if d is not None)  # ... and says so
    assert watch.check(array("q", seen[100:150])) <= Checkpoint.SURE  # an export of earlier ids
    twice = fresh(49)
    assert watch.check(array("q", [*twice, twice[0]])) == 0.0


def test_ledger_spills_big_ledgers_and_keeps_memory_small() -> None:
    units = [(i, [(i * 7919 + k) % 5000 * 10**15 - 2**62 for k in range(1000)]) for i in range(12)]
    ledger = _ledger(units, spill_at=2500)
    assert ledger._files.used and ledger._held < 2500  # most ids are on disk, not in memory
    assert _as_dicts(ledger.repeated()) == _expected_repeats(units)
    ledger.clear()


def _as_dicts(got: tuple[Any, int]) -> tuple[dict[int, int], int]:
    return dict(got[0].items()), got[1]


def test_ledger_keeps_ids_in_memory_when_the_spill_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    """A full disk mid-spill: the partial appends are undone and the ids stay in memory; same answer."""
    import builtins

    import advisor.spill as spill

    units = [(i, [(i * 31 + k) % 300 * 10**16 for k in range(100)]) for i in range(9)]
    calls = {"n": 0}

    def failing(path: Any, mode: str = "r", *a: Any, **k: Any) -> Any:
        if mode == "ab":
            calls["n"] += 1
            if calls["n"] == 20:  # the second spill, part way through its 16 partition files
                raise OSError(28, "No space left on device")
        return builtins.open(path, mode, *a, **k)

    monkeypatch.setattr(spill, "open", failing, raising=False)
    ledger = _ledger(units, spill_at=250)
    assert calls["n"] >= 20 and ledger.spill_at > 10**9
    assert _as_dicts(ledger.repeated()) == _expected_repeats(units)
    ledger.clear()


@pytest.mark.parametrize("text", ["2025-03-01T12:00:00Z", "2025-03-01T12:00:00.123456+02:00", "2025-03-01",
                                  " 2025-03-01 12:00:00 UTC ", "2025-03-01T12:00:00", "2025-13-01T00:00:00Z",
                                  "2025-02-30", "2025-03-01Tnoon"])
def test_iso_fast_path_equals_the_general_rule(text: str) -> None:
    from advisor.ingest.common import first_time
    from advisor.kernel.errors import ParseError

    def general(value: str) -> datetime:
        parsed = datetime.fromisoformat(value.strip().replace(" UTC", "+00:00"))
        return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)

    try:
        expected: object = general(text)
    except ValueError as exc:
        expected = str(exc)
    try:
        got: object = first_time("f.jsonl", 3, ("timestamp", text))
    except ParseError as exc:  # the same message, naming file, line and field
        assert (exc.file, exc.line, exc.field) == ("f.jsonl", 3, "timestamp")
        got = expected if str(expected) in str(exc) else str(exc)
    assert got == expected


def test_cache_simulation_on_arrays_equals_the_list_arithmetic() -> None:
    import random

    from advisor.metrics.static_prompt import TTL_1H, TTL_5M, gap_quantiles

    rnd = random.Random(5)
    for sample_rate in (1.0, 0.05):
        acc = StaticPromptAccumulator(tokenize=lambda text, model: list(text.encode()), sample_rate=sample_rate)
        start = datetime(2025, 3, 1, tzinfo=UTC)
        for i in range(3000):
            when = start + timedelta(seconds=rnd.choice([0, 1, 30, 299, 300, 301, 3600, 3601, 86_400]) * i % 900_000)
            acc.add(_record(i, when, model="a", system="static " * 40))
        fam = next(iter(acc._families.values()))
        times = sorted(fam.times)
        gaps = [(b - a) * sample_rate for a, b in zip(times, times[1:], strict=False)]
        sim = acc._cache(fam, 2000)
        assert sim.hit_rate_5m == sum(g <= TTL_5M for g in gaps) / len(times)
        assert sim.hit_rate_1h == sum(g <= TTL_1H for g in gaps) / len(times)
        assert sim.gap_quantiles_s == gap_quantiles(gaps)


def test_sorted_quantiles_take_equals_the_nearest_rank_formula() -> None:
    import random

    import numpy as np

    from advisor.metrics.static_prompt import sorted_quantiles

    rnd = random.Random(11)
    for n in [*range(1, 260), 1000, 4099, 100_003]:
        xs = np.sort(np.array([rnd.expovariate(1 / 300) for _ in range(n)]))
        for k in (2, 5, 101):
            expected = [round(float(xs[min(n - 1, round(i * (n - 1) / (k - 1)))]), 3) for i in range(k)]
            assert sorted_quantiles(xs, k) == expected == sorted_quantiles(xs.tolist(), k)


def test_tool_json_memo_equals_tool_texts() -> None:
    from advisor.metrics.static_prompt import tool_texts

    acc = StaticPromptAccumulator()
    a = [{"type": "function", "function": {"name": "f", "parameters": {"x": 1, "y": [1.0, True, None]}}}]
    b = [{"function": {"parameters": {"y": [1.0, True, None], "x": 1}, "name": "f"}, "type": "function"}]  # == a
    c = [{"type": "function", "function": {"name": "f", "parameters": {"x": 1.0, "y": [1, 1, None]}}}]  # == a too
    for tools in (a, b, c, a):
        assert acc._tool_texts(tools) == tool_texts(tools)


def test_nearest_cluster_in_blocks_equals_one_product(monkeypatch: pytest.MonkeyPatch) -> None:
    import numpy as np
    from scipy import sparse
    from sklearn.preprocessing import normalize

    import advisor.failures.cluster as cluster

    matrix = normalize(sparse.random(900, 300, density=0.03, random_state=3, format="csr"))
    labels = [int(x) for x in np.random.default_rng(3).integers(0, 30, 200)]
    whole = cluster._assign_nearest(matrix, labels, 200, 0.7)
    monkeypatch.setattr(cluster, "ASSIGN_BLOCK", 7)
    assert cluster._assign_nearest(matrix, labels, 200, 0.7) == whole
    assert len(whole) == 700


def test_trim_heap_is_harmless() -> None:
    from advisor.scan import trim_heap

    trim_heap()
    trim_heap()


def test_repeated_ids_answer_bitmap_collisions_by_search_and_travel_whole() -> None:
    """Ids sharing a repeated id's low bits pass the bitmap and are told apart by the search, negative hashes
    included; a pickled table (to a Dask worker) rebuilds its bitmap and answers the same."""
    import pickle
    from array import array

    hashes = sorted([-(2**63), -5 * 2**40 + 7, 3, 2**40 + 99, 2**63 - 1])
    table = RepeatedIds(array("q", hashes), array("i", range(len(hashes))))
    size = table._mask + 1
    for copy in (table, pickle.loads(pickle.dumps(table))):
        assert copy == table and len(copy) == 5
        for unit, h in enumerate(hashes):
            assert copy.first_unit(h) == unit
            for near in (h + size, h - size, h + 1):  # the first two share its bitmap bit
                if -(2**63) <= near < 2**63 and near not in hashes:
                    assert copy.first_unit(near) is None
    assert RepeatedIds().first_unit(3) is None and not RepeatedIds()
