"""Rows of several tables inserted in one transaction: bulk loads such as the demo data.

Values are column values as stored (no rule is applied here: the caller decided them); each
table's rows go in one executemany ``INSERT`` with the columns' Python defaults filled.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import insert

from cti.crm_store.models.base import Base
from cti.crm_store.store import Store

Rows = Sequence[Mapping[str, Any]]


class BulkRepo:
    def __init__(self, store: Store) -> None:
        self.store = store

    async def add(self, rows: Mapping[str, Rows]) -> None:
        """Insert ``rows`` (table name → its rows, all with the same columns) together."""
        async with self.store.sessions() as session, session.begin():
            for table, values in rows.items():
                if values:
                    await session.execute(insert(Base.metadata.tables[table]), list(values))
