"""Render a report context to a self-contained HTML page or Markdown + PNG files.

Log text is untrusted: HTML goes through Jinja's autoescape (a `<script>` in a prompt renders as
text), and the page's Content-Security-Policy forbids scripts and any network fetch. Markdown has no
autoescape, so its environment *finalizes* every ``{{ … }}`` through :func:`md_escape`: model names,
file names, label notes and failure excerpts cannot open a link, an image (a tracking pixel), raw
HTML or a new table row or block, whether or not the template remembered a filter.
"""

from __future__ import annotations

import base64
import re
from pathlib import Path
from typing import Any
from urllib.parse import quote

from advisor.kernel.io import atomic_write_bytes, atomic_write_text

TEMPLATES = Path(__file__).parent / "templates"


class MdSafe(str):
    """Text already escaped for Markdown (finalize passes it through unchanged)."""


# inline syntax: emphasis, code, links/images, strikethrough, tables, autolinks and raw HTML
_MD_INLINE = re.compile(r"([\\`*_\[\]()!~|{}])")
_LINE_BREAKS = re.compile(r"[\r\n\v\f\x1c-\x1e\x85\u2028\u2029]+")
_BLOCK_MARKER = re.compile(r"^([#+-])(?=\s|$)|^(\d{1,9})([.)])(?=\s|$)|^([=-]+)\s*$")
_URL_SCHEME = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*):(?=//)|\b(www)\.")


def _block_marker(m: re.Match[str]) -> str:
    if m.group(1):
        return "\\" + m.group(1)  # "# x" heading, "- x" / "+ x" list item
    if m.group(2):
        return m.group(2) + "\\" + m.group(3)  # "1. x" ordered list
    return "\\" + m.group(4)  # "===" setext underline


def md_escape(value: Any) -> MdSafe:
    """One escape for every value in the Markdown report (idempotent on MdSafe).

    `<`, `>`, `&` become entities (no raw HTML, no <autolink>), Markdown punctuation gets a
    backslash (no link, image, emphasis, code span or table cell break), line breaks become spaces
    and a leading block marker (`# `, `- `, `1. `) is escaped, so one value stays one inline run.
    The colon of ``scheme://`` and the dot of ``www.`` are escaped too, against renderers that
    linkify bare URLs.
    """
    if isinstance(value, MdSafe):
        return value
    s = "" if value is None else str(value)
    s = s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    s = _MD_INLINE.sub(r"\\\1", s)
    s = _LINE_BREAKS.sub(" ", s).strip()
    s = _URL_SCHEME.sub(lambda m: f"{m.group(1)}\\:" if m.group(1) else f"{m.group(2)}\\.", s)
    return MdSafe(_BLOCK_MARKER.sub(_block_marker, s))


def md_url(value: Any) -> MdSafe:
    """A relative link destination (chart files named after the output file): percent-encoded."""
    return MdSafe(quote(str(value), safe="/._-"))


def _md_finalize(value: Any) -> Any:
    return md_escape(value)


def _env(autoescape: bool):
    from jinja2 import Environment, FileSystemLoader, StrictUndefined

    env = Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=autoescape,
                      undefined=StrictUndefined, trim_blocks=False, lstrip_blocks=False,
                      finalize=None if autoescape else _md_finalize)
    env.filters["md"] = md_escape
    env.filters["md_url"] = md_url
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
