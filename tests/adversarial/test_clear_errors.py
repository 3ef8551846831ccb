"""Bad environments and bad numbers end in one clear line (exit 1, file, hint), never a traceback;
nonsense option values are usage errors (exit 2)."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from advisor.cli import main

ROOT = Path(__file__).resolve().parents[2]


def _clean(err: str) -> None:
    assert "Traceback" not in err and "advise: error:" in err and "hint:" in err, err


# ---------------------------------------------------------------- writing

def test_read_only_output_directory(tmp_path, log_file, monkeypatch, capsys):
    """mkstemp in a directory we may not write: simulated, since root ignores permission bits."""
    out = tmp_path / "ro" / "analysis.json"
    out.parent.mkdir()

    def denied(*a, **k):
        raise PermissionError(errno.EACCES, "Permission denied", str(out.parent))

    monkeypatch.setattr(tempfile, "mkstemp", denied)
    assert main(["analyze", str(log_file), "-q", "-o", str(out)]) == 1
    err = capsys.readouterr().err
    _clean(err)
    assert str(out) in err and "Permission denied" in err


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only directories")
def test_read_only_output_directory_for_real(tmp_path, log_file, capsys):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        assert main(["analyze", str(log_file), "-q", "-o", str(ro / "a.json")]) == 1
        _clean(capsys.readouterr().err)
        assert main(["analyze", str(log_file), "-q", "-o", str(ro / "sub" / "a.json")]) == 1
        _clean(capsys.readouterr().err)
    finally:
        ro.chmod(0o755)


def test_read_only_output_directory_is_found_before_the_work(tmp_path, log_file, monkeypatch, capsys):
    import advisor.analyze as pipeline

    ro = tmp_path / "ro"
    ro.mkdir()
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, m, *a, **k: False if Path(p) == ro else real_access(p, m, *a, **k))
    monkeypatch.setattr(pipeline, "analyze_logs", lambda *a, **k: pytest.fail("analysed before checking the output"))
    assert main(["analyze", str(log_file), "-q", "-o", str(ro / "a.json")]) == 1
    err = capsys.readouterr().err
    _clean(err)
    assert "not writable" in err


def test_disk_full_while_writing(tmp_path, log_file, monkeypatch, capsys):
    import advisor.kernel.io as aio

    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(aio.os, "fsync", full)
    out = tmp_path / "analysis.json"
    assert main(["analyze", str(log_file), "-q", "-o", str(out)]) == 1
    err = capsys.readouterr().err
    _clean(err)
    assert str(out) in err and "disk is full" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["logs"]  # no partial file, no temp debris


def test_file_size_limit_in_a_real_process(tmp_path, log_file):
    """RLIMIT_FSIZE makes write() fail with EFBIG (Python ignores SIGXFSZ): a real, unsimulated write error."""
    code = ("import resource, sys; resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096)); "
            "from advisor.cli import main; sys.exit(main(sys.argv[1:]))")
    out = tmp_path / "analysis.json"
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    r = subprocess.run([sys.executable, "-c", code, "analyze", str(log_file), "-q", "-o", str(out)],
                       capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode == 1, r.stderr
    _clean(r.stderr)
    assert "file size limit" in r.stderr and str(out) in r.stderr
    assert not out.exists() and sorted(p.name for p in tmp_path.iterdir()) == ["logs"]


def test_unexpected_os_error_is_one_line(monkeypatch, log_file, capsys):
    import advisor.analyze as pipeline

    def broken(*a, **k):
        raise OSError(errno.EIO, "Input/output error", "/mnt/logs/x.jsonl")

    monkeypatch.setattr(pipeline, "analyze_logs", broken)
    assert main(["analyze", str(log_file), "-q", "--json", "-"]) == 1
    err = capsys.readouterr().err
    _clean(err)
    assert "/mnt/logs/x.jsonl" in err


# ---------------------------------------------------------------- reading

def test_non_utf8_file_name_inside_a_directory(tmp_path, log_file, capsys):
    bad = os.fsencode(log_file.parent) + b"/caf\xe9.jsonl"
    os.rename(log_file, bad)
    assert main(["analyze", str(log_file.parent), "-q", "--json", "-"]) == 1
    err = capsys.readouterr().err
    _clean(err)
    assert "caf\\xe9.jsonl" in err and "UTF-8" in err


def test_non_utf8_file_name_named(tmp_path, log_file, capsys):
    bad = os.fsencode(tmp_path) + b"/r\xe9sum\xe9.jsonl"
    os.rename(log_file, bad)
    assert main(["dataset", os.fsdecode(bad), "-o", str(tmp_path / "d"), "-q"]) == 1
    _clean(capsys.readouterr().err)
    assert not (tmp_path / "d").exists()


def test_non_utf8_config(tmp_path, log_file, capsys):
    (log_file.parent / "advise.toml").write_bytes(b"[traffic]\n# caf\xe9\nsample_rate = 1.0\n")
    assert main(["analyze", str(log_file.parent), "-q", "--json", "-"]) == 1
    err = capsys.readouterr().err
    _clean(err)
    assert "advise.toml:2" in err and "UTF-8" in err


@pytest.mark.parametrize("value", ["inf", "-inf", "nan"])
def test_non_finite_failure_cost_in_config(log_file, capsys, value):
    (log_file.parent / "advise.toml").write_text(f"[assumptions]\nfailure_cost = {value}\n")
    assert main(["analyze", str(log_file.parent), "-q", "--json", "-"]) == 1
    err = capsys.readouterr().err
    _clean(err)
    assert "assumptions.failure_cost" in err and "advise.toml" in err


@pytest.mark.parametrize(("name", "body"), [
    ("p.toml", 'date = "2026-01-01"\nsource = "contract"\n[models."gpt-4o"]\ninput = inf\noutput = 1.0\n'),
    ("p.toml", 'date = "2026-01-01"\nsource = "contract"\n[models."gpt-4o"]\ninput = 1.0\noutput = nan\n'),
    ("p.json", '{"date": "2026-01-01", "source": "c", "models": {"gpt-4o": {"input": Infinity, "output": 1}}}'),
])
def test_non_finite_price(tmp_path, log_file, capsys, name, body):
    prices = tmp_path / name
    prices.write_text(body)
    assert main(["analyze", str(log_file), "-q", "--json", "-", "--prices", str(prices)]) == 1
    err = capsys.readouterr().err
    _clean(err)
    assert str(prices) in err and 'models."gpt-4o"' in err


def test_non_utf8_price_file(tmp_path, log_file, capsys):
    prices = tmp_path / "p.toml"
    prices.write_bytes(b"\xff\xfe[models]\n")
    assert main(["analyze", str(log_file), "-q", "--json", "-", "--prices", str(prices)]) == 1
    _clean(capsys.readouterr().err)


# ---------------------------------------------------------------- usage errors (exit 2)

@pytest.mark.parametrize("args", [["--batch-size", "0"], ["--max-new-tokens", "0"], ["--limit", "0"],
                                  ["--limit", "-1"]])
def test_evaluate_refuses_nonsense_counts(tmp_path, capsys, args):
    run = tmp_path / "run"
    run.mkdir()
    test = tmp_path / "test.jsonl"
    test.write_text("{}\n")
    assert main(["evaluate", "--run", str(run), "--test", str(test), *args]) == 2
    assert args[0] in capsys.readouterr().err


@pytest.mark.parametrize("value", ["inf", "nan"])
def test_non_finite_what_if_flag_is_a_usage_error(log_file, capsys, value):
    assert main(["analyze", str(log_file), "-q", "--json", "-", "--failure-cost", value]) == 2
    err = capsys.readouterr().err
    assert "--failure-cost" in err and "finite" in err and "Traceback" not in err
