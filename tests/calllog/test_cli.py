"""``cti calls export``: the filtered history to CSV or XLSX from the shell (the store read
directly), a bad option named, an XLSX refused on standard output."""

from __future__ import annotations

import asyncio
import csv
import io
from datetime import timedelta
from pathlib import Path

import openpyxl
import pytest

from cti.calllog.service import CallLog
from cti.crm_store.store import Store
from tests.calllog.records import T0, call
from tests.clihelp import run_cti


def fill(url: str) -> None:
    async def main() -> None:
        store = await Store.open(url)
        log = CallLog(store)
        try:
            await log.record_many(
                [
                    call(
                        f"cli.{i}",
                        status="missed" if i % 2 else "answered",
                        from_name="@evil" if i == 0 else "Ivan",
                        started_at=T0 + timedelta(minutes=i),
                    )
                    for i in range(6)
                ]
            )
        finally:
            log.close()
            await store.close()

    asyncio.run(main())


def test_csv_export_with_filters(cli_db: str, capsys: pytest.CaptureFixture[str]) -> None:
    fill(cli_db)
    status, out, err = run_cti(
        capsys, "calls", "export", "--status", "answered", "--tz", "Europe/Moscow", "-o", "a.csv"
    )
    assert status == 0, err
    assert "3 calls written to a.csv" in err
    rows = list(csv.DictReader(io.StringIO(Path("a.csv").read_text("utf-8-sig"))))
    assert [r["linkedid"] for r in rows] == ["cli.4", "cli.2", "cli.0"]
    assert rows[-1]["from_name"] == "'@evil"
    assert rows[-1]["started_at"] == "2026-03-02T13:00:00+03:00"
    status, out, err = run_cti(capsys, "calls", "export", "--sort", "started_at", "-o", "-")
    assert status == 0, err
    lines = io.StringIO(out.lstrip("\ufeff"))
    assert [r["linkedid"] for r in csv.DictReader(lines)] == [f"cli.{i}" for i in range(6)]


def test_xlsx_export(cli_db: str, capsys: pytest.CaptureFixture[str]) -> None:
    fill(cli_db)
    args = ["calls", "export", "--format", "xlsx", "--day-from", "2026-03-02", "-o", "a.xlsx"]
    status, _, err = run_cti(capsys, *args)
    assert status == 0, err
    book = openpyxl.load_workbook("a.xlsx", read_only=True)
    assert len(list(book.worksheets[0].iter_rows())) == 7
    book.close()


def test_bad_options_are_named(cli_db: str, capsys: pytest.CaptureFixture[str]) -> None:
    status, _, err = run_cti(capsys, "calls", "export", "--status", "lost", "-o", "x.csv")
    assert status == 2 and "--status" in err
    status, _, err = run_cti(capsys, "calls", "export", "--from", "2026-03-02T10:00", "-o", "x")
    assert status == 2 and "--from" in err and "offset" in err
    status, _, err = run_cti(capsys, "calls", "export", "--format", "xlsx", "-o", "-")
    assert status == 2 and "--out" in err
    assert not Path("x.csv").exists()
