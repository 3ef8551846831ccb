"""Rich summary of an evaluation: incumbent, base model and candidate side by side, with the paired tests."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from trainer.evaluation.run import Comparison, Evaluation, VariantResult


def pct(x: float | None) -> str:
    return "—" if x is None or x != x else f"{100 * x:.1f}%"


def ci(lo_hi: tuple[float, float] | None) -> str:
    return "" if lo_hi is None else f"{100 * lo_hi[0]:.0f}–{100 * lo_hi[1]:.0f}%"


def arms(ev: Evaluation) -> list[VariantResult]:
    return [ev.incumbent, ev.baseline, ev.finetuned]


def arm_names(ev: Evaluation) -> list[str]:
    """Column headings that say what each arm is."""
    return [f"incumbent: {ev.incumbent.model} (logged)", f"base: {ev.baseline.model}, full prompt",
            f"candidate: {ev.finetuned.model} + adapter, short prompt"]


def _num(x: float | None, fmt: str = "{:.3f}") -> str:
    return "—" if x is None else fmt.format(x)


def eval_rows(ev: Evaluation) -> list[tuple[str, str, str, str, str]]:
    """(metric, incumbent, base, candidate, note) rows shared by the terminal and the report."""
    a = arms(ev)
    rows: list[tuple[str, str, str, str, str]] = [
        ("pass rate (checks)", *(pct(v.pass_rate) for v in a),
         "95% CI (Clopper–Pearson): " + " / ".join(ci(v.pass_rate_ci) for v in a)),
        ("passes", *(f"{v.passes}/{v.n}" for v in a), ev.pass_definition),
        ("cut by the token limit", *(f"{v.truncated}/{v.n}" for v in a),
         f"reported apart, not as format failures; limit {ev.decoding.get('max_new_tokens', '?')} new tokens "
         f"({ev.decoding.get('source', '')}); incumbent: production's max_tokens"),
    ]
    ref = ev.finetuned
    if ref.n_reference:
        rows.append(("examples with a reference", *(str(v.n_reference) for v in a),
                     "a label's expected answer (or a label-approved logged answer); the rest are scored by checks"))
        if ev.task_kind == "text":
            rows.append(("chrF vs reference", *(_num(v.chrf) for v in a), "character n-gram F-score (β = 2), 0–1"))
        if ev.task_kind == "labels":
            rows.append(("label accuracy", *(pct(v.label_accuracy) for v in a), ""))
            rows.append(("label macro-F1", *(_num(v.label_macro_f1) for v in a), "scikit-learn"))
        rows.append(("exact match vs reference", *(pct(v.exact_match) for v in a), ""))
    if ev.task_kind == "json":
        rows.append(("valid JSON", *(pct(v.json_valid) for v in a), ""))
        if ref.field_f1 is not None:
            rows.append(("field F1 vs reference", *(_num(v.field_f1) for v in a),
                         "leaf fields; precision " + " / ".join(_num(v.field_precision) for v in a)))
            rows.append(("JSON exact match", *(pct(v.json_exact) for v in a), "every field equal"))
    for name in ref.check_pass_rates:
        rows.append((name, *(pct(v.check_pass_rates.get(name)) for v in a), "pass rate of this check (untruncated)"))
    for cl in ref.cluster_pass_rates:
        rows.append((f"cluster {cl}", *(f"{v.cluster_pass_rates[cl].k}/{v.cluster_pass_rates[cl].n}"
                                        if cl in v.cluster_pass_rates else "—" for v in a), "passes in this cluster"))
    rows += [
        ("prompt tokens / request", *(_num(v.prompt_tokens_mean, "{:,.0f}") for v in a),
         f"{100 * ev.prompt_token_reduction:.0f}% fewer for the candidate (its tokenizer, measured)"),
        ("output tokens / request", *(_num(v.output_tokens_mean, "{:,.0f}") for v in a), "measured"),
        ("latency / request", *(_num(v.latency_ms_mean, "{:,.0f} ms") for v in a),
         f"batched greedy decoding on {ev.device}; the incumbent's latency is in the analysis"),
    ]
    return rows


def comparison_line(c: Comparison) -> str:
    verdict = "significant" if c.significant_at_0_05 else "not significant"
    line = (f"{c.candidate} vs {c.against}: {c.wins} wins, {c.losses} losses, {c.ties_pass + c.ties_fail} ties "
            f"(pass/fail); McNemar {c.method} p = {c.p_value:.3g} → {verdict} at 0.05; pass-rate difference "
            f"{100 * c.pass_rate_diff:+.1f} points (95% CI {100 * c.pass_rate_diff_ci[0]:+.1f} to "
            f"{100 * c.pass_rate_diff_ci[1]:+.1f}, paired bootstrap)")
    if c.score is not None and c.score_diff is not None and c.score_diff_ci is not None:
        line += (f"; {c.score} on {c.score_n} referenced examples {c.score_diff:+.3f} (95% CI "
                 f"{c.score_diff_ci[0]:+.3f} to {c.score_diff_ci[1]:+.3f}, paired bootstrap p = {c.score_p_value:.3g}; "
                 f"{c.score_wins} better, {c.score_losses} worse, {c.score_ties} equal)")
    return line + "."


def incumbent_line(ev: Evaluation) -> str:
    r = ev.incumbent_logged
    line = (f"Incumbent's logged failure rate on the test split: {pct(r.test.rate)} ({r.test.k}/{r.test.n}, "
            f"95% CI {ci(r.test.ci)})")
    if r.logs is not None:
        line += (f"; over all logs {pct(r.logs.rate)} ({r.logs.k:,}/{r.logs.n:,}, 95% CI {ci(r.logs.ci)}) — the "
                 f"test split {'is' if r.test_within_logs_ci else 'is not'} within the logs' interval")
    return line + "."


def fix_lines(ev: Evaluation) -> list[str]:
    out = [f"fixes {f.fixed}/{f.incumbent_failed} of the incumbent's '{k}' failures"
           + (f" ({f.kind})" if f.kind else "") + f" ({pct(f.rate)}, 95% CI {ci(f.ci)}; judged by {f.judged_by})"
           for k, f in ev.fix_rates.items()]
    if ev.broken is not None:
        out.append(f"fails {ev.broken.k}/{ev.broken.n} answers the incumbent got right ({pct(ev.broken.rate)}, "
                   f"95% CI {ci(ev.broken.ci)})")
    return out


def print_evaluation(ev: Evaluation, console: Console | None = None) -> None:
    console = console or Console()
    t = Table(title=f"Evaluation on {ev.n_examples} held-out examples ({ev.test_file}); measured model "
                    f"{ev.model_measured}")
    for col in ("metric", *arm_names(ev), "note"):
        t.add_column(col, justify="left" if col in ("metric", "note") else "right")
    for r in eval_rows(ev):
        t.add_row(*r)
    console.print(t)
    console.print(comparison_line(ev.significance))
    console.print(comparison_line(ev.vs_base))
    console.print(incumbent_line(ev))
    fixes = fix_lines(ev)
    if fixes:
        console.print("Candidate against the incumbent's logged verdicts: " + "; ".join(fixes) + ".")
    console.print(f"Pass means: {ev.pass_definition}. Checks: {ev.checks_source}.")
    if ev.forgetting:
        fg = ev.forgetting
        console.print(f"Forgetting probe: general-text loss {fg.general_loss_base:.3f} → {fg.general_loss_adapter:.3f}, "
                      f"instruction loss {fg.instruction_loss_base:.3f} → {fg.instruction_loss_adapter:.3f} "
                      f"(worst {fg.worst_increase_pct:+.1f}%, warn above {fg.threshold_pct:.0f}%).")
        if fg.warning:
            console.print(f"[bold yellow]warning:[/] {fg.warning}")
    roi = ev.measured_roi
    if roi:
        console.print(f"Measured ROI: {roi.summary}")
        console.print("Decision inputs (" + ("proxy: " if roi.proxy else "") + f"model measured {roi.model_measured}"
                      + (f", recommended target {roi.target}" if roi.proxy else "") + "): "
                      + "; ".join(f"{r.name} = {r.display} (measured)" if r.source == "measured"
                                  else f"{r.name}: not measured, prior kept" for r in roi.assumptions) + ".")
