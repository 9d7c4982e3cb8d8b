"""CLI commands of cti.web: ``cti api openapi [--out FILE]`` prints the REST API description."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

api_app = typer.Typer(help="The REST API.", no_args_is_help=True)


@api_app.command("openapi")
def openapi(
    ctx: typer.Context,
    output: Annotated[
        Path | None,
        typer.Option("--out", "--output", "-o", help="Write to this file instead of stdout"),
    ] = None,
) -> None:
    """Print the OpenAPI 3.1 document of ``/api``, as ``cti serve`` serves it at
    ``/api/openapi.json`` (no database needed)."""
    from cti.cli import settings_from
    from cti.daemon import SETUP_HOOKS, build_app, load_hooks
    from cti.web.openapi import build_openapi

    app = build_app(settings_from(ctx), extra_setup=load_hooks(SETUP_HOOKS))
    text = json.dumps(build_openapi(app), indent=2)
    if output is None:
        typer.echo(text)
    else:
        output.write_text(text + "\n", encoding="utf-8")
        typer.echo(f"wrote {output}")


def register(app: typer.Typer) -> None:
    """Add ``cti api``."""
    app.add_typer(api_app, name="api")
