"""DPO on preference pairs (`preferences.jsonl` from `advise dataset`): LoRA adapters, our own loop.

Why not TRL's `DPOTrainer`: the pairs go through the same tokenisation and answer masking as
supervised training (any chat template, the guards in :mod:`trainer.training.batches`), the run directory
has the same contract (run.json, metrics.jsonl, adapter/), and the reference model costs
nothing: it is the base with the adapters disabled (no second copy in memory), and because it
is frozen its log-probabilities are computed once before training instead of on every step.

Loss (Rafailov et al. 2023): -log σ(β · ((π_c − ref_c) − (π_r − ref_r))), with π and ref the
summed log-probabilities of the answer tokens under the policy and the reference.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from advisor.kernel.errors import AdviseError
from advisor.kernel.io import atomic_write_text, sha256_file
from trainer.training.config import TrainConfig


def _pair_error(path: str, line: int, msg: str, field: str | None = None) -> AdviseError:
    return AdviseError(msg, file=path, line=line, field=field,
                       hint='each line must be {"prompt": [messages] or text, "chosen": [assistant message] or '
                            'text, "rejected": ...}, as `advise dataset` writes preferences.jsonl')


def _answer(value: Any, path: str, line: int, field: str) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list) and len(value) == 1 and isinstance(value[0], dict) \
            and value[0].get("role") == "assistant" and isinstance(value[0].get("content"), str):
        return value[0]["content"]
    raise _pair_error(path, line, f"{field} must be a string or one assistant message", field)


def load_preferences(path: str | Path) -> list[dict[str, Any]]:
    """Rows of {"messages": prompt messages, "chosen": text, "rejected": text}; errors name file:line and field."""
    from trainer.training.batches import json_lines, normalise_row

    p = Path(path)
    if not p.is_file():
        raise AdviseError(f"preference data not found: {p}",
                          hint="`advise dataset ... --labels labels.jsonl` writes preferences.jsonl when labels "
                               "carry `expected` corrections")
    pairs = []
    for n, obj in json_lines(p, _pair_error):
        if not isinstance(obj, dict) or not {"prompt", "chosen", "rejected"} <= obj.keys():
            raise _pair_error(str(p), n, "missing prompt, chosen or rejected")
        prompt = obj["prompt"]
        if isinstance(prompt, str):
            prompt = [{"role": "user", "content": prompt}]
        chosen, rejected = _answer(obj["chosen"], str(p), n, "chosen"), _answer(obj["rejected"], str(p), n, "rejected")
        if chosen == rejected:
            raise _pair_error(str(p), n, "chosen and rejected are identical: nothing to prefer", "chosen")
        # validate the prompt as a chat row (roles, content) by completing it with the chosen answer
        row = normalise_row({"messages": [*prompt, {"role": "assistant", "content": chosen}]}, str(p), n)
        pairs.append({"messages": row["messages"][:-1], "chosen": chosen, "rejected": rejected})
    if not pairs:
        raise AdviseError("no preference pairs in file", file=str(p), hint="the file is empty")
    return pairs


def _final_answer_only(ex):
    """Keep labels on the last assistant span only (earlier turns are context, not the preferred answer)."""
    from trainer.training.batches import IGNORE_INDEX

    labels = list(ex.labels)
    end = max(i for i, x in enumerate(labels) if x != IGNORE_INDEX)
    start = end
    while start > 0 and labels[start - 1] != IGNORE_INDEX:
        start -= 1
    ex.labels = [IGNORE_INDEX] * start + labels[start:]
    return ex


def tokenize_pairs(tok, pairs: list[dict[str, Any]], max_seq_len: int, path: str = "") -> list[tuple[Any, Any]]:
    from trainer.training.batches import tokenize_rows

    rows = []
    for p in pairs:
        for side in ("chosen", "rejected"):
            rows.append({"messages": [*p["messages"], {"role": "assistant", "content": p[side]}]})
    exs = [_final_answer_only(e) for e in tokenize_rows(tok, rows, max_seq_len, path)]
    return [(exs[2 * i], exs[2 * i + 1]) for i in range(len(pairs))]


def sequence_logps(model, batch) -> Any:
    """Summed log-probability of each row's labelled tokens (LM head only at those positions)."""
    import torch
    import torch.nn.functional as F

    from trainer.training.batches import IGNORE_INDEX

    lm = model.get_base_model() if hasattr(model, "get_base_model") else model
    body = getattr(lm, "model", None) or lm.get_decoder()
    out = body(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], use_cache=False)
    hidden = out[0] if isinstance(out, tuple) else out.last_hidden_state
    target = batch["labels"][:, 1:]
    keep = target != IGNORE_INDEX
    logits = lm.get_output_embeddings()(hidden[:, :-1][keep]).float()
    token_logp = -F.cross_entropy(logits, target[keep], reduction="none")
    rows = keep.nonzero()[:, 0]
    return torch.zeros(target.shape[0], dtype=token_logp.dtype, device=token_logp.device).index_add(0, rows, token_logp)


def dpo_loss(policy_c, policy_r, ref_c, ref_r, beta: float):
    """(mean loss, per-pair implicit reward margin β·((π_c−ref_c)−(π_r−ref_r)))."""
    import torch.nn.functional as F

    margin = beta * ((policy_c - ref_c) - (policy_r - ref_r))
    return -F.logsigmoid(margin).mean(), margin


@dataclass
class DPOState:
    """The DPO loop's counters, named (what run.json reports at the end)."""

    step: int = 0
    tokens: int = 0  # attention-mask tokens seen (chosen + rejected)
    targets: int = 0  # answer tokens the loss read
    padded: int = 0  # tokens including padding
    train_seconds: float = 0.0
    loss: float | None = None
    margin: float | None = None  # mean reward margin of the last batch
    accuracy: float | None = None  # share of the last batch where chosen beat rejected


def train_dpo(config: TrainConfig, data_path, val_path, base, out_dir, resume, force, progress, merge,
              allow_download, loaded, stop) -> Any:
    """LoRA DPO on preference pairs; writes adapter/, metrics.jsonl and run.json like supervised runs."""
    import math

    import torch

    from trainer.training.batches import IGNORE_INDEX, collate, data_stats
    from trainer.training.callbacks import MetricsWriter, TrainProgress
    from trainer.training.lora import add_lora, count_parameters, trainable_parameters
    from trainer.training.models import load_base
    from trainer.training.train import (
        CostEstimate,
        RunSummary,
        TrainTerminated,
        _data_info,
        _device_name,
        _prepare_run_dir,
        _write_dir_atomic,
        lr_factor,
        seed_everything,
    )

    # ---- inputs
    started_at, t_wall = datetime.now(UTC), time.perf_counter()
    out, data_path = Path(out_dir), Path(data_path)
    if resume:
        raise AdviseError("DPO runs cannot be resumed yet", field="resume",
                          hint="start again with --force (DPO runs are short: one pass over the pairs by default)")
    if val_path:
        raise AdviseError("--val is not used by --method dpo", field="val",
                          hint="drop --val; the run reports the preference margin on the training pairs")
    pairs = load_preferences(data_path)
    _prepare_run_dir(out, resume, force)
    seed_everything(config.seed)
    model, tok, info = loaded if loaded is not None else load_base(base, config.dtype, config.device,
                                                                   config.quantize, allow_download)
    device = info.device
    examples = tokenize_pairs(tok, pairs, config.max_seq_len, str(data_path))
    pad_id = tok.pad_token_id if tok.pad_token_id is not None else 0
    model.config.use_cache = False
    model = add_lora(model, config)
    params = [p for _, p in trainable_parameters(model)]
    optimizer = torch.optim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay)

    def batch_of(idx: list[int]):
        exs = [e for i in idx for e in examples[i]]  # chosen, rejected, chosen, rejected, ...
        return {k: v.to(device) for k, v in collate(exs, pad_id).items()}

    # ---- reference log-probs, once: the base with the adapters disabled (no second model copy)
    model.eval()
    ref = torch.zeros(len(examples), 2)
    with torch.inference_mode(), model.disable_adapter():
        for s in range(0, len(examples), config.batch_size):
            idx = list(range(s, min(len(examples), s + config.batch_size)))
            ref[idx] = sequence_logps(model, batch_of(idx)).view(-1, 2).cpu()

    # ---- the loop
    per_epoch = math.ceil(len(examples) / config.batch_size)
    total = config.max_steps or max(1, math.ceil((config.epochs or 1.0) * per_epoch))
    warmup = config.warmup_steps if config.warmup_steps is not None else int(config.warmup_ratio * total)
    gen = torch.Generator().manual_seed(config.seed)
    order: list[int] = []
    state = DPOState()
    status = "finished"
    model.train()
    metrics = MetricsWriter(out / "metrics.jsonl")
    try:
        with TrainProgress(total, quiet=not progress) as bar:
            while state.step < total:
                t0 = time.perf_counter()
                if len(order) < config.batch_size:
                    order += torch.randperm(len(examples), generator=gen).tolist()
                idx, order = order[:config.batch_size], order[config.batch_size:]
                batch = batch_of(idx)
                logps = sequence_logps(model, batch).view(-1, 2)
                r = ref[idx].to(logps.device)
                loss, margin = dpo_loss(logps[:, 0], logps[:, 1], r[:, 0], r[:, 1], config.dpo_beta)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(params, config.max_grad_norm)
                lr = config.lr * lr_factor(state.step, total, warmup, config.schedule, config.min_lr_ratio)
                for g in optimizer.param_groups:
                    g["lr"] = lr
                optimizer.step()
                optimizer.zero_grad(set_to_none=True)
                state.step += 1
                state.tokens += int(batch["attention_mask"].sum())
                state.targets += int((batch["labels"] != IGNORE_INDEX).sum())
                state.padded += batch["input_ids"].numel()
                state.train_seconds += time.perf_counter() - t0
                margin = margin.detach()
                state.loss, state.margin = float(loss.detach()), float(margin.mean())
                state.accuracy = float((margin > 0).float().mean())
                if state.step % config.log_every == 0 or state.step == total:
                    metrics.write({"step": state.step, "loss": round(state.loss, 6), "lr": lr,
                                   "reward_margin": round(state.margin, 6),
                                   "reward_accuracy": round(state.accuracy, 4),
                                   "elapsed_s": round(time.perf_counter() - t_wall, 2)})
                bar.update(state.step, state.loss)
                if stop.requested:
                    raise TrainTerminated(f"DPO stopped by SIGTERM at step {state.step}", file=str(out),
                                          hint="DPO runs do not resume: start again with --force")
                if config.time_limit_s and time.perf_counter() - t_wall + (time.perf_counter() - t0) > \
                        config.time_limit_s:
                    status = "time_limit"
                    break
    finally:
        metrics.close()

    # ---- outputs
    _write_dir_atomic(out / "adapter", lambda d: (model.save_pretrained(d), tok.save_pretrained(d)))
    merged_dir = None
    if merge:
        merged = model.merge_and_unload()
        _write_dir_atomic(out / "merged", lambda d: (merged.save_pretrained(d), tok.save_pretrained(d)))
        merged_dir = "merged"
    counts = count_parameters(model)
    wall = time.perf_counter() - t_wall
    dev_type = torch.device(device).type
    rate = config.gpu_usd_per_hour if dev_type == "cuda" else config.cpu_usd_per_hour
    flat = [e for pair in examples for e in pair]
    summary = RunSummary(
        status=status, method="dpo", base={k: v for k, v in info.__dict__.items() if k != "extra"},
        train_data=_data_info(data_path, sha256_file(data_path), data_stats(flat)),
        config=config.model_dump(), lora_targets=config.resolved_targets(info.model_type),
        trainable_params=counts["trainable"], total_params=counts["total"], steps=state.step,
        epochs_completed=round(state.step / per_epoch, 4), final_train_loss=state.loss,
        adapter_from_step=state.step, tokens_seen=state.tokens,
        target_tokens_seen=state.targets, padded_tokens_seen=state.padded,
        tokens_per_second=round(state.tokens / max(1e-9, state.train_seconds), 2),
        train_seconds=round(state.train_seconds, 3), wall_seconds=round(wall, 3), device=device,
        device_name=_device_name(dev_type), dtype=info.dtype,
        cost=CostEstimate(usd=round(wall / 3600 * rate, 6), usd_per_hour=rate, hours=round(wall / 3600, 6),
                          basis="estimated: wall time × configured hourly rate (not a quoted price)"),
        started_at=started_at, finished_at=datetime.now(UTC), merged_dir=merged_dir)
    atomic_write_text(out / "run.json", summary.model_dump_json(indent=2) + "\n")
    return summary
