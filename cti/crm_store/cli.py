"""CLI commands of cti.crm_store."""

import typer


def register(app: typer.Typer) -> None:
    """Add this feature's commands to ``app``."""
