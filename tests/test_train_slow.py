"""End to end on the embedded SmolLM2-135M: a short CPU run on a template task lowers validation
loss, and the adapter reloads with plain peft. Minutes of CPU: marked slow."""

from __future__ import annotations

import json
import random

import pytest

pytestmark = pytest.mark.slow


def _rows(n: int, seed: int) -> list[dict]:
    rng = random.Random(seed)
    items = ["mug", "scarf", "lamp", "notebook", "backpack", "bottle"]
    colours = ["red", "blue", "green", "black"]
    rows = []
    for _ in range(n):
        item, colour, price = rng.choice(items), rng.choice(colours), rng.randint(5, 99)
        rows.append({"messages": [
            {"role": "user", "content": f"item={item}; colour={colour}; price={price}"},
            {"role": "assistant", "content": f"TITLE: {colour.upper()} {item.upper()}\nPRICE: {price} USD\nTAG: #{colour}-{item}"}]})
    return rows


def test_smollm2_short_run_lowers_val_loss_and_adapter_reloads(tmp_path):
    from peft import PeftModel

    from trainer.evaluation.generate import generate_batch, load_adapter
    from trainer.training.config import TrainConfig
    from trainer.training.models import load_base
    from trainer.training.train import train

    for name, n, seed in (("train", 96, 1), ("val", 16, 2)):
        (tmp_path / f"{name}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in _rows(n, seed)))
    cfg = TrainConfig(max_steps=24, batch_size=8, lr=1e-3, eval_every=12, save_every=12, max_seq_len=128, seed=0)
    s = train(cfg, tmp_path / "train.jsonl", tmp_path / "val.jsonl", out_dir=tmp_path / "run", progress=False)
    assert s.base["kind"] == "embedded" and s.tokens_per_second > 0
    assert s.best_val_loss < 0.7 * s.initial_val_loss, (s.initial_val_loss, s.best_val_loss)

    base, tok, _ = load_base(None, device="cpu")
    reloaded = PeftModel.from_pretrained(base, tmp_path / "run" / "adapter")
    assert sum(p.numel() for n, p in reloaded.named_parameters() if "lora_" in n) == s.trainable_params

    model, tok, _ = load_adapter(tmp_path / "run", device="cpu")
    out = generate_batch(model, tok, [[{"role": "user", "content": "item=lamp; colour=red; price=42"}]],
                         max_new_tokens=24)[0]
    assert "TITLE:" in out
