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
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from advisor.kernel.errors import AdviseError

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


def json_lines(path: Path, error: Callable[[str, int, str], AdviseError]) -> Iterator[tuple[int, Any]]:
    """(line number, parsed object) of each non-blank line of a JSONL training file; a line that is not UTF-8 or
    not JSON raises `error(file, line, message)`, which carries the file kind's own hint (SFT rows, DPO pairs)."""
    with open(path, "rb") as fh:
        for n, raw in enumerate(fh, start=1):
            if not raw.strip():
                continue
            try:
                yield n, json.loads(raw.decode("utf-8"))
            except UnicodeDecodeError as exc:
                raise error(str(path), n, f"not valid UTF-8 (byte {exc.object[exc.start]:#04x})") from exc
            except json.JSONDecodeError as exc:
                raise error(str(path), n, f"invalid JSON: {exc.msg}") from exc


def load_chat_jsonl(path: str | Path) -> list[dict[str, Any]]:
    """Read a chat-JSONL file; the first invalid row raises AdviseError with file:line and field."""
    p = Path(path)
    if not p.is_file():
        raise AdviseError(f"training data not found: {p}", hint="pass a chat-JSONL file built by `advise dataset`")
    rows = [normalise_row(obj, str(p), n) for n, obj in json_lines(p, _row_error)]
    if not rows:
        raise AdviseError("no examples in file", file=str(p), hint="the file is empty")
    return rows


# ---------------------------------------------------------------- tokenising

@dataclass
class Example:
    input_ids: list[int]
    labels: list[int]
    truncated: bool = False
    lost_targets: int = 0  # answer tokens cut off by max_seq_len

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
    kept = Example(ex.input_ids[lo:end], ex.labels[lo:end], truncated=True)
    kept.lost_targets = ex.n_targets - kept.n_targets
    return kept


def tokenize_rows(tokenizer, rows: list[dict[str, Any]], max_seq_len: int, path: str = "") -> list[Example]:
    """Tokenise every row; abort when the assistant mask is all zero or all one (a template problem)."""
    out = []
    for i, row in enumerate(rows):
        ex = tokenize_row(tokenizer, row, max_seq_len)
        if ex.n_targets == 0:
            untruncated = not ex.truncated
            raise AdviseError(
                "assistant-token mask is all zero: this example would train on nothing" if untruncated
                else "example has no assistant tokens left after truncation", file=path or None, line=i + 1,
                field="messages",
                hint="the chat template does not render assistant turns as a continuation of the prompt "
                     "(missing generation markers?); pass a model whose template does" if untruncated
                else "raise max_seq_len")
        has_prompt = any(m["role"] != "assistant" and m["content"] for m in row["messages"])
        if has_prompt and ex.n_targets == len(ex.input_ids):
            raise AdviseError(
                "assistant-token mask is all one: the prompt would be trained on as if it were the answer",
                file=path or None, line=i + 1, field="messages",
                hint="the chat template's rendering of the prompt is not a prefix of the conversation "
                     "(no generation markers to find where the answer starts); use a model with a standard "
                     "chat template or pass prompt/completion rows")
        out.append(ex)
    return out


def truncation_warning(examples: list[Example], max_seq_len: int) -> str | None:
    """A sentence for the user when max_seq_len cut examples, with how much of the answers was lost."""
    cut = [e for e in examples if e.truncated]
    if not cut:
        return None
    lost = sum(e.lost_targets for e in cut)
    total = sum(e.n_targets for e in examples) + lost
    return (f"{len(cut)} of {len(examples)} examples ({len(cut) / len(examples):.0%}) are longer than "
            f"max_seq_len={max_seq_len} and were truncated; {lost} of {total} answer tokens "
            f"({lost / max(1, total):.1%}) were cut off and are not learned. Raise max_seq_len to keep them.")


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


def pack_rows(lengths: list[int], capacity: int) -> list[list[int]]:
    """First-fit decreasing: indices into rows whose lengths sum to at most `capacity` (or one long example)."""
    rows: list[list[int]] = []
    room: list[int] = []
    for i in sorted(range(len(lengths)), key=lambda i: -lengths[i]):
        slot = next((r for r, free in enumerate(room) if free >= lengths[i]), None)
        if slot is None:
            rows.append([i])
            room.append(capacity - lengths[i])
        else:
            rows[slot].append(i)
            room[slot] -= lengths[i]
    return rows


def collate_packed(examples: list[Example], pad_id: int, capacity: int, multiple: int = 1) -> dict[str, Any]:
    """Several examples per row, each with positions restarting at 0 (the per-example attention signal).

    The model builds a block-diagonal causal mask from the position-id resets when no 2-D
    attention mask is passed, so no token attends across examples (tests/test_train.py proves it).
    `attention_mask` marks the real tokens for counting only; the loss module does not pass it on.
    """
    import torch

    rows = pack_rows([len(e.input_ids) for e in examples], capacity)
    width = max(sum(len(examples[i].input_ids) for i in row) for row in rows)
    width = -(-width // multiple) * multiple
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    labels = torch.full((len(rows), width), IGNORE_INDEX, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    pos = torch.zeros((len(rows), width), dtype=torch.long)
    for r, row in enumerate(rows):
        at = 0
        for i in row:
            e = examples[i]
            n = len(e.input_ids)
            ids[r, at: at + n] = torch.tensor(e.input_ids)
            labels[r, at: at + n] = torch.tensor(e.labels)
            mask[r, at: at + n] = 1
            pos[r, at: at + n] = torch.arange(n)
            at += n
        pos[r, at:] = torch.arange(width - at)  # the padding tail is a segment of its own
    return {"input_ids": ids, "labels": labels, "attention_mask": mask, "position_ids": pos}


def iterate_batches(examples: list[Example], batch_size: int, seed: int, epoch: int, pad_id: int,
                    batch_tokens: int | None = None, start: int = 0, multiple: int = 1,
                    pack_to: int | None = None) -> Iterator[dict[str, Any]]:
    """Length-grouped micro-batches; with `pack_to`, each batch's examples are packed into rows of that many tokens."""
    lengths = [len(e.input_ids) for e in examples]
    for idx in length_grouped_batches(lengths, batch_size, seed, epoch, batch_tokens)[start:]:
        chosen = [examples[i] for i in idx]
        yield collate_packed(chosen, pad_id, pack_to, multiple) if pack_to else collate(chosen, pad_id, multiple)


@dataclass
class DataStats:
    n_examples: int
    n_tokens: int  # all real (non-padding) tokens
    n_target_tokens: int  # tokens the loss is computed on
    n_truncated: int
    mean_tokens: float
    max_tokens: int
    n_target_tokens_truncated: int = 0

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def data_stats(examples: list[Example]) -> DataStats:
    lens = [len(e.input_ids) for e in examples]
    return DataStats(len(examples), sum(lens), sum(e.n_targets for e in examples),
                     sum(e.truncated for e in examples), sum(lens) / max(1, len(lens)), max(lens, default=0),
                     sum(e.lost_targets for e in examples))
