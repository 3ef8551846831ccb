"""`advise analyze`: read logs once, print a summary, write analysis.json."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from advisor.cli.commands._inputs import check_date, check_format
from advisor.cli.options import assumption_options

MAX_PRINTED_ERRORS = 20


class _ErrorPrinter:
    """Prints malformed lines as `file:line: reason` on stderr, the first few only, then counts them."""

    def __init__(self, limit: int = MAX_PRINTED_ERRORS) -> None:
        self.limit = limit
        self.count = 0

    def __call__(self, exc: Exception) -> None:
        self.count += 1
        if self.count <= self.limit:
            text = exc.render() if hasattr(exc, "render") else str(exc)
            click.echo(f"advise: skipped {text}", err=True)

    def dropped(self, n: int) -> None:
        """Malformed lines a worker process counted but did not send back one by one."""
        self.count += n

    def finish(self) -> None:
        if self.count > self.limit:
            click.echo(f"advise: … {self.count - self.limit} more malformed lines skipped "
                       f"({self.count} in all; --strict makes them fatal)", err=True)


@click.command("analyze")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--format", "fmt", metavar="NAME", default=None, callback=check_format,
              help="Log format (default: detected from the first lines).")
@click.option("--prices", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Price override file (TOML/JSON, per-1M-token prices).")
@click.option("--config", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="advise.toml (default: one found beside the logs).")
@click.option("--since", metavar="DATE", default=None, callback=check_date, help="Only calls at or after this ISO date/time (UTC).")
@click.option("--until", metavar="DATE", default=None, callback=check_date, help="Only calls before the end of this ISO date (UTC).")
@click.option("--assume-time", metavar="DATE", default=None, callback=check_date,
              help="Date records that carry no timestamp (labelled as assumed) [default: refused, or the file's "
                   "modification time for bare Anthropic responses].")
@click.option("--json", "json_out", metavar="FILE|-", default=None,
              help="Write the analysis JSON to FILE (and nowhere else unless -o is given); '-' prints only "
                   "the JSON to stdout.")
@click.option("-o", "--output", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Where to write analysis.json [default: analysis.json, unless --json is given].")
@click.option("--force", is_flag=True, help="Overwrite existing output files.")
@click.option("--strict", is_flag=True, help="Stop at the first malformed line instead of skipping it.")
@click.option("--allow-unpriced", is_flag=True, help="Report cost as unknown for models without a price.")
@click.option("--labels", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Labels file (JSONL: id, ok, category, note) [default: labels.jsonl beside the logs].")
@click.option("--schema", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="JSON schema the outputs must follow (overrides [failures] schema).")
@click.option("--json-output", "json_output", is_flag=True, default=None,
              help="Treat outputs as JSON even when the request did not ask for it.")
@click.option("-j", "--jobs", type=click.IntRange(min=1), default=None, metavar="N",
              help="Processes reading the logs [default: one per CPU for inputs over 64 MB]. "
                   "The result is the same for any N.")
@click.option("--engine", type=click.Choice(["local", "dask"]), default="local", show_default=True,
              help="Where the pieces of the logs are read: this machine's processes, or a Dask cluster "
                   "(needs advise[cluster]; the logs on storage every worker sees at the same path).")
@click.option("--address", metavar="URL", default=None,
              help="Dask scheduler, e.g. tcp://10.0.0.5:8786 [default with --engine dask: a local cluster].")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar and no summary.")
@assumption_options
def analyze(paths: tuple[Path, ...], fmt: str | None, prices: Path | None, config: Path | None,
            since: str | None, until: str | None, json_out: str | None, output: Path | None, force: bool,
            strict: bool, allow_unpriced: bool, labels: Path | None, schema: Path | None, json_output: bool | None,
            jobs: int | None, engine: str, address: str | None, quiet: bool,
            assume_time: str | None = None, **what_if) -> None:
    """Measure volume, token mix, cost, latency, errors and static prompt structure of LLM logs.

    \b
    Examples:
      advise analyze logs/                       # summary + analysis.json
      advise analyze calls.jsonl.gz --since 2025-03-01 --until 2025-03-31
      advise analyze logs/ --prices my_prices.toml -o out/analysis.json --force
      advise analyze logs/ --json - | jq .cost   # machine output only
      advise analyze logs/ --volume 10000/day --examples 2000 --failure-cost 0.05   # what-if
      advise analyze /shared/logs/ --engine dask --address tcp://scheduler:8786   # on a cluster
    """
    from advisor.analysis import analysis_json
    from advisor.analyze import analyze_logs
    from advisor.cli.commands._inputs import check_finite_options, check_input_names
    from advisor.decision.assumptions import cli_overrides
    from advisor.kernel.io import atomic_write_text, check_writable
    from advisor.kernel.progress import progress_bar

    check_input_names(paths)
    check_finite_options()
    if address is not None and engine != "dask":
        raise click.UsageError("--address needs --engine dask")
    to_stdout = json_out == "-"
    if output is None and json_out is None:
        output = Path("analysis.json")
    targets = [Path(t) for t in (output, None if to_stdout else json_out) if t is not None]
    if len(targets) == 2 and targets[0] == targets[1]:
        targets = targets[:1]
    for t in targets:
        check_writable(t, force=force, inputs=paths)  # fail before the long read, not after
    errors = _ErrorPrinter()
    with progress_bar(quiet or to_stdout) as bar:
        task = bar.add_task("reading logs", total=None)

        def on_progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        analysis = analyze_logs(list(paths), format=fmt, prices=prices, since=since, until=until, strict=strict,
                                allow_unpriced=allow_unpriced, config=config, labels=labels, schema=schema,
                                json_output=json_output, overrides=cli_overrides(**what_if), on_error=errors, jobs=jobs,
                                progress=on_progress if not bar.disable else None, assume_time=assume_time,
                                engine=engine, address=address)
    errors.finish()
    text = analysis_json(analysis)
    read = [*paths, *(f.path for f in analysis.inputs)]
    for t in targets:
        atomic_write_text(t, text, overwrite=force, inputs=read)
    if to_stdout:
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    if not quiet:
        from reports.terminal import print_summary

        print_summary(analysis)
        written = [str(p) for p in targets]
        click.echo(f"Wrote {' and '.join(written)}", err=True)
