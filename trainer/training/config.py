"""`TrainConfig`: every knob of a LoRA run, validated on construction.

Sources, lowest precedence first: defaults → ``[train]`` of advise.toml or a train.toml →
command-line flags. Unknown keys are errors (a typo must not silently fall back to a default).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from advisor.kernel.config import read_toml
from advisor.kernel.errors import AdviseError

# Attention projections per architecture family (peft's own map names the same modules).
ATTENTION_TARGETS: dict[str, list[str]] = {
    "llama": ["q_proj", "k_proj", "v_proj", "o_proj"],
    "mistral": ["q_proj", "k_proj", "v_proj", "o_proj"],
    "qwen2": ["q_proj", "k_proj", "v_proj", "o_proj"],
    "qwen3": ["q_proj", "k_proj", "v_proj", "o_proj"],
    "gemma": ["q_proj", "k_proj", "v_proj", "o_proj"],
    "gemma2": ["q_proj", "k_proj", "v_proj", "o_proj"],
    "phi3": ["qkv_proj", "o_proj"],
    "gpt2": ["c_attn", "c_proj"],
    "gpt_neox": ["query_key_value", "dense"],
    "falcon": ["query_key_value", "dense"],
}


class TrainConfig(BaseModel):
    """Hyperparameters and run settings. `extra="forbid"` turns typos into errors."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    # what is trained: LoRA adapters, all weights, or LoRA adapters by DPO on preference pairs
    method: Literal["lora", "full", "dpo"] = "lora"
    dpo_beta: float = Field(default=0.1, gt=0, description="DPO: strength of the pull towards the reference")

    # LoRA
    lora_r: int = Field(default=16, ge=1, le=1024)
    lora_alpha: float = Field(default=32.0, gt=0)
    lora_dropout: float = Field(default=0.0, ge=0, lt=1)
    target_modules: list[str] | Literal["auto", "all-linear"] = "auto"

    # optimisation
    lr: float = Field(default=2e-4, gt=0, le=1)
    weight_decay: float = Field(default=0.0, ge=0)
    warmup_ratio: float = Field(default=0.05, ge=0, lt=1)
    warmup_steps: int | None = Field(default=None, ge=0)
    schedule: Literal["cosine", "linear", "constant"] = "cosine"
    min_lr_ratio: float = Field(default=0.1, ge=0, le=1)
    max_grad_norm: float = Field(default=1.0, gt=0)
    epochs: float | None = Field(default=3.0, gt=0)
    max_steps: int | None = Field(default=None, ge=1, description="when set, wins over epochs")
    batch_size: int = Field(default=8, ge=1, description="examples per micro-batch")
    batch_tokens: int | None = Field(default=None, ge=16,
                                     description="if set: micro-batches hold up to this many tokens (padded)")
    grad_accum: int = Field(default=1, ge=1)
    max_seq_len: int = Field(default=512, ge=8)
    packing: bool | None = Field(default=None, description="pack each micro-batch's examples into max_seq_len rows "
                                                            "(per-example attention via position-id resets); "
                                                            "None: on for CPU training where the attention supports it")
    time_limit_s: float | None = Field(default=None, gt=0,
                                       description="wall-clock limit: stop with a checkpoint and the adapter")
    seed: int = 42

    # evaluation / logging / checkpoints (steps = optimizer steps)
    eval_every: int = Field(default=50, ge=1)
    save_every: int = Field(default=100, ge=1)
    log_every: int = Field(default=5, ge=1)
    early_stopping_patience: int | None = Field(default=None, ge=1)
    keep_checkpoints: int = Field(default=2, ge=1)

    # hardware
    gradient_checkpointing: bool = False
    dtype: Literal["auto", "fp32", "bf16", "fp16"] = "auto"
    autocast: Literal["auto", "bf16", "off"] = Field(
        default="auto", description="bf16 matmuls over fp32 weights; auto: on CUDA with bf16 weights and on CPUs "
                                    "with native bf16 (avx512_bf16/AMX), where they run ~2x faster than fp32")
    quantize: Literal["4bit"] | None = None
    device: Literal["auto", "cpu", "cuda", "mps"] = "auto"
    num_threads: int | None = Field(default=None, ge=1, description="torch CPU threads (default: torch's)")

    # cost estimate
    cpu_usd_per_hour: float = Field(default=0.10, ge=0, description="laptop/VM cost of CPU training")
    gpu_usd_per_hour: float = Field(default=2.50, ge=0, description="hourly price of the GPU used")

    @model_validator(mode="after")
    def _check(self) -> TrainConfig:
        if self.epochs is None and self.max_steps is None:
            raise ValueError("set epochs or max_steps")
        if isinstance(self.target_modules, list) and not self.target_modules:
            raise ValueError("target_modules is empty; use 'auto', 'all-linear' or module names")
        return self

    def resolved_targets(self, model_type: str | None) -> list[str] | str:
        """`auto` → the attention projections of the architecture; unknown architectures → all-linear."""
        if self.target_modules == "auto":
            return ATTENTION_TARGETS.get((model_type or "").lower(), "all-linear")
        return self.target_modules

    def fingerprint(self) -> str:
        """Hash of the settings that change the training trajectory (resume refuses a mismatch)."""
        keep = self.model_dump(exclude={"eval_every", "save_every", "log_every", "keep_checkpoints",
                                        "num_threads", "cpu_usd_per_hour", "gpu_usd_per_hour",
                                        "early_stopping_patience", "max_steps", "epochs", "time_limit_s"})
        return hashlib.sha256(json.dumps(keep, sort_keys=True).encode()).hexdigest()[:16]


def _raise_validation(exc: ValidationError, file: str | None) -> None:
    err = exc.errors()[0]
    field = ".".join(str(x) for x in err["loc"]) or None
    raise AdviseError(f"invalid training setting: {err['msg']}", file=file, field=field,
                      hint=f"known settings: {', '.join(TrainConfig.model_fields)}") from exc


def make_config(values: dict[str, Any] | None = None, *, file: str | None = None) -> TrainConfig:
    """Build a config; validation failures become AdviseError naming the field."""
    try:
        return TrainConfig(**(values or {}))
    except ValidationError as exc:
        _raise_validation(exc, file)
        raise  # unreachable


def load_train_config(path: str | Path | None, overrides: dict[str, Any] | None = None) -> TrainConfig:
    """Read a train.toml (top level or a `[train]` table, so advise.toml works too), then apply overrides."""
    values: dict[str, Any] = {}
    src: str | None = None
    if path is not None:
        p = Path(path)
        src = str(p)
        if not p.is_file():
            raise AdviseError(f"training config not found: {p}", hint="check the path given to --config")
        _, raw = read_toml(p, what="training config")
        if "train" in raw and isinstance(raw["train"], dict):
            values = dict(raw["train"])
        else:
            values = {k: v for k, v in raw.items() if not isinstance(v, dict)}
    values.update({k: v for k, v in (overrides or {}).items() if v is not None})
    return make_config(values, file=src)
