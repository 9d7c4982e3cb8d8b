"""``cti import contacts`` through the command line: what it prints, its exit status, and
what it leaves behind (a dry run: nothing; a file error: one line, no report)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import Result
from typer.testing import CliRunner

from tests.clihelp import cli_app, contact_count

app = cli_app("cti.crm_store.importers.cli")
GOOD_AND_BAD = (
    "Name,Mobile,Company,Fax\n"
    "Ivan Petrov,+74951234567,Acme,1\n"
    "No Phone,12,Acme,2\n"
    "Olga Ivanova,+79161234567,Globex,3\n"
)


def run(*args: str) -> Result:
    return CliRunner().invoke(app, ["import", "contacts", *args])


def one_error_line(result: Result) -> str:
    """The command's only output: one ``error: …`` line on stderr."""
    assert result.stdout == "", result.stdout
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


def test_a_dry_run_writes_nothing_and_predicts_the_real_run(cli_db: str, tmp_path: Path) -> None:
    csv_file = tmp_path / "in.csv"
    csv_file.write_text(GOOD_AND_BAD)
    args = [str(csv_file), "--map", "Fax=-"]
    dry = run(*args, "--dry-run")
    assert dry.exit_code == 3, dry.output  # a row would be rejected
    assert "would import 2, rejected 1, new companies 2" in dry.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv"]  # no database, no report
    real = run(*args)
    assert real.exit_code == 3, real.output
    assert "imported 2, rejected 1, new companies 2" in real.stdout
    assert f"report: {csv_file}.report.csv" in real.stdout
    assert (tmp_path / "in.csv.report.csv").read_text().splitlines()[1] == "3,mobile,bad phone '12'"
    assert contact_count(cli_db) == 2
    again = run(*args, "--dry-run")  # on the store as it is now: every row a duplicate
    assert "would import 0, rejected 3, new companies 0" in again.stdout


def test_every_row_imported_exits_0_and_leaves_no_report(cli_db: str, tmp_path: Path) -> None:
    csv_file = tmp_path / "in.csv"
    csv_file.write_bytes("\ufeffFirst Name,Surname,E-mail\nIvan,Petrov,ivan@x.test\n".encode())
    result = run(str(csv_file))
    assert result.exit_code == 0, result.output
    assert "imported 1, rejected 0" in result.stdout and "report" not in result.stdout
    assert not (tmp_path / "in.csv.report.csv").exists()


def test_another_encoding_is_named_not_guessed(cli_db: str, tmp_path: Path) -> None:
    csv_file = tmp_path / "in.csv"
    csv_file.write_bytes("name\nИван Петров\n".encode("cp1251"))
    line = one_error_line(bad := run(str(csv_file)))
    assert bad.exit_code == 2
    assert line == (
        f"error: {csv_file}: line 2 is not valid UTF-8 (byte 1 of the line); "
        "give the file's encoding: --encoding cp1251|koi8-r|latin-1"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv"]  # no report, no database
    good = run(str(csv_file), "--encoding", "cp1251")
    assert good.exit_code == 0, good.output


def test_a_nul_in_a_field_rejects_its_row(cli_db: str, tmp_path: Path) -> None:
    csv_file = tmp_path / "in.csv"
    csv_file.write_bytes(b"name,notes\nIvan Petrov,a\x00b\nOlga Ivanova,fine\n")
    result = run(str(csv_file))
    assert result.exit_code == 3, result.output
    report = (tmp_path / "in.csv.report.csv").read_text().splitlines()
    assert report[1:] == ["2,notes,contains a NUL character (\\x00)"]
    assert contact_count(cli_db) == 1


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda d: d / "sub", "{path}: a directory, not a CSV file"),
        (lambda d: d / "missing.csv", "{path}: no such file"),
        (lambda d: d / "empty.csv", "{path}: empty file (no header line)"),
        (lambda d: d / "long.csv", "{path}: line 1 is longer than 65,536 bytes; is this a CSV"),
        (lambda d: d / "header.csv", "{path}: line 1, column 2 'Fax' is not a contact field"),
    ],
)
def test_a_file_error_is_one_line_exit_2_and_no_report(
    cli_db: str, tmp_path: Path, make: object, message: str
) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "empty.csv").write_bytes(b"")
    (tmp_path / "long.csv").write_bytes(b"name" + b",x" * 5_000_000 + b"\n")  # 10 MB header
    (tmp_path / "header.csv").write_text("Name,Fax\nIvan,1\n")
    before = sorted(tmp_path.iterdir())
    path = make(tmp_path)  # type: ignore[operator]
    result = run(str(path))
    assert result.exit_code == 2
    assert one_error_line(result).startswith("error: " + message.format(path=path))
    assert sorted(tmp_path.iterdir()) == before  # no report (the database stays unopened)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--encoding", "klingon"], "error: --encoding 'klingon': unknown encoding"),
        (["--encoding", "utf-16"], "error: --encoding 'utf-16': not supported, convert"),
        (["--map", "Name"], "error: --map 'Name': expected COLUMN=FIELD"),
    ],
)
def test_a_usage_error_is_one_line_exit_2(
    cli_db: str, tmp_path: Path, args: list[str], message: str
) -> None:
    csv_file = tmp_path / "in.csv"
    csv_file.write_text("name\nIvan\n")
    result = run(str(csv_file), *args)
    assert result.exit_code == 2
    assert one_error_line(result).startswith(message)
