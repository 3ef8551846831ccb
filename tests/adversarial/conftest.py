import shutil
from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


@pytest.fixture
def log_file(tmp_path: Path) -> Path:
    """A small real OpenAI chat log (copied: tests may write beside it)."""
    dst = tmp_path / "logs" / "calls.jsonl"
    dst.parent.mkdir()
    shutil.copy(FIXTURES / "analyze" / "openai_chat.jsonl", dst)
    return dst
