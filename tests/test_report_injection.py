"""Report injection (issue 18.10): log-, label- and file-derived text cannot become links, images or HTML.

Every string of a real report context is replaced by payloads from
tests/fixtures/adversarial/markdown_payloads.txt (model names, file names, label notes, failure
excerpts all reach the templates as such strings); the Markdown is then rendered by markdown-it-py
(CommonMark + tables) and the HTML report parsed, and only the templates' own elements may appear.
"""

from __future__ import annotations

import gzip
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from advisor.analyze import analyze_logs
from reports.context import build_context
from reports.render import TEMPLATES, md_escape, render_html, render_markdown
from tests.conftest import ROOT

EXAMPLE = ROOT / "examples" / "ecommerce"
PAYLOADS = [line.replace("\\n", "\n") for line in
            (Path(__file__).parent / "fixtures" / "adversarial" / "markdown_payloads.txt")
            .read_text(encoding="utf-8").splitlines() if line]
OWN_TAGS = {"h1", "h2", "p", "em", "strong", "ul", "li", "table", "thead", "tbody", "tr", "th", "td", "img", "hr",
            "code"}


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.other: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_comment(self, data):
        self.other.append("comment")

    def handle_pi(self, data):
        self.other.append("pi")

    def unknown_decl(self, data):
        self.other.append("decl")


def _poison(value, payloads, path=""):
    """Every string → a payload (cycled); chart PNG bytes left as they are."""
    if isinstance(value, str):
        return payloads[hash(path) % len(payloads)] + " " + value
    if isinstance(value, list):
        return [_poison(v, payloads, f"{path}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, dict):
        return {k: v if k == "png" else _poison(v, payloads, f"{path}.{k}") for k, v in value.items()}
    return value


@pytest.fixture(scope="module")
def ctx():
    from tests.test_report import toy_evaluation

    return build_context(analyze_logs([EXAMPLE]), toy_evaluation())


def _markdown_html(md_text: str) -> tuple[str, list[str]]:
    from markdown_it import MarkdownIt

    md = MarkdownIt("commonmark").enable("table")
    tokens = md.parse(md_text)
    kinds = [t.type for t in tokens] + [c.type for t in tokens for c in (t.children or [])]
    return md.render(md_text), kinds


def _assert_only_own_markup(html: str, chart_prefix: str, n_charts: int) -> None:
    p = _Tags()
    p.feed(html)
    names = [t for t, _ in p.tags]
    assert set(names) <= OWN_TAGS, set(names) - OWN_TAGS
    assert not p.other
    srcs = [a.get("src") or "" for t, a in p.tags if t == "img"]
    assert len(srcs) == n_charts and all(s.startswith(chart_prefix) for s in srcs), srcs


@pytest.mark.parametrize("shift", range(4))
def test_markdown_report_renders_payloads_as_text(ctx, shift):
    payloads = PAYLOADS[shift:] + PAYLOADS[:shift]
    evil = _poison(ctx, payloads)
    md_text = render_markdown(evil, "report_charts")
    html, kinds = _markdown_html(md_text)
    assert "html_block" not in kinds and "html_inline" not in kinds and "link_open" not in kinds
    _assert_only_own_markup(html, "report_charts/", len(ctx["charts"]))
    # table rows keep their columns: an injected | stays text inside one cell
    cells = re.findall(r"<td[^>]*>(.*?)</td>", html, flags=re.S)
    assert any("~~gone~~ | cell | break |" in c for c in cells)


def test_every_payload_alone_stays_one_inline_text():
    from markdown_it import MarkdownIt

    md = MarkdownIt("commonmark").enable("table")
    for payload in PAYLOADS:
        tokens = md.parse(md_escape(payload))
        assert [t.type for t in tokens] == ["paragraph_open", "inline", "paragraph_close"], payload
        assert [c.type for c in tokens[1].children] == ["text"], payload
        assert tokens[1].children[0].content == re.sub(r"\n+", " ", payload).strip(), payload  # shown verbatim


def test_file_name_with_markup_lands_escaped(tmp_path: Path):
    line = gzip.open(EXAMPLE / "openai_chat.jsonl.gz", "rt").readline()
    name = "calls ![t](http:track.example) <img src=x onerror=alert(1)> [a](b).jsonl"
    (tmp_path / name).write_text(line)
    ctx = build_context(analyze_logs([tmp_path / name]), title="Report for <b>[x](y)</b>")
    md_text = render_markdown(ctx, "charts")
    html, kinds = _markdown_html(md_text)
    assert "html_inline" not in kinds and "link_open" not in kinds
    _assert_only_own_markup(html, "charts/", len(ctx["charts"]))
    assert "&lt;img src=x onerror=alert(1)&gt;" in html and "![t](http:track.example)" in html


def test_chart_links_survive_odd_output_names(ctx):
    md_text = render_markdown(ctx, "my report (v2)_charts")
    html, _ = _markdown_html(md_text)
    _assert_only_own_markup(html, "my%20report%20%28v2%29_charts/", len(ctx["charts"]))


def test_html_report_keeps_payloads_as_text(ctx):
    evil = _poison(ctx, PAYLOADS)
    html = render_html(evil)
    p = _Tags()
    p.feed(html)
    names = {t for t, _ in p.tags}
    assert not names & {"script", "a", "iframe", "object", "embed", "link", "base", "form"}
    assert all((a.get("src") or "").startswith("data:image/png;base64,") for t, a in p.tags if t == "img")
    assert not any(k.startswith("on") for _, a in p.tags for k in a)
    template = (TEMPLATES / "report.html.jinja").read_text()
    assert not re.search(r"\|\s*safe\b", template)  # nothing bypasses autoescape


def test_terminal_summary_prints_markup_in_logs_as_text(tmp_path: Path):
    """Model names, file names and failure excerpts are rich markup-free: '[/]' crashed `advise analyze`."""
    from io import StringIO

    from rich.console import Console

    from reports.terminal import print_summary

    evil = "[/] [link=http://evil.example]x[/link] [bold red]"
    lines = []
    for raw in gzip.open(EXAMPLE / "openai_chat.jsonl.gz", "rt").readlines()[:60]:
        rec = json.loads(raw)
        rec["request"]["model"] = "gpt-4o-2024-08-06" + evil
        if isinstance(rec.get("response"), dict):
            rec["response"]["model"] = rec["request"]["model"]
        for choice in (rec.get("response") or {}).get("choices") or []:
            choice["message"]["content"] = (choice["message"].get("content") or "") + " " + evil
        lines.append(json.dumps(rec))
    log = tmp_path / "calls [bold].jsonl"
    log.write_text("\n".join(lines) + "\n")
    a = analyze_logs([log], allow_unpriced=True, config=EXAMPLE / "advise.toml")
    buf = StringIO()
    print_summary(a, Console(file=buf, width=250, color_system=None))
    out = buf.getvalue()
    assert "gpt-4o-2024-08-06[/] [link=http://evil.example]x[/link]" in out and "calls [bold].jsonl" in out
