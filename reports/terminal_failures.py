"""Rich tables for the failure analysis (terminal; `advise failures` and the analyze summary)."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from advisor.failures.result import ClusterRow, FailureAnalysis, SignatureRow

VERDICT_TEXT = {
    "structural": "consistent structural failures — what fine-tuning fixes",
    "knowledge": "mostly knowledge failures (wrong/outdated facts) — points to retrieval (RAG)",
    "random": "scattered or non-structural failures — better met with prompting",
    "mixed": "part structural, part scattered",
    "insufficient": "too few failures to judge (< 10)",
    "none": "no failures found",
}


def _pct(x: float) -> str:
    return f"{x * 100:.1f}%"


def print_failures(fa: FailureAnalysis, console: Console | None = None, *, top: int = 15) -> None:
    """Headline, signatures, clusters, consistency and trend, each number with its unit and source."""
    con = console or Console()
    lo, hi = fa.failure_rate_range
    used = [k for k, v in fa.sources.decided_by.items() if v]
    con.print(f"[bold]Failures[/bold]: {fa.failures:,} of {fa.requests:,} ok requests = {_pct(fa.failure_rate)} "
              f"(95% range {_pct(lo)}–{_pct(hi)}; decided by {', '.join(used) or 'nothing'}; "
              f"label > feedback > checks)")
    c = fa.consistency
    con.print(f"Consistency [bold]{c.consistency:.2f}[/bold] (recurrence {c.recurrence:.2f}, concentration "
              f"{c.concentration:.2f}) → [bold]{c.verdict}[/bold]: {VERDICT_TEXT.get(c.verdict, '')}")
    con.print(f"Shares of failures: structural {_pct(fa.shares.structural)} · knowledge {_pct(fa.shares.knowledge)} "
              f"· other {_pct(fa.shares.other)}; RAG-pointing {_pct(fa.volatility.rag_share)}; "
              f"volatile questions {_pct(fa.volatility.volatile_request_share)} of requests")
    con.print(f"Daily failure rate: [bold]{fa.trend.verdict}[/bold]" + (
        f" (slope {fa.trend.slope_per_day * 100:+.2f} points/day, p={fa.trend.slope_p:.3g}; dispersion "
        f"{fa.trend.dispersion_index:.2f})" if fa.trend.slope_per_day is not None else ""))
    if fa.provider_errors.count:
        con.print(f"Provider errors (not in the failure rate): {fa.provider_errors.count:,} = "
                  f"{_pct(fa.provider_errors.share_of_all_calls)} of all calls")
    if fa.unknown_label_ids.count:
        con.print(f"[yellow]{fa.unknown_label_ids.count} label ids matched no record[/yellow], e.g. "
                  + escape(", ".join(fa.unknown_label_ids.examples[:5])))
    if fa.sources.label_overrides:
        con.print(f"{fa.sources.label_overrides} records flagged by checks were marked ok by a label (label wins)")
    if fa.signatures:
        con.print(signature_table(fa.signatures[:top], fa))
    if fa.clustering.clusters:
        con.print(cluster_table(fa.clustering.clusters[:top]))


def signature_table(rows: list[SignatureRow], fa: FailureAnalysis) -> Table:
    t = Table(title="Failure signatures (share of ok requests; recurring = ≥"
                    f"{fa.consistency.recurring_min_count} records over ≥{fa.consistency.recurring_min_days} days)")
    t.add_column("signature", overflow="fold", min_width=24, ratio=3)
    for col, just in (("category", "left"), ("records", "right"), ("% requests", "right"),
                      ("% failures", "right"), ("days", "right"), ("recurring", "center")):
        t.add_column(col, justify=just)  # type: ignore[arg-type]
    for r in rows:
        t.add_row(escape(r.signature), r.category, f"{r.count:,}", _pct(r.share_of_requests), _pct(r.share_of_failures),
                  str(r.days_seen), "yes" if r.recurring else "")
    return t


def cluster_table(rows: list[ClusterRow]) -> Table:
    t = Table(title="Free-text failure clusters (TF-IDF + agglomerative; `advise failures FILE --cluster N`)")
    for col, just in (("#", "right"), ("label", "left"), ("category", "left"), ("size", "right"),
                      ("% requests", "right"), ("example", "left")):
        t.add_column(col, justify=just)  # type: ignore[arg-type]
    for r in rows:
        t.add_row(str(r.id), escape(r.label), r.category, f"{r.size:,}", _pct(r.share_of_requests),
                  escape(r.examples[0].excerpt[:70]) if r.examples else "")  # log text is not rich markup
    return t


def print_examples(title: str, examples, console: Console | None = None) -> None:
    con = console or Console()
    t = Table(title=title)
    t.add_column("record id")
    t.add_column("excerpt")
    for e in examples:
        t.add_row(escape(e.id), escape(e.excerpt))
    con.print(t)
