"""Static prompt structure: what every request of a prompt family repeats, in tokens and in money.

A *prompt family* is one model plus one system prompt (hashed); requests without a system prompt
form one family per model. Inside a family we keep the running longest common prefix over the
prompt's segments in the order provider caches read them — tools → system → messages — so memory
per family is the size of one prompt, not the number of requests:

* segments that equal the reference segment are skipped with one string comparison;
* at the first differing segment the character-level common prefix shrinks, and we keep a
  *witness* (the start of the text that made it shrink);
* at the end the token-level prefix is measured at the divergence point: the reference and the
  witness are tokenized (once per family) and their token LCP taken, so a word cut in half is
  not counted as shared.

Besides the prefix, paragraphs that recur inside messages in ≥ 90 % of a family's requests
(few-shot blocks, style guides pasted after the question) are reported as *static blocks*.

Prompt-cache hits are simulated from the real inter-arrival gaps of each family: a request hits
when the previous request of the same family came less than one TTL (5 min / 1 h) before it.
With a sampled export (sample_rate r < 1) full traffic has ~1/r times as many requests, so the
observed gaps are multiplied by r before comparing with the TTL. This is an upper bound: real
caches also miss on routing, eviction and the minimum cacheable length.
"""

from __future__ import annotations

import functools
import hashlib
import json
from array import array
from collections.abc import Callable, Iterable, Sequence
from datetime import date
from operator import attrgetter
from typing import Any

from pydantic import BaseModel, Field

from advisor.kernel.memo import BoundedMemo
from advisor.kernel.record import Message, Record
from advisor.metrics.merging import add_counts
from advisor.metrics.sketch import QuantileSketch
from advisor.spill import PartitionedSpill, grouped_rows

Tokenizer = Callable[[str, str], list[int]]

WITNESS_TAIL = 256  # characters kept past the divergence point: enough for any token boundary
BLOCK_MIN_CHARS = 80  # shorter paragraphs are not worth reporting as static blocks
BLOCK_CANDIDATE_REQUESTS = 50  # paragraphs are registered from the first N requests of a family
BLOCK_MAX_CANDIDATES = 200
BLOCK_MIN_SHARE = 0.9
MAX_FAMILIES = 2000  # beyond this, new families are only counted (protects memory on unique prompts)
EXCERPT_CHARS = 200
OPENAI_MIN_CACHEABLE = 1024  # OpenAI caches prompts automatically from 1024 tokens on
TTL_5M = 300
TTL_1H = 3600
GAP_QUANTILES = 101  # quantiles of inter-arrival gaps kept per family for re-simulating cache hits
CACHE_READ_BATCH = 128  # cache-read counts a family collects before adding them to its sketch in one call
KNOWN_TOOL_LISTS = 256  # distinct tool lists whose JSON `_tool_texts` remembers
KNOWN_KEYS = 4096  # (model, system prompt) → family pairs remembered by `_family_of` (bounded memory)
TIMES_SPILL_AT = 1 << 20  # arrival seconds held in memory (4 MiB) before merged families move them to files
_TIME_ROW = [("family", "<i4"), ("time", "<u4")]  # one spilled arrival: the family's position, its epoch second


def tool_texts(tools: list[dict[str, Any]] | None) -> list[str]:
    return [json.dumps(tool, ensure_ascii=False, separators=(", ", ": ")) for tool in tools or []]


def message_text(m: Message) -> str:
    """A message's segment text: its content, then its tool calls as JSON."""
    if m.tool_calls:
        return m.content + json.dumps(m.tool_calls, ensure_ascii=False, separators=(", ", ": "))
    return m.content


def segments(record: Record, tools_text: list[str] | None = None) -> list[tuple[str, str]]:
    """(kind, text) in cache order: each tool definition, the system prompt, then each message.

    `tools_text` is `tool_texts(record.tools)` when the caller already has it (the same tools as before).
    """
    return segments_of(tool_texts(record.tools) if tools_text is None else tools_text, record.system, record.messages)


def family_key(record: Record) -> tuple[str, str]:
    """(model, short hash of the system prompt) — 'no-system' when the request has none."""
    if record.system:
        return record.model, prompt_digest(record.system)
    return record.model, "no-system"


@functools.lru_cache(maxsize=64)
def prompt_digest(system: str) -> str:
    """Short SHA-1 of a system prompt. Remembered for a few prompts: the static-prompt and the failure stages
    each ask for every new prompt, one right after the other (~2 µs a time on a 2 KB prompt)."""
    return hashlib.sha1(system.encode("utf-8", "surrogatepass")).hexdigest()[:12]


def common_prefix_len(a: str, b: str, upto: int | None = None) -> int:
    """Length of the common character prefix of a and b (at most `upto`), by binary search on memcmp."""
    n = min(len(a), len(b))
    if upto is not None:
        n = min(n, upto)
    if b.startswith(a[:n]):
        return n
    lo, hi = 0, n - 1  # a[:lo] is common, a[:hi+1] is not known to be
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if b.startswith(a[:mid]):
            lo = mid
        else:
            hi = mid - 1
    return lo


def common_prefix_tokens(a: list[int], b: list[int]) -> int:
    n = min(len(a), len(b))
    i = 0
    while i < n and a[i] == b[i]:
        i += 1
    return i


class _Segment:
    __slots__ = ("kind", "text", "common", "full", "witness", "head")

    def __init__(self, kind: str, text: str) -> None:
        self.kind = kind
        self.text = text  # the reference (first request's) text of this segment
        self.common = len(text)  # characters every request shares so far
        self.full = True  # every request had exactly this segment
        self.witness: str | None = None  # start of the text that last shrank `common`
        self.head = text  # text[:common], so a request that keeps the prefix is one startswith, not a search

    def shrink(self, kind: str, text: str) -> None:
        """Fold in a request whose segment here differs from the reference (another kind, or other text)."""
        c = 0 if kind != self.kind else common_prefix_len(self.text, text, self.common)
        if c < self.common or self.full:
            self.common = c
            self.full = False
            self.witness = text[: c + WITNESS_TAIL] if kind == self.kind else ""
            self.head = self.text[:c]

    def __reduce__(self) -> tuple[Any, ...]:  # a flat tuple, not a dict of slots (see _Family.__reduce__)
        return _segment, (self.kind, self.text, self.common, self.full, self.witness)


def _segment(kind: str, text: str, common: int, full: bool, witness: str | None) -> _Segment:
    st = _Segment.__new__(_Segment)
    st.kind, st.text, st.common, st.full, st.witness = kind, text, common, full, witness
    st.head = text if full else text[:common]
    return st


class _Family:
    __slots__ = ("model", "key", "requests", "segs", "input_tokens", "cache_read", "cache_write_total",
                 "times", "per_day", "blocks", "estimated", "tools", "tools_text", "cache_reads")

    def __init__(self, model: str, key: str) -> None:
        self.model = model
        self.key = key
        self.requests = 0
        self.segs: list[_Segment] | None = None
        self.input_tokens = 0
        self.cache_read = QuantileSketch()
        self.cache_reads = array("q")  # cache-read counts not yet in `cache_read`: added CACHE_READ_BATCH at a time
        self.cache_write_total = 0
        self.times = array("I")  # epoch seconds, 4 bytes per request (for the cache simulation)
        self.per_day: dict[int, int] = {}  # date ordinal → requests (an int key: no date object per request)
        self.blocks: dict[str, int] = {}  # candidate paragraph → requests containing it
        self.estimated = 0
        self.tools: list[dict[str, Any]] | None = None  # the last tool list seen, and its serialised form
        self.tools_text: list[str] = []

    def __reduce__(self) -> tuple[Any, ...]:
        """A flat tuple of the fields: each piece of the logs a worker sends back carries ~1,000 families, and the
        default pickling of slots (a dict of them per object) cost more than the fields themselves."""
        return _family, (_family_fields(self),)

    def update_prefix(self, segs: list[tuple[str, str]]) -> None:
        """Fold one request's segments into the running prefix: the reference segments stay full while every
        request repeats them; the first one that differs shrinks and becomes the last kept."""
        if self.segs is None:
            self.segs = [_Segment(k, t) for k, t in segs]
            return
        for i, st in enumerate(self.segs):
            if i >= len(segs):
                del self.segs[i:]
                return
            kind, text = segs[i]
            if st.full and kind == st.kind and text == st.text:
                continue
            st.shrink(kind, text)
            del self.segs[i + 1:]
            return

    def add_request(self, tools_text: Sequence[str], system: str | None, messages: list[Message]) -> None:
        """update_prefix and count_blocks for one request (its `segments`, tools already as JSON).

        Once the family has a reference, the segments are read straight from the request and only as far as
        the kept prefix goes (usually the system prompt and the first message), without building the list;
        a partial segment (always the last kept) is unchanged by a request that starts with its common head.
        """
        segs = self.segs
        if segs is None:
            self.update_prefix(segments_of(tools_text, system, messages))
        else:
            nt = len(tools_text)
            ns = nt + 1 if system else nt
            n = ns + len(messages)
            for i, st in enumerate(segs):
                if i >= n:
                    del segs[i:]
                    break
                if i < nt:
                    kind, text = "tool", tools_text[i]
                elif i < ns:
                    kind, text = "system", system  # type: ignore[assignment]
                else:
                    m = messages[i - ns]
                    kind, text = m.role, (m.content if not m.tool_calls else message_text(m))
                if kind == st.kind:
                    if st.full:
                        if text == st.text:
                            continue
                    elif text.startswith(st.head):
                        del segs[i + 1:]
                        break
                st.shrink(kind, text)
                del segs[i + 1:]
                break
        blocks = self.blocks
        if self.requests <= BLOCK_CANDIDATE_REQUESTS:
            count_blocks(blocks, [message_text(m) for m in messages if m.role not in _NOT_BLOCKS], register=True,
                         seen=set())
        elif blocks:  # count_blocks(register=False), inline: it runs for nearly every request
            seen: set[str] | None = None
            for m in messages:
                text = m.content
                if m.tool_calls:
                    text = message_text(m)
                elif len(text) < BLOCK_MIN_CHARS:
                    continue  # all its paragraphs are shorter than any candidate
                if m.role in _NOT_BLOCKS:
                    continue
                for para in text.split("\n\n") if "\n" in text else (text,):
                    if para in blocks:
                        if seen is None:
                            seen = set()
                        elif para in seen:
                            continue
                        seen.add(para)
                        blocks[para] += 1

    def merge_prefix(self, later: _Family) -> None:
        """Fold in the prefix state of the same family over a later piece of the logs.

        Gives what `update_prefix` gives on those requests one by one: the later piece's requests all equal its
        reference up to its divergence segment, where the smallest common prefix with *our* reference is
        min(LCP(ours, theirs), their common), reached first by their reference or by their witness.
        """
        theirs = later.segs
        if theirs is None:
            return
        if self.segs is None:
            self.segs = theirs
            return
        for i, st in enumerate(self.segs):
            if i >= len(theirs):
                del self.segs[i:]
                return
            ot = theirs[i]
            if ot.kind != st.kind:
                c, witness = 0, ""
            else:
                if st.full and ot.full and ot.text == st.text:
                    continue
                shared = common_prefix_len(st.text, ot.text, st.common)
                # their witness shrank it last: it went below what their reference keeps, or their reference was
                # our full segment itself (a request equal to the reference changes nothing)
                if not ot.full and (ot.common < shared or (st.full and ot.text == st.text)):
                    c, witness = ot.common, ot.witness
                else:
                    c, witness = shared, ot.text[: shared + WITNESS_TAIL]
            if c < st.common or st.full:
                st.common, st.full, st.witness, st.head = c, False, witness, st.text[:c]
            del self.segs[i + 1:]
            return

    def flush(self) -> None:
        """Move the pending cache-read counts into the sketch (before anything reads or merges it)."""
        if self.cache_reads:
            self.cache_read.add_many(self.cache_reads)
            del self.cache_reads[:]

    def merge(self, later: _Family) -> None:
        """Add the same family's state over a later piece of the logs."""
        self.flush()
        later.flush()
        earlier_requests = self.requests
        self.requests += later.requests
        self.merge_prefix(later)
        self.input_tokens += later.input_tokens
        self.cache_read.merge(later.cache_read)
        self.cache_write_total += later.cache_write_total
        self.estimated += later.estimated
        self.times.extend(later.times)
        add_counts(self.per_day, later.per_day)
        for para, n in later.blocks.items():  # candidates only while the family is young, as in count_blocks
            if para in self.blocks:
                self.blocks[para] += n
            elif earlier_requests < BLOCK_CANDIDATE_REQUESTS and len(self.blocks) < BLOCK_MAX_CANDIDATES:
                self.blocks[para] = n

    def count_blocks(self, segs: list[tuple[str, str]]) -> None:
        register = self.requests <= BLOCK_CANDIDATE_REQUESTS
        if not register and not self.blocks:
            return  # past the candidate window with no candidate: nothing can be counted
        seen: set[str] = set()
        count_blocks(self.blocks, (text for kind, text in segs if kind not in _NOT_BLOCKS),
                     register=register, seen=seen)


_family_fields = attrgetter(*_Family.__slots__)


def _family(fields: tuple[Any, ...]) -> _Family:
    fam = _Family.__new__(_Family)
    for name, value in zip(_Family.__slots__, fields, strict=True):
        setattr(fam, name, value)
    return fam


_NOT_BLOCKS = ("tool", "system")  # segment kinds whose paragraphs are not static-block candidates


def segments_of(tools_text: Sequence[str], system: str | None, messages: list[Message]) -> list[tuple[str, str]]:
    """`segments` of a request from its parts, tools already as JSON."""
    out: list[tuple[str, str]] = [("tool", t) for t in tools_text]
    if system:
        out.append(("system", system))
    for m in messages:
        out.append((m.role, message_text(m)))
    return out


def count_blocks(blocks: dict[str, int], texts: Iterable[str], *, register: bool, seen: set[str]) -> None:
    """Count each long paragraph once per request; new candidates only from a family's first requests.

    Shared with the dataset builder so it strips exactly the blocks the analysis reports as static. Past the
    candidate window (`register` false) only paragraphs already in `blocks` can count: those are looked up
    directly, and `seen` then holds just the paragraphs counted.
    """
    if not register:
        for text in texts:
            for para in text.split("\n\n"):
                if para in blocks and para not in seen:  # candidates are all ≥ BLOCK_MIN_CHARS long
                    seen.add(para)
                    blocks[para] += 1
        return
    for text in texts:
        for para in text.split("\n\n"):
            if len(para) < BLOCK_MIN_CHARS or para in seen:
                continue
            seen.add(para)
            if para in blocks:
                blocks[para] += 1
            elif len(blocks) < BLOCK_MAX_CANDIDATES:
                blocks[para] = 1


class StaticBlock(BaseModel):
    excerpt: str
    tokens: int = Field(description="tokens in the block")
    share_of_requests: float = Field(description="share of the family's requests that contain it")


class CacheSimulation(BaseModel):
    """Simulated prompt-cache hit rates from inter-arrival gaps (gaps × sample_rate); an upper bound."""

    hit_rate_5m: float | None
    hit_rate_1h: float | None
    openai_cacheable: bool = Field(description=f"static prefix ≥ {OPENAI_MIN_CACHEABLE} tokens (OpenAI minimum)")
    observed_cache_read_share: float = Field(description="cache-read tokens / input tokens, as logged")
    cache_min_tokens: int | None = Field(default=None, description="the model's cache minimum (offers table); "
                                                                    "None when the table has no rule for it")
    cacheable: bool | None = Field(default=None, description="static prefix ≥ the model's cache minimum")
    gap_quantiles_s: list[float] = Field(
        default_factory=list, description=f"{GAP_QUANTILES} quantiles of the full-traffic inter-arrival gaps "
                                          "(seconds), for re-simulating hit rates at another volume")


class PromptFamily(BaseModel):
    """What one prompt family repeats. Token counts are per request."""

    family: str = Field(description="model + short hash of the system prompt")
    model: str
    requests: int
    static_prefix_tokens: int = Field(
        description="tokens every request repeats from the start (tools → system → messages); 0 for one request")
    static_prefix_estimated: bool = Field(description="counted with an approximate tokenizer")
    static_prefix_error: float = Field(description="relative error of the token count (±)")
    mean_input_tokens: float
    mean_variable_tokens: float = Field(description="mean input tokens − static prefix")
    static_share_of_input_tokens: float
    static_share_of_input_cost: float | None = Field(
        description="static prefix's share of input cost (cached reads billed at the cached rate); None unpriced")
    static_blocks: list[StaticBlock] = Field(default_factory=list,
                                             description="recurring non-prefix blocks (few-shot, style guides)")
    static_block_tokens: float = Field(0.0, description="mean tokens per request in static blocks")
    excerpt: str = Field(description=f"first ~{EXCERPT_CHARS} characters of the static prefix")
    segments_static: list[str] = Field(description="kinds of the segments inside the prefix")
    static_tokens_by_kind: dict[str, int] = Field(default_factory=dict,
                                                  description="static prefix tokens per segment kind (tool, system, user…)")
    cache: CacheSimulation


class StaticPromptResult(BaseModel):
    families: list[PromptFamily]
    overflow_requests: int = Field(description=f"requests in families beyond the first {MAX_FAMILIES}")
    static_tokens_per_day: dict[str, float] = Field(
        description="UTC date → static prefix tokens sent that day (not scaled)")


@functools.lru_cache(maxsize=256)
def cache_minimum(model: str) -> int | None:
    """The model's shortest cacheable prefix from the offers table (per model, not one number per provider)."""
    from advisor.offers import cache_rule

    rule = cache_rule(None, model)
    return rule.min_tokens if rule is not None and rule.mode != "none" else None


def gap_quantiles(gaps: list[float], k: int = GAP_QUANTILES) -> list[float]:
    """k evenly spaced quantiles (0…100%) of the inter-arrival gaps; [] with no gaps."""
    return sorted_quantiles(sorted(gaps), k)


@functools.lru_cache(maxsize=256)
def _nearest_ranks(n: int, k: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """k evenly spaced nearest-rank quantiles of n sorted values, as (the distinct positions, ascending; for each
    quantile, which of them): the same for every family of n, and a family with fewer than k gaps repeats them."""
    ranks = [min(n - 1, round(i * (n - 1) / (k - 1))) for i in range(k)]
    distinct = sorted(set(ranks))
    where = {r: j for j, r in enumerate(distinct)}
    return tuple(distinct), tuple(where[r] for r in ranks)


def sorted_quantiles(xs: Any, k: int = GAP_QUANTILES) -> list[float]:
    """gap_quantiles of gaps already sorted (a list, or a numpy array: the values come back as Python floats)."""
    if not len(xs):
        return []
    distinct, which = _nearest_ranks(len(xs), k)
    # A numpy array is read in one take, not 101 scalar indexings, and each distinct value is rounded once (2,000
    # families made these 0.2 s of CPU at the end of the run); tolist() gives the same floats as float() of each.
    picked = xs.take(distinct).tolist() if hasattr(xs, "take") else [xs[r] for r in distinct]
    rounded = [round(float(v), 3) for v in picked]
    return [rounded[j] for j in which]


def resimulate_hit_rate(gap_quantiles_s: list[float], ttl_s: float, volume_factor: float,
                        requests: int | None = None) -> float | None:
    """Cache hit rate at `volume_factor` × the logged traffic: every gap shrinks by that factor.

    A request hits when the gap to the previous one (same family) is within the TTL, as in the
    logged simulation; at k× the volume a logged gap g becomes g/k. `requests` corrects for the
    first request of the window, which always misses. None without gaps.
    """
    if not gap_quantiles_s or volume_factor <= 0:
        return None
    limit = ttl_s * volume_factor
    share = sum(1 for g in gap_quantiles_s if g <= limit) / len(gap_quantiles_s)
    if requests:
        share *= (requests - 1) / requests
    return share


def _default_tokenizer() -> Tokenizer:
    from advisor.tokens import tokenize

    return tokenize


def _relative_error(model: str) -> tuple[float, bool]:
    try:
        from advisor.tokens import is_exact_tokenizer, relative_error
    except ImportError:  # pragma: no cover - tokens module ships with advise
        return 0.0, False
    exact = bool(is_exact_tokenizer(model))
    return (0.0 if exact else float(relative_error(model))), not exact


_UNSEEN: Any = object()  # a memo's "not remembered" (None is a remembered answer)
_NO_TOOLS: tuple[str, ...] = ()


_KNOWN_TOOL_TEXTS = BoundedMemo(KNOWN_TOOL_LISTS)  # repr(tools) → tool_texts(tools), for the whole process


class StaticPromptAccumulator:
    """Streaming static-prefix detector: `add(record)` per call, `result(...)` once at the end."""

    def __init__(self, *, tokenize: Tokenizer | None = None, sample_rate: float = 1.0,
                 error_of: Callable[[str], tuple[float, bool]] | None = None) -> None:
        self._tokenize = tokenize
        self.sample_rate = sample_rate
        self._error_of = error_of or _relative_error
        self._families: dict[tuple[str, str], _Family] = {}
        self.overflow = 0
        self._known_keys = BoundedMemo(KNOWN_KEYS)  # (model, system) → family (None: overflow)
        self.times_spill_at = TIMES_SPILL_AT
        self._held_times = 0  # arrival seconds merged in and still in memory (see _spill_times)
        self._times_files: PartitionedSpill | None = None

    def _family_of(self, record: Record) -> _Family | None:
        """The record's family (by family_key), new if there is room; None when it overflows MAX_FAMILIES.

        Remembered per (model, system prompt): a dict lookup hashes the prompt string once (Python caches a
        string's hash), where family_key is a full SHA-1 per request. Logs interleave many prompt families (150
        in the benchmark), so a short list of recent prompts missed most of the time. Families are never dropped
        and none is added once the table is full, so a remembered answer stays right until `merge` (which
        forgets them all). The memory is bounded: past KNOWN_KEYS prompts or KNOWN_CHARS characters of them the
        table starts over."""
        fam = self._known_keys.get((record.model, record.system), _UNSEEN)
        if fam is _UNSEEN:
            key = family_key(record)
            fam = self._families.get(key)
            if fam is None and len(self._families) < MAX_FAMILIES:
                fam = self._families[key] = _Family(*key)
            self._known_keys.put((record.model, record.system), fam, len(record.system or ""))
        return fam

    @staticmethod
    def _tool_texts(tools: list[dict[str, Any]]) -> list[str]:
        """tool_texts(tools), remembered by the tools' repr: many prompt families (and every new family of a
        templated system prompt) send the same tool schemas, and json.dumps of them costs ~35 µs a time where
        repr costs ~3. Equal reprs give equal JSON (same keys in the same order, same scalar types). The memo is
        the process's, not the accumulator's: a pure function's results stay right across the pieces of the
        logs one process reads (each piece has its own accumulator; at 1M records a per-piece memo re-serialised
        every family's tools ~135 times)."""
        key = repr(tools)
        texts = _KNOWN_TOOL_TEXTS.get(key)
        if texts is None:
            texts = _KNOWN_TOOL_TEXTS.put(key, tool_texts(tools), len(key))
        return texts

    def add(self, record: Record) -> None:
        fam = self._known_keys.get((record.model, record.system), _UNSEEN)
        if fam is _UNSEEN:
            fam = self._family_of(record)
        if fam is None:
            self.overflow += 1
            return
        fam.requests += 1
        tools = record.tools
        if tools:
            if tools != fam.tools:  # agents send the same tool schemas every call: serialise them once
                fam.tools, fam.tools_text = tools, self._tool_texts(tools)
            fam.add_request(fam.tools_text, record.system, record.messages)
        else:
            fam.add_request(_NO_TOOLS, record.system, record.messages)
        u = record.usage
        if u is not None:
            fam.input_tokens += u.input_tokens
            reads = fam.cache_reads
            try:
                reads.append(u.cache_read_tokens)
            except OverflowError:  # beyond 64 bits: into the sketch itself, after the pending ones
                fam.flush()
                fam.cache_read.add(u.cache_read_tokens)
            if len(reads) >= CACHE_READ_BATCH:
                fam.flush()
            fam.cache_write_total += u.cache_write_tokens
            if u.origin == "estimated":
                fam.estimated += 1
        ts = record.timestamp
        secs = int(ts.timestamp())
        fam.times.append(secs if 0 <= secs <= 0xFFFFFFFF else min(max(0, secs), 0xFFFFFFFF))  # unsigned 32-bit
        day = ts.toordinal()  # ts.date(), as its ordinal
        per_day = fam.per_day
        per_day[day] = per_day.get(day, 0) + 1

    def merge(self, later: StaticPromptAccumulator) -> None:
        """Add the families seen in a later piece of the logs (new ones after ours, in their order)."""
        for key, fam in later._families.items():
            mine = self._families.get(key)
            if mine is not None:
                mine.merge(fam)
            elif len(self._families) >= MAX_FAMILIES:
                self.overflow += fam.requests
                continue
            else:
                self._families[key] = fam
            self._held_times += len(fam.times)
        self.overflow += later.overflow
        self._known_keys.clear()
        if self._held_times >= self.times_spill_at:
            self._spill_times()

    def _spill_times(self) -> None:
        """Move the arrival seconds held in memory to partition files (by family position: families are never
        dropped, so a position names one family for good). They are 4 bytes a request, 120 MB at 30M records;
        `result` reads them back a partition (1/16 of the families) at a time. Where no file can be written they
        stay in memory."""
        held = [(i, fam) for i, fam in enumerate(self._families.values()) if len(fam.times)]
        rows = grouped_rows([(i, fam.times) for i, fam in held], _TIME_ROW, key="family", value="time")
        if self._times_files is None:
            self._times_files = PartitionedSpill(_TIME_ROW, prefix="advise-times-")
        if not self._times_files.append(rows, rows["family"] % self._times_files.parts):
            self.times_spill_at = 1 << 62  # keep everything in memory from now on
            return
        for _, fam in held:
            fam.times = array("I")
        self._held_times = 0

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_known_keys": BoundedMemo(KNOWN_KEYS)}

    # ---- end of stream -------------------------------------------------------------------------
    def _static_tokens(self, fam: _Family) -> tuple[int, str, list[str], dict[str, int]]:
        """Token length of the family's static prefix, its text, the segment kinds it spans, tokens per kind."""
        if fam.requests < 2 or not fam.segs:
            return 0, "", [], {}
        tok = self._tokenize or _default_tokenizer()
        total, texts, kinds, by_kind = 0, [], [], {}
        for st in fam.segs:
            if st.full:
                n = len(tok(st.text, fam.model)) if st.text else 0
            elif st.common > 0 and st.witness:
                ref = tok(st.text[: st.common + WITNESS_TAIL], fam.model)
                n = common_prefix_tokens(ref, tok(st.witness, fam.model))
            else:
                break
            total += n
            by_kind[st.kind] = by_kind.get(st.kind, 0) + n
            texts.append(st.text if st.full else st.text[: st.common])
            kinds.append(st.kind)
            if not st.full:
                break
        return total, "\n".join(texts), kinds, by_kind

    def _blocks(self, fam: _Family, prefix_text: str) -> list[StaticBlock]:
        if fam.requests < 2:
            return []
        tok = self._tokenize or _default_tokenizer()
        out = []
        for para, n in fam.blocks.items():
            share = n / fam.requests
            if share >= BLOCK_MIN_SHARE and para not in prefix_text:
                out.append(StaticBlock(excerpt=para[:EXCERPT_CHARS], tokens=len(tok(para, fam.model)),
                                       share_of_requests=share))
        return sorted(out, key=lambda b: -b.tokens * b.share_of_requests)

    def _gap_stats(self, times: Any) -> tuple[int, int, int, list[float]]:
        """(requests, gaps ≤ 5 min, gaps ≤ 1 h, gap quantiles) of a family's arrival seconds, in any order.

        As arrays (8 bytes a request, a few at a time), not lists of Python numbers (~70 bytes): a family
        with half a million requests made the end of a 1M-record analysis peak 33 MB higher. The same
        arithmetic: int gaps times the sample rate in float64, and the same nearest-rank quantiles."""
        import numpy as np

        times = np.sort(times.astype(np.int64))
        n = len(times)
        gaps = np.diff(times) * float(self.sample_rate)
        del times
        hits_5m = int(np.count_nonzero(gaps <= TTL_5M))
        hits_1h = int(np.count_nonzero(gaps <= TTL_1H))
        gaps.sort()
        return n, hits_5m, hits_1h, sorted_quantiles(gaps)

    def _spilled_gap_stats(self) -> dict[int, tuple[int, int, int, list[float]]]:
        """_gap_stats of every family with spilled arrival seconds (by family position), a partition at a time:
        the spilled ones of the partition's families and the ones they still hold in memory."""
        import numpy as np

        files, out = self._times_files, {}
        if files is None or not files.used:
            return out
        families = list(self._families.values())
        for p in range(files.parts):
            rows = files.read(p)
            if not len(rows):
                continue  # no family of this partition spilled (fewer than `parts` families did)
            rows = rows[np.argsort(rows["family"], kind="stable")]
            which, starts = np.unique(rows["family"], return_index=True)
            for i, start, end in zip(which.tolist(), starts.tolist(), [*starts[1:].tolist(), len(rows)], strict=True):
                held = families[i].times
                out[i] = self._gap_stats(np.concatenate((rows["time"][start:end],
                                                         np.frombuffer(held, dtype=f"u{held.itemsize}"))))
            del rows
        return out

    def _cache(self, fam: _Family, static_tokens: int,
               stats: tuple[int, int, int, list[float]] | None = None) -> CacheSimulation:
        import numpy as np

        if stats is None:
            stats = self._gap_stats(np.frombuffer(fam.times, dtype=f"u{fam.times.itemsize}"))
        n, hits_5m, hits_1h, quantiles = stats
        minimum = cache_minimum(fam.model)
        return CacheSimulation(
            hit_rate_5m=hits_5m / n if n else None,
            hit_rate_1h=hits_1h / n if n else None,
            openai_cacheable=static_tokens >= OPENAI_MIN_CACHEABLE,
            cache_min_tokens=minimum, cacheable=static_tokens >= minimum if minimum is not None else None,
            observed_cache_read_share=fam.cache_read.total / fam.input_tokens if fam.input_tokens else 0.0,
            gap_quantiles_s=quantiles,
        )

    def result(self, price_of: Callable[[str], Any] | None = None) -> StaticPromptResult:
        """`price_of(model)` returns a ModelPrice (or None) for the static share of input cost."""
        families: list[PromptFamily] = []
        per_day: dict[date, float] = {}
        spilled = self._spilled_gap_stats()  # by family position
        for position, fam in sorted(enumerate(self._families.values()), key=lambda pf: -pf[1].requests):
            fam.flush()
            static, text, kinds, by_kind = self._static_tokens(fam)
            mean_in = fam.input_tokens / fam.requests if fam.requests else 0.0
            # a logged input count below our static count means our tokenizer over-counted: cap it
            static_eff = min(static, int(mean_in)) if fam.input_tokens else static
            err, estimated = self._error_of(fam.model)
            blocks = self._blocks(fam, text)
            for o, n in fam.per_day.items():
                d = date.fromordinal(o)
                per_day[d] = per_day.get(d, 0.0) + n * static_eff
            families.append(PromptFamily(
                family=f"{fam.model}#{fam.key}",
                model=fam.model,
                requests=fam.requests,
                static_prefix_tokens=static,
                static_prefix_estimated=estimated,
                static_prefix_error=err,
                mean_input_tokens=mean_in,
                mean_variable_tokens=max(0.0, mean_in - static_eff),
                static_share_of_input_tokens=static_eff / mean_in if mean_in else 0.0,
                static_share_of_input_cost=static_cost_share(fam, static_eff, price_of(fam.model))
                if price_of else None,
                static_blocks=blocks,
                static_block_tokens=sum(b.tokens * b.share_of_requests for b in blocks),
                excerpt=text[:EXCERPT_CHARS],
                segments_static=kinds,
                static_tokens_by_kind=by_kind,
                cache=self._cache(fam, static, spilled.get(position)),
            ))
        return StaticPromptResult(
            families=families,
            overflow_requests=self.overflow,
            static_tokens_per_day={d.isoformat(): v for d, v in sorted(per_day.items())},
        )


def _rate(price: Any, name: str, fallback: float) -> float:
    v = getattr(price, name, None)
    return float(v) if v is not None else fallback


def static_cost_share(fam: _Family, static: int, price: Any) -> float | None:
    """Share of the family's input cost spent on the static prefix.

    The prefix is the start of every prompt, so it is what cache reads cover first: per request
    min(static, cache_read) tokens bill at the cached rate, the rest of the prefix at the cache-write
    rate while writes last, then at the plain input rate. Input cost uses the same rates.
    """
    if price is None or fam.requests == 0 or fam.input_tokens == 0:
        return None
    p_in = _rate(price, "input_mtok", 0.0)
    p_cached = _rate(price, "cached_input_mtok", p_in)
    p_write = _rate(price, "cache_write_mtok", p_in)
    read_total = fam.cache_read.total
    write_total = fam.cache_write_total
    uncached_total = fam.input_tokens - read_total - write_total
    input_cost = uncached_total * p_in + read_total * p_cached + write_total * p_write
    if input_cost <= 0:
        return 0.0 if static == 0 else None
    static_read = fam.cache_read.sum_capped(static)
    static_rest = static * fam.requests - static_read
    static_write = min(write_total, static_rest)
    static_cost = static_read * p_cached + static_write * p_write + (static_rest - static_write) * p_in
    return max(0.0, min(1.0, static_cost / input_cost))
