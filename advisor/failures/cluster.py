"""Group free-text failures (reviewer notes, outputs flagged bad) into readable themes.

TF-IDF over words and word pairs (numbers dropped, so "€15" and "€10" notes about the same fee
meet), then average-linkage agglomerative clustering on cosine distance with a distance
threshold, so the number of clusters is chosen by the data: near-identical notes merge,
one-offs stay alone. Deterministic (no random init).

Memory is bounded: texts arrive through a seeded reservoir (``capacity`` items, default
4,000); identical texts are clustered once with a weight; at most ``MAX_UNIQUE`` distinct texts
(default 1,500) enter the O(n²) distance matrix, the rest join their nearest cluster. Sizes
from a sample are scaled back to the full count (``sampled`` says so).
"""

from __future__ import annotations

import hashlib
import heapq
import sys
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from advisor.failures.signatures import ID_RE, QUOTED_RE, URL_RE

DISTANCE_THRESHOLD = 0.75
MAX_UNIQUE = 1500
ASSIGN_BLOCK = 256  # texts beyond MAX_UNIQUE matched to the clusters per block
LABEL_TERMS = 4


@dataclass(frozen=True, slots=True)
class TextItem:
    record_id: str
    text: str  # what is clustered (note, or the bad output)
    excerpt: str  # what people see
    category: str


class TextReservoir:
    """Uniform sample of at most `capacity` items from a stream, mergeable across pieces of the stream.

    Bottom-k sampling: each item gets a pseudo-random key from a hash of its record id and text,
    and the `capacity` smallest keys are kept. Which items are kept does not depend on how the stream was
    cut into pieces, so pieces read in other processes merge into exactly the sample of one pass.
    `items` come back in stream order.
    """

    def __init__(self, capacity: int = 4000, seed: int = 0) -> None:
        self.capacity = capacity
        self.seed = seed
        self.seen = 0
        self._heap: list[tuple[int, int, TextItem]] = []  # (-key, stream position, item): a max-heap on key

    def _key(self, item: TextItem) -> int:
        h = hashlib.blake2b(f"{self.seed}\x1f{item.record_id}\x1f".encode("utf-8", "surrogatepass"),
                            digest_size=8)
        h.update(item.text.encode("utf-8", "surrogatepass"))
        return int.from_bytes(h.digest(), "big")

    def add(self, item: TextItem) -> None:
        self._offer(self._key(item), self.seen, item)
        self.seen += 1

    def _offer(self, key: int, position: int, item: TextItem) -> None:
        heap = self._heap
        if len(heap) < self.capacity:
            heapq.heappush(heap, (-key, position, item))
        elif -key > heap[0][0]:
            heapq.heapreplace(heap, (-key, position, item))

    def merge(self, later: TextReservoir) -> None:
        """Add the sample of the stream's next piece (positions continue after ours)."""
        for neg_key, position, item in later._heap:
            self._offer(-neg_key, self.seen + position, item)
        self.seen += later.seen

    @property
    def items(self) -> list[TextItem]:
        return [item for _, _, item in sorted(self._heap, key=lambda e: e[1])]

    @property
    def scale(self) -> float:
        return self.seen / len(self._heap) if self._heap else 1.0


@dataclass
class TextCluster:
    label: str
    size: float  # estimated count in the full stream
    members: list[TextItem]
    category: str
    terms: list[str]


def _top_terms(matrix, rows: list[int], weights: list[int], vocab: list[str], k: int = LABEL_TERMS) -> list[str]:
    import numpy as np

    sub = matrix[rows]
    w = np.asarray(weights, dtype=float)[:, None]
    centroid = np.asarray(sub.multiply(w).sum(axis=0)).ravel()
    order = np.argsort(-centroid, kind="stable")
    terms: list[str] = []
    for i in order:
        if centroid[i] <= 0 or len(terms) >= k:
            break
        term = vocab[i]
        if any(term in t or t in term for t in terms):  # "sku missing" vs "sku": keep the more specific once
            continue
        terms.append(term)
    return terms


@contextmanager
def _without_pandas() -> Iterator[None]:
    """Import scikit-learn without pandas where pandas is not loaded yet: sklearn only probes for it (to accept
    DataFrames, which advise never passes), and pandas with pyarrow adds ~60 MB to the analysis' peak memory.
    A later `import pandas` works as usual."""
    if "pandas" in sys.modules:
        yield
        return
    sys.modules["pandas"] = None  # type: ignore[assignment]  # makes `import pandas` raise ImportError
    try:
        yield
    finally:
        if "pandas" in sys.modules and sys.modules["pandas"] is None:
            del sys.modules["pandas"]


def cluster_texts(items: list[TextItem], *, scale: float = 1.0,
                  distance_threshold: float = DISTANCE_THRESHOLD) -> list[TextCluster]:
    """Clusters, biggest first; singletons are returned too (callers decide what to show)."""
    if not items:
        return []
    by_text: dict[str, list[TextItem]] = defaultdict(list)
    for it in items:
        by_text[_clean(it.text)].append(it)
    texts = sorted(by_text, key=lambda t: (-len(by_text[t]), t))  # deterministic order
    head, tail = texts[:MAX_UNIQUE], texts[MAX_UNIQUE:]
    with _without_pandas():
        from sklearn.feature_extraction.text import TfidfVectorizer

    vec = TfidfVectorizer(stop_words="english", sublinear_tf=True, ngram_range=(1, 2),
                          token_pattern=r"(?u)\b[^\W\d_][\w'-]*[^\W\d_]\b", max_features=20000)
    try:
        matrix = vec.fit_transform(texts)
    except ValueError:  # only stop words / numbers: nothing to cluster on
        return [_one_cluster(by_text[t], scale, ["unlabelled"]) for t in texts]
    vocab = list(vec.get_feature_names_out())
    if len(head) == 1:
        labels = [0]
    else:
        from sklearn.cluster import AgglomerativeClustering
        from sklearn.metrics.pairwise import cosine_distances

        dist = cosine_distances(matrix[: len(head)]).astype("float32")
        model = AgglomerativeClustering(n_clusters=None, metric="precomputed", linkage="average",
                                        distance_threshold=distance_threshold)
        labels = list(model.fit_predict(dist))
    if tail:
        labels += _assign_nearest(matrix, labels, len(head), distance_threshold)
    groups: dict[int, list[int]] = defaultdict(list)
    for row, lab in enumerate(labels):
        groups[int(lab)].append(row)
    out = []
    for rows in groups.values():
        weights = [len(by_text[texts[r]]) for r in rows]
        terms = _top_terms(matrix, rows, weights, vocab)
        members = [it for r in rows for it in by_text[texts[r]]]
        out.append(_one_cluster(members, scale, terms or ["unlabelled"]))
    out.sort(key=lambda c: (-c.size, c.label))
    return out


def _clean(text: str) -> str:
    """Ids and quoted values say *which* record, not *what* went wrong: drop them before TF-IDF."""
    t = QUOTED_RE.sub(" ", ID_RE.sub(" ", URL_RE.sub(" ", text)))
    return " ".join(t.lower().split())


def _assign_nearest(matrix, labels: list[int], n_head: int, threshold: float) -> list[int]:
    """Texts beyond MAX_UNIQUE join the nearest head cluster centroid, or start their own."""
    import numpy as np
    from scipy import sparse
    from sklearn.preprocessing import normalize

    ids = sorted(set(labels))
    # Centroids stay sparse (clusters × terms): dense, a thousand clusters of 20,000 terms are 160 MB, and the
    # analysis of a big log would peak there. Each centroid is the mean of its members' rows, as a product.
    where = {c: i for i, c in enumerate(ids)}
    rows = np.fromiter((where[c] for c in labels), dtype=np.int64, count=n_head)
    counts = np.bincount(rows, minlength=len(ids))
    mean = sparse.csr_matrix((1.0 / counts[rows], (rows, np.arange(n_head))), shape=(len(ids), n_head))
    centroids = normalize(mean @ matrix[:n_head]).T.tocsr()
    tail = matrix[n_head:]
    next_id = max(ids) + 1
    out = []
    for start in range(0, tail.shape[0], ASSIGN_BLOCK):  # dense similarities a block of rows at a time (each
        sims = (tail[start:start + ASSIGN_BLOCK] @ centroids).toarray()  # row's values as in one product):
        for r, b in enumerate(np.argmax(sims, axis=1)):  # 2,500 texts × 1,500 clusters were 30 MB at once
            if 1 - sims[r, b] <= threshold:
                out.append(ids[b])
            else:
                out.append(next_id)
                next_id += 1
    return out


def _one_cluster(members: list[TextItem], scale: float, terms: list[str]) -> TextCluster:
    category = Counter(m.category for m in members).most_common(1)[0][0]
    return TextCluster(label=" · ".join(terms), size=len(members) * scale, members=members,
                       category=category, terms=terms)
