"""`advise.toml`: one file for every assumption a team wants to pin.

Sections are owned by the part that uses them and validated there:
``[traffic]`` here, ``[failures]`` by :mod:`advisor.failures`, ``[assumptions]`` by the
decision engine, ``[dataset]`` and ``[train]`` by :mod:`trainer`. Paths inside the file are
resolved relative to the file, so an example directory is self-contained.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from advisor.kernel.errors import AdviseError


class TrafficConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    # Fraction of real traffic the logs hold (sampled exports). Volumes and money are scaled by 1/sample_rate.
    sample_rate: float = Field(default=1.0, gt=0, le=1)


class AdviseConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    traffic: TrafficConfig = Field(default_factory=TrafficConfig)
    failures: dict[str, Any] = Field(default_factory=dict)
    assumptions: dict[str, Any] = Field(default_factory=dict)
    dataset: dict[str, Any] = Field(default_factory=dict)
    train: dict[str, Any] = Field(default_factory=dict)
    base_dir: Path = Field(default_factory=Path.cwd, exclude=True)
    path: Path | None = Field(default=None, exclude=True)

    def resolve(self, p: str | Path) -> Path:
        """A path written in the config, relative to the config file."""
        q = Path(p)
        return q if q.is_absolute() else self.base_dir / q


def load_config(path: str | Path | None) -> AdviseConfig:
    """Load and validate advise.toml; None → all defaults."""
    if path is None:
        return AdviseConfig()
    p = Path(path)
    if not p.is_file():
        raise AdviseError(f"config file not found: {p}", hint="create advise.toml or drop --config")
    _, raw = read_toml(p, what="config file")
    try:
        return AdviseConfig(**raw, base_dir=p.resolve().parent, path=p)
    except ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(str(x) for x in err["loc"])
        hint = "known sections: [traffic] [failures] [assumptions] [dataset] [train]"
        if err["type"] == "extra_forbidden":
            import difflib

            model = TrafficConfig if len(err["loc"]) > 1 and err["loc"][0] == "traffic" else AdviseConfig
            known = [k for k in model.model_fields if k not in ("base_dir", "path")]
            close = difflib.get_close_matches(str(err["loc"][-1]), known, n=1)
            msg = f"unknown setting '{err['loc'][-1]}'" + (f"; did you mean '{close[0]}'?" if close else "")
            raise AdviseError(msg, file=str(p), field=field, hint=hint) from exc
        raise AdviseError(err["msg"], file=str(p), field=field, hint=hint) from exc


def read_toml(path: Path, *, what: str, hint: str = "check quoting and brackets",
              error: type[AdviseError] = AdviseError, finite: bool = True) -> tuple[str, dict[str, Any]]:
    """A user's TOML file as (its text, for line numbers; the parsed dict), or `error` naming the file (and
    line) with a hint: unreadable, not UTF-8, not TOML, or holding inf/nan (TOML spells them; no advise number
    may be one; `finite=False` leaves that to a caller whose own validation names the field better). The one
    reader of every TOML file a user hands to advise (advise.toml, price, offers and training config files)."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        line = path.read_bytes()[:exc.start].count(b"\n") + 1
        raise error(f"not valid UTF-8 (byte {exc.object[exc.start]:#04x})", file=str(path), line=line,
                    hint="TOML files must be UTF-8: re-save it as UTF-8 (e.g. iconv -f latin1 -t utf-8)") from exc
    except OSError as exc:
        raise error(f"cannot read {what}: {exc.strerror or exc}", file=str(path),
                    hint="check the file's permissions") from exc
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise error(f"invalid TOML: {exc}", file=str(path), hint=hint) from exc
    bad = _non_finite(raw) if finite else None
    if bad is not None:
        raise error(f"{bad[1]} is not a usable number", file=str(path), field=bad[0],
                    hint="TOML allows inf and nan, advise does not: write a finite value")
    return text, raw


def _non_finite(value: Any, where: str = "") -> tuple[str, float] | None:
    """The first inf/nan anywhere in the parsed file (TOML spells them `inf`, `nan`): (dotted key, value)."""
    import math

    if isinstance(value, float) and not math.isfinite(value):
        return where, value
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for k, v in items:
        found = _non_finite(v, f"{where}.{k}" if where else str(k))
        if found is not None:
            return found
    return None


def find_config(paths: list[Path]) -> Path | None:
    """An `advise.toml` beside the logs is picked up automatically (explicit --config wins)."""
    for p in paths:
        d = p if p.is_dir() else p.parent
        cand = d / "advise.toml"
        if cand.is_file():
            return cand
    return None
