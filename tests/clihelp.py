"""Running feature CLIs in tests: a ``cti``-like app with some features' commands, the real
``cti`` command (:func:`run_cti`: every feature and the one error handler), and a look at
the store a command wrote (the ``cli_db`` fixture is in ``tests/conftest.py``)."""

from __future__ import annotations

import asyncio
import importlib

import pytest
import typer

from cti.crm_store.services.contacts import ContactService
from cti.crm_store.store import Store


def cli_app(*modules: str) -> typer.Typer:
    """A root command with the commands of these feature modules (``register(app)``)."""
    app = typer.Typer()

    @app.callback()
    def root() -> None:
        """cti."""

    for name in modules:
        importlib.import_module(name).register(app)
    return app


def run_cti(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """Run ``cti ARGS`` as the installed command does (:func:`cti.cli.run`), in this
    process; return its exit status, standard output and standard error."""
    from cti.cli import run

    capsys.readouterr()  # what the test printed before is not the command's
    status = run(list(args))
    out, err = capsys.readouterr()
    return status, out, err


def contact_count(url: str) -> int:
    async def main() -> int:
        store = await Store.open(url, upgrade=False)
        try:
            return (await ContactService(store).search()).total
        finally:
            await store.close()

    return asyncio.run(main())
