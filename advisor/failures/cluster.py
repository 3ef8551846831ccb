"""Group free-text failures (reviewer notes, outputs flagged bad) into readable themes.

TF-IDF over words and word pairs (numbers dropped, so "€15" and "€10" notes about the same fee
meet), then average-linkage agglomerative clustering on cosine distance with a distance
threshold, so the number of clusters is chosen by the data: near-identical notes merge,
one-offs stay alone. Deterministic (no random init).

The maths is scikit-learn's (``TfidfVectorizer`` → ``cosine_distances`` → ``AgglomerativeClustering``), done
here with numpy and ports of scipy's sparse product and average linkage: importing scikit-learn costs ~0.5 s of CPU
per run (it pulls in all of scipy.stats), more than the clustering itself; scipy.sparse ~0.1 s (it is imported only
for big inputs, where its C loops pay off). Each step does the same floating-point
operations in the same order as scikit-learn, so the results are bit-identical; tests/test_cluster_equivalence.py
checks that against scikit-learn itself.

Memory is bounded: texts arrive through a seeded reservoir (``capacity`` items, default
4,000); identical texts are clustered once with a weight; at most ``MAX_UNIQUE`` distinct texts
(default 1,500) enter the O(n²) distance matrix, the rest join their nearest cluster. Sizes
from a sample are scaled back to the full count (``sampled`` says so).
"""

from __future__ import annotations

import hashlib
import heapq
import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Any

from advisor.failures.signatures import ID_RE, QUOTED_RE, URL_RE

DISTANCE_THRESHOLD = 0.75
MAX_UNIQUE = 1500
ASSIGN_BLOCK = 256  # texts beyond MAX_UNIQUE matched to the clusters per block
LABEL_TERMS = 4
MAX_FEATURES = 20000  # TF-IDF vocabulary: the most frequent terms
TOKEN_RE = re.compile(r"(?u)\b[^\W\d_][\w'-]*[^\W\d_]\b")  # words of 2+ letters, no digits at either end

# scikit-learn's ENGLISH_STOP_WORDS (BSD-3-Clause; from the Glasgow Information Retrieval Group's list), copied so
# that clustering does not import scikit-learn; the equivalence test checks the copy against the original.
STOP_WORDS = frozenset("""
a about above across after afterwards again against all almost alone along already also although always am among
amongst amoungst amount an and another any anyhow anyone anything anyway anywhere are around as at back be
became because become becomes becoming been before beforehand behind being below beside besides between beyond
bill both bottom but by call can cannot cant co con could couldnt cry de describe detail do done down due during
each eg eight either eleven else elsewhere empty enough etc even ever every everyone everything everywhere
except few fifteen fifty fill find fire first five for former formerly forty found four from front full further
get give go had has hasnt have he hence her here hereafter hereby herein hereupon hers herself him himself his
how however hundred i ie if in inc indeed interest into is it its itself keep last latter latterly least less
ltd made many may me meanwhile might mill mine more moreover most mostly move much must my myself name namely
neither never nevertheless next nine no nobody none noone nor not nothing now nowhere of off often on once one
only onto or other others otherwise our ours ourselves out over own part per perhaps please put rather re same
see seem seemed seeming seems serious several she should show side since sincere six sixty so some somehow
someone something sometime sometimes somewhere still such system take ten than that the their them themselves
then thence there thereafter thereby therefore therein thereupon these they thick thin third this those though
three through throughout thru thus to together too top toward towards twelve twenty two un under until up upon
us very via was we well were what whatever when whence whenever where whereafter whereas whereby wherein
whereupon wherever whether which while whither who whoever whole whom whose why will with within without would
yet you your yours yourself yourselves
""".split())


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


@dataclass(frozen=True, slots=True)
class Csr:
    """A CSR matrix as its three arrays (what scipy.sparse.csr_matrix holds), so that clustering the usual few
    hundred texts needs no scipy: importing scipy.sparse costs ~0.1 s of CPU per run (its array-API layer clones
    numpy's namespace), more than the clustering. ``to_scipy()`` gives the same matrix where scipy is worth it."""

    data: Any  # float64, row by row, entries in stored order
    indices: Any  # int32 column of each entry
    indptr: Any  # int32 row starts, n_rows + 1
    shape: tuple[int, int]

    def __getitem__(self, rows: slice) -> Csr:
        """Rows start:stop (step 1), as scipy's row slice: the same entries in the same order, copied."""
        start, stop, step = rows.indices(self.shape[0])
        if step != 1:
            raise ValueError("Csr supports row slices with step 1 only")
        stop = max(start, stop)
        lo, hi = int(self.indptr[start]), int(self.indptr[stop])
        return Csr(self.data[lo:hi].copy(), self.indices[lo:hi].copy(), self.indptr[start:stop + 1] - lo,
                   (stop - start, self.shape[1]))

    def copy(self) -> Csr:
        return Csr(self.data.copy(), self.indices.copy(), self.indptr.copy(), self.shape)

    def to_scipy(self):  # noqa: ANN201 - scipy.sparse.csr_matrix, imported only here
        from scipy import sparse

        return sparse.csr_matrix((self.data, self.indices, self.indptr), shape=self.shape)


def _top_terms(matrix, groups: list[list[int]], weights: list[int], vocab: list[str],
               k: int = LABEL_TERMS) -> list[list[str]]:
    """Each group's label terms: the heaviest terms of its weighted centroid (rows × their texts' counts), ties to
    the alphabetically first, skipping a term that contains or is contained in one already taken.

    All groups in one pass (per-group sparse slicing was most of the clustering's time with thousands of groups):
    a centroid term is summed over the group's rows in row order, as scikit-learn/scipy's column sum of the
    weighted rows did, so the order of nearly equal terms is the same.
    """
    import numpy as np

    n_terms = len(vocab)
    group_of = np.empty(matrix.shape[0], dtype=np.int64)
    for g, rows in enumerate(groups):
        group_of[rows] = g
    row_of = np.repeat(np.arange(matrix.shape[0]), np.diff(matrix.indptr))
    values = matrix.data * np.asarray(weights, dtype=float)[row_of]
    keys, where = np.unique(group_of[row_of] * n_terms + matrix.indices, return_inverse=True)
    sums = np.zeros(len(keys))
    np.add.at(sums, where, values)  # one addition at a time, in row order
    group = keys // n_terms
    order = np.lexsort((-sums, group))  # by group, heaviest first, ties by term number (stable)
    bounds = np.searchsorted(group[order], np.arange(len(groups) + 1)).tolist()
    term_of = (keys % n_terms)[order].tolist()
    weight_of = sums[order].tolist()
    out = []
    for g in range(len(groups)):
        terms: list[str] = []
        for pos in range(bounds[g], bounds[g + 1]):
            if weight_of[pos] <= 0 or len(terms) >= k:
                break
            term = vocab[term_of[pos]]
            if any(term in t or t in term for t in terms):  # "sku missing" vs "sku": keep the more specific once
                continue
            terms.append(term)
        out.append(terms)
    return out


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
    try:
        matrix, vocab = tfidf(texts)
    except ValueError:  # only stop words / numbers: nothing to cluster on
        return [_one_cluster(by_text[t], scale, ["unlabelled"]) for t in texts]
    labels = [0] if len(head) == 1 else _average_linkage_labels(_cosine_distances(matrix[: len(head)]),
                                                                distance_threshold)
    if tail:
        # only past MAX_UNIQUE distinct texts: scipy.sparse's products (and its import) pay off there
        labels += _assign_nearest(matrix.to_scipy(), labels, len(head), distance_threshold)
    groups: dict[int, list[int]] = defaultdict(list)
    for row, lab in enumerate(labels):
        groups[int(lab)].append(row)
    out = []
    labelled = _top_terms(matrix, list(groups.values()), [len(by_text[t]) for t in texts], vocab)
    for rows, terms in zip(groups.values(), labelled, strict=True):
        members = [it for r in rows for it in by_text[texts[r]]]
        out.append(_one_cluster(members, scale, terms or ["unlabelled"]))
    out.sort(key=lambda c: (-c.size, c.label))
    return out


def _clean(text: str) -> str:
    """Ids and quoted values say *which* record, not *what* went wrong: drop them before TF-IDF."""
    t = QUOTED_RE.sub(" ", ID_RE.sub(" ", URL_RE.sub(" ", text)))
    return " ".join(t.lower().split())


def _assign_nearest(matrix, labels: list[int], n_head: int, threshold: float) -> list[int]:
    """Texts beyond MAX_UNIQUE join the nearest head cluster centroid, or start their own (`matrix`: a scipy
    csr_matrix, all rows)."""
    import numpy as np
    from scipy import sparse

    ids = sorted(set(labels))
    # Centroids stay sparse (clusters × terms): dense, a thousand clusters of 20,000 terms are 160 MB, and the
    # analysis of a big log would peak there. Each centroid is the mean of its members' rows, as a product.
    where = {c: i for i, c in enumerate(ids)}
    rows = np.fromiter((where[c] for c in labels), dtype=np.int64, count=n_head)
    counts = np.bincount(rows, minlength=len(ids))
    mean = sparse.csr_matrix((1.0 / counts[rows], (rows, np.arange(n_head))), shape=(len(ids), n_head))
    centroids = mean @ matrix[:n_head]
    _normalize_rows(centroids.data, centroids.indptr)
    centroids = centroids.T.tocsr()
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


def tfidf(texts: list[str]):
    """(Csr matrix texts × terms, terms): scikit-learn's ``TfidfVectorizer(stop_words="english", sublinear_tf=True,
    ngram_range=(1, 2), token_pattern=TOKEN_RE, max_features=MAX_FEATURES).fit_transform(texts)``, step for step.

    Terms are numbered alphabetically; within a row, entries are stored in the order the terms were first seen in
    the corpus (what scikit-learn's sort_indices + renumbering leaves), because the row norms are summed in stored
    order. Raises ValueError when no text has a term, as scikit-learn does.
    """
    import numpy as np

    vocabulary: dict[str, int] = {}  # term → number in order of first sight
    indices: list[int] = []
    counts: list[int] = []
    indptr = [0]
    findall = TOKEN_RE.findall
    for doc in texts:
        words = [w for w in findall(doc.lower()) if w not in STOP_WORDS]
        row: dict[int, int] = {}
        for term in words + [f"{a} {b}" for a, b in zip(words, words[1:], strict=False)]:
            j = vocabulary.setdefault(term, len(vocabulary))
            row[j] = row.get(j, 0) + 1
        for j in sorted(row):
            indices.append(j)
            counts.append(row[j])
        indptr.append(len(indices))
    if not vocabulary:
        raise ValueError("empty vocabulary; perhaps the documents only contain stop words")
    terms = sorted(vocabulary)
    n_terms = len(terms)
    alpha = np.empty(n_terms, dtype=np.int64)  # first-sight number → alphabetical number
    alpha[np.fromiter((vocabulary[t] for t in terms), dtype=np.int64, count=n_terms)] = np.arange(n_terms)
    cols = alpha[np.asarray(indices, dtype=np.int64)]
    values = np.asarray(counts, dtype=np.float64)
    ptr = np.asarray(indptr, dtype=np.int64)
    if n_terms > MAX_FEATURES:  # keep the most frequent terms, ties as numpy's default argsort breaks them
        totals = np.bincount(cols, weights=values, minlength=n_terms)  # integer counts: exact sums
        keep = np.zeros(n_terms, dtype=bool)
        keep[(-totals).argsort()[:MAX_FEATURES]] = True
        renumber = np.cumsum(keep) - 1
        kept = keep[cols]
        ptr = np.concatenate(([0], np.cumsum(kept)))[ptr]
        cols, values = renumber[cols[kept]], values[kept]
        terms = [t for t, k in zip(terms, keep.tolist(), strict=True) if k]
        n_terms = len(terms)
    np.log(values, out=values)  # sublinear tf: 1 + log(count)
    values += 1.0
    df = np.bincount(cols, minlength=n_terms).astype(np.float64)
    df += 1.0  # smooth idf: log((1 + n) / (1 + df)) + 1
    idf = np.full_like(df, fill_value=len(texts) + 1, dtype=np.float64)
    idf /= df
    np.log(idf, out=idf)
    idf += 1.0
    values *= idf[cols]
    _normalize_rows(values, ptr)
    return Csr(values, cols.astype(np.int32), ptr.astype(np.int32), (len(texts), n_terms)), terms


def _normalize_rows(data, indptr) -> None:
    """Scale each row of a CSR matrix to unit L2 norm in place, as scikit-learn's ``normalize`` does: the squares
    are summed one after another in stored order (numpy's own sums are pairwise, which rounds differently);
    empty rows are left alone."""
    import numpy as np

    lengths = np.diff(indptr)
    if not len(lengths):
        return
    order = np.argsort(-lengths, kind="stable")  # longest rows first: the rows still going are a prefix
    starts = np.asarray(indptr[:-1])[order]
    by_length = lengths[order]
    squares = data * data
    sums = np.zeros(len(order))
    for p in range(int(by_length[0])):
        live = int(np.searchsorted(-by_length, -p, side="left"))  # rows longer than p
        sums[:live] += squares[starts[:live] + p]
    norms = np.empty(len(order))
    norms[order] = np.sqrt(sums)
    scale = np.repeat(norms, lengths)
    nonzero = scale != 0.0
    data[nonzero] /= scale[nonzero]


SCIPY_PRODUCT_FROM = 2_000_000  # multiply-adds in x @ x.T (Σ column count²) past which scipy's C loop, import
# included, beats the numpy steps (measured: 1.2M took 0.09 s in numpy, 0.04 s + ~0.1 s import in scipy)


def _cosine_distances(matrix: Csr):
    """scikit-learn's ``cosine_distances(matrix)`` as float32: rows normalised (again), products summed in stored
    order (scipy's sparse product, like scikit-learn's), 1 − similarity clipped to [0, 2], zero diagonal."""
    import numpy as np

    x = matrix.copy()
    _normalize_rows(x.data, x.indptr)
    col_counts = np.bincount(x.indices, minlength=x.shape[1])
    if int((col_counts.astype(np.int64) ** 2).sum()) > SCIPY_PRODUCT_FROM:
        xs = x.to_scipy()
        s = (xs @ xs.T).toarray()
    else:
        s = _self_product(x, col_counts)
    s *= -1
    s += 1
    s = np.clip(s, 0.0, 2.0)
    np.fill_diagonal(s, 0.0)
    return s.astype("float32")


def _self_product(x: Csr, col_counts):
    """Dense ``x @ x.T`` with scipy's rounding: scipy (csr_matmat) adds, for each row i, ``x[i, j] · x[k, j]`` into
    cell (i, k) walking row i's entries in stored order; here step p adds every row's p-th entry at once (a row has
    one term per step, and a term's column lists each row k once, so no cell is hit twice in a step). Same
    products, same order of additions per cell, hence the same bits (tests/test_cluster_equivalence.py)."""
    import numpy as np

    n = x.shape[0]
    lengths = np.diff(x.indptr).astype(np.int64)
    s = np.zeros((n, n))
    if not len(x.data):
        return s
    row_of = np.repeat(np.arange(n), lengths)
    by_term = np.argsort(x.indices, kind="stable")  # x as columns: each term's rows in ascending order
    col_rows, col_vals = row_of[by_term], x.data[by_term]
    col_start = np.concatenate(([0], np.cumsum(col_counts)))
    order = np.argsort(-lengths, kind="stable")  # longest rows first: the rows with a p-th entry are a prefix
    by_length = lengths[order]
    starts = x.indptr[:-1].astype(np.int64)[order]
    for p in range(int(by_length[0])):
        live = int(np.searchsorted(-by_length, -p, side="left"))  # rows longer than p
        at = starts[:live] + p
        terms = x.indices[at]
        counts = col_counts[terms]
        total = int(counts.sum())
        if not total:
            continue
        first = np.cumsum(counts) - counts  # where each row's segment starts in the gathered arrays
        gather = np.repeat(col_start[terms] - first, counts) + np.arange(total)
        s[np.repeat(order[:live], counts), col_rows[gather]] += np.repeat(x.data[at], counts) * col_vals[gather]
    return s


def average_linkage(dist):
    """scipy's ``linkage(condensed dist, method="average")`` (what scikit-learn calls), ported: the same
    nearest-neighbour chain with the same tie rules (the previous chain element wins ties, then the lowest
    index), the same Lance-Williams update ``(nx·d_xi + ny·d_yi) / (nx + ny)``, the same stable sort by height and
    relabelling. Importing scipy.cluster costs ~70 ms of CPU per run (it pulls in scipy.spatial), more than
    clustering a thousand texts this way. → (n − 1, 4) array: the two merged nodes, height, size."""
    import numpy as np

    n = dist.shape[0]
    d = dist.astype(np.float64)  # scipy takes the float32 condensed distances as float64
    np.fill_diagonal(d, np.inf)  # a cluster is never its own neighbour; merged-away clusters become inf too
    size = [1] * n
    active = np.ones(n, dtype=bool)
    z = np.empty((n - 1, 4))
    chain: list[int] = []
    for k in range(n - 1):
        if not chain:
            chain.append(int(active.argmax()))  # the lowest-numbered cluster left
        while True:
            x = chain[-1]
            row = d[x]
            j = int(row.argmin())  # the first index holding the row's minimum
            if len(chain) > 1:
                y, current = chain[-2], row[chain[-2]]
                if row[j] < current:
                    y, current = j, row[j]
            else:
                y, current = j, row[j]
            if len(chain) > 1 and y == chain[-2]:
                break
            chain.append(y)
        del chain[-2:]
        if x > y:
            x, y = y, x
        nx, ny = size[x], size[y]
        z[k] = (x, y, current, nx + ny)
        size[x], size[y] = 0, nx + ny
        active[x] = False
        new = (nx * d[:, x] + ny * d[:, y]) / (nx + ny)
        update = active.copy()
        update[y] = False
        d[update, y] = new[update]
        d[y, update] = new[update]
        d[x, :] = np.inf
        d[:, x] = np.inf
    z = z[np.argsort(z[:, 2], kind="mergesort")]
    parent = list(range(2 * n - 1))  # union-find: rows' cluster numbers in merge order, as scipy's label()
    sizes = [1] * (2 * n - 1)

    def find(a: int) -> int:
        root = a
        while parent[root] != root:
            root = parent[root]
        while parent[a] != root:
            parent[a], a = root, parent[a]
        return root

    for i in range(n - 1):
        a, b = find(int(z[i, 0])), find(int(z[i, 1]))
        z[i, 0], z[i, 1] = (a, b) if a < b else (b, a)
        parent[a] = parent[b] = n + i
        sizes[n + i] = sizes[a] + sizes[b]
        z[i, 3] = sizes[n + i]
    return z


def _average_linkage_labels(dist, threshold: float) -> list[int]:
    """Cluster numbers of scikit-learn's ``AgglomerativeClustering(metric="precomputed", linkage="average",
    distance_threshold=threshold).fit_predict(dist)``: average linkage, cut where merges reach the threshold."""
    import numpy as np

    n = dist.shape[0]
    tree = average_linkage(dist)
    children = tree[:, :2].astype(int).tolist()
    n_clusters = int(np.count_nonzero(tree[:, 2] >= threshold)) + 1
    # scikit-learn's _hc_cut: split the highest node until there are n_clusters, then number the subtrees
    nodes = [-(max(children[-1]) + 1)]
    for _ in range(n_clusters - 1):
        left, right = children[-nodes[0] - n]
        heapq.heappush(nodes, -left)
        heapq.heappushpop(nodes, -right)
    labels = [0] * n
    for number, node in enumerate(nodes):
        stack = [-node]
        while stack:
            k = stack.pop()
            if k < n:
                labels[k] = number
            else:
                stack.extend(children[k - n])
    return labels
