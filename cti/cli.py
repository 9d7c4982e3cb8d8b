"""The one ``cti`` command. Each feature registers its own sub-commands (``register(app)``).

Every error a command meets ends here (:func:`run`): one line on stderr that says what went
wrong and what to do, and an exit status per kind of error (:data:`EXIT_STATUSES`, the table
in docs/errors.md). Features raise the typed errors of :mod:`cti.errors`; the store turns
its drivers' errors into them at its edge (:mod:`cti.crm_store.errors`). ``--debug`` (or
``CTI_DEBUG=1``) adds the traceback.
"""

from __future__ import annotations

import importlib
import os
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated

import typer

from cti.config import Settings, load_settings
from cti.errors import (
    AuthError,
    BadRequestError,
    ConfigError,
    ConflictError,
    CtiError,
    FileAccessError,
    ForbiddenError,
    ListenError,
    NotFoundError,
    StoreUnavailableError,
    UnavailableError,
    ValidationError,
)

#: an error no table entry names: a bug (the line says so and how to see the traceback)
EXIT_INTERNAL = 1
#: exit status per error class (the first that matches wins); docs/errors.md explains each.
#: Usage errors of the command line itself (unknown option, bad value) exit 2 by click.
EXIT_STATUSES: tuple[tuple[type[CtiError], int], ...] = (
    (ConfigError, 2),
    (ValidationError, 2),
    (BadRequestError, 2),
    (StoreUnavailableError, 3),
    (UnavailableError, 4),
    (AuthError, 4),
    (ListenError, 5),
    (FileAccessError, 6),
    (NotFoundError, 7),
    (ConflictError, 7),
    (ForbiddenError, 7),
)
#: status of a file or folder error the code did not name itself (a bare ``OSError``)
EXIT_FILE = 6

_debug = {"on": False}

app = typer.Typer(
    name="cti",
    help="Telephony and contact-center integration engine.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
config_app = typer.Typer(help="Show the configuration.", no_args_is_help=True)
app.add_typer(config_app, name="config")

#: feature modules that add commands; each has ``register(app: typer.Typer) -> None``
COMMAND_MODULES = (
    "cti.crm_store.cli",
    "cti.calllog.cli",
    "cti.crm_store.importers.cli",
    "cti.web.cli",
    "cti.ami.cli",
    "cti.pbxsim.cli",
    "cti.screenpop.cli",
    "cti.demo.cli",
    "cti.dialer.cli",
    "cti.surveys.cli",
    "cti.reports.cli",
    "cti.daemon",
)


@app.callback()
def _root(
    ctx: typer.Context,
    config: Annotated[
        Path | None, typer.Option("--config", help="TOML config file (default: ./cti.toml)")
    ] = None,
    debug: Annotated[
        bool, typer.Option("--debug", envvar="CTI_DEBUG", help="show the traceback of an error")
    ] = False,
) -> None:
    ctx.obj = {"config": config}
    _debug["on"] = debug


def settings_from(ctx: typer.Context) -> Settings:
    """Load (once) and return the settings for this invocation; config errors exit cleanly."""
    root = ctx.find_root()
    obj = root.obj if isinstance(root.obj, dict) else {}
    cached = obj.get("settings")
    if isinstance(cached, Settings):
        return cached
    settings = load_settings(obj.get("config"))
    obj["settings"] = settings
    root.obj = obj
    return settings


@config_app.command("show")
def config_show(ctx: typer.Context) -> None:
    """Print the effective configuration as JSON, secrets masked."""
    import json

    typer.echo(json.dumps(settings_from(ctx).masked(), indent=2))


@config_app.command("reference")
def config_reference() -> None:
    """Print docs/configuration.md: every key, its default, environment variable, secrets."""
    from cti.config_doc import render

    typer.echo(render(), nl=False)


_registered: list[str] = []


def _register_all() -> None:
    for name in COMMAND_MODULES:
        if name not in _registered:
            importlib.import_module(name).register(app)
            _registered.append(name)


def describe(exc: BaseException) -> tuple[str, int]:
    """The one line (without ``error:``) and the exit status for an error that ended a
    command."""
    if isinstance(exc, CtiError):
        status = next((code for cls, code in EXIT_STATUSES if isinstance(exc, cls)), None)
        return exc.message, EXIT_INTERNAL if status is None else status
    if isinstance(exc, OSError) and exc.filename is not None:
        reason = exc.strerror or str(exc)
        return f"{exc.filename}: {reason}: check the path and its permissions", EXIT_FILE
    return (
        f"internal error: {type(exc).__name__}: {exc} (this is a bug; run again with "
        "--debug for the traceback and report it)"
    ), EXIT_INTERNAL


def _one_line(text: str) -> str:
    return " ".join(part.strip() for part in text.splitlines() if part.strip())


def _debug_wanted() -> bool:
    env = os.environ.get("CTI_DEBUG", "").strip().lower()
    return _debug["on"] or env in ("1", "true", "yes", "on")


def run(args: Sequence[str] | None = None) -> int:
    """Run ``cti`` with ``args`` (default: the command line) and return its exit status."""
    _register_all()
    _debug["on"] = False
    try:
        # not standalone: click's own errors come here too, to be one line like the rest
        result = app(
            args=None if args is None else list(args), prog_name="cti", standalone_mode=False
        )
    except typer.TyperException as usage:  # click's (vendored by typer): bad option …
        if type(usage).__name__ == "NoArgsIsHelpError":  # a group without its command
            typer.echo(usage.format_message(), err=True)  # its help
        else:
            ctx = getattr(usage, "ctx", None)
            where = f" (see {ctx.command_path} --help)" if ctx is not None else ""
            typer.echo(f"error: {_one_line(usage.format_message())}{where}", err=True)
        return usage.exit_code
    except typer.Abort:  # a prompt met the end of its input
        typer.echo("error: aborted: no input where a prompt expected some", err=True)
        return EXIT_INTERNAL
    except SystemExit as done:
        code = done.code
        if isinstance(code, str):
            typer.echo(f"error: {_one_line(code)}", err=True)
        return code if isinstance(code, int) else (0 if code is None else EXIT_INTERNAL)
    except Exception as exc:
        line, status = describe(exc)
        if _debug_wanted():
            traceback.print_exception(exc)
        typer.echo(f"error: {_one_line(line)}", err=True)
        return status
    return result if isinstance(result, int) else 0  # typer.Exit(n) returns n


def main() -> None:
    sys.exit(run())
