"""Strict validator for OpenAI chat-format training files, with line numbers for every problem.

Hosted fine-tuning services reject a whole file for one bad line, and local trainers silently
learn from broken examples, so ``advise dataset validate FILE`` checks each line the way the
strictest consumer would:

* JSON object per line with a non-empty ``messages`` list (or a ``prompt``/``completion`` pair);
* roles in {system, user, assistant, tool}; ``system`` only first;
* user/assistant alternation; ``tool`` messages only right after an assistant ``tool_calls`` turn,
  each answering one of its call ids; no empty turns;
* the last message is the assistant target;
* ``tool_calls`` and ``tools`` well-formed (function name, JSON-string arguments, object schema);
* example length (chat framing included) within ``max_tokens``;
* unknown top-level keys are errors, except advise's documented test-split extras
  (``original_messages``, ``metadata``) which are reported as notes.

It then recommends an example count from the task kind and failure consistency (see
:func:`recommend_examples`) and compares it with the examples in the file.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

ROLES = {"system", "user", "assistant", "tool"}
TOP_LEVEL_KEYS = {"messages", "tools", "parallel_tool_calls"}
ADVISE_EXTRAS = {"original_messages", "metadata"}  # test split only; evaluation reads them
MESSAGE_KEYS = {"role", "content", "name", "tool_calls", "tool_call_id", "weight", "refusal"}
DEFAULT_MAX_TOKENS = 8192  # SmolLM2-135M-Instruct (the default base model) context length
FUNCTION_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
MAX_PROBLEMS_KEPT = 1000

TaskKind = Literal["format", "style", "tool-use", "knowledge", "complex"]
# (low, high) recommended examples per task kind; low consistency pushes toward `high`
EXAMPLE_RANGES: dict[str, tuple[int, int]] = {
    "format": (500, 1500),
    "style": (500, 2000),
    "tool-use": (1000, 3000),
    "knowledge": (2000, 5000),
    "complex": (2000, 5000),
}


class Problem(BaseModel):
    line: int
    kind: str  # invalid_json | not_object | missing_messages | bad_role | system_not_first | role_order |
    # empty_turn | missing_assistant_target | bad_tool_call | bad_tool | unknown_key | too_long | bad_pair | note
    message: str
    field: str | None = None
    severity: Literal["error", "note"] = "error"


class Recommendation(BaseModel):
    task_kind: str
    task_kind_source: Literal["given", "inferred"]
    consistency: float | None = Field(description="failure consistency 0–1 (high = recurring structural failures)")
    recommended: int
    range: tuple[int, int]
    current: int
    verdict: str


class ValidationReport(BaseModel):
    file: str
    lines: int
    examples: int = Field(description="lines that parsed as an example")
    valid_examples: int = Field(description="examples without errors")
    max_tokens: int
    token_counter: str
    longest_example_tokens: int
    problems: list[Problem]
    problems_total: int
    problem_counts: dict[str, int]
    recommendation: Recommendation

    @property
    def ok(self) -> bool:
        return not any(p.severity == "error" for p in self.problems)


def recommend_examples(task_kind: str, consistency: float | None, current: int,
                       source: Literal["given", "inferred"] = "given") -> Recommendation:
    """Recommended training examples: the kind's range, interpolated by (1 − consistency).

    Consistent, structural failures (format, schema) are learnt from few examples; scattered ones
    need more. Unknown consistency → the middle of the range.
    """
    lo, hi = EXAMPLE_RANGES.get(task_kind, EXAMPLE_RANGES["complex"])
    c = 0.5 if consistency is None else min(1.0, max(0.0, consistency))
    rec = int(round((lo + (1 - c) * (hi - lo)) / 50) * 50)
    if current >= rec:
        verdict = f"enough: {current} examples ≥ {rec} recommended"
    elif current >= lo:
        verdict = f"usable: {current} examples, within the {lo}–{hi} range but below the {rec} recommended"
    else:
        verdict = f"too few: {current} examples < {lo}, the minimum for {task_kind} tasks"
    return Recommendation(task_kind=task_kind, task_kind_source=source, consistency=consistency,
                          recommended=rec, range=(lo, hi), current=current, verdict=verdict)


def _check_tool_calls(calls: Any, line: int, where: str, out: list[Problem]) -> list[str]:
    ids: list[str] = []
    if not isinstance(calls, list) or not calls:
        out.append(Problem(line=line, kind="bad_tool_call", field=where, message="tool_calls must be a non-empty list"))
        return ids
    for j, tc in enumerate(calls):
        f = f"{where}[{j}]"
        if not isinstance(tc, dict) or not isinstance(tc.get("function"), dict):
            out.append(Problem(line=line, kind="bad_tool_call", field=f, message="needs a \"function\" object"))
            continue
        if not isinstance(tc.get("id"), str) or not tc["id"]:
            out.append(Problem(line=line, kind="bad_tool_call", field=f + ".id", message="missing call id"))
        else:
            ids.append(tc["id"])
        if tc.get("type", "function") != "function":
            out.append(Problem(line=line, kind="bad_tool_call", field=f + ".type", message="type must be \"function\""))
        name = tc["function"].get("name")
        if not isinstance(name, str) or not FUNCTION_NAME.match(name):
            out.append(Problem(line=line, kind="bad_tool_call", field=f + ".function.name",
                               message="function name must match [A-Za-z0-9_-]{1,64}"))
        args = tc["function"].get("arguments")
        if not isinstance(args, str):
            out.append(Problem(line=line, kind="bad_tool_call", field=f + ".function.arguments",
                               message="arguments must be a JSON string"))
        else:
            try:
                json.loads(args)
            except ValueError:
                out.append(Problem(line=line, kind="bad_tool_call", field=f + ".function.arguments",
                                   message="arguments are not valid JSON"))
    return ids


def _check_tools(tools: Any, line: int, out: list[Problem]) -> None:
    if not isinstance(tools, list):
        out.append(Problem(line=line, kind="bad_tool", field="tools", message="tools must be a list"))
        return
    for j, t in enumerate(tools):
        f = f"tools[{j}]"
        fn = t.get("function") if isinstance(t, dict) else None
        if not isinstance(t, dict) or t.get("type") != "function" or not isinstance(fn, dict):
            out.append(Problem(line=line, kind="bad_tool", field=f,
                               message='each tool is {"type": "function", "function": {...}}'))
            continue
        if not isinstance(fn.get("name"), str) or not FUNCTION_NAME.match(fn["name"]):
            out.append(Problem(line=line, kind="bad_tool", field=f + ".function.name",
                               message="function name must match [A-Za-z0-9_-]{1,64}"))
        params = fn.get("parameters")
        if params is not None and (not isinstance(params, dict) or params.get("type", "object") != "object"):
            out.append(Problem(line=line, kind="bad_tool", field=f + ".function.parameters",
                               message="parameters must be a JSON schema object ({\"type\": \"object\", …})"))


def check_messages(messages: Any, line: int, field: str = "messages") -> list[Problem]:
    """Role order, empty turns, tool-call structure and the assistant target of one conversation."""
    out: list[Problem] = []
    if not isinstance(messages, list) or not messages:
        return [Problem(line=line, kind="missing_messages", field=field, message="messages must be a non-empty list")]
    prev: str | None = None
    pending: set[str] = set()
    for i, m in enumerate(messages):
        f = f"{field}[{i}]"
        if not isinstance(m, dict):
            out.append(Problem(line=line, kind="not_object", field=f, message="a message must be an object"))
            prev = None
            continue
        role = m.get("role")
        if role not in ROLES:
            out.append(Problem(line=line, kind="bad_role", field=f + ".role",
                               message=f"role {role!r} not in {sorted(ROLES)}"))
            prev = None
            continue
        extra = set(m) - MESSAGE_KEYS
        if extra:
            out.append(Problem(line=line, kind="unknown_key", field=f, message=f"unknown message keys {sorted(extra)}"))
        content = m.get("content")
        has_calls = role == "assistant" and m.get("tool_calls") is not None
        if content is not None and not isinstance(content, str):
            out.append(Problem(line=line, kind="empty_turn", field=f + ".content", message="content must be a string"))
        elif not (content or "").strip() and not has_calls:
            out.append(Problem(line=line, kind="empty_turn", field=f + ".content", message=f"empty {role} turn"))
        if role == "system":
            if i != 0:
                out.append(Problem(line=line, kind="system_not_first", field=f + ".role",
                                   message="a system message may only come first"))
        elif role == "user":
            if prev == "user":
                out.append(Problem(line=line, kind="role_order", field=f + ".role", message="two user turns in a row"))
            elif prev == "assistant" and pending:
                out.append(Problem(line=line, kind="role_order", field=f + ".role",
                                   message="user turn before the tool results the assistant asked for"))
            pending = set()
        elif role == "assistant":
            if prev in (None, "system"):
                out.append(Problem(line=line, kind="role_order", field=f + ".role",
                                   message="assistant turn before any user turn"))
            elif prev == "assistant":
                out.append(Problem(line=line, kind="role_order", field=f + ".role",
                                   message=("missing tool results for call ids " + str(sorted(pending))) if pending
                                   else "two assistant turns in a row"))
            elif prev == "tool" and pending:
                out.append(Problem(line=line, kind="role_order", field=f + ".role",
                                   message=f"missing tool results for call ids {sorted(pending)}"))
            pending = set(_check_tool_calls(m["tool_calls"], line, f + ".tool_calls", out)) if has_calls else set()
        elif role == "tool":
            if prev not in ("assistant", "tool") or (not pending and prev == "assistant"):
                out.append(Problem(line=line, kind="role_order", field=f + ".role",
                                   message="tool message without a preceding assistant tool_calls turn"))
            cid = m.get("tool_call_id")
            if prev in ("assistant", "tool") and (not isinstance(cid, str) or cid not in pending):
                out.append(Problem(line=line, kind="bad_tool_call", field=f + ".tool_call_id",
                                   message=f"tool_call_id {cid!r} answers no pending call"))
            if isinstance(cid, str):
                pending.discard(cid)
        prev = role
    last = messages[-1]
    if not isinstance(last, dict) or last.get("role") != "assistant":
        out.append(Problem(line=line, kind="missing_assistant_target", field=f"{field}[{len(messages) - 1}]",
                           message="the last message must be the assistant's reply (the training target)"))
    return out


def _infer_task_kind(stats: Counter[str]) -> str:
    n = max(1, stats["examples"])
    if stats["tool_calls"] / n >= 0.2:
        return "tool-use"
    if stats["multi_turn"] / n >= 0.5:
        return "complex"
    if stats["json_targets"] / n >= 0.8:
        return "format"
    return "style"


def validate_file(path: str | Path, *, max_tokens: int | None = None, task_kind: str | None = None,
                  consistency: float | None = None) -> ValidationReport:
    """Check every line of a chat-format JSONL file; the report lists problems with line numbers."""
    from advisor.kernel.errors import AdviseError
    from advisor.kernel.io import open_binary
    from trainer.dataset.tokens import count_messages, count_tokens, counter_name

    limit = max_tokens or DEFAULT_MAX_TOKENS
    p = Path(path)
    if not p.is_file():
        raise AdviseError(f"file not found: {p}", hint="pass a JSONL training file")
    problems: list[Problem] = []
    counts: Counter[str] = Counter()
    stats: Counter[str] = Counter()
    lines = examples = valid = longest = 0

    def add(found: list[Problem]) -> None:
        for pr in found:
            counts[pr.kind] += 1
            if len(problems) < MAX_PROBLEMS_KEPT:
                problems.append(pr)

    with open_binary(p) as fh:
        for n, raw in enumerate(fh, 1):
            lines = n
            if not raw.strip():
                continue
            found: list[Problem] = []
            try:
                row = json.loads(raw)
            except ValueError as exc:
                add([Problem(line=n, kind="invalid_json", message=f"not valid JSON: {exc}")])
                continue
            if not isinstance(row, dict):
                add([Problem(line=n, kind="not_object", message="each line must be a JSON object")])
                continue
            examples += 1
            if "messages" not in row and ("prompt" in row or "completion" in row):
                for key in ("prompt", "completion"):
                    if not isinstance(row.get(key), str) or not row[key].strip():
                        found.append(Problem(line=n, kind="bad_pair", field=key, message=f"empty or missing {key}"))
                tokens = count_tokens(row.get("prompt") or "") + count_tokens(row.get("completion") or "")
                messages: list = []
            else:
                messages = row.get("messages")
                found += check_messages(messages, n)
                for key in sorted(set(row) - TOP_LEVEL_KEYS):
                    if key in ADVISE_EXTRAS:
                        if counts["note"] or any(pr.kind == "note" for pr in found):
                            continue  # said once per file
                        found.append(Problem(line=n, kind="note", field=key, severity="note",
                                             message=f"advise test-split extras ({', '.join(sorted(ADVISE_EXTRAS))}) from line {n} on: "
                                                     "ignored by trainers; strip them before uploading to a hosted service"))
                    else:
                        found.append(Problem(line=n, kind="unknown_key", field=key,
                                             message=f"unknown top-level key {key!r}"))
                if "tools" in row:
                    _check_tools(row["tools"], n, found)
                ok_msgs = [m for m in messages if isinstance(m, dict)] if isinstance(messages, list) else []
                tokens = count_messages([{"content": m.get("content") if isinstance(m.get("content"), str) else "",
                                          "tool_calls": m.get("tool_calls")} for m in ok_msgs])
                if "tools" in row:
                    tokens += count_tokens(json.dumps(row["tools"], ensure_ascii=False))
                if ok_msgs:
                    stats["examples"] += 1
                    stats["tool_calls"] += any(m.get("tool_calls") for m in ok_msgs)
                    stats["multi_turn"] += sum(m.get("role") == "assistant" for m in ok_msgs) > 1
                    target = ok_msgs[-1].get("content")
                    if isinstance(target, str) and target.strip()[:1] in ("{", "["):
                        try:
                            json.loads(target)
                            stats["json_targets"] += 1
                        except ValueError:
                            pass
            longest = max(longest, tokens)
            if tokens > limit:
                found.append(Problem(line=n, kind="too_long", field="messages",
                                     message=f"{tokens} tokens > {limit} (the model's context / --max-tokens)"))
            if not any(pr.severity == "error" for pr in found):
                valid += 1
            add(found)
    source: Literal["given", "inferred"] = "given" if task_kind else "inferred"
    kind = task_kind or _infer_task_kind(stats)
    return ValidationReport(
        file=str(p), lines=lines, examples=examples, valid_examples=valid, max_tokens=limit,
        token_counter=counter_name(), longest_example_tokens=longest, problems=problems,
        problems_total=sum(counts.values()), problem_counts=dict(counts),
        recommendation=recommend_examples(kind, consistency, valid, source),
    )
