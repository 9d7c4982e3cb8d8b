"""``cti db upgrade`` and ``cti user add`` / ``cti user list`` through the command line."""

from __future__ import annotations

import asyncio

from typer.testing import CliRunner

from cti.crm_store.migrate import revision_is_current
from tests.clihelp import cli_app

PW = "s3cret-enough"
app = cli_app("cti.crm_store.cli")


def test_db_upgrade(cli_db: str) -> None:
    result = CliRunner().invoke(app, ["db", "upgrade"])
    assert result.exit_code == 0, result.output
    assert "newest revision" in result.output
    assert asyncio.run(revision_is_current(cli_db))


def test_user_add_and_list(cli_db: str) -> None:
    env = {"CTI_DATABASE_URL": cli_db}
    runner = CliRunner()
    args = ["user", "add", "anna", "--role", "supervisor", "-e", "301", "-e", "302"]
    result = runner.invoke(app, [*args, "--password-stdin"], input=f"{PW}\n", env=env)
    assert result.exit_code == 0, result.output
    assert "created user anna" in result.output
    prompted = ["user", "add", "boris", "--role", "operator", "--full-name", "Boris B"]
    result = runner.invoke(app, prompted, input=f"{PW}\n{PW}\n", env=env)
    assert result.exit_code == 0, result.output
    assert PW not in result.output
    listing = runner.invoke(app, ["user", "list"], env=env)
    assert listing.exit_code == 0, listing.output
    assert "anna" in listing.output and "301, 302" in listing.output
    assert "Boris B" in listing.output


def test_user_add_rejects_a_bad_role_naming_the_field(cli_db: str) -> None:
    args = ["user", "add", "anna", "--role", "boss", "--password-stdin"]
    result = CliRunner().invoke(app, args, input=f"{PW}\n", env={"CTI_DATABASE_URL": cli_db})
    assert result.exit_code != 0
    assert "role" in str(result.exception)
