"""Rich summary of an evaluation: baseline vs fine-tuned, side by side, with the significance test."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from trainer.evaluate import Evaluation


def pct(x: float | None) -> str:
    return "—" if x is None else f"{100 * x:.1f}%"


def eval_rows(ev: Evaluation) -> list[tuple[str, str, str, str]]:
    """(metric, baseline, fine-tuned, note) rows shared by the terminal and the report."""
    b, f = ev.baseline, ev.finetuned
    rows = [
        ("pass rate (format checks)", pct(b.pass_rate), pct(f.pass_rate),
         f"95% CI {pct(b.pass_rate_ci[0])}–{pct(b.pass_rate_ci[1])} vs {pct(f.pass_rate_ci[0])}–{pct(f.pass_rate_ci[1])}"),
        ("exact match", pct(b.exact_match), pct(f.exact_match), "against the logged reference output"),
        ("normalised match", pct(b.normalised_match), pct(f.normalised_match), "case/whitespace-insensitive"),
    ]
    if b.json_valid is not None:
        rows.append(("valid JSON", pct(b.json_valid), pct(f.json_valid), ""))
    if b.field_f1 is not None:
        rows.append(("field F1", f"{b.field_f1:.3f}", f"{f.field_f1:.3f}", "leaf fields of the JSON output"))
    for name in b.check_pass_rates:
        rows.append((name, pct(b.check_pass_rates[name]), pct(f.check_pass_rates.get(name)), "pass rate of this check"))
    rows += [
        ("prompt tokens / request", f"{b.prompt_tokens_mean:,.0f}", f"{f.prompt_tokens_mean:,.0f}",
         f"{100 * ev.prompt_token_reduction:.0f}% fewer (model tokenizer, measured)"),
        ("output tokens / request", f"{b.output_tokens_mean:,.0f}", f"{f.output_tokens_mean:,.0f}", "measured"),
        ("latency / request", f"{b.latency_ms_mean:,.0f} ms", f"{f.latency_ms_mean:,.0f} ms",
         f"batched greedy decoding on {ev.device}"),
    ]
    return rows


def print_evaluation(ev: Evaluation, console: Console | None = None) -> None:
    console = console or Console()
    t = Table(title=f"Evaluation on {ev.n_examples} held-out examples ({ev.test_file})")
    for col in ("metric", f"baseline: {ev.baseline.model}, full prompt", "fine-tuned, short prompt", "note"):
        t.add_column(col, justify="right" if "prompt" in col else "left")
    for r in eval_rows(ev):
        t.add_row(*r)
    console.print(t)
    s = ev.significance
    verdict = "significant" if s.significant_at_0_05 else "not significant"
    console.print(f"McNemar ({s.method}): fine-tuned-only passes {s.finetuned_only_passed}, baseline-only "
                  f"{s.baseline_only_passed}, p = {s.p_value:.3g} → {verdict} at 0.05; pass-rate difference "
                  f"{100 * s.pass_rate_diff:+.1f} points (95% CI {100 * s.pass_rate_diff_ci[0]:+.1f} to "
                  f"{100 * s.pass_rate_diff_ci[1]:+.1f}).")
    console.print(f"Pass means: {ev.pass_definition}. Checks: {ev.checks_source}.")
    if ev.forgetting:
        fg = ev.forgetting
        console.print(f"Forgetting probe: general-text loss {fg.general_loss_base:.3f} → {fg.general_loss_adapter:.3f}, "
                      f"instruction loss {fg.instruction_loss_base:.3f} → {fg.instruction_loss_adapter:.3f} "
                      f"(worst {fg.worst_increase_pct:+.1f}%, warn above {fg.threshold_pct:.0f}%).")
        if fg.warning:
            console.print(f"[bold yellow]warning:[/] {fg.warning}")
    if ev.measured_roi:
        console.print(f"Measured ROI: {ev.measured_roi.get('summary', '')}")
