"""Training throughput: our LoRA loop vs a plain `transformers.Trainer` + peft run.

Same base model (embedded SmolLM2-135M-Instruct), same data (a generated product-description
task with varied lengths), same LoRA settings, batch size, learning rate and steps. The baseline
pads every example to max length (the common recipe); ours groups by length and projects only the
answer positions through the LM head. Reported: effective (non-padding) tokens per second of pure
step time (model load, tokenisation and evaluation excluded for both), and the ratio.

    python bench/bench_train.py                         # CPU → bench/results/train_cpu.json
    python bench/bench_train.py --random-init --arch-dir DIR --out bench/results/train_gpu.json  # no GGUF there
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from _machine import describe

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PRODUCTS = ["t-shirt", "hoodie", "sneakers", "backpack", "water bottle", "desk lamp", "yoga mat", "headphones",
            "coffee mug", "rain jacket", "wallet", "sunglasses"]
COLOURS = ["black", "white", "navy", "olive", "red", "grey", "sand", "teal"]
MATERIALS = ["organic cotton", "recycled polyester", "stainless steel", "vegan leather", "bamboo fibre", "aluminium"]
FEATURES = ["machine washable", "lightweight", "water resistant", "fair-trade certified", "two-year warranty",
            "gift-ready packaging", "adjustable fit", "reinforced seams", "quick-dry", "ergonomic handle"]
SYSTEM = "You write product descriptions for an online shop: a title line, then a short paragraph, then bullets."


def product_rows(n: int, seed: int = 0) -> list[dict]:
    """A template task like the headline demo: attributes in, a structured description out (varied length)."""
    rng = random.Random(seed)
    rows = []
    for _ in range(n):
        p, c, m = rng.choice(PRODUCTS), rng.choice(COLOURS), rng.choice(MATERIALS)
        feats = rng.sample(FEATURES, rng.randint(1, 6))
        price = rng.randint(9, 199)
        user = f"Product: {p}\nColour: {c}\nMaterial: {m}\nPrice: ${price}\nFeatures: {', '.join(feats)}"
        extra = " ".join(rng.choice(["Designed for everyday use.", "Built to last.", "A customer favourite.",
                                     "Pairs well with the rest of the range.", "Ships within two days."])
                         for _ in range(rng.randint(0, 4)))
        answer = (f"{c.title()} {m} {p} — ${price}\n"
                  f"Our {c} {p} is made from {m}. {extra}\n" + "\n".join(f"- {f.capitalize()}" for f in feats))
        rows.append({"messages": [{"role": "system", "content": SYSTEM}, {"role": "user", "content": user},
                                  {"role": "assistant", "content": answer}]})
    return rows


def write_rows(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def load(random_init: bool, device: str, arch_dir: Path | None = None):
    """The embedded model, or (GPU box without the GGUF) the same architecture randomly initialised."""
    import torch

    if not random_init or arch_dir is None:
        from trainer.models import load_base

        return load_base(None, dtype="auto", device=device)
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    from trainer.models import BaseModelInfo, ensure_chat_template, pick_device, pick_dtype

    here = arch_dir
    tok = AutoTokenizer.from_pretrained(str(here))
    ensure_chat_template(tok)
    cfg = LlamaConfig.from_pretrained(str(here))
    dev = pick_device(device)
    dt = pick_dtype("auto", dev)
    torch.manual_seed(0)
    model = LlamaForCausalLM(cfg).to(dev, dt)
    info = BaseModelInfo(id="SmolLM2-135M architecture (random init)", kind="local", source_path=None,
                         file_hash=None, model_type="llama", n_params=sum(p.numel() for p in model.parameters()),
                         dtype=str(dt).removeprefix("torch."), device=dev, chat_template="tokenizer")
    return model, tok, info


def run_baseline(rows, args, loaded) -> dict:
    """transformers.Trainer + peft, every example padded to max_seq_len, full-vocab loss with -100 labels."""
    import torch
    from transformers import Trainer, TrainerCallback, TrainingArguments

    from trainer.config import TrainConfig
    from trainer.data import IGNORE_INDEX, tokenize_rows
    from trainer.lora import add_lora

    model, tok, info = loaded
    cfg = TrainConfig(lora_r=args.lora_r, lora_alpha=2 * args.lora_r, target_modules=args.targets,
                      max_seq_len=args.max_seq_len)
    exs = tokenize_rows(tok, rows, args.max_seq_len)
    pad = tok.pad_token_id
    feats = [{"input_ids": e.input_ids + [pad] * (args.max_seq_len - len(e.input_ids)),
              "labels": e.labels + [IGNORE_INDEX] * (args.max_seq_len - len(e.labels)),
              "attention_mask": [1] * len(e.input_ids) + [0] * (args.max_seq_len - len(e.input_ids))} for e in exs]
    model.config.use_cache = False
    peft_model = add_lora(model, cfg)

    class Timer(TrainerCallback):
        def __init__(self):
            self.t0, self.total, self.steps = 0.0, 0.0, 0

        def on_step_begin(self, *a, **k):
            if info.device == "cuda":
                torch.cuda.synchronize()
            self.t0 = time.perf_counter()

        def on_step_end(self, *a, **k):
            if info.device == "cuda":
                torch.cuda.synchronize()
            self.steps += 1
            if self.steps > args.warmup_steps:  # first steps pay one-off costs
                self.total += time.perf_counter() - self.t0

    timer = Timer()
    batch_tokens: list[int] = []  # effective tokens of each collated batch, in step order

    def collate(b):
        batch_tokens.append(sum(sum(x["attention_mask"]) for x in b))
        return {k: torch.tensor([x[k] for x in b]) for k in b[0]}

    bf16 = info.dtype == "bfloat16"
    with tempfile.TemporaryDirectory() as out:
        targs = TrainingArguments(output_dir=out, per_device_train_batch_size=args.batch_size, learning_rate=2e-4,
                                  max_steps=args.steps, lr_scheduler_type="cosine", warmup_steps=0,
                                  logging_steps=10_000, save_strategy="no", report_to=[], seed=0,
                                  dataloader_num_workers=0, bf16=bf16, use_cpu=info.device == "cpu",
                                  remove_unused_columns=False, disable_tqdm=True)
        trainer = Trainer(model=peft_model, args=targs, train_dataset=feats, callbacks=[timer],
                          data_collator=collate)
        trainer.train()
    timed = batch_tokens[args.warmup_steps: args.steps]
    eff = sum(timed)
    return {"effective_tokens": eff, "padded_tokens": len(timed) * args.batch_size * args.max_seq_len,
            "seconds": timer.total,
            "tokens_per_s": eff / timer.total, "steps_timed": timer.steps - args.warmup_steps}


def run_ours(rows, args, loaded) -> dict:
    from trainer.config import TrainConfig
    from trainer.train import train

    cfg = TrainConfig(lora_r=args.lora_r, lora_alpha=2 * args.lora_r, target_modules=args.targets, lr=2e-4,
                      batch_size=args.batch_size, max_steps=args.steps, max_seq_len=args.max_seq_len,
                      warmup_steps=0, save_every=10_000, eval_every=10_000, log_every=1, seed=0)
    with tempfile.TemporaryDirectory() as d:
        data = write_rows(Path(d) / "train.jsonl", rows)
        s = train(cfg, data, None, out_dir=Path(d) / "run", progress=False, loaded=loaded)
        metrics = [json.loads(x) for x in (Path(d) / "run" / "metrics.jsonl").read_text().splitlines()]
    timed = [m for m in metrics if "loss" in m][args.warmup_steps:]
    # per-step tokens/s over the timed steps: tokens / seconds, recovered from the per-step log
    secs = sum(_step_tokens(metrics, m) / m["tokens_per_s"] for m in timed)
    toks = sum(_step_tokens(metrics, m) for m in timed)
    return {"effective_tokens": toks, "padded_tokens": s.padded_tokens_seen, "seconds": secs,
            "tokens_per_s": toks / secs, "steps_timed": len(timed), "run_tokens_per_s": s.tokens_per_second,
            "final_loss": s.final_train_loss}


def _step_tokens(metrics: list[dict], m: dict) -> int:
    prev = [x["tokens"] for x in metrics if "tokens" in x and x["step"] < m["step"]]
    return m["tokens"] - (prev[-1] if prev else 0)


def machine() -> dict:
    import torch

    d = {**describe(("advise", "torch", "transformers", "peft")), "torch_threads": torch.get_num_threads()}
    if torch.cuda.is_available():
        d["gpu"] = torch.cuda.get_device_name(0)
    return d


# Dense bf16 peak (no sparsity), from vendor datasheets; MFU below uses these.
PEAK_BF16_FLOPS = {"H100": 989e12, "H200": 989e12, "A100": 312e12, "L4": 121e12}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--examples", type=int, default=64)
    ap.add_argument("--steps", type=int, default=8)
    ap.add_argument("--warmup-steps", type=int, default=1)
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--max-seq-len", type=int, default=256)
    ap.add_argument("--lora-r", type=int, default=16)
    ap.add_argument("--targets", default="auto", help="auto (attention) or all-linear")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--random-init", action="store_true", help="same architecture, random weights (no GGUF)")
    ap.add_argument("--arch-dir", type=Path, default=None,
                    help="with --random-init: a dir holding the model's config.json + tokenizer files")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "train_cpu.json")
    args = ap.parse_args()

    rows = product_rows(args.examples)
    t = time.perf_counter()
    baseline = run_baseline(rows, args, load(args.random_init, args.device, args.arch_dir))
    ours = run_ours(rows, args, load(args.random_init, args.device, args.arch_dir))
    loaded = load(args.random_init, args.device, args.arch_dir)
    info = loaded[2]
    result = {
        "benchmark": "LoRA training throughput, effective (non-padding) tokens/s of step time",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "model": info.id, "device": info.device, "dtype": info.dtype, "params": info.n_params,
        "machine": machine(),
        "settings": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "data": {"examples": len(rows), "task": "generated product descriptions (bench/bench_train.py)"},
        "baseline_transformers_trainer_padded": baseline,
        "ours": ours,
        "speedup": round(ours["tokens_per_s"] / baseline["tokens_per_s"], 3),
        "goal_speedup": 1.5,
        "bench_wall_s": round(time.perf_counter() - t, 1),
    }
    gpu = result["machine"].get("gpu")
    if gpu:
        peak = next((v for k, v in PEAK_BF16_FLOPS.items() if k in gpu), None)
        # 6·N·tokens counts forward+backward over all N base parameters (the usual estimate); LoRA
        # skips weight gradients of frozen layers, so this overstates the work done: an upper bound.
        for name in ("baseline_transformers_trainer_padded", "ours"):
            r = result[name]
            r["model_flops_per_s"] = 6 * info.n_params * r["tokens_per_s"]
            r["mfu"] = r["model_flops_per_s"] / peak if peak else None
        result["mfu_note"] = ("MFU = 6 × all base params × effective tokens/s ÷ dense bf16 peak "
                              f"({peak:.3g} FLOP/s for {gpu}); embeddings included, LoRA params negligible")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(result, indent=2) + "\n")
    os.replace(tmp, args.out)
    print(json.dumps({k: result[k] for k in ("model", "device", "speedup")} |
                     {"ours_tok_s": round(ours["tokens_per_s"], 1),
                      "baseline_tok_s": round(baseline["tokens_per_s"], 1)}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
