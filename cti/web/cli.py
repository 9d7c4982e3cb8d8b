"""CLI commands of cti.web."""

import typer


def register(app: typer.Typer) -> None:
    """Add this feature's commands to ``app``."""
