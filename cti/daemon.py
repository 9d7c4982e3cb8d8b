"""The daemon: store + web + AMI connections, wired and supervised."""

import typer


def register(app: typer.Typer) -> None:
    """Add ``cti serve``."""
