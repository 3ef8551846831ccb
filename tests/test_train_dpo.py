"""DPO: preference pairs from `advise dataset` (labelled corrections vs failed outputs), the loss
on a tiny model, and `advise train --method dpo` end to end on the embedded model (slow)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch  # the train extra, which setup.sh installs: a hard dependency here, never skipped

from advisor.cli import main  # noqa: E402
from advisor.kernel.errors import AdviseError  # noqa: E402
from tests.test_train import COLOURS, NUMBERS, one_thread, small_config, tiny_loaded, train_held  # noqa: E402,F401
from trainer.training.batches import collate  # noqa: E402
from trainer.training.dpo import load_preferences, sequence_logps, tokenize_pairs  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def pref_rows(n: int) -> list[dict]:
    """The right number word is preferred over the next one in the list."""
    rows = []
    for i in range(n):
        c = i % len(COLOURS)
        rows.append({"prompt": [{"role": "user", "content": f"what is the code for {COLOURS[c]}"}],
                     "chosen": [{"role": "assistant", "content": f"the answer is {NUMBERS[c]}"}],
                     "rejected": [{"role": "assistant", "content": f"the answer is {NUMBERS[(c + 1) % 8]}"}]})
    return rows


def _margins(model, tok, path: Path) -> torch.Tensor:
    """log p(chosen) − log p(rejected) per pair."""
    pairs = tokenize_pairs(tok, load_preferences(path), 64)
    batch = collate([e for p in pairs for e in p], tok.pad_token_id)
    with torch.no_grad():
        lp = sequence_logps(model, batch).view(-1, 2)
    return lp[:, 0] - lp[:, 1]


def test_dpo_raises_the_chosen_vs_rejected_margin(tmp_path):
    data = tmp_path / "preferences.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in pref_rows(16)))
    model, tok, info = tiny_loaded()
    before = _margins(model, tok, data)
    s = train_held((model, tok, info), small_config(method="dpo", max_steps=15, lr=2e-2, batch_size=8, dpo_beta=0.5),
                   data, None, out_dir=tmp_path / "run", progress=False)
    model.eval()
    after = _margins(model, tok, data)
    assert s.method == "dpo" and s.steps == 15
    assert float((after - before).mean()) > 1.0, (before, after)
    assert (after > before).float().mean() >= 0.9
    from peft.tuners.tuners_utils import BaseTunerLayer

    lora_layers = [m for m in model.modules() if isinstance(m, BaseTunerLayer)]
    for m in lora_layers:  # the reference is the base with adapters off: unchanged by training
        m.enable_adapters(False)
    assert torch.allclose(_margins(model, tok, data), before, atol=1e-5)
    for m in lora_layers:
        m.enable_adapters(True)
    rows = [json.loads(x) for x in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert rows[0]["reward_margin"] == 0 and rows[-1]["reward_margin"] > 0.5  # LoRA B starts at zero
    assert (tmp_path / "run" / "adapter" / "adapter_model.safetensors").is_file()
    assert json.loads((tmp_path / "run" / "run.json").read_text())["method"] == "dpo"


def test_preference_file_errors_name_line_and_field(tmp_path):
    p = tmp_path / "p.jsonl"
    good = pref_rows(1)[0]
    p.write_text(json.dumps(good) + "\n" + json.dumps({**good, "rejected": good["chosen"]}) + "\n")
    with pytest.raises(AdviseError, match="identical") as e:
        load_preferences(p)
    assert (e.value.line, e.value.field) == (2, "chosen")
    p.write_text(json.dumps({"prompt": "hi", "chosen": 3, "rejected": "no"}) + "\n")
    with pytest.raises(AdviseError) as e:
        load_preferences(p)
    assert e.value.field == "chosen" and "preferences.jsonl" in e.value.hint


def test_advise_dataset_writes_scrubbed_preferences_from_labelled_corrections(tmp_path):
    out = tmp_path / "data"
    assert main(["dataset", "build", str(ROOT / "examples" / "support"), "-o", str(out), "--labels",
                 str(ROOT / "examples" / "support" / "labels.jsonl.gz"), "-q"]) == 0
    rows = [json.loads(x) for x in (out / "preferences.jsonl").read_text().splitlines()]
    import gzip

    labels = [json.loads(x) for x in gzip.open(ROOT / "examples" / "support" / "labels.jsonl.gz", "rt")]
    corrections = {lab["expected"] for lab in labels if not lab["ok"] and lab.get("expected")}
    assert 0 < len(rows) <= len(corrections) + sum(1 for lab in labels if not lab["ok"])
    for r in rows:
        assert r["prompt"][-1]["role"] == "user" and r["chosen"][0]["role"] == "assistant"
        assert r["chosen"][0]["content"] != r["rejected"][0]["content"]
    assert sum(r["chosen"][0]["content"] in corrections for r in rows) >= 0.9 * len(rows)
    manifest = json.loads((out / "dataset.json").read_text())
    assert manifest["files"]["preferences.jsonl"]["examples"] == len(rows)
    assert load_preferences(out / "preferences.jsonl")  # the trainer reads what the builder writes
    # the builder scrubs preferences with its own scrubber: no raw e-mail address or phone number survives
    from trainer.dataset.scrub import Scrubber

    text = (out / "preferences.jsonl").read_text()
    assert Scrubber().text(text) == text


@pytest.mark.slow
def test_cli_train_method_dpo_end_to_end_on_embedded_model(tmp_path):
    data = tmp_path / "data"
    assert main(["dataset", "build", str(ROOT / "examples" / "support"), "-o", str(data), "--labels",
                 str(ROOT / "examples" / "support" / "labels.jsonl.gz"), "-q"]) == 0
    small = tmp_path / "pairs.jsonl"
    small.write_text("".join((data / "preferences.jsonl").read_text().splitlines(keepends=True)[:8]))
    assert main(["train", "--method", "dpo", "--data", str(small), "-o", str(tmp_path / "run"), "--max-steps",
                 "4", "--batch-size", "2", "--lr", "5e-4", "-q"]) == 0
    run = json.loads((tmp_path / "run" / "run.json").read_text())
    assert run["method"] == "dpo" and run["steps"] == 4 and run["base"]["kind"] == "embedded"
    rows = [json.loads(x) for x in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert rows[-1]["step"] == 4 and rows[-1]["reward_margin"] > 0  # 0 at step 1: LoRA B starts at zero
    assert (tmp_path / "run" / "adapter" / "adapter_model.safetensors").is_file()


def test_preference_pairs_never_hold_a_test_request(tmp_path):
    """A labelled correction of a failed request that went to the test split is that example's reference:
    DPO on it would grade the candidate on answers it was shown, so its pair is held back and counted."""
    out = tmp_path / "data"
    assert main(["dataset", "build", str(ROOT / "examples" / "support"), "-o", str(out), "--labels",
                 str(ROOT / "examples" / "support" / "labels.jsonl.gz"), "--test", "0.3", "-q"]) == 0
    test_prompts = set()
    for line in (out / "test.jsonl").read_text().splitlines():
        ex = json.loads(line)
        test_prompts.add(json.dumps(ex["messages"][:-1], sort_keys=True))
    pairs = [json.loads(x) for x in (out / "preferences.jsonl").read_text().splitlines()]
    assert pairs and not [p for p in pairs if json.dumps(p["prompt"], sort_keys=True) in test_prompts]
    manifest = json.loads((out / "dataset.json").read_text())
    held = {f["name"]: f["removed"] for f in manifest["filters"]}.get("preference_in_test", 0)
    failed_in_test = sum(1 for line in (out / "test.jsonl").read_text().splitlines()
                         if not json.loads(line)["metadata"]["incumbent"]["ok"]
                         and json.loads(line)["metadata"]["incumbent"]["reason"] == "label_not_ok")
    assert held >= failed_in_test > 0
