"""`advise dataset --force` over an existing dataset, killed with SIGKILL mid-way, must leave the previous
dataset whole (every file matching dataset.json's hashes) and no debris once the next run finishes."""

from __future__ import annotations

import hashlib
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from advisor.cli import main

ROOT = Path(__file__).resolve().parents[2]
WORDS = "oak teak pine walnut cedar lamp chair desk shelf table sofa rug bench stool drawer mirror".split()


def write_logs(path: Path, n: int, seed: int = 0) -> Path:
    rng = random.Random(seed)
    with open(path, "w") as fh:
        for i in range(n):
            item = " ".join(rng.choice(WORDS) for _ in range(12))
            fh.write(json.dumps({"request": {"model": "gpt-4o", "messages": [
                {"role": "system", "content": "You write product descriptions for Northwind. Be brief, warm, "
                                              "concrete; two sentences; no prices; British spelling."},
                {"role": "user", "content": f"Product {i}: {item}"}]},
                "response": {"id": f"chatcmpl-{i}", "object": "chat.completion", "created": 1740969129 + i,
                             "model": "gpt-4o", "choices": [{"index": 0, "finish_reason": "stop", "message": {
                                 "role": "assistant", "content": f"The {item} number {i}.\nBuilt by Northwind."}}],
                             "usage": {"prompt_tokens": 200, "completion_tokens": 20, "total_tokens": 220}}}) + "\n")
    return path


def assert_whole(out: Path) -> dict:
    """Every split file is the one dataset.json describes (a mix of old and new would not hash right)."""
    manifest = json.loads((out / "dataset.json").read_text())
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted([*manifest["files"], "dataset.json"]), names
    for name, info in manifest["files"].items():
        assert hashlib.sha256((out / name).read_bytes()).hexdigest() == info["sha256"], name
    return manifest


def _hidden(tmp_path: Path) -> list[str]:
    return sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob(".*"))


def test_kill_9_mid_build_leaves_old_dataset_whole_and_next_run_cleans(tmp_path):
    logs = write_logs(tmp_path / "calls.jsonl", 1500)
    out = tmp_path / "data"
    assert main(["dataset", str(logs), "-o", str(out), "-q", "--seed", "1"]) == 0
    old = assert_whole(out)

    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.Popen([sys.executable, "-m", "advisor.cli", "dataset", str(logs), "-o", str(out), "-q",
                             "--force", "--seed", "2"], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    # kill as soon as split files are being written (the moment a non-atomic publish would mix them)
    deadline = time.monotonic() + 120
    killed_writing = False
    while proc.poll() is None and time.monotonic() < deadline:
        if any("train.jsonl" in p.name for p in tmp_path.rglob(".*/**/*train.jsonl*")) or \
                any(p.name.startswith(".train.jsonl") for p in out.iterdir()):
            killed_writing = True
            break
        time.sleep(0.002)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert killed_writing, "the build finished before it could be killed; make the input bigger"

    assert assert_whole(out)["files"] == old["files"]  # the previous dataset, untouched and whole

    assert main(["dataset", str(logs), "-o", str(out), "-q", "--force", "--seed", "2"]) == 0
    new = assert_whole(out)
    assert new["files"] != old["files"]
    assert _hidden(tmp_path) == []  # the killed run's temp directory and files are gone


def test_force_keeps_the_users_other_files(tmp_path):
    logs = write_logs(tmp_path / "calls.jsonl", 30)
    out = tmp_path / "data"
    out.mkdir()
    (out / "NOTES.md").write_text("mine")
    (out / "sub").mkdir()
    (out / "sub" / "x.txt").write_text("also mine")
    assert main(["dataset", str(logs), "-o", str(out), "-q", "--force"]) == 0
    assert (out / "NOTES.md").read_text() == "mine" and (out / "sub" / "x.txt").read_text() == "also mine"
    assert (out / "dataset.json").is_file() and _hidden(tmp_path) == []


def _dead_pid() -> int:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def test_kill_between_the_two_renames_is_repaired(tmp_path):
    """Without an atomic exchange, a kill between `rename(old away)` and `rename(new in)` leaves no
    `data/`: the next run puts the previous directory back before building."""
    from advisor.kernel.io import clean_stale_dirs

    out = tmp_path / "data"
    pid = _dead_pid()
    old = tmp_path / f".data.advise-old-{pid}"
    old.mkdir()
    (old / "dataset.json").write_text("{}")
    new = tmp_path / f".data.advise-new-{pid}"
    new.mkdir()
    (new / "train.jsonl").write_text("half")
    clean_stale_dirs(out)
    assert (out / "dataset.json").read_text() == "{}"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data"]


def test_live_runs_stage_is_left_alone(tmp_path):
    from advisor.kernel.io import clean_stale_dirs

    out = tmp_path / "data"
    live = tmp_path / f".data.advise-new-{os.getppid()}"
    live.mkdir()
    clean_stale_dirs(out)
    assert live.is_dir()


def test_publish_is_exclusive_without_force(tmp_path):
    from advisor.kernel.io import publish_dir, staging_dir

    out = tmp_path / "data"
    stage = staging_dir(out)
    (stage / "dataset.json").write_text("{}")
    out.mkdir()
    (out / "dataset.json").write_text("other run")
    try:
        publish_dir(stage, out, overwrite=False)
    except Exception as exc:  # noqa: BLE001
        assert "appeared while" in str(exc)
    else:
        raise AssertionError("a dataset that appeared meanwhile was replaced without --force")
    assert (out / "dataset.json").read_text() == "other run"


def test_output_directory_that_holds_the_inputs_is_refused(tmp_path, capsys):
    logs = tmp_path / "logs"
    logs.mkdir()
    write_logs(logs / "calls.jsonl", 20)
    before = (logs / "calls.jsonl").read_bytes()
    for out in (logs, tmp_path):
        assert main(["dataset", str(logs / "calls.jsonl"), "-o", str(out), "-q", "--force"]) == 1
        assert "holds the input" in capsys.readouterr().err
    assert main(["dataset", str(logs), "-o", str(logs), "-q", "--force"]) == 1
    assert (logs / "calls.jsonl").read_bytes() == before and sorted(p.name for p in logs.iterdir()) == ["calls.jsonl"]


def test_publish_without_atomic_exchange_falls_back_to_two_renames(tmp_path, monkeypatch):
    import advisor.kernel.io as aio

    monkeypatch.setattr(aio, "_exchange", lambda a, b: False)
    out = tmp_path / "data"
    out.mkdir()
    (out / "dataset.json").write_text("old")
    stage = aio.staging_dir(out)
    (stage / "dataset.json").write_text("new")
    aio.publish_dir(stage, out, overwrite=True)
    assert (out / "dataset.json").read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data"]


def test_symlinked_output_directory_is_refused(tmp_path, capsys):
    logs = write_logs(tmp_path / "calls.jsonl", 10)
    real = tmp_path / "real"
    real.mkdir()
    (tmp_path / "link").symlink_to(real)
    assert main(["dataset", str(logs), "-o", str(tmp_path / "link"), "-q", "--force"]) == 1
    assert "symbolic link" in capsys.readouterr().err
    assert (tmp_path / "link").is_symlink() and list(real.iterdir()) == []


def test_temp_file_of_a_killed_writer_is_removed_by_the_next_write(tmp_path):
    from advisor.kernel.io import atomic_write_text

    dead = tmp_path / f".analysis.json.advise-{_dead_pid()}.x1y2.tmp"
    dead.write_text("half")
    live = tmp_path / f".analysis.json.advise-{os.getppid()}.a1b2.tmp"
    live.write_text("someone else's, still running")
    atomic_write_text(tmp_path / "analysis.json", "{}")
    assert sorted(p.name for p in tmp_path.iterdir()) == [live.name, "analysis.json"]
