"""Gates: a substring test that proves a regex cannot match a text, so the regex scan can be skipped.

Python's `re` tries a pattern at every position of the text unless the pattern opens with a literal or a
character class: a check such as ``(?i)!|\\b(amazing|stunning)\\b`` costs ~10 µs on a 1,000-character answer
whether or not anything is there. Most patterns need certain literal text in every match (``(?i)…amazing…``
needs "amazing" in some case), and `str.__contains__` finds that at memchr speed. :func:`gate` reads those
required strings off the parsed pattern and returns a test that is False only when none of them is in the
text; where it cannot prove anything it returns None and the caller always runs the regex. A gate never
changes a result, only skips scans that would find nothing (tests/test_textgate.py: hypothesis matches of
each pattern always pass its gate).

Case-insensitive patterns are tested on :func:`folded` text; that is exact for ASCII literals only, so a
requirement with a non-ASCII letter under IGNORECASE is not used.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache
from re import _constants as sre  # the parsed-pattern opcodes (re's own, stable since 3.11)
from re import _parser

# The only non-ASCII characters re.IGNORECASE matches to an ASCII letter (dotted and dotless I, the long s,
# the Kelvin sign); every other character matches only itself and its case pair. tests/test_textgate.py
# recomputes the table from `re`.
IGNORECASE_ASCII = {0x130: "i", 0x131: "i", 0x17F: "s", 0x212A: "k"}

Gate = Callable[[str], bool]


@lru_cache(maxsize=1)
def folded(t: str) -> str:
    """`t` lowercased with the characters of IGNORECASE_ASCII as their ASCII letter: an ASCII string a
    case-insensitive pattern matches in `t` is then, lowercased, a plain substring of `folded(t)`.
    (str.lower() alone would keep 'ſ' and turn 'İ' into two characters.) The last result is kept: the
    scrubber's gates and a check's gates ask for the same text several times in a row."""
    if not t.isascii() and any(chr(c) in t for c in IGNORECASE_ASCII):  # rare; translate is ~40 ns a character
        t = t.translate(IGNORECASE_ASCII)
    return t.lower()


def _parse(pattern: re.Pattern[str]) -> list | None:
    try:
        return list(_parser.parse(pattern.pattern, pattern.flags & ~(re.UNICODE | re.ASCII)))
    except Exception:  # noqa: BLE001 - a pattern re compiled but we cannot read: no gate
        return None


def required(pattern: re.Pattern[str]) -> frozenset[str] | None:
    """Strings of which every match of `pattern` contains at least one (lowercased when the pattern ignores
    case), or None when no such set can be read off it. Of several candidates, the most selective (longest
    shortest string) is kept."""
    parsed = _parse(pattern)
    return None if parsed is None else _required(parsed, pattern.flags)


def _required(parsed: list, flags: int) -> frozenset[str] | None:
    need = _sequence(parsed)
    if need is None:
        return None
    if flags & re.IGNORECASE:
        if not all(s.isascii() for s in need):
            return None
        need = frozenset(s.lower() for s in need)
    return need


def _opens_with_literal(parsed: list) -> bool:
    """re itself jumps from one occurrence of a leading literal to the next: a gate would only repeat that."""
    while parsed and parsed[0][0] is sre.SUBPATTERN and not parsed[0][1][1] and not parsed[0][1][2]:
        parsed = list(parsed[0][1][3])
    return bool(parsed) and parsed[0][0] is sre.LITERAL


def gate(pattern: re.Pattern[str]) -> Gate | None:
    """A test False only for texts `pattern` cannot match anywhere; None when there is none worth running (none
    can be read, or the case-sensitive pattern opens with a literal, which re's own search already skips to)."""
    parsed = _parse(pattern)
    need = None if parsed is None else _required(parsed, pattern.flags)
    if not need or (not pattern.flags & re.IGNORECASE and _opens_with_literal(parsed)):
        return None
    strings = tuple(sorted(need, key=lambda s: (-len(s), s)))
    if pattern.flags & re.IGNORECASE:
        return lambda t: any(map(folded(t).__contains__, strings))
    if len(strings) == 1:
        only = strings[0]
        return lambda t: only in t
    return lambda t: any(map(t.__contains__, strings))


def _score(need: frozenset[str]) -> tuple[int, int]:
    return min(len(s) for s in need), -len(need)


def _sequence(items: list) -> frozenset[str] | None:
    """Requirement of a sequence: every element must match, so the best element's requirement holds."""
    best: frozenset[str] | None = None
    run: list[str] = []

    def keep(need: frozenset[str] | None) -> None:
        nonlocal best
        if need and all(need) and (best is None or _score(need) > _score(best)):
            best = need

    for op, av in items:
        if op is sre.LITERAL:
            run.append(chr(av))
            continue
        keep(frozenset(["".join(run)]) if run else None)
        run = []
        keep(_element(op, av))
    keep(frozenset(["".join(run)]) if run else None)
    return best


def _element(op: object, av: object) -> frozenset[str] | None:
    if op is sre.SUBPATTERN:
        _group, add_flags, del_flags, sub = av  # type: ignore[misc]
        return None if add_flags or del_flags else _sequence(list(sub))  # a scoped (?i:…) changes matching
    if op is sre.BRANCH:
        alternatives = [_sequence(list(alt)) for alt in av[1]]  # type: ignore[index]
        if any(a is None for a in alternatives):
            return None  # one alternative needs nothing: the branch needs nothing
        return frozenset().union(*alternatives)  # type: ignore[arg-type]
    if op in (sre.MAX_REPEAT, sre.MIN_REPEAT, getattr(sre, "POSSESSIVE_REPEAT", None)):
        lo, _hi, sub = av  # type: ignore[misc]
        return _sequence(list(sub)) if lo >= 1 else None
    if op is getattr(sre, "ATOMIC_GROUP", None):
        return _sequence(list(av))  # type: ignore[arg-type]
    return None  # a class, any character, an assertion, a back-reference: no literal text required
