"""The one ``cti`` command. Each feature registers its own sub-commands (``register(app)``)."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import Annotated

import typer

from cti.config import Settings, load_settings
from cti.errors import CtiError

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
    "cti.crm_store.importers.cli",
    "cti.web.cli",
    "cti.ami.cli",
    "cti.pbxsim.cli",
    "cti.screenpop.cli",
    "cti.demo.cli",
    "cti.dialer.cli",
    "cti.daemon",
)


@app.callback()
def _root(
    ctx: typer.Context,
    config: Annotated[
        Path | None, typer.Option("--config", help="TOML config file (default: ./cti.toml)")
    ] = None,
) -> None:
    ctx.obj = {"config": config}


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


def _register_all() -> None:
    for name in COMMAND_MODULES:
        module = importlib.import_module(name)
        module.register(app)


def main() -> None:
    _register_all()
    try:
        app()
    except CtiError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        sys.exit(1)
