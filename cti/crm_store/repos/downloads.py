"""Download links in SQL: add one, claim one (once, atomically), purge the old ones."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, insert, update

from cti.crm_store.models.exports import DownloadLink
from cti.crm_store.store import Store

#: used or expired links are kept this long (a second click says "used"), then deleted
KEEP = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class ClaimedLink:
    """A link that was just used: whose it is, and what it exports."""

    user_id: int
    session_hash: str
    kind: str
    format: str
    params: dict[str, Any]


class DownloadLinkRepo:
    def __init__(self, store: Store) -> None:
        self.store = store

    async def add(self, values: dict[str, Any], now: datetime) -> None:
        """Store a new link (and drop links long dead: the table stays small)."""
        async with self.store.sessions() as session, session.begin():
            await session.execute(delete(DownloadLink).where(DownloadLink.expires_at < now - KEEP))
            await session.execute(insert(DownloadLink).values(**values, created_at=now))

    async def claim(self, token_hash: str, now: datetime) -> ClaimedLink | None:
        """Mark the live, unused link ``token_hash`` used and return it; None when there is
        none (unknown, expired, or used already: by this daemon or another)."""
        stmt = (
            update(DownloadLink)
            .where(DownloadLink.token_hash == token_hash)
            .where(DownloadLink.used_at.is_(None), DownloadLink.expires_at > now)
            .values(used_at=now)
            .returning(
                DownloadLink.user_id,
                DownloadLink.session_hash,
                DownloadLink.kind,
                DownloadLink.format,
                DownloadLink.params,
            )
        )
        async with self.store.sessions() as session, session.begin():
            row = (await session.execute(stmt)).first()
        if row is None:
            return None
        return ClaimedLink(row[0], row[1], row[2], row[3], dict(row[4]))
