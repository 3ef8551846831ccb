"""Forked workers inherit the parent's tokenizer instead of each building it again (~0.3 s of CPU apiece).

advisor.scan._workers loads o200k_base before the pool forks (advisor.tokens.warm_encodings); the support
example's Anthropic lines carry no usage, so every worker counts tokens. tiktoken's Encoding constructor is
wrapped to record the process that runs it: only the parent may.
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
from pathlib import Path

import pytest

from advisor import tokens
from advisor.analysis import analysis_json
from advisor.analyze import analyze_logs

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def _fresh_token_caches() -> None:
    for fn in (tokens.get_encoding, tokens._count_cached, tokens._encode_cached):
        fn.cache_clear()


def test_workers_do_not_rebuild_the_encoding(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import tiktoken.core

    log = tmp_path / "anthropic.jsonl"
    with gzip.open(EXAMPLES / "support" / "anthropic.jsonl.gz", "rb") as fin, open(log, "wb") as fout:
        shutil.copyfileobj(fin, fout)
    built = tmp_path / "built.txt"
    original = tiktoken.core.Encoding.__init__

    def recording(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        with open(built, "a") as fh:
            fh.write(f"{os.getpid()}\n")
        original(self, *args, **kwargs)

    _fresh_token_caches()
    monkeypatch.setattr(tiktoken.core.Encoding, "__init__", recording)
    try:
        two = json.loads(analysis_json(analyze_logs([log], jobs=2, chunk_bytes=64 << 10)))
    finally:
        monkeypatch.undo()
        _fresh_token_caches()  # the recorded Encoding must not serve later tests
    assert built.read_text().split() == [str(os.getpid())]  # once, in this process
    one = json.loads(analysis_json(analyze_logs([log], jobs=1, chunk_bytes=64 << 10)))
    two.pop("generated_at"), one.pop("generated_at")
    assert two == one
    assert any(f.get("requests", 0) > 1 for f in one["prompt_families"])
