"""advise: from LLM production logs to a prompt / RAG / fine-tune decision with the money on the table."""

__version__ = "0.1.0"
