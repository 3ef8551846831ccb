"""Silence transformers/peft/accelerate chatter so our own progress bars stay readable.

Lives in trainer/ because it knows the ML libraries by name; the kernel's progress bars do not.
"""

from __future__ import annotations


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
