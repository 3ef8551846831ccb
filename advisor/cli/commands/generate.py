"""`advise generate`: try a trained adapter on a prompt or a file of prompts (greedy, deterministic)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from advisor.kernel.errors import AdviseError


@click.command("generate")
@click.argument("prompt", required=False)
@click.option("--run", "run_dir", required=True, type=click.Path(path_type=Path, file_okay=False),
              help="Run directory written by `advise train`.")
@click.option("--file", "prompt_file", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="One prompt per line (or a chat JSONL: its messages up to the last user turn are used).")
@click.option("--system", default=None, help="System message to send with each prompt.")
@click.option("--max-new-tokens", type=click.IntRange(min=1), default=256, show_default=True)
@click.option("--base-only", is_flag=True, help="Answer with the base model (no adapter), to compare.")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda", "mps"]), default="auto")
@click.option("--json", "json_out", is_flag=True, help="One JSON object per prompt on stdout.")
@click.option("-q", "--quiet", is_flag=True,
              help="Only the answers: no model-loading progress and no library warnings on stderr.")
def generate(prompt: str | None, run_dir: Path, prompt_file: Path | None, system: str | None,
             max_new_tokens: int, base_only: bool, device: str, json_out: bool, quiet: bool) -> None:
    """Generate with RUN's adapter.

    \b
    Examples:
      advise generate --run runs/first "Describe: blue cotton t-shirt, size M"
      advise generate --run runs/first --file prompts.txt --json
    """
    from advisor.kernel.errors import require_train_extra

    require_train_extra()
    from trainer.training.quiet import quiet_ml_libraries

    quiet_ml_libraries(silent=quiet or json_out)
    from trainer.evaluation.generate import build_messages, generate_batch, load_adapter

    if (prompt is None) == (prompt_file is None):
        raise AdviseError("give a PROMPT or --file (exactly one)", hint='advise generate --run RUN "your prompt"')
    conversations = [build_messages(prompt, system)] if prompt is not None else _read_prompts(prompt_file, system)
    if base_only:
        from trainer.evaluation.generate import base_spec_from_run
        from trainer.training.models import load_base
        from trainer.training.train import read_run

        model, tok, _ = load_base(base_spec_from_run(read_run(run_dir).base), device=device)
    else:
        model, tok, _ = load_adapter(run_dir, device=device)
    outputs = generate_batch(model, tok, conversations, max_new_tokens=max_new_tokens)
    for conv, text in zip(conversations, outputs, strict=True):
        if json_out:
            click.echo(json.dumps({"prompt": conv[-1]["content"], "output": text}, ensure_ascii=False))
        else:
            click.echo(text)


def _read_prompts(path: Path, system: str | None) -> list[list[dict]]:
    if not path.is_file():
        raise AdviseError(f"prompt file not found: {path}", hint="one prompt per line")
    convs: list[list[dict]] = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        if line.lstrip().startswith("{"):
            from trainer.training.batches import normalise_row

            try:
                row = normalise_row(json.loads(line), str(path), n)
            except json.JSONDecodeError as exc:
                raise AdviseError(f"invalid JSON: {exc.msg}", file=str(path), line=n) from exc
            msgs = row["messages"]
            last_user = max(i for i, m in enumerate(msgs) if m["role"] == "user") if any(
                m["role"] == "user" for m in msgs) else len(msgs)
            convs.append(msgs[: last_user + 1])
        else:
            from trainer.evaluation.generate import build_messages

            convs.append(build_messages(line, system))
    if not convs:
        raise AdviseError("no prompts in file", file=str(path))
    return convs
