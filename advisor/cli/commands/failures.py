"""`advise failures analysis.json`: failure signatures, clusters and their examples."""

from __future__ import annotations

import sys
from pathlib import Path

import click


def load_failures(path: Path):
    """The `failures` section of analysis.json, validated; a clear error when it is missing or malformed."""
    from pydantic import ValidationError

    from advisor.analysis import read_analysis_json
    from advisor.failures.result import FailureAnalysis
    from advisor.kernel.errors import AdviseError

    raw = read_analysis_json(path)
    section = raw.get("failures") if isinstance(raw, dict) else None
    if not section:
        raise AdviseError("analysis.json has no failures section", file=str(path), field="failures",
                          hint="re-run `advise analyze` (with --labels / advise.toml checks for richer results)")
    try:
        return FailureAnalysis.model_validate(section)
    except ValidationError as exc:
        err = exc.errors()[0]
        raise AdviseError(f"invalid failures section: {err['msg']}", file=str(path),
                          field="failures." + ".".join(str(x) for x in err["loc"]),
                          hint="re-run `advise analyze`; do not edit the file by hand") from exc


@click.command("failures")
@click.argument("analysis", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--cluster", "cluster_id", type=int, default=None, metavar="N", help="Print examples of cluster N.")
@click.option("--signature", default=None, metavar="S", help="Print examples of one signature (e.g. check:bullets).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of tables.")
def failures(analysis: Path, cluster_id: int | None, signature: str | None, as_json: bool) -> None:
    """Show what keeps failing: signatures, clusters, consistency, and examples.

    \b
    Examples:
      advise failures analysis.json
      advise failures analysis.json --cluster 2
      advise failures analysis.json --signature check:bullets --json
    """
    from rich.console import Console

    from advisor.kernel.errors import AdviseError
    from reports.terminal_failures import print_examples, print_failures

    fa = load_failures(analysis)
    console = Console()
    if cluster_id is not None:
        found = next((c for c in fa.clustering.clusters if c.id == cluster_id), None)
        if found is None:
            ids = ", ".join(str(c.id) for c in fa.clustering.clusters) or "none"
            raise AdviseError(f"no cluster {cluster_id}", file=str(analysis), field="failures.clustering",
                              hint=f"clusters in this file: {ids}")
        if as_json:
            sys.stdout.write(found.model_dump_json(indent=2) + "\n")
            return
        console.print(f"Cluster {found.id}: [bold]{found.label}[/bold] — {found.size:,} failures "
                      f"({found.share_of_requests * 100:.1f}% of requests, {found.share_of_failures * 100:.1f}% of "
                      f"failures), mostly {found.category}")
        print_examples(f"Examples of cluster {found.id}", found.examples, console)
        return
    if signature is not None:
        row = next((s for s in fa.signatures if s.signature == signature), None)
        if row is None:
            import difflib

            close = difflib.get_close_matches(signature, [s.signature for s in fa.signatures], n=1)
            raise AdviseError(f"no signature {signature!r}", file=str(analysis), field="failures.signatures",
                              hint=f"did you mean {close[0]!r}?" if close else "run without --signature to list them")
        if as_json:
            sys.stdout.write(row.model_dump_json(indent=2) + "\n")
            return
        console.print(f"{row.signature} ({row.category}): {row.count:,} records, "
                      f"{row.share_of_requests * 100:.1f}% of requests, seen on {row.days_seen} days")
        print_examples(f"Examples of {row.signature}", row.examples, console)
        return
    if as_json:
        sys.stdout.write(fa.model_dump_json(indent=2) + "\n")
        return
    print_failures(fa, console)
