"""download links of call-history exports

Exports are fetched by the browser without a bearer token, through a short-lived,
single-use link: ``download_links`` keeps the SHA-256 of each link's token, the user and
login session it belongs to, and what it exports. A new table only: existing data is
untouched (calls already have their ``recording`` column, from revision 0001).

The history lists a queue's, a status's or a campaign's calls newest first a page at a
time: their single-column indexes become ``(column, started_at)`` (which serve every
query the old ones did), so a page is an index range instead of all such calls sorted; and
``talk_seconds`` gets an index for the listing sorted by duration.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07 16:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "download_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("session_hash", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("format", sa.String(length=8), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_download_links_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_download_links")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_download_links_token_hash")),
    )
    with op.batch_alter_table("download_links", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_download_links_expires_at"), ["expires_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_download_links_user_id"), ["user_id"], unique=False)

    with op.batch_alter_table("calls", schema=None) as batch_op:
        for column in _PAIRED:
            batch_op.drop_index(f"ix_calls_{column}")
            batch_op.create_index(f"ix_calls_{column}_started", [column, "started_at"])
        batch_op.create_index("ix_calls_talk", ["talk_seconds"], unique=False)


#: the columns whose index becomes (column, started_at)
_PAIRED = ("queue", "status", "campaign")


def downgrade() -> None:
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.drop_index("ix_calls_talk")
        for column in _PAIRED:
            batch_op.drop_index(f"ix_calls_{column}_started")
            batch_op.create_index(f"ix_calls_{column}", [column], unique=False)
    with op.batch_alter_table("download_links", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_download_links_user_id"))
        batch_op.drop_index(batch_op.f("ix_download_links_expires_at"))
    op.drop_table("download_links")
