"""Grouped, stratified, seeded train/val/test assignment.

Whole near-duplicate groups go to one split (no paraphrase leaks into test). Groups are ordered
stratum by stratum (prompt family / failure cluster), shuffled inside each stratum by the seed,
then dealt out by *largest deficit*: after each group, the split furthest below its target share
of the examples seen so far gets the next one. So every stratum gets its proportional share
(± one group) and the global fractions are met as closely as group sizes allow. Same inputs and
seed → same assignment.

Test-only examples (requests whose logged answer failed the filters) take part in the deal like
any other, so the test split is a proportional sample of *all* answered requests, failed ones
included; when their group lands in train or val they are left out (training never sees a failed
answer). The incumbent's failure rate on the test split then estimates its rate over the logs.
"""

from __future__ import annotations

from array import array

TRAIN, VAL, TEST, EXCLUDED = 0, 1, 2, 255
SPLIT_NAMES = ("train", "val", "test")


def assign_splits(groups: array, strata: array, *, val: float, test: float, seed: int,
                  max_examples: int | None = None, test_only: array | None = None) -> tuple[array, int]:
    """Split code per example (TRAIN/VAL/TEST, or EXCLUDED beyond `max_examples`) and how many were excluded.

    `groups[i]` is example i's group id, `strata[i]` its stratum id (small ints); `test_only[i]` (0/1)
    marks an example that may only go to test (EXCLUDED when its group is dealt to train or val).
    """
    import numpy as np

    if val < 0 or test < 0 or val + test >= 1:
        raise ValueError("val and test fractions must be ≥ 0 and leave room for train")
    n = len(groups)
    out = array("B", bytes(n))
    if n == 0:
        return out, 0
    g = np.frombuffer(groups, dtype=np.int32) if groups.itemsize == 4 else np.asarray(groups, dtype=np.int64)
    s = np.asarray(strata, dtype=np.int64)
    roots, inverse, sizes = np.unique(g, return_inverse=True, return_counts=True)
    group_stratum = s[roots]  # a group's id is its first member's index
    rng = np.random.default_rng(seed)
    included = np.ones(len(roots), dtype=bool)
    excluded = 0
    if max_examples is not None and max_examples < n:
        order = rng.permutation(len(roots))
        total = 0
        included[:] = False
        for j in order:
            if total + sizes[j] <= max_examples:
                included[j] = True
                total += sizes[j]
            if total >= max_examples:
                break
        excluded = int(n - total)
    perm = rng.permutation(len(roots))
    order = perm[np.argsort(group_stratum[perm], kind="stable")]
    targets = (1.0 - val - test, val, test)
    assigned = [0.0, 0.0, 0.0]
    offset = rng.random(3) * np.array(targets)  # seed-dependent phase: who gets the first group
    seen = 0
    group_split = np.full(len(roots), EXCLUDED, dtype=np.uint8)
    for j in order:
        if not included[j]:
            continue
        size = int(sizes[j])
        seen += size
        deficits = [targets[k] * seen + offset[k] - assigned[k] if targets[k] > 0 else -np.inf
                    for k in range(3)]
        k = int(np.argmax(deficits))
        assigned[k] += size
        group_split[j] = k
    codes = group_split[inverse]
    if test_only is not None and len(test_only):
        only = np.asarray(test_only, dtype=bool)
        drop = only & (codes != TEST) & (codes != EXCLUDED)
        codes = codes.copy()
        codes[drop] = EXCLUDED
    out = array("B", codes.astype(np.uint8).tobytes())
    return out, excluded
