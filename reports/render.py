"""Render a report context to a self-contained HTML page or Markdown + PNG files.

Log text is untrusted: HTML goes through Jinja's autoescape (a `<script>` in a prompt renders as
text), and the page's Content-Security-Policy forbids scripts and any network fetch. Markdown
cells escape `|`, `<`, `>` and newlines so a log line cannot break a table or inject HTML.
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

from advisor.io import atomic_write_bytes, atomic_write_text

TEMPLATES = Path(__file__).parent / "templates"


def _md_escape(value: Any) -> str:
    s = "" if value is None else str(value)
    s = s.replace("\\", "\\\\").replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")
    s = s.replace("`", "\\`").replace("\r", " ").replace("\n", " ")
    return s


def _env(autoescape: bool):
    from jinja2 import Environment, FileSystemLoader, StrictUndefined

    env = Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=autoescape,
                      undefined=StrictUndefined, trim_blocks=False, lstrip_blocks=False)
    env.filters["md"] = _md_escape
    return env


def render_html(ctx: dict[str, Any]) -> str:
    """One HTML file: charts inlined as data: URIs, no scripts, no external resources."""
    charts = [dict(c, png_b64=base64.b64encode(c["png"]).decode("ascii")) for c in ctx.get("charts", [])]
    return _env(autoescape=True).get_template("report.html.jinja").render(ctx={**ctx, "charts": charts})


def render_markdown(ctx: dict[str, Any], chart_dir_name: str) -> str:
    charts = [dict(c, file=f"{chart_dir_name}/{c['id']}.png") for c in ctx.get("charts", [])]
    return _env(autoescape=False).get_template("report.md.jinja").render(ctx={**ctx, "charts": charts})


def write_report(ctx: dict[str, Any], out: Path, fmt: str, *, overwrite: bool = True) -> list[Path]:
    """Write the report atomically; Markdown also writes its PNG charts beside it. Returns files written.

    `overwrite=False` publishes the report file create-exclusive (no --force given).
    """
    if fmt == "html":
        atomic_write_text(out, render_html(ctx), overwrite=overwrite)
        return [out]
    chart_dir = out.with_name(out.stem + "_charts")
    written = []
    for c in ctx.get("charts", []):
        p = chart_dir / f"{c['id']}.png"
        atomic_write_bytes(p, c["png"])
        written.append(p)
    atomic_write_text(out, render_markdown(ctx, chart_dir.name), overwrite=overwrite)
    return [out, *written]
