"""the reports' rollups, built from the calls already stored

Tables of sums per UTC bucket that the reports over a period read instead of the calls
(:mod:`cti.crm_store.models.rollups`): calls per hour and per day, direction, status and
queue; answered and abandoned queue calls per day, queue and whole second of wait; inbound
calls per quarter-hour; each agent's rings and talk parts per hour and per day. A bucket is
the Unix time divided by its length (an integer). The call log keeps them from now on; this
revision fills them from every call stored so far (minutes for ten million calls:
docs/benchmarks.md). Also two indexes on ``calls``: the history's disposition filter
(newest first, like the others), and the unanswered inbound calls in time order (partial)
that the callback worklist walks.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 19:00:00
"""

from collections.abc import Callable, Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TABLES = (
    "report_call_hours",
    "report_call_days",
    "report_queue_wait_days",
    "report_inbound_quarters",
    "report_agent_hours",
    "report_agent_days",
)
_AGENT_FIGURES = (
    "offered",
    "answered",
    "ring_seconds",
    "ring_no_answer_seconds",
    "handled",
    "talk_seconds",
    "hold_seconds",
)


def _bucket(name: str) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.BigInteger(), autoincrement=False, nullable=False)


def _int(name: str) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.Integer(), nullable=False)


def _float(name: str) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.Float(), nullable=False)


def upgrade() -> None:
    for table, bucket in (("report_call_hours", "hour"), ("report_call_days", "day")):
        op.create_table(
            table,
            _bucket(bucket),
            sa.Column("direction", sa.String(length=10), nullable=False),
            sa.Column("status", sa.String(length=10), nullable=False),
            sa.Column("queue", sa.String(length=64), nullable=False),
            _int("calls"),
            _float("wait_seconds"),
            _float("wait_max"),
            _float("ivr_seconds"),
            _int("ivr_calls"),
            sa.PrimaryKeyConstraint(
                bucket, "direction", "status", "queue", name=op.f(f"pk_{table}")
            ),
            sqlite_with_rowid=False,
        )
    op.create_table(
        "report_queue_wait_days",
        _bucket("day"),
        sa.Column("queue", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        _int("wait"),
        _int("calls"),
        _float("wait_seconds"),
        sa.PrimaryKeyConstraint(
            "day", "queue", "status", "wait", name=op.f("pk_report_queue_wait_days")
        ),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "report_inbound_quarters",
        _bucket("quarter"),
        _int("calls"),
        sa.PrimaryKeyConstraint("quarter", name=op.f("pk_report_inbound_quarters")),
        sqlite_with_rowid=False,
    )
    for table, bucket in (("report_agent_hours", "hour"), ("report_agent_days", "day")):
        op.create_table(
            table,
            _bucket(bucket),
            sa.Column("agent", sa.String(length=32), nullable=False),
            *(
                _int(name) if name in ("offered", "answered", "handled") else _float(name)
                for name in _AGENT_FIGURES
            ),
            sa.PrimaryKeyConstraint(bucket, "agent", name=op.f(f"pk_{table}")),
            sqlite_with_rowid=False,
        )
    op.create_index(
        "ix_calls_disposition_started", "calls", ["disposition", "started_at"], unique=False
    )
    unanswered = sa.text("direction = 'inbound' AND status IN ('missed', 'abandoned')")
    op.create_index(
        "ix_calls_unanswered_started",
        "calls",
        ["started_at"],
        unique=False,
        sqlite_where=unanswered,
        postgresql_where=unanswered,
    )
    bind = op.get_bind()
    for sql in _fill_sql(bind.dialect.name):
        bind.execute(sa.text(sql))
    if bind.dialect.name == "postgresql":  # the planner's figures for the new tables
        for table in _TABLES:
            bind.execute(sa.text(f"ANALYZE {table}"))


def downgrade() -> None:
    op.drop_index("ix_calls_unanswered_started", table_name="calls")
    op.drop_index("ix_calls_disposition_started", table_name="calls")
    for table in reversed(_TABLES):
        op.drop_table(table)


def _buckets(dialect: str) -> dict[str, Callable[[str], str]]:
    """A UTC time's hour, day and quarter-hour bucket (Unix time // length); a wait
    rounded up to a whole second (at least 0)."""
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

    return {"hour": per(3600), "day": per(86400), "quarter": per(900), "ceil": ceil}


def _fill_sql(dialect: str) -> list[str]:
    """Every stored call into the rollups (frozen here: later code may change), in key
    order so that PostgreSQL keeps a period's rows together on disk."""
    b = _buckets(dialect)
    wait = "COALESCE(queue_wait_seconds, 0)"
    started = "started_at IS NOT NULL"
    answered = "CASE WHEN answered THEN 1 ELSE 0 END"
    return [
        "INSERT INTO report_call_hours (hour, direction, status, queue, calls, wait_seconds,"
        " wait_max, ivr_seconds, ivr_calls)"
        f" SELECT {b['hour']('started_at')}, direction, status, COALESCE(queue, ''), COUNT(*),"
        f" COALESCE(SUM({wait}), 0), COALESCE(MAX({wait}), 0), COALESCE(SUM(ivr_seconds), 0),"
        f" COUNT(ivr_seconds) FROM calls WHERE {started} GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4",
        "INSERT INTO report_call_days (day, direction, status, queue, calls, wait_seconds,"
        " wait_max, ivr_seconds, ivr_calls)"
        " SELECT hour / 24, direction, status, queue, SUM(calls), SUM(wait_seconds),"
        " MAX(wait_max), SUM(ivr_seconds), SUM(ivr_calls) FROM report_call_hours"
        " GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4",
        "INSERT INTO report_queue_wait_days (day, queue, status, wait, calls, wait_seconds)"
        f" SELECT {b['day']('started_at')}, queue, status, {b['ceil'](wait)}, COUNT(*),"
        f" COALESCE(SUM({wait}), 0) FROM calls WHERE {started} AND direction = 'inbound'"
        " AND queue IS NOT NULL AND queue <> '' AND status IN ('answered', 'abandoned')"
        " GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4",
        "INSERT INTO report_inbound_quarters (quarter, calls)"
        f" SELECT {b['quarter']('started_at')}, COUNT(*) FROM calls"
        f" WHERE {started} AND direction = 'inbound' GROUP BY 1 ORDER BY 1",
        "INSERT INTO report_agent_hours (hour, agent, offered, answered, ring_seconds,"
        " ring_no_answer_seconds, handled, talk_seconds, hold_seconds)"
        f" SELECT {b['hour']('s')}, agent, SUM(o), SUM(a), SUM(r), SUM(n), SUM(h), SUM(t),"
        " SUM(p) FROM ("
        f" SELECT MIN(started_at) AS s, agent, 1 AS o, MAX({answered}) AS a,"
        " COALESCE(SUM(seconds), 0) AS r,"
        " COALESCE(SUM(CASE WHEN answered THEN 0 ELSE seconds END), 0) AS n,"
        f" 0 AS h, 0.0 AS t, 0.0 AS p FROM call_rings WHERE {started} GROUP BY call_id, agent"
        " UNION ALL"
        " SELECT MIN(started_at), agent, 0, 0, 0.0, 0.0, 1, COALESCE(SUM(seconds), 0),"
        f" COALESCE(SUM(hold_seconds), 0) FROM call_talks WHERE {started}"
        " GROUP BY call_id, agent"
        ") AS pairs GROUP BY 1, 2 ORDER BY 1, 2",
        "INSERT INTO report_agent_days (day, agent, offered, answered, ring_seconds,"
        " ring_no_answer_seconds, handled, talk_seconds, hold_seconds)"
        " SELECT hour / 24, agent, SUM(offered), SUM(answered), SUM(ring_seconds),"
        " SUM(ring_no_answer_seconds), SUM(handled), SUM(talk_seconds), SUM(hold_seconds)"
        " FROM report_agent_hours GROUP BY 1, 2 ORDER BY 1, 2",
    ]
