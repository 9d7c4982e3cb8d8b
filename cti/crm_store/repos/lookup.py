"""Caller-ID lookup: who is calling from ``number``? Indexed reads only, ranked candidates.

Two index probes on ``phones`` (``e164`` and ``tail``, one OR query), then the phones of the
few matched parties by ``contact_id``/``company_id`` index; the ranking is
:func:`cti.crm_store.rules.matching.rank`.

Hot path, kept on the event loop because it was measured faster than a thread hop: on a
SQLite file the lookup reads through its own read-only ``sqlite3`` connection on the
event-loop thread. At 1,000,000 contacts (``bench/bench_lookup.py``, ``docs/benchmarks.md``)
that is 33 µs p50 / 78 µs p99 per lookup, against 820 µs / 1,116 µs for the same SQL through
the async engine (aiosqlite's worker thread and SQLAlchemy's layers, not the query, cost the
difference). ``busy_timeout=0`` means it never waits on a lock (on SQLITE_BUSY it falls back
to the async path). PostgreSQL goes straight to the asyncpg connection with prepared
statements (375 µs p50, about half of SQLAlchemy Core's); in-memory SQLite uses the async
engine with the same SQL.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, text

from cti.crm_store.phones import digits, normalize
from cti.crm_store.repos.sqlite_direct import readonly_sqlite, sqlite_file
from cti.crm_store.rules.matching import Activity, by_activity, rank
from cti.crm_store.rules.sla import OPEN_TICKET_STATUSES
from cti.crm_store.schemas.lookup import Match
from cti.crm_store.store import Store

_MAX_ROWS = 200

_MATCH_SQL = (
    "SELECT p.contact_id, p.company_id, p.e164, p.raw, c.first_name, c.last_name,"
    " co.id, co.name"
    " FROM phones p"
    " LEFT JOIN contacts c ON c.id = p.contact_id"
    " LEFT JOIN companies co ON co.id = COALESCE(c.company_id, p.company_id)"
    f" WHERE p.e164 = :e164 OR p.tail = :tail LIMIT {_MAX_ROWS}"
)
_PHONES_SQL = (
    "SELECT contact_id, company_id, e164, raw FROM phones"
    " WHERE contact_id IN {cids} OR (company_id IN {kids} AND contact_id IS NULL)"
    " ORDER BY id"
)
_PHONES_TEXT = text(_PHONES_SQL.format(cids=":cids", kids=":kids")).bindparams(
    bindparam("cids", expanding=True), bindparam("kids", expanding=True)
)
_MATCH_TEXT = text(_MATCH_SQL)
#: when several contacts share the number: each one's last call, open deals and tickets
#: (three indexed probes per contact, on ``contact_id``; only a tie pays for them)
_ACTIVITY_SQL = (
    "SELECT c.id,"
    " (SELECT MAX(started_at) FROM calls WHERE contact_id = c.id),"
    " (SELECT COUNT(*) FROM deals WHERE contact_id = c.id AND status = 'open'),"
    " (SELECT COUNT(*) FROM tickets WHERE contact_id = c.id AND status IN ("
    + ", ".join(f"'{s}'" for s in OPEN_TICKET_STATUSES)
    + "))"
    " FROM contacts c WHERE c.id IN {ids}"
)
_ACTIVITY_TEXT = text(_ACTIVITY_SQL.format(ids=":ids")).bindparams(bindparam("ids", expanding=True))
_PG_MATCH_SQL = _MATCH_SQL.replace(":e164", "$1::varchar").replace(":tail", "$2::varchar")
_PG_PHONES_SQL = (
    "SELECT contact_id, company_id, e164, raw FROM phones"
    " WHERE contact_id = ANY($1::int[]) OR (company_id = ANY($2::int[]) AND contact_id IS NULL)"
    " ORDER BY id"
)


class CallerLookup:
    """Resolve caller numbers against contact and company phones of a :class:`Store`.

    Create one per store and reuse it (it keeps its SQLite read connection open); call
    :meth:`close` on shutdown.
    """

    def __init__(self, store: Store, *, direct_sqlite: bool = True) -> None:
        """``direct_sqlite=False`` forces the async-engine path on SQLite too."""
        self.store = store
        self._sqlite_path = sqlite_file(store.url) if direct_sqlite else None
        self._asyncpg = store.engine.dialect.driver == "asyncpg"
        self._conn: sqlite3.Connection | None = None

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _sync_conn(self) -> sqlite3.Connection:
        if self._conn is None:
            self._conn = readonly_sqlite(str(self._sqlite_path))
        return self._conn

    async def lookup(self, number: str) -> Match:
        """Who owns ``number`` (any spelling: ``8916…``, ``+7916…``, ``916…``)."""
        cfg = self.store.phone
        e164 = normalize(number, cfg.default_region)
        plain = digits(e164 or number)
        shown = e164 or plain or number.strip()
        if len(plain) < cfg.tail_digits:
            return Match(status="none", number=shown, candidates=[])
        params = {"e164": e164, "tail": plain[-cfg.tail_digits :]}
        rows: Sequence[Sequence[Any]] | None = None
        if self._sqlite_path is not None:
            try:
                rows, phone_rows = self._query_sync(params)
            except sqlite3.OperationalError:
                self.close()  # locked or not yet created: the async path decides
                rows = None
        if rows is None:
            rows, phone_rows = await self._query_async(params)
        match = rank(shown, e164, plain, rows, phone_rows)
        if match.status == "multiple":
            ids = [c.contact_id for c in match.candidates if c.contact_id is not None]
            match = by_activity(match, await self._activity(ids))
        return match

    async def _activity(self, contact_ids: list[int]) -> dict[int, Activity]:
        """Each contact's recent activity (see :data:`_ACTIVITY_SQL`)."""
        if self._sqlite_path is not None:
            try:
                sql = _ACTIVITY_SQL.format(ids=f"({','.join('?' * len(contact_ids))})")
                rows = self._sync_conn().execute(sql, contact_ids).fetchall()
                return {r[0]: _activity(r) for r in rows}
            except sqlite3.OperationalError:
                self.close()
        async with self.store.engine.connect() as conn:
            result = await conn.execute(_ACTIVITY_TEXT, {"ids": contact_ids})
            return {r[0]: _activity(r) for r in result.all()}

    def _query_sync(
        self, params: dict[str, Any]
    ) -> tuple[list[Sequence[Any]], list[Sequence[Any]]]:
        conn = self._sync_conn()
        rows = conn.execute(_MATCH_SQL, params).fetchall()
        if not rows:
            return rows, []
        cids, kids = _party_ids(rows)
        sql = _PHONES_SQL.format(
            cids=f"({','.join('?' * len(cids)) or 'NULL'})",
            kids=f"({','.join('?' * len(kids)) or 'NULL'})",
        )
        return rows, conn.execute(sql, [*cids, *kids]).fetchall()

    async def _query_async(
        self, params: dict[str, Any]
    ) -> tuple[list[Sequence[Any]], list[Sequence[Any]]]:
        async with self.store.engine.connect() as conn:
            if self._asyncpg:
                # straight to asyncpg (statements prepared and cached per connection):
                # skips SQLAlchemy's per-call compile/result layers: about half the latency
                raw = await conn.get_raw_connection()
                driver: Any = raw.driver_connection
                rows = list(await driver.fetch(_PG_MATCH_SQL, params["e164"], params["tail"]))
                if not rows:
                    return rows, []
                cids, kids = _party_ids(rows)
                return rows, list(await driver.fetch(_PG_PHONES_SQL, cids, kids))
            rows = list((await conn.execute(_MATCH_TEXT, params)).all())
            if not rows:
                return rows, []
            cids, kids = _party_ids(rows)
            phone_rows = (await conn.execute(_PHONES_TEXT, {"cids": cids, "kids": kids})).all()
            return rows, list(phone_rows)


def _activity(row: Sequence[Any]) -> Activity:
    last = row[1]
    if isinstance(last, str):  # SQLite's text timestamps
        last = datetime.fromisoformat(last)
    return Activity(last, int(row[2] or 0), int(row[3] or 0))


def _party_ids(rows: Sequence[Sequence[Any]]) -> tuple[list[int], list[int]]:
    cids = sorted({r[0] for r in rows if r[0] is not None})
    kids = sorted({r[1] for r in rows if r[0] is None and r[1] is not None})
    return cids, kids
