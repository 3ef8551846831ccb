"""Exact and near-duplicate detection over example inputs, with memory that does not grow per record.

Duplicates inflate what a fine-tune memorises, and a near-duplicate in both train and test turns
evaluation into a memory test. So:

* **exact**: inputs are normalised (NFKC, case-folded, punctuation dropped, whitespace collapsed)
  and hashed; the first example with a given hash is kept, later ones are dropped.
* **near**: MinHash (``datasketch``, ``NUM_PERM`` permutations) over word shingles, banded LSH
  for candidates, candidates confirmed by the estimated Jaccard similarity ≥ ``threshold``, and
  confirmed pairs merged into groups (union-find). Splits assign whole groups, so paraphrases
  never straddle train/test.

Memory: exact hashes, signatures and LSH band keys live in a SQLite file in a temporary
directory, not in Python dicts (100k × 64 × 4 bytes of signatures = 26 MB on disk). In memory we
keep only the union-find parent array (4 bytes per example: 400 KB per 100k) and one LSH bucket.
"""

from __future__ import annotations

import hashlib
import re
import sqlite3
import unicodedata
from array import array
from pathlib import Path
from typing import Any

NUM_PERM = 64
DEFAULT_THRESHOLD = 0.5  # paraphrases score 0.6–0.8 on word 3-shingles; distinct templated inputs ≤ 0.4
SHINGLE_WORDS = 3
MAX_BUCKET_LEADERS = 64  # per LSH bucket, members are compared with at most this many group leaders

_PUNCT = re.compile(r"[^\w\s<>]+", re.UNICODE)


def normalise(text: str) -> str:
    """Case, punctuation and spacing differences do not make two inputs different."""
    text = unicodedata.normalize("NFKC", text).casefold()
    return " ".join(_PUNCT.sub(" ", text).split())


def exact_key(text: str) -> bytes:
    return hashlib.blake2b(normalise(text).encode("utf-8", "surrogatepass"), digest_size=16).digest()


def shingles(text: str, k: int = SHINGLE_WORDS) -> set[bytes]:
    """Word k-grams of the normalised text (fewer words → the words themselves)."""
    words = normalise(text).split()
    if len(words) < k:
        return {w.encode("utf-8", "surrogatepass") for w in words}
    return {" ".join(words[i:i + k]).encode("utf-8", "surrogatepass") for i in range(len(words) - k + 1)}


def lsh_params(threshold: float, num_perm: int = NUM_PERM) -> tuple[int, int]:
    """(bands, rows) minimising false positives + negatives around `threshold` (datasketch's optimiser)."""
    from datasketch import MinHashLSH

    lsh = MinHashLSH(threshold=threshold, num_perm=num_perm)
    return lsh.b, lsh.r


class _UnionFind:
    def __init__(self) -> None:
        self.parent = array("i")

    def add(self) -> int:
        self.parent.append(len(self.parent))
        return len(self.parent) - 1

    def find(self, x: int) -> int:
        p = self.parent
        root = x
        while p[root] != root:
            root = p[root]
        while p[x] != root:
            p[x], x = root, p[x]
        return root

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            if ra < rb:
                self.parent[rb] = ra
            else:
                self.parent[ra] = rb


class Deduplicator:
    """`add(text)` per example in order → its index, or None for an exact duplicate; `groups()` at the end."""

    def __init__(self, workdir: str | Path, *, threshold: float = DEFAULT_THRESHOLD, num_perm: int = NUM_PERM,
                 seed: int = 1) -> None:
        import numpy as np
        from datasketch import MinHash

        self.threshold = threshold
        self.num_perm = num_perm
        self.bands, self.rows = lsh_params(threshold, num_perm)
        self._np = np
        self._MinHash = MinHash
        probe = MinHash(num_perm=num_perm, seed=seed, scheme="affine32")
        self._perms = probe.permutations
        self._dtype = probe.hashvalues.dtype  # uint32 for the affine32 scheme
        self._seed = seed
        self._db = sqlite3.connect(Path(workdir) / "dedupe.sqlite")
        self._db.executescript("""
            PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; PRAGMA cache_size=-16000;
            CREATE TABLE exact(key BLOB PRIMARY KEY) WITHOUT ROWID;
            CREATE TABLE sig(idx INTEGER PRIMARY KEY, v BLOB);
            CREATE TABLE band(b INTEGER, k INTEGER, idx INTEGER);
        """)
        self._uf = _UnionFind()
        self._pending_sig: list[tuple[int, bytes]] = []
        self._pending_band: list[tuple[int, int, int]] = []
        self.exact_duplicates = 0
        self.candidate_pairs = 0
        self.confirmed_pairs = 0

    def add(self, text: str) -> int | None:
        cur = self._db.execute("INSERT OR IGNORE INTO exact(key) VALUES (?)", (exact_key(text),))
        if cur.rowcount == 0:
            self.exact_duplicates += 1
            return None
        idx = self._uf.add()
        sh = shingles(text)
        if sh:
            mh = self._MinHash(num_perm=self.num_perm, seed=self._seed, permutations=self._perms, scheme="affine32")
            mh.update_batch(list(sh))
            hv = mh.hashvalues
            self._pending_sig.append((idx, hv.tobytes()))
            for b in range(self.bands):
                chunk = hv[b * self.rows:(b + 1) * self.rows].tobytes()
                key = int.from_bytes(hashlib.blake2b(chunk, digest_size=8).digest(), "little", signed=True)
                self._pending_band.append((b, key, idx))
        if len(self._pending_band) >= 50_000 or len(self._pending_sig) >= 5_000:
            self._flush()
        return idx

    def _flush(self) -> None:
        self._db.executemany("INSERT INTO sig(idx, v) VALUES (?, ?)", self._pending_sig)
        self._db.executemany("INSERT INTO band(b, k, idx) VALUES (?, ?, ?)", self._pending_band)
        self._pending_sig.clear()
        self._pending_band.clear()

    def similarity(self, a: int, b: int) -> float:
        """Estimated Jaccard similarity of two kept examples' shingle sets."""
        np = self._np
        rows = dict(self._db.execute("SELECT idx, v FROM sig WHERE idx IN (?, ?)", (a, b)).fetchall())
        if a not in rows or b not in rows:
            return 0.0
        va, vb = np.frombuffer(rows[a], dtype=self._dtype), np.frombuffer(rows[b], dtype=self._dtype)
        return float(np.mean(va == vb))

    def groups(self) -> array:
        """Group id (the smallest index in the group) per kept example, near-duplicates merged."""
        self._flush()
        self._db.execute("CREATE INDEX band_bk ON band(b, k)")
        rows = self._db.execute(
            "SELECT b, k, idx FROM band WHERE (b, k) IN "
            "(SELECT b, k FROM band GROUP BY b, k HAVING COUNT(*) > 1) ORDER BY b, k, idx")
        bucket: list[int] = []
        last: tuple[Any, Any] | None = None
        for b, k, idx in rows:
            if (b, k) != last:
                self._resolve(bucket)
                bucket, last = [], (b, k)
            bucket.append(idx)
        self._resolve(bucket)
        uf = self._uf
        return array("i", (uf.find(i) for i in range(len(uf.parent))))

    def _resolve(self, bucket: list[int]) -> None:
        if len(bucket) < 2:
            return
        np = self._np
        sigs: dict[int, Any] = {}
        for start in range(0, len(bucket), 500):
            chunk = bucket[start:start + 500]
            q = f"SELECT idx, v FROM sig WHERE idx IN ({','.join('?' * len(chunk))})"
            sigs.update((i, np.frombuffer(v, dtype=self._dtype)) for i, v in self._db.execute(q, chunk))
        leaders: list[int] = []
        for idx in bucket:
            for lead in leaders:
                if self._uf.find(lead) == self._uf.find(idx):
                    break
                self.candidate_pairs += 1
                if float(np.count_nonzero(sigs[lead] == sigs[idx])) / self.num_perm >= self.threshold:
                    self.confirmed_pairs += 1
                    self._uf.union(lead, idx)
                    break
            else:
                if len(leaders) < MAX_BUCKET_LEADERS:
                    leaders.append(idx)

    def close(self) -> None:
        self._db.close()

    def settings(self) -> dict[str, Any]:
        return {"method": "normalised-text hash (exact) + MinHash LSH over word shingles (near)",
                "library": "datasketch", "num_perm": self.num_perm, "threshold": self.threshold,
                "bands": self.bands, "rows": self.rows, "shingle_words": SHINGLE_WORDS}
