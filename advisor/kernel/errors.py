"""Errors users see. Each names where the problem is and what to do about it."""

from __future__ import annotations


class AdviseError(Exception):
    """A user-facing error: exit code 1, message on stderr, no traceback."""

    exit_code = 1

    def __init__(self, message: str, *, file: str | None = None, line: int | None = None,
                 field: str | None = None, hint: str | None = None):
        self.message = message
        self.file = file
        self.line = line
        self.field = field
        self.hint = hint
        super().__init__(self.render())

    def __reduce__(self) -> tuple:
        # picklable whatever the subclass's __init__ takes (errors come back from worker processes)
        return _rebuild, (type(self), dict(self.__dict__))

    def render(self) -> str:
        where = ""
        if self.file:
            where = self.file + (f":{self.line}" if self.line else "") + ": "
        text = where + self.message
        if self.field:
            text += f" (field: {self.field})"
        if self.hint:
            text += f"\n  hint: {self.hint}"
        return text


def _rebuild(cls: type[AdviseError], state: dict) -> AdviseError:
    err = cls.__new__(cls)
    err.__dict__.update(state)
    Exception.__init__(err, err.render())
    return err


class ParseError(AdviseError):
    """One malformed line/item. Ingest reports, counts and skips these unless --strict."""


class UnpricedModelError(AdviseError):
    """A model has no price: never report $0, ask for --prices or --allow-unpriced."""


class OutputExistsError(AdviseError):
    """Refuse to overwrite an existing output without --force."""


class MissingExtraError(AdviseError):
    """An optional dependency group is not installed."""

    def __init__(self, extra: str, module: str):
        super().__init__(
            f"this command needs the optional '{extra}' dependencies ({module} is not installed)",
            hint=f"pip install 'advise[{extra}]'",
        )


def require_train_extra() -> None:
    """Fail with an install hint (not an ImportError traceback) when the [train] extra is missing."""
    import importlib.util

    for mod in ("torch", "transformers", "peft"):
        if importlib.util.find_spec(mod) is None:
            raise MissingExtraError("train", mod)
