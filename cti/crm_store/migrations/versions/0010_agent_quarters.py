"""each agent's rings and talk parts per quarter-hour, built from the calls already stored

The agents report per local day in a zone whose offset is not a whole number of hours
(India +05:30, Nepal +05:45, Newfoundland -03:30, central Australia) splits the UTC hour
that holds each local midnight between two days: it reads that hour's quarters from this
table instead of the calls (:class:`cti.crm_store.models.rollups.AgentQuarter`). A call's
rings (talk parts) to one agent count in the quarter of the first of them, as the hourly
rollup counts them in its hour, so an hour's quarters add up to its row. The call log keeps
the table from now on; this revision fills it from every call stored so far.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 21:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_AGENT_FIGURES = (
    "offered",
    "answered",
    "ring_seconds",
    "ring_no_answer_seconds",
    "handled",
    "talk_seconds",
    "hold_seconds",
)


def upgrade() -> None:
    op.create_table(
        "report_agent_quarters",
        sa.Column("quarter", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("agent", sa.String(length=32), nullable=False),
        *(
            sa.Column(name, sa.Integer(), nullable=False)
            if name in ("offered", "answered", "handled")
            else sa.Column(name, sa.Float(), nullable=False)
            for name in _AGENT_FIGURES
        ),
        sa.PrimaryKeyConstraint("quarter", "agent", name=op.f("pk_report_agent_quarters")),
        sqlite_with_rowid=False,
    )
    bind = op.get_bind()
    bind.execute(sa.text(_fill_sql(bind.dialect.name)))
    if bind.dialect.name == "postgresql":  # the planner's figures for the new table
        bind.execute(sa.text("ANALYZE report_agent_quarters"))


def downgrade() -> None:
    op.drop_table("report_agent_quarters")


def _fill_sql(dialect: str) -> str:
    """Every stored call's rings and talk parts into the quarters (frozen here: later code
    may change), in key order so that PostgreSQL keeps a period's rows together on disk."""
    if dialect == "postgresql":
        quarter = "CAST(floor(extract(epoch FROM s) / 900) AS BIGINT)"
    else:
        quarter = "(CAST(strftime('%s', s) AS INTEGER) / 900)"
    started = "started_at IS NOT NULL"
    return (
        "INSERT INTO report_agent_quarters (quarter, agent, offered, answered, ring_seconds,"
        " ring_no_answer_seconds, handled, talk_seconds, hold_seconds)"
        f" SELECT {quarter}, agent, SUM(o), SUM(a), SUM(r), SUM(n), SUM(h), SUM(t),"
        " SUM(p) FROM ("
        " SELECT MIN(started_at) AS s, agent, 1 AS o,"
        " MAX(CASE WHEN answered THEN 1 ELSE 0 END) AS a, COALESCE(SUM(seconds), 0) AS r,"
        " COALESCE(SUM(CASE WHEN answered THEN 0 ELSE seconds END), 0) AS n,"
        f" 0 AS h, 0.0 AS t, 0.0 AS p FROM call_rings WHERE {started} GROUP BY call_id, agent"
        " UNION ALL"
        " SELECT MIN(started_at), agent, 0, 0, 0.0, 0.0, 1, COALESCE(SUM(seconds), 0),"
        f" COALESCE(SUM(hold_seconds), 0) FROM call_talks WHERE {started}"
        " GROUP BY call_id, agent"
        ") AS pairs GROUP BY 1, 2 ORDER BY 1, 2"
    )
