"""agent sessions; indexes for the reports and the call history

``agent_sessions``: intervals of queue login, pause (with its reason) and wrap-up per agent
(:mod:`cti.crm_store.models.sessions`). The operator page's campaign states already in
``agent_state_log`` are copied in as ``page`` sessions: each run of consecutive states of a
user in a campaign is one login, each ``paused`` row a pause with its reason, each
``wrap-up`` row a wrap-up. Indexes on the start of ``call_rings`` and ``call_talks`` for the
agents report of a period (docs/benchmarks.md says what they cost on writes); those on
``calls`` for a queue's calls and the missed calls of a period are 0006's.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07 16:30:00
"""

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "agent_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=8), nullable=False),
        sa.Column("pbx", sa.String(length=64), nullable=False),
        sa.Column("extension", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("queue", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("reason", sa.String(length=64), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_agent_sessions_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agent_sessions")),
    )
    with op.batch_alter_table("agent_sessions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_agent_sessions_extension_started", ["extension", "started_at"], unique=False
        )
        batch_op.create_index(
            "ix_agent_sessions_open", ["source", "pbx", "extension", "ended_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_agent_sessions_user_id"), ["user_id"], unique=False)
    # calls by (queue, started_at) and (status, started_at): made by 0006 for the history
    with op.batch_alter_table("call_rings", schema=None) as batch_op:
        batch_op.create_index("ix_call_rings_started", ["started_at"], unique=False)
    with op.batch_alter_table("call_talks", schema=None) as batch_op:
        batch_op.create_index("ix_call_talks_started", ["started_at"], unique=False)
    _copy_state_log()


def _copy_state_log() -> None:
    """``agent_state_log`` → ``page`` sessions (logins, pauses, wrap-ups)."""
    bind = op.get_bind()
    log = sa.table(
        "agent_state_log",
        sa.column("campaign_id", sa.Integer),
        sa.column("user_id", sa.Integer),
        sa.column("extension", sa.String),
        sa.column("state", sa.String),
        sa.column("reason", sa.String),
        sa.column("started_at", sa.DateTime(timezone=True)),
        sa.column("ended_at", sa.DateTime(timezone=True)),
        sa.column("id", sa.Integer),
    )
    sessions = sa.table(
        "agent_sessions",
        sa.column("source", sa.String),
        sa.column("pbx", sa.String),
        sa.column("extension", sa.String),
        sa.column("user_id", sa.Integer),
        sa.column("queue", sa.String),
        sa.column("kind", sa.String),
        sa.column("reason", sa.String),
        sa.column("started_at", sa.DateTime(timezone=True)),
        sa.column("ended_at", sa.DateTime(timezone=True)),
    )
    rows = bind.execute(
        sa.select(log).order_by(log.c.user_id, log.c.started_at, log.c.id)
    ).mappings()
    out: list[dict[str, Any]] = []
    login: dict[str, Any] | None = None
    for row in rows:
        queue = f"campaign:{row['campaign_id']}" if row["campaign_id"] is not None else "campaign"
        base = {
            "source": "page",
            "pbx": "",
            "extension": row["extension"],
            "user_id": row["user_id"],
            "queue": queue,
            "reason": None,
        }
        if row["state"] in {"paused", "wrap-up"}:
            kind = "pause" if row["state"] == "paused" else "wrap-up"
            reason = (row["reason"] or "paused") if kind == "pause" else None
            out.append(
                base
                | {
                    "kind": kind,
                    "reason": reason,
                    "started_at": row["started_at"],
                    "ended_at": row["ended_at"],
                }
            )
        if login is not None and _continues(login, row, queue):
            login["ended_at"] = row["ended_at"]
        else:
            if login is not None:
                out.append(login)
            login = base | {
                "kind": "login",
                "started_at": row["started_at"],
                "ended_at": row["ended_at"],
            }
    if login is not None:
        out.append(login)
    if out:
        op.bulk_insert(sessions, out)


def _continues(login: dict[str, Any], row: Any, queue: str) -> bool:
    """The state row follows the login's last one (same user and campaign, no gap)."""
    end: datetime | None = login["ended_at"]
    return (
        login["user_id"] == row["user_id"]
        and login["queue"] == queue
        and end is not None
        and end == row["started_at"]
    )


def downgrade() -> None:
    with op.batch_alter_table("call_talks", schema=None) as batch_op:
        batch_op.drop_index("ix_call_talks_started")
    with op.batch_alter_table("call_rings", schema=None) as batch_op:
        batch_op.drop_index("ix_call_rings_started")
    with op.batch_alter_table("agent_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_agent_sessions_user_id"))
        batch_op.drop_index("ix_agent_sessions_open")
        batch_op.drop_index("ix_agent_sessions_extension_started")
    op.drop_table("agent_sessions")
