"""Checks on the command line's input paths shared by the commands that read logs."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from advisor.kernel.errors import AdviseError


def printable(path: str | Path) -> str:
    """A path as text that can be printed and stored as UTF-8 (undecodable bytes as \\xNN)."""
    import os

    return os.fsencode(path).decode("utf-8", "backslashreplace")


def check_input_names(paths: Sequence[Path]) -> None:
    """Refuse log files whose names are not valid UTF-8 before the long read, not with a traceback after it.

    analysis.json and dataset.json record each input's path; JSON cannot hold a name that is
    not UTF-8, so such a file is named (bytes escaped) with a hint to rename it.
    """
    from advisor.ingest import expand_paths

    for p in paths:
        _check(p)
    for f, _ in expand_paths(paths):
        _check(f)


def _check(p: str | Path) -> None:
    try:
        str(p).encode("utf-8")
    except UnicodeEncodeError:
        shown = printable(p)
        raise AdviseError("file name is not valid UTF-8", file=shown,
                          hint="rename it to a UTF-8 name (e.g. `convmv -f latin1 -t utf-8 --notest FILE`) "
                               "or move it out of the input directory") from None


def check_format(ctx: object, param: object, value: str | None) -> str | None:
    """click callback for --format: an unknown name is a usage error (exit 2), like `-j 0`."""
    if value is None:
        return None
    import click

    from advisor.ingest import FORMATS

    if value not in FORMATS:
        raise click.BadParameter(f"unknown format {value!r}; one of: {', '.join(FORMATS)}")
    return value


def check_finite_options() -> None:
    """Refuse inf/nan in any float option of the running command (click's FloatRange lets `inf` through)."""
    import math

    import click

    ctx = click.get_current_context()
    for param in ctx.command.params:
        value = ctx.params.get(param.name or "")
        if isinstance(value, float) and not math.isfinite(value):
            raise click.BadParameter(f"{value} is not a finite number", ctx=ctx, param=param)


def check_date(ctx: object, param: object, value: str | None) -> str | None:
    """click callback for --since/--until: a date that cannot be read is a usage error (exit 2)."""
    if value is None:
        return None
    import click

    from advisor.analysis import parse_when
    from advisor.kernel.errors import AdviseError

    try:
        parse_when(value, end=getattr(param, "name", "") == "until")
    except AdviseError as exc:
        raise click.BadParameter(f"{exc.message}; use an ISO date or date-time, e.g. 2025-03-01 or "
                                 "2025-03-01T12:00:00Z") from exc
    return value
