"""each call_agents row carries its call's start, indexed with the extension

An agent's history of a period (``GET /api/calls?agent=…&from=…``, an operator's own calls)
selected every call the extension ever had through ``call_agents`` and then kept those of
the period: at ten million calls, 65,000 rows read to show 50. With the call's
``started_at`` on the row and the index ``(extension, started_at, call_id)``, the period is
one range of the index. The call log writes the column from now on; this revision copies
it from ``calls`` for every row stored so far.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 22:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("call_agents", sa.Column("started_at", sa.DateTime(timezone=True)))
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        bind.execute(
            sa.text(
                "UPDATE call_agents SET started_at = calls.started_at FROM calls"
                " WHERE calls.id = call_agents.call_id AND calls.started_at IS NOT NULL"
            )
        )
    else:
        bind.execute(
            sa.text(
                "UPDATE call_agents SET started_at ="
                " (SELECT started_at FROM calls WHERE calls.id = call_agents.call_id)"
            )
        )
    op.create_index(
        "ix_call_agents_extension_started",
        "call_agents",
        ["extension", "started_at", "call_id"],
        unique=False,
    )
    if bind.dialect.name == "postgresql":  # the planner's figures for the new column
        bind.execute(sa.text("ANALYZE call_agents"))


def downgrade() -> None:
    op.drop_index("ix_call_agents_extension_started", table_name="call_agents")
    op.drop_column("call_agents", "started_at")
