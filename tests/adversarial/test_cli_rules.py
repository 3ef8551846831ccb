"""One rule for exit codes (usage errors 2, input errors 1), report extensions, -q, and the fine-tune hint."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from advisor.cli import main

ROOT = Path(__file__).resolve().parents[2]


# ---------------------------------------------------------------- usage errors exit 2

@pytest.mark.parametrize("cmd", [["analyze", "{log}", "-q", "--json", "-"],
                                 ["dataset", "{log}", "-o", "{tmp}/d", "-q"],
                                 ["run", "{log}", "-o", "{tmp}/r", "-q"]])
def test_unknown_format_is_a_usage_error(tmp_path, log_file, capsys, cmd):
    args = [a.format(log=log_file, tmp=tmp_path) for a in cmd] + ["--format", "nope"]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "nope" in err and "openai_chat" in err  # names the known formats
    assert main(["analyze", str(log_file), "-q", "-j", "0"]) == 2  # the same class of mistake, the same code


@pytest.mark.parametrize("opt", ["--since", "--until"])
def test_unreadable_date_is_a_usage_error(log_file, capsys, opt):
    assert main(["analyze", str(log_file), "-q", "--json", "-", opt, "last tuesday"]) == 2
    assert opt in capsys.readouterr().err


def test_known_format_still_works(log_file, capsys):
    assert main(["analyze", str(log_file), "-q", "--json", "-", "--format", "openai_chat"]) == 0


@pytest.mark.parametrize("name", ["report.pdf", "report", "report.txt"])
def test_report_refuses_unknown_extension(tmp_path, log_file, capsys, name):
    a = tmp_path / "analysis.json"
    assert main(["analyze", str(log_file), "-q", "-o", str(a)]) == 0
    assert main(["report", str(a), "-o", str(tmp_path / name)]) == 2
    assert ".html" in capsys.readouterr().err
    assert not (tmp_path / name).exists()
    assert main(["report", str(a), "-o", str(tmp_path / "r.markdown")]) == 0
    assert (tmp_path / "r.markdown").read_text().startswith("# ")  # .markdown is Markdown, not HTML


def test_report_quiet_writes_without_a_word(tmp_path, log_file, capsys):
    a = tmp_path / "analysis.json"
    assert main(["analyze", str(log_file), "-q", "-o", str(a)]) == 0
    assert main(["report", str(a), "-o", str(tmp_path / "r.html")]) == 0
    assert "Wrote" in capsys.readouterr().err
    assert main(["report", str(a), "-o", str(tmp_path / "q.html"), "-q"]) == 0  # -q, as every command that writes
    assert capsys.readouterr().err == "" and (tmp_path / "q.html").stat().st_size > 0


def _commands_with_a_required_argument() -> list[str]:
    import click

    from advisor.cli import cli

    ctx = click.Context(cli)
    commands = {name: cli.get_command(ctx, name) for name in cli.list_commands(ctx)}  # subcommands load lazily
    return [name for name, cmd in commands.items()
            if cmd is not None and any(isinstance(p, click.Argument) and p.required for p in cmd.params)]


@pytest.mark.parametrize("name", _commands_with_a_required_argument())
def test_no_file_named_at_all_is_a_usage_error(name, capsys):
    """Forgetting the argument is a usage mistake (2), unlike naming a file that is not there (1): click reports
    a missing argument as a BadParameter too, of a Path type for most commands."""
    assert main([name]) == 2
    assert "Missing argument" in capsys.readouterr().err


# ---------------------------------------------------------------- input errors exit 1, named or found

def test_unreadable_file_named_or_inside_a_directory_same_code(tmp_path, log_file, monkeypatch, capsys):
    """Simulated (root reads anything): the file is unreadable to both click's check and the reader."""
    import advisor.ingest.reader as reader

    real_access, real_open = os.access, reader.open_binary
    target = str(log_file)

    def access(path, mode, *a, **k):
        return False if str(path) == target and mode & os.R_OK else real_access(path, mode, *a, **k)

    def open_binary(path):
        if str(path) == target:
            raise PermissionError(13, "Permission denied", target)
        return real_open(path)

    monkeypatch.setattr(os, "access", access)
    monkeypatch.setattr(reader, "open_binary", open_binary)
    named = main(["analyze", str(log_file), "-q", "--json", "-"])
    err_named = capsys.readouterr().err
    in_dir = main(["analyze", str(log_file.parent), "-q", "--json", "-"])
    err_dir = capsys.readouterr().err
    assert (named, in_dir) == (1, 1), (err_named, err_dir)
    assert str(log_file) in err_named and str(log_file) in err_dir


def test_missing_file_is_an_input_error_for_every_command(tmp_path, capsys):
    missing = str(tmp_path / "nope.jsonl")
    assert main(["analyze", missing, "-q"]) == 1
    assert main(["run", missing, "-o", str(tmp_path / "r"), "-q"]) == 1
    assert main(["report", str(tmp_path / "nope.json")]) == 1


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_unreadable_file_for_real(tmp_path, log_file):
    log_file.chmod(0)
    try:
        assert main(["analyze", str(log_file), "-q", "--json", "-"]) == 1
        assert main(["analyze", str(log_file.parent), "-q", "--json", "-"]) == 1
    finally:
        log_file.chmod(0o644)


# ---------------------------------------------------------------- -q silences the model libraries

class _Stop(Exception):
    pass


@pytest.mark.parametrize("cmd", [
    ["train", "--data", "{data}", "-o", "{tmp}/run", "-q"],
    ["generate", "--run", "{tmp}", "-q", "hello"],
    ["evaluate", "--run", "{tmp}", "--test", "{data}", "-q"],
    ["run", "{log}", "-o", "{tmp}/out", "-q"],
])
def test_quiet_flag_silences_ml_libraries(tmp_path, log_file, monkeypatch, cmd):
    import trainer.training.quiet as progress

    calls = []

    def record(silent=False):
        calls.append(silent)
        raise _Stop

    monkeypatch.setattr(progress, "quiet_ml_libraries", record)
    data = tmp_path / "train.jsonl"
    data.write_text('{"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}]}\n')
    with pytest.raises(_Stop):
        main([a.format(tmp=tmp_path, data=data, log=log_file) for a in cmd])
    assert calls == [True]


@pytest.mark.slow  # imports torch + transformers in a fresh process: ~20 s on a shared 2-core machine
def test_silent_mode_leaves_stderr_empty_while_loading_a_model(tmp_path):
    """A real model load (a tiny Llama saved here) with a deprecated argument, a tqdm bar and library
    warnings: after quiet_ml_libraries(silent=True) nothing reaches stderr."""
    code = r"""
import sys, warnings, logging
from trainer.training.quiet import quiet_ml_libraries
quiet_ml_libraries(silent=True)
from transformers import AutoModelForCausalLM, LlamaConfig, LlamaForCausalLM
cfg = LlamaConfig(vocab_size=64, hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                  num_attention_heads=2, num_key_value_heads=1, max_position_embeddings=32)
LlamaForCausalLM(cfg).save_pretrained(sys.argv[1])
AutoModelForCausalLM.from_pretrained(sys.argv[1], torch_dtype="float32")
from tqdm.auto import tqdm
for _ in tqdm(range(3), desc="some library bar"):
    pass
logging.getLogger("peft").warning("peft warning")
logging.getLogger("datasets").warning("datasets warning")
warnings.warn("a library UserWarning")
"""
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    env.pop("TQDM_DISABLE", None)
    r = subprocess.run([sys.executable, "-c", code, str(tmp_path / "m")], capture_output=True, text=True,
                       env=env, timeout=300)
    assert r.returncode == 0, r.stderr
    assert r.stderr.strip() == "", r.stderr


# ---------------------------------------------------------------- the fine-tune hint's units

@pytest.mark.parametrize("setting", ["failure_cost = -1", "training_price_per_1m = -5", "training_cost = -1"])
def test_assumption_hint_has_no_raw_currency_placeholder(log_file, capsys, setting):
    (log_file.parent / "advise.toml").write_text(f"[assumptions]\n{setting}\n")
    assert main(["analyze", str(log_file.parent), "-q", "--json", "-"]) == 1
    err = capsys.readouterr().err
    assert "hint:" in err and "{cur}" not in err, err
    assert "currency" in err
