"""Resumable pipeline stages: a rerun skips a stage whose inputs and outputs are unchanged.

`out/stages.json` records, per stage, a hash of the stage's inputs (files it read, options it ran
with, the hashes of earlier stages' outputs) and the sha256 of every file it wrote. A stage is
fresh when its input hash matches and every output still exists with the recorded hash — so a
killed run, an edited output or a changed option all re-run exactly the stages they touch.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from advisor.kernel.io import atomic_write_text, sha256_file


def hash_inputs(*parts: Any) -> str:
    """Stable hash of options and file hashes (paths hashed by content, everything else by JSON)."""
    h = hashlib.sha256()
    for part in parts:
        if isinstance(part, Path):
            if part.is_dir():
                for f in sorted(p for p in part.rglob("*") if p.is_file()):
                    h.update(f.relative_to(part).as_posix().encode())
                    h.update(sha256_file(f).encode())
            elif part.exists():
                h.update(sha256_file(part).encode())
            else:
                h.update(b"<missing>" + str(part).encode())
        else:
            h.update(json.dumps(part, sort_keys=True, default=str).encode())
        h.update(b"\x00")
    return h.hexdigest()


class StageState:
    def __init__(self, out_dir: Path):
        self.out_dir = out_dir
        self.path = out_dir / "stages.json"
        self.state: dict[str, dict[str, Any]] = {}
        if self.path.is_file():
            try:
                self.state = json.loads(self.path.read_text(encoding="utf-8"))
            except ValueError:
                self.state = {}  # a corrupt state file only costs a re-run

    def fresh(self, stage: str, inputs_hash: str) -> bool:
        entry = self.state.get(stage)
        if not entry or entry.get("inputs") != inputs_hash:
            return False
        for rel, digest in entry.get("outputs", {}).items():
            p = self.out_dir / rel
            if not p.is_file() or sha256_file(p) != digest:
                return False
        return True

    def outputs_hash(self, stage: str) -> str:
        return hashlib.sha256(json.dumps(self.state.get(stage, {}), sort_keys=True).encode()).hexdigest()

    def done(self, stage: str, inputs_hash: str, outputs: list[Path], **info: Any) -> None:
        self.state[stage] = {
            "inputs": inputs_hash,
            "outputs": {p.relative_to(self.out_dir).as_posix(): sha256_file(p) for p in outputs if p.is_file()},
            **info,
        }
        atomic_write_text(self.path, json.dumps(self.state, indent=2, sort_keys=True))

    def forget(self, stage: str) -> None:
        if self.state.pop(stage, None) is not None:
            atomic_write_text(self.path, json.dumps(self.state, indent=2, sort_keys=True))
