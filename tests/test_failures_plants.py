"""Planted failure scenarios built from Records: the analysis must recover what was planted."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta

import pytest

from advisor.failures import FailureCollector, LabelIndex, failure_config
from advisor.failures.consistency import RANDOM_MAX, STRUCTURAL_MIN, daily_trend
from advisor.failures.labels import Label
from advisor.kernel.record import Message, Record, SourceRef

START = datetime(2025, 3, 3, tzinfo=UTC)
WORDS = ("amber basalt cedar dune ember fjord garnet harbor indigo juniper kelp lagoon marble nectar onyx "
         "pebble quartz rowan saffron tundra umber velvet willow yarrow zinnia alder birch coral delta "
         "fennel grove hazel iris jade kestrel lotus mesa nutmeg orchid").split()
CONTRACT = {"checks": [
    {"name": "required-fields", "category": "schema", "required_fields": ["sku", "name", "price_eur"]},
    {"name": "price-number", "category": "schema", "must_not_match": r'"price_eur":\s*"'},
]}


def record(i: int, output: str, *, days: int = 7, question: str = "Supplier line: ACME-1 tote, 12 EUR",
           n: int = 1, **kw) -> Record:
    ts = START + timedelta(seconds=int(i * days * 86400 / n))
    kw.setdefault("response_format", {"type": "json_object"})
    return Record(id=f"c{i}", source_format="test", source=SourceRef(file="t", line=i + 1), timestamp=ts,
                  model="gpt-4o", messages=[Message(role="user", content=question)], output=output,
                  finish_reason="stop", **kw)


GOOD = json.dumps({"sku": "ACME-1", "name": "Tote", "price_eur": 12.0})


def structural_plant(n: int = 3000, seed: int = 1):
    """18% structural from 3 signatures (7/6/5) + 3% scattered one-offs (labelled, unique notes)."""
    rng = random.Random(seed)
    recs, labels, planted = [], {}, {"format:json_code_fence": 0, "check:required-fields": 0,
                                     "check:price-number": 0, "one-off": 0}
    for i in range(n):
        u = rng.random()
        if u < 0.07:
            out, key = f"```json\n{GOOD}\n```", "format:json_code_fence"
        elif u < 0.13:
            out, key = json.dumps({"name": "Tote", "price_eur": 12.0}), "check:required-fields"
        elif u < 0.18:
            out, key = json.dumps({"sku": "ACME-1", "name": "Tote", "price_eur": "12 EUR"}), "check:price-number"
        elif u < 0.21:
            out, key = GOOD, "one-off"
            a, b, c = rng.sample(WORDS, 3)
            labels[f"c{i}"] = Label(id=f"c{i}", ok=False, category="other",
                                    note=f"{a.title()} {b} mistaken for {c} in the name")
        else:
            out, key = GOOD, None
        if key:
            planted[key] += 1
        recs.append(record(i, out, n=n))
    return recs, LabelIndex(labels), planted


def random_plant(n: int = 3000, seed: int = 2):
    """5% scattered one-offs of mixed categories, every note different."""
    rng = random.Random(seed)
    recs, labels = [], {}
    for i in range(n):
        if rng.random() < 0.05:
            a, b, c, d = rng.sample(WORDS, 4)
            cat = rng.choice(["format", "style", "other"])
            labels[f"c{i}"] = Label(id=f"c{i}", ok=False, category=cat, note=f"{a} {b} written where {c} {d} belongs")
        recs.append(record(i, GOOD, n=n))
    return recs, LabelIndex(labels)


def run(recs, labels=None, raw=None):
    col = FailureCollector(failure_config(CONTRACT if raw is None else raw), labels)
    for r in recs:
        col.add(r)
    return col.finish()


def test_structural_plant_recovers_each_signature_within_3_points():
    recs, labels, planted = structural_plant()
    fa = run(recs, labels)
    by_sig = {s.signature: s for s in fa.signatures}
    targets = {"format:json_code_fence": 0.07, "check:required-fields": 0.06, "check:price-number": 0.05}
    for sig, target in targets.items():
        assert abs(by_sig[sig].share_of_requests - target) <= 0.03, sig
        assert by_sig[sig].count == planted[sig]  # exact on the realised plant
        assert by_sig[sig].recurring and by_sig[sig].days_seen == 7
    one_off_sigs = [s for s in fa.signatures if s.signature.startswith("label:other:")]
    assert all(not s.recurring for s in one_off_sigs)
    planted_failures = sum(planted.values())
    assert fa.failures == planted_failures
    structural = sum(planted[s] for s in targets) / planted_failures
    assert fa.consistency.consistency == pytest.approx(structural, abs=0.01)
    assert fa.consistency.consistency >= STRUCTURAL_MIN
    assert fa.consistency.verdict == "structural"
    assert fa.shares.knowledge == 0.0
    assert fa.sources.decided_by["checks"] == planted_failures - planted["one-off"]
    assert fa.sources.decided_by["label"] == planted["one-off"]


def test_random_plant_reads_random_and_is_separated_from_structural():
    recs, labels = random_plant()
    fa = run(recs, labels)
    assert fa.failure_rate == pytest.approx(0.05, abs=0.03)
    assert fa.consistency.consistency < RANDOM_MAX
    assert fa.consistency.recurrence < RANDOM_MAX  # one-offs: nothing recurs, whatever the category
    assert fa.consistency.concentration < 0.2
    assert fa.consistency.verdict == "random"
    assert all(c.share_of_requests <= 0.01 for c in fa.clustering.clusters)
    srecs, slabels, _ = structural_plant()
    assert run(srecs, slabels).consistency.consistency - fa.consistency.consistency > STRUCTURAL_MIN - RANDOM_MAX


TOPICS = {
    "outdated": ["Quoted the old {p} monthly price of €{a}; it is €{b} since February.",
                 "Said the {p} installation fee is €{a}, the 2024 figure; now €{b}."],
    "factual": ["Invented a {p} loyalty discount of {a}% that never existed."],
}
PRODUCTS = ["Fibre 100", "Fibre 300", "Fibre 1000", "TV Basic", "Mobile S"]


def knowledge_plant(n: int = 2000, seed: int = 3):
    rng = random.Random(seed)
    recs, labels = [], {}
    for i in range(n):
        p = rng.choice(PRODUCTS)
        q = rng.choice([f"What is the current price of {p}?", f"How much is the installation fee for {p}?",
                        f"Is there a discount on {p} this month?", "Hi, can you help me reset my password?"])
        u = rng.random()
        if u < 0.10:
            note = rng.choice(TOPICS["outdated"]).format(p=p, a=rng.randint(10, 60), b=rng.randint(10, 60))
            labels[f"c{i}"] = Label(id=f"c{i}", ok=False, category="outdated", note=note)
        elif u < 0.16:
            note = TOPICS["factual"][0].format(p=p, a=rng.randint(5, 30))
            labels[f"c{i}"] = Label(id=f"c{i}", ok=False, category="factual", note=note)
        elif u < 0.17:
            labels[f"c{i}"] = Label(id=f"c{i}", ok=False, category="style", note="Too formal greeting.")
        recs.append(record(i, "Fibre 300 costs €32 per month.", question=q, n=n, response_format=None))
    return recs, LabelIndex(labels)


def test_knowledge_plant_points_to_rag():
    recs, labels = knowledge_plant()
    fa = run(recs, labels, raw={})
    assert fa.failure_rate == pytest.approx(0.17, abs=0.03)
    assert fa.shares.knowledge == pytest.approx(16 / 17, abs=0.04)
    assert fa.consistency.verdict == "knowledge"
    assert fa.consistency.consistency < RANDOM_MAX
    assert fa.volatility.knowledge_failure_share >= 0.9
    assert fa.volatility.rag_share >= 0.9
    assert fa.volatility.volatile_request_share == pytest.approx(0.75, abs=0.05)  # 3 of 4 question kinds
    labels_of = [c.label for c in fa.clustering.clusters[:3]]
    assert any("installation" in x for x in labels_of) and any("discount" in x or "loyalty" in x for x in labels_of)


THEMES = {
    "delivery": "Promised next-day delivery for the {p}, which ships in a week.",
    "warranty": "Forgot the two-year warranty line for the {p}.",
    "tone": "Addressed the customer by first name, too casual for a {p} enquiry.",
}


def test_clustering_recovers_three_note_themes():
    rng = random.Random(4)
    items = [p + " " + q for p in ("oak", "linen", "steel", "wool", "glass", "clay") for q in ("lamp", "chair", "rug")]
    recs, labels, truth = [], {}, {}
    for i in range(600):
        theme = list(THEMES)[i % 3] if i % 5 == 0 else None
        if theme:
            note = THEMES[theme].format(p=rng.choice(items))
            labels[f"c{i}"] = Label(id=f"c{i}", ok=False, category="style", note=note)
            truth[f"c{i}"] = theme
        recs.append(record(i, "text", n=600, response_format=None))
    fa = run(recs, LabelIndex(labels), raw={})
    top = fa.clustering.clusters[:3]
    assert len(fa.clustering.clusters) == 3
    assert sorted(c.size for c in top) == [40, 40, 40]
    for c in top:
        assert len({truth[e.id] for e in c.examples}) == 1  # pure clusters
        assert c.share_of_requests == pytest.approx(40 / 600, abs=0.001)
    words = " ".join(c.label for c in top)
    assert "delivery" in words and "warranty" in words


def test_labels_beat_checks_and_unknown_label_ids_are_reported():
    recs = [record(0, "```json\n{}\n```", n=3), record(1, GOOD, n=3), record(2, GOOD, n=3)]
    labels = LabelIndex({"c0": Label(id="c0", ok=True), "c1": Label(id="c1", ok=False, category="factual",
                                                                      note="Wrong price."),
                         "ghost-1": Label(id="ghost-1", ok=False), "ghost-2": Label(id="ghost-2", ok=True)})
    fa = run(recs, labels, raw={})
    assert fa.failures == 1  # c0 fails the JSON check but its label says ok; c1 passes checks, label says bad
    assert fa.sources.label_overrides == 1
    assert fa.signatures[0].signature == "label:factual:wrong_price"
    assert fa.unknown_label_ids.count == 2
    assert set(fa.unknown_label_ids.examples) == {"ghost-1", "ghost-2"}


def test_feedback_decides_when_no_label_and_label_beats_feedback():
    from advisor.kernel.record import Feedback

    down = [Feedback(source="log:thumbs", ok=False, note="Wrong tone")]
    up = [Feedback(source="langfuse-score", score=0.9, name="quality")]
    recs = [record(0, GOOD, n=3, feedback=down), record(1, "not json", n=3, feedback=up),
            record(2, GOOD, n=3, feedback=down)]
    col = FailureCollector(failure_config({"min_score": 0.5}), LabelIndex({"c2": Label(id="c2", ok=True)}))
    for r in recs:
        col.add(r)
    fa = col.finish()
    assert fa.failures == 1 and fa.sources.decided_by == {"label": 0, "feedback": 1, "checks": 0}
    assert fa.signatures[0].signature.startswith("feedback:")


def _days(rates: list[float], n: int, seed: int) -> list[tuple[str, int, int]]:
    rng = random.Random(seed)
    return [((START + timedelta(days=d)).date().isoformat(), n, sum(rng.random() < p for _ in range(n)))
            for d, p in enumerate(rates)]


def test_daily_trend_stable_drifting_bursty():
    assert daily_trend(_days([0.1] * 14, 400, 5)).verdict == "stable"
    drift = daily_trend(_days([0.05 + 0.015 * d for d in range(14)], 400, 6))
    assert drift.verdict == "drifting" and drift.slope_per_day > 0
    burst = daily_trend(_days([0.05] * 6 + [0.3] + [0.05] * 7, 400, 7))
    assert burst.verdict == "bursty" and burst.burst_days == ["2025-03-09"]
    assert daily_trend(_days([0.1, 0.1], 400, 8)).verdict == "insufficient"


def test_no_failures_and_empty_stream():
    fa = run([record(i, GOOD, n=20) for i in range(20)])
    assert fa.failures == 0 and fa.consistency.verdict == "none" and fa.signatures == []
    empty = FailureCollector().finish()
    assert empty.requests == 0 and empty.failure_rate == 0.0
