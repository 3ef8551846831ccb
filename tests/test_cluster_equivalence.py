"""Failure-text clustering does scikit-learn's maths without importing scikit-learn: same bits, same clusters.

advisor/failures/cluster.py reimplements TfidfVectorizer → cosine_distances → AgglomerativeClustering(average,
distance threshold) so that `advise analyze` does not pay ~0.5 s of CPU importing scikit-learn (and ~70 ms for
scipy.cluster). These tests run scikit-learn itself on the bundled examples' reviewer notes and on synthetic notes
big enough to hit every branch (more than MAX_FEATURES terms, more than MAX_UNIQUE texts, many tied distances), and
demand equal arrays; the average linkage is compared with scipy's, node for node.
"""

from __future__ import annotations

import gzip
import json
import random
from pathlib import Path

import numpy as np
import pytest

from advisor.failures import cluster

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def _sklearn_matrix(texts: list[str]):
    from sklearn.feature_extraction.text import TfidfVectorizer

    vec = TfidfVectorizer(stop_words="english", sublinear_tf=True, ngram_range=(1, 2),
                          token_pattern=cluster.TOKEN_RE.pattern, max_features=cluster.MAX_FEATURES)
    return vec.fit_transform(texts), list(vec.get_feature_names_out())


def _sklearn_labels(matrix, threshold: float) -> list[int]:
    from sklearn.cluster import AgglomerativeClustering
    from sklearn.metrics.pairwise import cosine_distances

    dist = cosine_distances(matrix).astype("float32")
    model = AgglomerativeClustering(n_clusters=None, metric="precomputed", linkage="average",
                                    distance_threshold=threshold)
    return [int(x) for x in model.fit_predict(dist)]


def _assert_same_linkage(dist) -> None:
    from scipy.cluster.hierarchy import linkage

    i, j = np.triu_indices(dist.shape[0], k=1)
    assert np.array_equal(cluster.average_linkage(dist), linkage(dist[i, j], method="average"))


def _example_notes() -> list[str]:
    notes = []
    for path in sorted(EXAMPLES.glob("*/labels.jsonl.gz")):
        with gzip.open(path, "rt", encoding="utf-8") as fh:
            notes += [n for line in fh if (n := json.loads(line).get("note"))]
    return notes


def _synthetic(seed: int, n: int, vocab: int, length: int) -> list[str]:
    rng = random.Random(seed)
    letters = "abcdefghijklmnopqrstuvwxyzé"
    words = ["".join(rng.choice(letters) for _ in range(rng.randint(2, 9))) for _ in range(vocab)]
    common = ["the", "and", "is", "not", "missing", "sku", "refund", "wrong", "order", "€15"]
    return [" ".join(rng.choice(words if rng.random() < 0.7 else common) for _ in range(rng.randint(1, length)))
            for _ in range(n)]


def _assert_same(texts: list[str]) -> None:
    texts = sorted({cluster._clean(t) for t in texts})
    want, want_terms = _sklearn_matrix(texts)
    got, got_terms = cluster.tfidf(texts)
    assert got_terms == want_terms
    assert np.array_equal(got.indptr, want.indptr)
    assert np.array_equal(got.indices, want.indices)
    assert np.array_equal(got.data, want.data)  # bit for bit, not approximately
    head = got[: cluster.MAX_UNIQUE]
    assert (head.to_scipy() != want[: cluster.MAX_UNIQUE]).nnz == 0
    if head.shape[0] > 1:
        from sklearn.metrics.pairwise import cosine_distances

        want_dist = cosine_distances(head.to_scipy()).astype("float32")
        dist = cluster._cosine_distances(head)
        assert np.array_equal(dist, want_dist)
        # both ways of taking the product (numpy below SCIPY_PRODUCT_FROM, scipy above) give those bits
        for limit in (-1, 10**12):
            with pytest.MonkeyPatch.context() as mp:
                mp.setattr(cluster, "SCIPY_PRODUCT_FROM", limit)
                assert np.array_equal(cluster._cosine_distances(head), want_dist)
        _assert_same_linkage(dist)
        for threshold in (cluster.DISTANCE_THRESHOLD, 0.3, 0.95):
            ours = cluster._average_linkage_labels(cluster._cosine_distances(head), threshold)
            assert ours == _sklearn_labels(head.to_scipy(), threshold)


def test_example_notes_match_scikit_learn() -> None:
    notes = _example_notes()
    assert len(set(notes)) > 100  # the examples carry real reviewer notes
    _assert_same(notes)


@pytest.mark.parametrize(("seed", "n", "vocab", "length"), [
    (0, 40, 5, 3),  # a tiny vocabulary: many exactly tied distances
    (1, 300, 200, 12),
    (2, 120, 60, 300),  # long texts
    (3, 1800, 8000, 25),  # > MAX_FEATURES terms (the most-frequent cut) and > MAX_UNIQUE texts
])
def test_synthetic_notes_match_scikit_learn(seed: int, n: int, vocab: int, length: int) -> None:
    _assert_same(_synthetic(seed, n, vocab, length))


@pytest.mark.parametrize("seed", range(6))
def test_average_linkage_equals_scipys(seed: int) -> None:
    """Random distance matrices, some on a coarse grid so that many distances tie exactly."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 120))
    points = rng.random((n, 3))
    dist = np.sqrt(((points[:, None, :] - points[None, :, :]) ** 2).sum(-1)).astype("float32")
    if seed % 2:
        dist = np.round(dist * 4) / 4  # ties everywhere
    np.fill_diagonal(dist, 0.0)
    _assert_same_linkage(dist)


def test_only_stop_words_raise_like_scikit_learn() -> None:
    with pytest.raises(ValueError):
        _sklearn_matrix(["the and", "is not 12"])
    with pytest.raises(ValueError):
        cluster.tfidf(["the and", "is not 12"])
    items = [cluster.TextItem(record_id=str(i), text=t, excerpt=t, category="c")
             for i, t in enumerate(["the and", "is not 12"])]
    assert [c.label for c in cluster.cluster_texts(items)] == ["unlabelled", "unlabelled"]


def test_row_normalisation_matches_scikit_learn() -> None:
    from scipy import sparse
    from sklearn.preprocessing import normalize

    m = sparse.random(300, 500, density=0.05, random_state=7, format="csr")
    m.data *= 1e3
    m = sparse.vstack([m, sparse.csr_matrix((1, 500))]).tocsr()  # an empty row stays empty
    want = normalize(m)
    cluster._normalize_rows(m.data, m.indptr)
    assert np.array_equal(m.data, want.data)


def test_stop_words_are_scikit_learns() -> None:
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    assert cluster.STOP_WORDS == ENGLISH_STOP_WORDS


def _scipy_top_terms(matrix, rows: list[int], weights: list[int], vocab: list[str], k: int) -> list[str]:
    """The label terms as cluster.py computed them before, with scipy.sparse slicing and column sums per group."""
    sub = matrix[rows]
    centroid = np.asarray(sub.multiply(np.asarray(weights, dtype=float)[:, None]).sum(axis=0)).ravel()
    terms: list[str] = []
    for i in np.argsort(-centroid, kind="stable"):
        if centroid[i] <= 0 or len(terms) >= k:
            break
        if any(vocab[i] in t or t in vocab[i] for t in terms):
            continue
        terms.append(vocab[i])
    return terms


@pytest.mark.parametrize("seed", range(3))
def test_label_terms_equal_per_group_sparse_sums(seed: int) -> None:
    rng = np.random.default_rng(seed)
    texts = sorted(set(_synthetic(seed, 600, 40 + 200 * seed, 10)))
    matrix, vocab = cluster.tfidf(texts)
    labels = rng.integers(0, 60, len(texts)).tolist()  # groups of many rows, so sums of many near-equal terms
    groups: dict[int, list[int]] = {}
    for row, lab in enumerate(labels):
        groups.setdefault(lab, []).append(row)
    weights = rng.integers(1, 9, len(texts)).tolist()
    got = cluster._top_terms(matrix, list(groups.values()), weights, vocab)
    want = [_scipy_top_terms(matrix.to_scipy(), rows, [weights[r] for r in rows], vocab, cluster.LABEL_TERMS)
            for rows in groups.values()]
    assert got == want


def test_cluster_texts_past_max_unique_same_with_either_product() -> None:
    """End to end with more than MAX_UNIQUE distinct texts (the tail joins clusters through scipy.sparse):
    the numpy and the scipy product for the head give the same clusters."""
    texts = _synthetic(3, 1800, 8000, 25)
    assert len({cluster._clean(t) for t in texts}) > cluster.MAX_UNIQUE
    items = [cluster.TextItem(record_id=str(i), text=t, excerpt=t[:40], category="format") for i, t in enumerate(texts)]
    runs = []
    for limit in (-1, 10**12):
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(cluster, "SCIPY_PRODUCT_FROM", limit)
            runs.append([(c.label, c.size, [m.record_id for m in c.members]) for c in cluster.cluster_texts(items)])
    assert runs[0] == runs[1] and len(runs[0]) > 1
