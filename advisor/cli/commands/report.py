"""`advise report`: the stakeholder ROI report as one self-contained HTML page or Markdown + PNGs."""

from __future__ import annotations

from pathlib import Path

import click

REPORT_SUFFIXES = {".html": "html", ".htm": "html", ".md": "md", ".markdown": "md"}


@click.command("report")
@click.argument("analysis", type=click.Path(path_type=Path, dir_okay=False, exists=True))
@click.argument("evaluation", required=False, type=click.Path(path_type=Path, dir_okay=False, exists=True))
@click.option("-o", "--output", type=click.Path(path_type=Path, dir_okay=False), default=Path("report.html"),
              show_default=True, help="report.html or report.md (format from the suffix: .html/.htm or .md/.markdown).")
@click.option("--format", "fmt", type=click.Choice(["html", "md"]), default=None,
              help="Override the format the suffix implies.")
@click.option("--title", default=None, help="Report title.")
@click.option("--force", is_flag=True, help="Overwrite an existing report.")
@click.option("-q", "--quiet", is_flag=True, help="Do not say which files were written.")
def report(analysis: Path, evaluation: Path | None, output: Path, fmt: str | None, title: str | None,
           force: bool, quiet: bool) -> None:
    """Write the ROI report a manager can read: verdict, costs, strategies, charts, assumptions.

    \b
    Examples:
      advise report analysis.json -o report.html
      advise report analysis.json eval.json -o report.md     # with measured before/after
    """
    from advisor.analysis import load_analysis
    from advisor.kernel.io import check_writable
    from reports.context import build_context
    from reports.render import write_report

    suffix = output.suffix.lower()
    if suffix not in REPORT_SUFFIXES:
        raise click.BadParameter(f"{output}: advise writes HTML (.html, .htm) or Markdown (.md, .markdown), "
                                 f"not {suffix or 'a file without extension'}", param_hint="'-o' / '--output'")
    fmt = fmt or REPORT_SUFFIXES[suffix]
    check_writable(output, force, inputs=[p for p in (analysis, evaluation) if p is not None])
    a = load_analysis(analysis)
    ev = None
    if evaluation is not None:
        from trainer.evaluation.run import load_evaluation

        ev = load_evaluation(evaluation)
    files = write_report(build_context(a, ev, title), output, fmt, overwrite=force)
    if not quiet:
        click.echo(f"Wrote {', '.join(str(f) for f in files)}", err=True)
