"""The LoRA training loop: small enough to read top to bottom (nanoGPT style).

Speed on small models comes from a few choices: length-grouped batches packed into max_seq_len
rows with positions restarting per example (on CPU each example then gets its own causal sdpa,
:mod:`trainer.training.attention`), the LM head applied only at positions that carry a label (the 49k-wide
projection is a large share of a 135M model's compute), bf16 matmuls where the hardware runs them
natively, and a loss normalised over the whole accumulation group so gradient accumulation is
exact. Measured against HF Trainer and TRL in `bench/bench_train.py`. A run directory is self-describing: `run.json`, `metrics.jsonl`,
`adapter/` (standard PEFT), `checkpoints/step-N/` for exact resume.
"""

from __future__ import annotations

import json
import math
import os
import platform
import random
import shutil
import signal
import tempfile
import time
import warnings
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, nullcontext
from contextvars import ContextVar
from dataclasses import asdict, dataclass, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

from advisor import __version__
from advisor.kernel.errors import AdviseError, OutputExistsError
from advisor.kernel.io import atomic_write_text, sha256_file
from trainer.training.config import TrainConfig

RUN_SCHEMA_VERSION = 1
CHECKPOINT_FILES = ("adapter_model.safetensors", "adapter_config.json", "optimizer.pt", "scheduler.pt",
                    "rng.pt", "trainer_state.json")


class TrainInterrupted(AdviseError):
    """Ctrl-C or SIGTERM: a checkpoint was saved; `--resume` continues from it."""

    exit_code = 130


class TrainTerminated(TrainInterrupted):
    """SIGTERM (a scheduler or `kill` stopping the job): the step in progress finished, then a checkpoint."""

    exit_code = 143


# ---------------------------------------------------------------- run.json contract

class DataInfo(BaseModel):
    path: str
    sha256: str
    n_examples: int
    n_tokens: int
    n_target_tokens: int
    n_truncated: int
    mean_tokens: float
    max_tokens: int
    n_target_tokens_truncated: int = Field(default=0, description="answer tokens cut off by max_seq_len")


class CostEstimate(BaseModel):
    usd: float
    usd_per_hour: float
    hours: float
    basis: str


class RunSummary(BaseModel):
    """`run.json`: everything needed to reproduce, compare and price a run."""

    schema_version: int = RUN_SCHEMA_VERSION
    advise_version: str = __version__
    status: Literal["finished", "early_stopped", "time_limit"]
    method: Literal["lora", "full", "dpo"] = "lora"
    packed: bool = Field(default=False, description="examples packed into max_seq_len rows (per-example attention)")
    base: dict[str, Any]
    train_data: DataInfo
    val_data: DataInfo | None = None
    config: dict[str, Any]
    lora_targets: list[str] | str
    trainable_params: int
    total_params: int
    steps: int
    epochs_completed: float
    final_train_loss: float | None
    initial_val_loss: float | None = None
    final_val_loss: float | None = None
    best_val_loss: float | None = None
    best_step: int | None = None
    adapter_from_step: int = Field(description="the step whose weights are in adapter/ (best val when val data given)")
    tokens_seen: int = Field(description="effective (non-padding) tokens processed in training")
    target_tokens_seen: int
    padded_tokens_seen: int
    tokens_per_second: float = Field(description="effective tokens / training seconds (eval, checkpoints excluded)")
    train_seconds: float
    wall_seconds: float = Field(description="wall time of the run, summed over resumed sessions")
    device: str
    device_name: str
    dtype: str
    world_size: int = 1
    cost: CostEstimate
    resumed_from_step: int | None = None
    warnings: list[str] = Field(default_factory=list, description="data problems found before training")
    started_at: datetime
    finished_at: datetime
    adapter_dir: str = "adapter"
    merged_dir: str | None = None


# ---------------------------------------------------------------- pure helpers

def lr_factor(step: float, total_steps: int, warmup_steps: int, schedule: str, min_ratio: float) -> float:
    """Multiplier of the peak lr at optimizer step `step` (0-based): linear warmup, then decay.

    Under a time limit `step` is the larger of the real step and the step the elapsed share of
    the limit corresponds to, so the decay ends at the deadline whichever comes first.
    """
    if warmup_steps and step < warmup_steps:
        return (step + 1) / warmup_steps
    if schedule == "constant":
        return 1.0
    progress = min(1.0, (step - warmup_steps) / max(1, total_steps - warmup_steps))
    if schedule == "linear":
        return 1.0 - (1.0 - min_ratio) * progress
    return min_ratio + (1.0 - min_ratio) * 0.5 * (1.0 + math.cos(math.pi * progress))


def total_steps_for(config: TrainConfig, batches_per_epoch: int) -> int:
    if config.max_steps is not None:
        return config.max_steps
    assert config.epochs is not None
    return max(1, math.ceil(config.epochs * batches_per_epoch / config.grad_accum))


class StepPlan(BaseModel):
    """How many steps fit a time budget, from a measured throughput."""

    max_steps: int
    epochs: float
    tokens: int
    estimated_seconds: float


def plan_steps(n_examples: int, mean_tokens: float, tokens_per_second: float, budget_s: float,
               batch_size: int = 8, grad_accum: int = 1, max_epochs: float = 3.0,
               max_train_tokens: int | None = None) -> StepPlan:
    """Size a run to a wall-clock budget (and optional token cap): at most `max_epochs` passes."""
    if n_examples <= 0 or mean_tokens <= 0 or tokens_per_second <= 0 or budget_s <= 0:
        raise AdviseError("plan_steps needs positive examples, tokens, throughput and budget",
                          hint="measure tokens/s with a short run first (run.json: tokens_per_second)")
    epoch_tokens = n_examples * mean_tokens
    affordable = tokens_per_second * budget_s
    if max_train_tokens is not None:
        affordable = min(affordable, max_train_tokens)
    epochs = min(max_epochs, affordable / epoch_tokens)
    steps_per_epoch = math.ceil(n_examples / batch_size) / grad_accum
    steps = max(1, int(epochs * steps_per_epoch))
    epochs = steps / steps_per_epoch
    tokens = int(epochs * epoch_tokens)
    return StepPlan(max_steps=steps, epochs=round(epochs, 3), tokens=tokens,
                    estimated_seconds=round(tokens / tokens_per_second, 1))


# ---------------------------------------------------------------- model pieces

def _masked_loss_module(model):
    """A module whose forward is the sum of token losses at labelled positions only.

    Runs the decoder body to hidden states, keeps the (shifted) positions whose label is not
    -100, and projects only those through the LM head. Wrapping this module (not the bare model)
    is what `accelerate` distributes, so gradient sync sees the real forward. With `position_ids`
    (packed rows) the 2-D mask is dropped: the model then derives a block-diagonal causal mask
    from the position resets.
    """
    import torch
    import torch.nn.functional as F

    from trainer.training.batches import IGNORE_INDEX

    lm = model.get_base_model() if hasattr(model, "get_base_model") else model
    body = getattr(lm, "model", None) or lm.get_decoder()
    head = lm.get_output_embeddings()

    class MaskedLMLoss(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.body = body
            self.head = head

        def forward(self, input_ids, attention_mask, labels, position_ids=None):
            if position_ids is not None:
                attention_mask = None
            out = self.body(input_ids=input_ids, attention_mask=attention_mask, position_ids=position_ids,
                            use_cache=False)
            hidden = out[0] if isinstance(out, tuple) else out.last_hidden_state
            target = labels[:, 1:]
            keep = target != IGNORE_INDEX
            logits = self.head(hidden[:, :-1][keep]).float()
            return F.cross_entropy(logits, target[keep], reduction="sum")

    return MaskedLMLoss()


def _rng_state() -> dict[str, Any]:
    import numpy as np
    import torch

    state = {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state: dict[str, Any]) -> None:
    import numpy as np
    import torch

    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def seed_everything(seed: int) -> None:
    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)


def cpu_has_native_bf16() -> bool:
    """True on CPUs with bf16 dot-product instructions (avx512_bf16, AMX); elsewhere bf16 is emulated and slow."""
    try:
        flags = next((ln for ln in Path("/proc/cpuinfo").read_text().splitlines() if ln.startswith("flags")), "")
    except OSError:
        return False
    return bool({"avx512_bf16", "amx_bf16"} & set(flags.split()))


def _device_name(device: str) -> str:
    import torch

    if device == "cuda":
        return torch.cuda.get_device_name(0)
    if device == "mps":
        return "Apple MPS"
    return f"{platform.processor() or platform.machine()} ({torch.get_num_threads()} threads)"


# ---------------------------------------------------------------- checkpoints

def list_checkpoints(run_dir: Path) -> list[Path]:
    """Complete checkpoints, oldest first (trainer_state.json is written last, so it marks completion)."""
    ck = run_dir / "checkpoints"
    if not ck.is_dir():
        return []
    found = [p for p in ck.iterdir() if p.name.startswith("step-") and (p / "trainer_state.json").is_file()]
    return sorted(found, key=lambda p: int(p.name.split("-")[1]))


def save_checkpoint(run_dir: Path, model, optimizer, scheduler, state: dict[str, Any],
                    best: dict[str, Any] | None, keep: int, rng: dict[str, Any] | None = None) -> Path:
    """Write checkpoints/step-N atomically (temp dir + rename), then prune old ones."""
    import torch
    from safetensors.torch import save_file

    ck = run_dir / "checkpoints"
    ck.mkdir(parents=True, exist_ok=True)
    final = ck / f"step-{state['step']:06d}"

    def write(tmp: Path) -> None:
        model.save_pretrained(tmp)
        torch.save(optimizer.state_dict(), tmp / "optimizer.pt")
        torch.save(scheduler.state_dict(), tmp / "scheduler.pt")
        torch.save(rng if rng is not None else _rng_state(), tmp / "rng.pt")
        if best is not None:
            save_file({k: v.contiguous() for k, v in best.items()}, str(tmp / "best_lora.safetensors"))
        (tmp / "trainer_state.json").write_text(json.dumps(state, indent=2), encoding="utf-8")

    _write_dir_atomic(final, write)
    for old in list_checkpoints(run_dir)[:-keep]:
        shutil.rmtree(old, ignore_errors=True)
    return final


def _load_checkpoint(path: Path, model, optimizer, scheduler) -> tuple[dict[str, Any], dict[str, Any] | None]:
    import torch
    from safetensors.torch import load_file

    if (path / "adapter_model.safetensors").is_file():
        from peft import set_peft_model_state_dict

        set_peft_model_state_dict(model, load_file(str(path / "adapter_model.safetensors")))
    else:  # full fine-tuning: the whole model (tied weights are saved once, hence strict=False)
        model.load_state_dict(load_file(str(path / "model.safetensors")), strict=False)
    optimizer.load_state_dict(torch.load(path / "optimizer.pt", weights_only=False))
    scheduler.load_state_dict(torch.load(path / "scheduler.pt", weights_only=False))
    _set_rng_state(torch.load(path / "rng.pt", weights_only=False))
    best = load_file(str(path / "best_lora.safetensors")) if (path / "best_lora.safetensors").is_file() else None
    return json.loads((path / "trainer_state.json").read_text(encoding="utf-8")), best


def _prepare_run_dir(out_dir: Path, resume: bool, force: bool) -> None:
    """Refuse to clobber: a finished run needs --force; an unfinished one needs --resume or --force.

    `--resume` with nothing to resume from is an error, not a silent fresh start.
    """
    if (out_dir / "run.json").exists() and not force:
        raise OutputExistsError(f"{out_dir} holds a finished run", file=str(out_dir / "run.json"),
                                hint="pass --force to train again into it, or choose another -o")
    if resume and not list_checkpoints(out_dir):
        raise AdviseError(f"nothing to resume: {out_dir} holds no complete checkpoint",
                          file=str(out_dir / "checkpoints"),
                          hint="drop --resume to start a new run, or point -o at the interrupted run's directory")
    if force and not resume and out_dir.exists():
        for name in ("adapter", "merged", "checkpoints", "metrics.jsonl", "run.json"):
            p = out_dir / name
            if p.is_dir():
                shutil.rmtree(p)
            elif p.exists():
                p.unlink()
    elif not resume and list_checkpoints(out_dir):
        raise OutputExistsError(f"{out_dir} holds an unfinished run",
                                hint="pass --resume to continue it, or --force to start over")
    if force and resume and (out_dir / "run.json").exists():
        (out_dir / "run.json").unlink()
    out_dir.mkdir(parents=True, exist_ok=True)


# ---------------------------------------------------------------- evaluation

def evaluate_loss(loss_module, examples, config: TrainConfig, pad_id: int, device: str, autocast) -> float:
    """Mean token loss over all assistant tokens of `examples` (eval mode, no grad)."""
    import torch

    from trainer.training.batches import IGNORE_INDEX, iterate_batches

    was_training = loss_module.training
    loss_module.eval()
    total, count = 0.0, 0
    with torch.inference_mode():
        for batch in iterate_batches(examples, config.batch_size, config.seed, 0, pad_id, config.batch_tokens):
            batch = {k: v.to(device) for k, v in batch.items()}
            with autocast():
                total += float(loss_module(**batch))
            count += int((batch["labels"][:, 1:] != IGNORE_INDEX).sum())
    loss_module.train(was_training)
    return total / max(1, count)


def _data_info(path: Path, digest: str | None, stats) -> DataInfo:
    return DataInfo(path=str(path), sha256=digest, **stats.as_dict())


# ---------------------------------------------------------------- the loop

_HELD_BASE: ContextVar[tuple[Any, Any, Any] | None] = ContextVar("held_base", default=None)


@contextmanager
def holding_base(model, tokenizer, info) -> Iterator[None]:
    """`train` inside this block uses a base model the caller already holds instead of loading `base`.

    For the tests and the training benchmark (which time training, not loading); not part of `train`'s API."""
    token = _HELD_BASE.set((model, tokenizer, info))
    try:
        yield
    finally:
        _HELD_BASE.reset(token)


def train(config: TrainConfig, data_path: str | Path, val_path: str | Path | None = None,
          base: str | None = None, out_dir: str | Path = "runs/run", resume: bool = False,
          force: bool = False, progress: bool = True, merge: bool = False, allow_download: bool = False) -> RunSummary:
    """Train on chat JSONL (or preference pairs for `method="dpo"`) and write the run directory.

    Returns run.json's content. SIGTERM stops after the step in progress with a checkpoint, like Ctrl-C.
    """
    import torch

    threads = torch.get_num_threads()
    cudnn_sdp = torch.backends.cuda.cudnn_sdp_enabled()
    if config.num_threads:
        torch.set_num_threads(config.num_threads)
    # cuDNN attention builds a plan per new sequence length (ms of CPU each); flash/mem-efficient don't.
    torch.backends.cuda.enable_cudnn_sdp(False)
    stop = _StopFlag()
    previous = stop.install()
    loaded = _HELD_BASE.get()
    try:
        if config.method == "dpo":
            from trainer.training.dpo import train_dpo

            return train_dpo(config, data_path, val_path, base, out_dir, resume, force, progress, merge,
                             allow_download, loaded, stop)
        return _train(config, Path(data_path), Path(val_path) if val_path else None, base=base, out_dir=Path(out_dir),
                      resume=resume, force=force, progress=progress, merge=merge, allow_download=allow_download,
                      loaded=loaded, stop=stop)
    finally:
        stop.uninstall(previous)
        torch.set_num_threads(threads)
        torch.backends.cuda.enable_cudnn_sdp(cudnn_sdp)


class _StopFlag:
    """SIGTERM sets it; the loop finishes its step, saves a checkpoint and stops (main thread only)."""

    def __init__(self) -> None:
        self.requested = False

    def _handle(self, signum, frame) -> None:
        self.requested = True

    def install(self):
        try:
            return signal.signal(signal.SIGTERM, self._handle)
        except ValueError:  # not the main thread: leave signals to whoever owns them
            return None

    def uninstall(self, previous) -> None:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def check_packing(model) -> None:
    """Packing is only allowed where attention honours per-example boundaries (position-id resets).

    Probes the mask transformers builds for two packed 2-token examples: the second must not see
    the first. Flash-attention kernels read the resets from position_ids directly.
    """
    import torch

    impl = getattr(model.config, "_attn_implementation", None) or "eager"
    if impl.startswith("flash_attention"):
        return
    try:
        from transformers.masking_utils import create_causal_mask

        probe = create_causal_mask(config=model.config, inputs_embeds=torch.zeros(1, 4, 1), attention_mask=None,
                                   cache=None, position_ids=torch.tensor([[0, 1, 0, 1]]))
        blocked = probe is not None and bool((probe[0, 0, 2, :2] == (False if probe.dtype == torch.bool
                                                                     else torch.finfo(probe.dtype).min)).all())
    except Exception:  # an unknown implementation or an older transformers: treat as unsupported
        blocked = False
    if not blocked:
        raise AdviseError(f"packing needs per-example attention; with attention implementation {impl!r} packed "
                          "examples would attend to each other", field="packing",
                          hint="use attn_implementation 'sdpa' or 'eager', or set packing = false "
                               "(batches are length-grouped, so padding stays small anyway)")


def quantize_warning(quantize: str | None, device: str, n_params: int) -> str | None:
    """QLoRA runs only on CUDA; below ~1B parameters it saves memory but costs time (dequantising)."""
    if not quantize:
        return None
    if device != "cuda":
        raise AdviseError("4-bit quantization (QLoRA) needs a CUDA GPU", field="quantize",
                          hint="drop --quantize on CPU/MPS: a model that fits in memory trains faster unquantised")
    if n_params < 1e9:
        return (f"--quantize 4bit on a {n_params / 1e6:.0f}M-parameter model saves memory, not time: "
                "below ~1B parameters the dequantisation overhead makes steps slower; drop it if the model fits")
    return None


FULL_FINETUNE_MAX_PARAMS = 3e9  # beyond this, full fine-tuning's optimizer state rarely fits: use LoRA


def _warn(messages: list[str], text: str | None) -> None:
    if text:
        messages.append(text)
        warnings.warn(text, TrainWarning, stacklevel=3)


class TrainWarning(UserWarning):
    """A data or settings problem that does not stop training but changes what it learns."""


@dataclass
class _StepClock:
    """Under a time limit the LR schedule follows the clock: the step the elapsed time corresponds to."""

    step_by_time: float = 0.0


def _micro_batches(train_ex, config: TrainConfig, batches_per_epoch: int, start_micro: int, pad_id: int,
                   pad_multiple: int, pack_to: int | None) -> Iterator[dict[str, Any]]:
    """An endless stream of micro-batches, epoch after epoch, starting at a global index (so a resume continues
    with the batch the interrupted run would have seen next)."""
    from trainer.training.batches import iterate_batches

    epoch, offset = divmod(start_micro, batches_per_epoch)
    while True:
        yield from iterate_batches(train_ex, config.batch_size, config.seed, epoch, pad_id, config.batch_tokens,
                                   start=offset, multiple=pad_multiple, pack_to=pack_to)
        epoch, offset = epoch + 1, 0


@dataclass
class LoopState:
    """What the loop counts, saved in every checkpoint (trainer_state.json) and restored on resume."""

    fingerprint: str  # the settings that must not change across a resume
    train_sha256: str
    val_sha256: str | None
    step: int = 0  # optimizer steps done
    micro: int = 0  # micro-batches consumed (over all processes): where the data stream resumes
    tokens: int = 0  # non-padding tokens seen
    targets: int = 0  # tokens that carried a label
    padded: int = 0  # tokens including padding
    train_seconds: float = 0.0  # time inside optimizer steps
    elapsed_s: float = 0.0  # wall time of this run, earlier sessions included
    best_val: float | None = None
    best_step: int | None = None
    bad_evals: int = 0  # validations in a row without improvement (early stopping)
    initial_val: float | None = None
    last_val: float | None = None
    last_loss: float | None = None

    @classmethod
    def restore(cls, saved: dict[str, Any]) -> LoopState:
        """From a checkpoint's trainer_state.json (its `reason` and unknown keys left out)."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in saved.items() if k in known})


def _train(config: TrainConfig, data_path: Path, val_path: Path | None, *, base: str | None, out_dir: Path,
           resume: bool, force: bool, progress: bool, merge: bool, allow_download: bool, loaded,
           stop: _StopFlag) -> RunSummary:
    import torch

    from trainer.training.attention import segment_attention
    from trainer.training.batches import (
        IGNORE_INDEX,
        data_stats,
        length_grouped_batches,
        load_chat_jsonl,
        tokenize_rows,
        truncation_warning,
    )
    from trainer.training.callbacks import MetricsWriter, TrainProgress
    from trainer.training.lora import add_lora, count_parameters, lora_state, trainable_parameters
    from trainer.training.models import load_base

    # ---- inputs: validate data before touching the output, then load the base
    started_at = datetime.now(UTC)
    t_wall = time.perf_counter()
    out = out_dir
    rows = load_chat_jsonl(data_path)
    val_rows = load_chat_jsonl(val_path) if val_path else None
    _prepare_run_dir(out, resume, force)

    distributed = int(os.environ.get("WORLD_SIZE", "1")) > 1
    accelerator = None
    if distributed:
        from accelerate import Accelerator

        accelerator = Accelerator()
    is_main = accelerator is None or accelerator.is_main_process
    seed_everything(config.seed)
    if loaded is None:
        model, tok, info = load_base(base, config.dtype, config.device if not distributed else "cuda",
                                     config.quantize, allow_download)
    else:
        model, tok, info = loaded
    device = str(accelerator.device) if accelerator else info.device
    dev_type = torch.device(device).type
    notes: list[str] = []
    _warn(notes, quantize_warning(config.quantize, dev_type, info.n_params))

    train_ex = tokenize_rows(tok, rows, config.max_seq_len, str(data_path))
    val_ex = tokenize_rows(tok, val_rows, config.max_seq_len, str(val_path)) if val_rows else None
    _warn(notes, truncation_warning(train_ex, config.max_seq_len))
    pad_id = tok.pad_token_id if tok.pad_token_id is not None else 0

    # ---- model: LoRA adapters on a frozen base, or every weight (full)
    model.config.use_cache = False
    packing = config.packing
    if packing:
        check_packing(model)  # asked for explicitly: refuse where examples would see each other
    elif packing is None:  # auto: on CPU, where it was measured (bench/results/train_cpu.json)
        try:
            check_packing(model)
            packing = dev_type == "cpu"
        except AdviseError:
            packing = False
    if config.quantize:
        from peft import prepare_model_for_kbit_training

        model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=config.gradient_checkpointing)
    if config.method == "full":
        if config.quantize:
            raise AdviseError("full fine-tuning cannot train 4-bit weights", field="quantize",
                              hint="use --method lora with --quantize, or drop --quantize")
        if info.n_params > FULL_FINETUNE_MAX_PARAMS:
            raise AdviseError(f"full fine-tuning of {info.n_params / 1e9:.1f}B parameters needs ~16 bytes each "
                              "for weights, gradients and optimizer state", field="method",
                              hint="use --method lora (the default) for models above 3B parameters")
        model.requires_grad_(True)
    else:
        model = add_lora(model, config)
    if config.gradient_checkpointing:
        lm = model.get_base_model() if hasattr(model, "get_base_model") else model
        lm.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    params = [p for _, p in trainable_parameters(model)]
    counts = count_parameters(model)
    loss_module = _masked_loss_module(model)
    on_cuda = torch.device(info.device if accelerator is None else accelerator.device).type == "cuda"
    optimizer = torch.optim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay, betas=(0.9, 0.999),
                                  fused=on_cuda or None)
    pad_multiple = 16 if on_cuda else 1
    pack_to = config.max_seq_len if packing else None

    # ---- schedule: steps from epochs/max_steps; under a time limit the decay also follows the clock
    world = accelerator.num_processes if accelerator else 1
    rank = accelerator.process_index if accelerator else 0
    lengths = [len(e.input_ids) for e in train_ex]
    batches_per_epoch = len(length_grouped_batches(lengths, config.batch_size, config.seed, 0, config.batch_tokens))
    micro_per_step = config.grad_accum * world
    total_steps = total_steps_for(config, max(1, batches_per_epoch // world))
    warmup = config.warmup_steps if config.warmup_steps is not None else int(config.warmup_ratio * total_steps)
    clock = _StepClock()
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: lr_factor(max(s, clock.step_by_time), total_steps, warmup, config.schedule,
                                       config.min_lr_ratio))
    if accelerator is not None:
        loss_module, optimizer = accelerator.prepare(loss_module, optimizer)

    # ---- precision: bf16/fp16 matmuls on CUDA; bf16 on CPUs that run it natively (fp32 weights, fp32 loss)
    torch_dtype = next(model.parameters()).dtype
    use_amp = dev_type == "cuda" and torch_dtype in (torch.bfloat16, torch.float16) and config.autocast != "off"
    cpu_bf16 = dev_type == "cpu" and (config.autocast == "bf16" or (config.autocast == "auto" and cpu_has_native_bf16()))
    def autocast():
        if use_amp:
            return torch.autocast("cuda", dtype=torch_dtype)
        return torch.autocast("cpu", dtype=torch.bfloat16) if cpu_bf16 else nullcontext()
    scaler = torch.amp.GradScaler("cuda") if use_amp and torch_dtype == torch.float16 else None

    # ---- state: counters and best weights, restored from the last checkpoint on resume
    state = LoopState(fingerprint=config.fingerprint(), train_sha256=sha256_file(data_path),
                      val_sha256=sha256_file(val_path) if val_path else None)
    best: dict[str, Any] | None = None
    resumed_from = None
    if resume:
        last = list_checkpoints(out)[-1]
        saved, best = _load_checkpoint(last, model, optimizer, scheduler)
        for key in ("fingerprint", "train_sha256", "val_sha256"):
            if saved.get(key) != getattr(state, key):
                raise AdviseError(f"cannot resume: {key.replace('_', ' ')} differs from the checkpoint",
                                  file=str(last / "trainer_state.json"), field=key,
                                  hint="resume with the same data and settings, or --force to start over")
        state = LoopState.restore(saved)
        resumed_from = state.step
    elapsed_before = state.elapsed_s  # wall time of earlier sessions of this run

    def elapsed() -> float:
        return elapsed_before + time.perf_counter() - t_wall

    metrics = MetricsWriter(out / "metrics.jsonl", resume_step=resumed_from) if is_main else None

    step_rng: dict[str, Any] | None = None  # RNG at the start of the step in progress

    def save(reason: str) -> None:
        state.elapsed_s = elapsed()
        if is_main:
            save_checkpoint(out, model, optimizer, scheduler, {**asdict(state), "reason": reason}, best,
                            config.keep_checkpoints, rng=step_rng)

    eval_seconds = 0.0  # how long one validation takes: the time limit keeps room for a last one

    def run_eval() -> float:
        nonlocal eval_seconds
        t = time.perf_counter()
        loss = evaluate_loss(loss_module, val_ex, config, pad_id, device, autocast)
        eval_seconds = time.perf_counter() - t
        return loss

    # ---- the loop: step, log, validate, stop
    stream = _micro_batches(train_ex, config, batches_per_epoch, state.micro, pad_id, pad_multiple, pack_to)
    status: Literal["finished", "early_stopped", "time_limit"] = "finished"
    if val_ex and state.initial_val is None:
        state.initial_val = state.last_val = run_eval()
        if metrics:
            metrics.write({"step": 0, "val_loss": state.initial_val})
    loss_module.train()
    window_tokens, window_t = 0, time.perf_counter()
    scope = ExitStack()
    try:
        if dev_type == "cpu":  # each example's own causal sdpa instead of a dense block-diagonal mask
            scope.enter_context(segment_attention(model))
        with TrainProgress(total_steps, state.step, quiet=not (progress and is_main)) as bar:
            while state.step < total_steps:
                # -- one optimizer step: forward/backward over the accumulation group, clip, update
                t0 = time.perf_counter()
                step_rng = _rng_state()
                group = [next(stream) for _ in range(micro_per_step)]
                mine = group[rank::world]
                denom = sum(int((b["labels"][:, 1:] != IGNORE_INDEX).sum()) for b in mine)
                step_loss = 0.0
                for b in mine:
                    b = {k: v.to(device) for k, v in b.items()}
                    with autocast():
                        loss = loss_module(**b) / max(1, denom)
                    if accelerator is not None:
                        accelerator.backward(loss)
                    elif scaler is not None:
                        scaler.scale(loss).backward()
                    else:
                        loss.backward()
                    step_loss += float(loss.detach())
                if scaler is not None:
                    scaler.unscale_(optimizer)
                grad_norm = float(torch.nn.utils.clip_grad_norm_(params, config.max_grad_norm))
                if scaler is not None:
                    scaler.step(optimizer)
                    scaler.update()
                else:
                    optimizer.step()
                optimizer.zero_grad(set_to_none=True)
                lr = scheduler.get_last_lr()[0]
                if config.time_limit_s:
                    clock.step_by_time = total_steps * elapsed() / config.time_limit_s
                scheduler.step()

                # -- bookkeeping
                n_tok = sum(int(b["attention_mask"].sum()) for b in group)
                step_seconds = time.perf_counter() - t0
                state.step += 1
                state.micro += micro_per_step
                state.tokens += n_tok
                state.targets += sum(int((b["labels"] != IGNORE_INDEX).sum()) for b in group)
                state.padded += sum(b["input_ids"].numel() for b in group)
                state.train_seconds += step_seconds
                state.last_loss = step_loss
                step_rng = None  # step complete: an interrupt from here on saves the current RNG
                window_tokens += n_tok
                step = state.step
                tps = state.tokens / max(1e-9, state.train_seconds)
                if metrics and (step % config.log_every == 0 or step == total_steps):
                    now = time.perf_counter()
                    metrics.write({"step": step, "loss": round(step_loss, 6), "lr": lr,
                                   "grad_norm": round(grad_norm, 6),
                                   "tokens_per_s": round(window_tokens / max(1e-9, now - window_t), 2),
                                   "tokens": state.tokens, "epoch": round(state.micro / batches_per_epoch, 4),
                                   "elapsed_s": round(elapsed(), 2)})
                    window_tokens, window_t = 0, now

                # -- time limit: stop when another step and a last validation would overrun it
                out_of_time = (config.time_limit_s is not None and step < total_steps
                               and elapsed() + step_seconds + eval_seconds > config.time_limit_s)

                # -- validation: keep the best weights, count evaluations without improvement (the last weights
                #    before a time-limit stop are validated too, so the kept adapter is the best one seen)
                if val_ex and (step % config.eval_every == 0 or step == total_steps or out_of_time):
                    val = run_eval()
                    state.last_val = val
                    if metrics:
                        metrics.write({"step": step, "val_loss": round(val, 6)})
                    if state.best_val is None or val < state.best_val - 1e-6:
                        state.best_val, state.best_step, state.bad_evals = val, step, 0
                        best = lora_state(model)
                    else:
                        state.bad_evals += 1
                bar.update(step, step_loss, tps, state.last_val)

                # -- stopping: early stopping, the time limit (decided above), SIGTERM
                stop_early = (config.early_stopping_patience is not None
                              and state.bad_evals >= config.early_stopping_patience)
                if stop.requested:
                    save("terminated")
                    raise TrainTerminated(f"training stopped by SIGTERM at step {step}; checkpoint saved",
                                          file=str(out), hint=f"continue with: advise train ... -o {out} --resume")
                if out_of_time:
                    save("time_limit")
                    status = "time_limit"
                    break
                if step % config.save_every == 0 and step < total_steps and not stop_early:
                    save("periodic")
                if stop_early:
                    status = "early_stopped"
                    break
    except KeyboardInterrupt:
        save("interrupted")
        if metrics:
            metrics.close()
        raise TrainInterrupted(f"training interrupted at step {state.step}; checkpoint saved",
                               file=str(out), hint=f"continue with: advise train ... -o {out} --resume") from None
    finally:
        scope.close()
        if metrics:
            metrics.close()

    # ---- outputs: best (or last) weights → adapter/ (model/ for full), run.json
    if accelerator is not None:
        accelerator.wait_for_everyone()
    adapter_step = state.step
    if best is not None and state.best_step != state.step:
        named = dict(trainable_parameters(model))
        with torch.no_grad():
            for name, value in best.items():
                named[name].copy_(value.to(named[name].device))
        adapter_step = state.best_step

    summary = None
    if is_main:
        weights_dir = "model" if config.method == "full" else "adapter"
        _write_dir_atomic(out / weights_dir, lambda d: (model.save_pretrained(d), tok.save_pretrained(d)))
        merged_dir = None
        if merge and config.method != "full":
            merged = model.merge_and_unload()
            _write_dir_atomic(out / "merged", lambda d: (merged.save_pretrained(d), tok.save_pretrained(d)))
            merged_dir = "merged"
        wall = elapsed()
        rate = config.gpu_usd_per_hour if dev_type == "cuda" else config.cpu_usd_per_hour
        hours = wall / 3600 * world
        summary = RunSummary(
            status=status, method=config.method, packed=packing,
            base={k: v for k, v in info.__dict__.items() if k != "extra"},
            train_data=_data_info(data_path, state.train_sha256, data_stats(train_ex)),
            val_data=_data_info(val_path, state.val_sha256, data_stats(val_ex)) if val_ex and val_path else None,
            config=config.model_dump(),
            lora_targets=config.resolved_targets(info.model_type) if config.method != "full" else "none (full)",
            trainable_params=counts["trainable"], total_params=counts["total"],
            steps=state.step, epochs_completed=round(state.micro / batches_per_epoch, 4),
            final_train_loss=state.last_loss, initial_val_loss=state.initial_val,
            final_val_loss=state.last_val, best_val_loss=state.best_val, best_step=state.best_step,
            adapter_from_step=adapter_step,
            tokens_seen=state.tokens, target_tokens_seen=state.targets, padded_tokens_seen=state.padded,
            tokens_per_second=round(state.tokens / max(1e-9, state.train_seconds), 2),
            train_seconds=round(state.train_seconds, 3), wall_seconds=round(wall, 3),
            device=device, device_name=_device_name(dev_type), dtype=info.dtype, world_size=world,
            cost=CostEstimate(usd=round(hours * rate, 6), usd_per_hour=rate, hours=round(hours, 6),
                              basis=f"estimated: wall time × {'gpu' if dev_type == 'cuda' else 'cpu'}_usd_per_hour "
                                    f"(config setting, not a quoted price)"),
            resumed_from_step=resumed_from, warnings=notes, started_at=started_at, finished_at=datetime.now(UTC),
            adapter_dir=weights_dir, merged_dir=merged_dir)
        atomic_write_text(out / "run.json", summary.model_dump_json(indent=2) + "\n")
    return summary  # type: ignore[return-value]


def _write_dir_atomic(target: Path, write) -> None:
    """Fill a temp dir beside `target`, then swap it in."""
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        write(tmp)
        if target.exists():
            shutil.rmtree(target)
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def read_run(run_dir: str | Path) -> RunSummary:
    """Load run.json (for generate/evaluate); a missing or broken file is a user error."""
    p = Path(run_dir) / "run.json"
    if not p.is_file():
        raise AdviseError(f"no finished run in {run_dir} (run.json missing)",
                          hint="train first with `advise train -o DIR`, or --resume an interrupted run")
    try:
        return RunSummary.model_validate_json(p.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise AdviseError(f"run.json is not valid: {exc}", file=str(p), hint="re-run training with --force") from exc
