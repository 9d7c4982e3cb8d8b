"""campaigns.pacing_ratio_at: when the pacing ratio was last stepped

The predictive ratio is stepped once a minute per campaign. The time of the last step lived
in each dialer's memory, so two dialers on one database stepped it twice as fast; it is now
in the campaign's row, read and written under the row's lock. Existing campaigns start with
NULL: the first dialer to see them starts the clock.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 17:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("campaigns") as batch:
        batch.add_column(sa.Column("pacing_ratio_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("campaigns") as batch:
        batch.drop_column("pacing_ratio_at")
