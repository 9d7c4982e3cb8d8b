"""The reports' rollups in SQL: apply a batch's changes, rebuild a period from the calls.

:func:`apply` runs in the call log's batch transaction, after the calls are written: one
upsert per table adds the batch's :class:`~cti.crm_store.rules.rollups.Deltas` (rows in key
order, so two writers never lock the same rows in opposite orders), then the longest wait of
the rows a rewritten call was taken out of is read again from the calls, and rows left with
no calls are deleted. :func:`rebuild` recomputes whole UTC days from the calls (revision
0009 and 0010 did the same for the calls stored before them; :func:`rebuild_days`, ``cti
rollups rebuild``, after a bulk load or a restore).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import DateTime, and_, bindparam, delete, func, select, text, tuple_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

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
from cti.crm_store.rules.rollups import DAY, HOUR, QUARTER, Deltas, bucket, bucket_start
from cti.crm_store.store import Store
from cti.crm_store.timeutil import as_utc

_HOUR = timedelta(hours=1)
#: the days one transaction of :func:`rebuild_days` rebuilds
REBUILD_STEP = timedelta(days=7)
#: the columns of the agents' rollups, in the order of a delta's values
AGENT_FIGURES: tuple[str, ...] = ("offered", "answered", "ring_seconds", "ring_no_answer_seconds")
AGENT_FIGURES += ("handled", "talk_seconds", "hold_seconds")
_TABLES: tuple[tuple[Any, str, int], ...] = (
    (CallHour, "hour", HOUR),
    (CallDay, "day", DAY),
    (QueueWaitDay, "day", DAY),
    (InboundQuarter, "quarter", QUARTER),
    (AgentQuarter, "quarter", QUARTER),
    (AgentHour, "hour", HOUR),
    (AgentDay, "day", DAY),
)


def _dialect(session: AsyncSession) -> str:
    return session.get_bind().dialect.name


def _insert(session: AsyncSession) -> Callable[[Any], Any]:
    return postgresql.insert if _dialect(session) == "postgresql" else sqlite.insert


def _greatest(session: AsyncSession) -> Callable[..., Any]:
    return func.greatest if _dialect(session) == "postgresql" else func.max


async def _upsert(
    session: AsyncSession,
    model: Any,
    keys: Sequence[str],
    sums: Sequence[str],
    rows: list[dict[str, Any]],
    greatest: Sequence[str] = (),
) -> None:
    if not rows:
        return
    stmt = _insert(session)(model)
    table = model.__table__
    top = _greatest(session)
    changes = {c: table.c[c] + stmt.excluded[c] for c in sums}
    changes.update({c: top(table.c[c], stmt.excluded[c]) for c in greatest})
    await session.execute(stmt.on_conflict_do_update(index_elements=list(keys), set_=changes), rows)


async def apply(session: AsyncSession, deltas: Deltas) -> None:
    """Add ``deltas`` to the rollups (in the caller's transaction, after its call writes)."""
    call_tables: tuple[tuple[Any, str, dict[tuple[int, str, str, str], list[float]]], ...] = (
        (CallHour, "hour", deltas.call_hours),
        (CallDay, "day", _call_days(deltas)),
    )
    for call_model, bucket_name, call_rows in call_tables:
        await _upsert(
            session,
            call_model,
            (bucket_name, "direction", "status", "queue"),
            ("calls", "wait_seconds", "ivr_seconds", "ivr_calls"),
            [
                {bucket_name: k[0], "direction": k[1], "status": k[2], "queue": k[3]}
                | {"calls": int(v[0]), "wait_seconds": v[1], "wait_max": v[2]}
                | {"ivr_seconds": v[3], "ivr_calls": int(v[4])}
                for k, v in sorted(call_rows.items())
            ],
            greatest=("wait_max",),
        )
    await _upsert(
        session,
        QueueWaitDay,
        ("day", "queue", "status", "wait"),
        ("calls", "wait_seconds"),
        [
            {"day": k[0], "queue": k[1], "status": k[2], "wait": k[3], "calls": int(v[0])}
            | {"wait_seconds": v[1]}
            for k, v in sorted(deltas.queue_waits.items())
        ],
    )
    await _upsert(
        session,
        InboundQuarter,
        ("quarter",),
        ("calls",),
        [{"quarter": k, "calls": v} for k, v in sorted(deltas.quarters.items())],
    )
    for model, key, rows in (
        (AgentQuarter, "quarter", deltas.agent_quarters),
        (AgentHour, "hour", deltas.agent_sums(HOUR)),
        (AgentDay, "day", deltas.agent_sums(DAY)),
    ):
        await _upsert(
            session,
            model,
            (key, "agent"),
            AGENT_FIGURES,
            [
                {key: k[0], "agent": k[1], **dict(zip(AGENT_FIGURES, v, strict=True))}
                for k, v in sorted(rows.items())
            ],
        )
    if deltas.shrunk:
        await _reread_longest(session, sorted(deltas.shrunk))
    await _drop_empty(session, deltas)


def _call_days(deltas: Deltas) -> dict[tuple[int, str, str, str], list[float]]:
    """The call-hour deltas summed per UTC day (the longest wait: the longest)."""
    days: dict[tuple[int, str, str, str], list[float]] = {}
    for (hour, direction, status, queue), v in deltas.call_hours.items():
        got = days.setdefault((hour * HOUR // DAY, direction, status, queue), [0, 0.0, 0.0, 0.0, 0])
        got[0] += v[0]
        got[1] += v[1]
        got[2] = max(got[2], v[2])
        got[3] += v[3]
        got[4] += v[4]
    return days


async def _reread_longest(session: AsyncSession, keys: list[tuple[int, str, str, str]]) -> None:
    """The longest wait of call-hour rows a call was taken out of, from their calls."""
    for number, direction, status, queue in keys:
        hour = bucket_start(number, HOUR)
        wait = func.coalesce(Call.queue_wait_seconds, 0.0)
        longest = (
            select(func.coalesce(func.max(wait), 0.0))
            .where(
                Call.started_at >= hour,
                Call.started_at < hour + _HOUR,
                Call.direction == direction,
                Call.status == status,
                func.coalesce(Call.queue, "") == queue,
            )
            .scalar_subquery()
        )
        await session.execute(
            update(CallHour)
            .where(
                CallHour.hour == number,
                CallHour.direction == direction,
                CallHour.status == status,
                CallHour.queue == queue,
            )
            .values(wait_max=longest)
        )
    for day, direction, status, queue in sorted({(k[0] * HOUR // DAY, *k[1:]) for k in keys}):
        per_day = DAY // HOUR
        longest = (
            select(func.coalesce(func.max(CallHour.wait_max), 0.0))
            .where(
                CallHour.hour >= day * per_day,
                CallHour.hour < (day + 1) * per_day,
                CallHour.direction == direction,
                CallHour.status == status,
                CallHour.queue == queue,
            )
            .scalar_subquery()
        )
        await session.execute(
            update(CallDay)
            .where(
                CallDay.day == day,
                CallDay.direction == direction,
                CallDay.status == status,
                CallDay.queue == queue,
            )
            .values(wait_max=longest)
        )


async def _drop_empty(session: AsyncSession, deltas: Deltas) -> None:
    """Rows a rewrite emptied (only where the batch took something out)."""
    if any(v[0] < 0 for v in deltas.call_hours.values()):
        hours = sorted({k[0] for k in deltas.call_hours})
        await session.execute(delete(CallHour).where(CallHour.hour.in_(hours), CallHour.calls <= 0))
        days = sorted({hour * HOUR // DAY for hour in hours})
        await session.execute(delete(CallDay).where(CallDay.day.in_(days), CallDay.calls <= 0))
    if any(v[0] < 0 for v in deltas.queue_waits.values()):
        days = sorted({k[0] for k in deltas.queue_waits})
        await session.execute(
            delete(QueueWaitDay).where(QueueWaitDay.day.in_(days), QueueWaitDay.calls <= 0)
        )
    if any(v < 0 for v in deltas.quarters.values()):
        quarters = sorted(deltas.quarters)
        await session.execute(
            delete(InboundQuarter).where(
                InboundQuarter.quarter.in_(quarters), InboundQuarter.calls <= 0
            )
        )
    if any(v[0] < 0 or v[4] < 0 for v in deltas.agent_quarters.values()):
        for column, model, grain in (
            (AgentQuarter.quarter, AgentQuarter, QUARTER),
            (AgentHour.hour, AgentHour, HOUR),
            (AgentDay.day, AgentDay, DAY),
        ):
            await session.execute(
                delete(model).where(
                    tuple_(column, model.agent).in_(sorted(deltas.agent_sums(grain))),
                    model.offered <= 0,
                    model.handled <= 0,
                )
            )


# -- rebuild ------------------------------------------------------------------------------


def _buckets(dialect: str) -> dict[str, Callable[[str], str]]:
    """SQL for a UTC time's hour, day and quarter-hour bucket (Unix time // length), and a
    wait rounded up to a whole second (at least 0)."""
    if dialect == "postgresql":

        def per(seconds: int) -> Callable[[str], str]:
            return lambda c: f"CAST(floor(extract(epoch FROM {c}) / {seconds}) AS BIGINT)"

        def ceil(c: str) -> str:
            return f"CAST(ceil(greatest({c}, 0)) AS INTEGER)"
    else:

        def per(seconds: int) -> Callable[[str], str]:
            return lambda c: f"(CAST(strftime('%s', {c}) AS INTEGER) / {seconds})"

        def ceil(c: str) -> str:
            whole = f"CAST({c} AS INTEGER)"
            return f"(CASE WHEN {c} <= 0 THEN 0 ELSE {whole} + ({c} > {whole}) END)"

    return {"hour": per(HOUR), "day": per(DAY), "quarter": per(QUARTER), "ceil": ceil}


def rebuild_sql(dialect: str) -> list[str]:
    """The statements that refill the rollups of the calls started in ``[:since, :until)``
    (after their rows there are deleted), in key order: PostgreSQL then keeps a period's
    rows together on disk, as the writer's appends do. A call's rings (talk parts) to one
    agent go to the quarter-hour of the first of them: their parts are read from a day before
    ``:since`` (``:before``) to a day after ``:until`` (``:after``)."""
    b = _buckets(dialect)
    wait = "COALESCE(queue_wait_seconds, 0)"
    in_period = "started_at >= :since AND started_at < :until"
    answered = "CASE WHEN answered THEN 1 ELSE 0 END"
    return [
        "INSERT INTO report_call_hours (hour, direction, status, queue, calls, wait_seconds,"
        " wait_max, ivr_seconds, ivr_calls)"
        f" SELECT {b['hour']('started_at')}, direction, status, COALESCE(queue, ''), COUNT(*),"
        f" COALESCE(SUM({wait}), 0), COALESCE(MAX({wait}), 0), COALESCE(SUM(ivr_seconds), 0),"
        f" COUNT(ivr_seconds) FROM calls WHERE {in_period} GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4",
        "INSERT INTO report_call_days (day, direction, status, queue, calls, wait_seconds,"
        " wait_max, ivr_seconds, ivr_calls)"
        f" SELECT hour / {DAY // HOUR}, direction, status, queue, SUM(calls), SUM(wait_seconds),"
        " MAX(wait_max), SUM(ivr_seconds), SUM(ivr_calls) FROM report_call_hours"
        " WHERE hour >= :first_hour AND hour < :last_hour GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4",
        "INSERT INTO report_queue_wait_days (day, queue, status, wait, calls, wait_seconds)"
        f" SELECT {b['day']('started_at')}, queue, status, {b['ceil'](wait)}, COUNT(*),"
        f" COALESCE(SUM({wait}), 0) FROM calls WHERE {in_period} AND direction = 'inbound'"
        " AND queue IS NOT NULL AND queue <> '' AND status IN ('answered', 'abandoned')"
        " GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4",
        "INSERT INTO report_inbound_quarters (quarter, calls)"
        f" SELECT {b['quarter']('started_at')}, COUNT(*) FROM calls"
        f" WHERE {in_period} AND direction = 'inbound' GROUP BY 1 ORDER BY 1",
        "INSERT INTO report_agent_quarters (quarter, agent, offered, answered, ring_seconds,"
        " ring_no_answer_seconds, handled, talk_seconds, hold_seconds)"
        f" SELECT {b['quarter']('s')}, agent, SUM(o), SUM(a), SUM(r), SUM(n), SUM(h), SUM(t),"
        " SUM(p) FROM ("
        f" SELECT MIN(started_at) AS s, agent, 1 AS o, MAX({answered}) AS a,"
        " COALESCE(SUM(seconds), 0) AS r,"
        f" COALESCE(SUM(CASE WHEN answered THEN 0 ELSE seconds END), 0) AS n,"
        " 0 AS h, 0.0 AS t, 0.0 AS p FROM call_rings"
        " WHERE started_at >= :before AND started_at < :after"
        " GROUP BY call_id, agent HAVING MIN(started_at) >= :since AND MIN(started_at) < :until"
        " UNION ALL"
        " SELECT MIN(started_at), agent, 0, 0, 0.0, 0.0, 1, COALESCE(SUM(seconds), 0),"
        " COALESCE(SUM(hold_seconds), 0) FROM call_talks"
        " WHERE started_at >= :before AND started_at < :after"
        " GROUP BY call_id, agent HAVING MIN(started_at) >= :since AND MIN(started_at) < :until"
        ") AS pairs GROUP BY 1, 2 ORDER BY 1, 2",
        "INSERT INTO report_agent_hours (hour, agent, offered, answered, ring_seconds,"
        " ring_no_answer_seconds, handled, talk_seconds, hold_seconds)"
        f" SELECT quarter / {HOUR // QUARTER}, agent, SUM(offered), SUM(answered),"
        " SUM(ring_seconds), SUM(ring_no_answer_seconds), SUM(handled), SUM(talk_seconds),"
        " SUM(hold_seconds) FROM report_agent_quarters"
        " WHERE quarter >= :first_quarter AND quarter < :last_quarter"
        " GROUP BY 1, 2 ORDER BY 1, 2",
        "INSERT INTO report_agent_days (day, agent, offered, answered, ring_seconds,"
        " ring_no_answer_seconds, handled, talk_seconds, hold_seconds)"
        f" SELECT hour / {DAY // HOUR}, agent, SUM(offered), SUM(answered), SUM(ring_seconds),"
        " SUM(ring_no_answer_seconds), SUM(handled), SUM(talk_seconds), SUM(hold_seconds)"
        " FROM report_agent_hours WHERE hour >= :first_hour AND hour < :last_hour"
        " GROUP BY 1, 2 ORDER BY 1, 2",
    ]


def day_range(since: datetime, until: datetime) -> tuple[datetime, datetime]:
    """``[since, until)`` widened to whole UTC days."""
    first = bucket_start(bucket(since, DAY), DAY)
    last = bucket_start(bucket(until, DAY), DAY)
    return first, last if last == as_utc(until) else last + timedelta(days=1)


async def rebuild(
    session: AsyncSession, since: datetime, until: datetime
) -> tuple[datetime, datetime]:
    """Recompute the rollups of the whole UTC days over ``[since, until)`` from the calls
    (in the caller's transaction); returns the days rebuilt."""
    first, last = day_range(since, until)
    for model, column, grain in _TABLES:
        number = getattr(model, column)
        low, high = bucket(first, grain), bucket(last, grain)
        await session.execute(delete(model).where(and_(number >= low, number < high)))
    stamp = DateTime(timezone=True)
    values: dict[str, Any] = {
        "since": first,
        "until": last,
        "before": first - timedelta(days=1),
        "after": last + timedelta(days=1),
        "first_hour": bucket(first, HOUR),
        "last_hour": bucket(last, HOUR),
        "first_quarter": bucket(first, QUARTER),
        "last_quarter": bucket(last, QUARTER),
    }
    for sql in rebuild_sql(_dialect(session)):
        params = [
            bindparam(k, v, type_=stamp if isinstance(v, datetime) else None)
            for k, v in values.items()
            if re.search(rf":{k}\b", sql)
        ]
        await session.execute(text(sql).bindparams(*params))
    return first, last


async def rebuild_days(
    store: Store, first: date | None = None, last: date | None = None
) -> tuple[date, date] | None:
    """Rebuild the UTC days ``first`` … ``last`` (default: the first and last call's), a
    week per transaction (a run stopped halfway leaves every week whole); None when there
    is no call to bound an open end."""
    if first is None or last is None:
        async with store.sessions() as session:
            low, high = (
                await session.execute(select(func.min(Call.started_at), func.max(Call.started_at)))
            ).one()
        if low is None or high is None:
            return None
        first = first or as_utc(low).date()
        last = last or as_utc(high).date()
    since = datetime.combine(first, time(), UTC)
    until = datetime.combine(last, time(), UTC) + timedelta(days=1)
    while since < until:
        end = min(until, since + REBUILD_STEP)
        async with store.sessions() as session:
            await rebuild(session, since, end)
            await session.commit()
        since = end
    return first, last
