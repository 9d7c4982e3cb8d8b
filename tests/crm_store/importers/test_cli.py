"""``cti import contacts`` through the command line."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from tests.clihelp import cli_app, contact_count

app = cli_app("cti.crm_store.importers.cli")


def test_import_dry_run_then_real(cli_db: str, tmp_path: Path) -> None:
    csv_file = tmp_path / "in.csv"
    csv_file.write_text("Name,Mobile,Fax\nIvan Petrov,+74951234567,1\nNo Phone,12,2\n")
    runner = CliRunner()
    args = ["import", "contacts", str(csv_file), "--map", "Fax=-"]
    dry = runner.invoke(app, [*args, "--dry-run", "--report", str(tmp_path / "r.csv")])
    assert dry.exit_code == 0, dry.output
    assert "would import 1, rejected 1" in dry.output
    assert (tmp_path / "r.csv").read_text().splitlines()[1] == "3,mobile,bad phone '12'"
    assert contact_count(cli_db) == 0
    real = runner.invoke(app, args)
    assert real.exit_code == 0, real.output
    assert "imported 1, rejected 1" in real.output
    assert contact_count(cli_db) == 1


def test_import_bad_header_is_one_line_error(cli_db: str, tmp_path: Path) -> None:
    csv_file = tmp_path / "in.csv"
    csv_file.write_text("Name,Fax\nIvan,1\n")
    result = CliRunner().invoke(app, ["import", "contacts", str(csv_file)])
    assert result.exit_code != 0
    assert "'Fax' is not a contact field" in str(result.exception)
