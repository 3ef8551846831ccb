"""End to end: the generated example logs → build_analysis → glue → decision.

Support and lowvolume price a failure in their advise.toml (a support agent's follow-up contact, a reviewer's
minute); at one retry instead, RAG and a longer prompt would cost more than they fix (tests/test_decide.py).
"""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXPECTED = {"ecommerce": "fine-tune", "support": "rag", "lowvolume": "prompting", "caching": "caching",
            "plant-structural": "structured-outputs"}


@pytest.mark.slow
@pytest.mark.parametrize("name", list(EXPECTED))
def test_example_logs_pick_the_expected_strategy(name: str) -> None:
    from advisor.analysis import build_analysis
    from advisor.decision.strategies.from_analysis import decision_hook
    from advisor.failures.collector import make_collector
    from advisor.kernel.config import find_config, load_config

    directory = ROOT / "examples" / name
    cfg = load_config(find_config([directory]))
    labels = next(iter(directory.glob("labels.jsonl*")), None)
    analysis = build_analysis([directory], config=cfg, collectors={"failures": make_collector(cfg, labels=labels)},
                              post_process=decision_hook(cfg.assumptions))
    winner = analysis.recommendation.winner
    kinds = {s.key: s.kind for s in analysis.strategies}
    members = winner.split("+")
    assert EXPECTED[name] in [kinds[m] for m in members], analysis.recommendation.explanation
    assert analysis.strategies[0].key == winner
    rows = analysis.assumptions.rows
    assert {r.source for r in rows} >= {"measured", "default"}
    assert analysis.recommendation.currency == "USD"
