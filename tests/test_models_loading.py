"""Base-model resolution (fast) and the embedded GGUF load + cache (slow: ~30 s first conversion)."""

from __future__ import annotations

import time

import pytest

from advisor.kernel.errors import AdviseError
from trainer.training.models import EMBEDDED_ID, FALLBACK_CHAT_TEMPLATE, ensure_chat_template, resolve_base


def test_resolve_base_kinds(tmp_path):
    spec = resolve_base(None)
    assert spec.kind == "embedded" and spec.id == EMBEDDED_ID and spec.gguf_file.endswith(".gguf")
    assert resolve_base("default") == spec
    (tmp_path / "config.json").write_text("{}")
    assert resolve_base(str(tmp_path)).kind == "local"
    assert resolve_base("some-org/some-model").kind == "hub"
    with pytest.raises(AdviseError, match="not a Hugging Face model directory"):
        resolve_base(str(tmp_path / ".."))
    with pytest.raises(AdviseError, match="not found"):
        resolve_base("./missing/dir")


def test_uncached_hub_id_is_a_clear_offline_error(monkeypatch):
    from trainer.training.models import load_base

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(AdviseError, match="not available offline") as e:
        load_base("no-such-org/no-such-model-xyz", device="cpu")
    assert "local directory" in e.value.hint


def test_fallback_chat_template_only_when_missing():
    class Tok:
        chat_template = None

    t = Tok()
    assert ensure_chat_template(t) == "fallback" and t.chat_template == FALLBACK_CHAT_TEMPLATE
    t.chat_template = "{{ messages }}"
    assert ensure_chat_template(t) == "tokenizer" and t.chat_template == "{{ messages }}"


@pytest.mark.slow
def test_embedded_gguf_loads_offline_and_is_cached(tmp_path, monkeypatch):
    from trainer.training.models import load_base

    monkeypatch.setenv("ADVISE_CACHE_DIR", str(tmp_path))
    t0 = time.perf_counter()
    model, tok, info = load_base(None, device="cpu")
    first = time.perf_counter() - t0
    cached = list((tmp_path / "models").iterdir())
    assert len(cached) == 1 and (cached[0] / "config.json").is_file()
    assert (cached[0] / "model.safetensors").is_file()
    assert info.model_type == "llama" and 130e6 < info.n_params < 140e6 and len(info.file_hash) == 64
    assert info.chat_template == "tokenizer" and "<|im_start|>" in tok.chat_template
    t0 = time.perf_counter()
    _, tok2, info2 = load_base(None, device="cpu")
    second = time.perf_counter() - t0
    assert second < first / 3 and info2.file_hash == info.file_hash
    text = tok2.apply_chat_template([{"role": "user", "content": "hi"}], tokenize=False, add_generation_prompt=True)
    assert text.endswith("<|im_start|>assistant\n")
