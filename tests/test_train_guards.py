"""Trainer guards and options on a tiny random Llama: packing without cross-example attention,
assistant-mask sanity, truncation and QLoRA warnings, full fine-tuning."""

from __future__ import annotations

import json
import types

import pytest
import torch  # the train extra, which setup.sh installs: a hard dependency here, never skipped

from advisor.kernel.errors import AdviseError  # noqa: E402
from tests.test_train import (  # noqa: E402,F401
    one_thread,
    small_config,
    tiny_loaded,
    tiny_tokenizer,
    toy_rows,
    train_held,
    write_jsonl,
)
from trainer.training.batches import (  # noqa: E402
    IGNORE_INDEX,
    collate,
    collate_packed,
    pack_rows,
    tokenize_row,
    tokenize_rows,
)
from trainer.training.train import TrainWarning, check_packing, quantize_warning  # noqa: E402


def _varied_examples(tok, n=6):
    rows = toy_rows(n, seed=3)
    for i, r in enumerate(rows):  # different prompt lengths so packed rows have uneven segments
        r["messages"][1]["content"] += " hello" * (3 * i)
    return [tokenize_row(tok, r, 128) for r in rows]


def _token_losses(model, batch):
    """Per-position loss (0 where unlabelled) of the model on `batch`, as HF computes it."""
    kwargs = {"input_ids": batch["input_ids"], "use_cache": False}  # a cache would disable the packed mask
    if "position_ids" in batch:
        kwargs["position_ids"] = batch["position_ids"]
    else:
        kwargs["attention_mask"] = batch["attention_mask"]
    logits = model(**kwargs).logits[:, :-1].float()
    target = batch["labels"][:, 1:]
    loss = torch.nn.functional.cross_entropy(logits.transpose(1, 2), target, ignore_index=IGNORE_INDEX,
                                             reduction="none")
    return loss, target


def test_packed_rows_give_the_same_per_example_loss_as_unpacked():
    model, tok, _ = tiny_loaded()
    model.eval()
    exs = _varied_examples(tok)
    alone = []
    with torch.no_grad():
        for e in exs:
            loss, target = _token_losses(model, collate([e], tok.pad_token_id))
            alone.append(float(loss[target != IGNORE_INDEX].sum()))
        packed = collate_packed(exs, tok.pad_token_id, capacity=10_000)  # all six in one row
        assert packed["input_ids"].shape[0] == 1
        loss, target = _token_losses(model, packed)
        # the segments are laid out in pack_rows order; recover each example's share of the row
        order = pack_rows([len(e.input_ids) for e in exs], 10_000)[0]
        at, per_example = 0, {}
        for i in order:
            n = len(exs[i].input_ids)
            seg = slice(at, at + n - 1)  # shifted targets of this segment (its last token predicts nothing)
            per_example[i] = float(loss[0, seg][target[0, seg] != IGNORE_INDEX].sum())
            at += n
        assert [per_example[i] for i in range(len(exs))] == pytest.approx(alone, rel=1e-4, abs=1e-4)

        # negative control: the same row without position resets lets examples see each other
        leaky = dict(packed, position_ids=torch.arange(packed["input_ids"].shape[1])[None])
        loss_leaky, _ = _token_losses(model, leaky)
        assert float(loss_leaky.sum()) != pytest.approx(sum(alone), rel=1e-3)


def test_masked_loss_module_on_packed_batch_equals_unpacked_sum():
    from trainer.training.lora import add_lora
    from trainer.training.train import _masked_loss_module

    model, tok, _ = tiny_loaded()
    module = _masked_loss_module(add_lora(model, small_config()))
    module.eval()
    exs = _varied_examples(tok)
    with torch.no_grad():
        packed = float(module(**collate_packed(exs, tok.pad_token_id, capacity=64)))
        padded = float(module(**collate(exs, tok.pad_token_id)))
    assert packed == pytest.approx(padded, rel=1e-4)
    assert len(pack_rows([len(e.input_ids) for e in exs], 64)) < len(exs)  # it did pack


def test_packing_trains_and_is_refused_without_per_example_attention(tmp_path):
    data = write_jsonl(tmp_path / "t.jsonl", toy_rows(32, 1))
    s = train_held(tiny_loaded(), small_config(packing=True, max_steps=20, lr=1e-2, eval_every=100, save_every=100),
                   data, None, out_dir=tmp_path / "r", progress=False)
    losses = [json.loads(x)["loss"] for x in (tmp_path / "r" / "metrics.jsonl").read_text().splitlines()]
    assert s.padded_tokens_seen < 1.2 * s.tokens_seen and losses[-1] < 0.7 * losses[0]
    fake = types.SimpleNamespace(config=types.SimpleNamespace(_attn_implementation="my_fused_kernel"))
    with pytest.raises(AdviseError, match="packing needs per-example attention") as e:
        check_packing(fake)
    assert e.value.field == "packing" and "packing = false" in e.value.hint
    check_packing(tiny_loaded()[0])  # sdpa/eager: allowed


def _template_tokenizer(template: str):
    tok = tiny_tokenizer()
    tok.chat_template = template
    return tok


def test_assistant_mask_all_zero_or_all_one_aborts():
    rows = toy_rows(3)
    # a template that drops assistant turns: nothing to learn
    drops = _template_tokenizer("{% for m in messages %}{% if m['role'] != 'assistant' %}"
                                "<|im_start|>{{ m['role'] }} {{ m['content'] }}<|im_end|>{% endif %}{% endfor %}")
    with pytest.raises(AdviseError, match="all zero") as e:
        tokenize_rows(drops, rows, 64, "train.jsonl")
    assert (e.value.file, e.value.line) == ("train.jsonl", 1) and "template" in e.value.hint
    # a template whose first token depends on the number of messages: the prompt is never a prefix
    counts = _template_tokenizer("{{ ['red', 'blue', 'green', 'black'][messages|length - 1] }} "
                                 "{% for m in messages %}<|im_start|>{{ m['role'] }} {{ m['content'] }}<|im_end|>"
                                 "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant{% endif %}")
    with pytest.raises(AdviseError, match="all one") as e:
        tokenize_rows(counts, rows, 64, "train.jsonl")
    assert e.value.field == "messages"
    assert tokenize_rows(tiny_tokenizer(), rows, 64)  # the normal template passes


def test_truncation_warns_with_share_and_lost_answer_tokens(tmp_path):
    rows = toy_rows(8)
    for r in rows[:3]:
        r["messages"][2]["content"] = " ".join(["one"] * 30)  # answers longer than max_seq_len
    data = write_jsonl(tmp_path / "t.jsonl", rows)
    with pytest.warns(TrainWarning, match=r"3 of 8 examples \(38%\).*answer tokens"):
        s = train_held(tiny_loaded(), small_config(max_seq_len=24, max_steps=1), data, None,
                       out_dir=tmp_path / "r", progress=False)
    assert s.train_data.n_truncated == 3 and s.train_data.n_target_tokens_truncated > 0
    assert any("max_seq_len=24" in w for w in s.warnings)


def test_qlora_is_cuda_only_and_warns_on_small_models():
    with pytest.raises(AdviseError, match="needs a CUDA GPU") as e:
        quantize_warning("4bit", "cpu", 135_000_000)
    assert e.value.field == "quantize"
    assert "saves memory, not time" in quantize_warning("4bit", "cuda", 135_000_000)
    assert quantize_warning("4bit", "cuda", 7_000_000_000) is None
    assert quantize_warning(None, "cpu", 135_000_000) is None


def test_full_finetuning_changes_base_weights_lora_does_not(tmp_path):
    data = write_jsonl(tmp_path / "t.jsonl", toy_rows(16, 1))
    model, tok, info = tiny_loaded()
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    s = train_held((model, tok, info), small_config(method="full", max_steps=3, lr=1e-3), data, None,
                   out_dir=tmp_path / "full", progress=False)
    changed = [n for n, p in model.named_parameters() if not torch.equal(p.detach(), before[n])]
    assert "model.layers.0.self_attn.q_proj.weight" in changed and "model.layers.1.mlp.down_proj.weight" in changed
    assert s.method == "full" and s.trainable_params == s.total_params and s.adapter_dir == "model"
    assert (tmp_path / "full" / "model" / "model.safetensors").is_file()
    # LoRA on a fresh copy: no base weight moves (the adapter does)
    model, tok, info = tiny_loaded()
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    train_held((model, tok, info), small_config(max_steps=3, lr=1e-3), data, None, out_dir=tmp_path / "lora",
               progress=False)
    base = {n.replace("base_model.model.", "").replace(".base_layer", ""): p for n, p in model.named_parameters()
            if "lora_" not in n}
    assert all(torch.equal(base[n].detach(), before[n]) for n in before)


def test_cli_prints_the_truncation_warning_as_one_line(tmp_path, capsys):
    from advisor.cli import main

    model, tok, _ = tiny_loaded()
    model.save_pretrained(tmp_path / "base")
    tok.save_pretrained(tmp_path / "base")
    rows = toy_rows(8)
    rows[0]["messages"][2]["content"] = " ".join(["one"] * 30)
    data = write_jsonl(tmp_path / "t.jsonl", rows)
    assert main(["train", "--data", str(data), "--base", str(tmp_path / "base"), "-o", str(tmp_path / "r"),
                 "--max-seq-len", "24", "--max-steps", "1", "-q"]) == 0
    err = capsys.readouterr().err
    assert "warning: 1 of 8 examples (12%) are longer than max_seq_len=24" in err


def test_segment_attention_equals_masked_sdpa_on_packed_and_padded_rows():
    """The CPU loop's per-example causal attention gives the same outputs as the dense-mask path."""
    from trainer.training.attention import segment_attention

    model, tok, _ = tiny_loaded()
    model.eval()
    exs = _varied_examples(tok)
    for batch in (collate_packed(exs, tok.pad_token_id, 64), collate(exs, tok.pad_token_id)):
        kwargs = {"input_ids": batch["input_ids"], "use_cache": False}
        if "position_ids" in batch:
            kwargs["position_ids"] = batch["position_ids"]
        else:
            kwargs["attention_mask"] = batch["attention_mask"]
        with torch.no_grad():
            ref = model(**kwargs).logits
            with segment_attention(model):
                assert model.config._attn_implementation == "advise_segments"
                got = model(**kwargs).logits
        real = batch["attention_mask"].bool()
        assert torch.allclose(ref[real], got[real], atol=1e-4)
    assert model.config._attn_implementation == "sdpa"  # restored


def test_training_and_preference_files_that_are_not_utf8_name_their_line(tmp_path):
    """One JSONL reader for SFT rows and DPO pairs (trainer.training.batches.json_lines): a Latin-1 line is an
    error with file and line, not a UnicodeDecodeError traceback."""
    from trainer.training.batches import load_chat_jsonl
    from trainer.training.dpo import load_preferences

    for name, load in (("train.jsonl", load_chat_jsonl), ("preferences.jsonl", load_preferences)):
        path = tmp_path / name
        path.write_bytes(b'\n{"prompt": "caf\xe9"}\n')
        with pytest.raises(AdviseError, match="not valid UTF-8") as info:
            load(path)
        assert info.value.line == 2 and info.value.file == str(path)
