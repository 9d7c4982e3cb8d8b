"""``cti campaign`` from the shell."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from cti.errors import ConflictError, FileAccessError, ValidationError
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
    assert isinstance(bad.exception, FileAccessError)
    assert "no such campaign file" in str(bad.exception)


def test_import_list_reports_and_exits_3_on_rejected_rows(cli_db: str, tmp_path: Path) -> None:
    runner = CliRunner()
    runner.invoke(app, ["campaign", "load", NPS])
    good = tmp_path / "good.csv"
    good.write_text("phone,name\n+74232223344,Ivan\n")
    done = runner.invoke(app, ["campaign", "import-list", "nps-survey", str(good)])
    assert done.exit_code == 0, done.output
    assert "nps-survey list good: 1 rows: added 1, duplicates 0, invalid 0" in done.output
    assert "time zones: number 1" in done.output
    mixed = tmp_path / "mixed.csv"
    mixed.write_text("phone,name\n+74232223355,Olga\n12,Bad\n")
    dry = runner.invoke(app, ["campaign", "import-list", "nps-survey", str(mixed), "--dry-run"])
    assert dry.exit_code == 3, dry.output
    assert "would add 1" in dry.output and "line 3: phone: '12' is not a valid" in dry.output
    assert not (tmp_path / "mixed.csv.report.csv").exists()
    real = runner.invoke(
        app, ["campaign", "import-list", "nps-survey", str(mixed), "--priority", "9"]
    )
    assert real.exit_code == 3 and f"report: {mixed}.report.csv" in real.output
    lists = runner.invoke(app, ["campaign", "lists", "nps-survey"])
    assert lists.output.index("mixed") < lists.output.index("good")  # priority first


def test_dnc_add_check_remove(cli_db: str) -> None:
    runner = CliRunner()
    added = runner.invoke(app, ["dnc", "add", "+7 423 222-33-44", "--reason", "asked"])
    assert added.exit_code == 0 and "1 added" in added.output
    check = runner.invoke(app, ["dnc", "check", "84232223344"])
    assert check.exit_code == 1 and "on the global do-not-call list" in check.output
    assert "asked" in runner.invoke(app, ["dnc", "list"]).output
    assert "1 removed" in runner.invoke(app, ["dnc", "remove", "+74232223344"]).output
    assert runner.invoke(app, ["dnc", "check", "+74232223344"]).exit_code == 0
    bad = runner.invoke(app, ["dnc", "add", "12"])
    assert isinstance(bad.exception, ValidationError)
