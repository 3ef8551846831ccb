"""`advise run`: from logs to a measured ROI report in one resumable command."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from advisor.cli.commands._inputs import check_format
from advisor.cli.options import assumption_options


@click.command("run")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path, exists=True))
@click.option("-o", "--out", "out", required=True, type=click.Path(path_type=Path, file_okay=False),
              help="Output directory (analysis.json, data/, run/, eval.json, report.html, stages.json).")
@click.option("--config", type=click.Path(path_type=Path, dir_okay=False, exists=True), default=None,
              help="advise.toml (default: one found beside the logs).")
@click.option("--prices", type=click.Path(path_type=Path, dir_okay=False, exists=True), default=None)
@click.option("--format", "fmt", metavar="NAME", default=None, callback=check_format,
              help="Force the log format.")
@click.option("--labels", type=click.Path(path_type=Path, dir_okay=False, exists=True), default=None)
@click.option("--base", default=None, help="Base model: default (embedded SmolLM2-135M), a local dir or a hub id.")
@click.option("--budget-minutes", type=click.FloatRange(min=0.5), default=5.0, show_default=True,
              help="Wall-clock limit for training: it stops there with a checkpoint, then evaluation runs.")
@click.option("--max-train-examples", type=click.IntRange(min=1), default=600, show_default=True)
@click.option("--eval-examples", type=click.IntRange(min=2), default=40, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--report", "report", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Also write the final report here (e.g. examples/report.html).")
@click.option("--train", "force_train", is_flag=True, help="Train and evaluate even when fine-tuning does not win.")
@click.option("--force", is_flag=True, help="Allow writing into an existing output directory of another run.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bars.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON summary on stdout.")
@assumption_options
def run(paths: tuple[Path, ...], out: Path, config: Path | None, prices: Path | None, fmt: str | None,
        labels: Path | None, base: str | None, budget_minutes: float, max_train_examples: int, eval_examples: int,
        seed: int, report: Path | None, force_train: bool, force: bool, quiet: bool, as_json: bool,
        **what_if) -> None:
    """Analyze → recommend; when fine-tuning wins: dataset → LoRA → evaluation → report.

    A rerun skips every stage whose inputs and outputs are unchanged (see out/stages.json).

    \b
    Examples:
      advise run examples/ecommerce -o out/ecommerce          # ~15 min on 2 CPU cores
      advise run examples/lowvolume -o out/lowvolume          # stops after the report: keep prompting
    """
    from rich.console import Console

    from advisor.cli.commands._inputs import check_finite_options, check_input_names
    from advisor.cli.pipeline import RunOptions, run_pipeline
    from advisor.decision.assumptions import cli_overrides
    from advisor.kernel.errors import OutputExistsError

    check_input_names(paths)
    check_finite_options()
    if out.exists() and any(out.iterdir()) and not (out / "stages.json").exists() and not force:
        raise OutputExistsError(f"{out} exists and is not an advise run directory",
                                hint="choose an empty directory, or pass --force")
    if report is not None:
        from advisor.cli.commands.report import REPORT_SUFFIXES
        from advisor.kernel.io import check_writable

        if report.suffix.lower() not in REPORT_SUFFIXES:
            raise click.BadParameter(f"{report}: advise writes HTML (.html, .htm) or Markdown (.md, .markdown)",
                                     param_hint="'--report'")
        check_writable(report, force, inputs=paths)
    console = Console(stderr=True, quiet=as_json)
    opts = RunOptions(paths=list(paths), out=out, config=config, prices=prices, format=fmt, labels=labels, base=base,
                      budget_minutes=budget_minutes, max_train_examples=max_train_examples,
                      eval_examples=eval_examples, seed=seed, report=report, force=force, force_train=force_train,
                      quiet=quiet or as_json, overrides=cli_overrides(**what_if))
    result = run_pipeline(opts, say=lambda s: console.print(f"[bold cyan]advise run:[/] {s}"))
    if as_json:
        import json

        rec = result.analysis.recommendation
        summary = {"trained": result.trained, "reason": result.reason, "stages_run": result.stages_run,
                   "stages_skipped": result.stages_skipped, "winner": rec.winner if rec is not None else None,
                   "report": [str(p) for p in result.report_paths]}
        if result.evaluation is not None:
            ev = result.evaluation
            summary["measured"] = {"baseline_pass_rate": ev.baseline.pass_rate, "finetuned_pass_rate": ev.finetuned.pass_rate,
                                   "incumbent_pass_rate": ev.incumbent.pass_rate, "model_measured": ev.model_measured,
                                   "mcnemar_p": ev.significance.p_value, "prompt_token_reduction": ev.prompt_token_reduction,
                                   "roi": ev.measured_roi.model_dump(mode="json") if ev.measured_roi else None}
        sys.stdout.write(json.dumps(summary, indent=2) + "\n")
        return
    out_console = Console()
    from reports.terminal import print_summary

    print_summary(result.analysis, out_console)
    if result.evaluation is not None:
        from reports.terminal_eval import print_evaluation

        print_evaluation(result.evaluation, out_console)
    else:
        out_console.print(f"[bold]No training:[/] {result.reason}")
    if result.stages_skipped:
        console.print(f"advise run: reused unchanged stages: {', '.join(result.stages_skipped)}")
    console.print(f"advise run: report → {', '.join(str(p) for p in result.report_paths if p.suffix in ('.html', '.md'))}")
