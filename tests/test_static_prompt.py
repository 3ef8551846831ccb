"""Static prompt structure: token-level LCP in cache order, static blocks, cache simulation, cost share."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest

from advisor.kernel.record import Message, Record, SourceRef, Usage
from advisor.metrics.static_prompt import (
    MAX_FAMILIES,
    StaticPromptAccumulator,
    common_prefix_len,
    family_key,
    segments,
)

T0 = datetime(2025, 3, 3, tzinfo=UTC)
_VOCAB: dict[str, int] = {}


def word_tokens(text: str, model: str) -> list[int]:
    """A toy tokenizer: one token per word with its leading whitespace (like BPE pre-tokens)."""
    return [_VOCAB.setdefault(w, len(_VOCAB)) for w in re.findall(r"\s*\S+", text)]


def exact(model: str) -> tuple[float, bool]:
    return 0.0, False


def rec(i: int, *, system: str | None = "You are a helpful shop assistant. Answer briefly.", user: str = "hi",
        tools=None, history=(), ts: datetime = T0, model: str = "gpt-4o-mini", inp: int = 100, cr: int = 0,
        cw: int = 0) -> Record:
    msgs = [Message(role=r, content=c) for r, c in history] + [Message(role="user", content=user)]
    return Record(id=f"r{i}", source_format="test", source=SourceRef(file="t", line=i + 1), timestamp=ts,
                  model=model, system=system, tools=tools, messages=msgs,
                  usage=Usage(input_tokens=inp, output_tokens=1, cache_read_tokens=cr, cache_write_tokens=cw))


def run(records, sample_rate: float = 1.0, price=None):
    acc = StaticPromptAccumulator(tokenize=word_tokens, sample_rate=sample_rate, error_of=exact)
    for r in records:
        acc.add(r)
    return acc.result(price_of=(lambda m: price) if price else None)


def test_common_prefix_len():
    assert common_prefix_len("abcdef", "abcxyz") == 3
    assert common_prefix_len("abc", "abcdef") == 3
    assert common_prefix_len("abc", "xbc") == 0
    assert common_prefix_len("abcdef", "abcdef", upto=4) == 4
    assert common_prefix_len("", "abc") == 0


def test_system_prompt_is_static_user_text_is_not():
    res = run([rec(0, user="where is my order"), rec(1, user="cancel it please"), rec(2, user="refund")])
    (fam,) = res.families
    assert fam.requests == 3
    assert fam.static_prefix_tokens == 8  # "You| are| a| helpful| shop| assistant.| Answer| briefly."
    assert fam.segments_static == ["system"]
    assert fam.mean_variable_tokens == pytest.approx(92)
    assert fam.static_share_of_input_tokens == pytest.approx(0.08)
    assert fam.excerpt.startswith("You are a helpful shop assistant.")


def test_prefix_runs_into_messages_at_token_level():
    """'Customer question: What…' vs '…: Where…' share 21 chars but only 2 word tokens."""
    res = run([rec(0, user="Customer question: What is the status?"),
               rec(1, user="Customer question: Where is it?")])
    fam = res.families[0]
    assert fam.static_prefix_tokens == 8 + 2
    assert fam.segments_static == ["system", "user"]
    assert fam.static_tokens_by_kind == {"system": 8, "user": 2}


def test_cache_order_tools_before_system():
    tool_a = {"type": "function", "function": {"name": "lookup_order", "parameters": {"type": "object"}}}
    tool_b = {"type": "function", "function": {"name": "cancel_order", "parameters": {"type": "object"}}}
    # same system prompt, but the tool definitions differ → the prefix stops inside the tools segment
    res = run([rec(0, tools=[tool_a], user="a"), rec(1, tools=[tool_b], user="b")])
    fam = res.families[0]
    assert fam.segments_static == ["tool"]
    expected = 0
    ta = word_tokens(segments(rec(0, tools=[tool_a]))[0][1], "m")
    tb = word_tokens(segments(rec(0, tools=[tool_b]))[0][1], "m")
    while ta[expected] == tb[expected]:
        expected += 1
    assert fam.static_prefix_tokens == expected > 0
    # identical tools → the whole tool + the system prompt are static
    res2 = run([rec(0, tools=[tool_a], user="a"), rec(1, tools=[tool_a], user="b")])
    assert res2.families[0].segments_static == ["tool", "system"]
    assert res2.families[0].static_prefix_tokens == len(ta) + 8


def test_static_few_shot_history_then_variable_question():
    shots = [("user", "Example: classify 'late parcel'"), ("assistant", "category: shipping")]
    res = run([rec(0, history=shots, user="broken screen"), rec(1, history=shots, user="wrong size"),
               rec(2, history=shots, user="late again")])
    fam = res.families[0]
    assert fam.segments_static == ["system", "user", "assistant"]
    assert fam.static_prefix_tokens == 8 + 4 + 2


def test_shorter_request_truncates_prefix_and_single_request_is_zero():
    shots = [("user", "Example one"), ("assistant", "answer one")]
    res = run([rec(0, history=shots, user="x"), rec(1, history=(), user="Example one")])
    assert res.families[0].static_prefix_tokens == 8 + 2
    solo = run([rec(0, system="Only once")])
    assert solo.families[0].static_prefix_tokens == 0


def test_role_change_ends_prefix():
    res = run([rec(0, history=[("user", "same words")], user="a"),
               rec(1, history=[("assistant", "same words")], user="a")])
    assert res.families[0].static_prefix_tokens == 8
    assert res.families[0].segments_static == ["system"]


def test_families_by_model_and_system():
    a = rec(0)
    assert family_key(a) == family_key(rec(1, user="other"))
    assert family_key(a) != family_key(rec(2, system="Different"))
    assert family_key(a) != family_key(rec(3, model="gpt-4o"))
    assert family_key(rec(4, system=None))[1] == "no-system"
    res = run([rec(0), rec(1), rec(2, system="Different prompt"), rec(3, model="gpt-4o")])
    assert sorted(f.requests for f in res.families) == [1, 1, 2]


def test_static_block_inside_user_messages():
    guide = ("Style guide: answer in two sentences, never promise refunds, always include the order "
             "number and a link to the help centre.")
    recs = [rec(i, user=f"Question {i}: item {i * 7} arrived damaged\n\n{guide}") for i in range(10)]
    recs.append(rec(10, user="no guide here"))
    fam = run(recs).families[0]
    assert len(fam.static_blocks) == 1
    block = fam.static_blocks[0]
    assert block.excerpt == guide[:200] and block.share_of_requests == pytest.approx(10 / 11)
    assert block.tokens == len(word_tokens(guide, "m"))
    assert fam.static_block_tokens == pytest.approx(block.tokens * 10 / 11)


def test_cache_simulation_gaps_and_sample_rate():
    gaps = [0, 60, 240, 600, 1800, 7200]  # minutes-ish: 1m, 4m, 10m, 30m, 2h after each previous
    times, t = [], T0
    for g in gaps:
        t = t + timedelta(seconds=g)
        times.append(t)
    recs = [rec(i, ts=ts, user=str(i)) for i, ts in enumerate(reversed(times))]  # out of order on purpose
    cache = run(recs).families[0].cache
    assert cache.hit_rate_5m == pytest.approx(2 / 6)  # gaps 60, 240
    assert cache.hit_rate_1h == pytest.approx(4 / 6)  # + 600, 1800
    # a 10 % sample: real gaps are ~10× shorter → 600 s and 1800 s gaps become 60 s and 180 s
    sampled = run(recs, sample_rate=0.1).families[0].cache
    assert sampled.hit_rate_5m == pytest.approx(4 / 6) and sampled.hit_rate_1h == pytest.approx(5 / 6)


def test_static_share_of_input_cost_bills_cached_reads_cheaper():
    price = SimpleNamespace(input_mtok=1.0, cached_input_mtok=0.1, cache_write_mtok=1.25)
    # 2 requests, 100 input tokens each, static prefix 8; the second read 8 tokens from cache
    fam = run([rec(0, user="a", inp=100), rec(1, user="b", inp=100, cr=8)], price=price).families[0]
    input_cost = 192 * 1.0 + 8 * 0.1
    static_cost = 8 * 1.0 + 8 * 0.1
    assert fam.static_share_of_input_cost == pytest.approx(static_cost / input_cost)
    assert run([rec(0), rec(1)]).families[0].static_share_of_input_cost is None  # no price given


def test_static_tokens_per_day_and_cap_by_logged_input():
    recs = [rec(0, inp=5, user="a"), rec(1, ts=T0 + timedelta(days=1), inp=5, user="b"),
            rec(2, ts=T0 + timedelta(days=1), inp=5, user="c")]
    res = run(recs)
    fam = res.families[0]
    assert fam.static_prefix_tokens == 8  # counted…
    assert fam.static_share_of_input_tokens == 1.0  # …but never more than the logged input
    assert res.static_tokens_per_day == {"2025-03-03": 5.0, "2025-03-04": 10.0}


def test_family_cap_counts_overflow(monkeypatch):
    monkeypatch.setattr("advisor.metrics.static_prompt.MAX_FAMILIES", 3)
    res = run([rec(i, system=f"prompt {i}") for i in range(5)])
    assert len(res.families) == 3 and res.overflow_requests == 2
    assert MAX_FAMILIES >= 1000
