"""Logs → train/val/test JSONL in OpenAI chat format, streaming with flat memory.

Four passes, each over a file on disk rather than a list in memory:

1. records → filter (:mod:`.filters`) → **scrub** (:mod:`trainer.dataset.scrub`, before anything touches
   disk; every decoded string, the id/model/cluster metadata too) → chat rows spooled to a temp
   JSONL; the static-prefix finder sees each row;
2. spool → strip static text, short prompt (:mod:`.prefix`) → exact/near-dupe index
   (:mod:`trainer.dataset.dedupe`, SQLite-backed) → second spool (exact duplicates dropped);
3. near-duplicate groups → grouped, stratified, seeded splits (:mod:`.splits`);
4. second spool → ``train.jsonl`` / ``val.jsonl`` / ``test.jsonl`` (atomic) → ``dataset.json``.

Everything is written into a hidden sibling of the output directory (``.NAME.advise-new-PID``) that
replaces the output directory in one step at the end; the temp spools live inside it.
"""

from __future__ import annotations

import json
import tempfile
from array import array
from collections import Counter
from collections.abc import Callable, Iterable
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from pydantic import BaseModel, ConfigDict, Field

from advisor.kernel.errors import AdviseError, OutputExistsError
from advisor.kernel.io import (
    atomic_open,
    atomic_write_text,
    clean_stale_dirs,
    publish_dir,
    sha256_file,
    staging_dir,
)
from advisor.kernel.record import Record
from advisor.metrics.sketch import QuantileSketch
from advisor.metrics.static_prompt import family_key
from trainer.dataset import filters as flt
from trainer.dataset.dedupe import DEFAULT_THRESHOLD, Deduplicator
from trainer.dataset.manifest import (
    FILTER_DESCRIPTIONS,
    Counts,
    DatasetManifest,
    DedupeInfo,
    FamilyInfo,
    FileInfo,
    FilterInfo,
    TokenStats,
)
from trainer.dataset.prefix import FamilyPrefix, PrefixFinder, strip_example
from trainer.dataset.scrub import Scrubber, ScrubReport
from trainer.dataset.splits import EXCLUDED, SPLIT_NAMES, TEST, assign_splits

OUTPUT_FILES = ("train.jsonl", "val.jsonl", "test.jsonl", "dataset.json")


class DatasetOptions(BaseModel):
    """Everything that shapes the dataset (all recorded in dataset.json's provenance)."""

    model_config = ConfigDict(extra="forbid")
    output_dir: Path
    val: float = Field(default=0.1, ge=0, lt=1)
    test: float = Field(default=0.1, ge=0, lt=1)
    seed: int = 0
    max_examples: int | None = Field(default=None, gt=0)
    short_prompt: str | None = None
    min_quality: flt.MinQuality = "heuristic"
    teacher_model: str | None = None
    scrub: bool = True
    near_dup_threshold: float = Field(default=DEFAULT_THRESHOLD, gt=0, le=1)
    drop_near_duplicates: bool = False
    labels: Path | None = None
    analysis: Path | None = None
    failures_config: dict[str, Any] = Field(default_factory=dict)
    force: bool = False


def check_output_dir(path: Path, force: bool) -> None:
    """Refuse a non-empty output directory unless --force (then only our own files are replaced)."""
    if path.is_symlink():
        raise AdviseError(f"{path} is a symbolic link; advise publishes the dataset directory by renaming, "
                          "not through links", file=str(path), hint=f"pass the real path ({path.resolve()})")
    if path.exists() and not path.is_dir():
        raise AdviseError(f"{path} exists and is not a directory", hint="pass a directory for -o")
    if path.is_dir() and any(path.iterdir()) and not force:
        raise OutputExistsError(f"output directory {path} is not empty",
                                hint="pass --force to overwrite its dataset files, or choose another -o")


# ---------------------------------------------------------------- records → chat rows

def _tool_call(tc: dict[str, Any], i: int) -> dict[str, Any]:
    """Any logged tool call shape (OpenAI function call, Anthropic tool_use) → OpenAI tool_calls item."""
    fn = tc.get("function") if isinstance(tc.get("function"), dict) else {}
    name = fn.get("name") or tc.get("name") or "tool"
    args = fn.get("arguments", tc.get("arguments", tc.get("input", {})))
    if not isinstance(args, str):
        args = json.dumps(args, ensure_ascii=False)
    return {"id": str(tc.get("id") or f"call_{i}"), "type": "function",
            "function": {"name": str(name), "arguments": args}}


def _tool(tool: dict[str, Any]) -> dict[str, Any]:
    """Tool definitions in OpenAI form (Anthropic's {name, input_schema} converted)."""
    if tool.get("type") == "function" and isinstance(tool.get("function"), dict):
        return tool
    params = tool.get("parameters") or tool.get("input_schema") or {"type": "object", "properties": {}}
    fn = {"name": tool.get("name", "tool"), "parameters": params}
    if tool.get("description"):
        fn["description"] = tool["description"]
    return {"type": "function", "function": fn}


def record_to_chat(record: Record) -> tuple[str | None, list[dict[str, Any]], dict[str, Any], list | None]:
    """(system text, prompt messages, assistant target, tools) of one logged call."""
    system = record.system
    msgs: list[dict[str, Any]] = []
    for m in record.messages:
        if m.role in ("system", "developer"):
            system = "\n\n".join(t for t in (system, m.content) if t)
            continue
        d: dict[str, Any] = {"role": m.role, "content": m.content or ""}
        if m.tool_calls:
            d["tool_calls"] = [_tool_call(tc, i) for i, tc in enumerate(m.tool_calls)]
        if m.role == "tool":
            d["tool_call_id"] = m.tool_call_id or ""
        msgs.append(d)
    target: dict[str, Any] = {"role": "assistant", "content": record.output or ""}
    if record.output_tool_calls:
        target["tool_calls"] = [_tool_call(tc, i) for i, tc in enumerate(record.output_tool_calls)]
    tools = [_tool(t) for t in record.tools] if record.tools else None
    return system, msgs, target, tools


# ---------------------------------------------------------------- analysis hints (optional)

def read_analysis_hints(path: Path | None) -> tuple[dict[str, list[str]], dict[str, int]]:
    """(family → static block excerpts, family → static_prefix_tokens) from analysis.json's prompt families.

    Read through the typed contract (`advisor.analysis.load_analysis`), so a file of another schema version
    or shape is refused with the loader's error instead of being half-read.
    """
    if path is None:
        return {}, {}
    from advisor.analysis import load_analysis

    analysis = load_analysis(path)
    blocks = {f.family: [b.excerpt for b in f.static_blocks if b.excerpt] for f in analysis.prompt_families}
    prefix_tokens = {f.family: f.static_prefix_tokens for f in analysis.prompt_families}
    return blocks, prefix_tokens


# ---------------------------------------------------------------- the pipeline

def _scrub_rows(scrubber: Scrubber | None, system: str | None, msgs: list[dict], target: dict,
                tools: list | None) -> tuple[str | None, list[dict], dict, list | None]:
    if scrubber is None:
        return system, msgs, target, tools
    return (scrubber.text(system) if system else system, scrubber.obj(msgs), scrubber.obj(target),
            scrubber.obj(tools) if tools else tools)


def _dedupe_text(messages: list[dict], short_prompt: str | None) -> str:
    """What makes an input distinct: everything but the short prompt and the target."""
    parts = []
    for m in messages:
        text = m.get("content") or ""
        if m["role"] == "system" and short_prompt and text.startswith(short_prompt):
            text = text[len(short_prompt):]
        if m.get("tool_calls"):
            text += json.dumps(m["tool_calls"], ensure_ascii=False)
        parts.append(text)
    return "\n".join(p for p in parts if p)


def build_dataset(records: Iterable[Record], options: DatasetOptions, *,
                  inputs: Iterable[Path] | Callable[[], Iterable[Path]] = (),
                  on_progress: Callable[[int], None] | None = None,
                  args: dict[str, Any] | None = None) -> DatasetManifest:
    """Write the dataset files into `options.output_dir` and return the manifest (also written).

    `inputs` are the log files hashed into the provenance; a callable is called after the records
    are consumed (so a streaming reader can report which files it actually read).

    The dataset is built in a hidden sibling directory and published as one unit
    (:func:`advisor.kernel.io.publish_dir`): a run killed at any point leaves the previous dataset whole,
    never a mix of new and old split files; the next run removes what a killed run left behind.
    """
    import shutil

    final_dir = options.output_dir
    check_output_dir(final_dir, options.force)
    clean_stale_dirs(final_dir)
    stage = staging_dir(final_dir)
    try:
        manifest = _build_into(stage, records, options, inputs=inputs, on_progress=on_progress, args=args)
        publish_dir(stage, final_dir, overwrite=options.force, owned=OUTPUT_FILES)
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    return manifest


def _build_into(out_dir: Path, records: Iterable[Record], options: DatasetOptions, *,
                inputs: Iterable[Path] | Callable[[], Iterable[Path]],
                on_progress: Callable[[int], None] | None,
                args: dict[str, Any] | None) -> DatasetManifest:
    from trainer.dataset.tokens import count_messages, count_tokens, counter_name

    labels = flt.load_labels(options.labels) if options.labels else None
    hint_blocks, hint_tokens = read_analysis_hints(options.analysis)
    checker = flt.make_checker(options.failures_config)
    scrubber = Scrubber() if options.scrub else None
    removed: Counter[str] = Counter()
    finder = PrefixFinder(hints=hint_blocks)
    read = kept = 0
    spooled = 0  # rows in the first spool; a preference pair remembers its row to learn its split later

    with tempfile.TemporaryDirectory(prefix=".advise-dataset-", dir=out_dir) as tmp:
        spool1 = Path(tmp) / "kept.jsonl"
        spool_pref = Path(tmp) / "preferences.jsonl"
        # ---- pass 1: filter, scrub, spool (and failed calls with a labelled correction, as preference pairs)
        with open(spool1, "wb") as fh, open(spool_pref, "wb") as pref:
            for record in records:
                read += 1
                if on_progress is not None and read % 500 == 0:
                    on_progress(read)
                verdict = flt.judge(record, labels=labels, checker=checker, teacher_model=options.teacher_model,
                                    min_quality=options.min_quality)
                if not verdict.keep:
                    removed[verdict.reason or "other"] += 1
                    if verdict.reason in (flt.ERROR, flt.NOT_TEACHER):
                        continue  # no answer to judge, or another model's: not part of the incumbent's record
                    correction = (labels or {}).get(record.id)
                    if verdict.reason == flt.LABEL_FAILED and correction is not None and correction.expected:
                        p_system, p_msgs, p_target, _ = _scrub_rows(scrubber, *record_to_chat(record))
                        chosen = scrubber.text(correction.expected) if scrubber else correction.expected
                        pref.write(orjson.dumps({"row": spooled, "family": "#".join(family_key(record)),
                                                 "system": p_system, "messages": p_msgs, "chosen": chosen,
                                                 "rejected": p_target}) + b"\n")
                else:
                    kept += 1
                model, key = family_key(record)
                family = f"{model}#{key}"
                system, msgs, target, tools = _scrub_rows(scrubber, *record_to_chat(record))
                cluster = verdict.category
                rid = record.id
                if scrubber is not None:  # ids, model names and cluster labels reach test.jsonl's metadata
                    rid, model, family, cluster = (scrubber.identifier(v) if isinstance(v, str) else v
                                                   for v in (rid, model, family, cluster))
                finder.add(family, model, system, msgs)
                reference, ref_source = flt.reference_for(record, labels)
                if reference is not None and scrubber is not None:
                    reference = scrubber.text(reference)
                fh.write(orjson.dumps({
                    "id": rid, "family": family, "cluster": cluster, "system": system, "messages": msgs,
                    "target": target, "tools": tools, "test_only": not verdict.keep,
                    "incumbent": {"model": model, "ok": verdict.keep, "reason": verdict.reason,
                                  "finish_reason": str(record.finish_reason) if record.finish_reason else None,
                                  "reference": reference, "reference_source": ref_source}}) + b"\n")
                spooled += 1
        if on_progress is not None:
            on_progress(read)
        prefixes = finder.finish(options.short_prompt)

        # ---- pass 2: strip static text, dedupe, spool again
        dedupe = Deduplicator(tmp, threshold=options.near_dup_threshold, seed=options.seed + 1)
        strata_ids: dict[str, int] = {}
        strata = array("i")
        test_only = array("B")
        stripped_per_family: Counter[str] = Counter()
        spool2 = Path(tmp) / "examples.jsonl"
        example_of_row = array("i")  # first-spool row → example index, -1 for an exact duplicate
        with open(spool1, "rb") as src, open(spool2, "wb") as dst:
            for line in src:
                row = orjson.loads(line)
                fp: FamilyPrefix | None = prefixes.get(row["family"])
                short, stripped = strip_example(row["system"], row["messages"], fp, options.short_prompt)
                idx = dedupe.add(_dedupe_text(short, fp.short_prompt if fp else options.short_prompt))
                example_of_row.append(-1 if idx is None else idx)
                if idx is None:
                    continue
                stripped_per_family[row["family"]] += stripped
                stratum = f"{row['family']}|{row['cluster'] or '-'}"
                strata.append(strata_ids.setdefault(stratum, len(strata_ids)))
                test_only.append(1 if row["test_only"] else 0)
                original = ([{"role": "system", "content": row["system"]}] if row["system"] else []) + row["messages"]
                example: dict[str, Any] = {"messages": [*short, row["target"]]}
                if row["tools"]:
                    example["tools"] = row["tools"]
                example["original_messages"] = [*original, row["target"]]
                example["metadata"] = {"id": row["id"], "family": row["family"], "cluster": row["cluster"],
                                       "incumbent": row["incumbent"]}
                dst.write(orjson.dumps(example) + b"\n")
        spool1.unlink()
        removed["exact_duplicate"] = dedupe.exact_duplicates

        # ---- pass 3: groups and splits
        groups = dedupe.groups()
        dedupe.close()
        n = len(groups)
        group_sizes = Counter(groups)
        near_groups = sum(1 for s in group_sizes.values() if s > 1)
        in_near = sum(s for s in group_sizes.values() if s > 1)
        if options.drop_near_duplicates:
            reps = array("i", (i for i in range(n) if groups[i] == i))
            sub_codes, excl = assign_splits(array("i", range(len(reps))), array("i", (strata[i] for i in reps)),
                                            val=options.val, test=options.test, seed=options.seed,
                                            max_examples=options.max_examples,
                                            test_only=array("B", (test_only[i] for i in reps)))
            codes = array("B", [EXCLUDED]) * n
            for j, i in enumerate(reps):
                codes[i] = sub_codes[j]
            removed["near_duplicate"] = n - len(reps)
        else:
            codes, excl = assign_splits(groups, strata, val=options.val, test=options.test, seed=options.seed,
                                        max_examples=options.max_examples, test_only=test_only)
        if options.max_examples is not None:
            removed["max_examples"] = excl

        # ---- preference pairs, minus those whose input (or a near-duplicate of it) is a test example
        def in_test(row: int) -> bool:
            i = example_of_row[row]
            return i < 0 or codes[i] == TEST or codes[groups[i]] == TEST  # exact duplicates: held back too

        n_pref, pref_held_back = _write_preferences(spool_pref, out_dir / PREFERENCES, prefixes,
                                                    options.short_prompt, in_test)
        if pref_held_back:
            removed["preference_in_test"] = pref_held_back

        # ---- pass 4: write the splits
        stratum_names = {v: k for k, v in strata_ids.items()}
        per_split = [0, 0, 0]
        test_failed = 0
        per_stratum: dict[str, dict[str, int]] = {}
        role_sketch = {r: QuantileSketch() for r in ("system", "user", "assistant", "tool")}
        example_sketch, full_sketch = QuantileSketch(), QuantileSketch()
        split_tokens = [0, 0, 0]
        paths = [out_dir / f"{name}.jsonl" for name in SPLIT_NAMES]
        with ExitStack() as stack, open(spool2, "rb") as src:
            handles = [stack.enter_context(atomic_open(p, "wb", encoding=None)) for p in paths]
            for i, line in enumerate(src):
                k = codes[i]
                if k == EXCLUDED:
                    continue
                example = orjson.loads(line)
                if k != 2:  # train/val: the strict chat format only
                    example.pop("original_messages", None)
                    example.pop("metadata", None)
                else:
                    full_sketch.add(count_messages(example["original_messages"]))
                    test_failed += 0 if example["metadata"]["incumbent"]["ok"] else 1
                handles[k].write(orjson.dumps(example) + b"\n")
                per_split[k] += 1
                name = stratum_names[strata[i]]
                per_stratum.setdefault(name, {s: 0 for s in SPLIT_NAMES})[SPLIT_NAMES[k]] += 1
                by_role: Counter[str] = Counter()
                for m in example["messages"]:
                    by_role[m["role"]] += count_tokens(m.get("content") or "")
                for role, sk in role_sketch.items():
                    if role in by_role or role in ("system", "user", "assistant"):
                        sk.add(by_role.get(role, 0))
                total = count_messages(example["messages"])
                example_sketch.add(total)
                split_tokens[k] += total

    scrub_report = scrubber.report() if scrubber else ScrubReport(enabled=False)
    families = []
    for name, fp in prefixes.items():
        families.append(FamilyInfo(
            family=name, model=fp.model, requests=fp.requests, stripped_examples=stripped_per_family[name],
            static_prefix_sha256=fp.sha256, static_prefix_tokens=count_tokens(fp.static_text),
            system_prefix_chars=len(fp.system_static), user_prefix_chars=len(fp.user_prefix),
            static_blocks=len(fp.blocks), short_prompt=fp.short_prompt,
            analysis_static_prefix_tokens=hint_tokens.get(name)))
    applicable = ["error", "empty_output", "label_not_ok", "failed_check", "truncated", "content_filter",
                  "refusal", "exact_duplicate"]
    if options.teacher_model:
        applicable.insert(2, "not_teacher_model")
    if options.min_quality != "heuristic":
        applicable.append("below_min_quality")
    if options.drop_near_duplicates:
        applicable.append("near_duplicate")
    if options.max_examples is not None:
        applicable.append("max_examples")
    applicable += [r for r in removed if r not in applicable]
    input_paths = [Path(p) for p in (inputs() if callable(inputs) else inputs)]
    files = {}
    for p, count in zip(paths, per_split, strict=True):
        files[p.name] = FileInfo(path=p.name, sha256=sha256_file(p), bytes=p.stat().st_size, examples=count)
    if n_pref:
        p = out_dir / PREFERENCES
        files[p.name] = FileInfo(path=p.name, sha256=sha256_file(p), bytes=p.stat().st_size, examples=n_pref)
    manifest = DatasetManifest(
        generated_at=datetime.now(UTC),
        counts=Counts(records_read=read, kept_after_filters=kept, after_dedupe=n, written=sum(per_split),
                      train=per_split[0], val=per_split[1], test=per_split[2]),
        filters=[FilterInfo(name=r, description=FILTER_DESCRIPTIONS.get(r, r), removed=removed.get(r, 0))
                 for r in applicable],
        scrub=scrub_report,
        dedupe=DedupeInfo(settings=dedupe.settings(), exact_duplicates_removed=dedupe.exact_duplicates,
                          near_duplicate_groups=near_groups, examples_in_near_duplicate_groups=in_near,
                          near_duplicates_removed=removed.get("near_duplicate", 0),
                          candidate_pairs=dedupe.candidate_pairs, confirmed_pairs=dedupe.confirmed_pairs),
        tokens=TokenStats(counter=counter_name(),
                          per_role={r: sk.summary(integer=True) for r, sk in role_sketch.items() if sk.count},
                          per_example=example_sketch.summary(integer=True),
                          test_full_prompt=full_sketch.summary(integer=True) if full_sketch.count else None,
                          per_split_total=dict(zip(SPLIT_NAMES, split_tokens, strict=True))),
        strata=per_stratum,
        families=sorted(families, key=lambda f: -f.requests),
        files=files,
        inputs=[FileInfo(path=str(p), sha256=sha256_file(p), bytes=Path(p).stat().st_size)
                for p in input_paths if p.is_file()],
        provenance={
            "seed": options.seed, "val": options.val, "test": options.test, "max_examples": options.max_examples,
            "min_quality": options.min_quality, "teacher_model": options.teacher_model,
            "scrub": options.scrub, "near_dup_threshold": options.near_dup_threshold,
            "drop_near_duplicates": options.drop_near_duplicates,
            "short_prompt": options.short_prompt, "short_prompt_source": "given" if options.short_prompt is not None
            else "generated from the first sentence of each family's stripped system prompt",
            "labels": _file_ref(options.labels), "analysis": _file_ref(options.analysis),
            "checks": "advisor.failures" if _has_failures_module() else "built-in [failures] check schema",
            "test_split": ("a stratified sample of all answered requests, failed ones included (their logged "
                           "answer is the incumbent's, never a training target); train/val keep the filters"),
            "test_incumbent_failed": test_failed,
            "args": args or {},
        },
    )
    atomic_write_text(out_dir / "dataset.json", manifest.model_dump_json(indent=2) + "\n")
    return manifest


PREFERENCES = "preferences.jsonl"


def _write_preferences(spool: Path, target: Path, prefixes: dict[str, FamilyPrefix],
                       short_prompt: str | None, in_test: Callable[[int], bool]) -> tuple[int, int]:
    """preferences.jsonl for DPO: {prompt, chosen, rejected} in TRL's conversational format.

    The prompt gets the same static-prefix stripping as the train split (the adapter is used with
    the short prompt); chosen is the reviewer's `expected` correction, rejected the failed output.
    A pair whose request went to the test split is held back: its `chosen` is that example's reference,
    so training on it would grade the candidate on answers it was shown. Returns (written, held back).
    """
    n = held = 0
    rows = []
    if spool.stat().st_size:
        with open(spool, "rb") as src:
            for line in src:
                row = orjson.loads(line)
                if in_test(row["row"]):
                    held += 1
                else:
                    rows.append(row)
    if rows:
        with atomic_open(target, "wb", encoding=None) as dst:
            for row in rows:
                short, _ = strip_example(row["system"], row["messages"], prefixes.get(row["family"]), short_prompt)
                dst.write(orjson.dumps({"prompt": short, "chosen": [{"role": "assistant", "content": row["chosen"]}],
                                        "rejected": [row["rejected"]]}) + b"\n")
                n += 1
    elif target.exists():
        target.unlink()  # a stale file from an earlier build must not outlive it
    return n, held


def _file_ref(path: Path | None) -> dict[str, str] | None:
    if path is None:
        return None
    return {"path": str(path), "sha256": sha256_file(path)}


def _has_failures_module() -> bool:
    try:
        from advisor.failures import check_record  # type: ignore[attr-defined]  # noqa: F401
    except ImportError:
        return False
    return True
