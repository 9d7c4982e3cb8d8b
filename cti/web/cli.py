"""CLI commands of cti.web: ``cti api openapi`` prints the REST API description."""

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
        Path | None, typer.Option("--output", "-o", help="Write to this file instead of stdout")
    ] = None,
) -> None:
    """Print the OpenAPI 3.1 document of ``/api`` (no database needed)."""
    from cti.cli import settings_from
    from cti.web.app import create_app
    from cti.web.openapi import build_openapi

    text = json.dumps(build_openapi(create_app(settings_from(ctx))), indent=2)
    if output is None:
        typer.echo(text)
    else:
        output.write_text(text + "\n", encoding="utf-8")
        typer.echo(f"wrote {output}")


def register(app: typer.Typer) -> None:
    """Add ``cti api``."""
    app.add_typer(api_app, name="api")
