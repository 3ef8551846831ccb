"""Hand-computed checks for every evaluation metric (issue 9: toy run gives known numbers exactly)."""

import math

import pytest

from trainer.evaluation import metrics as m


def test_exact_and_normalised_match():
    assert m.exact_match("Hello world", " Hello world\n")
    assert not m.exact_match("Hello  world", "Hello world")
    assert m.normalised_match("Hello   WORLD ", "hello world")
    assert not m.normalised_match("hello world!", "hello world")


def test_parse_json_tolerates_fence_and_rejects_garbage():
    assert m.parse_json('```json\n{"a": 1}\n```') == {"a": 1}
    assert m.parse_json('{"a": 1') is None
    assert m.parse_json("") is None


def test_field_scores_hand_computed():
    pred = {"title": "Lamp", "price": 39, "tags": ["a", "b"]}
    ref = {"title": "lamp", "price": 40, "tags": ["a", "c"], "colour": "red"}
    s = m.field_scores(pred, ref)
    # leaves pred: title, price, tags[0], tags[1]; ref: title, price, tags[0], tags[1], colour
    # matches (normalised strings): title, tags[0] → tp=2, fp=2, fn=3
    assert (s.tp, s.fp, s.fn) == (2, 2, 3)
    assert s.precision == pytest.approx(0.5)
    assert s.recall == pytest.approx(0.4)
    assert s.f1 == pytest.approx(2 * 0.5 * 0.4 / 0.9)


def test_micro_field_scores_counts_invalid_prediction_as_all_missed():
    s = m.micro_field_scores([({"a": 1}, {"a": 1}), (None, {"a": 1, "b": 2})])
    assert (s.tp, s.fp, s.fn) == (1, 0, 2)


def test_mcnemar_exact_hand_computed():
    base = [True] * 1 + [False] * 9 + [True] * 5
    cand = [False] * 1 + [True] * 9 + [True] * 5
    r = m.mcnemar(base, cand)
    assert (r.b, r.c) == (1, 9)
    # P(X<=1), X~Bin(10, .5) = (1 + 10) / 1024; two-sided doubles it
    assert r.p_value == pytest.approx(22 / 1024)
    assert r.method == "exact-binomial"


def test_mcnemar_chi2_matches_scipy():
    from scipy.stats import chi2

    base = [True] * 10 + [False] * 50
    cand = [False] * 10 + [True] * 50
    r = m.mcnemar(base, cand)
    assert r.method == "chi2-continuity"
    assert r.p_value == pytest.approx(chi2.sf((40 - 1) ** 2 / 60, 1), rel=1e-9)


def test_mcnemar_no_discordant_pairs_is_not_significant():
    assert m.mcnemar([True, False], [True, False]).p_value == 1.0
    with pytest.raises(ValueError):
        m.mcnemar([True], [True, False])


def test_bootstrap_ci_brackets_mean_and_is_deterministic():
    vals = [0.0] * 30 + [1.0] * 70
    lo, hi = m.bootstrap_ci(vals, seed=1)
    assert lo < 0.7 < hi
    assert (lo, hi) == m.bootstrap_ci(vals, seed=1)
    assert 0.55 < lo and hi < 0.85
    assert all(math.isnan(x) for x in m.bootstrap_ci([]))


def test_paired_diff_ci_positive_when_candidate_better():
    a = [0.0] * 40 + [1.0] * 10
    b = [1.0] * 45 + [0.0] * 5
    lo, hi = m.paired_diff_ci(a, b, seed=0)
    assert lo > 0


def test_clopper_pearson_40_of_40_is_91_to_100():
    lo, hi = m.clopper_pearson(40, 40)
    assert round(100 * lo) == 91 and hi == 1.0
    lo, hi = m.clopper_pearson(0, 40)
    assert lo == 0.0 and round(100 * hi) == 9
    # 10/20: the textbook exact interval 0.272–0.728
    lo, hi = m.clopper_pearson(10, 20)
    assert lo == pytest.approx(0.2720, abs=1e-4) and hi == pytest.approx(0.7280, abs=1e-4)


def test_chrf_hand_computed():
    assert m.chrf("abc", "abc") == pytest.approx(1.0)
    assert m.chrf("xyz", "abc") == 0.0
    # pred "ab", ref "abc": n=1 P=2/2 R=2/3; n=2 P=1/1 R=1/2; n=3 pred has none → P=0, R=0 (ref has 1)
    # orders 4..6 have no n-grams on either side and are skipped.
    p, r = (1 + 1 + 0) / 3, (2 / 3 + 1 / 2 + 0) / 3
    assert m.chrf("ab", "abc") == pytest.approx(5 * p * r / (4 * p + r))
    assert m.chrf("a b c", "abc") == pytest.approx(1.0)  # whitespace ignored


def test_field_f1_hand_made_pair():
    pred = {"name": "Oslo Lamp", "material": "oak", "price": 49, "tags": ["warm"]}
    ref = {"name": "oslo lamp", "material": "aluminium", "price": 49, "tags": ["warm", "dimmable"]}
    s = m.field_scores(pred, ref)
    # pred leaves 4, ref leaves 5; equal: name (normalised), price, tags[0] → tp 3, fp 1, fn 2
    assert (s.tp, s.fp, s.fn) == (3, 1, 2)
    assert s.f1 == pytest.approx(2 * (3 / 4) * (3 / 5) / (3 / 4 + 3 / 5))  # = 2/3
    assert s.f1 == pytest.approx(2 / 3)
    assert not m.exact_json_match(pred, ref) and m.exact_json_match(ref, dict(ref))


def test_label_scores_accuracy_and_macro_f1():
    acc, f1 = m.label_scores(["a", "a", "b", "b"], ["a", "b", "b", "b"])
    assert acc == pytest.approx(0.75)
    # class a: P=1/2 R=1/1 F=2/3; class b: P=2/2 R=2/3 F=0.8 → macro (2/3+0.8)/2
    assert f1 == pytest.approx((2 / 3 + 0.8) / 2)


def test_paired_bootstrap_sign_and_interval():
    a = [0.0] * 20
    b = [1.0] * 15 + [0.0] * 5
    mean, (lo, hi), p = m.paired_bootstrap(a, b)
    assert mean == pytest.approx(0.75) and 0.5 < lo <= 0.75 <= hi <= 0.95 and p < 0.01
    mean, _, p = m.paired_bootstrap([1.0, 0.0] * 10, [0.0, 1.0] * 10)
    assert mean == 0 and p == 1.0
