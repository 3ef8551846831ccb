"""Issue 20: the per-record shortcuts of the static-prompt and failure stages give exactly what the plain code gives.

Each shortcut is checked against the code it replaces: the JSON-module gate against its regex, the refusal cue
gate against the plain scan, the family's in-place prefix/block update against `segments` + `update_prefix` +
`count_blocks`, and the (model, system prompt) memos against recomputing every time (a memo that starts over
after two entries).
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from pathlib import Path
from unittest.mock import patch

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

import advisor.failures.collector as collector_mod
import advisor.kernel.memo as memo_mod
import advisor.metrics.static_prompt as sp
from advisor.failures.checks import _LAX_JSON, _PHRASE_CUES, _has_cue, needs_json_module
from advisor.failures.collector import FailureCollector
from advisor.kernel.record import FinishReason, Message, Record, SourceRef, Usage, replace
from advisor.metrics.sketch import EXACT_LIMIT, QuantileSketch

T0 = datetime(2025, 3, 1, tzinfo=UTC)

# characters around every branch of _LAX_JSON: NaN, Infinity, \uD8.., 19 digits, e+123; and non-ASCII digits
_LAX_PIECES = st.sampled_from(["NaN", "Infinity", "Inf", "N", "I", "\\", "u", "U", "d", "D", "8", "c", "e", "E", "+",
                               "-", "e-", "E+", "e1", "0", "1", "9", "12", "123", "1234567890", "٣", "é", " ", "{", '"',
                               ".", "a", "\\ud83d", "\\UD9"])


@settings(max_examples=3000, deadline=None)
@given(st.lists(_LAX_PIECES | st.text(max_size=3), max_size=25))
def test_json_module_gate_equals_the_regex(pieces: list[str]) -> None:
    text = "".join(pieces)
    assert needs_json_module(text) == bool(_LAX_JSON.search(text))


def test_json_module_gate_on_each_branch() -> None:
    for text in ("[NaN]", "[Infinity]", '["\\ud800"]', '["\\UDabc"]', '["\\ud7ff"]', "1" * 19, "1" * 18, "1e400",
                 "1E-300", "2e+308", "1e99", "1.5e-12", "٣" * 19, "1e٣٣٣", '{"a": "x"}', ""):
        assert needs_json_module(text) == bool(_LAX_JSON.search(text)), text


_CUE_PIECES = st.sampled_from(["i", "I", " ", "'", "’", "can", "am", "m", "won", "don", "do not", "sorry", "Sorry",
                               "as an ai", "as an", " ai", "my", "My ", "knowledge", "last", "x", "\n", "İ"])


@settings(max_examples=3000, deadline=None)
@given(st.lists(_CUE_PIECES | st.text(max_size=2), max_size=14))
def test_cue_gate_equals_scanning_every_cue(pieces: list[str]) -> None:
    head = "".join(pieces)[:600].lower().replace("’", "'")
    assert _has_cue(head) == any(cue in head for cue in _PHRASE_CUES)


# ---- static prompt: the in-place update of a family equals the list-based reference ------------------------------
_PARA = st.sampled_from(["x" * 90, "y" * 85 + " tail", "short", "z" * 120, ""])
_CONTENT = st.lists(_PARA, min_size=1, max_size=3).map("\n\n".join) | st.sampled_from(["hi", "hello", "he", "x" * 90])
_MESSAGE = st.builds(lambda role, content, calls: Message(role=role, content=content, tool_calls=calls),
                     st.sampled_from(["user", "assistant", "tool", "system"]), _CONTENT,
                     st.sampled_from([None, [{"id": "c1", "function": {"name": "f"}}]]))
_REQUEST = st.tuples(st.sampled_from([(), ("tool A",), ("tool A", "tool B"), ("tool B",)]),
                     st.sampled_from([None, "", "sys one", "sys two", "sys one!"]),
                     st.lists(_MESSAGE, max_size=4))


def _state(fam: sp._Family) -> tuple:
    segs = [(s.kind, s.text, s.common, s.full, s.witness, s.head == s.text[: s.common]) for s in fam.segs or []]
    return segs, list(fam.blocks.items())


@settings(max_examples=400, deadline=None)
@given(st.lists(_REQUEST, min_size=1, max_size=12))
def test_family_add_request_equals_segments_update_and_count(requests: list) -> None:
    with patch.object(sp, "BLOCK_CANDIDATE_REQUESTS", 3):  # past the candidate window within a few requests
        fast, plain = sp._Family("m", "k"), sp._Family("m", "k")
        for tools, system, messages in requests:
            fast.requests += 1
            fast.add_request(list(tools), system, messages)
            plain.requests += 1
            segs = sp.segments_of(list(tools), system, messages)
            plain.update_prefix(segs)
            plain.count_blocks(segs)
            assert _state(fast) == _state(plain)


def _record(i: int, *, model: str, system: str | None, user: str, tools: list | None = None,
            error: bool = False, output: str = "fine", fmt: dict | None = None) -> Record:
    return Record(id=f"r{i}", source_format="test", source=SourceRef(file="t", line=i + 1),
                  timestamp=T0 + timedelta(hours=7 * i), model=model, system=system, tools=tools,
                  messages=[Message(role="user", content=user)], output=output, response_format=fmt,
                  status="error" if error else "ok", error="429 rate limit" if error else None,
                  finish_reason=FinishReason.error if error else FinishReason.stop,
                  usage=Usage(input_tokens=50 + i % 7, output_tokens=5, cache_read_tokens=(i % 3) * 10))


def _records(n: int = 300) -> list[Record]:
    systems = [f"You are assistant {k}. " * 20 for k in range(9)] + [None, ""]
    tools = [None, [{"name": "lookup", "parameters": {"q": 1}}], [{"name": "other"}]]
    return [_record(i, model=("a", "b")[i % 2], system=systems[(i * 7) % len(systems)],
                    user=f"question {i % 5}\n\n" + "context paragraph " * 6, tools=tools[i % 3], error=i % 17 == 0,
                    output='{"a": 1}' if i % 4 else "not json", fmt={"type": "json_object"} if i % 5 == 0 else None)
            for i in range(n)]


def _static(records: list[Record]) -> dict:
    acc = sp.StaticPromptAccumulator(tokenize=lambda text, model: list(text.encode()), error_of=lambda m: (0.0, True))
    for r in records:
        acc.add(r)
    return acc.result().model_dump()


def test_static_family_memo_that_starts_over_gives_the_same_analysis() -> None:
    records = _records()
    with patch.object(sp, "MAX_FAMILIES", 7):  # some families overflow: the memo remembers those too
        remembered = _static(records)
        with patch.object(sp, "KNOWN_KEYS", 2):
            forgetful = _static(records)
        with patch.object(memo_mod, "KNOWN_CHARS", 500):  # ~1 system prompt of these: starts over on almost every put
            short_of_room = _static(records)
    assert forgetful == remembered and short_of_room == remembered
    assert remembered["overflow_requests"] > 0


def _merged_static(records: list[Record], spill_at: int, piece: int = 13) -> tuple[dict, sp.StaticPromptAccumulator]:
    """The records in pieces of `piece`, each measured by its own accumulator and merged in, as run_units does."""
    proto = sp.StaticPromptAccumulator(tokenize=lambda text, model: list(text.encode()), error_of=lambda m: (0.0, True))
    proto.times_spill_at = spill_at
    for at in range(0, len(records), piece):
        part = sp.StaticPromptAccumulator(tokenize=proto._tokenize, error_of=proto._error_of)
        for r in records[at:at + piece]:
            part.add(r)
        proto.merge(part)
    return proto.result().model_dump(), proto


def test_arrival_seconds_spilled_to_files_give_the_same_cache_simulation(monkeypatch) -> None:
    """Past times_spill_at held arrival seconds the merged families move them to partition files, read back a
    partition at a time at the end: the same families, hit rates and gap quantiles. Arrivals out of order, some
    within the cache TTLs."""
    records = [replace(r, timestamp=T0 + timedelta(seconds=(i * 7919) % 20_000)) for i, r in enumerate(_records(600))]
    in_memory, _ = _merged_static(records, spill_at=1 << 40)
    spilled, acc = _merged_static(records, spill_at=50)
    assert acc._times_files is not None and acc._times_files.used and acc._held_times < 50 + 13
    assert spilled == in_memory
    assert any(0 < f["cache"]["hit_rate_5m"] < 1 for f in in_memory["families"])
    # a temporary directory that cannot be written: the seconds stay in memory, the same result
    monkeypatch.setattr(sp.PartitionedSpill, "append", lambda self, rows, part: False)
    kept, acc = _merged_static(records, spill_at=50)
    assert kept == in_memory and acc.times_spill_at > 10**9 and not acc._times_files.used


def test_arrival_seconds_of_fewer_families_than_partitions_spill_too() -> None:
    # one prompt family at 1M+ requests (a single-prompt app): 15 of the 16 partition files stay empty
    records = [replace(r, model="a", system="You are the only assistant. " * 20,
                       timestamp=T0 + timedelta(seconds=(i * 7919) % 20_000)) for i, r in enumerate(_records(200))]
    in_memory, _ = _merged_static(records, spill_at=1 << 40)
    spilled, acc = _merged_static(records, spill_at=50)
    assert acc._times_files.used and len(acc._families) == 1
    assert spilled == in_memory


def test_partitioned_spill_reads_back_each_part_in_order_and_stays_in_its_process() -> None:
    import pickle

    import numpy as np

    from advisor.spill import PartitionedSpill

    files = PartitionedSpill([("k", "<i4"), ("v", "<u4")], parts=4)
    assert not files.used and len(files.read(2)) == 0
    pickle.loads(pickle.dumps(files))  # unused: travels (as an empty spill)
    for batch in range(3):
        rows = np.zeros(10, dtype=files.dtype)
        rows["k"], rows["v"] = np.arange(10), np.arange(10) + 100 * batch
        assert files.append(rows, rows["k"] % 4)
    assert files.read(1)["v"].tolist() == [1, 5, 9, 101, 105, 109, 201, 205, 209]
    with pytest.raises(TypeError, match="cannot travel"):
        pickle.dumps(files)
    where = files._dir
    files.close()
    assert not files.used and where is not None and not Path(where).exists()


def _failures(records: list[Record]) -> dict:
    fc = FailureCollector()
    for r in records:
        fc.add(r)
    return fc.finish().model_dump()


def test_failure_family_memo_that_starts_over_gives_the_same_analysis() -> None:
    records = _records()
    with patch.object(collector_mod, "MAX_FAMILY_ROWS", 5):  # families beyond 5 get no row, remembered as None
        remembered = _failures(records)
        with patch.object(collector_mod, "KNOWN_PROMPTS", 2):
            forgetful = _failures(records)
        with patch.object(memo_mod, "KNOWN_CHARS", 500):
            short_of_room = _failures(records)
    assert forgetful == remembered and short_of_room == remembered
    assert len(remembered["by_family"]) == 5 and remembered["failures"] > 0


def test_family_rows_stay_within_the_cap_when_pieces_merge() -> None:
    """Merged in order, pieces keep rows for the first MAX_FAMILY_ROWS families only, so the table does not grow
    with the number of pieces (it did: each piece could add its own 200), and with the counts of one collector
    reading everything when no piece reached the cap on its own."""
    assert collector_mod.MAX_FAMILY_ROWS == sp.MAX_FAMILIES  # a row for every family the static-prompt table lists
    records = _records()
    with patch.object(collector_mod, "MAX_FAMILY_ROWS", 8):
        whole = _failures(records)
        merged = FailureCollector()
        for start in range(0, len(records), 3):  # pieces of 3 records: at most 3 families each
            piece = FailureCollector()
            for r in records[start:start + 3]:
                piece.add(r)
            merged.merge(piece)
        got = merged.finish().model_dump()
    assert len(whole["by_family"]) == 8 < len({(r.model, r.system or "") for r in records})
    assert got["by_family"] == whole["by_family"]


def test_only_the_listed_signatures_are_built_and_they_are_the_top_of_the_whole_ranking() -> None:
    from advisor.failures.result import SignatureRow
    from advisor.kernel.record import Feedback

    words = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet"]
    day0 = datetime(2025, 3, 3, 12, tzinfo=UTC)
    records = []
    for i in range(300):  # 260 distinct reviewer notes, 40 of them twice, over 3 days: many ties to break
        note = f"{words[i % 10]} {words[i % 12 % 10]} {words[i % 7]}"
        records.append(Record(id=f"r{i}", source_format="test", source=SourceRef(file="t.jsonl", line=i + 1),
                              timestamp=day0 + timedelta(days=i % 3), model="gpt-4o",
                              messages=[Message(role="user", content="hi")], output="fine", finish_reason="stop",
                              feedback=[Feedback(source="review", ok=False, category="style", note=note)]))
    fc = FailureCollector()
    for r in records:
        fc.add(r)
    built = []
    real = collector_mod.SignatureRow

    def counting(**kw):  # noqa: ANN003, ANN202
        built.append(kw["signature"])
        return real(**kw)

    with patch.object(collector_mod, "SignatureRow", counting):
        got = fc.finish()
    ranking = sorted(fc.sigs.items(), key=lambda kv: (-kv[1].primary, -kv[1].count, kv[0]))
    assert len(fc.sigs) > collector_mod.MAX_LISTED_SIGNATURES
    assert [r.signature for r in got.signatures] == [s for s, _ in ranking[:collector_mod.MAX_LISTED_SIGNATURES]]
    assert built == [r.signature for r in got.signatures]  # none built past the listed ones
    assert got.more_signatures == len(fc.sigs) - collector_mod.MAX_LISTED_SIGNATURES
    assert all(isinstance(r, SignatureRow) for r in got.signatures)


# ---- failures: the word shortcut of the volatility signals, the no-answer gate ----------------------------------
_SIGNAL_PIECES = st.sampled_from(
    ["price", "Prices", "pricing", "cost", "fee", "FEES", "charge", "rate", "tariff", "how", "much", "How much",
     "discount", "refund", "compensation", "$", "$ 5", "$5", "5", "12", "2024", "1999", "3000", "2024-05-01", "jan",
     "March", "Dec.", "sept", "decisions", "3 May", "may 12", "as", "of", "as of", "since", "any more", "anymore",
     "still", "change", "changed", "changes", "latest", "current", "today", "now", "new", "recent", "this week",
     "this", "month", "year", "upcoming", "deadline", "policy", "terms", "plan", "opening hours", "hours", "in stock",
     "in", "stock", "release", "version", "schedule", "rule", "rules", "regulation", "law", "lawful", "_", "-", ".",
     " ", "  ", "\n", "\t", "?", ",", "x", "a1", "\x1c", "'",
     # non-ASCII: not word characters (curly quote, currency, dash, emoji, no-break space) and word characters
     # (accents, the four letters re.I folds to ASCII, other scripts' digits, superscripts)
     "’", "€", "€ 5", "£3", "–", "🙌", "\xa0", "é", "café", "newé", "İn", "ın stock", "ſtill", "\u212anow", "٣", "١٩٩٩",
     "²", "ﬆ"])


@settings(max_examples=3000, deadline=None)
@given(st.lists(_SIGNAL_PIECES, max_size=12), st.sampled_from([" ", "", "-", "_", "."]))
def test_question_signals_equal_the_patterns(pieces: list[str], sep: str) -> None:
    from advisor.failures.volatility import SIGNALS, question_signals

    text = sep.join(pieces)
    assert question_signals(text) == tuple(name for name, p in SIGNALS.items() if p.search(text))


_NO_ANSWER_PIECES = st.sampled_from(
    ["I", "i", " ", "'", "don't", "Don't", "have", "know", "any", "information", "do not", "Do Not", "am", "'m",
     "not sure", "NOT SURE", "about", "what", "as of", "since", "my", "My", "last", "knowledge", "update", "cutoff",
     "cut-off", "cannot", "can't", "browse", "access real-time", "check the current", "can", "sorry", "x", "\n",
     "I am not sure about", "I'M NOT SURE IF", "i don't know", "I don't have any information", "Since my last update",
     "as of my knowledge cutoff", "My knowledge cut-off", "I can't browse", "I cannot check current",
     "I do not have that data"])


@settings(max_examples=3000, deadline=None)
@given(st.lists(_NO_ANSWER_PIECES | st.sampled_from(["’", "€", "İ", "ı", "ſ", "K", "İ DON’T KNOW", "ı cannot browse",
                                                     "not ſure if", "my Knowledge cutoff", "é"]), max_size=14),
       st.sampled_from([" ", ""]))
def test_no_answer_gate_never_hides_a_match(pieces: list[str], sep: str) -> None:
    from advisor.failures.checks import _NO_ANSWER, _may_say_no_answer

    window = sep.join(pieces)[:600]
    if _NO_ANSWER.search(window):
        assert _may_say_no_answer(window.lower().replace("’", "'"), window)


# ---- the sketch's batch add, and the static stage's batches of cache reads ---------------------------------------
def _sketch_state(sk: QuantileSketch) -> tuple:
    exact = sk._exact
    return (sk.count, sk.total, sk.min, sk.max, sk._zeros, list(sk._buckets.items()),
            None if exact is None else list(exact))


_TOKENS = st.sampled_from([0, 0, 0, 1, 7, 1024, 1152, 1280, 2**40]) | st.integers(0, 10**6)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(_TOKENS, max_size=700), max_size=5))
@example([[1] * 1000, [0, 2] * 12, [3]])  # exactly EXACT_LIMIT values stay exact; one more moves them all
@example([[5] * 1024, [0, 6]])
def test_sketch_add_many_equals_adding_one_by_one(batches: list[list[int]]) -> None:
    from array import array

    one, many = QuantileSketch(), QuantileSketch()
    for batch in batches:
        for v in batch:
            one.add(v)
        many.add_many(array("q", batch))
        assert _sketch_state(many) == _sketch_state(one)
        assert many.sum_capped(1100) == one.sum_capped(1100)


_VALUES = st.sampled_from([0, 0.0, 1, 1.0, 7, 1024, 2.5, 1e-3, 2**40]) | st.floats(0, 1e7) | st.integers(0, 10**6)


def _buckets_one_by_one(values: list[float]) -> tuple[int, list[tuple[int, int]]]:
    """(zeros, buckets in insertion order) of a sketch past EXACT_LIMIT, written out value by value."""
    log_gamma, zeros, buckets = QuantileSketch()._log_gamma, 0, {}
    for v in values:
        if v == 0:
            zeros += 1
        else:
            key = math.ceil(math.log(v) / log_gamma)
            buckets[key] = buckets.get(key, 0) + 1
    return zeros, list(buckets.items())


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(_VALUES, max_size=900), max_size=5))
@example([[3] * 1000, [0, 3.0] * 20, [2.5]])  # two exact pieces over EXACT_LIMIT together: both into buckets
@example([[1000.0 - i for i in range(600)], [float(i) for i in range(1, 600)], [0.5, 9e6, 0.5]])
def test_sketch_merge_buckets_like_adding_one_by_one(pieces: list[list[float]]) -> None:
    # pieces of the logs merge in order: the same buckets, in the same order (sum_capped sums in it), as one sketch
    # fed every value; only the running total may differ in its last bits (summed piece by piece)
    one, merged, seen = QuantileSketch(), QuantileSketch(), []
    for piece in pieces:
        sk = QuantileSketch()
        for v in piece:
            sk.add(v)
            one.add(v)
        seen += piece
        merged.merge(sk)
        got, want = _sketch_state(merged), _sketch_state(one)
        assert got[:1] + got[2:] == want[:1] + want[2:]
        assert math.isclose(merged.total, one.total, rel_tol=1e-12, abs_tol=1e-12)
        if len(seen) > EXACT_LIMIT:
            assert (merged._zeros, list(merged._buckets.items())) == _buckets_one_by_one(seen)


def _byte_tokens(text: str, model: str) -> list[int]:
    return list(text.encode())


def _slots(obj: object) -> dict:
    return {name: getattr(obj, name) for name in type(obj).__slots__}


def test_families_travel_between_processes_unchanged() -> None:
    # a piece sent back by a worker: families, their prefix segments (full and shrunk) and sketches, as flat tuples
    import pickle

    from advisor.scan import pack, unpack

    records = _records(400)
    records[5] = replace(records[5], system=records[5].system[:40] + " but shorter")  # shrinks a full segment
    acc = sp.StaticPromptAccumulator(tokenize=_byte_tokens)
    for r in records:
        acc.add(r)
    copy = unpack(pack(acc))
    assert list(copy._families) == list(acc._families)
    shrunk = 0
    for key, fam in acc._families.items():
        got = copy._families[key]
        for name, value in _slots(fam).items():
            if name == "segs":
                assert [_slots(s) for s in got.segs] == [_slots(s) for s in value]
                shrunk += sum(not s.full for s in value)
            elif name == "cache_read":
                assert _sketch_state(got.cache_read) == _sketch_state(value)
            else:
                assert getattr(got, name) == value, name
    assert shrunk  # the shrunk-segment path ran
    big = QuantileSketch()
    for v in range(3000):
        big.add(v % 700 + 0.5)
    assert _sketch_state(pickle.loads(pickle.dumps(big))) == _sketch_state(big)
    assert copy.result().model_dump() == acc.result().model_dump()


def test_static_cache_reads_in_batches_equal_the_sketch_of_every_read() -> None:
    # three families of ~230 requests (> CACHE_READ_BATCH), one with a 65-bit count that cannot wait in the batch
    records = [_record(i, model="m", system=f"system {i % 3}", user="u") for i in range(700)]
    records[350] = replace(records[350], usage=Usage(input_tokens=2**70, output_tokens=1, cache_read_tokens=2**65))
    acc = sp.StaticPromptAccumulator(tokenize=lambda text, model: list(text.encode()))
    for r in records:
        acc.add(r)
    acc.result()
    assert len(acc._families) == 3
    for fam in acc._families.values():
        want = QuantileSketch()
        for r in records:
            if acc._family_of(r) is fam:
                want.add(r.usage.cache_read_tokens)
        assert _sketch_state(fam.cache_read) == _sketch_state(want) and not fam.cache_reads


def test_bounded_memo_starts_over_past_its_entries_or_characters_and_travels_empty() -> None:
    import pickle

    memo = memo_mod.BoundedMemo(3, budget=100)
    for k in range(3):
        memo.put(k, k, 10)
    assert dict(memo) == {0: 0, 1: 1, 2: 2} and memo.chars == 30
    memo.put(3, 3, 10)  # a 4th entry: starts over
    assert dict(memo) == {3: 3} and memo.chars == 10
    memo.put(4, 4, 95)  # over the character budget: starts over
    assert dict(memo) == {4: 4} and memo.chars == 95
    copy = pickle.loads(pickle.dumps(memo))
    assert isinstance(copy, memo_mod.BoundedMemo) and not copy and (copy.limit, copy.budget, copy.chars) == (3, 100, 0)
    memo.clear()
    assert memo.chars == 0


def test_token_mix_in_batches_equals_the_sketch_of_every_count() -> None:
    """Token counts wait in per-model batches before their sketches; pieces merged part-way, a 65-bit count
    that cannot wait: every sketch equals adding each count as it came, and a negative count still fails."""
    import pickle

    from advisor.metrics.token_mix import BATCH, TOKEN_KINDS, TokenMixAccumulator

    records = []
    for i in range(3 * BATCH + 17):
        out = (i * 37) % 900
        records.append(replace(_record(i, model=f"m{i % 2}", system="s", user="u"),
                               usage=Usage(input_tokens=1000 + (i * 53) % 5000, output_tokens=out,
                                           cache_read_tokens=(i % 5) * 100, cache_write_tokens=(i % 7 == 0) * 50,
                                           reasoning_tokens=out // 3)))
    records[400] = replace(records[400], usage=Usage(input_tokens=2**70, output_tokens=2**65, cache_read_tokens=3))
    whole, first, second = TokenMixAccumulator(), TokenMixAccumulator(), TokenMixAccumulator()
    for k, r in enumerate(records):
        whole.add(r)
        (first if k < 300 else second).add(r)
    first.merge(pickle.loads(pickle.dumps(second)))  # a worker's piece, batches still pending
    for acc in (whole, first):
        acc.result()
        for model, m in acc._models.items():
            for kind in TOKEN_KINDS:
                want = QuantileSketch()
                for r in records:
                    if r.model == model:
                        want.add(getattr(r.usage, f"{kind}_tokens"))
                assert _sketch_state(m.sketches[kind]) == _sketch_state(want), (model, kind)
            assert not any(m.pending)
    bad = TokenMixAccumulator()
    bad.add(records[0])
    with pytest.raises(ValueError, match="negative"):
        bad.add(replace(records[1], usage=Usage(input_tokens=10, output_tokens=5, cache_read_tokens=-1)))
