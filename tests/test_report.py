"""Report: figures come from analysis.json/eval.json unchanged, untrusted log text stays text, and the page
loads in a real browser with every chart."""

import gzip
import json
import shutil

import pytest

from advisor.analyze import analyze_logs
from advisor.cli import main
from reports.context import build_context, pct
from reports.render import render_html, render_markdown
from tests.conftest import ROOT
from trainer.evaluation.run import HeldOutExample, compare, score_variant

EXAMPLE = ROOT / "examples" / "ecommerce"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def analysis():
    return analyze_logs([EXAMPLE])


def toy_evaluation():
    from trainer.evaluation.run import Evaluation, fix_rates, incumbent_record, now

    exs = [HeldOutExample(id=str(i), short_messages=[], full_messages=[], incumbent_output="ok" if i >= 6 else "bad",
                          reference="ok", incumbent_ok=i >= 6, cluster="format" if i < 6 else None)
           for i in range(20)]
    checker = lambda text: [] if text == "ok" else ["check:bullets"]  # noqa: E731
    inc = score_variant("incumbent", "gpt-4o", None, "full", exs, [e.incumbent_output for e in exs], [500] * 20,
                        [40] * 20, None, checker, False, ["check:bullets"], kind="text",
                        source="logged production output")
    base = score_variant("base", "base", None, "full", exs, ["bad"] * 15 + ["ok"] * 5, [500] * 20, [40] * 20,
                         [100.0] * 20, checker, False, ["check:bullets"], kind="text")
    ft = score_variant("candidate", "base", "runs/x", "short", exs, ["ok"] * 18 + ["bad"] * 2, [60] * 20, [40] * 20,
                       [80.0] * 20, checker, False, ["check:bullets"], kind="text")
    fixes, broken = fix_rates(exs, inc, ft)
    return Evaluation(generated_at=now(), run_dir="runs/x", test_file="test.jsonl", test_sha256="0" * 64, device="cpu",
                      model_measured="base", checks_source="advise.toml", pass_definition="passes every check",
                      task_kind="text", decoding={"max_new_tokens": 64, "source": "p99"}, n_examples=20,
                      incumbent=inc, baseline=base, finetuned=ft, significance=compare(inc, ft), vs_base=compare(base, ft),
                      incumbent_logged=incumbent_record(exs, 60, 200), fix_rates=fixes, broken=broken,
                      prompt_token_reduction=1 - 60 / 500)


def test_report_figures_equal_the_json(analysis):
    ev = toy_evaluation()
    ctx = build_context(analysis, ev)
    rec = analysis.recommendation
    win = next(s for s in analysis.strategies if s.key == rec.winner)
    assert ctx["kpis"][0]["value"] == win.name
    assert f"{win.payback_days.value:,.0f} d" in ctx["kpis"][1]["value"]
    assert ctx["kpis"][2]["value"] == f"{win.target} · {win.served}"  # which model, served where
    rows = {r["metric"]: r for r in ctx["measured"]["rows"]}
    assert rows["pass rate (checks)"]["candidate"] == pct(ev.finetuned.pass_rate) == "90.0%"
    assert rows["pass rate (checks)"]["base"] == pct(ev.baseline.pass_rate) == "25.0%"
    assert rows["pass rate (checks)"]["incumbent"] == pct(ev.incumbent.pass_rate) == "70.0%"
    # exact intervals: 18/20 → 68–99%, 5/20 → 9–49%, 14/20 → 46–88%
    assert "46–88% / 9–49% / 68–99%" in rows["pass rate (checks)"]["note"]
    assert rows["prompt tokens / request"]["candidate"] == "60"
    assert f"{ev.significance.p_value:.3g}" in ctx["measured"]["summary"]
    assert "30.0% (6/20" in ctx["measured"]["incumbent"] and "60/200" in ctx["measured"]["incumbent"]
    html = render_html(ctx)
    assert "90.0%" in html and win.name in html and "incumbent: gpt-4o (logged)" in html
    assert len(ctx["charts"]) == 5 and {c["id"] for c in ctx["charts"]} == {
        "monthly-cost", "token-composition", "cumulative-cost", "sensitivity", "failures-over-time"}


def test_script_in_logs_renders_as_text(tmp_path):
    line = json.loads(gzip.open(EXAMPLE / "openai_chat.jsonl.gz", "rt").readline())
    evil = "I can't help with that. <script>alert('x')</script> <img src=x onerror=alert(1)>"
    line["response"]["choices"][0]["message"]["content"] = evil
    line["request"]["messages"][-1]["content"] += " <script>steal()</script>"
    logs = tmp_path / "logs.jsonl"
    logs.write_text(json.dumps(line) + "\n")
    a = analyze_logs([logs])
    assert "<script>" in a.failures.model_dump_json()  # the raw text is in the analysis …
    ctx = build_context(a)
    html = render_html(ctx)
    assert "<script>" not in html and "onerror=alert" not in html.replace("&lt;img src=x onerror=alert", "")
    assert "&lt;script&gt;alert" in html  # … and shown as text
    md = render_markdown(ctx, "charts")
    assert "<script>" not in md and "&lt;script&gt;" in md


def test_report_cli_html_and_markdown(tmp_path, analysis):
    a_path = tmp_path / "analysis.json"
    a_path.write_text(analysis.model_dump_json())
    assert main(["report", str(a_path), "-o", str(tmp_path / "r.html")]) == 0
    assert main(["report", str(a_path), "-o", str(tmp_path / "r.html")]) == 1  # no silent overwrite
    assert main(["report", str(a_path), "-o", str(tmp_path / "r.md")]) == 0
    md = (tmp_path / "r.md").read_text()
    assert "| # | strategy |" in md and "r_charts/monthly-cost.png" in md
    assert (tmp_path / "r_charts" / "sensitivity.png").stat().st_size > 1000


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium not installed (setup.sh installs it with ADVISE_SETUP_BROWSER=1)")
def test_html_report_loads_in_headless_chromium(tmp_path, analysis):
    from playwright.sync_api import sync_playwright

    page_file = tmp_path / "report.html"
    page_file.write_text(render_html(build_context(analysis, toy_evaluation())))
    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run"])
        page = browser.new_page(viewport={"width": 1100, "height": 900})
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("requestfailed", lambda r: errors.append(f"request failed: {r.url}"))
        page.goto(page_file.as_uri())
        images = page.evaluate("Array.from(document.images).map(i => [i.dataset.chart, i.complete, i.naturalWidth])")
        title = page.title()
        page.screenshot(path=str(tmp_path / "shot.png"), full_page=True)
        browser.close()
    assert title.startswith("LLM cost and quality")
    assert len(images) == 5 and all(ok and w > 300 for _, ok, w in images), images
    assert errors == []
    assert (tmp_path / "shot.png").stat().st_size > 50_000
