"""PII and secret scrubbing for training data: nothing personal or secret may reach a dataset file.

:mod:`.recognizers` finds spans per kind (pattern → validator → context words, Presidio-style, with
phonenumbers / python-stdnum / detect-secrets as validators); :mod:`.core` turns them into
consistent placeholders and walks JSON structures so only decoded strings are ever edited.
What is and is not detected is listed in ``COVERAGE`` / ``NOT_DETECTED`` (also in dataset.json).
"""

from trainer.dataset.scrub.core import COVERAGE, NOT_DETECTED, Scrubber, ScrubReport, find_spans, scrub_text
from trainer.dataset.scrub.recognizers import KINDS, iban_ok, looks_random, luhn_ok, shannon_entropy

__all__ = ["COVERAGE", "KINDS", "NOT_DETECTED", "ScrubReport", "Scrubber", "find_spans", "iban_ok",
           "looks_random", "luhn_ok", "scrub_text", "shannon_entropy"]
