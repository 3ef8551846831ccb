"""Offline token counting: seeded, hash-verified encodings; model → encoding map; estimate labels."""

from __future__ import annotations

import hashlib
import socket
from datetime import UTC, datetime
from pathlib import Path

import pytest

from advisor import tokens
from advisor.kernel.errors import AdviseError
from advisor.kernel.record import Message, Origin, Record, SourceRef, Usage


@pytest.mark.parametrize("model,encoding,exact", [
    ("gpt-4o", "o200k_base", True),
    ("gpt-4o-2024-08-06", "o200k_base", True),
    ("gpt-4o-mini-2024-07-18", "o200k_base", True),
    ("ft:gpt-4o-mini-2024-07-18:acme::B7x2", "o200k_base", True),
    ("ft:gpt-3.5-turbo-0125:acme::x", "cl100k_base", True),
    ("openai/gpt-4.1-mini", "o200k_base", True),
    ("gpt-4.1", "o200k_base", True),
    ("gpt-5", "o200k_base", True),
    ("gpt-5.1-codex", "o200k_base", True),
    ("o1", "o200k_base", True),
    ("o3-mini-2025-01-31", "o200k_base", True),
    ("o4-mini", "o200k_base", True),
    ("chatgpt-4o-latest", "o200k_base", True),
    ("gpt-4", "cl100k_base", True),
    ("gpt-4-0613", "cl100k_base", True),
    ("gpt-4-turbo-2024-04-09", "cl100k_base", True),
    ("gpt-3.5-turbo", "cl100k_base", True),
    ("gpt-35-turbo", "cl100k_base", True),  # Azure spelling
    ("prod-gpt-4o-eu", "o200k_base", True),  # Azure deployment name
    ("gpt4o", "o200k_base", True),
    ("text-embedding-3-small", "cl100k_base", True),
    ("claude-sonnet-4-5-20250929", "o200k_base", False),
    ("anthropic.claude-3-5-sonnet-20240620-v1:0", "o200k_base", False),
    ("meta-llama/Llama-3.1-8B-Instruct", "o200k_base", False),
    ("gemini-2.5-flash", "o200k_base", False),
    ("mistral-large-latest", "o200k_base", False),
    ("my-team-deployment", "o200k_base", False),
])
def test_model_to_encoding(model: str, encoding: str, exact: bool) -> None:
    assert tokens.encoding_name_for_model(model) == encoding
    assert tokens.is_exact_tokenizer(model) is exact


def test_relative_error_is_small_for_openai_and_wide_for_others() -> None:
    assert tokens.relative_error("gpt-4o") == pytest.approx(0.02)
    assert tokens.relative_error("claude-sonnet-4-5") == pytest.approx(0.20)
    assert tokens.relative_error("llama-3.1-8b") == pytest.approx(0.15)
    assert tokens.relative_error("who-knows") == pytest.approx(0.20)


def test_normalize_model_name() -> None:
    assert tokens.normalize_model_name("ft:gpt-4o-mini-2024-07-18:org::id") == "gpt-4o-mini"
    assert tokens.normalize_model_name("openrouter/openai/gpt-4o") == "gpt-4o"
    assert tokens.normalize_model_name("gpt-35-turbo-0613") == "gpt-3.5-turbo"


def test_counts_known_strings() -> None:
    # reference counts from tiktoken's own docs/tests for these encodings
    assert tokens.count_text("hello world", "gpt-4o") == 2
    assert tokens.tokenize("hello world", "gpt-4") == [15339, 1917]  # cl100k_base
    assert tokens.tokenize("hello world", "gpt-4o") == [24912, 2375]  # o200k_base
    assert tokens.count_text("", "gpt-4o") == 0
    assert tokens.count_text("<|endoftext|>", "gpt-4o") > 1  # special-token text is counted as plain text


def test_count_prompt_adds_chat_framing() -> None:
    msgs = [Message(role="user", content="hello world")]
    # reply priming 3 + system (3 + "system" 1 + "Be brief." 3) + user (3 + "user" 1 + 2)
    sys_tokens = tokens.count_text("Be brief.", "gpt-4o")
    expected = 3 + (3 + 1 + sys_tokens) + (3 + 1 + 2)
    assert tokens.count_prompt("Be brief.", msgs, None, "gpt-4o") == expected
    tools = [{"type": "function", "function": {"name": "lookup", "parameters": {"type": "object"}}}]
    assert tokens.count_prompt("Be brief.", msgs, tools, "gpt-4o") > expected


def _record(model: str, usage: Usage | None = None) -> Record:
    return Record(id="r1", source_format="test", source=SourceRef(file="t.jsonl", line=1),
                  timestamp=datetime(2026, 11, 2, tzinfo=UTC), model=model, system="You are terse.",
                  messages=[Message(role="user", content="What is 2+2?")], output="4", usage=usage)


def test_estimate_usage_is_labelled_estimated() -> None:
    u = tokens.estimate_usage(_record("claude-haiku-4-5"))
    assert u.origin is Origin.estimated
    assert u.output_tokens == 1 and u.input_tokens > 10


def test_fill_usage_only_when_missing() -> None:
    reported = Usage(input_tokens=99, output_tokens=5)
    rec = _record("gpt-4o", reported)
    assert tokens.fill_usage(rec) is rec
    filled = tokens.fill_usage(_record("gpt-4o"))
    assert filled.usage is not None and filled.usage.origin is Origin.estimated


def test_count_text_counts_a_repeated_prompt_once(monkeypatch: pytest.MonkeyPatch) -> None:
    big = f"You are a support agent answering about orders #{id(monkeypatch)}. " * 500  # unseen text
    encodes: list[str] = []
    real = tokens.get_encoding
    monkeypatch.setattr(tokens, "get_encoding", lambda name: encodes.append(name) or real(name))
    counts = {tokens.count_text(big, "gpt-4o") for _ in range(50)}
    assert counts == {len(real("o200k_base").encode_ordinary(big))} and encodes == ["o200k_base"]
    assert list(tokens.tokenize(big, "gpt-4o")) == real("o200k_base").encode_ordinary(big)
    tokens.tokenize(big, "gpt-4o")
    assert encodes == ["o200k_base", "o200k_base"]  # one encode for the ids, then remembered too


def test_token_memos_keep_a_bounded_amount_of_text(monkeypatch: pytest.MonkeyPatch) -> None:
    from advisor.kernel.memo import BoundedMemo

    monkeypatch.setattr(tokens, "_COUNTED", BoundedMemo(1000, budget=10_000))
    monkeypatch.setattr(tokens, "_ENCODED", BoundedMemo(1000, budget=10_000))
    texts = [f"prompt {i} " + "lorem ipsum dolor " * 100 for i in range(40)]  # ~1.8k characters each
    want = [len(tokens.get_encoding("o200k_base").encode_ordinary(t)) for t in texts]
    for _ in range(2):
        assert [tokens.count_text(t, "gpt-4o") for t in texts] == want
        assert [len(tokens.tokenize(t, "gpt-4o")) for t in texts] == want
        for memo in (tokens._COUNTED, tokens._ENCODED):
            assert 0 < memo.chars <= 10_000 and sum(len(k[0]) for k in memo) == memo.chars


# --- offline seeding --------------------------------------------------------------------------

def _block_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise AssertionError("network access attempted")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)


def test_seeds_verified_cache_and_tiktoken_loads_it_offline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import tiktoken.registry

    _block_network(monkeypatch)
    monkeypatch.delenv("TIKTOKEN_CACHE_DIR", raising=False)  # get_encoding sets it; restore afterwards
    monkeypatch.setenv("ADVISE_TIKTOKEN_CACHE", str(tmp_path))
    monkeypatch.setattr(tiktoken.registry, "ENCODINGS", {})  # force tiktoken to read the files again
    tokens.get_encoding.cache_clear()
    try:
        results = tokens.seed_all()
        expected = tokens.expected_encoding_files()
        for r in results:
            assert r.action == "seeded"
            assert r.path.name == hashlib.sha1(expected[r.name].blobpath.encode()).hexdigest()
            assert hashlib.sha256(r.path.read_bytes()).hexdigest() == expected[r.name].sha256
        assert [r.action for r in tokens.seed_all()] == ["present", "present"]  # idempotent
        enc = tokens.get_encoding("o200k_base")
        assert enc.encode_ordinary("hello world") == [24912, 2375]
    finally:
        tokens.get_encoding.cache_clear()


def test_corrupt_cache_file_is_replaced(tmp_path: Path) -> None:
    spec = tokens.expected_encoding_files()["cl100k_base"]
    (tmp_path / spec.cache_key).write_bytes(b"corrupt")
    result = tokens.seed_encoding("cl100k_base", tmp_path)
    assert result.action == "seeded"
    assert hashlib.sha256((tmp_path / spec.cache_key).read_bytes()).hexdigest() == spec.sha256


def test_bundled_data_with_wrong_hash_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tokens, "_bundled_encoding", lambda name: b"IQ== 0\n")
    with pytest.raises(AdviseError) as info:
        tokens.seed_encoding("o200k_base", tmp_path)
    assert "hash mismatch" in info.value.message and info.value.hint
    assert not (tmp_path / tokens.expected_encoding_files()["o200k_base"].cache_key).exists()


def test_tiktoken_download_is_blocked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Even if the cache were missing after seeding, tiktoken's downloader raises instead of fetching."""
    import tiktoken.registry

    _block_network(monkeypatch)
    monkeypatch.delenv("TIKTOKEN_CACHE_DIR", raising=False)  # get_encoding sets it; restore afterwards
    monkeypatch.setenv("ADVISE_TIKTOKEN_CACHE", str(tmp_path))
    monkeypatch.setattr(tiktoken.registry, "ENCODINGS", {})
    monkeypatch.setattr(tokens, "seed_encoding",
                        lambda name, directory=None: tokens.SeedResult(name, tmp_path / "x", "", "present"))
    (tmp_path / "x").write_bytes(b"")
    tokens.get_encoding.cache_clear()
    try:
        with pytest.raises(AdviseError, match="never downloads"):
            tokens.get_encoding("cl100k_base")
    finally:
        tokens.get_encoding.cache_clear()


def test_unknown_encoding_is_refused() -> None:
    with pytest.raises(AdviseError):
        tokens.get_encoding("p50k_base")
