"""The reports' rollups: what the call log keeps is what the calls give.

Over a generated call set on both backends: every rollup-read figure equals the same figure
read from the calls (zones with whole-hour, half-hour and 45-minute offsets, a DST change,
whole and fractional thresholds, periods with and without days); a rewritten call moves in
the rollups; what the writer kept equals a rebuild from the calls and revision 0009's fill
of a database that had the calls before it."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select, text

from cti.ami.events import CallRecord
from cti.calllog.service import CallLog
from cti.crm_store.migrate import upgrade_database
from cti.crm_store.models.calls import Call
from cti.crm_store.models.rollups import (
    AgentDay,
    AgentHour,
    AgentQuarter,
    CallDay,
    CallHour,
    InboundQuarter,
    QueueWaitDay,
)
from cti.crm_store.repos import rollups
from cti.crm_store.repos.report_calls import AgentBucket
from cti.crm_store.repos.reports import ReportRepo
from cti.crm_store.rules.rollups import straddling_hours, whole_buckets
from cti.crm_store.store import Store
from cti.reports.calendar import Period, offset_spans
from tests.clihelp import run_cti
from tests.reports.callset import START, callset

ZONES = ("Europe/Paris", "Asia/Kolkata", "Asia/Kathmandu", "America/St_Johns", "UTC")


async def _record(store: Store, records: Iterable[CallRecord]) -> None:
    log = CallLog(store)
    try:
        await log.record_many(list(records))
    finally:
        log.close()


@pytest.fixture
async def calls(store: Store) -> list[CallRecord]:
    records = callset(23, 500)
    await _record(store, records)
    return records


def _raw(rings: Iterable[AgentBucket], talks: Iterable[AgentBucket]) -> dict[Any, Any]:
    """The calls' own figures in the rollup reader's shape."""
    out: dict[tuple[str, str], list[float]] = defaultdict(lambda: [0, 0, 0.0, 0.0, 0, 0.0, 0.0])
    for r in rings:
        got = out[(r.agent, r.bucket)]
        for i, v in enumerate((r.calls, r.answered, r.seconds, r.other_seconds)):
            got[i] += v
    for t in talks:
        got = out[(t.agent, t.bucket)]
        for i, v in enumerate((t.calls, t.seconds, t.other_seconds)):
            got[4 + i] += v
    return _rounded_sums(out)


def _rounded_sums(sums: dict[Any, list[float]]) -> dict[Any, Any]:
    return {k: tuple(round(x, 3) for x in v) for k, v in sums.items()}


def _hours(rows: Iterable[tuple[str, int]]) -> dict[str, int]:
    out: dict[str, int] = defaultdict(int)
    for hour, n in rows:
        out[hour] += n
    return dict(out)


@pytest.mark.parametrize("zone", ZONES)
async def test_every_figure_from_the_rollups_is_the_calls_figure(
    store: Store, calls: list[CallRecord], zone: str
) -> None:
    repo = ReportRepo(store)
    period = Period(date(2026, 3, 28), date(2026, 3, 30), ZoneInfo(zone))
    since, until = period.since, period.until
    spans = offset_spans(period.tz, since, until)
    assert await repo.call_totals(since, until) == await _call_totals(store, since, until)
    for short, threshold in ((5, 20), (5.5, 20.25), (0, 60)):
        got = await repo.queues(since, until, short=short, threshold=threshold)
        raw = await repo.raw_queues(since, until, short=short, threshold=threshold)
        assert [_rounded(r) for r in got] == [_rounded(r) for r in raw]
    assert _hours(await repo.inbound_hours(spans)) == _hours(await repo.raw_inbound_hours(spans))
    for by_day in (True, False):
        sums = await repo.agent_sums(spans, None, by_day)
        raw = _raw(
            await repo.raw_rings(spans, None, by_day), await repo.raw_talks(spans, None, by_day)
        )
        assert _rounded_sums(sums) == raw
    own = await repo.agent_sums(spans, ["101"], True)
    assert own and {agent for agent, _ in own} == {"101"}


@pytest.mark.parametrize("offset", [19800, 20700, -12600, 1234])
async def test_an_hour_holding_a_local_midnight_is_split_on_its_quarters(
    store: Store, calls: list[CallRecord], offset: int
) -> None:
    """Kolkata, Kathmandu, St John's (and an offset no zone uses: from the calls): a span
    of less than a UTC day, and whole days, cut at a local midnight inside an hour."""
    repo = ReportRepo(store)
    day = datetime(2026, 3, 28, tzinfo=UTC)
    for spans in (
        [(day + timedelta(hours=1), day + timedelta(hours=23, minutes=50), offset)],
        [(day - timedelta(hours=3), day + timedelta(days=2, hours=5), offset)],
    ):
        raw = _raw(await repo.raw_rings(spans, None), await repo.raw_talks(spans, None))
        assert _rounded_sums(await repo.agent_sums(spans, None)) == raw
    assert len({d for _, d in raw}) >= 3  # the last spans: three local days or four


async def _call_totals(store: Store, since: datetime, until: datetime) -> list[Any]:
    """(direction, status, calls) counted from the calls themselves."""
    stmt = (
        select(Call.direction, Call.status, func.count())
        .where(Call.started_at >= since, Call.started_at < until)
        .group_by(Call.direction, Call.status)
        .order_by(Call.direction, Call.status)
    )
    async with store.sessions() as session:
        return [tuple(r) for r in await session.execute(stmt)]


def _rounded(row: Any) -> tuple[Any, ...]:
    return tuple(round(v, 3) if isinstance(v, float) else v for v in vars_of(row))


def vars_of(row: Any) -> tuple[Any, ...]:
    return tuple(getattr(row, f) for f in row.__dataclass_fields__)


def test_a_period_splits_into_whole_buckets_and_edges() -> None:
    day = datetime(2026, 3, 28, tzinfo=UTC)
    hour = int(day.timestamp()) // 3600
    half = timedelta(minutes=30)
    assert whole_buckets(day, day + timedelta(days=1), 3600) == ((hour, hour + 24), [])
    inner, edges = whole_buckets(day - half, day + timedelta(days=1) - half, 3600)
    assert inner == (hour, hour + 23)
    assert edges == [(day - half, day), (day + timedelta(hours=23), day + timedelta(days=1) - half)]
    assert whole_buckets(day + half, day + 2 * half, 3600) == (None, [(day + half, day + 2 * half)])
    # Kolkata (+05:30): local midnights fall at 18:30 UTC, inside the hour 18:00-19:00
    evening = int(datetime(2026, 3, 28, 18, tzinfo=UTC).timestamp()) // 3600
    assert straddling_hours((hour, hour + 72), 19800) == [evening, evening + 24, evening + 48]
    assert straddling_hours((hour + 10, hour + 19), 19800) == [evening]  # the last hour
    assert straddling_hours((hour + 10, hour + 18), 19800) == []


async def _snapshot(store: Store) -> dict[str, dict[tuple[Any, ...], tuple[Any, ...]]]:
    out: dict[str, dict[tuple[Any, ...], tuple[Any, ...]]] = {}
    async with store.sessions() as session:
        for model in (
            CallHour,
            CallDay,
            QueueWaitDay,
            InboundQuarter,
            AgentQuarter,
            AgentHour,
            AgentDay,
        ):
            table = model.__table__
            keys = [c for c in table.columns if c.primary_key]
            rest = [c for c in table.columns if not c.primary_key]
            rows = await session.execute(select(*keys, *rest))
            out[table.name] = {
                tuple(str(v)[:19] if isinstance(v, datetime) else v for v in r[: len(keys)]): tuple(
                    round(v, 3) if isinstance(v, float) else v for v in r[len(keys) :]
                )
                for r in rows
            }
    return out


async def test_a_rewritten_call_moves_and_the_kept_rollups_equal_a_rebuild(
    store: Store, calls: list[CallRecord]
) -> None:
    # partial records first, then the whole calls: each rewrite takes the partial one out
    late = callset(24, 60, start=START + timedelta(days=1))
    late = [replace(c, linkedid=f"late-{i}") for i, c in enumerate(late)]
    moved = [
        replace(c, partial=True, queue="other", status="missed", queue_wait_seconds=999.0)
        for c in late
    ]
    await _record(store, moved)
    await _record(store, late)
    kept = await _snapshot(store)
    assert not any(k[3] == "other" for k in kept["report_call_hours"])
    assert kept["report_call_hours"]
    async with store.sessions() as session:
        await rollups.rebuild(session, START - timedelta(days=1), START + timedelta(days=6))
        await session.commit()
    assert await _snapshot(store) == kept


async def test_two_writers_racing_on_the_same_calls_keep_the_rollups_whole(store: Store) -> None:
    """Two daemons' call logs write the same calls (partial and whole) at once: each call
    counts once (a batch that lost the race is applied again on top of the winner's)."""
    records = callset(27, 80)
    partial = [replace(c, partial=True, status="missed", queue="other") for c in records]
    logs = [CallLog(store), CallLog(store)]
    try:
        await asyncio.gather(logs[0].record_many(partial), logs[1].record_many(records))
        await asyncio.gather(logs[0].record_many(records), logs[1].record_many(partial))
    finally:
        for log in logs:
            log.close()
    kept = await _snapshot(store)
    assert sum(v[0] for v in kept["report_call_hours"].values()) == len(records)
    async with store.sessions() as session:
        await rollups.rebuild(session, START - timedelta(days=1), START + timedelta(days=6))
        await session.commit()
    assert await _snapshot(store) == kept


async def test_revision_0009_fills_the_rollups_from_the_calls_stored_before_it(
    db_url: str,
) -> None:
    store = await Store.open(db_url, upgrade=False)
    try:
        await _record(store, callset(25, 300))
        kept = await _snapshot(store)
        async with store.engine.begin() as conn:  # the database as 0008 left it
            for table in ("report_call_hours", "report_call_days", "report_queue_wait_days"):
                await conn.execute(text(f"DROP TABLE {table}"))
            for table in ("report_inbound_quarters", "report_agent_hours", "report_agent_days"):
                await conn.execute(text(f"DROP TABLE {table}"))
            await conn.execute(text("DROP TABLE report_agent_quarters"))  # revision 0010
            await _undo_0011(conn)
            await conn.execute(text("DROP INDEX ix_calls_disposition_started"))
            await conn.execute(text("DROP INDEX ix_calls_unanswered_started"))
            await conn.execute(text("UPDATE alembic_version SET version_num = '0008'"))
    finally:
        await store.close()
    await upgrade_database(db_url)
    store = await Store.open(db_url, upgrade=False)
    try:
        assert await _snapshot(store) == kept
        assert kept["report_agent_hours"] and kept["report_queue_wait_days"]
    finally:
        await store.close()


async def test_revision_0010_fills_the_agents_quarters_from_the_calls_stored_before_it(
    db_url: str,
) -> None:
    store = await Store.open(db_url, upgrade=False)
    try:
        await _record(store, callset(27, 300))
        kept = await _snapshot(store)
        async with store.engine.begin() as conn:  # the database as 0009 left it
            await conn.execute(text("DROP TABLE report_agent_quarters"))
            await _undo_0011(conn)
            await conn.execute(text("UPDATE alembic_version SET version_num = '0009'"))
    finally:
        await store.close()
    await upgrade_database(db_url)
    store = await Store.open(db_url, upgrade=False)
    try:
        assert await _snapshot(store) == kept
        assert len(kept["report_agent_quarters"]) > len(kept["report_agent_hours"])
    finally:
        await store.close()


async def _undo_0011(conn: Any) -> None:
    """``call_agents`` as revision 0010 left it (no ``started_at``)."""
    await conn.execute(text("DROP INDEX ix_call_agents_extension_started"))
    await conn.execute(text("ALTER TABLE call_agents DROP COLUMN started_at"))


def test_cti_rollups_rebuild_recomputes_them_from_the_calls(cli_db: str, capsys: Any) -> None:
    async def fill() -> dict[str, dict[tuple[Any, ...], tuple[Any, ...]]]:
        store = await Store.open(cli_db)
        try:
            await _record(store, callset(26, 120))
            kept = await _snapshot(store)
            async with store.engine.begin() as conn:  # as a bulk load would leave them
                await conn.execute(text("DELETE FROM report_agent_hours"))
                await conn.execute(text("DELETE FROM report_agent_quarters"))
                await conn.execute(text("UPDATE report_call_hours SET calls = calls + 5"))
            return kept
        finally:
            await store.close()

    kept = asyncio.run(fill())
    status, out, err = run_cti(capsys, "rollups", "rebuild")
    assert status == 0, err
    assert out.strip() == "rollups rebuilt for the UTC days 2026-03-27 … 2026-03-31"

    async def read() -> dict[str, dict[tuple[Any, ...], tuple[Any, ...]]]:
        store = await Store.open(cli_db)
        try:
            return await _snapshot(store)
        finally:
            await store.close()

    assert asyncio.run(read()) == kept
    status, out, err = run_cti(
        capsys, "rollups", "rebuild", "--from", "2026-03-31", "--to", "2026-03-01"
    )
    assert status == 2 and "--to" in err
    status, out, err = run_cti(capsys, "rollups", "rebuild", "--from", "March")
    assert status == 2 and "--from" in err
