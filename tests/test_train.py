"""Trainer tests on a tiny random Llama built here (no download): masking, LoRA-only updates,
learning, exact resume, checkpoints, overwrite refusal, config and data validation, generation."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
import torch  # the train extra, which setup.sh installs: a hard dependency here, never skipped

from advisor.cli import main  # noqa: E402
from advisor.kernel.errors import AdviseError, OutputExistsError  # noqa: E402
from trainer.training.batches import (  # noqa: E402
    IGNORE_INDEX,
    collate,
    length_grouped_batches,
    load_chat_jsonl,
    tokenize_row,
)
from trainer.training.config import TrainConfig, load_train_config, make_config  # noqa: E402
from trainer.training.models import BaseModelInfo, ensure_chat_template  # noqa: E402
from trainer.training.train import (  # noqa: E402
    CHECKPOINT_FILES,
    TrainInterrupted,
    holding_base,
    list_checkpoints,
    lr_factor,
    plan_steps,
    train,
)

COLOURS = ["red", "blue", "green", "black", "white", "pink", "grey", "gold"]
NUMBERS = ["one", "two", "three", "four", "five", "six", "seven", "eight"]
WORDS = ["what", "is", "the", "code", "for", "you", "map", "colours", "to", "numbers", "hello", "answer"]
SPECIAL = ["[PAD]", "[UNK]", "<|im_start|>", "<|im_end|>"]
ROLES = ["system", "user", "assistant"]


def tiny_tokenizer():
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {w: i for i, w in enumerate(SPECIAL + ROLES + COLOURS + NUMBERS + WORDS)}
    core = Tokenizer(models.WordLevel(vocab=vocab, unk_token="[UNK]"))
    core.pre_tokenizer = pre_tokenizers.Whitespace()
    tok = PreTrainedTokenizerFast(tokenizer_object=core, pad_token="[PAD]", unk_token="[UNK]",
                                  eos_token="<|im_end|>", bos_token=None)
    tok.add_special_tokens({"additional_special_tokens": ["<|im_start|>", "<|im_end|>"]})
    ensure_chat_template(tok)
    return tok


def tiny_model(tok, seed: int = 0):
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(seed)
    cfg = LlamaConfig(vocab_size=len(tok), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                      num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=128,
                      pad_token_id=tok.pad_token_id, eos_token_id=tok.eos_token_id, bos_token_id=None,
                      tie_word_embeddings=True, initializer_range=0.3)  # large enough for confident logits
    return LlamaForCausalLM(cfg)


def tiny_loaded(seed: int = 0):
    tok = tiny_tokenizer()
    model = tiny_model(tok, seed)
    info = BaseModelInfo(id="tiny-llama", kind="local", source_path=None, file_hash="0" * 64,
                         model_type="llama", n_params=sum(p.numel() for p in model.parameters()),
                         dtype="float32", device="cpu", chat_template="fallback")
    return model, tok, info


def train_held(loaded, *args, **kwargs):
    """`train` on a base the test already holds (`loaded` = model, tokenizer, info), through `holding_base`."""
    with holding_base(*loaded):
        return train(*args, **kwargs)


def toy_rows(n: int, seed: int = 0) -> list[dict]:
    """Learnable task: a colour maps to a fixed number word."""
    rng = random.Random(seed)
    rows = []
    for _ in range(n):
        i = rng.randrange(len(COLOURS))
        rows.append({"messages": [
            {"role": "system", "content": "map colours to numbers"},
            {"role": "user", "content": f"what is the code for {COLOURS[i]}"},
            {"role": "assistant", "content": f"the answer is {NUMBERS[i]}"}]})
    return rows


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny matrices: one thread beats two contended ones by far (restored afterwards)."""
    prev = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(prev)


@pytest.fixture
def toy_data(tmp_path):
    return write_jsonl(tmp_path / "train.jsonl", toy_rows(48, 1)), write_jsonl(tmp_path / "val.jsonl", toy_rows(16, 2))


def small_config(**kw) -> TrainConfig:
    base = dict(lora_r=4, lora_alpha=8, lr=5e-3, batch_size=8, max_steps=6, warmup_steps=1, eval_every=3,
                save_every=3, log_every=1, max_seq_len=64, seed=7, num_threads=1)
    base.update(kw)
    return TrainConfig(**base)


# ---------------------------------------------------------------- masking and the loss

def test_prompt_tokens_are_masked_and_answer_labelled():
    tok = tiny_tokenizer()
    row = {"messages": [{"role": "system", "content": "map colours to numbers"},
                        {"role": "user", "content": "what is red"},
                        {"role": "assistant", "content": "one"},
                        {"role": "user", "content": "what is blue"},
                        {"role": "assistant", "content": "two"}]}
    ex = tokenize_row(tok, row, 256)
    labelled = [t for t, lab in zip(ex.input_ids, ex.labels, strict=True) if lab != IGNORE_INDEX]
    assert tok.convert_ids_to_tokens(labelled) == ["one", "<|im_end|>", "two", "<|im_end|>"]
    # everything before the first answer is masked, including system, user and the assistant header
    first = ex.labels.index(next(lab for lab in ex.labels if lab != IGNORE_INDEX))
    assert tok.convert_ids_to_tokens(ex.input_ids[:first])[-2:] == ["<|im_start|>", "assistant"]
    assert all(lab == IGNORE_INDEX for lab in ex.labels[:first])
    # the labelled ids are the input ids themselves (shift happens in the loss)
    assert all(lab in (IGNORE_INDEX, i) for i, lab in zip(ex.input_ids, ex.labels, strict=True))


def test_masked_head_loss_equals_full_vocab_loss():
    """Projecting only labelled positions gives exactly the loss HF computes over all positions."""
    from trainer.training.lora import add_lora
    from trainer.training.train import _masked_loss_module

    model, tok, _ = tiny_loaded()
    peft_model = add_lora(model, small_config())
    exs = [tokenize_row(tok, r, 64) for r in toy_rows(4)]
    batch = collate(exs, tok.pad_token_id)
    ours = _masked_loss_module(peft_model)(**batch) / (batch["labels"][:, 1:] != IGNORE_INDEX).sum()
    ref = peft_model(**batch).loss
    assert torch.allclose(ours, ref, atol=1e-5)


def test_truncation_keeps_the_answer():
    tok = tiny_tokenizer()
    row = {"messages": [{"role": "user", "content": " ".join(["hello"] * 50)},
                        {"role": "assistant", "content": "the answer is one"}]}
    ex = tokenize_row(tok, row, 16)
    assert len(ex.input_ids) == 16 and ex.truncated
    labelled = [t for t, lab in zip(ex.input_ids, ex.labels, strict=True) if lab != IGNORE_INDEX]
    assert tok.convert_ids_to_tokens(labelled) == ["the", "answer", "is", "one", "<|im_end|>"]


def test_length_grouped_batches_are_deterministic_complete_and_tight():
    rng = random.Random(0)
    lengths = [rng.randint(5, 200) for _ in range(300)]
    a = length_grouped_batches(lengths, 8, seed=1, epoch=0)
    assert a == length_grouped_batches(lengths, 8, seed=1, epoch=0)
    assert a != length_grouped_batches(lengths, 8, seed=1, epoch=1)
    assert sorted(i for b in a for i in b) == list(range(300))
    padded = sum(len(b) * max(lengths[i] for i in b) for b in a)
    naive = sum(len(b) * max(lengths[i] for i in b) for b in (list(range(300))[j:j + 8] for j in range(0, 300, 8)))
    assert padded < 0.8 * naive
    by_tokens = length_grouped_batches(lengths, 8, seed=1, epoch=0, batch_tokens=400)
    assert all(len(b) * max(lengths[i] for i in b) <= 400 or len(b) == 1 for b in by_tokens)


# ---------------------------------------------------------------- data validation

def test_load_chat_jsonl_errors_name_file_line_and_field(tmp_path):
    good = {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}]}
    p = tmp_path / "d.jsonl"
    p.write_text(json.dumps(good) + "\n{not json\n")
    with pytest.raises(AdviseError) as e:
        load_chat_jsonl(p)
    assert e.value.line == 2 and e.value.file == str(p)
    p.write_text(json.dumps(good) + "\n" + json.dumps({"messages": [{"role": "user", "content": "hi"}]}) + "\n")
    with pytest.raises(AdviseError) as e:
        load_chat_jsonl(p)
    assert e.value.line == 2 and e.value.field == "messages"
    p.write_text(json.dumps({"messages": [{"role": "robot", "content": "x"}]}) + "\n")
    with pytest.raises(AdviseError) as e:
        load_chat_jsonl(p)
    assert e.value.field == "messages[0].role"
    p.write_text(json.dumps({"prompt": "a", "completion": "b"}) + "\n")
    assert load_chat_jsonl(p) == [{"messages": [{"role": "user", "content": "a"},
                                                {"role": "assistant", "content": "b"}]}]


# ---------------------------------------------------------------- config

def test_config_validation_errors(tmp_path):
    with pytest.raises(AdviseError) as e:
        make_config({"lora_rank": 8})
    assert e.value.field == "lora_rank"
    with pytest.raises(AdviseError) as e:
        make_config({"lr": -1})
    assert e.value.field == "lr"
    with pytest.raises(AdviseError):
        make_config({"epochs": None, "max_steps": None})
    cfg = tmp_path / "advise.toml"
    cfg.write_text("[train]\nlora_r = 8\nlr = 1e-3\ntarget_modules = 'all-linear'\n")
    c = load_train_config(cfg, {"lr": 5e-4, "seed": None})
    assert (c.lora_r, c.lr, c.target_modules) == (8, 5e-4, "all-linear")
    cfg.write_text("lora_r = 'big'\n")
    with pytest.raises(AdviseError) as e:
        load_train_config(cfg)
    assert e.value.file == str(cfg) and e.value.field == "lora_r"
    assert TrainConfig().resolved_targets("llama") == ["q_proj", "k_proj", "v_proj", "o_proj"]
    assert TrainConfig().resolved_targets("somethingnew") == "all-linear"


def test_schedule_and_step_planning():
    assert lr_factor(0, 100, 10, "cosine", 0.1) == pytest.approx(0.1)
    assert lr_factor(10, 100, 10, "cosine", 0.1) == pytest.approx(1.0)
    assert lr_factor(100, 100, 10, "cosine", 0.1) == pytest.approx(0.1)
    assert lr_factor(55, 100, 10, "cosine", 0.0) == pytest.approx(0.5)
    plan = plan_steps(300, 150, tokens_per_second=300, budget_s=180, batch_size=8)
    assert plan.tokens <= 300 * 180 and plan.epochs <= 3
    assert plan.max_steps == int(300 * 180 / (300 * 150) * 38)
    assert plan_steps(300, 150, 1e6, 600, batch_size=8).epochs == 3.0  # capped at max_epochs
    with pytest.raises(AdviseError):
        plan_steps(0, 150, 300, 180)


# ---------------------------------------------------------------- training behaviour

def test_only_lora_weights_change(tmp_path, toy_data):
    model, tok, info = tiny_loaded()
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    train_held((model, tok, info), small_config(max_steps=4), toy_data[0], None, out_dir=tmp_path / "run",
               progress=False)
    lora_names = []
    for name, p in model.named_parameters():
        if "lora_" in name:
            assert p.requires_grad
            lora_names.append(name)
            continue
        assert not p.requires_grad, name
        orig = name.replace(".base_layer", "")
        assert torch.equal(p.detach(), before[orig]), f"frozen weight changed: {name}"
    assert lora_names and all(n.split(".")[-2] == "default" for n in lora_names)
    b_weights = [p for n, p in model.named_parameters() if "lora_B" in n]
    assert any(float(p.detach().abs().sum()) > 0 for p in b_weights)  # B starts at zero: it moved


def test_loss_falls_on_learnable_task(tmp_path, toy_data):
    summary = train_held(tiny_loaded(), small_config(max_steps=40, lr=1e-2, eval_every=20, save_every=100, lora_r=8),
                         toy_data[0], toy_data[1], out_dir=tmp_path / "run", progress=False)
    rows = [json.loads(x) for x in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    losses = [r["loss"] for r in rows if "loss" in r]
    assert {"step", "loss", "lr", "grad_norm", "tokens_per_s", "elapsed_s"} <= set(rows[1])
    assert sum(losses[-5:]) / 5 < 0.6 * sum(losses[:5]) / 5
    assert summary.best_val_loss < 0.7 * summary.initial_val_loss
    run = json.loads((tmp_path / "run" / "run.json").read_text())
    assert run["tokens_seen"] > 0 and run["tokens_per_second"] > 0
    assert run["tokens_seen"] <= run["padded_tokens_seen"]
    assert run["train_data"]["sha256"] and run["cost"]["usd"] >= 0 and "estimated" in run["cost"]["basis"]
    assert (tmp_path / "run" / "adapter" / "adapter_config.json").is_file()


def _adapter(run: Path) -> dict:
    from safetensors.torch import load_file

    return load_file(str(run / "adapter" / "adapter_model.safetensors"))


def fail_at_step(loaded, steps_done: int, exc: BaseException | None = None, micro_per_step: int = 1,
                 sleep_s: float = 0.0, action=None):
    """Make the model itself misbehave (no hook in train()'s signature): every training forward
    sleeps `sleep_s`; the first forward after `steps_done` optimizer steps raises `exc` or calls `action`."""
    import time

    calls = {"n": 0}

    def hook(module, args, kwargs):
        if not module.training:
            return
        calls["n"] += 1
        time.sleep(sleep_s)
        if calls["n"] == steps_done * micro_per_step + 1:
            if action is not None:
                action()
            if exc is not None:
                raise exc

    loaded[0].model.register_forward_pre_hook(hook, with_kwargs=True)
    return loaded


def test_resume_after_kill_matches_uninterrupted_run(tmp_path, toy_data):
    cfg = small_config(max_steps=8, save_every=3, lora_dropout=0.1, grad_accum=2, batch_size=4, packing=False)
    train_held(tiny_loaded(), cfg, toy_data[0], toy_data[1], out_dir=tmp_path / "a", progress=False)

    with pytest.raises(RuntimeError):  # "kill" at step 5: the last checkpoint is step 3
        train_held(fail_at_step(tiny_loaded(), 5, RuntimeError("killed"), micro_per_step=2), cfg, toy_data[0],
                   toy_data[1], out_dir=tmp_path / "b", progress=False)
    assert [p.name for p in list_checkpoints(tmp_path / "b")] == ["step-000003"]
    with pytest.raises(OutputExistsError):  # an unfinished run is not silently restarted
        train_held(tiny_loaded(), cfg, toy_data[0], toy_data[1], out_dir=tmp_path / "b", progress=False)
    summary = train_held(tiny_loaded(), cfg, toy_data[0], toy_data[1], out_dir=tmp_path / "b", resume=True,
                         progress=False)
    assert summary.resumed_from_step == 3 and summary.steps == 8
    a, b = _adapter(tmp_path / "a"), _adapter(tmp_path / "b")
    assert a.keys() == b.keys()
    for k in a:
        assert torch.allclose(a[k], b[k], atol=1e-6), k
    ja, jb = (json.loads((tmp_path / d / "run.json").read_text()) for d in "ab")
    assert ja["final_val_loss"] == pytest.approx(jb["final_val_loss"], rel=1e-5)
    assert ja["tokens_seen"] == jb["tokens_seen"]


def test_ctrl_c_saves_complete_checkpoint_and_resume_matches(tmp_path, toy_data):
    cfg = small_config(max_steps=6, save_every=100, lora_dropout=0.1)
    train_held(tiny_loaded(), cfg, toy_data[0], None, out_dir=tmp_path / "a", progress=False)
    with pytest.raises(TrainInterrupted) as e:
        train_held(fail_at_step(tiny_loaded(), 4, KeyboardInterrupt(), sleep_s=0.2), cfg, toy_data[0], None,
                   out_dir=tmp_path / "b", progress=False)
    assert e.value.exit_code == 130
    ck = list_checkpoints(tmp_path / "b")
    assert [p.name for p in ck] == ["step-000004"]
    assert all((ck[0] / f).is_file() for f in CHECKPOINT_FILES)
    state = json.loads((ck[0] / "trainer_state.json").read_text())
    assert state["step"] == 4 and state["micro"] == 4 and state["reason"] == "interrupted"
    assert not (tmp_path / "b" / "run.json").exists()
    train_held(tiny_loaded(), cfg, toy_data[0], None, out_dir=tmp_path / "b", resume=True, progress=False)
    a, b = _adapter(tmp_path / "a"), _adapter(tmp_path / "b")
    assert all(torch.allclose(a[k], b[k], atol=1e-6) for k in a)
    lines = [json.loads(x) for x in (tmp_path / "b" / "metrics.jsonl").read_text().splitlines()]
    steps = [r["step"] for r in lines]
    assert steps == sorted(steps) and len(steps) == len(set(steps))  # no duplicated lines after resume
    elapsed = [r["elapsed_s"] for r in lines]
    assert elapsed == sorted(elapsed) and elapsed[4] >= state["elapsed_s"] >= 0.8  # continues, not from 0


def test_sigterm_finishes_the_step_saves_and_resume_matches(tmp_path, toy_data):
    import os
    import signal

    from trainer.training.train import TrainTerminated

    cfg = small_config(max_steps=6, save_every=100, lora_dropout=0.1)
    train_held(tiny_loaded(), cfg, toy_data[0], None, out_dir=tmp_path / "a", progress=False)
    with pytest.raises(TrainTerminated) as e:  # SIGTERM arrives during the forward of step 3
        train_held(fail_at_step(tiny_loaded(), 2, action=lambda: os.kill(os.getpid(), signal.SIGTERM)), cfg,
                   toy_data[0], None, out_dir=tmp_path / "b", progress=False)
    assert e.value.exit_code == 143 and "--resume" in e.value.hint
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # handler restored
    ck = list_checkpoints(tmp_path / "b")
    state = json.loads((ck[-1] / "trainer_state.json").read_text())
    assert state["step"] == 3 and state["reason"] == "terminated"
    train_held(tiny_loaded(), cfg, toy_data[0], None, out_dir=tmp_path / "b", resume=True, progress=False)
    a, b = _adapter(tmp_path / "a"), _adapter(tmp_path / "b")
    assert all(torch.allclose(a[k], b[k], atol=1e-6) for k in a)


def test_resume_without_a_checkpoint_is_an_error(tmp_path, toy_data):
    for out in (tmp_path / "missing", tmp_path / "empty"):
        if out.name == "empty":
            (out / "checkpoints").mkdir(parents=True)
        with pytest.raises(AdviseError, match="nothing to resume") as e:
            train_held(tiny_loaded(), small_config(), toy_data[0], None, out_dir=out, resume=True,
                       progress=False)
        assert "drop --resume" in e.value.hint


def test_time_limit_stops_with_checkpoint_and_adapter(tmp_path, toy_data):
    limit, slow = 2.5, 0.3
    cfg = small_config(max_steps=1000, save_every=1000, time_limit_s=limit)
    s = train_held(fail_at_step(tiny_loaded(), 10**6, sleep_s=slow), cfg, toy_data[0], toy_data[1],
                   out_dir=tmp_path / "r", progress=False)
    assert s.status == "time_limit" and 2 <= s.steps < 1000
    step_s = s.train_seconds / s.steps
    assert s.wall_seconds <= limit + step_s + 0.05, (s.wall_seconds, step_s)
    ck = list_checkpoints(tmp_path / "r")
    assert json.loads((ck[-1] / "trainer_state.json").read_text())["reason"] == "time_limit"
    assert (tmp_path / "r" / "adapter" / "adapter_model.safetensors").is_file()
    lrs = [json.loads(x)["lr"] for x in (tmp_path / "r" / "metrics.jsonl").read_text().splitlines() if '"lr"' in x]
    assert lrs[-1] < 0.6 * max(lrs)  # the decay followed the clock, not the 1000-step plan
    # the last weights are validated before the stop (room for it is kept inside the limit), so the adapter
    # is the best one seen and final_val_loss is the stopped weights' loss, not the untrained one
    vals = [json.loads(x) for x in (tmp_path / "r" / "metrics.jsonl").read_text().splitlines() if '"val_loss"' in x]
    assert vals[-1]["step"] == s.steps and s.final_val_loss == pytest.approx(vals[-1]["val_loss"], abs=1e-6)


def test_finished_run_is_not_overwritten_without_force(tmp_path, toy_data):
    cfg = small_config(max_steps=2)
    train_held(tiny_loaded(), cfg, toy_data[0], None, out_dir=tmp_path / "r", progress=False)
    first = (tmp_path / "r" / "run.json").read_text()
    with pytest.raises(OutputExistsError):
        train_held(tiny_loaded(), cfg, toy_data[0], None, out_dir=tmp_path / "r", progress=False)
    assert (tmp_path / "r" / "run.json").read_text() == first
    train_held(tiny_loaded(), cfg, toy_data[0], None, out_dir=tmp_path / "r", force=True, progress=False)
    assert (tmp_path / "r" / "run.json").read_text() != first


def test_resume_refuses_changed_data(tmp_path, toy_data):
    cfg = small_config(max_steps=6, save_every=2)
    with pytest.raises(RuntimeError):
        train_held(fail_at_step(tiny_loaded(), 3, RuntimeError("killed")), cfg, toy_data[0], None,
                   out_dir=tmp_path / "r", progress=False)
    write_jsonl(toy_data[0], toy_rows(48, 99))
    with pytest.raises(AdviseError) as e:
        train_held(tiny_loaded(), cfg, toy_data[0], None, out_dir=tmp_path / "r", resume=True, progress=False)
    assert e.value.field == "train_sha256"


def test_early_stopping_stops_and_keeps_best(tmp_path, toy_data):
    cfg = small_config(max_steps=60, lr=0.3, eval_every=1, early_stopping_patience=2, save_every=1000,
                       warmup_steps=0, schedule="constant")
    s = train_held(tiny_loaded(), cfg, toy_data[0], toy_data[1], out_dir=tmp_path / "r", progress=False)
    assert s.status == "early_stopped" and s.steps < 60
    assert s.adapter_from_step == s.best_step


def test_quantize_4bit_without_cuda_is_a_clear_error():
    from trainer.training.models import _quantization_config

    if torch.cuda.is_available():
        pytest.skip("CUDA present")
    with pytest.raises(AdviseError, match="4-bit quantization needs CUDA and bitsandbytes"):
        _quantization_config("4bit", "cpu")


# ---------------------------------------------------------------- CLI + generation on a local model dir

def test_cli_train_then_generate_with_local_model_dir(tmp_path, toy_data, capsys):
    from peft import PeftModel

    from trainer.evaluation.generate import generate_batch, load_adapter

    model, tok, _ = tiny_loaded()
    base_dir = tmp_path / "tiny-base"
    model.save_pretrained(base_dir)
    tok.save_pretrained(base_dir)
    cfg = tmp_path / "train.toml"
    cfg.write_text("lora_r = 4\nlr = 1e-2\nbatch_size = 8\nsave_every = 100\nmax_seq_len = 64\n")
    argv = ["train", "--data", str(toy_data[0]), "--val", str(toy_data[1]), "--base", str(base_dir),
            "-o", str(tmp_path / "run"), "--config", str(cfg), "--max-steps", "12", "--merge", "-q"]
    assert main(argv) == 0
    assert main(argv) == 1  # finished run: refused without --force
    assert "--force" in capsys.readouterr().err
    run = json.loads((tmp_path / "run" / "run.json").read_text())
    assert run["base"]["kind"] == "local" and len(run["base"]["file_hash"]) == 64
    assert run["config"]["lora_r"] == 4 and run["steps"] == 12
    assert (tmp_path / "run" / "merged" / "config.json").is_file()
    # standard PEFT format
    from transformers import AutoModelForCausalLM

    reloaded = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(base_dir), tmp_path / "run" / "adapter")
    assert any("lora_A" in n for n, _ in reloaded.named_parameters())

    m, t, _ = load_adapter(tmp_path / "run", device="cpu")
    convs = [[{"role": "user", "content": f"what is the code for {c}"}] for c in ("red", "blue green black", "gold")]
    batched = generate_batch(m, t, convs, max_new_tokens=5, batch_size=8)
    single = [generate_batch(m, t, [c], max_new_tokens=5)[0] for c in convs]
    assert batched == single  # left padding does not change greedy outputs

    assert main(["generate", "--run", str(tmp_path / "run"), "what is the code for red", "--max-new-tokens", "4",
                 "--json", "--device", "cpu"]) == 0
    line = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert line["prompt"] == "what is the code for red" and isinstance(line["output"], str)


def test_cli_train_rejects_bad_data_before_loading_a_model(tmp_path, capsys):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"messages": [{"role": "user", "content": "x"}]}\n')
    assert main(["train", "--data", str(bad), "-o", str(tmp_path / "run"), "--base", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert f"{bad}:1" in err and "assistant" in err
    assert not (tmp_path / "run").exists()
