"""The store handle the rest of cti holds: engine, session factory and phone settings.

Services (contacts, lookup, users, call log …) take a :class:`Store` and open their own
short sessions, so no SQLAlchemy object leaks outside ``cti.crm_store``.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from cti.config import PhoneConfig
from cti.crm_store.db import create_engine, is_sqlite, session_factory
from cti.crm_store.errors import outage_as_cti_error


@dataclass
class Store:
    url: str
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    phone: PhoneConfig

    @property
    def is_sqlite(self) -> bool:
        return is_sqlite(self.url)

    @classmethod
    async def open(
        cls, url: str, phone: PhoneConfig | None = None, *, upgrade: bool = True
    ) -> Store:
        """Connect; with ``upgrade`` bring the schema to the newest migration first.

        An unreachable database (or one that refuses the login) is a
        :class:`~cti.errors.StoreUnavailableError` saying what to do."""
        if upgrade:
            from cti.crm_store.migrate import upgrade_database

            await upgrade_database(url)
        with outage_as_cti_error(url):
            engine = create_engine(url)
        return cls(
            url=url, engine=engine, sessions=session_factory(engine), phone=phone or PhoneConfig()
        )

    async def close(self) -> None:
        await self.engine.dispose()
