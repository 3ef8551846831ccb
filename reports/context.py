"""analysis.json (+ eval.json) → the report's content, in the order a stakeholder reads it.

Pure: it formats numbers that already exist in the analysis/evaluation (never recomputes them),
so tests can check that every figure in the report equals the one in the JSON contracts.
"""

from __future__ import annotations

from typing import Any

from advisor.analysis import Analysis, NoRecommendation
from reports import charts


def money(x: float | None, cur: str) -> str:
    if x is None:
        return "unknown"
    if x == 0:
        return f"{cur} 0"
    if abs(x) >= 100:
        return f"{cur} {x:,.0f}"
    if abs(x) >= 1:
        return f"{cur} {x:,.2f}"
    return f"{cur} {x:.5f}"


def pct(x: float | None, digits: int = 1) -> str:
    return "—" if x is None else f"{100 * x:.{digits}f}%"


def days(r: Any) -> str:
    """A payback Range (value, low, high in days; None = never)."""
    if r is None or r.value is None:
        return "never"
    lo, hi = r.low, r.high
    if lo is not None and hi is not None:
        return f"{r.value:,.0f} d ({lo:,.0f}–{hi:,.0f})"
    if lo is not None:
        return f"{r.value:,.0f} d ({lo:,.0f}–never)"
    return f"{r.value:,.0f} d"


def value_range(r: Any, cur: str) -> str:
    """A money Range as 'central (low to high)'."""
    lo, hi = r.low, r.high
    band = f" ({money(lo, cur)} to {money(hi, cur)})" if lo is not None and hi is not None else ""
    return money(r.value, cur) + band


def unpriced_note(a: Analysis) -> str | None:
    """"incomplete: N requests of model M unpriced" (as the terminal says) when --allow-unpriced left gaps."""
    if a.cost.complete and not a.cost.unpriced_models:
        return None
    parts = [f"{a.models[m].tokens.requests:,} requests of model {m}" if m in a.models else f"model {m}"
             for m in a.cost.unpriced_models]
    return "incomplete: " + "; ".join(parts) + " unpriced"


def _incomplete(value: str, note: str | None) -> str:
    return f"{value} (incomplete)" if note else value


def _current_state(a: Analysis, cur: str) -> list[dict[str, str]]:
    v, c = a.volume, a.cost
    sample = f"; {a.sampling.label}" if a.sampling.label else ""
    est = a.data_quality.estimated_share
    note = unpriced_note(a)
    tok_src = "reported by the provider" if est == 0 else f"{100 * (1 - est):.0f}% reported, {100 * est:.0f}% estimated offline"
    rows = [
        {"label": "requests per day", "value": f"{v.mean_per_day:,.0f}" if v.mean_per_day else "—",
         "source": f"measured over {v.days} days{sample}"},
        {"label": "cost per month", "value": _incomplete(money(c.per_month, cur), note),
         "source": f"30-day projection at list price ({a.prices.source})" + (f"; {note}" if note else "")},
        {"label": "cost per request", "value": _incomplete(money(c.per_request, cur), note),
         "source": f"tokens {tok_src}" + (f"; {note}" if note else "")},
        {"label": "volume trend", "value": f"{v.trend_pct_per_week:+.1f}%/week" if v.trend_pct_per_week is not None else "—",
         "source": "least squares on daily counts"},
    ]
    for name, m in a.models.items():
        t = m.tokens.tokens
        mean = {k: (t[k].mean or 0.0) if k in t else 0.0 for k in ("input", "cache_read", "output", "reasoning")}
        rows.append({"label": f"tokens / request — {name}",
                     "value": f"{mean['input']:,.0f} in · {mean['output']:,.0f} out",
                     "source": f"{m.tokens.requests:,} requests; cached {mean['cache_read']:,.0f}, reasoning {mean['reasoning']:,.0f}"})
    for f in a.prompt_families[:3]:
        rows.append({"label": f"static prompt share — {f.family}",
                     "value": f"{f.static_prefix_tokens:,} tokens = {pct(f.static_share_of_input_tokens, 0)} of input",
                     "source": f"{pct(f.static_share_of_input_cost, 0)} of input cost; token-level common prefix of "
                               f"{f.requests:,} requests" + (" (estimated tokenizer)" if f.static_prefix_estimated else "")})
    if a.failures is not None:
        fa = a.failures
        rows.append({"label": "failure rate", "value": pct(fa.failure_rate),
                     "source": "decided by " + ", ".join(k for k, n in fa.sources.decided_by.items() if n)})
        con = fa.consistency
        rows.append({"label": "failure consistency", "value": f"{con.consistency:.2f} ({con.verdict})",
                     "source": "share of failures in recurring structural signatures (0–1)"})
    return rows


def _charts(a: Analysis, cur: str, winner: str | None) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    strat = sorted(a.strategies, key=lambda s: s.monthly_run_cost)

    def add(cid: str, fig: Any, caption: str, alt: str) -> None:
        out.append({"id": cid, "png": charts.to_png(fig), "caption": caption, "alt": alt})

    if strat:
        names = [s.name for s in strat]
        win_name = next((s.name for s in strat if s.key == winner), None)
        add("monthly-cost", charts.monthly_cost_by_strategy(names, [s.monthly_run_cost for s in strat], cur,
                                                            highlight=win_name),
            f"Run cost per month of each strategy at the measured volume ({cur}, list prices).",
            "Monthly cost by strategy")
    fams = a.prompt_families[:4]
    if fams:
        labels = [f"{f.family}" for f in fams]
        static = [float(f.static_prefix_tokens) for f in fams]
        variable = [f.mean_variable_tokens for f in fams]
        outs = []
        for f in fams:
            m = a.models.get(f.model)
            outs.append((m.tokens.tokens["output"].mean or 0.0) if m and "output" in m.tokens.tokens else 0.0)
        win = next((s for s in a.strategies if s.key == winner), None)
        rows = {r.name: r.value for r in (a.assumptions.rows if a.assumptions is not None else [])}
        if win and win.fine_tune_kind and "short_prompt_tokens" in rows:
            labels.append("after fine-tuning (short prompt)")
            static.append(float(rows["short_prompt_tokens"]))
            variable.append(variable[0])
            outs.append(outs[0])
        add("token-composition", charts.token_composition(labels, static, variable, outs),
            "Tokens per request by prompt family: the static part is what fine-tuning bakes in or caching discounts.",
            "Token composition per request")
    if strat:
        base = next((s for s in a.strategies if s.key == "status-quo"), None)
        series: dict[str, tuple[float, float]] = {}
        paybacks: dict[str, float | None] = {}
        if base is not None:
            series["today (keep as is)"] = (0.0, base.baseline_monthly_cost)
        shown = [s for s in a.strategies if s.eligible or s.key == winner]
        for s in sorted(shown, key=lambda s: -(s.net_value_12m.value or 0))[:4]:
            if s.key == "status-quo":
                continue
            series[s.name] = (s.one_time_cost, s.monthly_run_cost - s.failure_value_monthly + s.recurring_monthly)
            paybacks[s.name] = s.payback_days.value
        add("cumulative-cost", charts.cumulative_cost(series, cur, baseline="today (keep as is)", payback_days=paybacks),
            "Cumulative cost over 12 months, failures priced at the failure cost; dots mark payback.",
            "Cumulative cost over 12 months")
    rec = _decided(a)
    sens = rec.sensitivity if rec is not None else []
    rows = [(r.input, r.payback_low, r.payback_high) for r in sens
            if r.payback_low is not None and r.payback_high is not None][:7]
    sens_key = rec.sensitivity_strategy if rec is not None else None
    winner_s = next((s for s in a.strategies if s.key == sens_key), None)
    if rows and winner_s and winner_s.payback_days.value is not None:
        add("sensitivity", charts.sensitivity_tornado(rows, winner_s.payback_days.value),
            f"Payback of {winner_s.name} with each input at its low and high value (others fixed).",
            "Sensitivity of payback")
    if a.failures is not None and a.failures.signatures:
        sigs = a.failures.signatures[:6]
        all_days = sorted({d for s in sigs for d in s.per_day} | set(a.volume.per_day))
        if all_days:
            by = {s.signature: [s.per_day.get(d, 0) for d in all_days] for s in sigs}
            add("failures-over-time", charts.failures_over_time(all_days, by, "failures per day (logged sample)"),
                "Failures per day by signature, as logged (not scaled).", "Failures over time by signature")
    return out


def _clusters(a: Analysis) -> list[dict[str, Any]]:
    if a.failures is None:
        return []
    rows = []
    for s in a.failures.signatures[:10]:
        rows.append({"label": s.signature, "kind": f"{s.category} ({s.bucket})", "count": f"{s.primary:,}",
                     "share": pct(s.share_of_failures),
                     "examples": [f"{e.id}: {e.excerpt}" for e in s.examples[:2]]})
    for c in a.failures.clustering.clusters[:5]:
        rows.append({"label": f"cluster {c.id}: {c.label}", "kind": "free-text cluster",
                     "count": f"{c.size:,}", "share": pct(c.share_of_failures),
                     "examples": [f"{e.id}: {e.excerpt}" for e in c.examples[:2]]})
    return rows


def _measured(ev: Any, cur: str) -> dict[str, Any]:
    from reports.terminal_eval import arm_names, comparison_line, eval_rows, fix_lines, incumbent_line

    s = ev.significance
    rows = [{"metric": m, "incumbent": i, "base": b, "candidate": c, "note": n} for m, i, b, c, n in eval_rows(ev)]
    pvm = []
    roi = ev.measured_roi
    measured_rows = []
    if roi:
        pr, me, rc = roi.prior, roi.measured, roi.currency
        pvm = [
            {"name": "failure rate after", "prior": pct(pr.failure_rate_after), "measured": pct(me.failure_rate_after)},
            {"name": "saving per request", "prior": pct(pr.per_request_saving_share, 0),
             "measured": pct(me.per_request_saving_share, 0)},
            {"name": "run cost per month", "prior": money(pr.monthly_run_cost, rc),
             "measured": money(me.monthly_run_cost, rc)},
            {"name": "payback", "prior": f"{pr.payback_days:,.0f} days" if pr.payback_days is not None else "never",
             "measured": f"{me.payback_days:,.0f} days" if me.payback_days is not None else "never"},
            {"name": "12-month net value", "prior": money(pr.net_value_12m, rc),
             "measured": money(me.net_value_12m, rc) + (
                 f" (80% interval {money(me.net_value_12m_low, rc)} to {money(me.net_value_12m_high, rc)})"
                 if me.net_value_12m_low is not None and me.net_value_12m_high is not None else "")},
        ]
        # which decision inputs the measurement replaced, kind by kind, and which stayed priors
        measured_rows = [{"name": r.name, "value": r.display if r.display == "prior" else f"{r.display} {r.unit}".strip(),
                          "source": "measured" if r.source == "measured" else "prior", "note": r.basis}
                         for r in roi.assumptions]
    f, i, b = ev.finetuned, ev.incumbent, ev.baseline
    summary = (f"Measured on {ev.n_examples} held-out inputs drawn from all requests (failed ones included), model "
               f"measured: {ev.model_measured}. The candidate (adapter, short prompt) passes {pct(f.pass_rate)} of the "
               f"checks (95% CI {pct(f.pass_rate_ci[0], 0)}–{pct(f.pass_rate_ci[1], 0)}) against {pct(i.pass_rate)} "
               f"for the incumbent's logged answers ({pct(i.pass_rate_ci[0], 0)}–{pct(i.pass_rate_ci[1], 0)}) and "
               f"{pct(b.pass_rate)} for {b.model} with the full prompt ({pct(b.pass_rate_ci[0], 0)}–"
               f"{pct(b.pass_rate_ci[1], 0)}); against the incumbent: {s.wins} wins, {s.losses} losses, McNemar "
               f"p = {s.p_value:.3g} ({'significant' if s.significant_at_0_05 else 'not significant'} at 0.05).")
    if roi:
        summary += " " + roi.summary
    proxy = None
    if roi and roi.proxy:
        proxy = (f"Proxy figures: the model measured is {roi.model_measured} fine-tuned on this machine, not the "
                 f"recommended target ({roi.target}); they show what this task's data does to a small model, "
                 "not what the target will score.")
    return {"summary": summary, "columns": arm_names(ev), "rows": rows, "prior_vs_measured": pvm,
            "measured_assumptions": measured_rows,
            "comparisons": [comparison_line(ev.significance), comparison_line(ev.vs_base)],
            "incumbent": incumbent_line(ev), "fixes": fix_lines(ev), "proxy": proxy,
            "model_measured": ev.model_measured}


def _decided(a: Analysis) -> Any:
    """The recommendation when the strategies were costed (a RecommendationRecord), else None."""
    rec = a.recommendation
    return None if rec is None or isinstance(rec, NoRecommendation) else rec


def _market_note(rec: Any) -> str:
    """Offers rows and the exchange rate the decision used, once."""
    m = rec.market if rec is not None else None
    if m is None:
        return ""
    dates = sorted({r.as_of for r in m.rows})
    text = f"Offers: {len(m.rows)} rows of the offers table" + (f" (as of {dates[0]}–{dates[-1]})" if dates else "")
    text += f", decided on {m.today}; currency: {m.fx}."
    return text + "".join(f" Warning: {w}." for w in m.warnings)


def build_context(a: Analysis, ev: Any | None = None, title: str | None = None) -> dict[str, Any]:
    rec = _decided(a)
    winner = rec.winner if rec is not None else None
    cur = (rec.currency if rec is not None else None) or a.cost.currency or "USD"
    win = next((s for s in a.strategies if s.key == winner), None)
    files = ", ".join(i.path for i in a.inputs[:3]) + (f" +{len(a.inputs) - 3} more" if len(a.inputs) > 3 else "")
    kpis = []
    verdict = (a.recommendation.headline if a.recommendation is not None
               else "No recommendation (no strategies were costed).")
    if win and rec is not None:
        verdict = " ".join(rec.explanation[:2]) or verdict
        kpis = [
            {"label": "recommended", "value": win.name},
            {"label": "payback (80% interval)", "value": days(win.payback_days)},
            {"label": "target · served by", "value": f"{win.target} · {win.served}"},
            {"label": f"{win.horizon_months:.3g}-month net value ({cur}, 80% interval)",
             "value": value_range(win.net_value_12m, cur)},
            {"label": "P(net value > 0) · P(payback ≤ 30 d)",
             "value": f"{pct(win.p_net_positive, 0)} · {pct(win.p_payback_30d, 0)}"},
            {"label": "saving per request", "value": pct(win.per_request_saving_share, 0)},
            {"label": "requests per day", "value": f"{rec.volume_per_day:,.0f}"},
            {"label": "cost per month today", "value": _incomplete(money(a.cost.per_month, cur), unpriced_note(a))},
        ]
    if ev is not None and ev.measured_roi:
        me = ev.measured_roi.measured
        tag = " (proxy)" if ev.measured_roi.proxy else ""
        kpis += [
            {"label": f"measured pass rate: candidate vs incumbent{tag}",
             "value": f"{pct(ev.finetuned.pass_rate, 0)} vs {pct(ev.incumbent.pass_rate, 0)}"},
            {"label": f"measured payback{tag}", "value": f"{me.payback_days:,.0f} d" if me.payback_days is not None
             else "never"},
        ]
    order = {k: i for i, k in enumerate(rec.ranking if rec is not None else [])}
    strategies = [{
        "rank": order.get(s.key, len(order)) + 1, "name": s.name + ("" if s.eligible else " (ruled out)"),
        "target": f"{s.target} · {s.served}",
        "monthly": money(s.monthly_run_cost, cur), "one_time": money(s.one_time_cost, cur),
        "net_monthly": money(s.monthly_net_value.value, cur),
        "payback": days(s.payback_days) if s.eligible else "—",
        "value_12m": value_range(s.net_value_12m, cur) if s.eligible else "—",
        "horizon": f"{s.horizon_months:.3g} mo",
        "p_positive": pct(s.p_net_positive, 0), "p_best": pct(s.p_best, 0),
        "failure_after": pct(s.failure_rate_after),
        "why": (s.eligibility if s.key == winner else s.lost_because or ""),
        "winner": s.key == winner,
    } for s in sorted(a.strategies, key=lambda s: order.get(s.key, 99))
        if s.eligible or s.kind != "portfolio"]
    assumptions = [{"name": r.name, "value": f"{r.display} {r.unit}".strip(), "source": r.source,
                    "note": r.basis or r.description}
                   for r in (a.assumptions.rows if a.assumptions is not None else [])]
    fa = a.failures
    failure_summary = "No failure analysis in this analysis.json."
    if fa is not None:
        failure_summary = (f"{fa.failures:,} of {fa.requests:,} answers failed ({pct(fa.failure_rate)}); "
                           f"structural {pct(fa.shares.structural, 0)}, knowledge {pct(fa.shares.knowledge, 0)}, "
                           f"other {pct(fa.shares.other, 0)}. Consistency {fa.consistency.consistency:.2f} "
                           f"({fa.consistency.verdict}); daily failure rate {fa.trend.verdict}.")
    notes = [
        f"Prices: {a.prices.source}" + (f"; user price file {a.prices.user_file}" if a.prices.user_file else "") + ".",
        f"Tokens: {100 * (1 - a.data_quality.estimated_share):.0f}% of records had provider-reported usage; the rest "
        "were counted offline with tiktoken (estimated, ± the tokenizer's error).",
        "Ranges: " + (rec.monte_carlo.basis if rec is not None and rec.monte_carlo else "central estimates only") + ".",
        _market_note(rec),
        f"Window: {a.window.first:%Y-%m-%d} to {a.window.last:%Y-%m-%d} UTC ({a.window.days} days)." if a.window.first else "",
    ]
    if a.sampling.label:
        notes.append(f"Volumes and money are {a.sampling.label}.")
    if ev is not None and ev.measured_roi and ev.measured_roi.proxy:
        notes.append(f"The measured figures come from {ev.model_measured} fine-tuned on this machine; they are a proxy "
                     f"for the recommended target ({ev.measured_roi.target}) until the adapter is trained there.")
    if ev is not None:
        notes.append(f"Evaluation: {ev.n_examples} held-out inputs sampled from all requests (failed ones included); "
                     f"base and candidate decode greedily on {ev.device} with at most "
                     f"{ev.decoding.get('max_new_tokens', '?')} new tokens ({ev.decoding.get('source', '')}); pass = "
                     f"{ev.pass_definition}; checks from {ev.checks_source}. Rate intervals are exact "
                     "(Clopper–Pearson 95%).")
        if ev.forgetting:
            fg = ev.forgetting
            notes.append(f"Forgetting probe: general-text loss {fg.general_loss_base:.3f} → {fg.general_loss_adapter:.3f} "
                         f"({fg.worst_increase_pct:+.1f}% worst; warning above {fg.threshold_pct:.0f}%)."
                         + (f" {fg.warning}" if fg.warning else ""))
    from advisor import __version__

    return {
        "title": title or "LLM cost and quality: prompting, RAG or fine-tuning?",
        "generated_at": a.generated_at.strftime("%Y-%m-%d %H:%M UTC"), "version": __version__,
        "inputs_line": f"{a.volume.requests:,} logged calls from {files}",
        "verdict": verdict, "kpis": kpis, "cost_note": unpriced_note(a), "measured": _measured(ev, cur) if ev is not None else None,
        "current_state": _current_state(a, cur), "strategies": strategies,
        "charts": _charts(a, cur, winner),
        "flips": [f.text for f in rec.flip_conditions] if rec is not None else [], "assumptions": assumptions,
        "routing": [f"{m} ← {', '.join(fams) or '—'}" for m, fams in (rec.routing if rec is not None else {}).items()],
        "failure_summary": failure_summary, "clusters": _clusters(a), "notes": [n for n in notes if n],
    }
