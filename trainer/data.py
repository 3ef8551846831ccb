"""Chat-JSONL → token ids + loss labels → length-grouped batches.

Only assistant turns are learned: everything else (system, user, tool, the template's own markers
before the answer) gets label -100. Spans are found by rendering the conversation prefix by prefix
with the tokenizer's chat template, so any template works, and each piece is tokenised the way
generation will tokenise the prompt.
"""

from __future__ import annotations

import json
import os
import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from advisor.errors import AdviseError

IGNORE_INDEX = -100
ROLES = {"system", "developer", "user", "assistant", "tool"}
MEGABATCH_FACTOR = 32  # sort by length within windows of 32 batches: little padding, still shuffled


# ---------------------------------------------------------------- reading

def _row_error(path: str, line: int, msg: str, field: str | None = None) -> AdviseError:
    return AdviseError(msg, file=path, line=line, field=field,
                       hint='each line must be {"messages": [{"role": ..., "content": ...}, ...]} '
                            'with at least one assistant message, or {"prompt": ..., "completion": ...}')


def normalise_row(obj: Any, path: str, line: int) -> dict[str, Any]:
    """Validate one parsed row and return {"messages": [...], "tools"?: [...]}."""
    if not isinstance(obj, dict):
        raise _row_error(path, line, "row is not a JSON object")
    if "messages" not in obj and "prompt" in obj and "completion" in obj:
        for key in ("prompt", "completion"):
            if not isinstance(obj[key], str):
                raise _row_error(path, line, f"{key} must be a string", key)
        messages = [{"role": "user", "content": obj["prompt"]},
                    {"role": "assistant", "content": obj["completion"]}]
        if isinstance(obj.get("system"), str):
            messages.insert(0, {"role": "system", "content": obj["system"]})
        return {"messages": messages}
    msgs = obj.get("messages")
    if not isinstance(msgs, list) or not msgs:
        raise _row_error(path, line, "missing or empty 'messages' list", "messages")
    out: list[dict[str, Any]] = []
    for i, m in enumerate(msgs):
        where = f"messages[{i}]"
        if not isinstance(m, dict):
            raise _row_error(path, line, "message is not an object", where)
        role = m.get("role")
        if role not in ROLES:
            raise _row_error(path, line, f"unknown role {role!r}", f"{where}.role")
        content = m.get("content")
        if content is None and role == "assistant" and m.get("tool_calls"):
            content = ""
        if isinstance(content, list):  # OpenAI content parts: keep the text parts
            texts = [p.get("text") for p in content if isinstance(p, dict) and p.get("type") == "text"]
            if any(not isinstance(t, str) for t in texts):
                raise _row_error(path, line, "content part without text", f"{where}.content")
            content = "".join(texts)
        if not isinstance(content, str):
            raise _row_error(path, line, "content must be a string", f"{where}.content")
        msg = {"role": "system" if role == "developer" else role, "content": content}
        if m.get("tool_calls"):
            msg["tool_calls"] = m["tool_calls"]
        out.append(msg)
    if not any(m["role"] == "assistant" and (m["content"] or m.get("tool_calls")) for m in out):
        raise _row_error(path, line, "no assistant message to learn from", "messages")
    row: dict[str, Any] = {"messages": out}
    if obj.get("tools") is not None:
        if not isinstance(obj["tools"], list):
            raise _row_error(path, line, "tools must be a list", "tools")
        row["tools"] = obj["tools"]
    return row


def load_chat_jsonl(path: str | Path) -> list[dict[str, Any]]:
    """Read a chat-JSONL file; the first invalid row raises AdviseError with file:line and field."""
    p = Path(path)
    if not p.is_file():
        raise AdviseError(f"training data not found: {p}", hint="pass a chat-JSONL file built by `advise dataset`")
    rows: list[dict[str, Any]] = []
    with open(p, encoding="utf-8") as fh:
        for n, raw in enumerate(fh, start=1):
            if not raw.strip():
                continue
            try:
                obj = json.loads(raw)
            except json.JSONDecodeError as exc:
                raise _row_error(str(p), n, f"invalid JSON: {exc.msg}") from exc
            rows.append(normalise_row(obj, str(p), n))
    if not rows:
        raise AdviseError("no examples in file", file=str(p), hint="the file is empty")
    return rows


# ---------------------------------------------------------------- tokenising

@dataclass
class Example:
    input_ids: list[int]
    labels: list[int]
    truncated: bool = False

    @property
    def n_targets(self) -> int:
        return sum(1 for x in self.labels if x != IGNORE_INDEX)


def _render(tokenizer, messages: list[dict], tools, add_generation_prompt: bool) -> str:
    kwargs: dict[str, Any] = {"tokenize": False, "add_generation_prompt": add_generation_prompt}
    if tools:
        kwargs["tools"] = tools
    return tokenizer.apply_chat_template(messages, **kwargs)


def assistant_char_spans(tokenizer, row: dict[str, Any]) -> tuple[str, list[tuple[int, int]]]:
    """The fully rendered text and the [start, end) character spans of each assistant answer."""
    msgs, tools = row["messages"], row.get("tools")
    text = _render(tokenizer, msgs, tools, False)
    spans: list[tuple[int, int]] = []
    for i, m in enumerate(msgs):
        if m["role"] != "assistant":
            continue
        prompt = _render(tokenizer, msgs[:i], tools, True) if i else ""
        upto = _render(tokenizer, msgs[: i + 1], tools, False)
        start = len(prompt) if text.startswith(prompt) else len(os.path.commonprefix([prompt, text]))
        end = len(upto) if text.startswith(upto) else len(os.path.commonprefix([upto, text]))
        if end > start:
            spans.append((start, end))
    return text, spans


def tokenize_row(tokenizer, row: dict[str, Any], max_seq_len: int) -> Example:
    """Token ids with labels only on assistant spans; truncated to max_seq_len keeping the answer."""
    text, spans = assistant_char_spans(tokenizer, row)
    ids: list[int] = []
    labels: list[int] = []
    cursor = 0
    for start, end in spans + [(len(text), len(text))]:
        for chunk, learn in ((text[cursor:start], False), (text[start:end], True)):
            if not chunk:
                continue
            piece = tokenizer(chunk, add_special_tokens=False)["input_ids"]
            ids.extend(piece)
            labels.extend(piece if learn else [IGNORE_INDEX] * len(piece))
        cursor = end
    if tokenizer.bos_token_id is not None and getattr(tokenizer, "add_bos_token", False) and \
            (not ids or ids[0] != tokenizer.bos_token_id) and not text.startswith(tokenizer.bos_token or "\0"):
        ids.insert(0, tokenizer.bos_token_id)
        labels.insert(0, IGNORE_INDEX)
    return _truncate(Example(ids, labels), max_seq_len)


def _truncate(ex: Example, max_len: int) -> Example:
    """Drop prompt tokens from the left first; only an answer longer than max_len loses its tail."""
    n = len(ex.input_ids)
    if n <= max_len:
        return ex
    last_target = max(i for i, x in enumerate(ex.labels) if x != IGNORE_INDEX) if ex.n_targets else n - 1
    # first target token of the last assistant span
    first = last_target
    while first > 0 and ex.labels[first - 1] != IGNORE_INDEX:
        first -= 1
    end = last_target + 1
    if end - first + 1 <= max_len:  # whole answer fits with ≥1 prompt token before it
        lo = max(0, end - max_len)
    else:
        lo = max(0, first - max_len // 4)
        end = lo + max_len
    return Example(ex.input_ids[lo:end], ex.labels[lo:end], truncated=True)


def tokenize_rows(tokenizer, rows: list[dict[str, Any]], max_seq_len: int, path: str = "") -> list[Example]:
    out = []
    for i, row in enumerate(rows):
        ex = tokenize_row(tokenizer, row, max_seq_len)
        if ex.n_targets == 0:
            raise AdviseError("example has no assistant tokens left after truncation", file=path or None,
                              line=i + 1, field="messages", hint="raise max_seq_len")
        out.append(ex)
    return out


# ---------------------------------------------------------------- batching

def length_grouped_batches(lengths: list[int], batch_size: int, seed: int, epoch: int,
                           batch_tokens: int | None = None) -> list[list[int]]:
    """Deterministic per (seed, epoch): shuffle, sort within mega-batches, cut, shuffle batch order.

    Similar lengths share a batch, so padding stays small; with `batch_tokens`, a batch holds as
    many examples as fit in that many (padded) tokens.
    """
    rng = random.Random(seed * 1_000_003 + epoch)
    order = list(range(len(lengths)))
    rng.shuffle(order)
    window = batch_size * MEGABATCH_FACTOR
    batches: list[list[int]] = []
    for w in range(0, len(order), window):
        chunk = sorted(order[w: w + window], key=lambda i: -lengths[i])
        if batch_tokens is None:
            batches.extend(chunk[j: j + batch_size] for j in range(0, len(chunk), batch_size))
            continue
        cur: list[int] = []
        for i in chunk:
            longest = max([lengths[k] for k in cur] + [lengths[i]])
            if cur and (longest * (len(cur) + 1) > batch_tokens or len(cur) >= batch_size * 8):
                batches.append(cur)
                cur = []
            cur.append(i)
        if cur:
            batches.append(cur)
    rng.shuffle(batches)
    return batches


def collate(examples: list[Example], pad_id: int, multiple: int = 1) -> dict[str, Any]:
    """Right-pad to the longest example of the batch (rounded up to `multiple`); torch tensors.

    On GPUs a multiple of 16 keeps the number of distinct shapes small, so kernel plans
    (cuDNN attention, cuBLAS) are reused instead of rebuilt for every new length.
    """
    import torch

    width = max(len(e.input_ids) for e in examples)
    width = -(-width // multiple) * multiple
    ids = torch.full((len(examples), width), pad_id, dtype=torch.long)
    labels = torch.full((len(examples), width), IGNORE_INDEX, dtype=torch.long)
    mask = torch.zeros((len(examples), width), dtype=torch.long)
    for r, e in enumerate(examples):
        n = len(e.input_ids)
        ids[r, :n] = torch.tensor(e.input_ids)
        labels[r, :n] = torch.tensor(e.labels)
        mask[r, :n] = 1
    return {"input_ids": ids, "labels": labels, "attention_mask": mask}


def iterate_batches(examples: list[Example], batch_size: int, seed: int, epoch: int, pad_id: int,
                    batch_tokens: int | None = None, start: int = 0, multiple: int = 1) -> Iterator[dict[str, Any]]:
    lengths = [len(e.input_ids) for e in examples]
    for idx in length_grouped_batches(lengths, batch_size, seed, epoch, batch_tokens)[start:]:
        yield collate([examples[i] for i in idx], pad_id, multiple)


@dataclass
class DataStats:
    n_examples: int
    n_tokens: int  # all real (non-padding) tokens
    n_target_tokens: int  # tokens the loss is computed on
    n_truncated: int
    mean_tokens: float
    max_tokens: int

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def data_stats(examples: list[Example]) -> DataStats:
    lens = [len(e.input_ids) for e in examples]
    return DataStats(len(examples), sum(lens), sum(e.n_targets for e in examples),
                     sum(e.truncated for e in examples), sum(lens) / max(1, len(lens)), max(lens, default=0))
