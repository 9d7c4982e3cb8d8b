"""Export files on their own: CSV cells a spreadsheet would run are neutralised, XLSX
continues on further sheets past a sheet's row limit; recordings resolve inside their
folder only; cursors round-trip."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import openpyxl
import pytest

from cti.calllog.export_rows import HEADER, csv_safe
from cti.calllog.exports import csv_chunks, write_xlsx
from cti.calllog.recordings import recording_path
from cti.crm_store.rules import keyset
from cti.crm_store.schemas.calls import CallOut

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
UTC_ZONE = ZoneInfo("UTC")


def a_call(i: int, **kw: object) -> CallOut:
    fields: dict[str, object] = {
        "id": i, "pbx": "lab", "linkedid": f"x.{i}", "direction": "inbound",
        "from_number": "+74951234567", "from_name": "Ivan", "to_number": "101",
        "external_number": "+74951234567", "queue": None, "agents_rung": ["101"],
        "agent": "101", "agent_user_id": None, "status": "answered",
        "started_at": T0 + timedelta(seconds=i), "answered_at": None, "ended_at": None,
        "ring_seconds": 1.5, "talk_seconds": 30.0, "hangup_cause": 16, "transfers": [],
        "originate_action_id": None, "originate_variables": None, "account": None,
        "campaign": None, "recording": None, "contact_id": None, "partial": False,
        "disposition": None, "clock": "pbx", "answered_by": "agent", "ivr_seconds": None,
        "queue_wait_seconds": None, "hold_seconds": None,
    }  # fmt: skip
    fields.update(kw)
    return CallOut.model_validate(fields)


async def batches(calls: list[CallOut], size: int) -> AsyncIterator[list[CallOut]]:
    for start in range(0, len(calls), size):
        yield calls[start : start + size]


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_a_cell_a_spreadsheet_would_run_gets_a_quote(start: str) -> None:
    assert csv_safe(f"{start}cmd|' /C calc'!A0") == f"'{start}cmd|' /C calc'!A0"


def test_plain_cells_and_numbers_stay_as_they_are() -> None:
    assert csv_safe("Ivan") == "Ivan" and csv_safe(-3.5) == -3.5 and csv_safe(None) is None
    assert csv_safe("a=b") == "a=b"


async def test_csv_rows_come_in_chunks_with_every_name_neutralised() -> None:
    names = ["=SUM(A1)", "+1", "-1", "@x", "\tx", "\rx", "plain"]
    calls = [a_call(i, from_name=name) for i, name in enumerate(names)]
    chunks = [c async for c in csv_chunks(batches(calls, 3), UTC_ZONE)]
    assert len(chunks) == 3  # one per batch
    rows = list(csv.reader(io.StringIO(b"".join(chunks).decode("utf-8-sig"))))
    assert rows[0] == HEADER
    got = [row[HEADER.index("from_name")] for row in rows[1:]]
    assert got == ["'=SUM(A1)", "'+1", "'-1", "'@x", "'\tx", "'\rx", "plain"]
    assert rows[1][HEADER.index("from_number")] == "'+74951234567"


async def test_xlsx_continues_on_further_sheets_past_the_row_limit(tmp_path: Path) -> None:
    calls = [a_call(i, from_name="=1+1" if i == 0 else "Ivan") for i in range(11)]
    path = tmp_path / "calls.xlsx"
    sheets = await write_xlsx(batches(calls, 4), path, UTC_ZONE, sheet_rows=5)
    assert sheets == 3  # 4 + 4 + 3 rows, each sheet with its header
    book = openpyxl.load_workbook(path, read_only=True)
    try:
        got: list[int] = []
        for sheet in book.worksheets:
            rows = list(sheet.iter_rows(values_only=True))
            assert list(rows[0]) == HEADER and len(rows) <= 5
            got += [int(row[0]) for row in rows[1:]]  # type: ignore[arg-type]
        assert got == list(range(11))
        first = next(book.worksheets[0].iter_rows(min_row=2, max_row=2, values_only=True))
        assert first[HEADER.index("from_name")] == "=1+1"  # text, not a formula
        assert first[HEADER.index("talk_seconds")] == 30.0  # a number cell
    finally:
        book.close()


async def test_an_empty_xlsx_export_has_its_header(tmp_path: Path) -> None:
    path = tmp_path / "empty.xlsx"
    assert await write_xlsx(batches([], 10), path, UTC_ZONE) == 1
    book = openpyxl.load_workbook(path, read_only=True)
    assert [list(r) for r in book.worksheets[0].iter_rows(values_only=True)] == [HEADER]
    book.close()


def test_recordings_resolve_inside_their_folder_only(tmp_path: Path) -> None:
    root = tmp_path / "rec"
    (root / "2026").mkdir(parents=True)
    (root / "2026" / "a.wav").write_bytes(b"x")
    (tmp_path / "secret").write_text("s")
    (root / "link.wav").symlink_to(tmp_path / "secret")
    (root / "dir.wav").mkdir()
    spool = "/var/spool/asterisk/monitor"
    found = root.resolve() / "2026" / "a.wav"
    assert recording_path(root, spool, "2026/a.wav") == found
    assert recording_path(root, spool, f"{spool}/2026/a.wav") == found
    assert recording_path(root, spool, f"{root}/2026/a.wav") == found
    for name in [
        None, "", "../secret", "2026/../../secret", f"{spool}/../../../etc/passwd",
        "/etc/passwd", "link.wav", "dir.wav", "2026/none.wav", "2026/a.wav\x00.txt",
    ]:  # fmt: skip
        assert recording_path(root, spool, name) is None, name
    assert recording_path(tmp_path / "absent", spool, "2026/a.wav") is None


def test_a_cursor_round_trips_and_is_bound_to_its_listing() -> None:
    scope = keyset.scope_of(["calls", "-started_at", {"status": "missed"}])
    for value in (T0, 12.5, None):
        position = keyset.Position(value, 42, 3)
        assert keyset.decode(keyset.encode(position, scope), scope) == position
    text = keyset.encode(keyset.Position(T0, 42), scope)
    with pytest.raises(ValueError, match="cursor"):
        keyset.decode(text, keyset.scope_of(["calls", "-started_at", {}]))
