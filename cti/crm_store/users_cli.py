"""`cti user …` commands."""

import typer


def register(app: typer.Typer) -> None:
    """Add ``cti user``."""
