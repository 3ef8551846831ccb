"""Combining the measurements of two pieces of the logs (advisor.scan reads pieces in other processes).

Each accumulator keeps per-key state (per model, per day, per signature); its `merge` adopts the keys
new to it and lets each shared key's state merge itself, in the order the pieces come in the logs.
"""

from __future__ import annotations

from typing import Any


def merge_keyed(mine: dict[Any, Any], later: dict[Any, Any]) -> None:
    """Keys new to `mine` take the later piece's state as it is; shared keys call `state.merge(theirs)`."""
    for key, theirs in later.items():
        current = mine.get(key)
        if current is None:
            mine[key] = theirs
        else:
            current.merge(theirs)


def add_counts(mine: dict[Any, int], later: dict[Any, int]) -> None:
    for key, n in later.items():
        mine[key] = mine.get(key, 0) + n


def plus(total: float | None, more: float | None) -> float | None:
    """A sum that stays None until something is added (unknown cost, no reported cost)."""
    return total if more is None else (total or 0.0) + more
