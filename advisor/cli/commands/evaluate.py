"""`advise evaluate`: measure baseline (full prompt) vs fine-tuned (short prompt) on held-out data."""

from __future__ import annotations

import sys
from pathlib import Path

import click


@click.command("evaluate")
@click.option("--run", "run_dir", required=True, type=click.Path(path_type=Path, file_okay=False, exists=True),
              help="Run directory written by `advise train`.")
@click.option("--test", "test_path", required=True, type=click.Path(path_type=Path, dir_okay=False, exists=True),
              help="test.jsonl from `advise dataset` (short prompt + original full prompt).")
@click.option("--baseline", default="base", show_default=True,
              help="'base' = the run's base model with the full prompt, or another model (local dir / hub id).")
@click.option("--checks", type=click.Path(path_type=Path, dir_okay=False, exists=True), default=None,
              help="advise.toml whose [failures] checks define pass/fail (format/style rules).")
@click.option("--analysis", type=click.Path(path_type=Path, dir_okay=False, exists=True), default=None,
              help="analysis.json: adds the measured ROI (same cost model, measured tokens and pass rates).")
@click.option("--limit", type=click.IntRange(min=1), default=None, metavar="N",
              help="Evaluate only the first N test examples (N >= 1).")
@click.option("--max-new-tokens", type=click.IntRange(min=1), default=None,
              help="Generation cap [default: 1.25 × the longest reference + 8 tokens].")
@click.option("--batch-size", type=click.IntRange(min=1), default=32, show_default=True)
@click.option("--no-probe", is_flag=True, help="Skip the forgetting probe (general-text loss before/after).")
@click.option("-o", "--output", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Where to write eval.json [default: eval.json, unless --json is given].")
@click.option("--force", is_flag=True, help="Overwrite an existing output.")
@click.option("--json", "as_json", is_flag=True, help="Print eval.json only to stdout (no file unless -o is given), instead of the summary.")
@click.option("-q", "--quiet", is_flag=True,
              help="No progress bars (ours or the model libraries'), no library warnings, no summary.")
def evaluate(run_dir: Path, test_path: Path, baseline: str, checks: Path | None, analysis: Path | None,
             limit: int | None, max_new_tokens: int | None, batch_size: int, no_probe: bool, output: Path | None, force: bool,
             as_json: bool, quiet: bool) -> None:
    """Generate with both variants on the same examples; report accuracy, tokens, latency, McNemar p.

    \b
    Examples:
      advise evaluate --run runs/brand --test data/test.jsonl --checks advise.toml -o eval.json
      advise evaluate --run runs/brand --test data/test.jsonl --analysis analysis.json --json
    """
    from advisor.kernel.errors import require_train_extra
    from advisor.kernel.io import atomic_write_text, check_writable
    from trainer.training.quiet import quiet_ml_libraries

    require_train_extra()
    quiet_ml_libraries(silent=quiet or as_json)
    from trainer.evaluation.run import run_evaluation

    if output is None and not as_json:
        output = Path("eval.json")
    if output is not None:
        check_writable(output, force, inputs=[test_path, *([analysis] if analysis else [])])
    ev = run_evaluation(run_dir, test_path, checks=checks, baseline=baseline, limit=limit,
                        max_new_tokens=max_new_tokens, batch_size=batch_size, probe=not no_probe, quiet=quiet or as_json)
    if analysis is not None:
        from advisor.analysis import load_analysis
        from trainer.evaluation.measured import measured_roi
        from trainer.evaluation.run import incumbent_record, load_test_examples

        an = load_analysis(analysis)
        fa = an.failures
        ev.incumbent_logged = incumbent_record(load_test_examples(test_path), fa.failures if fa else None,
                                               fa.requests if fa else None)
        ev.measured_roi = measured_roi(an, ev)
    text = ev.model_dump_json(indent=2)
    if output is not None:
        atomic_write_text(output, text, overwrite=force, inputs=[test_path])
    if as_json:
        sys.stdout.write(text + "\n")
        return
    if quiet:
        return
    from reports.terminal_eval import print_evaluation

    print_evaluation(ev)
    click.echo(f"Wrote {output}", err=True)
