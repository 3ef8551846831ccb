"""Write big, realistic, varied LLM call logs fast (for bench/bench_scale.py; never into the repo).

`write_logs(dir, n)` writes a log directory the way a team's exports look: three formats side by side
(OpenAI chat ~50%, Anthropic messages ~30%, advise canonical ~20% of the calls, one file each) and a
labels.jsonl judging ~2% of the calls. The calls come from 150 prompt families of 7 models: system prompts
of 30-3,000 words (some with a per-call date and customer name at the end, so static-prefix detection has
real work), user turns of 5-400 words with one to three earlier turns, tool definitions and tool calls in
a fifth of the families, JSON output asked for in another fifth (about 4% of those outputs are not valid
JSON), refusals, truncations, provider errors (rate limits, 500s) and reported usage with cache reads.
Lines are assembled from pre-rendered fragments and written in large blocks: about 100k lines per 5 s.
"""

from __future__ import annotations

import argparse
import random
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson

START = datetime(2025, 1, 1, tzinfo=UTC)
WORDS = ("order refund parcel invoice account password delivery late broken missing address upgrade plan charge card "
         "shipping warranty return exchange label tracking store policy customer agent escalate ticket priority "
         "contract renewal discount voucher subscription billing cycle payment failed retry region warehouse stock "
         "supplier quote estimate schedule meeting calendar summary report quarterly revenue forecast churn cohort "
         "segment campaign email draft tone formal friendly concise bullet heading table json field schema value "
         "date amount currency euro dollar total tax vat number reference identifier status pending approved "
         "rejected closed open reopened duplicate merge split assign owner team manager review feedback rating "
         "star comment photo video attachment link url domain login session token expired reset verify code").split()
MODELS = (("openai", "gpt-4o-mini"), ("openai", "gpt-4o"), ("openai", "gpt-4.1-mini"), ("openai", "o3-mini"),
          ("anthropic", "claude-3-5-haiku-20241022"), ("anthropic", "claude-3-5-sonnet-20241022"),
          ("anthropic", "claude-3-7-sonnet-20250219"))
NAMES = ("Ana", "Ben", "Chloé", "Dmitri", "Eun-ji", "Farah", "Gus", "Hiro", "Ines", "Jonas", "Kofi", "Lena")
REFUSAL = "I'm sorry, but I can't help with that request."
ERRORS = ((429, "rate_limit_error", "Rate limit reached for requests"), (500, "server_error", "The server had an error"),
          (529, "overloaded_error", "Overloaded"))


def _words(rng: random.Random, k: int) -> str:
    return " ".join(rng.choices(WORDS, k=k))


class _Family:
    def __init__(self, rng: random.Random, index: int) -> None:
        self.name = f"family-{index:03d}"
        self.provider, self.model = MODELS[rng.randrange(len(MODELS))]
        size = int(min(3000, max(30, rng.lognormvariate(5.5, 1.0))))  # words; median ~250
        rules = " ".join(f"Rule {i}: {_words(rng, rng.randint(6, 18))}." for i in range(max(1, size // 12)))
        self.system = f"You are the {self.name} assistant of Acme ({index}). {rules}"
        self.dynamic = rng.random() < 0.3  # date + customer name appended per call
        self.kind = rng.choices(("chat", "json", "tools"), weights=(3, 1, 1))[0]
        self.tools = [{"type": "function", "function": {
            "name": f"tool_{index}_{t}", "description": _words(rng, rng.randint(5, 25)),
            "parameters": {"type": "object", "properties": {f"arg{a}": {"type": "string"} for a in range(3)},
                           "required": ["arg0"]}}} for t in range(rng.randint(1, 6))] if self.kind == "tools" else None
        self.max_tokens = rng.choice((None, 256, 512, 1024))
        self.weight = rng.paretovariate(1.2)  # a few families carry most of the traffic

    def system_for(self, rng: random.Random, when: datetime) -> str:
        if not self.dynamic:
            return self.system
        return f"{self.system}\nToday is {when:%Y-%m-%d}. Customer: {NAMES[rng.randrange(len(NAMES))]}."


class _Pools:
    def __init__(self, rng: random.Random) -> None:
        self.users = [_words(rng, int(min(400, max(5, rng.lognormvariate(3.3, 0.9))))) for _ in range(20_000)]
        self.outputs = [_words(rng, int(min(600, max(3, rng.lognormvariate(3.8, 0.9))))) for _ in range(5_000)]
        self.json_outputs = [orjson.dumps({"category": rng.choice(WORDS), "priority": rng.randint(1, 5),
                                           "summary": _words(rng, rng.randint(5, 40))}).decode()
                             for _ in range(2_000)]


def _tokens(text: str) -> int:
    return max(1, len(text) // 4)


def _call(rng: random.Random, fam: _Family, pools: _Pools, i: int, when: datetime) -> dict:
    """One call, format-neutral: what each writer renders in its own shape."""
    system = fam.system_for(rng, when)
    turns = []
    for _ in range(rng.choice((0, 0, 0, 1, 1, 2))):
        turns += [("user", pools.users[rng.randrange(20_000)]), ("assistant", pools.outputs[rng.randrange(5_000)])]
    turns.append(("user", f"{pools.users[rng.randrange(20_000)]} (ref {rng.randrange(10**6)})"))
    r = rng.random()
    call = {"id": f"call-{i:010d}", "when": when, "fam": fam, "system": system, "turns": turns, "error": None,
            "tool_call": None, "finish": "stop", "output": None}
    if r < 0.006:
        call["error"] = ERRORS[rng.randrange(len(ERRORS))]
        return call
    if fam.kind == "tools" and rng.random() < 0.4:
        tool = fam.tools[rng.randrange(len(fam.tools))]["function"]["name"]
        call["tool_call"] = {"id": f"tc_{i}", "name": tool,
                             "arguments": orjson.dumps({"arg0": rng.choice(WORDS), "arg1": rng.randrange(999)}).decode()}
        call["finish"] = "tool_calls"
        call["output"] = ""
    elif fam.kind == "json":
        out = pools.json_outputs[rng.randrange(2_000)]
        call["output"] = out[:-3] if rng.random() < 0.04 else out  # a few truncated, invalid JSON
    elif r < 0.02:
        call["output"] = REFUSAL
    else:
        call["output"] = pools.outputs[rng.randrange(5_000)]
        if r > 0.99:
            call["finish"] = "length"
    prompt = _tokens(system) + sum(_tokens(t) for _, t in turns) + 8 + (60 * len(fam.tools) if fam.tools else 0)
    completion = _tokens(call["output"] or "") + (20 if call["tool_call"] else 0) + 1
    cached = (prompt // 128) * 128 if prompt >= 1024 and rng.random() < 0.6 else 0
    call["usage"] = (prompt, completion, cached)
    call["latency"] = round(rng.uniform(150, 6000), 1)
    return call


def _openai(c: dict) -> dict:
    fam = c["fam"]
    msgs = [{"role": "system", "content": c["system"]}] + [{"role": r, "content": t} for r, t in c["turns"]]
    req: dict = {"model": fam.model, "messages": msgs}
    if fam.tools:
        req["tools"] = fam.tools
    if fam.kind == "json":
        req["response_format"] = {"type": "json_object"}
    if fam.max_tokens:
        req["max_tokens"] = fam.max_tokens
    ts = c["when"].isoformat().replace("+00:00", "Z")
    if c["error"]:
        code, kind, msg = c["error"]
        return {"timestamp": ts, "request": req, "status_code": code,
                "response": {"error": {"message": msg, "type": kind, "code": kind}}}
    message: dict = {"role": "assistant", "content": c["output"] or None}
    if c["tool_call"]:
        t = c["tool_call"]
        message["tool_calls"] = [{"id": t["id"], "type": "function",
                                  "function": {"name": t["name"], "arguments": t["arguments"]}}]
    p, k, cached = c["usage"]
    return {"timestamp": ts, "latency_ms": c["latency"], "request": req,
            "response": {"id": c["id"], "object": "chat.completion", "model": fam.model,
                         "choices": [{"index": 0, "finish_reason": c["finish"], "message": message}],
                         "usage": {"prompt_tokens": p, "completion_tokens": k, "total_tokens": p + k,
                                   "prompt_tokens_details": {"cached_tokens": cached}}}}


_ANTHROPIC_STOP = {"stop": "end_turn", "length": "max_tokens", "tool_calls": "tool_use"}


def _anthropic(c: dict) -> dict:
    fam = c["fam"]
    req: dict = {"model": fam.model, "max_tokens": fam.max_tokens or 1024, "system": c["system"],
                 "messages": [{"role": r, "content": t} for r, t in c["turns"]]}
    if fam.tools:
        req["tools"] = [{"name": t["function"]["name"], "description": t["function"]["description"],
                         "input_schema": t["function"]["parameters"]} for t in fam.tools]
    ts = c["when"].isoformat().replace("+00:00", "Z")
    if c["error"]:
        code, kind, msg = c["error"]
        return {"timestamp": ts, "request": req, "status_code": code,
                "response": {"type": "error", "error": {"type": kind, "message": msg}}}
    content: list = [{"type": "text", "text": c["output"]}] if c["output"] else []
    if c["tool_call"]:
        t = c["tool_call"]
        content.append({"type": "tool_use", "id": t["id"], "name": t["name"], "input": orjson.loads(t["arguments"])})
    p, k, cached = c["usage"]
    return {"timestamp": ts, "latency_ms": c["latency"], "request": req,
            "response": {"id": c["id"], "type": "message", "role": "assistant", "model": fam.model,
                         "content": content, "stop_reason": _ANTHROPIC_STOP[c["finish"]],
                         "usage": {"input_tokens": p - cached, "cache_read_input_tokens": cached,
                                   "cache_creation_input_tokens": 0, "output_tokens": k}}}


def _canonical(c: dict) -> dict:
    fam = c["fam"]
    line: dict = {"format": "advise", "id": c["id"], "timestamp": c["when"].isoformat().replace("+00:00", "Z"),
                  "provider": fam.provider, "model": fam.model, "system": c["system"],
                  "messages": [{"role": r, "content": t} for r, t in c["turns"]],
                  "metadata": {"feature": fam.name}}
    if fam.tools:
        line["tools"] = fam.tools
    if fam.kind == "json":
        line["response_format"] = {"type": "json_object"}
    if c["error"]:
        code, _, msg = c["error"]
        line.update(status="error", error=f"HTTP {code}: {msg}", output=None)
        return line
    p, k, cached = c["usage"]
    line.update(output=c["output"], finish_reason=c["finish"], latency_ms=c["latency"], status="ok",
                usage={"input_tokens": p, "output_tokens": k, "cache_read_tokens": cached, "origin": "reported"})
    if c["tool_call"]:
        t = c["tool_call"]
        line["output_tool_calls"] = [{"id": t["id"], "type": "function",
                                      "function": {"name": t["name"], "arguments": t["arguments"]}}]
    return line


WRITERS = (("openai_chat.jsonl", _openai, 5), ("anthropic.jsonl", _anthropic, 3), ("canonical.jsonl", _canonical, 2))


def write_logs(directory: Path, records: int, *, seed: int = 1, days: int = 30, families: int = 150) -> int:
    """Write `records` calls as a log directory (three formats + labels.jsonl); returns bytes written."""
    rng = random.Random(seed)
    directory.mkdir(parents=True, exist_ok=True)
    fams = [_Family(rng, i) for i in range(families)]
    weights = [f.weight for f in fams]
    pools = _Pools(rng)
    step = timedelta(seconds=days * 86400 / max(records, 1))
    handles = [(open(directory / name, "wb"), render, []) for name, render, _ in WRITERS]
    choose = [h for h, (_, _, w) in zip(handles, WRITERS, strict=True) for _ in range(w)]
    labels: list[bytes] = []
    written = 0
    try:
        for i in range(records):
            fam = fams[rng.choices(range(families), weights)[0]]
            c = _call(rng, fam, pools, i, START + i * step)
            fh, render, block = choose[rng.randrange(len(choose))]
            line = render(c)
            block.append(orjson.dumps(line))
            if rng.random() < 0.02 and not c["error"]:
                bad = fam.kind == "json" and c["output"] and not c["output"].endswith("}")
                ok = not bad and rng.random() < 0.85
                labels.append(orjson.dumps({"id": c["id"], "ok": ok, **({} if ok else {
                    "category": "format" if bad else rng.choice(("factual", "style", "outdated")),
                    "note": _words(rng, 6)})}))
            if len(block) >= 5_000:
                data = b"\n".join(block) + b"\n"
                fh.write(data)
                written += len(data)
                block.clear()
        for fh, _, block in handles:
            if block:
                data = b"\n".join(block) + b"\n"
                fh.write(data)
                written += len(data)
    finally:
        for fh, _, _ in handles:
            fh.close()
    data = b"\n".join(labels) + b"\n" if labels else b""
    (directory / "labels.jsonl").write_bytes(data)
    return written + len(data)


def export_again(directory: Path, name: str, source: str = "openai_chat.jsonl") -> Path:
    """The first quarter of `source`'s lines exported again beside it as `name`: overlapping exports, whose
    repeated ids advise counts once (a second reading, see advisor.scan.Checkpoint)."""
    src_path, again = directory / source, directory / name
    with open(src_path, "rb") as src:
        total = sum(1 for _ in src)
    with open(src_path, "rb") as src, open(again, "wb") as dst:
        for i, line in enumerate(src):
            if i >= total // 4:
                break
            dst.write(line)
    return again


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("path", type=Path, help="directory to write")
    ap.add_argument("--records", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)
    size = write_logs(args.path, args.records, seed=args.seed)
    print(f"wrote {args.records:,} records, {size / 1e6:.1f} MB to {args.path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
