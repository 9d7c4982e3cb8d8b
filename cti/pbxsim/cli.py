"""CLI commands of cti.pbxsim."""

import typer


def register(app: typer.Typer) -> None:
    """Add this feature's commands to ``app``."""
