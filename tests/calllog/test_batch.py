"""The call log's batch on plain values, no store: what a batch of records changes, given
what was read (the same cases run against both databases in ``test_service.py``)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from cti.calllog.batch import Batch, Row, finished
from cti.crm_store.repos.calllog import BatchRead, StoredCall, StoredCallback
from tests.calllog.records import IVAN, T0, call

NOW = T0 + timedelta(days=1)


def row(linkedid: str, status: str = "missed", **kw: Any) -> Row:
    record = call(linkedid, status, **kw)
    values = {
        "pbx": "lab",
        "linkedid": linkedid,
        "status": record.status,
        "partial": record.partial,
        "external_number": IVAN,
        "started_at": record.started_at,
        "contact_id": 9,
    }
    return Row(record, finished(record, IVAN), values, owner=(4, None))


def apply(rows: list[Row], read: BatchRead) -> tuple[list[bool], Batch]:
    batch = Batch(rows, tail_digits=7, now=NOW)
    batch.load(read)
    return [batch.apply(r) for r in rows], batch


def test_what_to_read() -> None:
    batch = Batch(
        [row("1.1"), row("1.2", "answered"), row("1.3", started_at=T0 - timedelta(hours=1))], 7, NOW
    )
    assert batch.keys() == [("lab", "1.1"), ("lab", "1.2"), ("lab", "1.3")]
    assert batch.numbers() == {IVAN}
    assert batch.missed() == ({IVAN}, T0 - timedelta(hours=1))


def test_a_miss_opens_one_callback_and_its_answer_closes_it() -> None:
    written, batch = apply(
        [row("1.1"), row("1.2"), row("1.3", "answered", started_at=T0 + timedelta(hours=1))],
        BatchRead({}, [], []),
    )
    assert written == [True, True, True]
    out = batch.writes()
    assert [c["linkedid"] for c in out.new_calls] == ["1.1", "1.2", "1.3"]
    ((task, key),) = out.new_callbacks
    assert key == ("lab", "1.1") and task["call_id"] is None  # a new call: its id comes later
    assert (task["assignee_id"], task["contact_id"], task["phone_tail"]) == (4, 9, "1234567")
    assert "again: missed call lab/1.2" in task["description"]
    assert (task["done"], task["done_at"], task["done_reason"]) == (
        True,
        NOW,
        "answered inbound call lab/1.3",
    )


def test_stored_rows_are_changed_by_id() -> None:
    stored = {("lab", "2.1"): StoredCall(11, True, "missed", IVAN, T0)}
    callback = StoredCallback(21, IVAN, None, "missed call lab/2.0", None, T0 - timedelta(hours=1))
    written, batch = apply([row("2.1", "answered"), row("2.1")], BatchRead(stored, [callback], []))
    assert written == [True, False]  # the complete record replaced the partial one, once
    out = batch.writes()
    assert out.new_calls == [] and list(out.rewritten) == [11]
    assert out.changed_callbacks == {
        21: {"done": True, "done_at": NOW, "done_reason": "answered inbound call lab/2.1"}
    }


def test_a_miss_answered_later_opens_nothing() -> None:
    later = [(("lab", "3.9"), IVAN, T0 + timedelta(hours=1))]
    _, batch = apply([row("3.1")], BatchRead({}, [], later))
    assert batch.writes().new_callbacks == []
