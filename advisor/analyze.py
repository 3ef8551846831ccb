"""The analysis as users run it: metrics + failure analysis + decision in one streaming pass.

`advise analyze` and `advise run` both call :func:`analyze_logs`, so the figures in the terminal,
in analysis.json and in the report always come from the same code path.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from advisor.analysis import Analysis, build_analysis
from advisor.kernel.config import AdviseConfig, find_config, load_config

LABEL_NAMES = ("labels.jsonl", "labels.jsonl.gz")


def find_labels(paths: Sequence[Path]) -> Path | None:
    """A labels file beside the logs is used automatically (an explicit --labels wins)."""
    for p in paths:
        d = p if p.is_dir() else p.parent
        for name in LABEL_NAMES:
            if (d / name).is_file():
                return d / name
    return None


def resolve_config(paths: Sequence[Path], config: str | Path | AdviseConfig | None) -> AdviseConfig:
    if isinstance(config, AdviseConfig):
        return config
    return load_config(config if config is not None else find_config(list(paths)))


def analyze_logs(paths: Sequence[str | Path], *, format: str | None = None, prices: str | Path | None = None,
                 config: str | Path | AdviseConfig | None = None, since: str | None = None,
                 until: str | None = None, strict: bool = False, allow_unpriced: bool = False,
                 labels: str | Path | None = None, schema: str | Path | None = None,
                 json_output: bool | None = None, overrides: dict[str, Any] | None = None,
                 on_error: Callable[[Exception], None] | None = None,
                 progress: Callable[[int, int], None] | None = None, jobs: int | None = None,
                 chunk_bytes: int | None = None, assume_time: str | None = None,
                 engine: str = "local", address: str | None = None) -> Analysis:
    """Logs → Analysis with `failures`, `strategies`, `recommendation` and `assumptions` filled in."""
    from advisor.decision.strategies.from_analysis import decision_hook
    from advisor.failures import make_collector
    from advisor.pricing import PriceBook

    path_list = [Path(p) for p in paths]
    cfg = resolve_config(path_list, config)
    book = PriceBook(prices)
    label_file = Path(labels) if labels is not None else find_labels(path_list)
    failures = make_collector(cfg, labels=label_file, schema=schema, json_output=json_output, strict=strict)
    if failures.labels is not None and on_error is not None:  # reported like malformed log lines
        for err in failures.labels.bad_lines:
            on_error(err)
    decide = decision_hook(cfg.assumptions, overrides or {}, config_file=str(cfg.path) if cfg.path else None,
                           price_book=book)

    def hook(analysis: Analysis) -> Analysis:
        from advisor.analysis import NoRecommendation
        from advisor.kernel.errors import UnpricedModelError

        try:
            return decide(analysis)
        except UnpricedModelError as exc:  # only reachable with --allow-unpriced: cost unknown → no ROI
            analysis.recommendation = NoRecommendation(headline=f"No recommendation: {exc.message}. The strategies "
                                                       "cannot be costed without a price; add it with --prices.")
            return analysis
    return build_analysis(path_list, format=format, prices=book, since=since, until=until, strict=strict,
                          allow_unpriced=allow_unpriced, config=cfg, on_error=on_error, progress=progress,
                          collectors={"failures": failures}, post_process=hook, jobs=jobs,
                          chunk_bytes=chunk_bytes, assume_time=assume_time, engine=engine,
                          address=address)
