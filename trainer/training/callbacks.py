"""What a run shows and records while it trains: a rich progress bar and `metrics.jsonl`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rich.progress import TextColumn

from advisor.kernel.progress import progress_bar


class MetricsWriter:
    """Appends one JSON object per logging step; on resume, drops lines past the resumed step."""

    def __init__(self, path: Path, resume_step: int | None = None):
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        if resume_step is not None and path.exists():
            kept = [ln for ln in path.read_text(encoding="utf-8").splitlines()
                    if ln.strip() and json.loads(ln).get("step", 0) <= resume_step]
            path.write_text("".join(ln + "\n" for ln in kept), encoding="utf-8")
        elif resume_step is None and path.exists():
            path.unlink()
        self._fh = open(path, "a", encoding="utf-8")

    def write(self, record: dict[str, Any]) -> None:
        self._fh.write(json.dumps(record, sort_keys=True) + "\n")
        self._fh.flush()

    def close(self) -> None:
        self._fh.close()


class TrainProgress:
    """Progress over optimizer steps with live loss, tokens/s and ETA; silent when not a TTY."""

    def __init__(self, total_steps: int, start_step: int = 0, quiet: bool = False):
        self._cm = progress_bar(quiet, TextColumn("{task.fields[stats]}"))
        self.total = total_steps
        self.start = start_step
        self._task = None

    def __enter__(self) -> TrainProgress:
        self._progress = self._cm.__enter__()
        self._task = self._progress.add_task("training", total=self.total, completed=self.start, stats="")
        return self

    def update(self, step: int, loss: float | None = None, tokens_per_s: float | None = None,
               val_loss: float | None = None) -> None:
        parts = []
        if loss is not None:
            parts.append(f"loss {loss:.3f}")
        if val_loss is not None:
            parts.append(f"val {val_loss:.3f}")
        if tokens_per_s is not None:
            parts.append(f"{tokens_per_s:,.0f} tok/s")
        self._progress.update(self._task, completed=step, stats="  ".join(parts))

    def __exit__(self, *exc) -> None:
        self._cm.__exit__(*exc)
