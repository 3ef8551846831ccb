"""`advise dataset`: build fine-tuning data from logs, or validate a training file.

Two forms share one command name: ``advise dataset LOGS... -o DIR`` (build; the default
subcommand) and ``advise dataset validate FILE``. A group whose unknown first argument is routed
to ``build`` keeps both spellings from the issue working and ``--help`` listing both.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from advisor.cli.commands._inputs import check_format
from advisor.kernel.errors import AdviseError

MIN_QUALITY = ("heuristic", "checked", "labelled")
DATASET_CONFIG_KEYS = {"val", "test", "seed", "max_examples", "short_prompt", "min_quality", "teacher_model",
                       "near_dup_threshold", "drop_near_duplicates", "scrub"}


class _DefaultToBuild(click.Group):
    """`advise dataset LOGS...` means `advise dataset build LOGS...`."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("-h", "--help"):
            args = ["build", *args]
        return super().parse_args(ctx, args)


@click.group("dataset", cls=_DefaultToBuild, context_settings={"help_option_names": ["-h", "--help"]})
def dataset() -> None:
    """Build fine-tuning data from logs (default), or validate a training file.

    \b
    Examples:
      advise dataset logs/ -o data/ --analysis analysis.json
      advise dataset logs/ -o data/ --labels labels.jsonl --short-prompt prompt.txt --seed 7
      advise dataset logs/ -o data/ --teacher-model gpt-4o        # distillation targets
      advise dataset validate data/train.jsonl --max-tokens 2048
    """


def _short_prompt(value: str | None) -> str | None:
    """TEXT, or the contents of FILE when the value names an existing file."""
    if value is None:
        return None
    p = Path(value)
    try:
        if len(value) < 4096 and p.is_file():
            return p.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise AdviseError(f"cannot read short prompt file: {exc}", file=value) from exc
    return value


def _refuse_output_holding_inputs(output: Path, logs: tuple[Path, ...]) -> None:
    """--force replaces the output directory as a whole: it must not be, or hold, one of the inputs."""
    out = output.resolve()
    for p in logs:
        r = p.resolve()
        if r == out or out in r.parents:
            raise AdviseError(f"the output directory {output} holds the input {p}", file=str(output),
                              hint="write the dataset to a directory outside the logs, e.g. -o data/")


def _dataset_section(cfg: Any) -> dict[str, Any]:
    """[dataset] defaults from advise.toml, validated here (its owner)."""
    raw = dict(cfg.dataset or {})
    unknown = sorted(set(raw) - DATASET_CONFIG_KEYS)
    if unknown:
        raise AdviseError(f"unknown [dataset] key {unknown[0]!r}", file=str(cfg.path) if cfg.path else None,
                          field=f"dataset.{unknown[0]}", hint=f"known keys: {', '.join(sorted(DATASET_CONFIG_KEYS))}")
    return raw


@dataset.command("build")
@click.argument("logs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("-o", "--output", "output", required=True, type=click.Path(path_type=Path, file_okay=False),
              help="Output directory for train/val/test.jsonl and dataset.json.")
@click.option("--analysis", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="analysis.json from `advise analyze` (hints: static blocks, static prefix tokens).")
@click.option("--labels", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help='Labels JSONL {"id","ok","category",…}; labels beat checks and heuristics.')
@click.option("--short-prompt", metavar="TEXT|FILE", default=None,
              help="System prompt replacing the stripped instructions [default: first sentence of them].")
@click.option("--min-quality", type=click.Choice(MIN_QUALITY), default=None,
              help="Evidence required to keep an output: heuristic (not shown bad), checked (passed user "
                   "checks or labelled ok), labelled (labelled ok) [default: heuristic].")
@click.option("--val", type=click.FloatRange(0, 0.9), default=None, help="Validation fraction [default: 0.1].")
@click.option("--test", type=click.FloatRange(0, 0.9), default=None, help="Test fraction [default: 0.1].")
@click.option("--max-examples", type=click.IntRange(1), default=None, help="Cap on examples written (whole groups).")
@click.option("--seed", type=int, default=None, help="Seed for splits and sampling [default: 0].")
@click.option("--teacher-model", metavar="MODEL", default=None,
              help="Distillation: keep only this (large) model's outputs as targets for a smaller student.")
@click.option("--no-scrub", is_flag=True, help="Do NOT scrub PII/secrets (recorded in dataset.json).")
@click.option("--near-dup-threshold", type=click.FloatRange(0.1, 1.0), default=None,
              help="Jaccard similarity above which inputs count as near-duplicates [default: 0.5].")
@click.option("--drop-near-duplicates", is_flag=True, default=None,
              help="Keep one example per near-duplicate group (default: keep all, grouped in one split).")
@click.option("--config", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="advise.toml ([failures] checks, [dataset] defaults) [default: one beside the logs].")
@click.option("--format", "fmt", metavar="NAME", default=None, callback=check_format,
              help="Log format (default: detected).")
@click.option("--strict", is_flag=True, help="Stop at the first malformed log line instead of skipping it.")
@click.option("--force", is_flag=True,
              help="Replace the dataset in a non-empty output directory (in one step; other files there are kept).")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar and no summary.")
def build(logs: tuple[Path, ...], output: Path, analysis: Path | None, labels: Path | None,
          short_prompt: str | None, min_quality: str | None, val: float | None, test: float | None,
          max_examples: int | None, seed: int | None, teacher_model: str | None, no_scrub: bool,
          near_dup_threshold: float | None, drop_near_duplicates: bool | None, config: Path | None,
          fmt: str | None, strict: bool, force: bool, quiet: bool) -> None:
    """Turn logs into train/val/test.jsonl (OpenAI chat format) and dataset.json."""
    from pydantic import ValidationError

    from advisor.cli.commands._inputs import check_input_names
    from advisor.ingest import IngestReport, read_records
    from advisor.kernel.config import find_config, load_config
    from advisor.kernel.progress import progress_bar
    from trainer.dataset import DatasetOptions, build_dataset, check_output_dir

    check_input_names(logs)
    _refuse_output_holding_inputs(output, logs)
    check_output_dir(output, force)  # fail before the long read
    cfg = load_config(config or find_config(list(logs)))
    given = {"val": val, "test": test, "seed": seed, "max_examples": max_examples,
             "short_prompt": _short_prompt(short_prompt), "min_quality": min_quality,
             "teacher_model": teacher_model, "near_dup_threshold": near_dup_threshold,
             "drop_near_duplicates": drop_near_duplicates, "scrub": False if no_scrub else None}
    settings = {**_dataset_section(cfg), **{k: v for k, v in given.items() if v is not None}}
    if isinstance(settings.get("short_prompt"), str) and cfg.path is not None and "short_prompt" not in given:
        settings["short_prompt"] = _short_prompt(str(cfg.resolve(settings["short_prompt"])))
    failures_cfg = dict(cfg.failures or {})
    if failures_cfg.get("schema"):
        failures_cfg["schema"] = str(cfg.resolve(failures_cfg["schema"]))  # relative to advise.toml
    try:
        options = DatasetOptions(output_dir=output, analysis=analysis, labels=labels, force=force,
                                 failures_config=failures_cfg, **settings)
    except ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(str(x) for x in err["loc"])
        raise AdviseError(err["msg"], file=str(cfg.path) if cfg.path else None, field=field,
                          hint="check --val/--test (their sum must stay below 1) and the [dataset] section") from exc
    if options.val + options.test >= 1:
        raise AdviseError(f"--val {options.val} + --test {options.test} leave nothing to train on",
                          field="val", hint="e.g. --val 0.1 --test 0.1")
    skipped = 0

    def on_error(exc: Exception) -> None:
        nonlocal skipped
        skipped += 1
        if skipped <= 20:
            click.echo(f"advise: skipped {exc.render() if hasattr(exc, 'render') else exc}", err=True)

    with progress_bar(quiet) as bar:
        task = bar.add_task("building dataset", total=None)
        report = IngestReport()
        records = read_records(list(logs), format=fmt, strict=strict, report=report, on_error=on_error)
        manifest = build_dataset(records, options, inputs=lambda: [Path(f.path) for f in report.files],
                                 on_progress=lambda n: bar.update(task, completed=n),
                                 args={"logs": [str(p) for p in logs], **{k: v for k, v in given.items()
                                                                          if v is not None}})
    if skipped > 20:
        click.echo(f"advise: … {skipped - 20} more malformed lines skipped ({skipped} in all)", err=True)
    if not quiet:
        _print_summary(manifest, output)


def _print_summary(m: Any, output: Path) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    console = Console()
    c = m.counts
    console.print(f"[bold]{c.records_read}[/] records read → [bold]{c.written}[/] examples written to {output}/ "
                  f"(train {c.train}, val {c.val}, test {c.test})")
    t = Table("filter", "removed", "why", title="Filters", title_justify="left")
    for f in m.filters:
        t.add_row(f.name, str(f.removed), escape(f.description))
    console.print(t)
    if m.scrub.enabled:
        kinds = ", ".join(f"{k} {v}" for k, v in m.scrub.occurrences.items()) or "none found"
        console.print(f"PII/secrets scrubbed (occurrences): {kinds}")
    else:
        console.print("[bold red]PII/secret scrubbing was disabled (--no-scrub)[/]")
    console.print(f"near-duplicate groups: {m.dedupe.near_duplicate_groups} "
                  f"({m.dedupe.examples_in_near_duplicate_groups} examples, each group kept in one split)")
    for f in m.families[:5]:
        console.print(f"family {f.family}: stripped {f.static_prefix_tokens} static tokens "
                      f"(counted with {m.tokens.counter}) from {f.stripped_examples} examples; short prompt: {f.short_prompt!r}")
    pe = m.tokens.per_example
    if pe.count:
        console.print(f"tokens per example (short prompt, {m.tokens.counter}): mean {pe.mean:.0f}, "
                      f"p50 {pe.p50:.0f}, p95 {pe.p95:.0f}")


@dataset.command("validate")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--max-tokens", type=click.IntRange(1), default=None,
              help="Context length to check against [default: 8192, SmolLM2-135M-Instruct].")
@click.option("--task-kind", type=click.Choice(["format", "style", "tool-use", "knowledge", "complex"]),
              default=None, help="Task kind for the recommended example count [default: inferred].")
@click.option("--consistency", type=click.FloatRange(0, 1), default=None,
              help="Failure consistency 0–1 from `advise analyze` (higher → fewer examples needed).")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON on stdout.")
def validate(file: Path, max_tokens: int | None, task_kind: str | None, consistency: float | None,
             as_json: bool) -> None:
    """Check a chat-format training file: role order, empty turns, targets, tools, lengths."""
    from trainer.dataset.validate import validate_file

    report = validate_file(file, max_tokens=max_tokens, task_kind=task_kind, consistency=consistency)
    if as_json:
        click.echo(report.model_dump_json(indent=2))
    else:
        for p in report.problems:
            where = f"{report.file}:{p.line}: "
            field = f" (field: {p.field})" if p.field else ""
            label = "note" if p.severity == "note" else f"error: {p.kind}"
            click.echo(f"{where}{label}: {p.message}{field}", err=p.severity == "error")
        if report.problems_total > len(report.problems):
            click.echo(f"… {report.problems_total - len(report.problems)} more problems", err=True)
        r = report.recommendation
        click.echo(f"{report.valid_examples}/{report.examples} examples valid; longest {report.longest_example_tokens} "
                   f"tokens (limit {report.max_tokens}, {report.token_counter}).")
        click.echo(f"Recommended examples for a {r.task_kind} task ({r.task_kind_source}): ~{r.recommended} "
                   f"(range {r.range[0]}–{r.range[1]}); {r.verdict}.")
    if not report.ok:
        errors = sum(n for k, n in report.problem_counts.items() if k != "note")
        bad_lines = len({p.line for p in report.problems if p.severity == "error"})
        raise AdviseError(f"{errors} problem(s) on {bad_lines} line(s)", file=str(file),
                          hint="fix the lines listed above; line numbers are 1-based")
