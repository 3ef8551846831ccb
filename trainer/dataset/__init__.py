"""Logs → fine-tuning data teams can trust (`advise dataset`).

Public API: :func:`build_dataset` with :class:`DatasetOptions` → :class:`DatasetManifest`
(also written as ``dataset.json``). See :mod:`trainer.dataset.build` for the passes.
"""

from trainer.dataset.build import DatasetOptions, build_dataset, check_output_dir, record_to_chat
from trainer.dataset.manifest import DATASET_SCHEMA_VERSION, DatasetManifest

__all__ = ["DATASET_SCHEMA_VERSION", "DatasetManifest", "DatasetOptions", "build_dataset", "check_output_dir",
           "record_to_chat"]
