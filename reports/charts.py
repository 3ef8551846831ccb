"""Report charts as matplotlib `Figure` objects — never pyplot's global state, so reports render
in threads, tests and servers without a display. Inputs are plain numbers; each chart labels its
axes with units and takes the currency explicitly."""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from datetime import date
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

PALETTE = ["#2563eb", "#16a34a", "#f59e0b", "#dc2626", "#7c3aed", "#0891b2", "#db2777", "#4b5563"]


def _figure(width: float = 8.0, height: float = 4.2) -> Figure:
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=110, layout="constrained", facecolor="white")


def _style(ax) -> None:
    ax.spines["top"].set_visible(False)
    ax.spines["right"].set_visible(False)
    ax.grid(axis="y", alpha=0.25)
    ax.tick_params(labelsize=10)


def money(x: float, currency: str) -> str:
    sym = {"USD": "$", "EUR": "€", "GBP": "£"}.get(currency, "")
    if abs(x) >= 1_000_000:
        s = f"{x / 1_000_000:,.2f}M"
    elif abs(x) >= 10_000:
        s = f"{x / 1_000:,.1f}k"
    else:
        s = f"{x:,.0f}" if abs(x) >= 100 else f"{x:,.2f}"
    return f"{sym}{s}" if sym else f"{s} {currency}"


def monthly_cost_by_strategy(names: Sequence[str], monthly: Sequence[float], currency: str,
                             low: Sequence[float] | None = None, high: Sequence[float] | None = None,
                             highlight: str | None = None) -> Figure:
    """Horizontal bars of the monthly run cost per strategy, with the bootstrap range as error bars."""
    fig = _figure(8, 0.6 * len(names) + 1.6)
    ax = fig.add_subplot()
    ys = list(range(len(names)))
    colors = [PALETTE[0] if n != highlight else PALETTE[1] for n in names]
    xerr = None
    if low is not None and high is not None:
        xerr = [[max(0.0, m - lo) for m, lo in zip(monthly, low, strict=True)],
                [max(0.0, hi - m) for m, hi in zip(monthly, high, strict=True)]]
    ax.barh(ys, monthly, color=colors, xerr=xerr, capsize=4, ecolor="#374151")
    ax.set_yticks(ys, labels=list(names))
    ax.invert_yaxis()
    for y, v in zip(ys, monthly, strict=True):
        ax.annotate(money(v, currency), (v, y), xytext=(6, 0), textcoords="offset points", va="center", fontsize=9)
    ax.set_xlabel(f"run cost per month ({currency})")
    ax.set_title("Monthly cost by strategy")
    _style(ax)
    ax.grid(axis="x", alpha=0.25)
    return fig


def token_composition(labels: Sequence[str], static: Sequence[float], variable: Sequence[float],
                      output: Sequence[float]) -> Figure:
    """Stacked bars of tokens per request: static prompt vs variable input vs output."""
    fig = _figure(8, 0.6 * len(labels) + 1.8)
    ax = fig.add_subplot()
    ys = list(range(len(labels)))
    left = [0.0] * len(labels)
    for vals, name, color in ((static, "static prompt", PALETTE[3]), (variable, "variable input", PALETTE[0]),
                              (output, "output", PALETTE[1])):
        ax.barh(ys, vals, left=left, label=name, color=color)
        left = [a + b for a, b in zip(left, vals, strict=True)]
    ax.set_yticks(ys, labels=list(labels))
    ax.invert_yaxis()
    ax.set_xlabel("tokens per request")
    ax.set_title("Where each request's tokens go")
    ax.legend(loc="lower right", frameon=False, fontsize=9)
    _style(ax)
    ax.grid(axis="x", alpha=0.25)
    return fig


def cumulative_cost(series: Mapping[str, tuple[float, float]], currency: str, months: int = 12,
                    baseline: str | None = None, payback_days: Mapping[str, float | None] | None = None) -> Figure:
    """Cumulative cost over `months` per strategy: one-time cost at day 0 plus the monthly cost.

    `series` maps strategy → (one_time, monthly). Payback points (where a strategy's line crosses the
    baseline's) are marked with a dot and the day.
    """
    fig = _figure(8, 4.4)
    ax = fig.add_subplot()
    days = list(range(0, months * 30 + 1, 5))
    for i, (name, (one_time, monthly)) in enumerate(series.items()):
        ys = [one_time + monthly * d / 30 for d in days]
        ax.plot(days, ys, label=name, color=PALETTE[i % len(PALETTE)],
                linewidth=2.4 if name == baseline else 1.8, linestyle="--" if name == baseline else "-")
        pb = (payback_days or {}).get(name)
        if pb is not None and 0 < pb <= months * 30:
            y = one_time + monthly * pb / 30
            ax.plot([pb], [y], "o", color=PALETTE[i % len(PALETTE)], markersize=7)
            ax.annotate(f"pays back: day {pb:.0f}", (pb, y), xytext=(8, -14), textcoords="offset points", fontsize=9)
    ax.set_xlabel("days from today")
    ax.set_ylabel(f"cumulative cost ({currency})")
    ax.set_title(f"Cumulative cost over {months} months")
    ax.legend(frameon=False, fontsize=9)
    _style(ax)
    return fig


def sensitivity_tornado(rows: Sequence[tuple[str, float, float]], base: float, unit: str = "days") -> Figure:
    """Tornado of payback: for each input, the payback at its low and high value around the base case."""
    fig = _figure(8, 0.55 * max(len(rows), 1) + 1.8)
    ax = fig.add_subplot()
    ys = list(range(len(rows)))
    for y, (_name, lo, hi) in zip(ys, rows, strict=True):
        a, b = min(lo, hi), max(lo, hi)
        ax.barh([y], [b - a], left=[a], color=PALETTE[0], alpha=0.85)
        ax.annotate(f"{lo:.0f} → {hi:.0f}", (b, y), xytext=(6, 0), textcoords="offset points", va="center", fontsize=9)
    ax.axvline(base, color="#111827", linewidth=1.2)
    ax.set_yticks(ys, labels=[r[0] for r in rows])
    ax.invert_yaxis()
    ax.set_xlabel(f"payback ({unit}); line = base case {base:.0f} {unit}")
    ax.set_title("What moves the payback most")
    _style(ax)
    ax.grid(axis="x", alpha=0.25)
    return fig


def failures_over_time(days: Sequence[date | str], by_cluster: Mapping[str, Sequence[float]],
                       unit: str = "failures per day") -> Figure:
    """Stacked area of failures per day by cluster/signature."""
    fig = _figure(8, 4.0)
    ax = fig.add_subplot()
    xs = [str(d) for d in days]
    names = list(by_cluster)
    if names:
        ax.stackplot(range(len(xs)), *[list(by_cluster[n]) for n in names], labels=names,
                     colors=[PALETTE[i % len(PALETTE)] for i in range(len(names))], alpha=0.85)
    step = max(1, len(xs) // 7)
    ax.set_xticks(range(0, len(xs), step), labels=xs[::step], rotation=30, ha="right")
    ax.set_xlabel("day (UTC)")
    ax.set_ylabel(unit)
    ax.set_title("Failures over time by cluster")
    if names:
        ax.legend(frameon=False, fontsize=8, loc="upper left", ncols=2)
    _style(ax)
    return fig


def to_png(fig: Figure) -> bytes:
    """Render a Figure to PNG bytes with the Agg canvas (no GUI, no global state)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", facecolor="white")
    return buf.getvalue()
