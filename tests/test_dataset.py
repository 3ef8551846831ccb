"""`advise dataset` build: prefix stripping, filtering, dedupe, splits, round trip, CLI."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from advisor.cli import main
from advisor.kernel.record import Feedback, FinishReason, Message, Record, SourceRef
from trainer.dataset import DatasetOptions, build_dataset
from trainer.dataset.validate import validate_file

T0 = datetime(2025, 3, 1, tzinfo=UTC)
STYLE_GUIDE = ("You write product descriptions for Northwind, a Scandinavian home goods brand. "
               "Follow this guide exactly.\n\nVOICE\n- Calm, warm and precise.\n- British spelling.\n\n"
               "BANNED\n- No exclamation marks.\n- Never use: amazing, stunning, perfect.\n\n"
               "TEMPLATE\nLine 1: name — tagline.\nLines 2-4: three bullets.\nLine 5: Made to last by Northwind.")
FEW_SHOT = ("Example input: Juniper Linen Throw Pillow, home, linen, sand.\nExample output: Juniper Linen Throw "
            "Pillow — calm comfort for slow mornings.\n• Hidden zip.\nMade to last by Northwind.")
WORDS = [f"{a}{b}" for a in ("oak", "ash", "elm", "fir", "yew", "bay", "fig", "lime", "pine", "teak")
         for b in ("stool", "lamp", "rug", "mug", "bowl", "vase", "tray", "shelf", "chair", "desk", "crate",
                   "basket", "clock", "mirror", "frame")]


def rec(i: int, user: str, output: str = "A calm description.\nMade to last by Northwind.", *,
        model: str = "gpt-4o", system: str | None = STYLE_GUIDE, finish: str = "stop", status: str = "ok",
        refusal: str | None = None, feedback: list[Feedback] | None = None, tools=None, tool_calls=None) -> Record:
    return Record(id=f"r{i}", source_format="test", source=SourceRef(file="logs.jsonl", line=i + 1),
                  timestamp=T0 + timedelta(minutes=i), model=model, system=system,
                  messages=[Message(role="user", content=user)], output=output, finish_reason=FinishReason(finish),
                  status=status, refusal=refusal, feedback=feedback or [], tools=tools, output_tool_calls=tool_calls)


def product(i: int, rng: random.Random) -> str:
    words = " ".join(rng.choice(WORDS) for _ in range(12))
    return f"Product {i}: {words} priced at {rng.randrange(10, 200)} euros"


def build(records, tmp_path: Path, name: str = "out", **kw) -> tuple[DatasetOptions, dict]:
    opts = DatasetOptions(output_dir=tmp_path / name, **kw)
    manifest = build_dataset(records, opts)
    return opts, json.loads(manifest.model_dump_json())


def rows(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]


def all_rows(out: Path) -> dict[str, list[dict]]:
    return {s: rows(out / f"{s}.jsonl") for s in ("train", "val", "test")}


def user_text(row: dict) -> str:
    return next(m["content"] for m in row["messages"] if m["role"] == "user")


# ---------------------------------------------------------------- prefix stripping

def test_static_system_prompt_and_few_shot_block_are_stripped_test_keeps_full_prompt(tmp_path):
    rng = random.Random(1)
    records = [rec(i, f"{FEW_SHOT}\n\n{product(i, rng)}") for i in range(60)]
    _, m = build(records, tmp_path)
    out = tmp_path / "out"
    data = all_rows(out)
    short = "You write product descriptions for Northwind, a Scandinavian home goods brand."
    for split, lines in data.items():
        for row in lines:
            assert row["messages"][0] == {"role": "system", "content": short}
            assert "Example output" not in user_text(row) and user_text(row).startswith("Product ")
            assert ("original_messages" in row) == (split == "test")
    for row in data["test"]:
        assert row["original_messages"][0]["content"] == STYLE_GUIDE
        assert row["original_messages"][1]["content"].startswith(FEW_SHOT)
        assert row["original_messages"][-1] == row["messages"][-1]  # same target
        assert row["metadata"]["id"].startswith("r") and row["metadata"]["family"].startswith("gpt-4o#")
    fam = m["families"][0]
    assert fam["stripped_examples"] == 60 and fam["user_prefix_chars"] == len(FEW_SHOT) + 2
    assert fam["static_prefix_tokens"] > 80 and len(fam["static_prefix_sha256"]) == 64
    assert m["tokens"]["test_full_prompt"]["mean"] > m["tokens"]["per_example"]["mean"] + 80


def test_few_shot_block_pasted_after_the_question_is_removed(tmp_path):
    rng = random.Random(13)
    _, m = build([rec(i, f"{product(i, rng)}\n\n{FEW_SHOT}") for i in range(30)], tmp_path)
    for lines in all_rows(tmp_path / "out").values():
        for row in lines:
            assert user_text(row).startswith("Product ") and "Example output" not in user_text(row)
    assert m["families"][0]["static_blocks"] == 1 and m["families"][0]["user_prefix_chars"] == 0


def test_given_short_prompt_and_variable_system_tail(tmp_path):
    rng = random.Random(2)
    records = [rec(i, product(i, rng), system=f"{STYLE_GUIDE}\n\nCustomer tier: {['gold', 'silver'][i % 2]} {i}")
               for i in range(20)]
    _, m = build(records, tmp_path, short_prompt="Write Northwind copy.")
    for row in rows(tmp_path / "out" / "train.jsonl"):
        sys_text = row["messages"][0]["content"]
        assert sys_text.startswith("Write Northwind copy.\n\nCustomer tier: ")  # variable tail kept
        assert "BANNED" not in sys_text
    assert m["provenance"]["short_prompt"] == "Write Northwind copy."


def test_singleton_family_without_shared_prefix_is_left_alone(tmp_path):
    _, m = build([rec(0, "Hello there, how are you today?", system="Be brief.")], tmp_path, val=0, test=0)
    row = rows(tmp_path / "out" / "train.jsonl")[0]
    assert row["messages"][0] == {"role": "system", "content": "Be brief."}
    assert m["families"][0]["stripped_examples"] == 0


# ---------------------------------------------------------------- filtering

def test_filters_drop_errors_truncations_refusals_failed_checks_and_labels_win(tmp_path):
    rng = random.Random(3)
    good = [rec(i, product(i, rng)) for i in range(20)]
    bad = [
        rec(100, product(100, rng), status="error", output=None, finish="error"),
        rec(101, product(101, rng), finish="length"),
        rec(102, product(102, rng), output="I'm sorry, but I can't help with that.\nMade to last by Northwind."),
        rec(103, product(103, rng), output="", refusal="I cannot do that."),
        rec(104, product(104, rng), finish="content_filter"),
        rec(105, product(105, rng), output="A description without the sign-off."),  # fails the check
        rec(106, product(106, rng), feedback=[Feedback(source="log:thumbs", ok=False, category="style")]),
    ]
    rescued = rec(107, product(107, rng), output="No sign-off but a human approved it.")
    labelled_bad = rec(108, product(108, rng))
    labels = tmp_path / "labels.jsonl"
    labels.write_text('{"id": "r107", "ok": true}\n{"id": "r108", "ok": false, "category": "factual"}\n')
    checks = {"checks": [{"name": "signoff", "category": "format", "must_match": r"(?m)^Made to last by Northwind\.$"}]}
    _, m = build([*good, *bad, rescued, labelled_bad], tmp_path, labels=labels, failures_config=checks, val=0, test=0)
    removed = {f["name"]: f["removed"] for f in m["filters"]}
    assert removed["error"] == 1 and removed["truncated"] == 1 and removed["content_filter"] == 1
    assert removed["refusal"] == 2 and removed["failed_check"] == 1 and removed["label_not_ok"] == 2
    kept_users = {user_text(r) for r in rows(tmp_path / "out" / "train.jsonl")}
    assert len(kept_users) == 21 and any(u.startswith("Product 107:") for u in kept_users)
    assert m["counts"]["records_read"] == 29 and m["counts"]["kept_after_filters"] == 21


def test_min_quality_labelled_keeps_only_labelled_ok(tmp_path):
    rng = random.Random(4)
    records = [rec(i, product(i, rng), feedback=[Feedback(source="labels", ok=True)] if i < 5 else None)
               for i in range(15)]
    _, m = build(records, tmp_path, min_quality="labelled", val=0, test=0)
    assert m["counts"]["written"] == 5
    assert {f["name"]: f["removed"] for f in m["filters"]}["below_min_quality"] == 10


def test_distillation_keeps_teacher_outputs_only(tmp_path):
    rng = random.Random(5)
    records = [rec(i, product(i, rng), model="gpt-4o" if i % 2 else "gpt-4o-mini", output=f"out {i} teacher"
                   if i % 2 else f"out {i} student") for i in range(30)]
    _, m = build(records, tmp_path, teacher_model="gpt-4o", val=0, test=0)
    targets = [r["messages"][-1]["content"] for r in rows(tmp_path / "out" / "train.jsonl")]
    assert len(targets) == 15 and all(t.endswith("teacher") for t in targets)
    assert {f["name"]: f["removed"] for f in m["filters"]}["not_teacher_model"] == 15
    assert m["provenance"]["teacher_model"] == "gpt-4o"


# ---------------------------------------------------------------- dedupe and splits

def _paraphrase(text: str, rng: random.Random) -> str:
    words = text.split()
    j = rng.randrange(2, len(words))
    kind = rng.randrange(3)
    if kind == 0:
        words[j] = rng.choice(WORDS)  # one word swapped
    elif kind == 1:
        words.insert(j, "really")  # one word inserted
    else:
        words[j] = words[j].upper()  # case and punctuation only
        words[-1] += "!"
    return " ".join(words)


def test_planted_paraphrases_never_straddle_splits_and_exact_dupes_are_removed(tmp_path):
    rng = random.Random(6)
    base = [" ".join(rng.choice(WORDS) for _ in range(25)) for _ in range(300)]
    records, families = [], {}
    for i, text in enumerate(base):
        records.append(rec(i, text))
    planted = []
    for k, i in enumerate(rng.sample(range(300), 60)):
        para = _paraphrase(base[i], rng)
        records.append(rec(1000 + k, para))
        planted.append((base[i], para))
    for k in range(10):  # exact duplicates (same normalised input)
        records.append(rec(2000 + k, base[k].upper() + " ."))
    rng.shuffle(records)
    _, m = build(records, tmp_path, val=0.15, test=0.15)
    split_of = {}
    for split, lines in all_rows(tmp_path / "out").items():
        for row in lines:
            split_of[user_text(row)] = split
    assert m["dedupe"]["exact_duplicates_removed"] >= 10
    straddling = [(a, b) for a, b in planted if a in split_of and b in split_of and split_of[a] != split_of[b]]
    assert not straddling
    found = [(a, b) for a, b in planted if a in split_of and b in split_of]
    assert len(found) >= 40  # case-only paraphrases are exact duplicates: removed, not grouped
    assert m["dedupe"]["near_duplicate_groups"] >= 30
    assert m["counts"]["test"] > 40 and m["counts"]["val"] > 40
    del families


def test_drop_near_duplicates_keeps_one_per_group(tmp_path):
    rng = random.Random(7)
    base = [" ".join(rng.choice(WORDS) for _ in range(25)) for _ in range(30)]
    records = [rec(i, t) for i, t in enumerate(base)]
    records += [rec(100 + i, t.replace(t.split()[5], "oakstool", 1) + " indeed") for i, t in enumerate(base[:10])]
    _, m = build(records, tmp_path, drop_near_duplicates=True, val=0, test=0)
    assert m["counts"]["written"] == 30
    assert m["dedupe"]["near_duplicates_removed"] == 10


def test_splits_are_deterministic_by_seed_and_stratified_by_family(tmp_path):
    rng = random.Random(8)
    records = [rec(i, product(i, rng), system=STYLE_GUIDE if i % 4 else "You are a terse support bot for Northwind.")
               for i in range(400)]
    build(records, tmp_path, "a", seed=11)
    build(records, tmp_path, "b", seed=11)
    _, m = build(records, tmp_path, "c", seed=12)
    for name in ("train.jsonl", "val.jsonl", "test.jsonl"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    assert (tmp_path / "a" / "test.jsonl").read_bytes() != (tmp_path / "c" / "test.jsonl").read_bytes()
    assert m["counts"] == {**m["counts"], "train": 320, "val": 40, "test": 40}
    for counts in m["strata"].values():  # each family gets its share of every split
        n = sum(counts.values())
        assert abs(counts["test"] - n * 0.1) <= 1 and abs(counts["val"] - n * 0.1) <= 1


def test_max_examples_caps_output(tmp_path):
    rng = random.Random(9)
    _, m = build([rec(i, product(i, rng)) for i in range(100)], tmp_path, max_examples=40)
    assert m["counts"]["written"] == 40
    assert {f["name"]: f["removed"] for f in m["filters"]}["max_examples"] == 60


# ---------------------------------------------------------------- round trip and formats

def test_round_trip_strict_validator_and_trainer_loader_with_tools(tmp_path):
    rng = random.Random(10)
    tools = [{"type": "function", "function": {"name": "get_stock", "description": "Stock level",
                                               "parameters": {"type": "object",
                                                              "properties": {"sku": {"type": "string"}}}}}]
    records = [rec(i, product(i, rng)) for i in range(30)]
    records += [rec(100 + i, f"Is {rng.choice(WORDS)} number {i} in stock?", output="", tools=tools, finish="tool_calls",
                    tool_calls=[{"id": f"call_{i}", "type": "function",
                                 "function": {"name": "get_stock", "arguments": {"sku": f"NW-{i}"}}}])
                for i in range(10)]
    build(records, tmp_path)
    out = tmp_path / "out"
    for name in ("train.jsonl", "val.jsonl", "test.jsonl"):
        report = validate_file(out / name)
        assert report.ok, report.problems[:3]
        assert report.valid_examples == report.examples > 0
    train = rows(out / "train.jsonl")
    with_tools = [r for r in train if "tools" in r]
    assert with_tools and json.loads(with_tools[0]["messages"][-1]["tool_calls"][0]["function"]["arguments"])
    assert all(set(r) <= {"messages", "tools"} for r in train)
    from trainer.training.batches import load_chat_jsonl

    loaded = load_chat_jsonl(out / "train.jsonl")
    assert len(loaded) == len(train)


def test_dataset_json_records_hashes_counts_and_provenance(tmp_path):
    from advisor.kernel.io import sha256_file

    rng = random.Random(11)
    _, m = build([rec(i, product(i, rng)) for i in range(50)], tmp_path, seed=3)
    out = tmp_path / "out"
    for name, info in m["files"].items():
        assert info["sha256"] == sha256_file(out / name)
        assert info["examples"] == len(rows(out / name))
    assert m["schema_version"] == 1 and m["provenance"]["seed"] == 3
    assert set(m["tokens"]["per_role"]) >= {"system", "user", "assistant"}
    assert m["dedupe"]["settings"]["library"] == "datasketch"
    assert sorted(p.name for p in out.iterdir()) == ["dataset.json", "test.jsonl", "train.jsonl", "val.jsonl"]


# ---------------------------------------------------------------- CLI

def _log_lines(n: int) -> str:
    rng = random.Random(12)
    lines = []
    for i in range(n):
        lines.append(json.dumps({
            "request": {"model": "gpt-4o", "messages": [{"role": "system", "content": STYLE_GUIDE},
                                                        {"role": "user", "content": product(i, rng)}]},
            "response": {"id": f"chatcmpl-{i}", "object": "chat.completion", "created": 1740969129 + i,
                         "model": "gpt-4o", "choices": [{"index": 0, "finish_reason": "stop", "message": {
                             "role": "assistant", "content": f"Item {i}.\nMade to last by Northwind."}}],
                         "usage": {"prompt_tokens": 200, "completion_tokens": 20, "total_tokens": 220}}}))
    return "\n".join(lines) + "\n"


def test_cli_builds_refuses_overwrite_and_validates(tmp_path, capsys):
    logs = tmp_path / "calls.jsonl"
    logs.write_text(_log_lines(40))
    out = tmp_path / "data"
    assert main(["dataset", str(logs), "-o", str(out), "-q", "--seed", "5"]) == 0
    manifest = json.loads((out / "dataset.json").read_text())
    assert manifest["counts"]["written"] == 40 and manifest["inputs"][0]["path"] == str(logs)
    assert main(["dataset", str(logs), "-o", str(out), "-q"]) == 1
    assert "--force" in capsys.readouterr().err
    assert main(["dataset", "build", str(logs), "-o", str(out), "-q", "--force", "--seed", "5"]) == 0
    assert json.loads((out / "dataset.json").read_text())["files"] == manifest["files"]
    assert main(["dataset", "validate", str(out / "train.jsonl")]) == 0
    assert "Recommended examples" in capsys.readouterr().out


def test_cli_rejects_bad_fractions(tmp_path, capsys):
    logs = tmp_path / "calls.jsonl"
    logs.write_text(_log_lines(5))
    assert main(["dataset", str(logs), "-o", str(tmp_path / "d"), "--val", "0.5", "--test", "0.5", "-q"]) == 1
    assert "nothing to train on" in capsys.readouterr().err


def test_analysis_hints_are_read_through_the_typed_contract(tmp_path):
    from advisor.analysis import analysis_json, build_analysis

    rng = random.Random(14)
    records = [rec(i, product(i, rng)) for i in range(20)]
    a = build_analysis([], records=records, allow_unpriced=True)
    a.prompt_families[0].static_prefix_tokens = 123  # a value only the file carries
    analysis = tmp_path / "analysis.json"
    analysis.write_text(analysis_json(a))
    _, m = build(records, tmp_path, analysis=analysis, val=0, test=0.5)
    assert m["families"][0]["analysis_static_prefix_tokens"] == 123
    (tmp_path / "bad.json").write_text("{nope")
    with pytest.raises(Exception, match="not a readable JSON file"):
        build(records, tmp_path, "o2", analysis=tmp_path / "bad.json")
    (tmp_path / "other.json").write_text(json.dumps({"prompt_families": []}))  # not an analysis.json
    with pytest.raises(Exception, match="no schema_version"):
        build(records, tmp_path, "o3", analysis=tmp_path / "other.json")


def test_test_split_samples_all_answered_requests_failed_ones_included(tmp_path):
    """Failed answers go to test only (never train/val), at about their share of the logs, with references."""
    rng = random.Random(5)
    records, bad_ids = [], set()
    for i in range(400):
        if i % 4 == 0:  # 25% failed: no sign-off
            records.append(rec(i, product(i, rng), output=f"Description {i} without the sign-off."))
            bad_ids.add(f"r{i}")
        else:
            records.append(rec(i, product(i, rng)))
    records.append(rec(999, product(999, rng), status="error", output=None, finish="error"))
    labels = tmp_path / "labels.jsonl"
    labels.write_text('{"id": "r0", "ok": false, "category": "format", "expected": "The right text."}\n'
                      '{"id": "r1", "ok": true}\n')
    checks = {"checks": [{"name": "signoff", "category": "format", "must_match": r"(?m)^Made to last by Northwind\.$"}]}
    _, m = build(records, tmp_path, labels=labels, failures_config=checks, val=0.1, test=0.25)
    split = all_rows(tmp_path / "out")
    for name in ("train", "val"):
        assert not any("without the sign-off" in r["messages"][-1]["content"] for r in split[name])
    test = split["test"]
    failed = [r for r in test if not r["metadata"]["incumbent"]["ok"]]
    assert all(r["metadata"]["id"] in bad_ids for r in failed)
    assert all(r["metadata"]["id"] != "r999" for r in test)  # provider errors have no answer to judge
    # ~100 test rows drawn from 400 answered requests, 25% of them failed: the share is near 25%
    assert 85 <= len(test) <= 115 and 0.15 <= len(failed) / len(test) <= 0.35
    assert m["provenance"]["test_incumbent_failed"] == len(failed)
    refs = {r["metadata"]["id"]: r["metadata"]["incumbent"] for r in test}
    if "r0" in refs:
        assert refs["r0"]["reference"] == "The right text." and refs["r0"]["reference_source"] == "label.expected"
    if "r1" in refs:
        assert refs["r1"]["reference_source"] == "label.ok"
    unlabelled = [v for k, v in refs.items() if k not in ("r0", "r1")]
    assert all(v["reference"] is None for v in unlabelled)
