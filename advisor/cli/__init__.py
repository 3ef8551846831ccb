"""`advise` command line: a click group whose subcommands load lazily.

Each subcommand lives in ``advisor/cli/commands/<name>.py`` and is imported only when run, so
``advise analyze`` never pays for torch or matplotlib. ``main(argv) -> int`` turns
:class:`~advisor.kernel.errors.AdviseError` (and, as a last resort, any OSError such as a full disk)
into a one-line message on stderr and exit code 1; click's usage errors exit 2.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence

import click

from advisor import __version__
from advisor.kernel.errors import AdviseError

# name -> ("module:attribute", one-line help shown by `advise --help` without importing the module)
COMMANDS: dict[str, tuple[str, str]] = {
    "analyze": ("advisor.cli.commands.analyze:analyze", "Analyze logs: volume, tokens, cost, static prompt, failures, decision."),
    "failures": ("advisor.cli.commands.failures:failures", "Show failure clusters and examples from analysis.json."),
    "prices": ("advisor.cli.commands.prices:prices", "Show the price used for a model and where it comes from."),
    "offers": ("advisor.cli.commands.offers:offers", "Show the market facts (fine-tuning, caching, serving offers) with sources."),
    "report": ("advisor.cli.commands.report:report", "Write the stakeholder ROI report (HTML or Markdown)."),
    "dataset": ("advisor.cli.commands.dataset:dataset", "Build or validate fine-tuning data from logs."),
    "train": ("advisor.cli.commands.train:train", "Fine-tune a LoRA adapter (offline, CPU or GPU)."),
    "generate": ("advisor.cli.commands.generate:generate", "Try a trained adapter on a prompt."),
    "evaluate": ("advisor.cli.commands.evaluate:evaluate", "Measure baseline vs fine-tuned on held-out data."),
    "run": ("advisor.cli.commands.run:run", "Logs → decision → dataset → train → evaluate → report, resumable."),
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in COMMANDS:
            return None
        target, _ = COMMANDS[name]
        module_name, attr = target.split(":")
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name and exc.name.startswith("advisor.cli.commands"):
                return None
            raise
        return getattr(module, attr)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, short) for name, (_, short) in COMMANDS.items()]
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def resolve_command(self, ctx, args):  # type: ignore[override]
        name = args[0] if args else None
        cmd = self.get_command(ctx, name) if name else None
        if name and cmd is None and not name.startswith("-"):
            import difflib

            close = difflib.get_close_matches(name, list(COMMANDS), n=1)
            hint = f" Did you mean '{close[0]}'?" if close else ""
            ctx.fail(f"No such command '{name}'.{hint}")
        return super().resolve_command(ctx, args)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="advise")
def cli() -> None:
    """Decide from your own LLM logs whether to keep prompting, add RAG or fine-tune.

    \b
    Examples:
      advise analyze logs/ --json analysis.json
      advise report analysis.json -o report.html
      advise run examples/ecommerce -o out/
    """


class Terminated(KeyboardInterrupt):
    """SIGTERM (a scheduler or `kill`) unwinds like Ctrl-C: worker processes are stopped and temporary files
    removed on the way out, where the default action would kill this process with its workers and spill files
    left behind. `advise train` installs its own handler while it trains (a checkpoint, then exit 143)."""


def _terminate(signum: int, frame: object) -> None:
    raise Terminated


def _catch_sigterm() -> object:
    """Route SIGTERM to :class:`Terminated`; returns the previous handler (None: not installed)."""
    import signal

    try:
        return signal.signal(signal.SIGTERM, _terminate)
    except ValueError:  # not the main thread: signals belong to whoever owns it
        return None


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: returns the exit code instead of raising.

    One rule: 0 ok, 1 input errors (bad, missing or unreadable files and data, whether named or
    found in a directory), 2 usage errors (unknown options, out-of-range values, unknown --format);
    130 after Ctrl-C, 143 after SIGTERM.
    """
    previous = _catch_sigterm()
    try:
        return _run(argv)
    finally:
        if previous is not None:
            import signal

            signal.signal(signal.SIGTERM, previous)  # type: ignore[arg-type]


def _run(argv: Sequence[str] | None) -> int:
    try:
        cli.main(args=list(argv) if argv is not None else None, prog_name="advise", standalone_mode=False)
    except AdviseError as exc:
        click.echo(f"advise: error: {exc.render()}", err=True)
        return exc.exit_code
    except click.exceptions.Abort as exc:  # click turns KeyboardInterrupt (so Terminated too) into Abort
        if isinstance(exc.__cause__, Terminated):
            click.echo("advise: terminated", err=True)
            return 143
        click.echo("advise: aborted", err=True)
        return 130
    except click.ClickException as exc:
        # A named file that is missing or unreadable is an input error, as one in a directory; no file named at
        # all is a usage error and keeps its 2 (click's MissingParameter is a BadParameter too).
        if (isinstance(exc, click.BadParameter) and not isinstance(exc, click.MissingParameter)
                and isinstance(getattr(exc.param, "type", None), click.Path)):
            exc.exit_code = 1
        exc.show()
        return exc.exit_code
    except Terminated:
        click.echo("advise: terminated", err=True)
        return 143
    except KeyboardInterrupt:
        click.echo("advise: interrupted", err=True)
        return 130
    except OSError as exc:  # last resort: a disk or permission failure no command anticipated
        from advisor.kernel.io import os_error_hint

        where = f"{_printable(exc.filename)}: " if exc.filename else ""
        click.echo(f"advise: error: {where}{exc.strerror or exc}\n  hint: {os_error_hint(exc)}", err=True)
        return 1
    return 0


def _printable(name: object) -> str:
    import os

    return os.fsencode(name).decode("utf-8", "backslashreplace") if isinstance(name, str | bytes) else str(name)


def entry() -> None:  # pragma: no cover - console script shim
    sys.exit(main())


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
