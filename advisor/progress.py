"""One progress bar style for all long work: rich with ETA on a terminal, silent when piped or --json."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

stderr_console = Console(stderr=True)


def progress_enabled(quiet: bool = False) -> bool:
    """Show bars only to a person: stderr is a terminal and the user did not ask for machine output."""
    return not quiet and sys.stderr.isatty()


@contextmanager
def progress_bar(quiet: bool = False, *extra_columns) -> Iterator[Progress]:
    """A rich Progress on stderr (disabled → no output at all). Use `p.add_task(desc, total=N)`."""
    columns = [
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TaskProgressColumn(),
        TimeElapsedColumn(),
        TextColumn("eta"),
        TimeRemainingColumn(),
        *extra_columns,
    ]
    with Progress(*columns, console=stderr_console, disable=not progress_enabled(quiet), transient=False) as p:
        yield p


def quiet_ml_libraries(silent: bool = False) -> None:
    """Keep transformers/peft's own bars, deprecation chatter and info logs out of our output.

    Our rich bars already show loading, training and evaluation; theirs would interleave with them.
    `silent` (the commands' -q) also drops every library warning and any tqdm bar: only errors remain.
    """
    import logging
    import os
    import warnings

    if silent:
        os.environ["TQDM_DISABLE"] = "1"  # tqdm >= 4.66 reads it: bars from any library (datasets, hub, …)
        os.environ["HF_DATASETS_DISABLE_PROGRESS_BARS"] = "1"
        os.environ["HF_HUB_DISABLE_PROGRESS_BARS"] = "1"
        os.environ["TRANSFORMERS_VERBOSITY"] = "error"
        warnings.simplefilter("ignore")
        for name in ("datasets", "torch", "tokenizers", "safetensors", "bitsandbytes", "trl", "filelock"):
            logging.getLogger(name).setLevel(logging.ERROR)

    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    warnings.filterwarnings("ignore", category=FutureWarning, module=r"transformers\..*")
    warnings.filterwarnings("ignore", category=UserWarning, module=r"(transformers|peft)\..*")
    for name in ("transformers", "peft", "accelerate", "huggingface_hub"):
        logging.getLogger(name).setLevel(logging.ERROR)
    try:
        from transformers.utils import logging as hf_logging

        hf_logging.set_verbosity_error()
        hf_logging.disable_progress_bar()
    except ImportError:  # pragma: no cover - training extra not installed
        pass
