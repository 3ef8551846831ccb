"""Generate realistic, seeded LLM production logs for a named scenario.

    python examples/generate.py ecommerce -o /tmp/ecommerce [--seed 7] [--days 14] [--per-day 3000]
           [--sample-rate 0.05] [--format openai_chat|openai_batch|anthropic|canonical|all] [--gzip] [--force]
    python examples/generate.py --all          # regenerate every committed example under examples/

Python API (tests, benchmarks)::

    from examples.generate import generate_scenario, write_scenario
    for call in generate_scenario("ecommerce", seed=1, days=2, per_day=500): ...
    write_scenario("support", "/tmp/support", "anthropic", seed=1)

A *neutral call dict* (what ``generate_scenario`` yields and writers render) has keys:
``id`` (hex), ``timestamp`` (aware UTC datetime), ``provider``, ``model``, ``system``,
``messages`` ([{role, content}], excluding system), ``response_format``, ``max_tokens``,
``temperature``, ``output``, ``finish_reason`` (stop|length|None on error), ``status``
(ok|error), ``error`` ({status_code, kind} or None), ``usage`` ({input_tokens (all prompt
tokens incl. cache), cache_read_tokens, cache_write_tokens, output_tokens,
reasoning_tokens} or None on error), ``latency_ms``, ``metadata``, ``truth`` ({ok,
signature, category, knowledge, recurring}) and ``label`` (reviewer label or None).

Same scenario + seed + options → byte-identical files. Generation streams: memory stays flat
for 1M calls.
"""

from __future__ import annotations

import gzip
import random
import sys
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import datetime
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # `python examples/generate.py`: make `examples` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from examples._tokens import count_chat, count_text  # noqa: E402
from examples.scenarios import SCENARIOS, get_scenario  # noqa: E402
from examples.scenarios.base import Content, Scenario  # noqa: E402
from examples.traffic import DEFAULT_START, Arrivals, latency_ms  # noqa: E402

EXAMPLES_DIR = Path(__file__).resolve().parent
TRUTH_SCHEMA_VERSION = 1

# Provider error mix: (status code, kind, share of errors)
_ERRORS = {
    "openai": ((429, "rate_limit", 0.65), (500, "server_error", 0.2), (503, "overloaded", 0.15)),
    "anthropic": ((429, "rate_limit", 0.45), (529, "overloaded", 0.4), (500, "server_error", 0.15)),
}
OPENAI_CACHE_MIN_TOKENS = 1024  # automatic prompt caching applies from 1,024 prompt tokens...
OPENAI_CACHE_STEP = 128  # ...in 128-token increments
OPENAI_CACHE_TTL_S = 300  # a prefix stays cached for ~5-10 minutes of inactivity; 5 is conservative


def _looping_output(content: Content, max_tokens: int) -> str:
    """A degenerate answer that repeats itself until max_tokens cuts it off (finish_reason=length)."""
    base = content.output.replace("\n", " ")
    words = (base + " ") .split() * (max_tokens // max(len(base.split()), 1) + 3)
    lo, hi = 1, len(words)
    while lo < hi:  # longest word prefix that fits in max_tokens
        mid = (lo + hi + 1) // 2
        if count_text(" ".join(words[:mid])) <= max_tokens:
            lo = mid
        else:
            hi = mid - 1
    return " ".join(words[:lo])


def generate_scenario(name: str, *, seed: int = 0, days: int | None = None, per_day: float | None = None,
                      sample_rate: float | None = None, start: datetime = DEFAULT_START) -> Iterator[dict[str, Any]]:
    """Yield neutral call dicts for scenario ``name`` in timestamp order (see module docstring)."""
    sc = get_scenario(name)
    days = sc.days if days is None else days
    per_day = sc.per_day if per_day is None else per_day
    sample_rate = sc.sample_rate if sample_rate is None else sample_rate
    _check_options(days, per_day, sample_rate)
    # Separate streams: changing the traffic shape never changes the content of call #n, and vice versa.
    traffic_rng = random.Random(f"{sc.name}:{seed}:traffic")
    rng = random.Random(f"{sc.name}:{seed}:content")
    system_tokens = count_text(sc.system_prompt)
    prefix_tokens = system_tokens + 4 + 3  # framing before the first user token
    cacheable = sc.provider == "openai" and prefix_tokens >= OPENAI_CACHE_MIN_TOKENS
    last_seen: float | None = None
    errors = _ERRORS[sc.provider]

    for ts in Arrivals(sc.traffic, start, days, per_day, sample_rate, traffic_rng):
        content = sc.make_content(rng)
        call_id = f"{rng.getrandbits(96):024x}"
        messages = [{"role": "user", "content": content.user}]
        input_tokens = count_chat(sc.system_prompt, messages, system_tokens)
        call: dict[str, Any] = {
            "id": call_id, "timestamp": ts, "provider": sc.provider, "model": sc.model,
            "system": sc.system_prompt, "messages": messages, "response_format": sc.response_format,
            "max_tokens": sc.max_tokens, "temperature": sc.temperature,
        }
        meta = dict(sc.metadata)
        meta.update(content.metadata)
        call["metadata"] = meta

        if rng.random() < sc.error_rate:
            u = rng.random() * sum(e[2] for e in errors)
            status_code, kind = next((c, k) for c, k, share in _accumulate(errors) if u < share)
            call.update(output=None, finish_reason=None, status="error",
                        error={"status_code": status_code, "kind": kind}, usage=None,
                        latency_ms=int(rng.uniform(80, 600) if status_code == 429 else rng.uniform(2000, 30000)),
                        truth={"ok": None, "signature": f"provider:{kind}", "category": None,
                               "knowledge": False, "recurring": False},
                        label=None)
            yield call
            continue

        signature, category, recurring, knowledge = content.signature, content.category, False, False
        if content.signature is not None:
            planted = sc.signature(content.signature)
            recurring, knowledge = planted.recurring, planted.kind == "knowledge"
        finish = content.finish_reason
        output = content.output
        if content.ok and rng.random() < sc.truncation_rate:
            output, finish = _looping_output(content, sc.max_tokens), "length"
            signature, category, recurring, knowledge = "provider:truncated", "other", False, False
        output_tokens = sc.max_tokens if finish == "length" else count_text(output)

        cache_read = 0
        now = ts.timestamp()
        if cacheable:
            if last_seen is not None and now - last_seen <= OPENAI_CACHE_TTL_S:
                cache_read = (prefix_tokens // OPENAI_CACHE_STEP) * OPENAI_CACHE_STEP
            last_seen = now
        call.update(
            output=output, finish_reason=finish, status="ok", error=None,
            usage={"input_tokens": input_tokens, "cache_read_tokens": cache_read, "cache_write_tokens": 0,
                   "output_tokens": output_tokens, "reasoning_tokens": 0},
            latency_ms=latency_ms(rng, input_tokens - cache_read, output_tokens, ttft_ms=sc.ttft_ms,
                                  ms_per_output_token=sc.ms_per_output_token),
            truth={"ok": signature is None, "signature": signature, "category": category,
                   "knowledge": knowledge, "recurring": recurring},
        )
        if sc.labelled and (sc.label_share >= 1 or random.Random(call_id).random() < sc.label_share):
            lab: dict[str, Any] = {"ok": signature is None}
            if signature is not None:
                lab["category"] = category
                if content.expected:
                    lab["expected"] = content.expected
                lab["note"] = content.note or ("Answer cut off mid-sentence." if finish == "length" else "")
            call["label"] = lab
        else:
            call["label"] = None
        yield call


def _accumulate(errors: tuple[tuple[int, str, float], ...]) -> Iterator[tuple[int, str, float]]:
    acc = 0.0
    for code, kind, share in errors:
        acc += share
        yield code, kind, acc


def _check_options(days: int, per_day: float, sample_rate: float) -> None:
    from advisor.kernel.errors import AdviseError

    if days < 1:
        raise AdviseError(f"--days must be at least 1 (got {days})", field="--days", hint="e.g. --days 14")
    if per_day <= 0:
        raise AdviseError(f"--per-day must be positive (got {per_day})", field="--per-day",
                          hint="full-volume requests per day, e.g. --per-day 3000")
    if not 0 < sample_rate <= 1:
        raise AdviseError(f"--sample-rate must be in (0, 1] (got {sample_rate})", field="--sample-rate",
                          hint="e.g. 0.05 for a 5% sample")


class TruthTally:
    """Counts what was actually generated, so truth.json states realised (not only target) shares."""

    def __init__(self) -> None:
        self.n = 0
        self.n_ok_status = 0
        self.signatures: Counter[str] = Counter()
        self.provider_errors: Counter[str] = Counter()
        self.knowledge = 0
        self.days: Counter[str] = Counter()
        self.input_tokens = 0
        self.output_tokens = 0
        self.cache_read_tokens = 0
        self.first: datetime | None = None
        self.last: datetime | None = None

    def add(self, call: dict[str, Any]) -> None:
        self.n += 1
        self.days[call["timestamp"].date().isoformat()] += 1
        self.first = self.first or call["timestamp"]
        self.last = call["timestamp"]
        if call["status"] != "ok":
            self.provider_errors[call["truth"]["signature"]] += 1
            return
        self.n_ok_status += 1
        u = call["usage"]
        self.input_tokens += u["input_tokens"]
        self.output_tokens += u["output_tokens"]
        self.cache_read_tokens += u["cache_read_tokens"]
        if call["truth"]["signature"]:
            self.signatures[call["truth"]["signature"]] += 1
        if call["truth"]["knowledge"]:
            self.knowledge += 1

    def truth(self, sc: Scenario, *, seed: int, days: int, per_day: float, sample_rate: float,
              fmt: str, files: list[str]) -> dict[str, Any]:
        ok_n = max(self.n_ok_status, 1)
        planted = []
        for sig in sc.signatures:
            planted.append({"key": sig.key, "category": sig.category, "kind": sig.kind,
                            "target_share": sig.share, "count": self.signatures[sig.key],
                            "share": round(self.signatures[sig.key] / ok_n, 4),
                            "detected_by": sig.detected_by, "description": sig.description})
        recurring = sum(self.signatures[s.key] for s in sc.signatures if s.kind == "structural")
        scattered = sum(self.signatures[s.key] for s in sc.signatures if s.kind == "scattered")
        failures = sum(self.signatures.values())
        planted_failures = sum(self.signatures[s.key] for s in sc.signatures)
        system_tokens = count_text(sc.system_prompt)
        return {
            "schema_version": TRUTH_SCHEMA_VERSION,
            "scenario": sc.name,
            "title": sc.title,
            "expected_conclusion": sc.expected_conclusion,
            "seed": seed,
            "format": fmt,
            "files": files,
            "provider": sc.provider,
            "model": sc.model,
            "days": days,
            "window": {"first": self.first.isoformat() if self.first else None,
                       "last": self.last.isoformat() if self.last else None},
            "requests_per_day_full_volume": per_day,
            "sample_rate": sample_rate,
            "records": self.n,
            "records_per_day": dict(sorted(self.days.items())),
            "implied_requests_per_day": round(self.n / days / sample_rate, 1),
            "static_system_prompt_tokens_o200k": system_tokens,
            "tokens": {"input": self.input_tokens, "output": self.output_tokens,
                       "cache_read": self.cache_read_tokens,
                       "mean_input_per_ok_call": round(self.input_tokens / ok_n, 1),
                       "mean_output_per_ok_call": round(self.output_tokens / ok_n, 1),
                       "static_share_of_input": round(system_tokens * self.n_ok_status / max(self.input_tokens, 1), 4)},
            "shares_denominator": "calls with status ok",
            "ok_status_calls": self.n_ok_status,
            "planted_signatures": planted,
            "failure_share": round(failures / ok_n, 4),
            "recurring_structural_share": round(recurring / ok_n, 4),
            "scattered_share": round(scattered / ok_n, 4),
            "consistency_definition": "recurring structural failures / all planted failures (truncations excluded)",
            "consistency": round(recurring / planted_failures, 4) if planted_failures else None,
            "knowledge_failure_share": round(self.knowledge / ok_n, 4),
            "template_compliance": round(1 - failures / ok_n, 4),
            "truncated": {"count": self.signatures["provider:truncated"],
                          "share": round(self.signatures["provider:truncated"] / ok_n, 4)},
            "provider_errors": {"count": sum(self.provider_errors.values()),
                                "share_of_all_calls": round(sum(self.provider_errors.values()) / max(self.n, 1), 4),
                                "by_kind": dict(sorted(self.provider_errors.items()))},
            "labels": "labels.jsonl" if sc.labelled else None,
        }


def write_scenario(name: str, out_dir: str | Path, fmt: str | None = None, *, seed: int = 0, days: int | None = None,
                   per_day: float | None = None, sample_rate: float | None = None, compress: bool = False,
                   force: bool = False, start: datetime = DEFAULT_START) -> dict[str, Any]:
    """Write logs + truth.json (+ labels.jsonl, advise.toml) for one scenario; return the truth dict.

    ``fmt="all"`` writes one sub-directory per format. Refuses to touch a non-empty
    ``out_dir`` unless ``force``.
    """
    import orjson

    from advisor.kernel.errors import OutputExistsError
    from advisor.kernel.io import atomic_open, atomic_write_text
    from examples.writers import WRITERS, get_writer, open_sink

    sc = get_scenario(name)
    fmt = fmt or sc.default_format
    out = Path(out_dir)
    if fmt == "all":
        return {f: write_scenario(name, out / f, f, seed=seed, days=days, per_day=per_day, sample_rate=sample_rate,
                                  compress=compress, force=force, start=start) for f in WRITERS}
    writer = get_writer(fmt)
    if out.exists() and any(out.iterdir()) and not force:
        raise OutputExistsError(f"{out} already exists and is not empty",
                                hint="pass --force to overwrite it, or choose another directory")
    out.mkdir(parents=True, exist_ok=True)
    _remove_generated(out, [*(f for w in WRITERS.values() for f in w.roles.values()), "labels.jsonl"])
    days = sc.days if days is None else days
    per_day = sc.per_day if per_day is None else per_day
    sample_rate = sc.sample_rate if sample_rate is None else sample_rate

    tally = TruthTally()
    with ExitStack() as stack:
        write, paths = stack.enter_context(open_sink(writer, out, compress))
        label_fh: Any = None
        if sc.labelled:  # labels.jsonl joins on the id the writer gives each record
            label_fh = stack.enter_context(atomic_open(out / ("labels.jsonl" + (".gz" if compress else "")), "wb"))
            if compress:
                label_fh = stack.enter_context(gzip.GzipFile(filename="", mode="wb", fileobj=label_fh, mtime=0,
                                                             compresslevel=9))
        for call in generate_scenario(name, seed=seed, days=days, per_day=per_day, sample_rate=sample_rate,
                                      start=start):
            write(call)
            tally.add(call)
            if label_fh is not None and call["label"] is not None:
                label_fh.write(orjson.dumps({"id": writer.record_id(call), **call["label"]},
                                            option=orjson.OPT_APPEND_NEWLINE))
    files = [p.name for p in paths]
    truth = tally.truth(sc, seed=seed, days=days, per_day=per_day, sample_rate=sample_rate, fmt=fmt, files=files)
    atomic_write_text(out / "truth.json", orjson.dumps(truth, option=orjson.OPT_INDENT_2).decode() + "\n")
    if sc.advise_toml:
        pct = f"{sample_rate * 100:g}"
        atomic_write_text(out / "advise.toml", sc.advise_toml.format(sample_rate=f"{sample_rate:g}", pct=pct,
                                                                     per_day=int(per_day)))
    return truth


def _remove_generated(out: Path, names: list[str]) -> None:
    """--force: drop files an earlier run wrote (another format, labels), never anything else."""
    for name in [*names, *(n + ".gz" for n in names), "truth.json", "advise.toml"]:
        (out / name).unlink(missing_ok=True)


# What `--all` commits: (directory, scenario, format, options). Sizes are budgeted to ≤ 2 MB in total.
COMMITTED: tuple[tuple[str, str, str, dict[str, Any]], ...] = (
    ("ecommerce", "ecommerce", "openai_chat", {"compress": True}),
    ("support", "support", "anthropic", {"compress": True}),
    ("lowvolume", "lowvolume", "openai_chat", {"compress": True}),
    ("caching", "caching", "anthropic", {"compress": True}),
    ("plant-structural", "plant-structural", "openai_chat", {"compress": True}),
    ("plant-random", "plant-random", "openai_chat", {"compress": True}),
    ("plant-knowledge", "plant-knowledge", "openai_chat", {"compress": True}),
    ("formats", "ecommerce", "all", {"days": 1, "per_day": 1000.0, "compress": True}),
)


def regenerate_all(root: Path = EXAMPLES_DIR, quiet: bool = False) -> list[Path]:
    """Rewrite every committed example directory (deterministic: seed 0, same bytes every time)."""
    written = []
    for dirname, scenario, fmt, opts in COMMITTED:
        out = root / dirname
        write_scenario(scenario, out, fmt, force=True, **opts)
        written.append(out)
        if not quiet:
            print(f"wrote {out.relative_to(root.parent)} ({scenario}, {fmt})", file=sys.stderr)
    return written


def main(argv: list[str] | None = None) -> int:
    import click

    from advisor.kernel.errors import AdviseError
    from examples.writers import WRITERS

    @click.command(context_settings={"help_option_names": ["-h", "--help"]})
    @click.argument("scenario", required=False, type=click.Choice(sorted(SCENARIOS)))
    @click.option("-o", "--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
                  help="Output directory.")
    @click.option("--seed", type=int, default=0, show_default=True)
    @click.option("--days", type=int, default=None, help="Days of traffic (scenario default otherwise).")
    @click.option("--per-day", type=float, default=None, help="Full-volume requests per day.")
    @click.option("--sample-rate", type=float, default=None, help="Fraction of calls the export keeps.")
    @click.option("--format", "fmt", type=click.Choice([*WRITERS, "all"]), default=None,
                  help="Log format (scenario default otherwise).")
    @click.option("--gzip", "compress", is_flag=True, help="Write .jsonl.gz files.")
    @click.option("--force", is_flag=True, help="Overwrite a non-empty output directory.")
    @click.option("--all", "all_", is_flag=True, help="Regenerate every committed example under examples/.")
    def cli(scenario: str | None, out_dir: Path | None, seed: int, days: int | None, per_day: float | None,
            sample_rate: float | None, fmt: str | None, compress: bool, force: bool, all_: bool) -> None:
        """Write realistic, seeded LLM logs for SCENARIO (with truth.json) into --out."""
        if all_:
            regenerate_all()
            return
        if scenario is None or out_dir is None:
            raise click.UsageError("give SCENARIO and -o DIR, or --all")
        truth = write_scenario(scenario, out_dir, fmt, seed=seed, days=days, per_day=per_day,
                               sample_rate=sample_rate, compress=compress, force=force)
        n = truth["records"] if "records" in truth else sum(t["records"] for t in truth.values())
        click.echo(f"wrote {n:,} records of '{scenario}' to {out_dir}", err=True)

    try:
        cli.main(args=argv, standalone_mode=False)
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        return 2
    except AdviseError as exc:
        click.echo(f"error: {exc.render()}", err=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
