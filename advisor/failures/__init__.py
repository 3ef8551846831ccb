"""Failure analysis: what keeps failing, how consistently, and whether fine-tuning or RAG would fix it.

Entry points: :func:`make_collector` / :class:`FailureCollector` (streaming, called by
``advise analyze``), :class:`FailureAnalysis` (the ``failures`` section of analysis.json).
"""

from advisor.failures.collector import FailureCollector, make_collector
from advisor.failures.config import FailureConfig, UserCheck, failure_config, from_advise_config
from advisor.failures.labels import Label, LabelIndex
from advisor.failures.result import FailureAnalysis

__all__ = ["FailureAnalysis", "FailureCollector", "FailureConfig", "Label", "LabelIndex", "UserCheck",
           "failure_config", "from_advise_config", "make_collector"]
