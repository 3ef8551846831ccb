"""LoRA setup with peft: the base stays frozen, only the low-rank adapters train."""

from __future__ import annotations

from typing import Any

from advisor.kernel.errors import AdviseError
from trainer.training.config import TrainConfig


def add_lora(model, config: TrainConfig):
    """Wrap `model` in a PeftModel with the configured targets; everything else frozen."""
    from peft import LoraConfig, get_peft_model

    model_type = getattr(model.config, "model_type", None)
    targets = config.resolved_targets(model_type)
    lora = LoraConfig(r=config.lora_r, lora_alpha=config.lora_alpha, lora_dropout=config.lora_dropout,
                      target_modules=targets, bias="none", task_type="CAUSAL_LM")
    try:
        peft_model = get_peft_model(model, lora)
    except ValueError as exc:
        raise AdviseError(f"LoRA target modules do not match this model: {exc}", field="target_modules",
                          hint="use 'auto', 'all-linear', or names printed by model.named_modules()") from exc
    return peft_model


def trainable_parameters(model) -> list[tuple[str, Any]]:
    """(name, parameter) for every parameter that receives gradients."""
    return [(n, p) for n, p in model.named_parameters() if p.requires_grad]


def count_parameters(model) -> dict[str, int]:
    total = sum(p.numel() for p in model.parameters())
    trainable = sum(p.numel() for _, p in trainable_parameters(model))
    return {"total": total, "trainable": trainable}


def lora_state(model) -> dict[str, Any]:
    """A detached CPU copy of the adapter weights (for 'best so far' and comparisons)."""
    return {n: p.detach().to("cpu", copy=True) for n, p in trainable_parameters(model)}
