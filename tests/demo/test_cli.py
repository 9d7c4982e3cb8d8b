"""``cti seed`` through the command line."""

from __future__ import annotations

from typer.testing import CliRunner

from tests.clihelp import cli_app, contact_count

app = cli_app("cti.demo.cli")


def test_seed(cli_db: str) -> None:
    result = CliRunner().invoke(app, ["seed", "--contacts", "60", "--seed", "4"])
    assert result.exit_code == 0, result.output
    assert "seeded 60 contacts" in result.output
    assert contact_count(cli_db) == 60
