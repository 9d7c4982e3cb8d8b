"""CLI commands of cti.screenpop."""

import typer


def register(app: typer.Typer) -> None:
    """Add this feature's commands to ``app``."""
