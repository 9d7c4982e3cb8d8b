"""Exports of a call listing: CSV streamed as it is read, XLSX written in constant memory.

Both read the listing in keyset batches (:meth:`cti.calllog.service.CallLog.batches`), so an
export of millions of calls holds one batch at a time. CSV goes out chunk by chunk as the
batches arrive. XLSX is a zip that needs its sizes at the end, so it is written to a
temporary file by XlsxWriter in ``constant_memory`` mode (each row flushed to disk as it is
written) in a worker thread, then streamed and deleted; past a sheet's row limit
(1,048,576 rows, header included) the rows continue on a new sheet with the header again.
"""

from __future__ import annotations

import asyncio
import csv
import io
import os
import tempfile
from collections.abc import AsyncGenerator, AsyncIterator
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo

import xlsxwriter

from cti.calllog.export_rows import HEADER, cells, csv_safe
from cti.crm_store.schemas.calls import CallOut

Format = Literal["csv", "xlsx"]
#: rows a worksheet holds (Excel's limit), the header row included
SHEET_ROWS = 1_048_576
MEDIA_TYPES: dict[str, str] = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


async def csv_chunks(
    batches: AsyncIterator[list[CallOut]], zone: ZoneInfo
) -> AsyncGenerator[bytes, None]:
    """The CSV text (UTF-8 with a BOM, for spreadsheets) one batch per chunk."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    buffer.write("\ufeff")
    writer.writerow(HEADER)
    async for batch in batches:
        for call in batch:
            writer.writerow([csv_safe(cell) for cell in cells(call, zone)])
        yield buffer.getvalue().encode()
        buffer.seek(0)
        buffer.truncate()
    rest = buffer.getvalue()
    if rest:
        yield rest.encode()


class XlsxFile:
    """An XLSX file being written row by row (sync: run its methods in a worker thread)."""

    def __init__(self, path: Path, sheet_rows: int = SHEET_ROWS) -> None:
        if sheet_rows < 2:
            raise ValueError("a sheet holds the header and at least one row")
        self.book = xlsxwriter.Workbook(str(path), {"constant_memory": True})
        self.sheet_rows = sheet_rows
        self.sheets = 0
        self._row = sheet_rows  # full: the first row opens the first sheet

    def _new_sheet(self) -> None:
        self.sheets += 1
        self._sheet = self.book.add_worksheet(f"calls {self.sheets}")
        for col, name in enumerate(HEADER):
            self._sheet.write_string(0, col, name)
        self._row = 1

    def write(self, rows: list[list[str | float | int | None]]) -> None:
        for row in rows:
            if self._row >= self.sheet_rows:
                self._new_sheet()
            for col, value in enumerate(row):
                if isinstance(value, str):
                    self._sheet.write_string(self._row, col, value)  # never a formula
                elif value is not None:
                    self._sheet.write_number(self._row, col, value)
            self._row += 1

    def close(self) -> None:
        if self.sheets == 0:
            self._new_sheet()  # an empty export still has its header
        self.book.close()


async def write_xlsx(
    batches: AsyncIterator[list[CallOut]],
    path: Path,
    zone: ZoneInfo,
    sheet_rows: int = SHEET_ROWS,
) -> int:
    """Write the listing to ``path``; how many sheets it took."""
    book = XlsxFile(path, sheet_rows)
    try:
        async for batch in batches:
            rows = [cells(call, zone) for call in batch]
            await asyncio.to_thread(book.write, rows)
    finally:
        await asyncio.to_thread(book.close)
    return book.sheets


async def xlsx_chunks(
    batches: AsyncIterator[list[CallOut]],
    zone: ZoneInfo,
    sheet_rows: int = SHEET_ROWS,
    chunk: int = 256 * 1024,
) -> AsyncGenerator[bytes, None]:
    """The XLSX file's bytes: written to a temporary file first, read back, deleted."""
    fd, name = tempfile.mkstemp(prefix="cti-export-", suffix=".xlsx")
    os.close(fd)
    path = Path(name)
    try:
        await write_xlsx(batches, path, zone, sheet_rows)
        handle = await asyncio.to_thread(path.open, "rb")
        try:
            while data := await asyncio.to_thread(handle.read, chunk):
                yield data
        finally:
            handle.close()
    finally:
        await asyncio.to_thread(path.unlink, missing_ok=True)


def file_name(kind: str, fmt: str, stamp: str) -> str:
    """The download's file name (``calls-20260302-101500.csv``): ASCII, no quoting needed."""
    return f"{kind}-{stamp}.{fmt}"
