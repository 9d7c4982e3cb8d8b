"""``cti campaign`` from the shell."""

from __future__ import annotations

from typer.testing import CliRunner

from cti.errors import ConflictError, ValidationError
from cti.screenpop.scripts import DEFAULT_CAMPAIGNS_DIR
from tests.clihelp import cli_app

app = cli_app("cti.dialer.cli")
NPS = str(DEFAULT_CAMPAIGNS_DIR / "nps-survey.yaml")


def test_load_start_pause_status(cli_db: str) -> None:
    runner = CliRunner()
    loaded = runner.invoke(app, ["campaign", "load", NPS])
    assert loaded.exit_code == 0, loaded.output
    assert "campaign nps-survey: created (version 1, status draft)" in loaded.output
    assert "unchanged" in runner.invoke(app, ["campaign", "load", NPS]).output
    assert "is running" in runner.invoke(app, ["campaign", "start", "nps-survey"]).output
    assert "is paused" in runner.invoke(app, ["campaign", "pause", "nps-survey"]).output
    status = runner.invoke(app, ["campaign", "status", "nps-survey"])
    assert status.exit_code == 0, status.output
    assert "status paused · version 1 · mode progressive" in status.output
    assert "leads: none" in status.output
    listing = runner.invoke(app, ["campaign", "list"])
    assert "nps-survey" in listing.output and "paused" in listing.output


def test_errors_reach_the_command_line_as_typed_errors(cli_db: str) -> None:
    runner = CliRunner()
    runner.invoke(app, ["campaign", "load", NPS])
    refused = runner.invoke(app, ["campaign", "resume", "nps-survey"])
    assert isinstance(refused.exception, ConflictError)
    bad = runner.invoke(app, ["campaign", "load", "/nonexistent/x.yaml"])
    assert isinstance(bad.exception, ValidationError)
    assert "no such campaign file" in str(bad.exception)
