"""Try an adapter: load base + adapter from a run dir, decode greedily with the chat template.

`generate_batch` is what evaluation calls: prompts sorted by length, left-padded, batched, KV
cache on, inference mode — deterministic (greedy) so baseline and adapter compare fairly.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from advisor.kernel.errors import AdviseError


def base_spec_from_run(base: dict[str, Any]) -> str | None:
    """The --base value that reproduces a run's base model."""
    if base.get("kind") == "embedded":
        return None
    if base.get("kind") == "local":
        return base.get("source_path") or base.get("id")
    return base.get("id")


def load_adapter(run_dir: str | Path, device: str = "auto", dtype: str = "auto", merge: bool = True):
    """(model, tokenizer, run_summary) for a finished run; merged for speed unless merge=False.

    A full fine-tune (`--method full`) has no adapter: its whole model is returned (merge does not apply)."""
    from peft import PeftModel

    from trainer.training.models import load_base
    from trainer.training.train import read_run

    run = read_run(run_dir)
    adapter = Path(run_dir) / run.adapter_dir
    if run.method == "full":  # every weight trained: model/ is a whole model, loaded as it is
        if not (adapter / "config.json").is_file():
            raise AdviseError(f"model missing in {adapter}", hint="the run did not finish; train it again")
        model, tok, _ = load_base(str(adapter), dtype=dtype, device=device)
        model.eval()
        return model, tok, run
    if not (adapter / "adapter_config.json").is_file():
        raise AdviseError(f"adapter missing in {adapter}", hint="the run did not finish; train it again")
    model, tok, info = load_base(base_spec_from_run(run.base), dtype=dtype, device=device)
    if run.base.get("file_hash") and info.file_hash and run.base["file_hash"] != info.file_hash:
        raise AdviseError("the base model's weights differ from the ones this adapter was trained on",
                          file=str(Path(run_dir) / "run.json"), field="base.file_hash",
                          hint="restore the original base model, or retrain the adapter")
    model = PeftModel.from_pretrained(model, str(adapter))
    if merge:
        model = model.merge_and_unload()
    model.eval()
    return model, tok, run


def build_messages(prompt: str, system: str | None = None) -> list[dict[str, str]]:
    msgs = [{"role": "system", "content": system}] if system else []
    return msgs + [{"role": "user", "content": prompt}]


def generate_batch(model, tokenizer, conversations: list[list[dict[str, Any]]], max_new_tokens: int = 256,
                   batch_size: int = 16) -> list[str]:
    """Greedy completions for many chats at once, in input order (text only)."""
    return [g.text for g in generate_outputs(model, tokenizer, conversations, max_new_tokens, batch_size)]


@dataclass(frozen=True)
class Generated:
    """One completion: its text, how many tokens it took, and whether the token limit cut it off."""

    text: str
    tokens: int
    truncated: bool  # hit max_new_tokens without a stop token: reported apart, never as a format failure


def generate_outputs(model, tokenizer, conversations: list[list[dict[str, Any]]], max_new_tokens: int = 256,
                     batch_size: int = 16) -> list[Generated]:
    """Greedy completions for many chats at once, in input order.

    Sorting by prompt length keeps left padding small; each batch runs with the KV cache under
    inference mode. Returns only the newly generated text (special tokens stripped), its token
    count and whether it stopped at the limit.
    """
    import torch

    if not conversations:
        return []
    prompts = [tokenizer.apply_chat_template(c, tokenize=False, add_generation_prompt=True) for c in conversations]
    encoded = [tokenizer(p, add_special_tokens=False)["input_ids"] for p in prompts]
    order = sorted(range(len(encoded)), key=lambda i: len(encoded[i]))
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    device = next(model.parameters()).device
    eos = _stop_ids(tokenizer, model)
    stop = set(eos)
    results: list[Generated] = [Generated("", 0, False)] * len(encoded)
    with torch.inference_mode():
        for start in range(0, len(order), batch_size):
            idx = order[start: start + batch_size]
            width = max(len(encoded[i]) for i in idx)
            ids = torch.full((len(idx), width), pad_id, dtype=torch.long)
            mask = torch.zeros((len(idx), width), dtype=torch.long)
            for r, i in enumerate(idx):
                seq = encoded[i]
                ids[r, width - len(seq):] = torch.tensor(seq)
                mask[r, width - len(seq):] = 1
            out = model.generate(input_ids=ids.to(device), attention_mask=mask.to(device),
                                 max_new_tokens=max_new_tokens, do_sample=False, use_cache=True,
                                 pad_token_id=pad_id, eos_token_id=eos)
            for r, i in enumerate(idx):
                new_ids = out[r, width:].tolist()
                ended = next((k for k, t in enumerate(new_ids) if t in stop), None)
                used = ended if ended is not None else len(new_ids)
                results[i] = Generated(tokenizer.decode(new_ids[:used], skip_special_tokens=True).strip(), used,
                                       ended is None and len(new_ids) >= max_new_tokens)
    return results


def _stop_ids(tokenizer, model) -> list[int]:
    """EOS plus the chat template's end-of-turn token (ChatML's <|im_end|>) when the vocab has one."""
    ids = set()
    for cand in (tokenizer.eos_token_id, getattr(model.generation_config, "eos_token_id", None)):
        if isinstance(cand, int):
            ids.add(cand)
        elif isinstance(cand, list):
            ids.update(cand)
    for tok in ("<|im_end|>", "<|eot_id|>", "<end_of_turn>"):
        tid = tokenizer.convert_tokens_to_ids(tok)
        if isinstance(tid, int) and tid != tokenizer.unk_token_id and tid >= 0:
            ids.add(tid)
    return sorted(ids)


def generate_text(model, tokenizer, prompt: str, system: str | None = None, max_new_tokens: int = 256) -> str:
    return generate_batch(model, tokenizer, [build_messages(prompt, system)], max_new_tokens)[0]
