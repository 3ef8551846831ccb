"""Two `advise analyze … -o same.json` at once: the no-overwrite promise must hold when the file is published.

Both processes pass the start-up check (the file does not exist yet), then meet at a file barrier
placed after the analysis and before the write, so the publish race happens every time.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

DRIVER = r"""
import os, sys, time
from pathlib import Path
import advisor.analyze as pipeline
barrier = Path(sys.argv[1])
real = pipeline.analyze_logs

def analyze_then_wait(*a, **k):
    result = real(*a, **k)
    (barrier / str(os.getpid())).touch()
    deadline = time.monotonic() + 60
    while len(list(barrier.iterdir())) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    return result

pipeline.analyze_logs = analyze_then_wait
from advisor.cli import main
sys.exit(main(sys.argv[2:]))
"""


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def _race(tmp_path: Path, log_file: Path, *extra: str) -> tuple[list[subprocess.CompletedProcess], Path]:
    barrier = tmp_path / "barrier"
    barrier.mkdir()
    out = tmp_path / "same.json"
    procs = [subprocess.Popen([sys.executable, "-c", DRIVER, str(barrier), "analyze", str(log_file), "-q",
                               *extra, str(out)], env=_env(), cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for _ in range(2)]
    results = []
    for p in procs:
        stdout, stderr = p.communicate(timeout=120)
        results.append(subprocess.CompletedProcess(p.args, p.returncode, stdout, stderr))
    return results, out


def test_two_concurrent_writers_one_wins_one_is_told(tmp_path, log_file):
    results, out = _race(tmp_path, log_file, "-o")
    codes = sorted(r.returncode for r in results)
    assert codes == [0, 1], [r.stderr for r in results]
    loser = next(r for r in results if r.returncode == 1)
    assert "already exists" in loser.stderr or "appeared while" in loser.stderr
    assert "Traceback" not in loser.stderr
    assert json.loads(out.read_text())["schema_version"]  # the winner's file, complete
    assert sorted(p.name for p in tmp_path.iterdir()) == ["barrier", "logs", "same.json"]  # no temp debris


def test_two_concurrent_writers_with_force_both_succeed_file_whole(tmp_path, log_file):
    results, out = _race(tmp_path, log_file, "--force", "--json")
    assert [r.returncode for r in results] == [0, 0], [r.stderr for r in results]
    assert json.loads(out.read_text())["schema_version"]
    assert not (tmp_path / "analysis.json").exists()  # --json FILE writes that file only
