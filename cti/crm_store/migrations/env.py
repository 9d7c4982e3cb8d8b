"""Alembic environment: always driven programmatically by :mod:`cti.crm_store.migrate`.

The caller passes an open (sync-facing) connection in ``config.attributes["connection"]``;
there is no ``alembic.ini`` and no URL parsing here, so passwords never reach a log line.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

import cti.crm_store.models  # noqa: F401  (registers every table on Base.metadata)
from cti.crm_store.models.base import Base

connection = context.config.attributes.get("connection")
if not isinstance(connection, Connection):
    raise RuntimeError("cti migrations run through cti.crm_store.migrate (no connection given)")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
