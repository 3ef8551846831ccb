"""Write big, realistic OpenAI-chat JSONL logs fast (for bench/bench_scale.py; never into the repo).

Each line is `{timestamp, latency_ms, request: {model, messages, response_format}, response: {...usage}}`
with usage reported, drawn from a few prompt families that share long static system prompts (so prefix
caching and static-prompt detection have real work), a variable user turn and an output of 20-400
tokens. Lines are built from pre-rendered fragments and written in large blocks: about 1M lines/min.
"""

from __future__ import annotations

import argparse
import random
import sys
from datetime import UTC, datetime
from pathlib import Path

import orjson

FAMILIES = {
    "support": ("gpt-4o-mini", "You are Acme's customer-support assistant. Policies: " +
                " ".join(f"Rule {i}: refunds within {i + 10} days need the order id and a photo." for i in range(60))),
    "extract": ("gpt-4o", "Extract the fields below from the e-mail and answer in JSON. Schema notes: " +
                " ".join(f"field_{i} is a string of at most {i + 5} words;" for i in range(90))),
    "classify": ("gpt-4o-mini", "Classify the ticket into one of these categories: " +
                 ", ".join(f"category-{i} (examples: 'issue {i} happened', 'cannot {i}')" for i in range(40))),
    "summarise": ("claude-3-5-haiku-20241022", "Summarise the conversation for the next agent. Style guide: " +
                  " ".join(f"Point {i}: keep it short, name the customer, list open actions." for i in range(50))),
}
WORDS = ("order refund parcel invoice account password delivery late broken missing address upgrade plan "
         "charge card shipping warranty return exchange label tracking store").split()
START = int(datetime(2025, 1, 1, tzinfo=UTC).timestamp())


def _user_texts(rng: random.Random, n: int) -> list[str]:
    return [" ".join(rng.choices(WORDS, k=rng.randint(8, 60))) for _ in range(n)]


def write_logs(path: Path, records: int, *, seed: int = 1, days: int = 30) -> int:
    """Write `records` lines to `path` (.jsonl); returns bytes written."""
    rng = random.Random(seed)
    fams = list(FAMILIES.items())
    sys_tokens = {name: len(text) // 4 for name, (_, text) in fams}
    users = _user_texts(rng, 2000)
    outputs = _user_texts(rng, 500)
    step = days * 86400 / max(records, 1)
    written = 0
    block: list[bytes] = []
    with open(path, "wb") as fh:
        for i in range(records):
            name, (model, system) = fams[i % 7 % 4]
            user = users[rng.randrange(len(users))]
            out = outputs[rng.randrange(len(outputs))]
            prompt = sys_tokens[name] + len(user) // 4 + 8
            completion = len(out) // 4 + 2
            cached = (prompt // 128) * 128 if prompt >= 1024 and rng.random() < 0.7 else 0
            ts = START + int(i * step)
            line = {
                "timestamp": ts, "latency_ms": round(rng.uniform(200, 4000), 1),
                "request": {"model": model, "messages": [{"role": "system", "content": system},
                                                         {"role": "user", "content": user}],
                            **({"response_format": {"type": "json_object"}} if name == "extract" else {})},
                "response": {"id": f"chatcmpl-{i:09d}", "object": "chat.completion", "created": ts, "model": model,
                             "choices": [{"index": 0, "finish_reason": "length" if i % 97 == 0 else "stop",
                                          "message": {"role": "assistant", "content": out}}],
                             "usage": {"prompt_tokens": prompt, "completion_tokens": completion,
                                       "total_tokens": prompt + completion,
                                       "prompt_tokens_details": {"cached_tokens": cached}}},
            }
            block.append(orjson.dumps(line))
            if len(block) >= 20_000:
                data = b"\n".join(block) + b"\n"
                fh.write(data)
                written += len(data)
                block.clear()
        if block:
            data = b"\n".join(block) + b"\n"
            fh.write(data)
            written += len(data)
    return written


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("path", type=Path)
    ap.add_argument("--records", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)
    size = write_logs(args.path, args.records, seed=args.seed)
    print(f"wrote {args.records:,} records, {size / 1e6:.1f} MB to {args.path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
