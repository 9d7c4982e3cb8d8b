"""Revision 0002 upgrades a database with data in it: calls gain their parts, duplicate open
callbacks are merged before the unique indexes, reminded tasks keep their due time."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from cti.crm_store.db import create_engine
from cti.crm_store.migrate import schema_diff, upgrade_database
from cti.crm_store.timeutil import as_utc

T0 = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
T1 = datetime(2026, 11, 20, 10, 0, 5, tzinfo=UTC)
T2 = datetime(2026, 11, 20, 10, 1, 5, tzinfo=UTC)


def _call(linkedid: str, **values: Any) -> dict[str, Any]:
    return {
        "pbx": "lab",
        "linkedid": linkedid,
        "direction": "inbound",
        "agents_rung": [],
        "agent": None,
        "answered_at": None,
        "ended_at": None,
        "talk_seconds": None,
        "status": "missed",
        "transfers": [],
        "partial": False,
        "created_at": T0,
        "updated_at": T0,
        **values,
    }


def _task(**values: Any) -> dict[str, Any]:
    return {
        "title": "t",
        "description": "",
        "kind": "callback",
        "phone": None,
        "queue": None,
        "due_at": None,
        "reminded_at": None,
        "done": False,
        "created_at": T0,
        "updated_at": T0,
        **values,
    }


def _fill(conn: Connection) -> None:
    meta = sa.MetaData()
    calls = sa.Table("calls", meta, autoload_with=conn)
    tasks = sa.Table("tasks", meta, autoload_with=conn)
    conn.execute(
        calls.insert(),
        [
            _call(
                "1.1",
                agents_rung=["201", "202"],
                agent="201",
                status="answered",
                answered_at=T1,
                ended_at=T2,
                talk_seconds=60.0,
            ),
            _call("1.2", agents_rung=["102"]),
            _call("1.3", direction="outbound", status="answered", answered_at=T1, ended_at=T2),
            _call("1.4", status="answered", answered_at=T1, ended_at=T2),
        ],
    )
    conn.execute(
        tasks.insert(),
        [
            _task(phone="+74951234567", queue="support"),
            _task(phone="+74951234567", queue="support"),  # duplicate: merged
            _task(phone="+74951234567", queue="sales"),  # another queue: stays open
            _task(phone="+74951234567", queue=None),
            _task(phone="+74951234567", queue=None),  # duplicate, no queue: merged
            _task(kind="todo", due_at=T1, reminded_at=T2),
        ],
    )


def _read(conn: Connection) -> dict[str, list[Any]]:
    q = {
        "calls": "SELECT linkedid, answered_by FROM calls ORDER BY linkedid",
        "rings": "SELECT c.linkedid, r.seq, r.agent, r.answered FROM call_rings r "
        "JOIN calls c ON c.id = r.call_id ORDER BY c.linkedid, r.seq",
        "talks": "SELECT c.linkedid, t.agent, t.seconds FROM call_talks t "
        "JOIN calls c ON c.id = t.call_id",
        "open": "SELECT id, queue FROM tasks WHERE kind = 'callback' AND NOT done ORDER BY id",
        "merged": "SELECT id, done_reason FROM tasks WHERE done ORDER BY id",
        "reminded": "SELECT reminded_for FROM tasks WHERE kind = 'todo'",
    }
    out = {k: [tuple(r) for r in conn.execute(sa.text(sql))] for k, sql in q.items()}
    typed = sa.text(q["reminded"]).columns(reminded_for=sa.DateTime(timezone=True))
    out["reminded"] = [tuple(r) for r in conn.execute(typed)]
    return out


async def test_0002_keeps_and_completes_existing_data(empty_db_url: str) -> None:
    await upgrade_database(empty_db_url, "0001")
    engine = create_engine(empty_db_url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(_fill)
        await upgrade_database(empty_db_url)
        async with engine.connect() as conn:
            got = await conn.run_sync(_read)
    finally:
        await engine.dispose()
    assert got["calls"] == [("1.1", "agent"), ("1.2", None), ("1.3", "external"), ("1.4", "pbx")]
    assert [(lid, seq, agent, bool(ans)) for lid, seq, agent, ans in got["rings"]] == [
        ("1.1", 0, "201", True),
        ("1.1", 1, "202", False),
        ("1.2", 0, "102", False),
    ]
    assert got["talks"] == [("1.1", "201", 60.0)]
    assert [queue for _, queue in got["open"]] == ["support", "sales", None]
    first_support, _, first_none = (task_id for task_id, _ in got["open"])
    assert [reason for _, reason in got["merged"]] == [
        f"merged: callback #{first_support} is the open one for this number",
        f"merged: callback #{first_none} is the open one for this number",
    ]
    [(reminded,)] = got["reminded"]
    assert reminded is not None and as_utc(reminded) == T1
    assert await schema_diff(empty_db_url) == []
