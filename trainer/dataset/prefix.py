"""Find the static instructions a fine-tune bakes in, and replace them by a short system prompt.

A prompt family (model + system-prompt hash, the same key ``advise analyze`` uses) repeats its
system prompt, often a common opening of the first user message, and pasted blocks (style guide,
few-shot examples) inside user messages. After fine-tuning the model should not need them, so the
training examples carry a *short* system prompt instead and the held-out test split keeps the
original full prompt for the baseline.

Static text is found over the records themselves (streaming, one reference text per family):

* **system**: families with ≥ 2 requests share the whole system prompt; for system prompts that
  differ per request (a variable tail), the per-model character-level common prefix is stripped
  when it is at least ``MIN_SYSTEM_PREFIX_CHARS`` long, cut back to a line end, and the variable
  tail is kept after the short prompt;
* **user prefix**: the common opening of the first user message within the family, cut back to
  a line end, when ≥ ``MIN_USER_PREFIX_CHARS``;
* **blocks**: paragraphs (split on blank lines) of ≥ ``BLOCK_MIN_CHARS`` characters present in
  ≥ ``BLOCK_MIN_SHARE`` of the family's requests (candidates registered from the first
  ``BLOCK_CANDIDATE_REQUESTS`` requests, at most ``BLOCK_MAX_CANDIDATES`` per family).

``advise analyze``'s static blocks (``--analysis``) are an optional hint: a paragraph starting
with one of its excerpts counts as static even if our own candidates missed it.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field

# Static-block detection is the analysis' own, so the dataset strips what analysis.json reports.
from advisor.metrics.static_prompt import (
    BLOCK_CANDIDATE_REQUESTS,
    BLOCK_MIN_SHARE,
    common_prefix_len,
    count_blocks,
)

MIN_SYSTEM_PREFIX_CHARS = 200
MIN_USER_PREFIX_CHARS = 80
MAX_FAMILIES = 5000
SHORT_PROMPT_MAX_TOKENS = 48
SHORT_PROMPT_MAX_CHARS = 300
HINT_MIN_CHARS = 40


def _cut_to_line(text: str, n: int) -> int:
    """Largest cut ≤ n that ends a line (so we never strip half a sentence); n itself when text[:n] is whole."""
    if n >= len(text):
        return len(text)
    cut = text.rfind("\n", 0, n + 1)
    return cut + 1 if cut >= 0 else 0


class _FamilyState:
    __slots__ = ("model", "requests", "system", "system_common", "user", "user_common", "blocks", "hints")

    def __init__(self, model: str) -> None:
        self.model = model
        self.requests = 0
        self.system: str | None = None
        self.system_common = 0
        self.user: str | None = None
        self.user_common = 0
        self.blocks: dict[str, int] = {}
        self.hints: list[str] = []


@dataclass
class FamilyPrefix:
    """What is stripped from one family's requests and what replaces it."""

    family: str
    model: str
    requests: int
    system_static: str = ""  # stripped from the start of the system prompt
    user_prefix: str = ""  # stripped from the start of the first user message
    blocks: list[str] = field(default_factory=list)  # paragraphs removed from user messages
    hints: list[str] = field(default_factory=list)  # analysis excerpts: paragraphs starting so are removed
    short_prompt: str | None = None

    @property
    def static_text(self) -> str:
        return "\n\n".join(t for t in (self.system_static, self.user_prefix, *self.blocks) if t)

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.static_text.encode("utf-8", "surrogatepass")).hexdigest()


def minimal_prompt(static_system: str, max_tokens: int = SHORT_PROMPT_MAX_TOKENS) -> str | None:
    """The first sentence of the stripped instructions, capped — the task named in one line."""
    from trainer.dataset.tokens import count_tokens

    text = " ".join(static_system.split())
    if not text:
        return None
    m = re.search(r"(.+?[.!?])(?:\s|$)", text)
    sentence = (m.group(1) if m else text)[:SHORT_PROMPT_MAX_CHARS]
    words = sentence.split()
    while words and count_tokens(" ".join(words)) > max_tokens:
        words = words[: max(1, int(len(words) * 0.8))] if len(words) > 1 else []
    out = " ".join(words)
    if out and out != sentence and not out.endswith("."):
        out += "."
    return out or None


class PrefixFinder:
    """Streaming static-text detector: `add` per kept example, `finish` once, then `strip` per example."""

    def __init__(self, hints: dict[str, list[str]] | None = None) -> None:
        self._families: dict[str, _FamilyState] = {}
        self._model_system: dict[str, tuple[str, int]] = {}  # model → (reference system, common chars)
        self._hints = hints or {}
        self.overflow = 0

    def add(self, family: str, model: str, system: str | None, messages: list[dict]) -> None:
        st = self._families.get(family)
        if st is None:
            if len(self._families) >= MAX_FAMILIES:
                self.overflow += 1
                return
            st = self._families[family] = _FamilyState(model)
            st.hints = [h for h in self._hints.get(family, []) if len(h) >= HINT_MIN_CHARS]
        st.requests += 1
        sys_text = system or ""
        if st.system is None:
            st.system, st.system_common = sys_text, len(sys_text)
        elif st.system_common:
            st.system_common = common_prefix_len(st.system, sys_text, st.system_common)
        ref = self._model_system.get(model)
        if ref is None:
            self._model_system[model] = (sys_text, len(sys_text))
        elif ref[1]:
            self._model_system[model] = (ref[0], common_prefix_len(ref[0], sys_text, ref[1]))
        users = [m.get("content") or "" for m in messages if m.get("role") == "user"]
        first = users[0] if users else ""
        if st.user is None:
            st.user, st.user_common = first, len(first)
        elif st.user_common:
            st.user_common = common_prefix_len(st.user, first, st.user_common)
        count_blocks(st.blocks, users, register=st.requests <= BLOCK_CANDIDATE_REQUESTS, seen=set())

    def finish(self, short_prompt: str | None = None) -> dict[str, FamilyPrefix]:
        """Decide each family's static text; `short_prompt` (user-given) overrides the generated one."""
        out: dict[str, FamilyPrefix] = {}
        for name, st in self._families.items():
            sys_text = st.system or ""
            fp = FamilyPrefix(family=name, model=st.model, requests=st.requests, hints=st.hints)
            if st.requests >= 2 and st.system_common == len(sys_text):
                fp.system_static = sys_text
            else:
                model_ref, model_common = self._model_system.get(st.model, ("", 0))
                common = min(st.system_common if st.requests >= 2 else len(sys_text), model_common)
                cut = _cut_to_line(sys_text, common)
                if cut >= MIN_SYSTEM_PREFIX_CHARS:
                    fp.system_static = sys_text[:cut]
            if st.requests >= 2 and st.user:
                cut = _cut_to_line(st.user, st.user_common)
                if cut >= MIN_USER_PREFIX_CHARS and cut < len(st.user):
                    fp.user_prefix = st.user[:cut]
            if st.requests >= 2:
                fp.blocks = [p for p, n in st.blocks.items()
                             if n / st.requests >= BLOCK_MIN_SHARE and p not in fp.user_prefix]
            fp.short_prompt = short_prompt if short_prompt is not None else minimal_prompt(fp.system_static)
            out[name] = fp
        return out


def strip_example(system: str | None, messages: list[dict], fp: FamilyPrefix | None,
                  short_prompt: str | None) -> tuple[list[dict], bool]:
    """Short-prompt messages for one example (target excluded) and whether anything was stripped.

    Without a family entry (overflow) only `short_prompt` replaces nothing: the original is kept.
    """
    sys_text = system or ""
    out: list[dict] = []
    stripped = False
    if fp is not None and fp.system_static and sys_text.startswith(fp.system_static):
        rest = sys_text[len(fp.system_static):].strip()
        stripped = True
        new_sys = "\n\n".join(t for t in (fp.short_prompt, rest) if t)
    else:
        new_sys = sys_text or (short_prompt or "")
    if new_sys:
        out.append({"role": "system", "content": new_sys})
    first_user = True
    for m in messages:
        m = dict(m)
        if m.get("role") == "user" and fp is not None:
            text = m.get("content") or ""
            if first_user and fp.user_prefix and text.startswith(fp.user_prefix) and \
                    text[len(fp.user_prefix):].strip():
                text = text[len(fp.user_prefix):]
                stripped = True
            first_user = False
            if fp.blocks or fp.hints:
                paras = text.split("\n\n")
                kept = [p for p in paras
                        if p not in fp.blocks and not any(p.startswith(h) for h in fp.hints)]
                if len(kept) < len(paras) and any(p.strip() for p in kept):
                    text = "\n\n".join(kept)
                    stripped = True
            m["content"] = text.strip()
        out.append(m)
    return out, stripped
