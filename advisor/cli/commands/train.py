"""`advise train`: fine-tune a LoRA adapter on chat JSONL (offline by default, CPU or GPU)."""

from __future__ import annotations

from pathlib import Path

import click

from advisor.kernel.errors import require_train_extra


@click.command("train")
@click.option("--data", "data", required=True, type=click.Path(path_type=Path, dir_okay=False),
              help="Training chat JSONL ({\"messages\": [...]} or {\"prompt\", \"completion\"} per line); "
                   "for --method dpo, preferences.jsonl ({\"prompt\", \"chosen\", \"rejected\"}).")
@click.option("--method", type=click.Choice(["lora", "full", "dpo"]), default=None,
              help="lora (default): adapters on a frozen base; full: every weight (small models); "
                   "dpo: LoRA adapters from preference pairs written by `advise dataset`.")
@click.option("--val", "val", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Validation chat JSONL: loss measured every eval_every steps, best weights kept.")
@click.option("--base", default=None, metavar="MODEL",
              help="Base model: 'default' (embedded SmolLM2-135M-Instruct), a local HF directory, or a hub id.")
@click.option("-o", "--output", "out", required=True, type=click.Path(path_type=Path, file_okay=False),
              help="Run directory, e.g. runs/NAME.")
@click.option("--config", "config_path", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="train.toml, or advise.toml with a [train] table; flags override it.")
@click.option("--resume", is_flag=True, help="Continue an interrupted run from its last checkpoint.")
@click.option("--force", is_flag=True, help="Overwrite a finished run in the output directory.")
@click.option("--merge", is_flag=True, help="Also write a merged model (base + adapter) to RUN/merged/.")
@click.option("--quantize", type=click.Choice(["4bit"]), default=None, help="QLoRA (CUDA + bitsandbytes only).")
@click.option("--epochs", type=float, default=None)
@click.option("--max-steps", type=int, default=None, help="Optimizer steps; wins over --epochs.")
@click.option("--lr", type=float, default=None, help="Peak learning rate (warmup, then cosine decay).")
@click.option("--lora-r", type=int, default=None)
@click.option("--lora-alpha", type=float, default=None)
@click.option("--target-modules", default=None, metavar="auto|all-linear|a,b,c")
@click.option("--batch-size", type=int, default=None, help="Examples per micro-batch.")
@click.option("--grad-accum", type=int, default=None, help="Micro-batches per optimizer step.")
@click.option("--max-seq-len", type=int, default=None)
@click.option("--packing/--no-packing", default=None,
              help="Pack examples into max-seq-len rows (per-example attention; refused where unsupported).")
@click.option("--time-limit", "time_limit", type=click.FloatRange(min=0.01), default=None, metavar="MINUTES",
              help="Wall-clock limit: stop there with a checkpoint and write the adapter.")
@click.option("--seed", type=int, default=None)
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda", "mps"]), default=None)
@click.option("--dtype", type=click.Choice(["auto", "fp32", "bf16", "fp16"]), default=None)
@click.option("--gradient-checkpointing/--no-gradient-checkpointing", default=None)
@click.option("--allow-download", is_flag=True, help="Allow fetching a hub model that is not cached (online only).")
@click.option("--json", "json_out", is_flag=True, help="Print run.json to stdout; no progress bar.")
@click.option("-q", "--quiet", is_flag=True,
              help="No progress bars (ours or the model libraries'), no library warnings, no summary.")
def train(data: Path, val: Path | None, base: str | None, out: Path, config_path: Path | None, resume: bool,
          force: bool, merge: bool, quantize: str | None, epochs: float | None, max_steps: int | None,
          lr: float | None, lora_r: int | None, lora_alpha: float | None, target_modules: str | None,
          batch_size: int | None, grad_accum: int | None, max_seq_len: int | None, packing: bool | None,
          time_limit: float | None, method: str | None, seed: int | None,
          device: str | None, dtype: str | None, gradient_checkpointing: bool | None, allow_download: bool,
          json_out: bool, quiet: bool) -> None:
    """Train a LoRA adapter; writes RUN/adapter/, run.json, metrics.jsonl, checkpoints/.

    \b
    Examples:
      advise train --data train.jsonl --val val.jsonl -o runs/first
      advise train --data train.jsonl -o runs/first --resume          # after Ctrl-C
      advise train --data train.jsonl --base ./my-model --lora-r 32 --target-modules all-linear -o runs/big
    """
    require_train_extra()
    from trainer.training.quiet import quiet_ml_libraries

    quiet_ml_libraries(silent=quiet or json_out)
    from trainer.training.config import load_train_config
    from trainer.training.train import train as run_training

    targets: str | list[str] | None = target_modules
    if target_modules and target_modules not in ("auto", "all-linear"):
        targets = [t.strip() for t in target_modules.split(",") if t.strip()]
    overrides = {"epochs": epochs, "max_steps": max_steps, "lr": lr, "lora_r": lora_r, "lora_alpha": lora_alpha,
                 "target_modules": targets, "batch_size": batch_size, "grad_accum": grad_accum,
                 "max_seq_len": max_seq_len, "seed": seed, "device": device, "dtype": dtype,
                 "quantize": quantize, "gradient_checkpointing": gradient_checkpointing, "method": method,
                 "packing": packing, "time_limit_s": time_limit * 60 if time_limit else None}
    config = load_train_config(config_path, overrides)
    import warnings

    from trainer.training.train import TrainWarning

    default_show = warnings.showwarning

    def show(message, category, *args, **kwargs):  # data warnings: one plain line on stderr, when they happen
        if issubclass(category, TrainWarning):
            click.echo(f"warning: {message}", err=True)
        else:
            default_show(message, category, *args, **kwargs)

    with warnings.catch_warnings():
        warnings.simplefilter("always", TrainWarning)
        warnings.showwarning = show
        summary = run_training(config, data, val, base=base, out_dir=out, resume=resume, force=force,
                               progress=not (quiet or json_out), merge=merge, allow_download=allow_download)
    if json_out:
        click.echo(summary.model_dump_json(indent=2))
        return
    if quiet:
        return
    from rich.console import Console

    c = Console()
    val_txt = ""
    if summary.final_val_loss is not None:
        val_txt = (f", val loss {summary.initial_val_loss:.3f} → {summary.final_val_loss:.3f}"
                   f" (best {summary.best_val_loss:.3f} at step {summary.best_step})")
    c.print(f"[bold green]trained[/] {summary.steps} steps ({summary.epochs_completed:g} epochs) on "
            f"{summary.device_name}: train loss {summary.final_train_loss:.3f}{val_txt}")
    c.print(f"  {summary.tokens_seen:,} tokens (non-padding) at {summary.tokens_per_second:,.0f} tokens/s measured; "
            f"wall time {summary.wall_seconds:,.0f} s; est. cost ${summary.cost.usd:.4f} "
            f"(at ${summary.cost.usd_per_hour}/h, configured)")
    c.print(f"  adapter: {out / summary.adapter_dir} (weights of step {summary.adapter_from_step}); "
            f"details: {out / 'run.json'}")
